"""Fuzzing the model-file and checkpoint loaders with hypothesis.

Valid files of every kind (Sequential, estimator, pipeline, checkpoint) are mutated byte by
byte, truncated, and forged: headers with huge or negative shapes and offsets, wrong dtypes,
duplicate keys, deep nesting, NaN and infinity, foreign tags, pickle payloads. Forged files get
a matching sha256 again (``join_file`` from test_io), so the fuzzer reaches the checks behind
the checksum. Whatever the file, a loader may only return a valid object or raise
``ModelFileError``; a generous hypothesis deadline (300 s: a loaded machine is many times
slower than an idle one) fails a file that sends a loader into a near-endless loop, and
tracemalloc shows that forged huge shapes allocate nothing large.

The normal suite tries a few hundred files; ``test_fuzz_loaders_nightly`` (marked slow) tries
12,000 and prints the figures (files tried, distinct errors, time, peak memory).
"""

import collections
import json
import pickle
import re
import resource
import time
import tracemalloc
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numnet as nn
from numnet.io import dumps, loads
from numnet.io._safetensors import DTYPES, ModelFileError
from numnet.io.checkpoint import loads_state
from numnet.tabular import train_pipeline
from numnet.tabular.predictor import loads_for_prediction
from test_io import join_file, split_file

# --- the valid files the fuzzer starts from ----------------------------------------------------


@cache
def seed_files():
    """{kind: bytes} of small valid files: a network, an estimator, a pipeline, a checkpoint."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    labels = np.where(X[:, 0] > 0, "yes", "no")
    net = nn.Sequential([nn.Dense(3), nn.ReLU(), nn.Dropout(0.1), nn.Dense(2)]).build(
        3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = nn.MLPClassifier((3,), max_iter=2, random_state=0, early_stopping=True,
                                     n_iter_no_change=1).fit(X, labels)
        frame = pd.DataFrame({"x": X[:, 0], "city": rng.choice(["a", "b"], 40), "y": labels})
        pipeline, _ = train_pipeline(frame, target="y", params={
            "hidden_layer_sizes": (2,), "max_iter": 2, "random_state": 0})
    checkpoint = _Keep()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = nn.MLPClassifier((3,), dropout=0.2, early_stopping=True, max_iter=3,
                               random_state=0, n_iter_no_change=5)
        est._checkpoint = checkpoint
        est.fit(X, labels)
    net_ = nn.Sequential([nn.Dense(2), nn.Tanh(), nn.Dense(1)]).build(3, random_state=0)
    schedule_run = _Keep()
    nn.train(net_, nn.MeanSquaredError(), nn.SGD(0.1, momentum=0.9), X, X[:, 0], max_epochs=2,
             validation_fraction=0.25, early_stopping=nn.EarlyStopping(patience=5),
             lr_schedule=nn.ReduceOnPlateau(), checkpoint=schedule_run, random_state=1)
    return {
        "sequential": dumps(net), "estimator": dumps(estimator), "pipeline": dumps(pipeline),
        "pipeline-predict": dumps(pipeline),  # read by numnet predict's loader
        "checkpoint": checkpoint.data, "checkpoint-sgd": schedule_run.data,
    }


class _Keep:
    """A checkpoint that keeps the bytes of the last file it would have written."""

    every = 1

    def save(self, state):
        from numnet.io.checkpoint import dumps_state

        self.data = dumps_state(state, info={"command": ["numnet", "train"], "seed": 3})

    def load(self):
        return None


def load(kind, raw):
    """The loader under test for a file of ``kind``: the model loader or the checkpoint one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind.startswith("checkpoint"):
            return loads_state(raw, name="fuzzed")
        if kind == "pipeline-predict":
            return loads_for_prediction(raw, name="fuzzed")
        return loads(raw, name="fuzzed")


