"""Checkpoints: the complete state of a training run, saved atomically and resumed exactly.

:func:`numnet.train` captures a :class:`TrainingState` every ``Checkpoint.every`` epochs, at the
end, and when SIGINT/SIGTERM arrives (after finishing the current step). Resuming restores the
parameters, the optimizer's moments, the shuffling and dropout generators, the validation split,
the learning-rate schedule, the state of callbacks that have one (early stopping among them), and
the history, so a resumed run ends with bit-identical parameters to an uninterrupted one. A file
written before early stopping became a callback (its state in a field of its own) is migrated as
it is read.

:class:`Checkpoint` keeps the state in a file of numnet's model format (kind "checkpoint"):
safetensors arrays plus JSON metadata, written atomically, never pickle, and read back by the
same bounded, validating reader as model files.
"""

import copy
import dataclasses
import math
from pathlib import Path

import numpy as np

from .._validation import check_int
from ..training import History
from ..training.state import TrainingState
from ._safetensors import CODES, fail, open_regular
from .codec import _matches
from .files import OutputError, _reason, atomic_write, check_folder, check_output
from .models import pack, read

# ------------------------------------------------------------------------------- the file


CHECKPOINT_FILE = "checkpoint.numnet"
_TAG = "__numnet__"
_MAX_DEPTH = 32
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")
_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(TrainingState))


class Checkpoint:
    """A folder that holds the latest training state of a run, written atomically.

    ``train(..., checkpoint=Checkpoint("run"))`` saves the :class:`TrainingState` to
    ``run/checkpoint.numnet`` every ``every`` epochs, at the end, and on SIGINT/SIGTERM;
    ``train(..., checkpoint=Checkpoint("run"), resume=True)`` continues from it. The file is a
    numnet model file of kind "checkpoint" (safetensors arrays plus JSON metadata, no pickle),
    replaced atomically (temporary file, then rename), so a crash leaves the previous state.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder of the checkpoint file; created on the first save.
    every : int, default=1
        Save every ``every`` epochs. Must be >= 1. SIGINT, SIGTERM and the end of training
        always save.
    info : dict, default=None
        Plain data stored with the state (the command line keeps its options there);
        :meth:`load` sets ``loaded_info`` to the stored one.

    Examples
    --------
    >>> import tempfile, numpy as np, numnet as nn
    >>> X, y = np.random.default_rng(0).normal(size=(40, 3)), np.zeros(40)
    >>> net = nn.Sequential([nn.Dense(1)]).build(3, random_state=0)
    >>> checkpoint = nn.Checkpoint(tempfile.mkdtemp(), every=2)
    >>> history = nn.train(net, nn.MeanSquaredError(), nn.Adam(), X, y, max_epochs=5,
    ...                    random_state=0, checkpoint=checkpoint)
    >>> state = checkpoint.load()
    >>> state.epoch, state.finished, bool(np.array_equal(state.params, net.params))
    (5, True, True)
    """

    def __init__(self, directory, every=1, *, info=None):
        self.directory = Path(directory)
        self.every = check_int(every, "every", min_value=1)
        self.info = {} if info is None else info
        self.loaded_info = None

    @property
    def path(self):
        """The checkpoint file: ``directory / "checkpoint.numnet"``."""
        return self.directory / CHECKPOINT_FILE

    def exists(self):
        """Whether the folder holds a checkpoint file."""
        return self.path.is_file()

    def save(self, state):
        """Write ``state`` (a :class:`TrainingState`) atomically."""
        data = dumps_state(state, info=self.info)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:

            raise OutputError(f"Cannot write {str(self.directory)!r}: {_reason(error)}.") from None
        atomic_write(self.path, data)

    def check_writable(self):
        """Raise numnet.io.OutputError now if :meth:`save` could not write the file later."""
        check_folder(self.directory)
        if self.directory.is_dir():
            check_output(self.path)

    def load(self):
        """The saved :class:`TrainingState`, or None when there is no checkpoint file yet.

        Raises
        ------
        numnet.ModelFileError
            When the file is truncated, altered or not a checkpoint.
        """
        try:
            file = open_regular(self.path)  # a FIFO or device is refused, never opened
        except FileNotFoundError:
            return None
        with file:
            state, self.loaded_info = load_state(file, str(self.path))
        return state

    def __str__(self):
        return str(self.path)

    def __repr__(self):
        return f"Checkpoint({str(self.directory)!r}, every={self.every})"


