"""Model files: numnet objects saved as safetensors arrays plus JSON metadata, never pickle.

A model file is one `safetensors <https://github.com/huggingface/safetensors>`_ file::

    8 bytes     N, the header length (unsigned little-endian 64-bit integer)
    N bytes     JSON header: {"__metadata__": {"numnet": "<JSON metadata>"},
                              "<tensor name>": {"dtype": "F64", "shape": [4, 8],
                                                "data_offsets": [begin, end]}, ...}
    the rest    the raw little-endian bytes of every tensor, back to back

The numnet metadata is a JSON document::

    {"format": "numnet", "format_version": 1, "numnet_version": "0.1.0",
     "kind": "sequential" | "estimator" | "pipeline" | "tabular_estimator" | "checkpoint",
     "object": {...},
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

import hashlib
import json
import os
import warnings

import numpy as np

from .._version import __version__
from . import _safetensors
from ._safetensors import CODES, MAX_HEADER_BYTES, ModelFileError, parse_json
from ._safetensors import fail as _fail
from .codec import MAX_DEPTH, MAX_STR_BYTES, TAG, Reader, Writer
from .files import atomic_write, check_output

FORMAT_NAME = "numnet"
FORMAT_VERSION = 1


def save(obj, path) -> None:
    """Save a Sequential, a fitted numnet estimator or a tabular pipeline to ``path``.

    The write is atomic: the bytes go to a temporary file in the same folder, which then
    replaces ``path`` (``os.replace``), so a crash never leaves a half-written model.

    Parameters
    ----------
    obj : Sequential, numnet estimator or numnet.tabular.TabularPipeline
    path : str or os.PathLike

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from numnet import Dense, ReLU, Sequential
    >>> net = Sequential([Dense(3), ReLU(), Dense(1)]).build(2, random_state=0)
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "net.numnet"
    >>> save(net, path)
    >>> X = np.ones((1, 2))
    >>> bool(np.array_equal(load(path).forward(X), net.forward(X)))
    True
    """
    check_output(path)
    atomic_write(path, dumps(obj))


def load(path):
    """Load a model file of the kinds registered so far; no code from the file is executed.

    :func:`numnet.load` registers every kind of numnet object first and documents the
    errors; use it unless the layers above the file layer must not be imported.
    """
    metadata, tensors = _read_path(path)
    return _build(metadata, tensors, _name(path))


def dumps(obj) -> bytes:
    """The bytes of the model file :func:`save` writes for ``obj``."""
    writer = Writer()
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
    return pack(kind, encoded, writer.tensors, loads)


def pack(kind, encoded, tensors, load_back):
    """A numnet file of ``kind`` from its JSON object description and its tensors.

    ``load_back(data, name=...)`` is the loader of that kind: the bytes must load with it
    before they are returned (a file numnet would refuse to load is never written).
    """
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
    _verify(data, kind, load_back)
    return data


def _verify(data, kind, load_back):
    """Load the bytes about to be written: a file that numnet.load would refuse is never saved.

    The writer enforces the reader's limits itself (header size, nesting, string arrays,
    layers, dimensions) with its own messages; this catches whatever else does not load back.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_back(data, name="<new file>")
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

    metadata, tensors = read(io.BytesIO(data), len(data), name)
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


def _name(path):
    return os.fspath(path)


def _read_path(path):
    with _safetensors.open_regular(path) as file:
        return read(file, os.fstat(file.fileno()).st_size, _name(path))


def read(file, size, name):
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
    reader = Reader({}, name)
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            _fail(name, "the metadata is nested too deeply.")
        if isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, dict):
            tag = value.get(TAG)
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
    if metadata["kind"] not in FILE_KINDS:
        _fail(name, "kind must be one of {'checkpoint', 'estimator', 'pipeline', 'sequential', "
                    f"'tabular_estimator'}}, got {metadata['kind']!r}.")
    if not isinstance(metadata.get("object"), dict):
        _fail(name, "the metadata field 'object' is missing or not an object.")
    return metadata



FILE_KINDS = ("sequential", "estimator", "pipeline", "tabular_estimator", "checkpoint")
"""The kinds of object a file may hold at its top level (``tabular_estimator``:
:class:`numnet.TabularClassifier` and :class:`numnet.TabularRegressor`)."""


def _build(metadata, tensors, name, reader_class=Reader):
    """The object a file's metadata describes, rebuilt by a ``reader_class``.

    A subclass of Reader may rebuild some kinds its own way (numnet.tabular.predictor:
    estimators for prediction only).
    """
    budget = min(MAX_STR_BYTES, 4 * len(json.dumps(metadata["object"])) + 2**16)
    reader = reader_class(tensors, name, str_budget=budget)
    if metadata["kind"] == "checkpoint":
        _fail(name, "it is a training checkpoint, not a model. Resume the run from it with "
                    "numnet train ... --checkpoint-dir DIR --resume, or in Python with "
                    "train(..., checkpoint=numnet.Checkpoint(DIR), resume=True).")
    try:
        kind, spec = metadata["kind"], metadata["object"]
        if spec.get(TAG) != kind:
            _fail(name, f"the object is tagged {spec.get(TAG)!r}, but the file kind is "
                        f"{kind!r}.")
        obj = reader.decode(kind, spec)
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

