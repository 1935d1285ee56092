"""The problems of a :class:`numnet.tabular.TrainSpec`, and how its values are written as text.

A problem's message is a template that names fields (``{alpha}``): :class:`SpecError` shows
them as the field names in Python (``alpha must be ...``) and, through :meth:`SpecError.render`,
as the command line's flags (``--alpha must be ...``).
"""

import math
import re

from .problems import SpecError, problem, ref  # noqa: F401 (the spec's problems)
from .reading import parse_columns

CLUSTER = "{scheduler} or {workers}"
"""How messages name the cluster options together."""


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


