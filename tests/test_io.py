"""Model files: round trips (bit for bit), the file layout, atomic writes and safe loading."""

import json
import os
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open
from safetensors.numpy import save as safetensors_save
from sklearn.exceptions import ConvergenceWarning

import numnet
from numnet import (
    Dense,
    Dropout,
    LeakyReLU,
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from numnet.io import (
    ModelFileError,
    OutputError,
    atomic_write,
    dumps,
    load,
    loads,
    read_metadata,
    save,
)
from numnet.io._safetensors import DTYPES
from numnet.io.models import _checksum
from numnet.tabular import TabularPipeline, train_pipeline

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --- helpers --------------------------------------------------------------------------------

def split_file(data):
    """(header dict, numnet metadata dict, tensor bytes) of a model file."""
    n_header = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n_header])
    return header, json.loads(header["__metadata__"]["numnet"]), data[8 + n_header:]


def join_file(header, metadata, body, *, checksum=True):
    """A model file from its parts; with ``checksum``, the sha256 is made to match again."""
    if checksum:
        try:
            tensors = {
                name: np.frombuffer(body[entry["data_offsets"][0]:entry["data_offsets"][1]],
                                    dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
                for name, entry in header.items() if name != "__metadata__"
            }
            metadata = dict(metadata, sha256=_checksum(metadata["kind"], metadata["object"],
                                                      tensors))
        except (KeyError, TypeError, ValueError):
            pass  # an entry the loader rejects before it looks at the checksum
    header = dict(header, __metadata__={"numnet": json.dumps(metadata)})
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + body


def forge(data, edit):
    """Apply ``edit(header, metadata)`` to a model file and re-encode it consistently."""
    header, metadata, body = split_file(data)
    edit(header, metadata)
    return join_file(header, metadata, body)


def same(a, b):
    """Equality for fitted attributes: arrays bit for bit (dtype included), NaN == NaN."""
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
                and a.flags.writeable == b.flags.writeable)
    if isinstance(a, Sequential):
        return (isinstance(b, Sequential) and a.get_config() == b.get_config()
                and a.dtype == b.dtype and np.array_equal(a.params, b.params))
    if isinstance(a, numnet.History):
        return json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return type(a) is type(b) and a == b


def fitted(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}


def predictions(model, X):
    out = {"predict": model.predict(X)}
    for method in ("predict_proba", "predict_log_proba", "decision_function"):
        if hasattr(model, method):
            out[method] = getattr(model, method)(X)
    return out


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    return {
        "X": X,
        "y_reg": X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * rng.normal(size=60),
        "y_reg2": np.column_stack([X[:, 0], X[:, 1] - X[:, 2]]),
        "y_bin": np.where(X[:, 0] + X[:, 1] > 0, "yes", "no"),
        "y_multi": np.digitize(X[:, 0], [-0.5, 0.5]),  # ints 0, 1, 2
        "y_multilabel": (X[:, :3] > 0).astype(int),
    }


ESTIMATORS = {
    "linear": (lambda: LinearRegression(), "y_reg"),
    "linear-2d-l1-gd": (lambda: LinearRegression(l1_ratio=1.0, alpha=0.01, solver="gd",
                                                 max_iter=20), "y_reg2"),
    "logistic-binary": (lambda: LogisticRegression(C=0.5), "y_bin"),
    "logistic-multiclass-sgd": (lambda: LogisticRegression(solver="sgd", max_iter=5,
                                                           random_state=0), "y_multi"),
    "mlp-regressor": (lambda: MLPRegressor((5, 3), activation="tanh", max_iter=5,
                                           random_state=0), "y_reg"),
    "mlp-regressor-lbfgs": (lambda: MLPRegressor((4,), solver="lbfgs", max_iter=5,
                                                 random_state=0), "y_reg2"),
    "mlp-classifier-dropout-early": (lambda: MLPClassifier(
        (6,), dropout=0.2, early_stopping=True, max_iter=5, random_state=0,
        n_iter_no_change=2), "y_bin"),
    "mlp-classifier-multiclass": (lambda: MLPClassifier((5,), activation="leaky_relu",
                                                        max_iter=5, random_state=1), "y_multi"),
    "mlp-classifier-multilabel": (lambda: MLPClassifier((5,), max_iter=5, random_state=0,
                                                        class_weight=None), "y_multilabel"),
}


