"""What a column holds: numbers (also written as text), dates, categories; the target.

The checks here name the column and the rows of its bad values (the first ten), and say how to
fix them.
"""

import warnings

import numpy as np

from .reading import (
    MAX_CLASSIFICATION_INTEGERS,
    MAX_LISTED,
    DataError,
    SpecError,
    _row,
    problem,
)

# ----------------------------------------------------------------------------- preprocessing


_TRAIN_FIX = ("Fix that value, or leave it empty and use {impute}.",
              "Fix those values, or leave them empty and use {impute}.")
FILLED_FIX = ("Fix that value, or leave it empty: the model fills missing values.",
              "Fix those values, or leave them empty: the model fills missing values.")
"""What a command on a trained model that imputes says of a value that is not a number."""
FIX = ("Fix that value.", "Fix those values.")
"""What a command on a trained model without imputation says of such a value."""


def _numeric_values(series, name, *, trained=False, fix=None):
    """The column as float64, with NaN for missing; raise for non-numeric or infinite values.

    Every bad value is named (the first :data:`MAX_LISTED`, with their rows). ``fix`` is the
    advice for one bad value and for several, templates naming fields (default: ``--impute``
    in training, for a ``trained`` model :data:`FIX`, which names no option).
    """
    fix = fix or (FIX if trained else _TRAIN_FIX)
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        parsed = pd.to_numeric(series, errors="coerce")
        bad = parsed.isna().to_numpy() & series.notna().to_numpy()
        if bad.any():
            text_values, _ = numbers_from_text(series, name)
            if text_values is not None:
                return _numeric_values(pd.Series(text_values, index=series.index), name)
            rule = "numeric (as in training)" if trained else "numeric"
            positions = np.flatnonzero(bad)
            raise SpecError([problem(
                "column {name!r} must be {rule}, got {values}. " + fix[len(positions) > 1],
                name=name, rule=rule, values=at_rows(series, positions))])
        values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(
            f"column {name!r} must hold finite numbers, got "
            f"{at_rows(series, np.flatnonzero(infinite), values, quote=str)}."
        )
    return values


def at_rows(series, positions, values=None, *, quote=repr):
    """``'ten' at row 6, 'n/a' at row 9``: the values at ``positions``, then ``and N more``.

    The first :data:`MAX_LISTED` are shown.
    """
    values = series.to_numpy() if values is None else values
    shown = ", ".join(f"{quote(_plain(values[i]))} at row {_row(series, i)}"
                      for i in positions[:MAX_LISTED])
    rest = len(positions) - MAX_LISTED
    return shown + (f" and {rest} more" if rest > 0 else "")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


_PLAIN_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_CURRENCY = "$€£¥"


def _number_format(text):
    """The format of one number written as text: ``(kind, decoration)``, or None.

    kind says how it is written (``"plain"``, ``"thousands"``, ``"comma"`` for a decimal comma,
    ``"ambiguous"`` for ``1,234`` which may be either); decoration is None, ``"currency"`` or
    ``"percent"``.
    """
    import re

    value = text.strip()
    decoration = None
    sign = value[:1] if value[:1] in "+-" else ""
    value = value[len(sign):].strip()
    if value[:1] in _CURRENCY or value[-1:] in _CURRENCY:
        decoration, value = "currency", value.strip(_CURRENCY).strip()
    elif value.endswith("%"):
        decoration, value = "percent", value[:-1].strip()
    body = value
    if re.fullmatch(_PLAIN_NUMBER, value):
        return "plain", decoration
    if re.fullmatch(r"\d{1,3}(,\d{3})+", body):
        return "ambiguous", decoration  # 3,750: thousands, or 3.75 with a decimal comma
    if re.fullmatch(r"\d{1,3}(,\d{3})+\.\d*", body):
        return "thousands", decoration
    if re.fullmatch(r"\d{1,3}(\.\d{3})+,\d*", body) or re.fullmatch(r"\d+,\d+", body):
        return "comma", decoration
    if re.fullmatch(r"\d{1,3}(\.\d{3}){2,}", body):
        return "comma", decoration  # 1.234.567: dots as thousands separators
    return None


