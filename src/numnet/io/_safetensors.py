"""A bounded, validating reader for safetensors files (model files and checkpoints).

The format (https://github.com/huggingface/safetensors)::

    8 bytes     N, the header length (unsigned little-endian 64-bit integer)
    N bytes     JSON header: {"__metadata__": {str: str}, "<tensor name>": {"dtype": "F64",
                "shape": [4, 8], "data_offsets": [begin, end]}, ...}
    the rest    the raw little-endian bytes of every tensor, back to back

:func:`read` trusts nothing: the header length is bounded before the header is read, the JSON
must be UTF-8 without duplicate keys or deep nesting, and every tensor's dtype, shape and byte
range is checked against the bytes actually present before an array is created. Tensors are
read one by one, only those a caller asks for (:class:`Container`), so a load's memory follows
the object it builds, not the file's size. Only regular files are opened
(:func:`open_regular`). Every problem raises :class:`ModelFileError` naming the file.
"""

import codecs
import json
import math
import os
import stat

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


def describe_mode(mode):
    """What a non-regular file is, for messages: "a folder", "a FIFO (named pipe)", ..."""
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def open_regular(path, *, what="numnet model file"):
    """Open ``path`` for binary reading; refuse anything but a regular file before it can block.

    A FIFO would block ``open()`` until a writer appears, and a device never ends; both are
    refused from ``stat`` before opening, and again from ``fstat`` after a non-blocking open (in
    case the path was swapped in between). A missing file raises FileNotFoundError.
    """
    name = os.fspath(path)
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        fail(name, f"it is {describe_mode(mode)}, not a {what}.")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    file = os.fdopen(fd, "rb")
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        file.close()
        fail(name, f"it is {describe_mode(mode)}, not a {what}.")
    return file


def read_path(path, key, *, what="numnet model file"):
    """:func:`read` on the file at ``path`` (a regular file only)."""
    with open_regular(path, what=what) as file:
        return read(file, os.fstat(file.fileno()).st_size, os.fspath(path), key, what=what)


def read(file, size, name, key, *, what="numnet model file"):
    """Parse and check a whole safetensors file of ``size`` bytes (see :class:`Container`).

    Returns
    -------
    text : str
        ``__metadata__[key]``.
    tensors : dict of str to ndarray
        Every tensor, as a new writable array in the file's byte order (little-endian).
    """
    container = Container(file, size, name, key, what=what)
    return container.text, container.read(container.entries)


def _looks_like_text(raw):
    """Whether the first bytes of a file are printable text (a CSV, JSON, a script, ...)."""
    try:  # the cut may fall inside a character: decode incrementally, leaving it out
        text = codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
    except UnicodeDecodeError:
        return False
    return bool(text) and all(c.isprintable() or c in "\t\r\n" for c in text)


class Container:
    """The checked header of a safetensors file; tensors are read only when asked for.

    The header length is bounded before the header is read, the JSON must be UTF-8 without
    duplicate keys or deep nesting, and every tensor's dtype, shape and byte range is checked
    against the bytes actually present. No tensor byte is read here: :meth:`read` reads the
    tensors a caller needs, so that the memory a load takes follows the object, not the size
    of the file (a forged file cannot make it read gigabytes it does not use).

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

    Attributes
    ----------
    text : str
        ``__metadata__[key]``.
    entries : dict of str to (dtype, shape, begin)
        Every tensor the header declares.
    """

    def __init__(self, file, size, name, key, *, what="numnet model file"):
        self.file, self.name = file, name
        if size < 8:
            fail(name, f"the file has {size} bytes, too short for a model file (truncated or "
                       "not a model file).")
        first = file.read(8)
        n_header = int.from_bytes(first, "little")
        if n_header > MAX_HEADER_BYTES and _looks_like_text(first + file.read(504)):
            fail(name, f"this is not a {what} (it looks like text/CSV).")
        if n_header > MAX_HEADER_BYTES:
            fail(name, f"the header length field says {n_header} bytes, more than the "
                       f"{MAX_HEADER_BYTES} a {what} may have; this is not a {what} (or it is "
                       "corrupted).")
        if n_header > size - 8:
            fail(name, f"the header length field says {n_header} bytes, but the file has only "
                       f"{size - 8} after it; the file is truncated or not a model file.")
        file.seek(8)
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
        self.text = meta_block[key]
        self.data_start = 8 + n_header
        self.entries = _check_entries(header, size - self.data_start, name)

    def read(self, keys, digest=None):
        """{key: array} for ``keys``, read in sorted order; each array is new and writable.

        With ``digest`` (a hashlib object), each tensor's name, dtype code, shape and bytes
        are fed to it in that order, as ``numnet.io`` computes its checksum.
        """
        tensors = {}
        for key in sorted(keys):
            dtype, shape, begin = self.entries[key]
            array = np.empty(shape, dtype=dtype)
            view = memoryview(array.reshape(-1).view(np.uint8))
            self.file.seek(self.data_start + begin)
            done = 0
            while done < len(view):
                count = self.file.readinto(view[done:done + _CHUNK])
                if not count:
                    fail(self.name, "the file ended while reading the tensor data (truncated).")
                done += count
            if digest is not None:
                digest.update(json.dumps([key, CODES[dtype], list(shape)]).encode())
                digest.update(view)
            tensors[key] = array
        return tensors


_CHUNK = 2**24


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