def dumps_state(state, *, info=None):
    """The bytes of a checkpoint file holding ``state`` and the plain-data ``info``."""
    tensors = {}
    fields = {name: getattr(state, name) for name in _STATE_FIELDS}
    encoded = {_TAG: "checkpoint", "state": _encode(fields, "state", tensors),
               "info": _encode({} if info is None else info, "info", tensors)}
    return pack("checkpoint", encoded, tensors, loads_state)


def loads_state(data, *, name="<bytes>"):
    """(TrainingState, info) from the bytes of a checkpoint file (see :func:`load_state`)."""
    import io

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}.")
    data = bytes(data)
    return load_state(io.BytesIO(data), name, size=len(data))


def load_state(file, name, *, size=None):
    """(TrainingState, info) from an open checkpoint file; ModelFileError if it is malformed.

    The container and the metadata go through the model-file reader (bounded header, shapes
    checked against the bytes present, checksum); then every field is checked for its type, and
    every array for its dtype and shape, before a TrainingState is built from copies.
    """
    import os


    if size is None:
        size = os.fstat(file.fileno()).st_size
    metadata, tensors = read(file, size, name)
    reader = _StateReader(tensors, name)
    if metadata["kind"] != "checkpoint":
        reader.fail(f"it is a numnet model (kind {metadata['kind']!r}), not a training "
                    "checkpoint.")
    try:
        spec = metadata["object"]
        if set(spec) != {_TAG, "state", "info"} or spec[_TAG] != "checkpoint":
            reader.fail("a checkpoint must be an object with the fields state and info.")
        fields = reader.decode(spec["state"])
        info = reader.decode(spec["info"])
        if not isinstance(info, dict):
            reader.fail("the checkpoint info must be an object.")
        state = reader.state(fields)
    except RecursionError:
        reader.fail("the metadata is nested too deeply.")
    unused = sorted(set(tensors) - reader.used)
    if unused:
        reader.fail(f"the file holds tensors that the metadata never uses: {unused[:5]}; the "
                    "file was altered.")
    return state, info


