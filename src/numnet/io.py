"""Model files: numnet objects saved as safetensors arrays plus JSON metadata, never pickle.

A model file is one `safetensors <https://github.com/huggingface/safetensors>`_ file::

    8 bytes     N, the header length (unsigned little-endian 64-bit integer)
    N bytes     JSON header: {"__metadata__": {"numnet": "<JSON metadata>"},
                              "<tensor name>": {"dtype": "F64", "shape": [4, 8],
                                                "data_offsets": [begin, end]}, ...}
    the rest    the raw little-endian bytes of every tensor, back to back

The numnet metadata is a JSON document::

    {"format": "numnet", "format_version": 1, "numnet_version": "0.1.0",
     "kind": "sequential" | "estimator" | "pipeline" | "checkpoint", "object": {...},
     "sha256": "..."}

``object`` describes the saved object as plain data (architecture from
``Sequential.get_config()``, hyperparameters from ``get_params()``, fitted attributes, the
preprocessing of a pipeline, ``History.to_dict()``). Arrays appear in it as references
``{"__numnet__": "ndarray", "key": "<tensor name>"}``.

Loading never executes code from the file: the container is read by the bounded, validating
reader in ``numnet._safetensors`` (every tensor entry is checked against the file size before
anything is allocated), the checksum must match, the architecture's
parameter shapes are computed from the configuration and compared with the tensors before the
network is built, and objects are only created from a fixed list of numnet classes. Every
problem raises :class:`ModelFileError`.
"""

import dataclasses
import errno
import hashlib
import json
import math
import os
import re
import secrets
import stat
import time
import types
import warnings
from pathlib import Path

import numpy as np

from . import __version__, _safetensors
from ._safetensors import (
    CODES,
    DTYPES,
    MAX_HEADER_BYTES,
    MAX_NDIM,
    ModelFileError,
    is_count,
    parse_json,
)
from ._safetensors import fail as _fail
from .layers import LAYERS
from .network import Sequential
from .training import History

FORMAT_NAME = "numnet"
FORMAT_VERSION = 1
MAX_LAYERS = 4096
MAX_FREE_WIDTH = 2**20
MAX_DEPTH = 100
"""Deepest nesting of lists and objects in a file's object description (``object``)."""
MAX_STR_BYTES = 4 * MAX_HEADER_BYTES
"""Largest NumPy string array (fixed width, 4 bytes a character) a model file may describe.

A file gets less: its string arrays together may take at most 4 bytes for each character of
its metadata (plus 64 KiB), so that a forged width cannot make a small file allocate much."""

_TAG = "__numnet__"
_FLOATS = {"float32": np.float32, "float64": np.float64}


def save(obj, path) -> None:
    """Save a Sequential, a fitted numnet estimator or a tabular pipeline to ``path``.

    The write is atomic: the bytes go to a temporary file in the same folder, which then
    replaces ``path`` (``os.replace``), so a crash never leaves a half-written model.

    Parameters
    ----------
    obj : Sequential, numnet estimator or numnet.pipeline.TabularPipeline
    path : str or os.PathLike

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from numnet import Dense, ReLU, Sequential
    >>> net = Sequential([Dense(3), ReLU(), Dense(1)]).build(2, random_state=0)
    >>> path = Path(tempfile.mkdtemp()) / "net.numnet"
    >>> save(net, path)
    >>> X = np.ones((1, 2))
    >>> bool(np.array_equal(load(path).forward(X), net.forward(X)))
    True
    """
    check_output(path)
    atomic_write(path, dumps(obj))


def load(path):
    """Load an object saved by :func:`save`; no code from the file is ever executed.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Sequential, numnet estimator or numnet.pipeline.TabularPipeline

    Raises
    ------
    ModelFileError
        When the file is truncated, altered, not a numnet model file (a folder, a FIFO or a
        device included: only regular files are opened), or written by a newer file format.
        OSError (FileNotFoundError, PermissionError) when it cannot be read at all.
    """
    metadata, tensors = _read_path(path)
    return _build(metadata, tensors, _name(path))


def dumps(obj) -> bytes:
    """The bytes of the model file :func:`save` writes for ``obj``."""
    writer = _Writer()
    kind, encoded = writer.top(obj)
    if _nesting(encoded) > MAX_DEPTH:
        raise ValueError(f"the object's description must nest at most {MAX_DEPTH} levels of "
                         "lists and dicts to be saved, got more. Flatten deeply nested "
                         "hyperparameters or attributes.")
    budget = min(MAX_STR_BYTES, 4 * len(json.dumps(encoded)) + 2**16)
    if writer.str_bytes > budget:
        key, n_items, width, _ = writer.largest_str_array
        raise ValueError(
            f"string arrays must take at most {budget} bytes in this model file (4 bytes for "
            f"each character of its metadata), got {writer.str_bytes}: {key} holds {n_items} "
            f"strings padded to {width} characters. Store it as an object array "
            "(array.astype(object)) or shorten its longest string."
        )
    return _pack(kind, encoded, writer.tensors)