# --- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("layers", [
    [Dense(4), ReLU(), Dense(1)],
    [Dense(5, init="he_normal"), LeakyReLU(0.2), Dropout(0.3), Dense(3, bias=False), Softmax()],
    [Dense(3), Tanh(), Dense(2), Sigmoid()],
    [ReLU()],
], ids=["relu", "dropout-softmax", "tanh-sigmoid", "no-parameters"])
def test_sequential_round_trip_is_bit_for_bit(layers, dtype, tmp_path, rng):
    net = Sequential(layers).build(3, dtype=dtype, random_state=1)
    net.params[...] = rng.normal(size=net.params.shape)
    path = tmp_path / "net.numnet"
    save(net, path)
    loaded = load(path)
    X = rng.normal(size=(7, 3)).astype(dtype)
    assert loaded.get_config() == net.get_config()
    assert loaded.dtype == dtype and loaded.n_in == 3
    np.testing.assert_array_equal(loaded.params, net.params)
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))
    assert loaded.forward(X).dtype == dtype


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimator_round_trip_is_bit_for_bit(name, dtype, data, tmp_path):
    make, target = ESTIMATORS[name]
    X = data["X"].astype(dtype)
    est = make().fit(X, data[target])
    path = tmp_path / "est.numnet"
    save(est, path)
    loaded = load(path)

    assert type(loaded) is type(est)
    assert same(loaded.get_params(), est.get_params())  # tuples stay tuples
    state, restored = fitted(est), fitted(loaded)
    assert sorted(restored) == sorted(state)
    for key in state:
        assert same(restored[key], state[key]), key
    X_new = np.random.default_rng(5).normal(size=(9, 4)).astype(dtype)
    expected, got = predictions(est, X_new), predictions(loaded, X_new)
    for method in expected:
        assert got[method].dtype == expected[method].dtype, method
        np.testing.assert_array_equal(got[method], expected[method], err_msg=method)


def test_loaded_estimator_keeps_training_like_the_original(data):
    est = MLPRegressor((4,), max_iter=3, random_state=0).fit(data["X"], data["y_reg"])
    loaded = loads(dumps(est))
    est.set_params(warm_start=True, max_iter=2)
    loaded.set_params(warm_start=True, max_iter=2)
    est.fit(data["X"], data["y_reg"])
    loaded.fit(data["X"], data["y_reg"])
    np.testing.assert_array_equal(loaded.network_.params, est.network_.params)


def test_string_labels_and_feature_names_round_trip(data):
    frame = pd.DataFrame(data["X"], columns=["a", "b", "c", "d"])
    est = LogisticRegression().fit(frame, data["y_bin"])
    loaded = loads(dumps(est))
    assert loaded.classes_.dtype == est.classes_.dtype
    assert loaded.classes_.tolist() == ["no", "yes"]
    assert loaded.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(loaded.predict(frame), est.predict(frame))


@pytest.fixture(scope="module", params=["float32", "float64"])
def pipeline(request):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "size": rng.normal(size=80), "rooms": rng.integers(1, 5, size=80).astype(float),
        "city": rng.choice(["oslo", "rome"], size=80),
    })
    frame.loc[3, "size"] = np.nan
    frame["label"] = np.where(frame["size"].fillna(0) + (frame["city"] == "rome") > 0.5,
                              "hi", "lo")
    pipe, _ = train_pipeline(frame, target="label", model="mlp", impute="median",
                             params={"hidden_layer_sizes": (4,), "max_iter": 5,
                                     "random_state": 0}, dtype=request.param)
    return pipe, frame


def test_pipeline_round_trip_predicts_the_same_from_raw_data(pipeline, tmp_path):
    pipe, frame = pipeline
    path = tmp_path / "pipe.numnet"
    save(pipe, path)
    loaded = load(path)
    assert isinstance(loaded, TabularPipeline)
    assert (loaded.target, loaded.task, loaded.dtype) == ("label", "classification", pipe.dtype)
    assert loaded.info == pipe.info
    assert loaded.preprocessor.get_state() == pipe.preprocessor.get_state()
    np.testing.assert_array_equal(loaded.predict(frame), pipe.predict(frame))
    np.testing.assert_array_equal(loaded.predict_proba(frame), pipe.predict_proba(frame))
    assert loaded.predict_proba(frame).dtype == pipe.dtype


# --- the file itself ----------------------------------------------------------------------------

def test_file_is_plain_safetensors_with_numnet_metadata(tmp_path):
    net = Sequential([Dense(2), ReLU(), Dense(1)]).build(3, random_state=0)
    path = tmp_path / "net.numnet"
    save(net, path)
    with safe_open(path, "np") as file:  # any safetensors reader can open it
        assert sorted(file.keys()) == ["0.W", "0.b", "2.W", "2.b"]
        np.testing.assert_array_equal(file.get_tensor("0.W"), net[0].params["W"])
        metadata = json.loads(file.metadata()["numnet"])
    assert metadata["format"] == "numnet" and metadata["format_version"] == 1
    assert metadata["numnet_version"] == numnet.__version__
    assert metadata["kind"] == "sequential"
    assert metadata["object"]["config"] == net.get_config()
    assert read_metadata(path)["tensors"]["2.W"] == ("float64", [2, 1])


def test_files_contain_no_pickle_and_load_never_unpickles(data, monkeypatch, tmp_path):
    est = MLPClassifier((3,), max_iter=3, random_state=0).fit(data["X"], data["y_bin"])
    raw = dumps(est)
    assert b"\x80\x04\x95" not in raw and b"\x80\x05\x95" not in raw  # pickle protocol 4/5

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle must never be used to load a model file")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(np, "load", forbidden)
    np.testing.assert_array_equal(loads(raw).predict(data["X"]), est.predict(data["X"]))