def outcome(kind, raw, seen=None):
    """"loaded" or the normalised error; anything but ModelFileError propagates."""
    try:
        load(kind, raw)
        result = "loaded"
    except ModelFileError as error:
        assert str(error).startswith("Cannot load 'fuzzed': ")
        result = re.sub(r"\d+", "#", str(error))[:120]
    if seen is not None:
        seen[result] += 1
    return result


def test_seed_files_load():
    files = seed_files()
    for kind, raw in files.items():
        assert outcome(kind, raw) == "loaded", kind
    state, info = loads_state(files["checkpoint"])
    assert info == {"command": ["numnet", "train"], "seed": 3}
    assert state.finished and state.callbacks["0"]["validation_split"] is not None


# --- strategies ---------------------------------------------------------------------------------

KINDS = ["sequential", "estimator", "pipeline", "pipeline-predict", "checkpoint", "checkpoint-sgd"]
NAMES = ["__numnet__", "ndarray", "sequential", "estimator", "pipeline", "checkpoint", "history",
         "tuple", "dict", "scalar", "str_array", "object_array", "float", "key", "items",
         "shape", "width", "dtype", "value", "class", "params", "attributes", "state", "info",
         "config", "layers", "n_in", "prefix", "epoch", "batch", "optimizer", "fingerprint",
         "rng_state", "bit_generator", "inc", "has_uint32", "uinteger", "learning_rate", "t",
         "m_sum", "best_params", "mode", "best", "wait", "callbacks", "finished", "loss",
         "validation_split", "PCG64", "MT19937", "Dense", "ReLU", "F64", "I64", "inf", "nan",
         "0.W", "network_/0.W", "params", "MLPClassifier", "os.system", "numnet"]
HUGE = [2**31, 2**32, 2**40, 2**53 + 1, 2**63, 2**64, 2**70, 2**128, -1, -2**63, 10**30]

ints = st.one_of(st.integers(-3, 12), st.integers(-2**64, 2**64), st.sampled_from(HUGE))
leaves = st.one_of(
    st.none(), st.booleans(), ints, st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(NAMES),
)
json_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=6)), children,
                        max_size=4),
        st.fixed_dictionaries({"__numnet__": st.sampled_from(NAMES)},
                              optional={k: children for k in ("key", "items", "shape",
                                                              "width", "dtype", "value")}),
    ),
    max_leaves=10,
)
shapes = st.one_of(st.lists(ints, max_size=9), json_values)
dtypes = st.one_of(st.sampled_from([*DTYPES, "F8", "O", "BF16", "U", "", "f64"]), json_values)