def _pack(kind, encoded, tensors):
    """A numnet file of ``kind`` from its JSON object description and its tensors."""
    metadata = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "numnet_version": __version__,
        "kind": kind, "object": encoded, "sha256": _checksum(kind, encoded, tensors),
    }
    text = json.dumps(metadata, separators=(",", ":"))
    data = _safetensors.write(tensors, {FORMAT_NAME: text})
    n_header = int.from_bytes(data[:8], "little")
    if n_header > MAX_HEADER_BYTES:
        longest = _longest_string(encoded)
        raise ValueError(
            f"the model file's header must be at most {MAX_HEADER_BYTES} bytes, got {n_header}"
            f" (the longest text in it has {len(longest)} characters: {longest[:20]!r}...). "
            "Shorten such labels or category names, or leave that column out; nothing was "
            "written."
        )
    _verify(data, kind)
    return data


def _verify(data, kind):
    """Load the bytes about to be written: a file that numnet.load would refuse is never saved.

    The writer enforces the reader's limits itself (header size, nesting, string arrays,
    layers, dimensions) with its own messages; this catches whatever else does not load back.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "checkpoint":
                from .checkpoint import loads_state

                loads_state(data, name="<new file>")
            else:
                loads(data, name="<new file>")
    except ModelFileError as error:
        detail = str(error).removeprefix("Cannot load '<new file>': ")
        raise ValueError(f"numnet cannot save this {kind}: the file would not load back "
                         f"({detail}); nothing was written.") from None


def _longest_string(obj):
    """The longest str in a JSON-able object (for the message about an oversized header)."""
    longest, stack = "", [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, str) and len(value) > len(longest):
            longest = value
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return longest


def _nesting(obj):
    """How deeply lists and objects nest in a JSON-able object (a scalar is 0)."""
    deepest, stack = 0, [(obj, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return deepest


def loads(data: bytes, *, name="<bytes>"):
    """Load an object from the bytes of a model file (see :func:`load`)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}.")
    data = bytes(data)
    import io

    metadata, tensors = _read(io.BytesIO(data), len(data), name)
    return _build(metadata, tensors, name)


def read_metadata(path) -> dict:
    """The validated JSON metadata of a model file, plus ``"tensors"``: name -> (dtype, shape).

    Reads and checks the whole file, but builds no object.
    """
    metadata, tensors = _read_path(path)
    metadata = dict(metadata)
    metadata["tensors"] = {
        key: (array.dtype.name, list(array.shape)) for key, array in tensors.items()
    }
    return metadata


class OutputError(OSError):
    """A file cannot be written where asked; the message names the path.

    The folder is missing, the path is a folder, a device or a FIFO, the output is one of the
    inputs, or the write itself failed (disk full, read-only file system, permission). An old
    file at the path is left as it was.
    """


_STARTED = time.time()  # stale temporary files are those older than this process
_REASONS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
            errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
            errno.EPERM: "permission denied", errno.ENAMETOOLONG: "the name is too long",
            errno.ELOOP: "it is a loop of symbolic links"}


def _reason(error):
    text = _REASONS.get(error.errno) or (error.strerror or str(error))
    return text[:1].lower() + text[1:]