def numbers_from_text(series, name):
    """A text column that holds numbers with separators, currency or percent signs, as floats.

    Returns ``(values, how)``: float64 values (NaN where missing) and a phrase saying how they
    were written, or ``(None, None)`` when the column is not numbers written as text (or is
    plain numbers, which pandas already reads). Raises :class:`DataError` when the numbers are
    written in ways that contradict each other (a decimal comma and thousands commas).
    Percentages become fractions (``12%`` is 0.12).
    """
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None, None
    present = series.dropna()
    if not len(present) or not all(isinstance(v, str) for v in present):
        return None, None
    formats = {}
    for value in present.unique():
        found = _number_format(value)
        if found is None:
            return None, None
        formats.setdefault(found, value)
    kinds = {kind for kind, _ in formats}
    decorations = {decoration for _, decoration in formats} - {None}
    if kinds == {"plain"} and not decorations:
        return None, None
    if len(decorations) > 1:
        raise DataError(
            f"column {name!r} must hold numbers written one way, got both currency and percent "
            f"signs. Convert the column to plain numbers before training."
        )
    if "comma" in kinds and "thousands" in kinds:
        comma = next(v for (k, _), v in formats.items() if k == "comma")
        thousands = next(v for (k, _), v in formats.items() if k == "thousands")
        raise DataError(
            f"column {name!r} must use one decimal mark, got {comma!r} (decimal comma) and "
            f"{thousands!r} (decimal point). Write the numbers without thousands separators "
            "and with a decimal point."
        )
    comma = "comma" in kinds  # "ambiguous" values follow the others; alone they are thousands
    text = present.astype(str).str.replace(f"[{_CURRENCY}\\s]", "", regex=True)
    percent = "percent" in decorations
    if percent:
        text = text.str.rstrip("%")
    if comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    values = np.full(len(series), np.nan)
    parsed = pd.to_numeric(text).to_numpy(dtype=np.float64)
    values[series.notna().to_numpy()] = parsed / 100 if percent else parsed
    ways = []
    if "thousands" in kinds or ("ambiguous" in kinds and not comma):
        ways.append("thousands separators")
    if comma:
        ways.append("a decimal comma")
    if decorations:
        ways.append("currency signs" if "currency" in decorations else
                    "percent signs (read as fractions: 12% is 0.12)")
    return values, " and ".join(ways)


def convert_numeric_text(frame, columns):
    """``frame`` with the columns that hold numbers written as text read as numbers.

    Columns of Python ``Decimal`` values become float64 silently. Each converted text column
    is announced with a UserWarning (one line on the command line). The columns whose numbers
    contradict each other are all reported at once (:class:`SpecError`).
    """
    import pandas as pd

    converted, found = None, []
    for name in columns:
        if pd.api.types.infer_dtype(frame[name], skipna=True) == "decimal":
            if converted is None:
                converted = frame.copy()
            converted[name] = pd.to_numeric(frame[name]).astype(np.float64)
            continue  # Python Decimal values are numbers, no warning needed
        try:
            values, how = numbers_from_text(frame[name], name)
        except DataError as error:  # every column's problem at once
            found.append(problem("{message}", message=str(error)))
            continue
        if values is None:
            continue
        if converted is None:
            converted = frame.copy()
        example = frame[name].dropna().iloc[0]
        converted[name] = values
        warnings.warn(
            f"column {name!r} holds numbers written as text with {how} (e.g. {example!r}); "
            "read as numbers.", UserWarning, stacklevel=2,
        )
    if found:
        raise SpecError(found)
    return frame if converted is None else converted


def _unusable_type(series):
    """A name for a column of lists, structs, maps or bytes (Parquet nested types), else None."""
    present = series.dropna()
    if not len(present):
        return None
    value = present.iloc[0]
    if isinstance(value, dict):
        return "struct"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary"
    if isinstance(value, (list, tuple, np.ndarray)):
        first = next(iter(value), None) if len(value) else None
        if isinstance(first, tuple) and len(first) == 2:
            return "map"
        return "list"
    return None


def check_plain(series, name, role="column"):
    """Raise for a column of lists, structs, maps or binary values (say which)."""
    kind = _unusable_type(series)
    if kind is not None:
        advice = ("Choose another {target}, or flatten it into a plain column of labels or "
                  "numbers." if role == "target column" else
                  "Leave it out with {exclude}, or flatten it into plain columns.")
        raise SpecError([problem(
            "{role} {name!r} must hold numbers or strings, got {kind} values (e.g. {example}). "
            + advice, role=role, name=name, kind=kind,
            example=f"{series.dropna().iloc[0]!r:.60}")])


_DATE = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"
MAX_LABEL_CHARS = 1000
"""The longest class label a target column may hold (longer text is not a label)."""

DATE_PARTS = ("year", "month", "dayofweek", "ordinal")
"""The numeric features of a date column: its year, month, day of the week (Monday 0) and
ordinal day (days since 1970-01-01)."""


def _is_date(series):
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    present = series.dropna()
    if not len(present) or not all(isinstance(v, str) for v in present.iloc[:1000]):
        return False
    return bool(present.astype(str).str.fullmatch(_DATE).all())


