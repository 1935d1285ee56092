"""Tabular data for the command line: reading files, preprocessing columns, the fitted pipeline.

Rows are numbered from 1 in messages, counting data rows only (row 1 is the line after the
header of a CSV file).
"""

import io
import math
import sys
import warnings
from pathlib import Path

import numpy as np

from ._validation import repeated_names

TASKS = ("auto", "classification", "regression")
MODELS = ("linear", "logistic", "mlp")
IMPUTE = ("mean", "median", "most_frequent")
MAX_CLASSIFICATION_INTEGERS = 20
"""An integer target with at most this many distinct values is a classification target."""

_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
            ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")


class DataError(ValueError):
    """The data or the options do not fit together; the command line exits with code 2."""


# ----------------------------------------------------------------------------------- reading


def table_format(source) -> str:
    """``"csv"``, ``"tsv"`` or ``"parquet"`` from a path's suffix (``"-"`` is CSV on stdin)."""
    if str(source) == "-":
        return "csv"
    suffixes = [s.lower() for s in Path(source).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _FORMATS:
        return _FORMATS[suffixes[-1]]
    raise DataError(
        f"DATA must be a .csv, .tsv or .parquet file (or - for CSV on stdin), got "
        f"{str(source)!r}."
    )


def read_table(source, *, sep=None, encoding=None):
    """Read a CSV, TSV or Parquet file (or CSV from stdin for ``"-"``) into a DataFrame.

    The index is reset to 0, 1, ... so that messages can name rows; column names become
    strings. Raises :class:`DataError` for a missing, unreadable, empty or malformed file and
    for duplicate column names.

    ``sep`` is the field separator of a text file (default: tab for .tsv, else comma; a CSV
    whose header line has more ``;`` than ``,`` is read with ``;``). ``encoding`` is the text
    encoding (default utf-8, e.g. ``"latin-1"``).
    """
    import codecs

    import pandas as pd

    if sep is not None and sep != "\\t" and (len(sep) != 1 or sep in "\"\r\n"):
        raise DataError(
            f"--sep must be a single character other than a quote or a newline, got {sep!r}. "
            "Write \\t for a tab, e.g. --sep ';'."
        )
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(
                f"--encoding must be a text encoding Python knows, got {encoding!r}. Use e.g. "
                "utf-8, latin-1 or cp1252."
            ) from None
    fmt = table_format(source)
    name = "<stdin>" if str(source) == "-" else str(source)
    if fmt == "parquet":
        frame = _read_parquet(source, name)
    else:
        if str(source) == "-":
            raw = sys.stdin.buffer.read()
        else:
            raw = _read_bytes(source, name)
        explicit = sep is not None
        if sep in (None, "\\t"):
            sep = "\t" if (fmt == "tsv" or sep == "\\t") else ","
        compression = "infer" if str(source) != "-" else None
        if compression:
            suffix = Path(source).suffix.lower()
            compression = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip",
                           ".zst": "zstd"}.get(suffix)
        try:
            header = pd.read_csv(io.BytesIO(raw), sep=sep, header=None, nrows=1, dtype=str,
                                 compression=compression, keep_default_na=False,
                                 encoding=encoding)
            semicolons = sum(str(v).count(";") for v in header.iloc[0]) if len(header) else 0
            if not explicit and sep == "," and semicolons > header.shape[1] - 1:
                sep = ";"  # a European spreadsheet's CSV: more ';' than ',' in the header
                header = pd.read_csv(io.BytesIO(raw), sep=sep, header=None, nrows=1, dtype=str,
                                     compression=compression, keep_default_na=False,
                                     encoding=encoding)
            frame = pd.read_csv(io.BytesIO(raw), sep=sep, compression=compression,
                                low_memory=False, encoding=encoding)
        except pd.errors.EmptyDataError:
            raise DataError(f"Cannot read {name!r}: the file is empty.") from None
        except UnicodeDecodeError as error:
            raise DataError(
                f"Cannot read {name!r} as {encoding or 'utf-8'} text: it holds the byte "
                f"0x{error.object[error.start]:02x}, which {encoding or 'utf-8'} does not allow "
                "there. Pass the file's encoding, e.g. --encoding latin-1."
            ) from None
        except (pd.errors.ParserError, ValueError, OSError) as error:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(
                error).__name__
            raise DataError(
                f"Cannot read {name!r} as {fmt.upper()}: {detail.rstrip('.')}."
            ) from None
        _check_duplicates([str(c) for c in header.iloc[0]] if len(header) else [], name)
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[0] == 0:
        raise DataError(f"{name!r} has no data rows, only a header.")
    return frame.reset_index(drop=True)