def paths(value, prefix=()):
    """Every path (tuple of keys and indices) into a JSON value, the root included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def set_path(root, path, value):
    if not path:
        return value
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return root


def delete_path(root, path):
    node = root
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


def rejoin(header, metadata, body):
    """join_file with a matching sha256 where one can be computed for the edited parts."""
    try:
        return join_file(header, metadata, body)
    except (IndexError, OverflowError, AttributeError, MemoryError):
        return join_file(header, metadata, body, checksum=False)


def raw_file(header_text, body):
    raw = header_text.encode("utf-8", "surrogatepass")
    return len(raw).to_bytes(8, "little") + raw + body


@st.composite
def mutated(draw):
    """A valid file with a few bytes changed, inserted or deleted, often in the header."""
    kind = draw(st.sampled_from(KINDS))
    raw = bytearray(seed_files()[kind])
    n_header = int.from_bytes(raw[:8], "little")
    for _ in range(draw(st.integers(1, 6))):
        end = 8 + n_header if draw(st.booleans()) else len(raw)
        position = draw(st.integers(0, max(min(end, len(raw)) - 1, 0)))
        action = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if action == "flip" and raw:
            raw[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and raw:
            raw[position] = draw(st.sampled_from(b'0123456789{}[]":,-.eE \\\x00\xff'))
        elif action == "insert":
            raw[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif raw:
            del raw[position:position + draw(st.integers(1, 4))]
    if draw(st.integers(0, 3)) == 0:
        raw = raw[:draw(st.integers(0, len(raw)))]
    return kind, bytes(raw)


@st.composite
def forged(draw):
    """A valid file whose header or metadata is edited, then re-encoded with a good sha256."""
    kind = draw(st.sampled_from(KINDS))
    header, metadata, body = split_file(seed_files()[kind])
    tensors = [name for name in header if name != "__metadata__"]
    edit = draw(st.sampled_from(["tensor", "node", "delete", "top", "deep", "duplicate",
                                 "pickle", "extra-tensor", "swap", "length", "kind"]))
    if edit == "tensor" and tensors:
        name = draw(st.sampled_from(tensors))
        field = draw(st.sampled_from(["shape", "dtype", "data_offsets", "extra"]))
        value = draw({"shape": shapes, "dtype": dtypes}.get(
            field, st.one_of(st.lists(ints, max_size=3), json_values)))
        header[name][field] = value
    elif edit == "node":
        path = draw(st.sampled_from(paths(metadata["object"])))
        metadata["object"] = set_path(metadata["object"], path, draw(json_values))
    elif edit == "delete":
        candidates = [p for p in paths(metadata["object"]) if p]
        delete_path(metadata["object"], draw(st.sampled_from(candidates)))
    elif edit == "top":
        key = draw(st.sampled_from(["format", "format_version", "numnet_version", "kind",
                                    "object", "sha256", "extra"]))
        metadata[key] = draw(json_values)
    elif edit == "kind":
        metadata["kind"] = draw(st.sampled_from(["sequential", "estimator", "pipeline",
                                                 "checkpoint"]))
    elif edit == "deep":
        depth = draw(st.integers(40, 300_000))
        path = draw(st.sampled_from(paths(metadata["object"])))
        metadata["object"] = set_path(metadata["object"], path, "@@deep@@")
        text = json.dumps(metadata).replace('"@@deep@@"', "[" * depth + "]" * depth)
        where = draw(st.sampled_from(["metadata", "header"]))
        if where == "metadata":
            return kind, raw_file(json.dumps(dict(header, __metadata__={"numnet": text})), body)
        metadata["object"] = set_path(metadata["object"], path, None)
        outer = json.dumps(dict(header, __metadata__={"numnet": json.dumps(metadata)}))
        nested = '{"x": ' + "[" * depth + "]" * depth + ", "
        return kind, raw_file(outer.replace("{", nested, 1), body)
    elif edit == "duplicate":
        key = draw(st.sampled_from(["kind", "format", "sha256", "object", "__numnet__"]))
        text = json.dumps(metadata).replace(f'"{key}":', f'"{key}": null, "{key}":', 1)
        if draw(st.booleans()):
            return kind, raw_file(json.dumps(dict(header, __metadata__={"numnet": text})), body)
        name = draw(st.sampled_from(tensors or ["__metadata__"]))
        outer = json.dumps(dict(header, __metadata__={"numnet": json.dumps(metadata)}))
        return kind, raw_file(outer.replace("{", "{" + json.dumps(name) + ": {}, ", 1), body)
    elif edit == "pickle":
        payload = pickle.dumps(draw(json_values), protocol=draw(st.integers(0, 5)))
        where = draw(st.sampled_from(["file", "metadata", "tensor"]))
        if where == "file":
            return kind, payload
        if where == "metadata":
            text = payload.decode("latin-1")
            return kind, raw_file(json.dumps(dict(header, __metadata__={"numnet": text})), body)
        header = dict(header, pickled={"dtype": "U8", "shape": [len(payload)],
                                       "data_offsets": [len(body), len(body) + len(payload)]})
        body = body + payload
    elif edit == "extra-tensor":
        dtype = draw(st.sampled_from(sorted(DTYPES)))
        count = draw(st.integers(0, 6))
        size = count * DTYPES[dtype].itemsize
        header = dict(header, extra={"dtype": dtype, "shape": [count],
                                     "data_offsets": [len(body), len(body) + size]})
        body = body + bytes(draw(st.binary(min_size=size, max_size=size)))
        if draw(st.booleans()) and tensors:  # and point a reference at it
            path = draw(st.sampled_from(paths(metadata["object"])))
            metadata["object"] = set_path(metadata["object"], path,
                                          {"__numnet__": "ndarray", "key": "extra"})
    elif edit == "swap" and len(tensors) > 1:
        a, b = draw(st.lists(st.sampled_from(tensors), min_size=2, max_size=2, unique=True))
        header[a], header[b] = header[b], header[a]
    elif edit == "length":
        raw = rejoin(header, metadata, body)
        length = draw(st.one_of(st.integers(0, len(raw)), st.sampled_from(HUGE[:8])))
        return kind, int(length % 2**64).to_bytes(8, "little") + raw[8:]
    return kind, rejoin(header, metadata, body)


FUZZ_SETTINGS = {"deadline": 300_000, "suppress_health_check": list(HealthCheck),
                 "database": None}


@settings(max_examples=150, derandomize=True, **FUZZ_SETTINGS)
@given(case=mutated())
def test_mutated_and_truncated_files_only_raise_model_file_errors(case):
    outcome(*case)


@settings(max_examples=250, derandomize=True, **FUZZ_SETTINGS)
@given(case=forged())
def test_forged_files_only_raise_model_file_errors(case):
    outcome(*case)


@settings(max_examples=30, derandomize=True, **FUZZ_SETTINGS)
@given(case=st.one_of(mutated(), forged()), other=st.sampled_from(KINDS))
def test_files_given_to_the_other_loader_only_raise_model_file_errors(case, other):
    outcome(other, case[1])


# --- no large allocation -----------------------------------------------------------------------


def huge_cases():
    """Forged files that declare far more data than they hold."""
    files = seed_files()
    big = 2**40

    def forge(kind, edit):
        header, metadata, body = split_file(files[kind])
        edit(header, metadata)
        return kind, rejoin(header, metadata, body)

    def first_tensor(header):
        return next(name for name in header if name != "__metadata__")

    def layer_width(metadata):
        metadata["object"]["config"]["layers"][0]["config"]["n_out"] = big

    def str_width(metadata):
        metadata["object"]["attributes"]["classes_"]["width"] = 3 * 10**7

    def many_layers(metadata):
        metadata["object"]["config"]["layers"] *= 2000

    def ragged(metadata):
        metadata["object"]["state"]["validation_split"] = {
            "__numnet__": "tuple", "items": [{"__numnet__": "float", "value": "inf"}] * 20_000}

    yield forge("sequential", lambda h, m: h[first_tensor(h)].update(shape=[big, big]))
    yield forge("sequential", lambda h, m: h[first_tensor(h)].update(
        shape=[2**31, 2**31], data_offsets=[0, 2**64]))
    yield forge("checkpoint", lambda h, m: h[first_tensor(h)].update(shape=[big]))
    yield forge("sequential", lambda h, m: layer_width(m))
    yield forge("sequential", lambda h, m: many_layers(m))
    yield forge("estimator", lambda h, m: str_width(m))
    yield forge("checkpoint", lambda h, m: ragged(m))
    yield "sequential", (2**63).to_bytes(8, "little") + b"{}"
    yield "checkpoint", (60 * 2**20).to_bytes(8, "little") + b"{" * 1000


@pytest.mark.parametrize("case", list(huge_cases()), ids=[
    "shape-2^40", "shape-and-offsets", "checkpoint-params-2^40", "layer-width-2^40",
    "8000-layers", "string-width-3e7", "checkpoint-20k-items", "header-2^63",
    "header-60MiB-declared"])
def test_forged_huge_declarations_allocate_little(case):
    kind, raw = case
    tracemalloc.start()
    try:
        result = outcome(kind, raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result != "loaded"
    # Declared sizes cost nothing; what a file really holds costs its JSON parse (Python objects
    # are about 10 times larger than their text) plus the array bytes.
    assert peak < 16 * len(raw) + 8 * 2**20, f"{peak} bytes for a {len(raw)}-byte file: {result}"


# --- the nightly run ----------------------------------------------------------------------------


@pytest.mark.slow
def test_fuzz_loaders_nightly(capsys):
    """12,000 files: 6,000 mutated or truncated, 6,000 forged; prints the figures."""
    seen, tried, peak = collections.Counter(), [0], [0, None, 0, None]
    seed_files()

    @settings(max_examples=6000, **FUZZ_SETTINGS)
    @given(case=st.one_of(mutated(), forged()))
    def run(case):
        # hypothesis's own data stays allocated between examples: count what the loader adds
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = outcome(*case, seen)
        added = tracemalloc.get_traced_memory()[1] - before
        if added > peak[0]:
            peak[:] = [added, case[0], len(case[1]), result]
        tried[0] += 1

    started = time.perf_counter()
    tracemalloc.start()
    try:
        run()
        run()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nfuzz: {tried[0]} files, {len(seen)} distinct outcomes "
              f"({seen['loaded']} loaded), {elapsed:.0f} s; largest allocation by a load "
              f"{peak[0] / 2**20:.2f} MiB (a {peak[1]} file of {peak[2]} bytes: {peak[3]}); "
              f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} "
              "MiB")
        for message, count in seen.most_common():
            print(f"  {count:6d}  {message}")
    assert tried[0] >= 10_000
    assert peak[0] < 32 * 2**20


# --- from the writer's side: whatever save accepts, load accepts (issue 10, section 2) ---------

plain_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)
plain_values = st.recursive(
    plain_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(["__numnet__", "key"])),
                        children, max_size=4),
        st.dictionaries(st.integers(-5, 5), children, max_size=3),
    ),
    max_leaves=20,
)


@st.composite
def attribute_values(draw):
    """A fitted attribute numnet can try to save: plain data, arrays, and extreme sizes."""
    choice = draw(st.sampled_from(["plain", "numbers", "strings", "objects", "deep", "long"]))
    if choice == "plain":
        return draw(plain_values)
    if choice == "numbers":
        dtype = draw(st.sampled_from(["float32", "float64", "int8", "int64", "uint16", "bool"]))
        shape = tuple(draw(st.lists(st.integers(0, 3), max_size=9)))
        return np.arange(int(np.prod(shape))).astype(dtype).reshape(shape)
    if choice in ("strings", "objects"):
        items = draw(st.lists(st.text(max_size=6), min_size=1, max_size=30))
        width = draw(st.sampled_from([0, 10, 2_000, 200_000]))
        items[0] += "w" * width
        array = np.array(items, dtype=object if choice == "objects" else str)
        return array.reshape(draw(st.sampled_from([(-1,), (1, -1), (-1, 1)])))
    if choice == "deep":
        value = draw(plain_leaves)
        for _ in range(draw(st.integers(1, 120))):
            value = [value] if draw(st.booleans()) else {"k": value}
        return value
    n_chars = draw(st.sampled_from([10, 5_000_000, 9_000_000]))
    return [draw(st.sampled_from("aé\"\\\n")) * n_chars for _ in range(draw(st.integers(1, 2)))]


def equal(a, b):
    """Equality of saved and loaded values: types, dtypes and NaN included."""
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and all(equal(x, y) for x, y in zip(a.ravel().tolist(), b.ravel().tolist(),
                                                   strict=True)))
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(equal(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, dict):
        return (type(b) is dict and list(a) == list(b)
                and all(equal(a[k], b[k]) for k in a))
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return type(a) is type(b) and a == b


@cache
def _fitted_linear():
    return nn.LinearRegression().fit(np.eye(3), [0.0, 1.0, 2.0])


@settings(max_examples=60, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck), database=None)
@given(value=attribute_values())
def test_whatever_save_accepts_load_accepts(value):
    import copy

    est = copy.deepcopy(_fitted_linear())
    est.extra_ = value
    try:
        raw = dumps(est)
    except (ValueError, TypeError) as error:  # refused with a message, before any file
        assert str(error)
        return
    assert equal(value, loads(raw).extra_)