def check_output(path, *, inputs=()):
    """The regular file that writing ``path`` will create or replace, checked before any work.

    A symbolic link is followed: its target is written (replaced atomically) and the link is
    kept. Refused with :class:`OutputError`: a path that is a folder, a FIFO, a device or a
    socket; a folder that does not exist or cannot be written; a path that is the same file as
    one of ``inputs`` (paths of files read by the same command; ``"-"`` and missing ones are
    skipped). An empty path is a ValueError.

    Returns
    -------
    pathlib.Path
        The file to write, symbolic links resolved.
    """
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if text == "":
        raise ValueError("path must name a file to write, got ''. Pass a file name such as "
                         "'model.numnet'.")
    destination = Path(os.path.realpath(text))
    try:
        mode = os.stat(destination).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise OutputError(f"Cannot write {text!r}: {_reason(error)}.") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"Cannot write {text!r}: it is a folder. Name a file to write, "
                          f"e.g. {os.path.join(text, 'model.numnet')!r}.")
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"Cannot write {text!r}: it is {_safetensors.describe_mode(mode)}; "
                          "numnet writes only regular files. Choose a file path.")
    folder = destination.parent
    shown = os.path.dirname(text) or "."
    if os.path.islink(text):
        shown = str(folder)
    try:
        folder_mode = os.stat(folder).st_mode
    except FileNotFoundError:
        raise OutputError(f"Cannot write {text!r}: the folder {shown!r} does not exist. "
                          "Create it first.") from None
    except OSError as error:
        raise OutputError(f"Cannot write {text!r}: {_reason(error)}.") from None
    if not stat.S_ISDIR(folder_mode):
        raise OutputError(f"Cannot write {text!r}: {shown!r} is not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):
            read_only = False
        reason = ("the file system is read-only" if read_only
                  else f"permission denied (the folder {shown!r} is not writable)")
        raise OutputError(f"Cannot write {text!r}: {reason}.")
    if mode is not None:
        for source in inputs:
            if source is None or os.fspath(source) in ("", "-"):
                continue
            try:
                same = os.path.samefile(source, destination)
            except OSError:
                continue
            if same:
                raise OutputError(
                    f"Cannot write {text!r}: it is the input file {os.fspath(source)!r}, which "
                    "would be replaced. Choose another output path."
                )
    return destination


def check_folder(directory):
    """Check that ``directory`` is, or can be created as, a writable folder; OutputError if not.

    The nearest existing folder on its path must be writable (the rest is created on the first
    save).
    """
    text = os.fspath(directory)
    existing = Path(os.path.realpath(text or "."))
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "it is" if existing == Path(os.path.realpath(text or ".")) else (
            f"{str(existing)!r} is")
        raise OutputError(f"Cannot write {text!r}: {where} not a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):
            read_only = False
        reason = ("the file system is read-only" if read_only
                  else f"permission denied (the folder {str(existing)!r} is not writable)")
        raise OutputError(f"Cannot write {text!r}: {reason}.")


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Readers see either the old file or the complete new one, never a partial write. The path
    is checked first (:func:`check_output`; a symbolic link is followed to its target), and a
    failed write (disk full, read-only file system, permission) raises :class:`OutputError`
    with the old file intact and the temporary file removed.

    The temporary file is ``.<name>.<pid>-<hex>.tmp``. A process killed with SIGKILL cannot
    remove its own; the next write to the same path removes those whose process is gone and
    that are older than the writing process, so they never pile up.
    """
    destination = check_output(path)
    text = os.fspath(path)
    _remove_stale_temporaries(destination)
    temp = destination.with_name(
        f".{destination.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    existed = destination.exists()
    try:
        # os.open with mode 0o666 lets the umask decide the permissions, as open() would.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, destination)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as error:
        kept = "; the old file is unchanged" if existed else ""
        raise OutputError(f"Cannot write {text!r}: {_reason(error)}{kept}.") from error


def _remove_stale_temporaries(destination):
    """Remove ``.<name>.<pid>-<hex>.tmp`` files left by writers that were killed."""
    pattern = re.compile(rf"\.{re.escape(destination.name)}\.(\d+)-[0-9a-f]{{8}}\.tmp")
    try:
        names = os.listdir(destination.parent)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or int(match[1]) == os.getpid() or _running(int(match[1])):
            continue
        stale = destination.parent / name
        try:
            if stale.lstat().st_mtime < _STARTED and stat.S_ISREG(stale.lstat().st_mode):
                stale.unlink()
        except OSError:
            pass  # another writer removed it first, or it cannot be removed: harmless


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or not a pid at all: leave the file alone
    return True


# ---------------------------------------------------------------------------------- writing


class _Writer:
    """Turns an object into JSON-able metadata, collecting its arrays in ``tensors``."""

    def __init__(self):
        self.tensors = {}
        self.str_bytes = 0  # what the reader's string-array budget will count
        self.largest_str_array = None

    def top(self, obj):
        from .pipeline import TabularPipeline

        if isinstance(obj, Sequential):
            return "sequential", self.sequential(obj, "")
        if isinstance(obj, TabularPipeline):
            return "pipeline", self.pipeline(obj)
        if type(obj).__name__ in _estimator_classes() and isinstance(
            obj, _estimator_classes()[type(obj).__name__]
        ):
            return "estimator", self.estimator(obj, "")
        raise TypeError(
            "obj must be a numnet Sequential, a numnet estimator (LinearRegression, "
            "LogisticRegression, MLPRegressor, MLPClassifier) or a TabularPipeline, "
            f"got {type(obj).__name__}."
        )

    def array(self, key, value):
        dtype = value.dtype.newbyteorder("<") if value.dtype.itemsize > 1 else value.dtype
        if dtype not in CODES:
            raise TypeError(f"{key} has dtype {value.dtype}, which a model file cannot hold.")
        # ascontiguousarray makes a 0-d array 1-d: reshape keeps the shape
        self.tensors[key] = np.ascontiguousarray(value, dtype=dtype).reshape(value.shape)
        return {_TAG: "ndarray", "key": key}

    def sequential(self, net, prefix):
        if not net.built:
            raise ValueError(
                "Sequential is not built yet; call build(n_in) (or fit an estimator) before "
                "saving it."
            )
        if len(net.layers) > MAX_LAYERS:
            raise ValueError(f"a saved network must have at most {MAX_LAYERS} layers, got "
                             f"{len(net.layers)}.")
        if net.params.size == 0 and net.n_in > MAX_FREE_WIDTH:
            raise ValueError(f"n_in must be at most {MAX_FREE_WIDTH} to save a network without "
                             f"parameters, got {net.n_in}.")
        if not np.all(np.isfinite(net.params)):
            raise ValueError(
                "The network has non-finite parameters (NaN or infinity) and cannot be saved. "
                "Training diverged: lower the learning rate or scale the features, then retrain."
            )
        for name, value in net.named_parameters().items():
            self.array(prefix + name, value)
        return {_TAG: "sequential", "prefix": prefix, "config": net.get_config(),
                "n_in": net.n_in, "dtype": net.dtype.name}

    def estimator(self, est, prefix):
        params = est.get_params(deep=False)
        attributes = {
            name: value for name, value in vars(est).items()
            if name.endswith("_") and not name.startswith("_")
        }
        return {
            _TAG: "estimator", "class": type(est).__name__,
            "params": {k: self.value(v, f"{prefix}params.{k}", hyper=True)
                       for k, v in params.items()},
            "attributes": {k: self.value(v, prefix + k) for k, v in attributes.items()},
        }

    def pipeline(self, pipe):
        state = pipe.get_state()
        return {_TAG: "pipeline", "state": state,
                "estimator": self.estimator(pipe.estimator, "estimator/")}

    def value(self, value, key, *, hyper=False):
        """Encode one value; ``hyper`` (hyperparameters) allows plain data only."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return {_TAG: "scalar", "dtype": value.dtype.name, "value": value.item()}
        if isinstance(value, np.str_):
            return str(value)
        if isinstance(value, list):
            return [self.value(v, f"{key}.{i}", hyper=hyper) for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {_TAG: "tuple",
                    "items": [self.value(v, f"{key}.{i}", hyper=hyper)
                              for i, v in enumerate(value)]}
        if isinstance(value, dict) and all(isinstance(k, str) and k != _TAG for k in value):
            return {k: self.value(v, f"{key}.{k}", hyper=hyper) for k, v in value.items()}
        if isinstance(value, dict):
            return {_TAG: "dict",
                    "items": [[self.value(k, f"{key}.key", hyper=hyper),
                               self.value(v, f"{key}.{k}", hyper=hyper)]
                              for k, v in value.items()]}
        if not hyper:
            if isinstance(value, np.ndarray):
                return self.ndarray(value, key)
            if isinstance(value, Sequential):
                return self.sequential(value, key + "/")
            if isinstance(value, History):
                return {_TAG: "history", "value": self.value(value.to_dict(), key)}
        what = "hyperparameter" if hyper else "fitted attribute"
        name = key.rsplit("params.", 1)[-1] if hyper else key.rsplit("/", 1)[-1]
        raise TypeError(
            f"{what} {name} must be plain data (None, bool, int, float, str, or lists, tuples "
            f"and dicts of them) to be saved, got {type(value).__name__}."
            + (" Pass an int seed as random_state instead of a generator." if
               name == "random_state" else "")
        )

    def ndarray(self, value, key):
        if value.ndim > MAX_NDIM:
            raise ValueError(f"fitted attribute {key} must have at most {MAX_NDIM} dimensions "
                             f"to be saved, got {value.ndim}.")
        if value.dtype.kind in "biuf":
            encoded = self.array(key, value)
            if not value.flags.writeable:
                encoded["read_only"] = True
            return encoded
        if value.dtype.kind in "UO":
            items = value.ravel().tolist()
            for item in items:
                if not (item is None or isinstance(item, (bool, int, float, str))):
                    raise TypeError(
                        f"fitted attribute {key} holds a {type(item).__name__}; a model file "
                        "can hold arrays of numbers and of strings only."
                    )
            encoded = {_TAG: "object_array" if value.dtype.kind == "O" else "str_array",
                       "shape": list(value.shape), "items": items}
            if value.dtype.kind == "U":
                encoded["width"] = value.dtype.itemsize // 4  # '<U7' holds 7 characters
                n_bytes = len(items) * max(encoded["width"], 1) * 4
                self.str_bytes += n_bytes
                if self.largest_str_array is None or n_bytes > self.largest_str_array[3]:
                    self.largest_str_array = (key, len(items), encoded["width"], n_bytes)
            return encoded
        raise TypeError(f"fitted attribute {key} has dtype {value.dtype}, which a model file "
                        "cannot hold.")


# Fitted attributes whose type the estimators guarantee (history_ is None before training).
_ATTRIBUTE_TYPES = {"network_": (Sequential,), "history_": (History, type(None)),
                    "classes_": (np.ndarray,)}


def _estimator_classes():
    """Estimator classes a model file may name: the public ones in numnet.estimators."""
    try:
        from . import estimators
    except ImportError:  # pragma: no cover - the estimators package is part of numnet
        return {}
    from sklearn.base import BaseEstimator

    names = getattr(estimators, "__all__", ())
    return {
        name: getattr(estimators, name) for name in names
        if isinstance(getattr(estimators, name, None), type)
        and issubclass(getattr(estimators, name), BaseEstimator)
    }


# ---------------------------------------------------------------------------------- reading


def _name(path):
    return os.fspath(path)


def _read_path(path):
    with _safetensors.open_regular(path) as file:
        return _read(file, os.fstat(file.fileno()).st_size, _name(path))


def _read(file, size, name):
    """(metadata, tensors) of a model file or checkpoint, every part checked.

    The order bounds what a forged file can cost: the header and the metadata are checked
    first; then the tensors the metadata uses are worked out from it, and a file holding any
    other tensor is refused before a byte of tensor data is read; then the tensors are read
    one by one into their own arrays while the checksum is computed over them.
    """
    container = _safetensors.Container(file, size, name, FORMAT_NAME)
    metadata = _check_metadata(container.text, name)
    used = _used_tensors(metadata["object"], name)
    missing = sorted(used - set(container.entries))
    if missing:
        _fail(name, f"the metadata refers to a tensor {missing[0]!r} that the file does not "
                    "hold.")
    unused = sorted(set(container.entries) - used)
    if unused:
        _fail(name, f"the file holds tensors that the metadata never uses: {unused[:5]}; the "
                    "file was altered.")
    digest = _object_digest(metadata["kind"], metadata["object"])
    tensors = container.read(container.entries, digest)
    if metadata["sha256"] != digest.hexdigest():
        _fail(name, "the sha256 checksum does not match the contents; the file was altered or "
                    "corrupted.")
    return metadata, tensors


def _used_tensors(obj, name):
    """Names of the tensors an object description refers to, found without reading any.

    Arrays are ``{"__numnet__": "ndarray", "key": ...}`` entries; a Sequential's parameters
    follow from its architecture (the same plan the reader checks the tensors against).
    """
    used, stack = set(), [(obj, 0)]
    reader = _Reader({}, name)
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            _fail(name, "the metadata is nested too deeply.")
        if isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, dict):
            tag = value.get(_TAG)
            if tag == "ndarray" and isinstance(value.get("key"), str):
                used.add(value["key"])
            elif tag == "sequential":
                try:
                    used.update(reader.plan_sequential(value)[-1])
                except ModelFileError:
                    raise
                except (TypeError, ValueError, KeyError, AttributeError, IndexError,
                        OverflowError, RecursionError) as error:
                    _fail(name, f"the metadata does not describe a valid numnet object: {error}")
            stack.extend((item, depth + 1) for item in value.values())
    return used


def _object_digest(kind, obj):
    """A sha256 object fed with the object description (the tensors follow, by name)."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"kind": kind, "object": obj}, sort_keys=True,
                             separators=(",", ":")).encode())
    return digest


def _checksum(kind, obj, tensors):
    """SHA-256 of the object description and every tensor (name, dtype, shape and bytes).

    It catches accidental corruption (bit rot, a bad copy) that would otherwise change weights
    silently. It is no signature: a deliberate forger can recompute it, which is why loading
    validates everything else as well.
    """
    digest = _object_digest(kind, obj)
    for key in sorted(tensors):
        array = tensors[key]
        digest.update(json.dumps([key, CODES[array.dtype], list(array.shape)]).encode())
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return digest.hexdigest()


def _check_metadata(text, name):
    """The numnet metadata of a file, checked (versions, fields); the checksum comes later."""
    metadata = parse_json(text, name, "numnet metadata")
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        _fail(name, "the metadata does not name the numnet format.")
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        _fail(name, f"format_version must be an integer >= 1, got {version!r}.")
    if version > FORMAT_VERSION:
        _fail(name, f"it was written by numnet {metadata.get('numnet_version')!s} in file format "
                    f"version {version}, but this numnet ({__version__}) reads format version "
                    f"{FORMAT_VERSION} at most. Upgrade numnet (pip install -U numnet).")
    for key in ("numnet_version", "kind", "sha256"):
        if not isinstance(metadata.get(key), str):
            _fail(name, f"the metadata field {key!r} is missing or not a string.")
    if metadata["kind"] not in ("sequential", "estimator", "pipeline", "checkpoint"):
        _fail(name, "kind must be one of {'checkpoint', 'estimator', 'pipeline', 'sequential'}, "
                    f"got {metadata['kind']!r}.")
    if not isinstance(metadata.get("object"), dict):
        _fail(name, "the metadata field 'object' is missing or not an object.")
    return metadata


def _matches(value, annotation):
    """Whether a JSON value fits a History field's annotation (list means a list of numbers)."""
    if isinstance(annotation, types.UnionType):
        return any(_matches(value, option) for option in annotation.__args__)
    if annotation is list:
        return isinstance(value, list) and all(_is_number(v) for v in value)
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return _is_number(value)
    if annotation is str:
        return isinstance(value, str)
    return value is None or isinstance(value, (bool, int, float, str, list))


def _is_name(value, names):
    """``value in names`` for an untrusted value, which may be unhashable."""
    return isinstance(value, str) and value in names


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------------- building


def _build(metadata, tensors, name):
    budget = min(MAX_STR_BYTES, 4 * len(json.dumps(metadata["object"])) + 2**16)
    reader = _Reader(tensors, name, str_budget=budget)
    if metadata["kind"] == "checkpoint":
        _fail(name, "it is a training checkpoint, not a model. Resume the run from it with "
                    "numnet train ... --checkpoint-dir DIR --resume, or in Python with "
                    "train(..., checkpoint=numnet.Checkpoint(DIR), resume=True).")
    try:
        kind, spec = metadata["kind"], metadata["object"]
        if spec.get(_TAG) != kind:
            _fail(name, f"the object is tagged {spec.get(_TAG)!r}, but the file kind is "
                        f"{kind!r}.")
        obj = {"sequential": reader.sequential, "estimator": reader.estimator,
               "pipeline": reader.pipeline}[kind](spec)
    except ModelFileError:
        raise
    except RecursionError:
        _fail(name, "the metadata is nested too deeply.")
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError) as error:
        # Constructors and set_params validate what the file holds; report it as a bad file.
        _fail(name, f"the metadata does not describe a valid numnet object: {error}")
    unused = sorted(set(tensors) - reader.used)
    if unused:
        _fail(name, f"the file holds tensors that the metadata never uses: {unused[:5]}; the "
                    "file was altered.")
    return obj


class _Reader:
    """Rebuilds objects from metadata, checking every field before it is trusted."""

    def __init__(self, tensors, name, str_budget=MAX_STR_BYTES):
        self.tensors, self.name, self.used = tensors, name, set()
        self.str_budget = str_budget

    def fail(self, detail):
        _fail(self.name, detail)

    def tensor(self, key):
        if not isinstance(key, str) or key not in self.tensors:
            self.fail(f"the metadata refers to a tensor {key!r} that the file does not hold.")
        if key in self.used:
            self.fail(f"the tensor {key!r} is used twice; the file was altered.")
        self.used.add(key)
        return self.tensors[key]

    def fields(self, spec, required, where, optional=()):
        """The required fields of a metadata object that has no fields beyond these."""
        allowed = {_TAG, *required, *optional}
        if (not isinstance(spec, dict) or not set(required) <= set(spec)
                or not set(spec) <= allowed):
            self.fail(f"{where} must be an object with the fields {sorted(required)}"
                      + (f" (and optionally {sorted(optional)})" if optional else "") + ".")
        return [spec[key] for key in required]

    def plan_sequential(self, spec):
        """(prefix, dtype, n_in, unbuilt net, {tensor name: shape}) of a Sequential entry.

        The parameter shapes follow from the architecture alone; they are compared with the
        tensors before build() allocates anything, so a forged width cannot exhaust memory.
        """
        prefix, config, n_in, dtype = self.fields(
            spec, ["prefix", "config", "n_in", "dtype"], "a Sequential entry"
        )
        if not isinstance(prefix, str):
            self.fail("a Sequential prefix must be a string.")
        if not _is_name(dtype, _FLOATS):
            self.fail(f"dtype must be one of {{'float32', 'float64'}}, got {dtype!r}.")
        if not is_count(n_in) or n_in < 1:
            self.fail(f"n_in must be an integer >= 1, got {n_in!r}.")
        layer_specs = config.get("layers") if isinstance(config, dict) else None
        if not isinstance(layer_specs, list) or len(layer_specs) > MAX_LAYERS:
            self.fail(f"the architecture must be an object with a list of at most {MAX_LAYERS} "
                      "layers.")
        for spec_ in layer_specs:
            if (not isinstance(spec_, dict) or not _is_name(spec_.get("class"), LAYERS)
                    or not isinstance(spec_.get("config"), dict)):
                self.fail(f"each layer must be {{'class': one of {sorted(LAYERS)}, 'config': "
                          f"{{...}}}}, got {spec_!r:.200}.")
        net = Sequential.from_config(config)
        width, expected = n_in, {}
        for index, layer in enumerate(net.layers):
            for pname, shape in layer.param_shapes(width).items():
                expected[f"{prefix}{index}.{pname}"] = tuple(shape)
            width = layer.output_dim(width)
        if not expected and n_in > MAX_FREE_WIDTH:
            # no tensor pins the width of a network without parameters: bound it instead
            self.fail(f"n_in must be at most {MAX_FREE_WIDTH} for a network without "
                      f"parameters, got {n_in}.")
        return prefix, dtype, n_in, net, expected

    def sequential(self, spec):
        prefix, dtype, n_in, net, expected = self.plan_sequential(spec)
        arrays = {}
        for key, shape in expected.items():
            array = self.tensor(key)
            if array.dtype != np.dtype(_FLOATS[dtype]).newbyteorder("<"):
                self.fail(f"tensor {key!r} has dtype {array.dtype.name}, but the network is "
                          f"{dtype}.")
            if array.shape != shape:
                self.fail(f"tensor {key!r} has shape {array.shape}, but the architecture needs "
                          f"{shape}; the file was altered.")
            if not np.all(np.isfinite(array)):
                self.fail(f"tensor {key!r} holds NaN or infinity; a numnet model never has "
                          "non-finite weights.")
            arrays[key[len(prefix):]] = array
        net.build(n_in, dtype=_FLOATS[dtype], random_state=0)
        for pname, view in net.named_parameters().items():
            view[...] = arrays[pname]
        return net

    def estimator(self, spec):
        cls_name, params, attributes = self.fields(
            spec, ["class", "params", "attributes"], "an estimator entry"
        )
        classes = _estimator_classes()
        if not _is_name(cls_name, classes):
            self.fail(f"estimator class must be one of {sorted(classes)}, got {cls_name!r:.100}.")
        if not isinstance(params, dict) or not isinstance(attributes, dict):
            self.fail("an estimator's params and attributes must be JSON objects.")
        cls = classes[cls_name]
        est = cls()
        est.set_params(**{key: self.value(value, hyper=True) for key, value in params.items()})
        if hasattr(est, "_validate_params"):
            est._validate_params()  # the estimator's own checks, as fit would run them
        for key, value in attributes.items():
            if (not key.isidentifier() or not key.endswith("_") or key.startswith("_")
                    or hasattr(cls, key)):
                self.fail(f"{key!r:.100} is not a fitted attribute name of {cls_name}.")
            decoded = self.value(value)
            expected = _ATTRIBUTE_TYPES.get(key)
            if expected is not None and not isinstance(decoded, expected):
                self.fail(f"fitted attribute {key} must be a {expected[0].__name__}, got "
                          f"{type(decoded).__name__}.")
            setattr(est, key, decoded)
        self.check_predicts(est)
        return est

    def check_predicts(self, est):
        """Predict one row of zeros: fitted attributes that do not fit together fail here."""
        net, n_features = getattr(est, "network_", None), getattr(est, "n_features_in_", None)
        if net is None:
            return
        if not isinstance(net, Sequential) or not is_count(n_features) or n_features != net.n_in:
            self.fail(f"the estimator's n_features_in_ ({n_features!r:.50}) does not match its "
                      "network; the file was altered.")
        X = np.zeros((1, n_features), dtype=net.dtype)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.predict(X)
                n_classes = None
                if hasattr(est, "predict_proba") and hasattr(est, "classes_"):
                    n_classes = est.predict_proba(X).shape[1]
        except Exception as error:  # any failure means the state is inconsistent
            self.fail(f"the fitted {type(est).__name__} cannot predict ({type(error).__name__}: "
                      f"{error}); the file was altered.")
        if n_classes is not None and n_classes != len(est.classes_):
            self.fail(f"the fitted {type(est).__name__} has {len(est.classes_)} classes but its "
                      f"network predicts {n_classes}; the file was altered.")

    def pipeline(self, spec):
        from .pipeline import TabularPipeline

        state, est_spec = self.fields(spec, ["state", "estimator"], "a pipeline entry")
        if not isinstance(est_spec, dict) or est_spec.get(_TAG) != "estimator":
            self.fail("a pipeline must hold an estimator.")
        pipe = TabularPipeline.from_state(state, self.estimator(est_spec))
        self.check_pipeline(pipe)
        return pipe

    def check_pipeline(self, pipe):
        """The parts of a pipeline must fit together: its columns, features, task and estimator."""
        from sklearn.base import is_classifier

        columns = pipe.preprocessor.columns_
        names = [column["name"] for column in columns]
        repeated = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if repeated is not None:
            self.fail(f"the preprocessing lists the column {repeated!r} twice; the file was "
                      "altered.")
        if pipe.target in names:
            self.fail(f"the target column {pipe.target!r} is also an input column of the "
                      "preprocessing; the file was altered.")
        for column in columns:
            categories = column.get("categories") or []
            if len(set(categories)) != len(categories):
                self.fail(f"the column {column['name']!r} lists a category twice; the file was "
                          "altered.")
        estimator = pipe.estimator
        n_features = len(pipe.preprocessor.feature_names_out_)
        expected = getattr(estimator, "n_features_in_", None)
        if n_features != expected:
            self.fail(f"the preprocessing makes {n_features} features from "
                      f"{len(names)} columns, but the {type(estimator).__name__} expects "
                      f"{expected!r:.50}; the file was altered.")
        kind = "classifier" if is_classifier(estimator) else "regressor"
        if (pipe.task == "classification") != (kind == "classifier"):
            self.fail(f"the pipeline's task is {pipe.task!r}, but its estimator "
                      f"{type(estimator).__name__} is a {kind}; the file was altered.")

    def value(self, value, *, hyper=False):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.value(v, hyper=hyper) for v in value]
        if not isinstance(value, dict):
            self.fail(f"unexpected value {value!r:.100} in the metadata.")
        if _TAG not in value:
            return {k: self.value(v, hyper=hyper) for k, v in value.items()}
        if not isinstance(value[_TAG], str):
            self.fail(f"unexpected value {value!r:.100} in the metadata.")
        tag = value[_TAG]
        if tag == "tuple":
            (items,) = self.fields(value, ["items"], "a tuple")
            return tuple(self.value(v, hyper=hyper) for v in _as_list(items, self))
        if tag == "dict":
            (items,) = self.fields(value, ["items"], "a dict")
            pairs = [self.pair(item, hyper) for item in _as_list(items, self)]
            return dict(pairs)
        if tag == "scalar":
            dtype, item = self.fields(value, ["dtype", "value"], "a scalar")
            if not _is_name(dtype, {d.name for d in DTYPES.values()}) or not isinstance(
                item, (bool, int, float)
            ):
                self.fail(f"a scalar must be a number of a numeric dtype, got {value!r:.100}.")
            return np.dtype(dtype).type(item)
        if hyper:
            self.fail(f"a hyperparameter must be plain data, got a {tag!r:.50} entry.")
        if tag == "ndarray":
            (key,) = self.fields(value, ["key"], "an array", optional=["read_only"])
            array = self.tensor(key)  # a new array of its own (Container.read)
            if value.get("read_only") is True:
                array.setflags(write=False)
            return array
        if tag in ("str_array", "object_array"):
            optional = ["width"] if tag == "str_array" else []
            shape, items = self.fields(value, ["shape", "items"], "an array of strings",
                                       optional=optional)
            if (not isinstance(shape, list) or len(shape) > MAX_NDIM
                    or not all(is_count(n) for n in shape)
                    or not isinstance(items, list) or math.prod(shape) != len(items)
                    or not all(i is None or isinstance(i, (bool, int, float, str))
                               for i in items)):
                self.fail(f"an array of strings must have a valid shape and matching items, got "
                          f"{value!r:.100}.")
            if tag == "str_array":
                width = value.get("width", max((len(i) for i in items), default=1))
                n_bytes = len(items) * max(width, 1) * 4 if is_count(width) else None
                if n_bytes is None or n_bytes > self.str_budget or not all(
                        isinstance(i, str) and len(i) <= width for i in items):
                    self.fail("a string array must hold strings no longer than its width, and "
                              "the string arrays of a file at most 4 bytes for each character "
                              f"of its metadata ({self.str_budget} bytes here).")
                self.str_budget -= n_bytes
                return np.array(items, dtype=f"<U{max(width, 1)}").reshape(shape)
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.reshape(shape)
        if tag == "sequential":
            return self.sequential(value)
        if tag == "history":
            (fields,) = self.fields(value, ["value"], "a history")
            return History(**self.history_fields(self.value(fields)))
        self.fail(f"unknown entry type {tag!r:.50} in the metadata.")

    def history_fields(self, fields):
        known = {f.name: f.type for f in dataclasses.fields(History)}
        if not isinstance(fields, dict) or not set(fields) <= set(known):
            self.fail(f"a history must be an object with fields among {sorted(known)}.")
        for key, item in fields.items():
            if not _matches(item, known[key]):
                self.fail(f"the history field {key!r} has an invalid value {item!r:.100}.")
        return fields

    def pair(self, item, hyper):
        if not isinstance(item, list) or len(item) != 2:
            self.fail("a dict entry must be a [key, value] pair.")
        key = self.value(item[0], hyper=True)
        if isinstance(key, (list, dict)):
            self.fail("a dict key must be a number, a string or a tuple.")
        return key, self.value(item[1], hyper=hyper)


def _as_list(items, reader):
    if not isinstance(items, list):
        reader.fail("items must be a list.")
    return items