def _read_bytes(path, name):
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise DataError(f"Cannot read {name!r}: no such file.") from None
    except IsADirectoryError:
        raise DataError(f"Cannot read {name!r}: it is a folder, not a file.") from None
    except PermissionError:
        raise DataError(f"Cannot read {name!r}: permission denied.") from None
    except OSError as error:
        raise DataError(f"Cannot read {name!r}: {error.strerror or error}.") from None


def _read_parquet(path, name):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            "Reading Parquet files needs pyarrow: pip install 'numnet[parquet]'."
        ) from None
    raw = _read_bytes(path, name)
    if not raw:
        raise DataError(f"Cannot read {name!r}: the file is empty.")
    try:
        parquet = pq.ParquetFile(io.BytesIO(raw))
        _check_duplicates(parquet.schema_arrow.names, name)
        table = parquet.read()
    except DataError:
        raise
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... for bad files
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(
            error).__name__
        raise DataError(f"Cannot read {name!r} as Parquet: {detail.rstrip('.')}.") from None
    return table.to_pandas()


def _check_duplicates(columns, name):
    repeated = repeated_names(columns)
    if repeated:
        listed = ", ".join(repr(c) for c in repeated)
        raise DataError(
            f"column names must be unique, got {listed} more than once in {name!r}. Rename the "
            "repeated columns."
        )


def parse_columns(text):
    r"""Split a comma-separated option value (``"a, b,c"``) into column names.

    A comma inside a name is written ``\,`` (``"price\, EUR,rooms"`` names ``price, EUR`` and
    ``rooms``); ``\\`` is a backslash.
    """
    if text is None:
        return None
    parts, current, chars = [], [], iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            current.append(following if following in (",", "\\") else char + following)
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def check_columns(frame, names, option, source):
    """Raise unless every name is a column of ``frame``; ``option`` names the CLI option."""
    unknown = [name for name in names if name not in frame.columns]
    if unknown:
        listed = ", ".join(repr(c) for c in frame.columns[:20])
        more = ", ..." if len(frame.columns) > 20 else ""
        raise DataError(
            f"{option} must name columns of {source!r}, got unknown {unknown[0]!r}. "
            f"The columns are: {listed}{more}."
        )


def select_features(frame, target, features, source, *, exclude=()):
    """The feature columns: ``features`` if given, else every column but target and exclude."""
    _check_duplicates([str(c) for c in frame.columns], source)
    check_columns(frame, [target], "--target", source)
    if features is None:
        features = [c for c in frame.columns if c != target and c not in exclude]
    else:
        check_columns(frame, features, "--features", source)
        if target in features:
            raise DataError(
                f"--features must not include the target column {target!r}."
            )
        clash = [c for c in features if c in exclude]
        if clash:
            raise DataError(
                f"--features must not include the sample-weight column {clash[0]!r}."
            )
        if len(set(features)) != len(features):
            raise DataError("--features must name each column once.")
    if not features:
        raise DataError(
            f"data must have at least one feature column besides the target {target!r}, got "
            f"none in {source!r}."
        )
    return list(features)


def _row(series, position):
    """1-based data-row number of the value at ``position`` in ``series``."""
    return int(series.index[position]) + 1


# ----------------------------------------------------------------------------- preprocessing


