"""DATA as several files: a folder or a glob, read in memory or as a dask DataFrame.

``numnet train DATA`` takes a file, a folder (its ``.csv``, ``.tsv`` and ``.parquet`` files) or
a glob (``'data/*.parquet'``). The files are taken in sorted order and must all have the same
format and the same columns, in the same order; Parquet files, which declare their column
types, must also give each column one kind of type (numbers, text, booleans, dates) in every
file. Without a cluster they are read one by one and
concatenated; with one (:func:`read_dask_table`) they become one dask DataFrame, read on the
workers.
"""

import glob
import os
from pathlib import Path

from .reading import TABLE_SUFFIXES, DataError, _check_duplicates, read_table, table_format

CSV_BLOCKSIZE = "64MB"
"""Bytes of an uncompressed CSV file per dask partition (fixed, so the partitions are too)."""


def is_pattern(source):
    """Whether DATA names several files (a glob or a folder) rather than one."""
    source = str(source)
    return source != "-" and (glob.has_magic(source) or os.path.isdir(source))


def source_files(source):
    """The sorted files of a file, folder or glob; DataError when there are none or they mix.

    A single file is returned as it is (reading it reports a missing file); a folder gives its
    files with a table suffix (not its subfolders).
    """
    source = str(source)
    if source == "-" or not is_pattern(source):
        return [source]
    if os.path.isdir(source):
        files = sorted(str(p) for p in Path(source).iterdir()
                       if p.is_file() and _has_table_suffix(p))
        if not files:
            raise DataError(f"Cannot read {source!r}: it is a folder with no "
                            f"{TABLE_SUFFIXES} files in it.")
    else:
        files = sorted(p for p in glob.glob(source) if os.path.isfile(p))
        if not files:
            raise DataError(f"DATA matched no files: {source!r}. Check the folder and the "
                            "pattern (quote it, so that the shell does not expand it).")
    formats = {table_format(f) for f in files}
    if len(formats) > 1:
        raise DataError(f"DATA must be files of one format, got {', '.join(sorted(formats))} "
                        f"files in {source!r}.")
    return files


def _has_table_suffix(path):
    try:
        table_format(path)
    except DataError:
        return False
    return True


def _different_columns(source, first, columns, other, found):
    shown = ", ".join(repr(c) for c in found[:20])
    expected = ", ".join(repr(c) for c in columns[:20])
    return DataError(
        f"the files of {source!r} must have the same columns, got {shown} in "
        f"{os.path.basename(other)!r} but {expected} in {os.path.basename(first)!r}. Give "
        "every file the same header, or pass one file."
    )


