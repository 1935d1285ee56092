"""Reading and writing tables: CSV, TSV, Parquet or stdin; column names and selections.

Rows are numbered from 1 in messages, counting data rows only (row 1 is the line after the
header of a CSV file).
"""

import io
import sys
from pathlib import Path

from .._validation import repeated_names
from ..io import NotRegularFileError, atomic_write, open_regular_file
from .problems import (  # noqa: F401 (DataError, for all)
    MAX_LISTED,
    DataError,
    SpecError,
    listed,
    problem,
    ref,
)

TASKS = ("auto", "classification", "regression")
MODELS = ("linear", "logistic", "mlp")
IMPUTE = ("mean", "median", "most_frequent", "indicator")
MAX_CLASSIFICATION_INTEGERS = 20
"""An integer target with at most this many distinct values is a classification target."""

_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
            ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")
TABLE_SUFFIXES = ".csv, .txt, .tsv, .tab, .parquet or .pq"
"""The suffixes of the tables numnet reads and writes, as messages list them: .csv and .txt
are CSV, .tsv and .tab TSV."""


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
        f"DATA must be a {TABLE_SUFFIXES} file (or - for CSV on stdin), got {str(source)!r}. "
        "Save the table in one of these formats (.csv and .txt are read as CSV, .tsv and .tab "
        "as TSV; a text file may be compressed: .gz, .bz2, .xz, .zip, .zst)."
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
            raw = _read_stdin()
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


def _read_stdin():
    """All of stdin, read a chunk at a time.

    A Ctrl-C or SIGTERM that comes while a chunk is copied is then handled before the next
    read, not only when the writer closes the pipe (as with one read of everything).
    """
    stream = sys.stdin.buffer
    read = getattr(stream, "read1", stream.read)
    chunks = []
    while chunk := read(1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _read_bytes(path, name):
    """The bytes of a regular file (a FIFO or a device such as /dev/zero is refused first)."""
    try:
        with open_regular_file(path) as file:
            return file.read()
    except NotRegularFileError as error:
        if error.kind == "a folder":
            raise DataError(f"Cannot read {name!r}: it is a folder, not a file.") from None
        raise DataError(
            f"Cannot read {name!r}: it is {error.kind}, not a data file. Pass the file itself, "
            "or - to read CSV from stdin."
        ) from None
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
    return _arrow_to_pandas(table)


def _arrow_to_pandas(table):
    """The DataFrame of an Arrow table: decimals as float64, dates as datetime64.

    pandas would make decimals Python ``Decimal`` objects and dates ``datetime.date`` objects
    (columns that look like text); numnet reads them as the numbers and dates they are.
    """
    import pyarrow as pa

    for index, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pa.float64()))
    return table.to_pandas(date_as_object=False)


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


def check_columns(frame, names, field, source):
    """Raise :class:`SpecError` unless every name is a column of ``frame``.

    ``field`` is the parameter that named them (``"target"``); the command line shows it as
    its option (``--target``).
    """
    unknown = [name for name in names if name not in frame.columns]
    if unknown:
        more = ", ..." if len(frame.columns) > 20 else ""
        raise SpecError([problem(
            ref(field) + " must name columns of {source!r}, got unknown {unknown}.{close} "
            "The columns are: {listed}{more}." + separator_hint(frame.columns), source=source,
            unknown=listed(unknown), close=did_you_mean(unknown, frame.columns),
            listed=", ".join(repr(c) for c in frame.columns[:20]), more=more)])


def close_matches(name, columns):
    """The columns that ``name`` may have meant: the same but for case, else spelt alike.

    As the option parser suggests options: :func:`difflib.get_close_matches` (ratio >= 0.6),
    here on lower-case names, at most three.
    """
    import difflib

    name = str(name).lower()
    same = [c for c in columns if str(c).lower() == name]
    if same:
        return same[:3]
    lower = {}
    for column in columns:
        lower.setdefault(str(column).lower(), column)
    return [lower[c] for c in difflib.get_close_matches(name, list(lower), n=3)]


def did_you_mean(unknown, columns):
    """`` Did you mean 'deny'?`` for names close to columns (several: ``'deny' for 'Deny'``)."""
    found = [(name, close_matches(name, columns)) for name in unknown]
    found = [(name, " or ".join(map(repr, matches))) for name, matches in found if matches]
    if not found:
        return ""
    if len(unknown) == 1:
        return f" Did you mean {found[0][1]}?"
    return " Did you mean " + ", ".join(f"{matches} for {name!r}" for name, matches in
                                        found[:MAX_LISTED]) + "?"


_SEPARATORS = {",": ("comma", ","), ";": ("semicolon", ";"), "\t": ("tab", "\\t"),
               "|": ("pipe", "|")}
"""The common field separators: their names, and how --sep is written for them."""


def separator_hint(columns):
    """`` The header looks comma-separated: pass {sep} ','.``, or ``""``.

    For a table read as one column whose name holds a common separator (``--sep ';'`` on a
    comma file). A template naming the field ``sep``: it is part of a :class:`SpecError`'s problem.
    """
    if len(columns) != 1:
        return ""
    header = str(columns[0])
    sep = max(_SEPARATORS, key=header.count)
    if not header.count(sep):
        return ""
    word, written = _SEPARATORS[sep]
    return f" The header looks {word}-separated: pass {{sep}} '{written}'."


def select_features(frame, target, features, source, *, exclude=()):
    """The feature columns: ``features`` if given, else every column but target and exclude."""
    _check_duplicates([str(c) for c in frame.columns], source)
    check_columns(frame, [target], "target", source)
    if features is None:
        features = [c for c in frame.columns if c != target and c not in exclude]
    else:
        check_columns(frame, features, "features", source)
        if target in features:
            raise SpecError([problem(
                "{features} must not include the target column {target!r}.", target=target)])
        clash = [c for c in features if c in exclude]
        if clash:
            raise SpecError([problem(
                "{features} must not include the sample-weight column {column!r}.",
                column=clash[0])])
        if len(set(features)) != len(features):
            raise SpecError([problem("{features} must name each column once.")])
    if not features:
        raise DataError(
            f"data must have at least one feature column besides the target {target!r}, got "
            f"none in {source!r}."
        )
    return list(features)


def _row(series, position):
    """1-based data-row number of the value at ``position`` in ``series``."""
    return int(series.index[position]) + 1



def write_table(frame, destination):
    """Write ``frame`` as CSV, TSV or Parquet (by suffix), atomically."""
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