def _numeric_values(series, name, *, trained=False):
    """The column as float64, with NaN for missing; raise for non-numeric or infinite values."""
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
            first = int(np.flatnonzero(bad)[0])
            value = series.iloc[first]
            rule = "numeric (as in training)" if trained else "numeric"
            raise DataError(
                f"column {name!r} must be {rule}, got {value!r} at row {_row(series, first)}. "
                "Fix that value, or leave it empty and use --impute."
            )
        values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])
        raise DataError(
            f"column {name!r} must hold finite numbers, got {values[first]} at row "
            f"{_row(series, first)}."
        )
    return values


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

    Each converted column is announced with a UserWarning (one line on the command line).
    """
    converted = None
    for name in columns:
        values, how = numbers_from_text(frame[name], name)
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
        raise DataError(
            f"{role} {name!r} must hold numbers or strings, got {kind} values (e.g. "
            f"{series.dropna().iloc[0]!r:.60}). Leave it out with --exclude, or flatten it "
            "into plain columns."
        )


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
        bad = dates.isna().to_numpy() & series.notna().to_numpy()
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {name!r} must hold dates like 2024-01-31, got {series.iloc[first]!r} at "
            f"row {_row(series, first)}. Fix that value."
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
        raise DataError(
            f"column {name!r} has dtype {series.dtype}, which numnet cannot use. Convert it to "
            "numbers or strings, or leave it out with --features."
        )
    present = series.dropna()
    if len(present):
        parsed = pd.to_numeric(present.astype(str), errors="coerce")
        share = float(parsed.notna().mean())
        if 0.9 <= share < 1.0:
            _numeric_values(series, name)  # raises, naming the first bad value
    return "categorical"


def _check_missing(series, name, impute):
    missing = series.isna().to_numpy()
    if missing.all():
        raise DataError(
            f"column {name!r} must have at least one value, got only missing values. Leave it "
            "out with --features."
        )
    if missing.any() and impute is None:
        first = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"column {name!r} has {int(missing.sum())} missing value(s), the first at row "
            f"{_row(series, first)}. Fill or drop them, or pass --impute "
            "mean|median|most_frequent."
        )


class TabularPreprocessor:
    """Turn raw table columns into a float matrix: standardise numbers, one-hot encode strings.

    For a numeric column x (missing values first filled with ``fill``)::

        x' = (x - mean) / scale          mean, scale = x.mean(), x.std()  (scale = 1 if std == 0)

    For a string column with training categories c_1 < ... < c_k (sorted)::

        x' = [x == c_1, ..., x == c_k]   k columns of 0.0/1.0; an unseen value gives all zeros

    The same as scikit-learn's ``SimpleImputer`` then ``StandardScaler`` on numeric columns and
    ``OneHotEncoder(handle_unknown="ignore")`` on string columns. Everything fitted is plain
    data (lists of floats and strings), stored in the model file as JSON.

    Parameters
    ----------
    impute : {"mean", "median", "most_frequent"} or None, default=None
        How to fill missing values of numeric columns; string columns always use their most
        frequent category. None means missing values are an error.

    Attributes
    ----------
    columns_ : list of dict
        One entry per input column: ``{"name", "kind", "fill", "mean", "scale"}`` for numeric
        columns, ``{"name", "kind", "fill", "categories"}`` for categorical ones.
    feature_names_out_ : list of str
        Names of the output columns (``"city=Paris"`` for one-hot columns).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "city": ["b", "a", "b"]})
    >>> pre = TabularPreprocessor().fit(frame, ["x", "city"])
    >>> pre.feature_names_out_
    ['x', 'city=a', 'city=b']
    >>> pre.transform(frame).round(3).tolist()
    [[-1.225, 0.0, 1.0], [0.0, 1.0, 0.0], [1.225, 0.0, 1.0]]
    """

    def __init__(self, *, impute=None):
        if impute is not None and impute not in IMPUTE:
            raise DataError(
                f"--impute must be one of {{'mean', 'median', 'most_frequent'}}, got {impute!r}."
            )
        self.impute = impute

    def check(self, frame, columns):
        """Validate the columns on all rows (kinds, missing and infinite values); fit nothing."""
        for name in columns:
            series = frame[name]
            kind = column_kind(series, name)
            _check_missing(series, name, self.impute)
            if kind == "numeric":
                _numeric_values(series, name)
            elif kind == "date":
                _date_parts(series, name)

    def fit(self, frame, columns):
        """Learn fill values, means, scales and categories from ``frame[columns]``.

        A column with one value in every row is left out (with a warning); an integer column
        whose values are all different and consecutive (a row number) gets a warning.
        """
        self.check(frame, columns)
        self.columns_ = []
        dropped = []
        for name in columns:
            series = frame[name]
            kind = column_kind(series, name)
            if len(series) > 1 and series.nunique(dropna=False) == 1:
                dropped.append(name)
                continue
            if kind == "date":
                parts = _date_parts(series, name)
                ordinal = parts[:, 3]
                fill = self._fill_value(ordinal)
                parts = _date_parts(series, name, fill=fill)
                std = parts.std(axis=0)
                self.columns_.append({"name": name, "kind": "date", "fill": fill,
                                      "mean": [float(v) for v in parts.mean(axis=0)],
                                      "scale": [float(v) if v > 0 else 1.0 for v in std]})
                continue
            if kind == "numeric":
                _warn_identifier(series, name)
                values = _numeric_values(series, name)
                fill = self._fill_value(values)
                values = np.where(np.isnan(values), fill, values)
                with np.errstate(over="ignore", invalid="ignore"):
                    mean, std = float(values.mean()), float(values.std())
                if not (math.isfinite(mean) and math.isfinite(std)):
                    raise DataError(
                        f"column {name!r} must have values small enough to standardise, got "
                        f"values up to {float(np.max(np.abs(values))):.3g}. Rescale the column "
                        "(e.g. divide it by a power of 10)."
                    )
                self.columns_.append({"name": name, "kind": "numeric", "fill": fill,
                                      "mean": mean, "scale": std if std > 0 else 1.0})
            else:
                present = series.dropna().astype(str)
                counts = present.value_counts()
                # ties go to the smallest value, as in scikit-learn's SimpleImputer
                top = counts.max()
                fill = min(str(v) for v in counts.index[counts == top])
                categories = sorted(set(present))
                if len(categories) > 50 and len(categories) > 0.5 * len(present):
                    warnings.warn(
                        f"column {name!r} has {len(categories)} distinct values in "
                        f"{len(present)} rows, so one-hot encoding adds {len(categories)} "
                        "features. If it is an identifier, leave it out with --features.",
                        UserWarning, stacklevel=2,
                    )
                self.columns_.append({"name": name, "kind": "categorical",
                                      "fill": fill, "categories": categories})
        for name in dropped:
            value = frame[name].iloc[0]
            warnings.warn(
                f"column {name!r} has the same value ({_plain_value(value)!r}) in every training "
                "row, so it cannot help; it is left out.", UserWarning, stacklevel=2,
            )
        if not self.columns_:
            raise DataError(
                f"data must have at least one feature column that varies, got only constant "
                f"ones: {', '.join(repr(n) for n in dropped)}."
            )
        return self

    def _fill_value(self, values):
        present = values[~np.isnan(values)]
        if self.impute == "median":
            return float(np.median(present))
        if self.impute == "most_frequent":
            uniques, counts = np.unique(present, return_counts=True)
            return float(uniques[np.argmax(counts)])  # np.unique sorts: ties -> smallest
        return float(present.mean())

    @property
    def feature_names_out_(self):
        names = []
        for column in self.columns_:
            if column["kind"] == "numeric":
                names.append(column["name"])
            elif column["kind"] == "date":
                names.extend(f"{column['name']}.{part}" for part in DATE_PARTS)
            else:
                names.extend(f"{column['name']}={c}" for c in column["categories"])
        return names

    @property
    def feature_names_in_(self):
        return [column["name"] for column in self.columns_]

    @property
    def feature_groups_(self):
        """``(name, start, stop)`` per input column: its block ``[start, stop)`` of the output.

        A numeric column is one output feature, a date four, a categorical column one per
        category.
        """
        groups, start = [], 0
        for column in self.columns_:
            width = {"numeric": 1, "date": len(DATE_PARTS)}.get(column["kind"])
            width = len(column["categories"]) if width is None else width
            groups.append((column["name"], start, start + width))
            start += width
        return groups

    def transform(self, frame, *, dtype=np.float64, warn_unknown=True):
        """The float matrix of shape (n_samples, len(feature_names_out_)) for ``frame``."""
        _check_duplicates([str(c) for c in frame.columns], "data")
        missing = [c["name"] for c in self.columns_ if c["name"] not in frame.columns]
        if missing:
            raise DataError(
                f"data must have the column {missing[0]!r} that the model was trained on, got "
                f"columns {list(frame.columns)[:20]}."
            )
        blocks = []
        for column in self.columns_:
            name, series = column["name"], frame[column["name"]]
            missing_rows = series.isna().to_numpy()
            if missing_rows.any() and self.impute is None:
                first = int(np.flatnonzero(missing_rows)[0])
                raise DataError(
                    f"column {name!r} has {int(missing_rows.sum())} missing value(s), the "
                    f"first at row {_row(series, first)}, but the model was trained without "
                    "--impute. Fill or drop them, or retrain with --impute."
                )
            if column["kind"] == "numeric":
                values = _numeric_values(series, name, trained=True)
                values = np.where(np.isnan(values), column["fill"], values)
                with np.errstate(over="ignore", invalid="ignore"):
                    scaled = (values - column["mean"]) / column["scale"]
                if not np.all(np.isfinite(scaled)):
                    first = int(np.flatnonzero(~np.isfinite(scaled))[0])
                    raise DataError(
                        f"column {name!r} must have values small enough to standardise, got "
                        f"{values[first]:.3g} at row {_row(series, first)}."
                    )
                limit = np.finfo(dtype).max if np.dtype(dtype).kind == "f" else np.inf
                if np.any(np.abs(scaled) > limit):
                    first = int(np.flatnonzero(np.abs(scaled) > limit)[0])
                    raise DataError(
                        f"column {name!r} must have values that fit the model's "
                        f"{np.dtype(dtype).name} after standardising, got {values[first]:.3g} "
                        f"at row {_row(series, first)}. Rescale the column, or retrain with "
                        "--dtype float64."
                    )
                blocks.append(scaled[:, None])
            elif column["kind"] == "date":
                parts = _date_parts(series, name, fill=column["fill"])
                blocks.append((parts - np.array(column["mean"])) / np.array(column["scale"]))
            else:
                import pandas as pd

                values = series.astype(object).where(series.notna(), column["fill"]).astype(str)
                codes = pd.Index(column["categories"]).get_indexer(values)  # -1: unseen
                one_hot = np.zeros((len(values), len(column["categories"])))
                known = np.flatnonzero(codes >= 0)
                one_hot[known, codes[known]] = 1.0
                if warn_unknown and len(known) < len(values):
                    unknown = np.flatnonzero(codes < 0)
                    warnings.warn(
                        f"column {name!r} has {len(unknown)} value(s) not seen in training "
                        f"(first {values.iloc[unknown[0]]!r} at row {_row(series, unknown[0])}); "
                        "they are encoded as all zeros.", UserWarning, stacklevel=2,
                    )
                blocks.append(one_hot)
        if not blocks:
            return np.empty((len(frame), 0), dtype=dtype)
        return np.hstack(blocks).astype(dtype, copy=False)

    def get_state(self):
        """Plain-data state for model files."""
        return {"impute": self.impute, "columns": self.columns_}

    @classmethod
    def from_state(cls, state):
        """Rebuild from :meth:`get_state`; raises ValueError for malformed state."""
        if not isinstance(state, dict) or set(state) != {"impute", "columns"}:
            raise ValueError("the preprocessing state must have the fields impute and columns.")
        pre = cls(impute=state["impute"])
        columns = state["columns"]
        if not isinstance(columns, list) or not columns:
            raise ValueError("the preprocessing must list at least one column.")
        for column in columns:
            _check_column_state(column)
        pre.columns_ = columns
        return pre


def _plain_value(value):
    return value.item() if isinstance(value, np.generic) else value


def _warn_identifier(series, name):
    """Warn for an integer column that numbers the rows.

    That is: at least 10 values, all different, spanning less than twice as many integers as
    there are rows (row numbers 1..n, or the training rows' share of them).
    """
    import pandas as pd

    if len(series) < 10 or not pd.api.types.is_integer_dtype(series):
        return
    values = np.sort(series.to_numpy(dtype=np.int64))
    if np.all(np.diff(values) > 0) and values[-1] - values[0] < 2 * len(values):
        warnings.warn(
            f"column {name!r} looks like a row number (its {len(values)} values are all "
            f"different integers from {values[0]} to {values[-1]}); it is used as a feature. If "
            f"it is an identifier, leave it out with --exclude {name}.", UserWarning,
            stacklevel=3,
        )


def _finite_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)


def _check_column_state(column):
    numeric = {"name": str, "kind": str, "fill": float, "mean": float, "scale": float}
    categorical = {"name": str, "kind": str, "fill": str, "categories": list}
    if not isinstance(column, dict):
        raise ValueError("each preprocessed column must be an object.")
    if column.get("kind") == "date":
        ok = (set(column) == {"name", "kind", "fill", "mean", "scale"}
              and isinstance(column["name"], str) and _finite_number(column["fill"])
              and all(isinstance(column[key], list) and len(column[key]) == len(DATE_PARTS)
                      and all(_finite_number(v) for v in column[key])
                      for key in ("mean", "scale"))
              and all(v > 0 for v in column["scale"]))
        if not ok:
            raise ValueError(f"invalid preprocessed column {column!r:.200}.")
        return
    fields = numeric if column.get("kind") == "numeric" else categorical
    if column.get("kind") not in ("numeric", "categorical") or set(column) != set(fields):
        raise ValueError(f"invalid preprocessed column {column!r:.200}.")
    for key, kind in fields.items():
        value = column[key]
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
                value)
            if key == "scale":
                ok = ok and value > 0
        elif kind is list:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value) and value
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ValueError(f"invalid {key!r} in preprocessed column {column!r:.200}.")


# ------------------------------------------------------------------------------------ target


def infer_task(series):
    """``"classification"`` for string, bool or few-valued integer targets, else regression."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "classification"
    if pd.api.types.is_integer_dtype(series) and series.nunique() <= MAX_CLASSIFICATION_INTEGERS:
        return "classification"
    return "regression"


def target_values(frame, target, task):
    """The target column as labels (classification) or float64 values (regression)."""
    series = frame[target]
    check_plain(series, target, "target column")
    missing = series.isna().to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"target column {target!r} has {int(missing.sum())} missing value(s), the first at "
            f"row {_row(series, first)}. Drop those rows (--drop-missing-target); targets are "
            "never imputed."
        )
    if task == "regression":
        import pandas as pd

        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            parsed = pd.to_numeric(series, errors="coerce") if not pd.api.types.is_bool_dtype(
                series) else series.where(False)
            first = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise DataError(
                f"target column {target!r} must be numeric for regression, got "
                f"{series.iloc[first]!r} at row {_row(series, first)}. Use --task "
                "classification to predict categories."
            )
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
            raise DataError(
                f"target column {target!r} must hold class labels of at most "
                f"{MAX_LABEL_CHARS} characters, got one of {int(lengths[first])} characters at "
                f"row {_row(series, first)}. Check that --target names the label column."
            )
    return labels


def write_table(frame, destination):
    """Write ``frame`` as CSV, TSV or Parquet (by suffix), atomically."""
    from .io import atomic_write

    fmt = table_format(destination)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise DataError(
                "Writing Parquet files needs pyarrow: pip install 'numnet[parquet]'."
            ) from None
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    else:
        data = frame.to_csv(index=False, sep="\t" if fmt == "tsv" else ",").encode()
    atomic_write(destination, data)