def _type_kind(arrow_type):
    """The kind of a Parquet column's Arrow type, as numnet reads it; None for all-null."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_null(arrow_type):
        return None  # a column with no values in this file fits any kind
    if pa.types.is_boolean(arrow_type):
        return "booleans"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or \
            pa.types.is_decimal(arrow_type):
        return "numbers"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_temporal(arrow_type):
        return "dates"
    return str(arrow_type)


def check_parquet_types(source, files):
    """DataError unless each column has one kind of type in all the Parquet ``files``.

    Read from the schemas only. Numbers in one file and text in another would be concatenated
    into one text column in memory (the numbers one-hot encoded as categories) and break the
    cluster's pass, which takes the types from the first file.
    """
    import pyarrow.parquet as pq

    seen = {}  # column -> (kind, file)
    for path in files:
        try:
            schema = pq.read_schema(path)
        except Exception:  # noqa: BLE001 - reading the file reports it, with its reason
            continue
        for field in schema:
            kind = _type_kind(field.type)
            if kind is None:
                continue
            first = seen.setdefault(field.name, (kind, path))
            if first[0] != kind:
                raise DataError(
                    f"the files of {str(source)!r} must give each column one type, got {kind} "
                    f"for {field.name!r} in {os.path.basename(path)!r} but {first[0]} in "
                    f"{os.path.basename(first[1])!r}. Write {field.name!r} with the same type "
                    "in every file, or pass one file."
                )


def read_tables(source, *, sep=None, encoding=None):
    """Read a file, or the files of a folder or glob concatenated in sorted order, in memory.

    The rows are numbered through the files (the second file's first row follows the first
    file's last), as messages count them.
    """
    files = source_files(source)
    if len(files) == 1 and not is_pattern(source):
        return read_table(files[0], sep=sep, encoding=encoding)
    import pandas as pd

    if table_format(files[0]) == "parquet":
        try:
            check_parquet_types(source, files)
        except ImportError:
            pass  # reading the first file says to install pyarrow
    frames = []
    for path in files:
        frame = read_table(path, sep=sep, encoding=encoding)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise _different_columns(source, files[0], list(frames[0].columns), path,
                                     list(frame.columns))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _file_columns(path, fmt, sep, encoding):
    """The column names of one file, read from its header or schema only."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return [str(c) for c in pq.read_schema(path).names]
        except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... for bad files
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(
                error).__name__
            raise DataError(f"Cannot read {path!r} as Parquet: {detail.rstrip('.')}.") from None
    import pandas as pd

    try:
        header = pd.read_csv(path, sep=sep, nrows=0, encoding=encoding, compression="infer")
    except pd.errors.EmptyDataError:
        raise DataError(f"Cannot read {path!r}: the file is empty.") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise DataError(f"Cannot read {path!r} as {fmt.upper()}: {error}.") from None
    return [str(c) for c in header.columns]


def _separator(first, fmt, sep, encoding):
    """The field separator: --sep, a tab for TSV, or ',' (';' when the header has more)."""
    if sep == "\\t" or (sep is None and fmt == "tsv"):
        return "\t"
    if sep is not None:
        return sep
    import pandas as pd

    line = pd.read_csv(first, sep=",", header=None, nrows=1, dtype=str, keep_default_na=False,
                       encoding=encoding, compression="infer")
    semicolons = sum(str(v).count(";") for v in line.iloc[0]) if len(line) else 0
    return ";" if semicolons > line.shape[1] - 1 else ","


def read_dask_table(source, *, sep=None, encoding=None):
    """A file, folder or glob as a dask DataFrame, read lazily (on the workers).

    Parquet files are one partition per row group or file (dask's default); CSV files are cut
    into blocks of :data:`CSV_BLOCKSIZE` bytes (compressed files: one partition each), their
    column types inferred by dask from the first file's first rows. Every file's columns are
    checked here (header or schema only) before anything is read.

    Returns
    -------
    frame : dask.dataframe.DataFrame
    files : list of str
    """
    if str(source) == "-":
        raise DataError("DATA must be a file, folder or glob with --scheduler or --workers, got "
                        "- (stdin cannot be read by the workers). Save the table to a file.")
    files = source_files(source)
    for path in files:
        if not os.path.isfile(path):
            reason = "it is not a file" if os.path.exists(path) else "no such file"
            raise DataError(f"Cannot read {path!r}: {reason}.")
    fmt = table_format(files[0])
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise DataError(
                "Reading Parquet files needs pyarrow: pip install 'numnet[parquet]'."
            ) from None
    else:
        sep = _separator(files[0], fmt, sep, encoding)
    columns = None
    for path in files:
        found = _file_columns(path, fmt, sep, encoding)
        _check_duplicates(found, path)
        if columns is not None and found != columns:
            raise _different_columns(source, files[0], columns, path, found)
        columns = found
    if fmt == "parquet":
        check_parquet_types(source, files)
    import dask.dataframe as dd

    if fmt == "parquet":
        frame = dd.read_parquet(files)
    else:
        compressed = Path(files[0]).suffix.lower() in (".gz", ".bz2", ".xz", ".zip", ".zst")
        text = {} if encoding is None else {"encoding": encoding}
        frame = dd.read_csv(files, sep=sep, low_memory=False,
                            blocksize=None if compressed else CSV_BLOCKSIZE,
                            compression="infer", **text)
    frame.columns = [str(c) for c in frame.columns]
    return frame, files
