"""The errors of the tabular layer: :class:`DataError`, and :class:`SpecError` naming fields.

A problem's message is a template that names fields (``{alpha}``): :class:`SpecError` shows
them as the field names in Python (``alpha must be ...``) and, through :meth:`SpecError.render`,
as the command line's flags (``--alpha must be ...``). The tabular layer names fields, and only
the command line maps them to flags.
"""


MAX_LISTED = 10
"""A message lists at most this many columns, values or problems, then says how many more."""


class DataError(ValueError):
    """The data or the options do not fit together; the command line exits with code 2."""


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

    def __reduce__(self):  # pickled by its problems (a Dask worker's error reaches the driver)
        return type(self), (self.problems,)

    def render(self, name_of):
        """The message, with each field named by ``name_of(field)``.

        One problem is its own message; several are numbered: ``3 problems: (1) ... (2) ...``,
        the first :data:`MAX_LISTED` of them, then ``... and N more.``
        """
        texts = [template.format_map(_Names(name_of, values))
                 for template, values in self.problems]
        if len(texts) == 1:
            return texts[0]
        shown = " ".join(f"({i}) {text}" for i, text in enumerate(texts[:MAX_LISTED], 1))
        rest = len(texts) - MAX_LISTED
        return f"{len(texts)} problems: {shown}" + (f" ... and {rest} more." if rest > 0 else "")


class _Names(dict):
    def __init__(self, name_of, values):
        super().__init__(values)
        self.name_of = name_of

    def __missing__(self, key):
        return self.name_of(key)


def listed(values, limit=MAX_LISTED):
    """``'a', 'b', 'c'``: the values' reprs, the first ``limit`` of them, then ``and N more``."""
    values = list(values)
    shown = ", ".join(repr(_plain(v)) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def problems_of(error):
    """The problems of a :class:`DataError`: a :class:`SpecError`'s own, else its message."""
    if isinstance(error, SpecError):
        return list(error.problems)
    return [problem("{message}", message=str(error))]


def collect(check, *args):
    """The problems ``check(*args)`` raises (as :func:`problems_of`), or ``[]``."""
    try:
        check(*args)
    except DataError as error:
        return problems_of(error)
    return []


def raise_problems(problems):
    """Raise :class:`SpecError` for ``problems``, if there are any."""
    if problems:
        raise SpecError(problems)


def _plain(value):
    """A NumPy scalar as the Python value (``'a'``, not ``np.str_('a')``)."""
    return value.item() if type(value).__module__ == "numpy" and not getattr(
        value, "shape", ()) else value


def ref(name):
    """Field ``name`` in a problem's template: ``{name}``."""
    return "{" + name + "}"


def problem(template, **values):
    """One problem for :class:`SpecError`: a template naming fields, and the values it shows."""
    return template, values