def _encode(value, key, tensors, depth=0):
    """Plain JSON for a state value; arrays go to ``tensors``, non-finite floats are tagged."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"checkpoint state {key} must be nested at most {_MAX_DEPTH} levels "
                         "deep to be saved (as the loader allows), got more.")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {_TAG: "float", "value": repr(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":

        dtype = value.dtype.newbyteorder("<") if value.dtype.itemsize > 1 else value.dtype
        if dtype not in CODES:
            raise TypeError(f"checkpoint state {key} has dtype {value.dtype}, which a checkpoint "
                            "cannot hold.")
        tensors[key] = np.ascontiguousarray(value, dtype=dtype).reshape(value.shape)  # keeps 0-d
        return {_TAG: "ndarray", "key": key}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{key}.{i}", tensors, depth + 1) for i, v in enumerate(value)]
        return items if isinstance(value, list) else {_TAG: "tuple", "items": items}
    if isinstance(value, dict) and all(isinstance(k, str) and k != _TAG for k in value):
        return {k: _encode(v, f"{key}.{k}", tensors, depth + 1) for k, v in value.items()}
    raise TypeError(
        f"checkpoint state {key} must be plain data (None, bool, int, float, str, numeric "
        f"arrays, or lists, tuples and str-keyed dicts of them), got {type(value).__name__}."
    )


def _is_int(value, minimum=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_name(value, names):
    """``value in names`` for an untrusted value (which may be an array or unhashable)."""
    return isinstance(value, str) and value in names


def _is_real(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _StateReader:
    """Decodes a checkpoint's metadata and checks every field before it is trusted."""

    def __init__(self, tensors, name):
        self.tensors, self.name, self.used = tensors, name, set()

    def fail(self, detail):

        fail(self.name, detail)

    def decode(self, value, depth=0):
        if depth > _MAX_DEPTH:
            self.fail("the checkpoint state is nested too deeply.")
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                self.fail("the checkpoint holds a bare NaN or infinity; they are written as "
                          "tagged floats.")
            return value
        if isinstance(value, list):
            return [self.decode(v, depth + 1) for v in value]
        if not isinstance(value, dict):
            self.fail(f"unexpected value {value!r:.100} in the checkpoint.")
        if _TAG not in value:
            return {k: self.decode(v, depth + 1) for k, v in value.items()}
        tag, fields = value[_TAG], set(value) - {_TAG}
        if tag == "float" and fields == {"value"} and value["value"] in ("inf", "-inf", "nan"):
            return float(value["value"])
        if tag == "tuple" and fields == {"items"} and isinstance(value["items"], list):
            return tuple(self.decode(v, depth + 1) for v in value["items"])
        if tag == "ndarray" and fields == {"key"}:
            key = value["key"]
            if not isinstance(key, str) or key not in self.tensors:
                self.fail(f"the metadata refers to a tensor {key!r:.100} that the file does not "
                          "hold.")
            if key in self.used:
                self.fail(f"the tensor {key!r} is used twice; the file was altered.")
            self.used.add(key)
            return self.tensors[key]  # a new writable array of its own (Container.read)
        self.fail(f"unexpected entry {value!r:.100} in the checkpoint.")

    # --- the fields of a TrainingState ---------------------------------------------------------

    def state(self, fields):
        if isinstance(fields, dict) and set(fields) == set(_STATE_FIELDS) | {"early_stopping"}:
            fields = self.migrate_early_stopping(fields)
        if not isinstance(fields, dict) or set(fields) != set(_STATE_FIELDS):
            self.fail(f"a checkpoint state must have exactly the fields {sorted(_STATE_FIELDS)}.")
        for key in ("epoch", "batch", "n_seen"):
            if not _is_int(fields[key]):
                self.fail(f"{key} must be an integer >= 0, got {fields[key]!r:.50}.")
        if not isinstance(fields["finished"], bool):
            self.fail(f"finished must be a bool, got {fields['finished']!r:.50}.")
        if not _is_real(fields["epoch_total"]) or not math.isfinite(fields["epoch_total"]):
            self.fail(f"epoch_total must be a finite number, got {fields['epoch_total']!r:.50}.")
        params = fields["params"]
        if (not isinstance(params, np.ndarray) or params.ndim != 1
                or params.dtype.name not in ("float32", "float64")):
            self.fail("params must be a 1-D float32 or float64 array.")
        if not np.all(np.isfinite(params)):
            self.fail("params holds NaN or infinity; a checkpoint never has non-finite "
                      "parameters.")
        fingerprint = fields["fingerprint"]
        if not isinstance(fingerprint, dict) or not all(
                isinstance(v, (str, int)) for v in fingerprint.values()):
            self.fail("fingerprint must map names to strings and integers.")
        if fingerprint.get("n_params") != params.size or fingerprint.get(
                "dtype") != params.dtype.name:
            self.fail(f"params has {params.size} {params.dtype.name} values, but the fingerprint "
                      "says otherwise; the file was altered.")
        self.rng_state(fields["rng_state"], "rng_state")
        layer_rngs = fields["layer_rngs"]
        if not isinstance(layer_rngs, dict) or not all(k.isdigit() and len(k) < 6
                                                       for k in layer_rngs):
            self.fail("layer_rngs must map layer indices to generator states.")
        for key, value in layer_rngs.items():
            self.rng_state(value, f"layer_rngs[{key!r}]")
        self.optimizer(fields["optimizer"], params)
        self.history(fields["history"], fields["epoch"])
        self.schedule(fields["schedule"])
        self.split(fields["validation_split"], fingerprint)
        callbacks = fields["callbacks"]
        if not isinstance(callbacks, dict) or not all(
                (k.isdigit() and len(k) < 6) or (k.isidentifier() and len(k) <= 64)
                for k in callbacks):
            self.fail("callbacks must map callback indices or names to states.")
        for key, value in callbacks.items():
            if key == "early_stopping" or (key.startswith("early_stopping_")
                                           and key[len("early_stopping_"):].isdigit()):
                self.early_stopping(value, params, fields["epoch"])
        self.ranges(fields, fingerprint)
        return TrainingState(**fields)

    def migrate_early_stopping(self, fields):
        """A state written before early stopping became a callback: its own field moved.

        Such a file kept ``early_stopping`` (the state or None) beside the other fields; it is
        now ``callbacks["early_stopping"]``, where :class:`numnet.EarlyStopping` keeps it.
        """
        fields = dict(fields)
        stopping, callbacks = fields.pop("early_stopping"), fields["callbacks"]
        if stopping is not None and isinstance(callbacks, dict):
            if "early_stopping" in callbacks:
                self.fail("early_stopping is held twice (a field and a callback state); the "
                          "file was altered.")
            fields["callbacks"] = {**callbacks, "early_stopping": stopping}
        return fields

    def ranges(self, fields, fingerprint):
        """Counters must lie within the run the fingerprint describes (sizes, batches).

        A run of fixed-size batches has ceil(n_samples / batch_size) batches an epoch and sees
        n_samples rows in it; a Poisson-sampled run (DP-SGD, ``"sampling": "poisson"``) has
        ``batches_per_epoch`` batches, each of at most n_samples rows.
        """
        poisson = fingerprint.get("sampling") == "poisson"
        for key in ("n_samples", "batches_per_epoch" if poisson else "batch_size"):
            if not _is_int(fingerprint.get(key), 1):
                self.fail(f"fingerprint {key} must be an integer >= 1, got "
                          f"{fingerprint.get(key)!r:.50}.")
        n_samples = fingerprint["n_samples"]
        if poisson:
            n_batches = fingerprint["batches_per_epoch"]
            rows_per_epoch = n_batches * n_samples
            batches = f"the Poisson batches of an epoch: {n_batches}"
        else:
            batch_size = fingerprint["batch_size"]
            n_batches = -(-n_samples // batch_size)
            rows_per_epoch = n_samples
            batches = f"the batches of an epoch of {n_samples} rows in batches of {batch_size}"
        if fields["batch"] >= n_batches:
            self.fail(f"batch must be an integer in [0, {n_batches}) ({batches}), got "
                      f"{fields['batch']!r}; the file was altered.")
        if fields["finished"] and fields["batch"]:
            self.fail(f"batch must be 0 in a finished run, got {fields['batch']!r}; the file was "
                      "altered.")
        limit = (fields["epoch"] + 1) * rows_per_epoch
        if fields["n_seen"] > limit:
            self.fail(f"n_seen must be at most {limit} after {fields['epoch']} epoch(s) of "
                      f"{rows_per_epoch} rows at most, got {fields['n_seen']!r}; the file was "
                      "altered.")

    def rng_state(self, value, where):
        """A bit generator's state: its leaves are integers (or integer arrays) only."""
        def integers(item, depth=0):
            if isinstance(item, dict) and depth < 3:
                return all(isinstance(k, str) and integers(v, depth + 1) for k, v in item.items())
            if isinstance(item, np.ndarray):
                return item.dtype.kind in "iu" and item.size <= 1024
            return _is_int(item)

        if (not isinstance(value, dict) or not _is_name(value.get("bit_generator"),
                                                          _BIT_GENERATORS)
                or not integers({k: v for k, v in value.items() if k != "bit_generator"})):
            self.fail(f"{where} must be the state of one of the NumPy bit generators "
                      f"{list(_BIT_GENERATORS)}.")
        try:
            getattr(np.random, value["bit_generator"])().state = copy.deepcopy(value)
        except (TypeError, ValueError, KeyError, OverflowError, IndexError) as error:
            self.fail(f"{where} is not a valid {value['bit_generator']} state ({error}).")

    def array_like_params(self, value, params, where):
        if (not isinstance(value, np.ndarray) or value.shape != params.shape
                or value.dtype != params.dtype):
            self.fail(f"{where} must be an array of shape {params.shape} and dtype "
                      f"{params.dtype.name}, like the parameters.")

    def optimizer(self, value, params):
        if not isinstance(value, dict) or not _is_real(value.get("learning_rate")) or not (
                math.isfinite(value["learning_rate"]) and value["learning_rate"] >= 0):
            self.fail("optimizer must be an object with a finite learning_rate >= 0.")
        for key, item in value.items():
            if isinstance(item, np.ndarray):
                self.array_like_params(item, params, f"optimizer[{key!r}]")
                if not np.all(np.isfinite(item)):
                    self.fail(f"optimizer[{key!r}] holds NaN or infinity.")
            elif not (_is_real(item) and math.isfinite(item)):
                self.fail(f"optimizer[{key!r}] must be a finite number or an array, got "
                          f"{item!r:.50}.")
        if "t" in value and not _is_int(value["t"]):
            self.fail(f"optimizer['t'] (the step count) must be an integer >= 0, got "
                      f"{value['t']!r:.50}; the file was altered.")

    def history(self, value, epoch):

        known = {f.name: f.type for f in dataclasses.fields(History)}
        if not isinstance(value, dict) or set(value) != set(known):
            self.fail(f"history must be an object with the fields {sorted(known)}.")
        for key, item in value.items():
            if not _matches(item, known[key]):
                self.fail(f"the history field {key!r} has an invalid value {item!r:.100}.")
        if len(value["loss"]) != epoch or any(
                len(value[key]) not in (0, epoch) for key in ("val_loss", "val_metric")):
            self.fail(f"the history must have one entry per completed epoch ({epoch}).")

    def early_stopping(self, value, params, epoch):
        keys = {"mode", "best", "best_epoch", "wait", "best_params"}
        if (not isinstance(value, dict) or set(value) != keys
                or not _is_name(value["mode"], ("min", "max")) or not _is_real(value["best"])
                or math.isnan(value["best"]) or not _is_int(value["wait"])
                or not (value["best_epoch"] is None or _is_int(value["best_epoch"], 1))):
            self.fail("early_stopping must be an object with mode 'min' or 'max', a best value, "
                      "best_epoch, wait and best_params.")
        if value["best_params"] is not None:
            self.array_like_params(value["best_params"], params, "early_stopping best_params")
        if value["wait"] > epoch or (value["best_epoch"] is not None
                                     and value["best_epoch"] > epoch):
            self.fail(f"early_stopping must have best_epoch and wait <= epoch ({epoch}), got "
                      f"best_epoch {value['best_epoch']!r} and wait {value['wait']!r}; the file "
                      "was altered.")

    def schedule(self, value):
        if value is None:
            return
        if not isinstance(value, dict) or not all(
                k.isidentifier() and not k.startswith("_") and _is_real(v) and not math.isnan(v)
                for k, v in value.items()):
            self.fail("schedule must map attribute names to numbers.")

    def split(self, value, fingerprint):
        if value is None:
            return
        if (not isinstance(value, tuple) or len(value) != 2
                or not all(isinstance(p, np.ndarray) and p.ndim == 1 and p.dtype.kind in "iu"
                           for p in value)):
            self.fail("validation_split must be a pair of 1-D integer arrays.")
        train_idx, val_idx = value
        n = train_idx.size + val_idx.size
        rows = np.concatenate([train_idx, val_idx]).astype(np.int64)
        rows.sort()
        if (train_idx.size != fingerprint.get("n_samples") or val_idx.size == 0
                or not np.array_equal(rows, np.arange(n))):
            self.fail("validation_split must split the rows 0..n-1 into training rows (as many "
                      "as the fingerprint's n_samples) and validation rows.")
