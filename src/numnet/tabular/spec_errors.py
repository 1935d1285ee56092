"""The problems of a :class:`numnet.tabular.TrainSpec`, and how its values are written as text.

A problem's message is a template that names fields (``{alpha}``): :class:`SpecError` shows
them as the field names in Python (``alpha must be ...``) and, through :meth:`SpecError.render`,
as the command line's flags (``--alpha must be ...``).
"""

import math
import re

from .reading import DataError, parse_columns

CLUSTER = "{scheduler} or {workers}"
"""How messages name the cluster options together."""


class SpecError(DataError):
    """Problems with a training specification's values, each a message naming fields.

    ``problems`` holds ``(template, values)`` pairs: the template names fields as ``{field}``
    and the user's values as other ``{name}`` placeholders filled from ``values``, so no
    value is ever read as a template. :meth:`render` shows the fields by a given name (the
    CLI: by flag); ``str()`` shows them by field name.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(self.render(lambda name: name))

    def render(self, name_of):
        """The message, with each field named by ``name_of(field)``.

        One problem is its own message; several are numbered: ``3 problems: (1) ... (2) ...``.
        """
        texts = [template.format_map(_Names(name_of, values))
                 for template, values in self.problems]
        if len(texts) == 1:
            return texts[0]
        return f"{len(texts)} problems: " + " ".join(
            f"({i}) {text}" for i, text in enumerate(texts, 1))


class _Names(dict):
    def __init__(self, name_of, values):
        super().__init__(values)
        self.name_of = name_of

    def __missing__(self, key):
        return self.name_of(key)


def ref(name):
    """Field ``name`` in a problem's template: ``{name}``."""
    return "{" + name + "}"


def problem(template, **values):
    """One problem for :class:`SpecError`: a template naming fields, and the values it shows."""
    return template, values


def escape_names(names):
    r"""Column names as one option value: ``,`` written ``\,`` and ``\`` written ``\\``."""
    return ",".join(name.replace("\\", "\\\\").replace(",", "\\,") for name in names)


def parse_names(text):
    """Column names from one option value (:func:`numnet.tabular.parse_columns`), a tuple."""
    names = parse_columns(text)
    return None if names is None else tuple(names)


def dp_parts(text):
    r"""The entries of --dp-bounds or --dp-categories: split at commas not written ``\,``."""
    if text is None:
        return []
    return [part.replace("\\,", ",") for part in re.split(r"(?<!\\),", text)]


def finite(value):
    """Whether ``value`` is a finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


