"""Objects as JSON-able descriptions plus named arrays, and back: the model file's codec.

:class:`Writer` turns an object into plain data (``{"__numnet__": "<kind>", ...}`` entries)
and collects its arrays; :class:`Reader` rebuilds it, checking every field before it is
trusted. Built in: plain data, NumPy arrays and scalars, :class:`numnet.Sequential` and
:class:`numnet.training.History`. Higher layers add their own kinds with
:func:`register_kind` when imported (``numnet.estimators``: ``"estimator"``;
``numnet.tabular``: ``"pipeline"``), so the file layer never imports them.
"""

import dataclasses
import math
import types
from dataclasses import dataclass

import numpy as np

from ..layers import _UNREGISTERED, LAYERS, _qualified, is_registered
from ..network import Sequential
from ..training import History
from ._safetensors import CODES, DTYPES, MAX_HEADER_BYTES, MAX_NDIM, is_count
from ._safetensors import fail as _fail

MAX_LAYERS = 4096
MAX_FREE_WIDTH = 2**20
MAX_DEPTH = 100
"""Deepest nesting of lists and objects in a file's object description (``object``)."""
MAX_STR_BYTES = 4 * MAX_HEADER_BYTES
"""Largest NumPy string array (fixed width, 4 bytes a character) a model file may describe.

A file gets less: its string arrays together may take at most 4 bytes for each character of
its metadata (plus 64 KiB), so that a forged width cannot make a small file allocate much."""

TAG = "__numnet__"
_FLOATS = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class Kind:
    """A kind of object a model file can hold at its top level or inside another."""

    name: str
    cls: type
    write: object  # write(writer, obj, prefix) -> dict tagged {TAG: name, ...}
    read: object   # read(reader, spec) -> obj, every field checked


KINDS = {}


def register_kind(name, cls, write, read):
    """Let model files hold objects of ``cls`` as entries of kind ``name``.

    ``write(writer, obj, prefix)`` returns the object's description, a dict with
    ``{"__numnet__": name}``, putting arrays into the file with ``writer.value`` (keys start
    with ``prefix``); ``read(reader, spec)`` rebuilds the object, calling ``reader.fail`` for a
    field it cannot trust. Registering a name again replaces the entry.
    """
    KINDS[name] = Kind(name, cls, write, read)


class Writer:
    """Turns an object into JSON-able metadata, collecting its arrays in ``tensors``."""

    def __init__(self):
        self.tensors = {}
        self.str_bytes = 0  # what the reader's string-array budget will count
        self.largest_str_array = None

    def top(self, obj):
        """``(kind, description)`` of a top-level object."""
        for kind in KINDS.values():
            if isinstance(obj, kind.cls):
                return kind.name, kind.write(self, obj, "")
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
        return {TAG: "ndarray", "key": key}

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
        for layer in net.layers:
            if not is_registered(type(layer)):
                raise TypeError(
                    "layer class must be registered with numnet.register_layer to be saved, "
                    f"got {_qualified(type(layer))!r}. Decorate the class with "
                    "@numnet.register_layer, and register it before loading the file too: a "
                    "model file names its layers' classes and never runs code."
                )
        if not np.all(np.isfinite(net.params)):
            raise ValueError(
                "The network has non-finite parameters (NaN or infinity) and cannot be saved. "
                "Training diverged: lower the learning rate or scale the features, then retrain."
            )
        for name, value in net.named_parameters().items():
            self.array(prefix + name, value)
        return {TAG: "sequential", "prefix": prefix, "config": net.get_config(),
                "n_in": net.n_in, "dtype": net.dtype.name}

    def value(self, value, key, *, hyper=False):
        """Encode one value; ``hyper`` (hyperparameters) allows plain data only."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return {TAG: "scalar", "dtype": value.dtype.name, "value": value.item()}
        if isinstance(value, np.str_):
            return str(value)
        if isinstance(value, list):
            return [self.value(v, f"{key}.{i}", hyper=hyper) for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {TAG: "tuple",
                    "items": [self.value(v, f"{key}.{i}", hyper=hyper)
                              for i, v in enumerate(value)]}
        if isinstance(value, dict) and all(isinstance(k, str) and k != TAG for k in value):
            return {k: self.value(v, f"{key}.{k}", hyper=hyper) for k, v in value.items()}
        if isinstance(value, dict):
            return {TAG: "dict",
                    "items": [[self.value(k, f"{key}.key", hyper=hyper),
                               self.value(v, f"{key}.{k}", hyper=hyper)]
                              for k, v in value.items()]}
        if not hyper:
            if isinstance(value, np.ndarray):
                return self.ndarray(value, key)
            if isinstance(value, Sequential):
                return self.sequential(value, key + "/")
            if isinstance(value, History):
                return {TAG: "history", "value": self.value(value.to_dict(), key)}
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
            encoded = {TAG: "object_array" if value.dtype.kind == "O" else "str_array",
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


class Reader:
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
        allowed = {TAG, *required, *optional}
        if (not isinstance(spec, dict) or not set(required) <= set(spec)
                or not set(spec) <= allowed):
            self.fail(f"{where} must be an object with the fields {sorted(required)}"
                      + (f" (and optionally {sorted(optional)})" if optional else "") + ".")
        return [spec[key] for key in required]

    def estimator_entry(self, spec, classes):
        """``(class name, params, attributes)`` of an estimator entry, its shape checked.

        The class must be one of ``classes``; params and attributes must be objects, and every
        attribute name a public fitted one (``name_``). The values are left to the caller.
        """
        cls_name, params, attributes = self.fields(
            spec, ["class", "params", "attributes"], "an estimator entry")
        if not isinstance(cls_name, str) or cls_name not in classes:
            self.fail(f"estimator class must be one of {sorted(classes)}, got {cls_name!r:.100}.")
        if not isinstance(params, dict) or not isinstance(attributes, dict):
            self.fail("an estimator's params and attributes must be JSON objects.")
        for key in attributes:
            if not key.isidentifier() or not key.endswith("_") or key.startswith("_"):
                self.fail(f"{key!r:.100} is not a fitted attribute name of {cls_name}.")
        return cls_name, params, attributes

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
                          f"{{...}}}}, got {spec_!r:.200}. {_UNREGISTERED}")
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

    def decode(self, kind, spec):
        """Rebuild an entry of a registered kind (``spec[TAG] == kind``)."""
        if not isinstance(spec, dict) or spec.get(TAG) != kind:
            self.fail(f"an entry of kind {kind!r} was expected, got {str(spec)[:100]!r}.")
        if kind not in KINDS:
            self.fail(f"this program cannot read {kind!r} entries; load the file with "
                      "numnet.load, which knows every kind of numnet object.")
        return KINDS[kind].read(self, spec)

    def value(self, value, *, hyper=False):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.value(v, hyper=hyper) for v in value]
        if not isinstance(value, dict):
            self.fail(f"unexpected value {value!r:.100} in the metadata.")
        if TAG not in value:
            return {k: self.value(v, hyper=hyper) for k, v in value.items()}
        if not isinstance(value[TAG], str):
            self.fail(f"unexpected value {value!r:.100} in the metadata.")
        tag = value[TAG]
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


def _write_sequential(writer, net, prefix):
    return writer.sequential(net, prefix)


def _read_sequential(reader, spec):
    return reader.sequential(spec)


register_kind("sequential", Sequential, _write_sequential, _read_sequential)