def test_same_object_gives_the_same_bytes(data):
    est = LogisticRegression().fit(data["X"], data["y_bin"])
    assert dumps(est) == dumps(est)


# --- atomic writes ------------------------------------------------------------------------------

def test_atomic_write_replaces_the_file(tmp_path):
    path = tmp_path / "model.numnet"
    path.write_bytes(b"old")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["model.numnet"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.numnet"
    net = Sequential([Dense(1)]).build(2, random_state=0)
    save(net, path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OutputError, match=re.escape(
            f"Cannot write {str(path)!r}: the disk is full; the old file is unchanged.")):
        save(Sequential([Dense(3)]).build(2, random_state=0), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.numnet"]


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / "model.numnet"

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(Sequential([Dense(1)]).build(2, random_state=0), path)
    assert os.listdir(tmp_path) == []


# --- what cannot be saved ------------------------------------------------------------------------

def test_save_rejects_what_it_cannot_represent(data, tmp_path):
    cases = [
        ({"a": 1}, TypeError,
         "obj must be a numnet Sequential, a numnet estimator (LinearRegression, "
         "LogisticRegression, MLPRegressor, MLPClassifier) or a TabularPipeline, got dict."),
        (Sequential([Dense(1)]), ValueError,
         "Sequential is not built yet; call build(n_in) (or fit an estimator) before saving it."),
        (LogisticRegression(random_state=np.random.default_rng(0)), TypeError,
         "hyperparameter random_state must be plain data (None, bool, int, float, str, or "
         "lists, tuples and dicts of them) to be saved, got Generator. Pass an int seed as "
         "random_state instead of a generator."),
    ]
    for obj, error, message in cases:
        with pytest.raises(error, match=re.escape(message)):
            save(obj, tmp_path / "x.numnet")
    assert os.listdir(tmp_path) == []


def test_save_refuses_non_finite_weights(tmp_path):
    net = Sequential([Dense(2)]).build(2, random_state=0)
    net.params[1] = np.nan
    message = ("The network has non-finite parameters (NaN or infinity) and cannot be saved. "
               "Training diverged: lower the learning rate or scale the features, then retrain.")
    with pytest.raises(ValueError, match=re.escape(message)):
        save(net, tmp_path / "x.numnet")


def test_save_refuses_estimators_and_pipelines_with_non_finite_weights(data, pipeline, tmp_path):
    est = MLPRegressor((3,), max_iter=2, random_state=0).fit(data["X"], data["y_reg"])
    est.network_.params[0] = np.inf
    pipe = TabularPipeline.from_state(pipeline[0].get_state(), loads(dumps(pipeline[0].estimator)))
    pipe.estimator.network_.params[-1] = np.nan
    for obj in (est, pipe):
        with pytest.raises(ValueError, match=re.escape(
                "The network has non-finite parameters (NaN or infinity) and cannot be saved.")):
            save(obj, tmp_path / "x.numnet")
    assert os.listdir(tmp_path) == []


# --- loading untrusted files -----------------------------------------------------------------

@pytest.fixture(scope="module")
def net_file():
    net = Sequential([Dense(3), ReLU(), Dense(2)]).build(4, random_state=0)
    return dumps(net)


@pytest.fixture(scope="module")
def estimator_file(data):
    return dumps(MLPClassifier((3,), max_iter=2, random_state=0).fit(data["X"], data["y_bin"]))


def expect_error(raw, message):
    with pytest.raises(ModelFileError, match=re.escape(f"Cannot load 'm.numnet': {message}")):
        loads(raw, name="m.numnet")


def test_pickle_payload_is_rejected_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    payload = pickle.dumps(Payload(), protocol=2)
    pickle.loads(pickle.dumps(Payload(), protocol=2)).close()  # the payload is live...
    assert marker.exists()
    marker.unlink()

    path = tmp_path / "model.numnet"
    path.write_bytes(payload)
    n_header = int.from_bytes(payload[:8], "little")
    with pytest.raises(ModelFileError, match=re.escape(
            f"Cannot load {str(path)!r}: the header length field says {n_header} bytes, more "
            "than the 16777216 a numnet model file may have; this is not a numnet model file "
            "(or it is corrupted).")):
        load(path)
    assert not marker.exists()  # ...but loading never ran it


def test_pickle_inside_a_valid_safetensors_file_is_never_unpickled(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    smuggled = pickle.dumps(Payload()).decode("latin-1")
    raw = safetensors_save({"0.W": np.zeros((2, 2))}, metadata={"numnet": smuggled})
    with pytest.raises(ModelFileError, match="the numnet metadata is not valid JSON"):
        loads(raw)
    assert not marker.exists()


def test_torch_zip_file_is_rejected():
    raw = b"PK\x03\x04" + bytes(200)
    expect_error(raw, "the header length field says 67324752 bytes, more than the 16777216")


def test_foreign_safetensors_file_is_rejected():
    raw = safetensors_save({"weight": np.zeros(3)}, metadata={"format": "pt"})
    expect_error(raw, "the file has no numnet metadata; it is not a numnet model file (perhaps "
                      "a safetensors file written by another library).")


def test_truncated_files_are_rejected(net_file):
    n_header = int.from_bytes(net_file[:8], "little")
    data_size = len(net_file) - 8 - n_header
    expect_error(net_file[:5], "the file has 5 bytes, too short for a model file (truncated or "
                               "not a model file).")
    expect_error(net_file[:100], f"the header length field says {n_header} bytes, but the "
                                 "file has only 92 after it; the file is truncated or not a "
                                 "model file.")
    expect_error(net_file[:-8], f"tensor '2.b' has data_offsets [{data_size - 16}, "
                                f"{data_size}], outside the {data_size - 8} bytes of data "
                                "(truncated or altered file).")
    expect_error(net_file + b"extra!!!", f"the header accounts for {data_size} bytes of tensor "
                                         f"data, but the file holds {data_size + 8}; the file is "
                                         "truncated or has extra bytes.")


def test_flipped_bits_are_caught_by_the_checksum(net_file, estimator_file):
    for raw in (net_file, estimator_file):
        flipped = bytearray(raw)
        flipped[-5] ^= 0x10  # a bit of the last weight: still a finite, plausible number
        expect_error(bytes(flipped), "the sha256 checksum does not match the contents; the file "
                                     "was altered or corrupted.")
        header, metadata, body = split_file(raw)
        edited = json.loads(json.dumps(metadata).replace('"relu"', '"tanh"')
                            .replace('"ReLU"', '"Tanh"'))
        expect_error(join_file(header, edited, body, checksum=False),
                     "the sha256 checksum does not match the contents; the file was altered or "
                     "corrupted.")


def test_bad_header_json_is_rejected(net_file):
    raw = (9).to_bytes(8, "little") + b"{not json" + net_file[8:]
    with pytest.raises(ModelFileError, match=re.escape(
            "Cannot load '<bytes>': the header is not valid JSON (Expecting property name "
            "enclosed in double quotes: line 1 column 2 (char 1)); the file is corrupted or not "
            "a numnet model file.")):
        loads(raw[:8 + 9])
    expect_error((4).to_bytes(8, "little") + b"\xff\xfe{}", "the header is not UTF-8 text; this "
                                                            "is not a numnet model file.")
    expect_error((2).to_bytes(8, "little") + b"[]", "the header is not a JSON object; this is "
                                                    "not a safetensors file.")
    deep = b"[" * 100_000 + b"]" * 100_000
    expect_error(len(deep).to_bytes(8, "little") + deep, "the header is nested too deeply.")


def test_duplicate_header_keys_are_rejected(net_file):
    header, metadata, body = split_file(net_file)
    raw = json.dumps(dict(header, __metadata__={"numnet": json.dumps(metadata)}))
    raw = raw.replace('{"__metadata__"', '{"0.W": {}, "__metadata__"', 1).encode()
    with pytest.raises(ModelFileError) as caught:
        loads(len(raw).to_bytes(8, "little") + raw + body, name="m.numnet")
    assert str(caught.value) == ("Cannot load 'm.numnet': the header repeats the key '0.W'; the "
                                 "file was altered.")


def edit_tensor(name, **changes):
    def edit(header, metadata):
        header[name].update(changes)
    return edit


@pytest.mark.parametrize("edit, message", [
    (edit_tensor("0.W", shape=[3, 4]),
     "tensor '0.W' has shape (3, 4), but the architecture needs (4, 3); the file was altered."),
    (edit_tensor("0.W", shape=[4, 4]),
     "tensor '0.W' declares shape [4, 4] of F64 (128 bytes) but data_offsets span 96 bytes; "
     "the file was altered."),
    (edit_tensor("0.W", dtype="F32"),
     "tensor '0.W' declares shape [4, 3] of F32 (48 bytes) but data_offsets span 96 bytes; "
     "the file was altered."),
    (edit_tensor("0.W", dtype="O"),
     "tensor '0.W' has dtype 'O', which is not one of ['BOOL', 'F16', 'F32', 'F64', 'I16', "
     "'I32', 'I64', 'I8', 'U16', 'U32', 'U64', 'U8']."),
    (edit_tensor("0.W", shape=[-1, 3]),
     "tensor '0.W' has shape [-1, 3]; a shape must be a list of at most 8 integers >= 0."),
    (edit_tensor("0.W", shape=[1] * 9),
     "tensor '0.W' has shape [1, 1, 1, 1, 1, 1, 1, 1, 1]; a shape must be a list of at most 8 "
     "integers >= 0."),
    (edit_tensor("0.W", data_offsets=[0, 2**70]),
     "tensor '0.W' has data_offsets [0, 1180591620717411303424], outside the"),
    (edit_tensor("0.W", extra=1),
     "tensor '0.W' must have exactly the fields dtype, shape and data_offsets."),
    (lambda h, m: m.update(format_version=2),
     "it was written by numnet 0.1.0 in file format version 2, but this numnet (0.1.0) reads "
     "format version 1 at most. Upgrade numnet (pip install -U numnet)."),
    (lambda h, m: m.update(format_version="1"),
     "format_version must be an integer >= 1, got '1'."),
    (lambda h, m: m.update(format="other"), "the metadata does not name the numnet format."),
    (lambda h, m: m.update(kind="pickle"),
     "kind must be one of {'checkpoint', 'estimator', 'pipeline', 'sequential', "
     "'tabular_estimator'}, got "
     "'pickle'."),
    (lambda h, m: m.update(kind="estimator"),
     "the object is tagged 'sequential', but the file kind is 'estimator'."),
    (lambda h, m: m["object"].update(dtype="float16"),
     "dtype must be one of {'float32', 'float64'}, got 'float16'."),
    (lambda h, m: m["object"].update(n_in=0), "n_in must be an integer >= 1, got 0."),
    (lambda h, m: m["object"]["config"]["layers"].__setitem__(1, {"class": "os.system",
                                                                  "config": {}}),
     "each layer must be {'class': one of ['CategoricalEmbedding', 'Dense', 'Dropout', "
     "'EnsembleDense', 'EnsembleFork', 'Identity', 'LeakyReLU', 'PeriodicEmbedding', 'ReLU', "
     "'Scale', 'Sigmoid', 'Softmax', 'Tanh'], 'config': {...}}, got {'class': 'os.system', "
     "'config': {}}."),
    (lambda h, m: m["object"]["config"]["layers"][0]["config"].update(n_out=10**12),
     "tensor '0.W' has shape (4, 3), but the architecture needs (4, 1000000000000); the file "
     "was altered."),
    (lambda h, m: m["object"]["config"]["layers"][0]["config"].update(n_out="3"),
     "the metadata does not describe a valid numnet object: n_out must be an integer >= 1, "
     "got '3'."),
    (lambda h, m: m["object"]["config"]["layers"][1]["config"].update(inplace=True),
     "the metadata does not describe a valid numnet object: ReLU() takes no arguments"),
    (lambda h, m: m["object"].update(prefix="net/"),
     "the metadata refers to a tensor 'net/0.W' that the file does not hold."),
    (lambda h, m: m["object"]["config"]["layers"].extend([{"class": "ReLU", "config": {}}]
                                                         * 5000),
     "the architecture must be an object with a list of at most 4096 layers."),
], ids=["transposed-shape", "bigger-shape", "dtype-changed", "object-dtype", "negative-dim",
        "too-many-dims", "huge-offset", "extra-field", "newer-format", "format-version-type",
        "foreign-format", "unknown-kind", "kind-mismatch", "bad-dtype", "bad-n-in",
        "unknown-layer", "huge-layer", "bad-layer-arg", "unknown-layer-arg", "wrong-prefix",
        "too-many-layers"])
def test_altered_sequential_files_are_rejected(net_file, edit, message):
    expect_error(forge(net_file, edit), message)


def test_width_of_a_network_without_parameters_is_bounded():
    raw = dumps(Sequential([ReLU()]).build(3))
    expect_error(forge(raw, lambda h, m: m["object"].update(n_in=10**12)),
                 "n_in must be at most 1048576 for a network without parameters, got "
                 "1000000000000.")


def test_unused_tensors_and_nan_weights_are_rejected(net_file):
    header, metadata, body = split_file(net_file)
    extra = dict(header, extra={"dtype": "U8", "shape": [2],
                                "data_offsets": [len(body), len(body) + 2]})
    expect_error(join_file(extra, metadata, body + b"\x00\x00"),
                 "the file holds tensors that the metadata never uses: ['extra']; the file was "
                 "altered.")
    begin = header["0.b"]["data_offsets"][0]
    nan = body[:begin] + np.array([np.nan]).tobytes() + body[begin + 8:]
    expect_error(join_file(header, metadata, nan),
                 "tensor '0.b' holds NaN or infinity; a numnet model never has non-finite "
                 "weights.")


def edit_object(fn):
    def edit(header, metadata):
        fn(metadata["object"])
    return edit


@pytest.mark.parametrize("edit, message", [
    (edit_object(lambda o: o.update({"class": "subprocess.Popen"})),
     "estimator class must be one of ['LinearRegression', 'LogisticRegression', "
     "'MLPClassifier', 'MLPRegressor'], got 'subprocess.Popen'."),
    (edit_object(lambda o: o["attributes"].update(__class__="x")),
     "'__class__' is not a fitted attribute name of MLPClassifier."),
    (edit_object(lambda o: o["attributes"].update(predict_proba="x")),
     "'predict_proba' is not a fitted attribute name of MLPClassifier."),
    (edit_object(lambda o: o["params"].update(no_such_param=1)),
     "the metadata does not describe a valid numnet object: Invalid parameter 'no_such_param' "
     "for estimator MLPClassifier"),
    (edit_object(lambda o: o["params"].update(random_state={"__numnet__": "ndarray",
                                                            "key": "network_/0.W"})),
     "a hyperparameter must be plain data, got a 'ndarray' entry."),
    (edit_object(lambda o: o["attributes"].update(n_features_in_=3)),
     "the estimator's n_features_in_ (3) does not match its network; the file was altered."),
    (edit_object(lambda o: o["attributes"].update(classes_={
        "__numnet__": "str_array", "shape": [3], "items": ["a", "b", "c"]})),
     "the fitted MLPClassifier has 3 classes but its network predicts 2; the file was altered."),
    (edit_object(lambda o: o["attributes"]["history_"]["value"].update(loss="x")),
     "the history field 'loss' has an invalid value 'x'."),
    (edit_object(lambda o: o["attributes"].update(x_={"__numnet__": "eval", "code": "1"})),
     "unknown entry type 'eval' in the metadata."),
    (edit_object(lambda o: o["attributes"].update(x_={"__numnet__": "scalar", "dtype": "int8",
                                                      "value": 1000})),
     "the metadata does not describe a valid numnet object: Python integer 1000 out of bounds "
     "for int8"),
    (edit_object(lambda o: o["attributes"].update(history_="x")),
     "fitted attribute history_ must be a History, got str."),
    (edit_object(lambda o: o["attributes"].update(network_=[o["attributes"]["network_"]])),
     "fitted attribute network_ must be a Sequential, got list."),
    (edit_object(lambda o: o["attributes"].update(classes_={
        "__numnet__": "str_array", "shape": [3], "width": 10**9, "items": ["a", "b", "c"]})),
     "a string array must hold strings no longer than its width, and the string arrays of a "
     "file at most 4 bytes for each character of its metadata ("),
], ids=["foreign-class", "dunder-attribute", "method-attribute", "unknown-param",
        "array-as-param", "inconsistent-width", "inconsistent-classes", "bad-history",
        "unknown-tag", "scalar-overflow", "history-type", "network-type", "huge-strings"])
def test_altered_estimator_files_are_rejected(estimator_file, edit, message):
    expect_error(forge(estimator_file, edit), message)


def test_folder_and_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match=re.escape(
            f"Cannot load {str(tmp_path)!r}: it is a folder, not a numnet model file.")):
        load(tmp_path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.numnet")


def test_random_bytes_never_escape_as_other_errors(net_file, estimator_file):
    rng = np.random.default_rng(0)
    tried = 0
    for raw in (net_file, estimator_file):
        for _ in range(150):
            mutated = bytearray(raw)
            for position in rng.integers(0, len(raw), size=rng.integers(1, 4)):
                mutated[position] = rng.integers(0, 256)
            cut = len(mutated) if rng.random() < 0.7 else int(rng.integers(0, len(mutated)))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    loads(bytes(mutated[:cut]))
            except ModelFileError:
                pass
            tried += 1
    assert tried == 300


# --- output paths (issue 10, section 1) ------------------------------------------------------

@pytest.fixture
def tiny():
    return Sequential([Dense(1)]).build(2, random_state=0)


def test_save_to_an_empty_path_says_what_is_wrong(tiny):
    with pytest.raises(ValueError, match=re.escape(
            "path must name a file to write, got ''. Pass a file name such as 'model.numnet'.")):
        save(tiny, "")


def test_output_that_is_a_folder_device_fifo_or_in_a_missing_folder_is_refused(tiny, tmp_path):
    fifo = tmp_path / "fifo.numnet"
    os.mkfifo(fifo)
    cases = [
        (tmp_path, f"Cannot write {str(tmp_path)!r}: it is a folder. Name a file to write, e.g. "
                   f"{str(tmp_path / 'model.numnet')!r}."),
        (fifo, f"Cannot write {str(fifo)!r}: it is a FIFO (named pipe); numnet writes only "
               "regular files. Choose a file path."),
        ("/dev/null", "Cannot write '/dev/null': it is a character device; numnet writes only "
                      "regular files. Choose a file path."),
        (tmp_path / "nope" / "m.numnet",
         f"Cannot write {str(tmp_path / 'nope' / 'm.numnet')!r}: the folder "
         f"{str(tmp_path / 'nope')!r} does not exist. Create it first."),
    ]
    for path, message in cases:
        with pytest.raises(OutputError, match=re.escape(message)):
            save(tiny, path)
    assert sorted(os.listdir(tmp_path)) == ["fifo.numnet"]
    assert fifo.is_fifo()


def test_output_symlink_is_followed_and_kept(tiny, tmp_path):
    target = tmp_path / "real.numnet"
    target.write_bytes(b"old")
    link = tmp_path / "link.numnet"
    link.symlink_to(target)
    save(tiny, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert np.array_equal(load(target).params, tiny.params)
    assert sorted(os.listdir(tmp_path)) == ["link.numnet", "real.numnet"]


def test_output_that_is_an_input_is_refused(tmp_path):
    from numnet.io import check_output

    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    (tmp_path / "alias.csv").symlink_to(data)
    for path in (data, tmp_path / "alias.csv", tmp_path / "." / "data.csv"):
        with pytest.raises(OutputError, match=re.escape(
                f"Cannot write {str(path)!r}: it is the input file {str(data)!r}, which would be "
                "replaced. Choose another output path.")):
            check_output(path, inputs=["-", str(data)])
    assert data.read_text() == "a,b\n1,2\n"


def test_unwritable_folder_is_refused_before_any_work(tmp_path, monkeypatch, tiny):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(
        tmp_path) else real_access(path, mode))
    with pytest.raises(OutputError, match=re.escape(
            f"Cannot write {str(tmp_path / 'm.numnet')!r}: permission denied (the folder "
            f"{str(tmp_path)!r} is not writable).")):
        save(tiny, tmp_path / "m.numnet")


@pytest.mark.parametrize("code, reason", [
    (28, "the disk is full"), (30, "the file system is read-only"), (13, "permission denied"),
], ids=["ENOSPC", "EROFS", "EACCES"])
def test_write_failures_leave_the_old_file_and_no_temporary(tiny, tmp_path, monkeypatch, code,
                                                            reason):
    path = tmp_path / "model.numnet"
    save(tiny, path)
    before = path.read_bytes()

    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OutputError, match=re.escape(
            f"Cannot write {str(path)!r}: {reason}; the old file is unchanged.")):
        save(Sequential([Dense(3)]).build(2, random_state=0), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.numnet"]


KILLED_WRITER = """
import os, sys, time
import numnet
def hang(fd):
    print("writing", flush=True)
    time.sleep(3600)  # killed as soon as the test reads "writing"
os.fsync = hang
numnet.save(numnet.Sequential([numnet.Dense(1)]).build(2), sys.argv[1])
"""


def test_temporaries_left_by_a_killed_writer_are_removed_by_the_next_save(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "model.numnet"
    path.write_bytes(b"old model")
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "writing\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    left = sorted(os.listdir(tmp_path))
    assert len(left) == 2 and re.fullmatch(
        rf"\.model\.numnet\.{writer.pid}-[0-9a-f]{{8}}\.tmp", left[0]), left
    assert path.read_bytes() == b"old model"
    # The next save, by a process started after the killed one, removes its temporary.
    subprocess.run([sys.executable, "-c", "import numnet, sys; numnet.save(numnet.Sequential("
                    "[numnet.Dense(1)]).build(2), sys.argv[1])", str(path)], check=True)
    assert os.listdir(tmp_path) == ["model.numnet"]
    load(path)


def test_temporaries_of_live_writers_are_left_alone(tiny, tmp_path):
    own = tmp_path / f".model.numnet.{os.getpid()}-0123abcd.tmp"
    own.write_bytes(b"in progress")
    os.utime(own, (0, 0))
    other = tmp_path / ".model.numnet.abcd.tmp"  # not our naming: never touched
    other.write_bytes(b"x")
    save(tiny, tmp_path / "model.numnet")
    assert sorted(os.listdir(tmp_path)) == sorted([own.name, other.name, "model.numnet"])


# --- the writer enforces the reader's limits (issue 10, section 2) ----------------------------

def nested(depth):
    """A list nested ``depth`` deep: [[...[1]...]]."""
    value = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


def _fitted_with(attribute, value):
    est = LinearRegression().fit(np.eye(3), [0.0, 1.0, 2.0])
    setattr(est, attribute, value)
    return est


@pytest.mark.parametrize("make, message", [
    (lambda: _fitted_with("labels_", np.array(["x" * 9_000_000, "y" * 9_000_000], dtype=object)),
     "the model file's header must be at most 16777216 bytes, got "),
    (lambda: _fitted_with("labels_", np.array(["a" * 1000] + ["b"] * 1000)),
     "string arrays must take at most "),
    (lambda: _fitted_with("deep_", nested(101)),
     "the object's description must nest at most 100 levels of lists and dicts to be saved"),
    (lambda: _fitted_with("cube_", np.zeros((1,) * 9)),
     "fitted attribute cube_ must have at most 8 dimensions to be saved, got 9."),
    (lambda: Sequential([ReLU() for _ in range(4097)]).build(2),
     "a saved network must have at most 4096 layers, got 4097."),
    (lambda: Sequential([ReLU()]).build(2**21),
     "n_in must be at most 1048576 to save a network without parameters, got 2097152."),
], ids=["huge-labels", "padded-strings", "deep", "ndim", "layers", "free-width"])
def test_save_refuses_what_load_would_refuse_and_keeps_the_old_file(make, message, tmp_path,
                                                                    tiny):
    path = tmp_path / "keep.numnet"
    save(tiny, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=re.escape(message)):
        save(make(), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.numnet"]


@pytest.mark.parametrize("value", [
    np.array(["x" * 4_000_000, "y" * 4_000_000], dtype=object),  # a header near the cap
    np.array(["a" * 50] + ["b"] * 200),  # padded strings within the budget
    nested(90),
    np.zeros((1,) * 8),
], ids=["long-labels", "padded-strings", "deep", "ndim-8"])
def test_extreme_but_allowed_objects_round_trip(value):
    est = _fitted_with("extra_", value)
    loaded = loads(dumps(est))
    assert same(est.extra_, loaded.extra_)


# --- loading: hangs and memory (issue 10, section 3) --------------------------------------------

def test_fifo_and_devices_are_refused_before_opening(tmp_path):
    fifo = tmp_path / "fifo.numnet"
    os.mkfifo(fifo)
    (tmp_path / "zero.numnet").symlink_to("/dev/zero")
    cases = [(fifo, "a FIFO (named pipe)"), ("/dev/null", "a character device"),
             (tmp_path / "zero.numnet", "a character device")]
    for path, kind in cases:
        with pytest.raises(ModelFileError, match=re.escape(
                f"Cannot load {str(path)!r}: it is {kind}, not a numnet model file.")):
            load(path)
        with pytest.raises(ModelFileError, match=re.escape(
                f"Cannot load {str(path)!r}: it is {kind}, not a numnet model file.")):
            read_metadata(path)


def sparse_forgery(path, net_file, n_bytes):
    """``net_file`` with an extra unused tensor of ``n_bytes`` zero bytes, as a sparse file."""
    header, metadata, body = split_file(net_file)
    header = dict(header, extra={"dtype": "U8", "shape": [n_bytes],
                                 "data_offsets": [len(body), len(body) + n_bytes]})
    start = join_file(header, metadata, body)
    with open(path, "wb") as file:
        file.write(start)
        file.truncate(len(start) + n_bytes)


def test_unused_huge_tensor_is_refused_without_reading_it(net_file, tmp_path):
    import tracemalloc

    path = tmp_path / "forged.numnet"
    sparse_forgery(path, net_file, 2**31)  # 2 GiB, taking no disk space
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=re.escape(
                "the file holds tensors that the metadata never uses: ['extra']; the file was "
                "altered.")):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**22  # 4 MiB: the header and the metadata, nothing of the 2 GiB


def test_a_load_reads_only_the_tensor_bytes(net_file, tmp_path, monkeypatch):
    """Memory follows the model: each tensor is read into its own array, nothing larger."""
    import tracemalloc

    net = Sequential([Dense(512), ReLU(), Dense(512)]).build(512, random_state=0)
    path = tmp_path / "big.numnet"
    save(net, path)
    tracemalloc.start()
    try:
        loaded = load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the tensors (4.2 MB) read once, plus the built network's parameters and gradients: 3x
    assert peak < 3.6 * net.params.nbytes
    assert np.array_equal(loaded.params, net.params)


def test_text_file_given_as_a_model_says_so(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("species,bill_length_mm,island\nAdelie,39.1,Torgersen\n" * 3)
    with pytest.raises(ModelFileError, match=re.escape(
            f"Cannot load {str(path)!r}: this is not a numnet model file (it looks like "
            "text/CSV).")):
        load(path)


def pipeline_edit(fn):
    def edit(header, metadata):
        fn(metadata["object"]["state"])
    return edit


def _drop_first_column(state):
    del state["preprocessor"]["columns"][0]


def _repeat_first_column(state):
    columns = state["preprocessor"]["columns"]
    columns[1] = dict(columns[0])


@pytest.mark.parametrize("edit, message", [
    (_drop_first_column, "the preprocessing makes "),
    (_repeat_first_column, "the preprocessing lists the column "),
    (lambda s: s.update(task="regression"),
     "the pipeline's task is 'regression', but its estimator MLPClassifier is a classifier; "
     "the file was altered."),
    (lambda s: s.update(target=s["preprocessor"]["columns"][0]["name"]),
     "is also an input column of the preprocessing; the file was altered."),
], ids=["dropped-column", "duplicated-column", "task", "target-as-input"])
def test_pipeline_parts_must_fit_together(pipeline, edit, message):
    pipe, _ = pipeline
    with pytest.raises(ModelFileError, match=re.escape(message)) as caught:
        loads(forge(dumps(pipe), pipeline_edit(edit)), name="m.numnet")
    assert str(caught.value).startswith("Cannot load 'm.numnet': ")


@pytest.mark.filterwarnings("ignore")
def test_a_missing_indicator_needs_imputation_by_indicator(pipeline):
    _, frame = pipeline
    pipe, _ = train_pipeline(frame, target="label", impute="indicator",
                             params={"hidden_layer_sizes": (4,), "max_iter": 5,
                                     "random_state": 0})
    assert "size.missing" in pipe.preprocessor.feature_names_out_
    assert isinstance(loads(dumps(pipe)), TabularPipeline)

    def edit(state):
        state["preprocessor"]["impute"] = "median"

    with pytest.raises(ModelFileError, match=re.escape(
            "the column 'size' has a missing-value indicator, but the preprocessing imputes "
            "'median'; the file was altered.")):
        loads(forge(dumps(pipe), pipeline_edit(edit)), name="m.numnet")