def _date_parts(series, name, fill=None):
    """Array (n, 4) of year, month, day of week and ordinal day.

    Missing dates are filled with ``fill`` (an ordinal day) when it is given.
    """
    import pandas as pd

    options = {} if pd.api.types.is_datetime64_any_dtype(series) else {"format": "ISO8601"}
    try:
        dates = pd.to_datetime(series, errors="raise", **options)
    except (ValueError, TypeError, OverflowError):
        dates = pd.to_datetime(series, errors="coerce", **options)
        bad = np.flatnonzero(dates.isna().to_numpy() & series.notna().to_numpy())
        raise DataError(
            f"column {name!r} must hold dates like 2024-01-31, got {at_rows(series, bad)}. "
            f"{FIX[len(bad) > 1]}"
        ) from None
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert(None)
    if fill is not None:
        dates = dates.fillna(pd.Timestamp("1970-01-01") + pd.Timedelta(days=fill))
    ordinal = (dates - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return np.column_stack([dates.dt.year, dates.dt.month, dates.dt.day_of_week,
                            ordinal]).astype(np.float64)


def column_kind(series, name):
    """``"numeric"`` or ``"categorical"`` for a feature column; raise for unusable ones.

    Bool and number columns are numeric; strings are categorical, unless at least 90% of the
    values parse as numbers, which means a typo in a numeric column (the error names it).
    """
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if _is_date(series):
        return "date"
    check_plain(series, name)
    if not (pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype)):
        raise SpecError([problem(
            "column {name!r} has dtype {dtype}, which numnet cannot use. Convert it to numbers "
            "or strings, or leave it out with {features}.", name=name, dtype=series.dtype)])
    present = series.dropna()
    if len(present):
        parsed = pd.to_numeric(present.astype(str), errors="coerce")
        share = float(parsed.notna().mean())
        if 0.9 <= share < 1.0:
            _numeric_values(series, name)  # raises, naming the bad values
    return "categorical"


def _check_missing(series, name, impute):
    missing = series.isna().to_numpy()
    if missing.all():
        raise SpecError([problem(
            "column {name!r} must have at least one value, got only missing values. Leave it "
            "out with {features}.", name=name)])
    if missing.any() and impute is None:
        first = int(np.flatnonzero(missing)[0])
        raise SpecError([problem(
            "column {name!r} has {count} missing value(s), the first at row {row}. Fill or "
            "drop them, or pass {impute} indicator|mean|median|most_frequent.", name=name,
            count=int(missing.sum()), row=_row(series, first))])



# ------------------------------------------------------------------------------------ target


def infer_task(series):
    """``"classification"`` for string, bool or few-valued integer targets, else regression."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "classification"
    if pd.api.types.is_integer_dtype(series) and series.nunique() <= MAX_CLASSIFICATION_INTEGERS:
        return "classification"
    return "regression"


_DROP_MISSING_FIX = "Drop those rows ({drop_missing_target}); targets are never imputed."


def check_target_present(series, target, fix=_DROP_MISSING_FIX):
    """Refuse missing target values; ``fix`` says what to do, a template naming its fields."""
    missing = series.isna().to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise SpecError([problem(
            "target column {name!r} has {count} missing value(s), the first at row {at}. "
            + fix, name=target, count=int(missing.sum()), at=_row(series, first))])


_TASK_FIX = "Use {task} classification to predict categories."
TRAINED_REGRESSION_FIX = "The model does regression: score it against a column of numbers."
"""What a command on a trained regression model says of a target that is not numbers."""


def target_values(frame, target, task, *, missing_fix=_DROP_MISSING_FIX, numeric_fix=_TASK_FIX):
    """The target column as labels (classification) or float64 values (regression).

    ``missing_fix``: the advice when a target is missing (the default names
    ``--drop-missing-target``, which only train and evaluate have); ``numeric_fix``: when a
    regression target is not numbers (the default names ``--task``, which only train has).
    Both are templates naming fields.
    """
    series = frame[target]
    check_plain(series, target, "target column")
    check_target_present(series, target, missing_fix)
    if task == "regression":
        import pandas as pd

        if not pd.api.types.is_bool_dtype(series) and not pd.api.types.is_numeric_dtype(series):
            parsed = pd.to_numeric(series, errors="coerce")
            if parsed.notna().all():
                series = parsed  # numbers held as objects (e.g. Decimal): numbers
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            parsed = pd.to_numeric(series, errors="coerce") if not pd.api.types.is_bool_dtype(
                series) else series.where(False)
            first = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise SpecError([problem(
                "target column {name!r} must be numeric for regression, got {value!r} at row "
                "{row}. " + numeric_fix, name=target,
                value=series.iloc[first], row=_row(series, first))])
        values = series.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            first = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(
                f"target column {target!r} must hold finite numbers, got {values[first]} at "
                f"row {_row(series, first)}."
            )
        return values
    labels = series.to_numpy()
    if labels.dtype.kind in "OUS":
        labels = np.array([str(v) for v in labels], dtype=object)
        # Checked before any encoding: np.unique of labels as fixed-width strings would
        # allocate (rows x longest label) characters, gigabytes for one pasted document.
        lengths = np.fromiter((len(v) for v in labels), dtype=np.int64, count=len(labels))
        if lengths.size and lengths.max() > MAX_LABEL_CHARS:
            first = int(np.argmax(lengths > MAX_LABEL_CHARS))
            raise SpecError([problem(
                "target column {name!r} must hold class labels of at most {most} characters, "
                "got one of {length} characters at row {row}. Check that {target} names the "
                "label column.", name=target, most=MAX_LABEL_CHARS,
                length=int(lengths[first]), row=_row(series, first))])
    return labels


