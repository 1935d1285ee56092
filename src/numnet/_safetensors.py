"""A bounded, validating reader for safetensors files (model files and checkpoints).

The format (https://github.com/huggingface/safetensors)::

    8 bytes     N, the header length (unsigned little-endian 64-bit integer)
    N bytes     JSON header: {"__metadata__": {str: str}, "<tensor name>": {"dtype": "F64",
                "shape": [4, 8], "data_offsets": [begin, end]}, ...}
    the rest    the raw little-endian bytes of every tensor, back to back

:func:`read` trusts nothing: the header length is bounded before the header is read, the JSON
must be UTF-8 without duplicate keys or deep nesting, and every tensor's dtype, shape and byte
range is checked against the bytes actually present before an array is created. The arrays are
read-only views of one buffer the size of the file. Every problem raises
:class:`ModelFileError` naming the file.
"""

import json
import math
import os

import numpy as np

MAX_HEADER_BYTES = 16 * 2**20
"""Largest JSON header a file may declare; a longer one is rejected before it is read.

Parsed JSON takes up to ~20x its text in Python objects, so this bounds what a forged header
can cost at a few hundred MB; real headers (architecture, preprocessing with its categories,
history) stay far below it.
"""
MAX_NDIM = 8

# safetensors dtype codes and the little-endian NumPy types they hold.
DTYPES = {
    "BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"), "U64": np.dtype("<u8"), "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8"),
}
CODES = {dtype: code for code, dtype in DTYPES.items()}


class ModelFileError(ValueError):
    """A file is not a valid numnet model file (truncated, altered, foreign or too new)."""


def fail(name, detail):
    """Raise the ModelFileError for file ``name``."""
    raise ModelFileError(f"Cannot load {name!r}: {detail}")


def write(tensors, metadata):
    """The bytes of a safetensors file holding ``tensors`` and the str -> str ``metadata``."""
    from safetensors.numpy import save

    return save(tensors, metadata=metadata)


def read_path(path, key, *, what="numnet model file"):
    """:func:`read` on the file at ``path``."""
    name = os.fspath(path)
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed below
    except IsADirectoryError:
        fail(name, f"it is a folder, not a {what}.")
    with file:
        return read(file, os.fstat(file.fileno()).st_size, name, key, what=what)


def read(file, size, name, key, *, what="numnet model file"):
    """Parse and check a safetensors file of ``size`` bytes.

    Parameters
    ----------
    file : binary file object, positioned at the start
    size : int
    name : str
        Shown in error messages.
    key : str
        The ``__metadata__`` entry that must be present (``"numnet"``).
    what : str, default="numnet model file"
        What the file should be, for error messages.

    Returns
    -------
    text : str
        ``__metadata__[key]``.
    tensors : dict of str to ndarray
        Read-only arrays, in the file's byte order (little-endian).
    """
    if size < 8:
        fail(name, f"the file has {size} bytes, too short for a model file (truncated or "
                   "not a model file).")
    n_header = int.from_bytes(file.read(8), "little")
    if n_header > MAX_HEADER_BYTES:
        fail(name, f"the header length field says {n_header} bytes, more than the "
                   f"{MAX_HEADER_BYTES} a {what} may have; this is not a {what} (or it is "
                   "corrupted).")
    if n_header > size - 8:
        fail(name, f"the header length field says {n_header} bytes, but the file has only "
                   f"{size - 8} after it; the file is truncated or not a model file.")
    raw = file.read(n_header)
    if len(raw) != n_header:
        fail(name, "the file ended while reading the header (truncated).")
    header = parse_json(raw, name, "header")
    if not isinstance(header, dict):
        fail(name, "the header is not a JSON object; this is not a safetensors file.")

    meta_block = header.pop("__metadata__", None)
    if not isinstance(meta_block, dict) or key not in meta_block:
        fail(name, f"the file has no {key} metadata; it is not a {what} (perhaps a "
                   "safetensors file written by another library).")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta_block.items()):
        fail(name, "the safetensors __metadata__ must map strings to strings.")

    data_size = size - 8 - n_header
    entries = _check_entries(header, data_size, name)
    data = file.read(data_size)
    if len(data) != data_size:
        fail(name, "the file ended while reading the tensor data (truncated).")
    tensors = {
        tensor: np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=begin
                              ).reshape(shape)
        for tensor, (dtype, shape, begin) in entries.items()
    }
    return meta_block[key], tensors


def parse_json(raw, name, what):
    """JSON from bytes or str, refusing duplicate keys, invalid UTF-8 and deep nesting."""
    def no_duplicates(pairs):
        result = {}
        for key, value in pairs:
            if key in result:
                fail(name, f"the {what} repeats the key {key!r}; the file was altered.")
            result[key] = value
        return result

    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text, object_pairs_hook=no_duplicates)
    except ModelFileError:
        raise  # a duplicate key, raised from inside the parser: not to be wrapped again
    except UnicodeDecodeError:
        fail(name, f"the {what} is not UTF-8 text; this is not a numnet model file.")
    except RecursionError:
        fail(name, f"the {what} is nested too deeply.")
    except ValueError as error:  # json.JSONDecodeError, and over-long integers
        fail(name, f"the {what} is not valid JSON ({error}); the file is corrupted or not "
                   "a numnet model file.")


def _check_entries(header, data_size, name):
    """Validate every tensor entry against the data size; nothing is allocated here."""
    entries, spans = {}, []
    for key, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            fail(name, f"tensor {key!r} must have exactly the fields dtype, shape and "
                       "data_offsets.")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(code, str) or code not in DTYPES:
            fail(name, f"tensor {key!r} has dtype {code!r}, which is not one of "
                       f"{sorted(DTYPES)}.")
        if (not isinstance(shape, list) or len(shape) > MAX_NDIM
                or not all(is_count(n) for n in shape)):
            fail(name, f"tensor {key!r} has shape {shape!r}; a shape must be a list of at most "
                       f"{MAX_NDIM} integers >= 0.")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(is_count(n) for n in offsets) or offsets[0] > offsets[1]
                or offsets[1] > data_size):
            fail(name, f"tensor {key!r} has data_offsets {offsets!r}, outside the "
                       f"{data_size} bytes of data (truncated or altered file).")
        n_bytes = math.prod(shape) * DTYPES[code].itemsize
        if offsets[1] - offsets[0] != n_bytes:
            fail(name, f"tensor {key!r} declares shape {shape} of {code} ({n_bytes} bytes) but "
                       f"data_offsets span {offsets[1] - offsets[0]} bytes; the file was altered.")
        entries[key] = (DTYPES[code], tuple(shape), offsets[0])
        spans.append(tuple(offsets))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            fail(name, "the tensor data overlaps or has gaps; the file was altered.")
        position = end
    if position != data_size:
        fail(name, f"the header accounts for {position} bytes of tensor data, but the file "
                   f"holds {data_size}; the file is truncated or has extra bytes.")
    return entries


def is_count(value):
    """An int (not a bool) >= 0."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
