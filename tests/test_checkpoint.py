"""train(checkpoint=..., resume=True): interrupted runs continue bit-identically."""

import hashlib
import os
import re
import shutil
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import numnet as nn
from checkpoint_helpers import MemoryCheckpoint, SignalAtCall


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    return X, np.eye(3)[rng.integers(0, 3, 300)]


def make_run():
    net = nn.Sequential([nn.Dense(8), nn.ReLU(), nn.Dropout(0.2), nn.Dense(3)]).build(
        5, random_state=0)
    return net, nn.Adam(0.01), nn.EarlyStopping(patience=50), nn.ReduceOnPlateau(patience=2)


def run(data, loss, checkpoint=None, resume=False, random_state=3, max_epochs=12):
    X, y = data
    net, optimizer, early_stopping, schedule = make_run()
    history = nn.train(net, loss, optimizer, X, y, batch_size=32, max_epochs=max_epochs,
                       random_state=random_state, validation_fraction=0.2,
                       early_stopping=early_stopping, lr_schedule=schedule,
                       checkpoint=checkpoint, resume=resume)
    return net, history


@pytest.mark.parametrize(
    ("n_call", "signum", "epoch", "batch"),
    [(5, signal.SIGINT, 0, 5), (27, signal.SIGTERM, 3, 3), (24, signal.SIGINT, 3, 0)],
    ids=["sigint-mid-epoch-1", "sigterm-mid-epoch-4", "sigint-at-epoch-boundary"],
)
def test_interrupted_run_resumes_bit_identically(data, n_call, signum, epoch, batch):
    reference, reference_history = run(data, nn.SoftmaxCrossEntropy())
    checkpoint = MemoryCheckpoint(every=100)
    with pytest.raises(nn.TrainingInterrupted) as caught:
        run(data, SignalAtCall(n_call, signum), checkpoint)
    assert caught.value.signal == signum
    # 240 training rows / 32 = 8 batches per epoch: the state is where the signal arrived
    assert (checkpoint.state.epoch, checkpoint.state.batch) == (epoch, batch)
    assert str(caught.value) == (
        f"Training interrupted by {signal.Signals(signum).name} in epoch {epoch + 1}; the state "
        "was saved to memory. Resume with resume=True (numnet train --resume).")
    resumed, history = run(data, nn.SoftmaxCrossEntropy(), checkpoint, resume=True)
    np.testing.assert_array_equal(resumed.params, reference.params)
    assert history.loss == reference_history.loss
    assert history.val_loss == reference_history.val_loss


def test_periodic_checkpoints_and_a_finished_run_returns_its_result(data):
    checkpoint = MemoryCheckpoint(every=5)
    net, history = run(data, nn.SoftmaxCrossEntropy(), checkpoint)
    assert checkpoint.saves == 3  # epochs 5 and 10, and the end
    assert checkpoint.state.finished and checkpoint.state.epoch == 12
    again, again_history = run(data, nn.SoftmaxCrossEntropy(), checkpoint, resume=True)
    np.testing.assert_array_equal(again.params, net.params)
    assert again_history.loss == history.loss and again_history.n_epochs == 12


def test_resume_reuses_the_validation_split_even_without_a_seed(data):
    checkpoint = MemoryCheckpoint(every=1)
    with pytest.raises(nn.TrainingInterrupted):
        run(data, SignalAtCall(20, signal.SIGINT), checkpoint, random_state=None)
    train_idx, val_idx = checkpoint.state.validation_split
    assert len(train_idx) == 240 and len(val_idx) == 60
    assert set(train_idx) | set(val_idx) == set(range(300))
    run(data, nn.SoftmaxCrossEntropy(), checkpoint, resume=True, random_state=None)
    np.testing.assert_array_equal(checkpoint.state.validation_split[1], val_idx)


def test_resume_refuses_a_checkpoint_of_another_run(data):
    checkpoint = MemoryCheckpoint()
    run(data, nn.SoftmaxCrossEntropy(), checkpoint, max_epochs=2)
    X, y = data
    net = nn.Sequential([nn.Dense(3)]).build(5)
    with pytest.raises(ValueError, match=re.escape(
            "The checkpoint in memory was written for n_params=75, but this run has "
            "n_params=18. Resume with the same data and settings, or start afresh without "
            "resume.")):
        nn.train(net, nn.SoftmaxCrossEntropy(), nn.Adam(0.01), X, y, batch_size=32,
                 validation_fraction=0.2, checkpoint=checkpoint, resume=True)


def test_resume_without_a_checkpoint_is_an_error(data):
    X, y = data
    net = nn.Sequential([nn.Dense(3)]).build(5)
    with pytest.raises(ValueError, match=re.escape(
            "resume must be False without a checkpoint, got True. Pass checkpoint=... to "
            "resume from.")):
        nn.train(net, nn.SoftmaxCrossEntropy(), nn.Adam(), X, y, resume=True)


# --- numnet.Checkpoint: the state in a file ----------------------------------------------------


class RecordingCheckpoint(nn.Checkpoint):
    """A file-backed checkpoint that also keeps the last state it saved, for comparisons."""

    def save(self, state):
        self.last = state
        super().save(state)


def assert_same_state(loaded, saved):
    """Field by field, arrays bit for bit (dtype included), floats including inf."""
    for name in nn.TrainingState.__dataclass_fields__:
        a, b = getattr(loaded, name), getattr(saved, name)
        assert_same_value(a, b, name)


def assert_same_value(a, b, where):
    if isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b), where
        assert a.flags.writeable, where
    elif isinstance(b, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_value(x, y, f"{where}[{i}]")
    elif isinstance(b, dict):
        assert isinstance(a, dict) and sorted(a) == sorted(b), where
        for key in b:
            assert_same_value(a[key], b[key], f"{where}[{key!r}]")
    else:
        assert type(a) is type(b) and a == b, (where, a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_checkpoint_file_holds_the_complete_state(data, tmp_path, dtype):
    # Interrupted in batch 5 of epoch 1: early stopping's and the schedule's best are still inf.
    X, y = data
    data32 = (X.astype(dtype), y.astype(dtype))
    checkpoint = RecordingCheckpoint(tmp_path / "run", every=100)
    with pytest.raises(nn.TrainingInterrupted):
        run_typed(data32, SignalAtCall(5, signal.SIGINT), checkpoint, dtype)
    loaded = nn.Checkpoint(tmp_path / "run").load()
    assert_same_state(loaded, checkpoint.last)
    assert loaded.early_stopping["best"] == np.inf and loaded.schedule["best"] == np.inf
    assert loaded.params.dtype == dtype and loaded.rng_state["state"]["state"] > 2**64
    assert sorted(os.listdir(tmp_path / "run")) == ["checkpoint.numnet"]  # no temporaries


def run_typed(data, loss, checkpoint, dtype, resume=False):
    X, y = data
    net = nn.Sequential([nn.Dense(8), nn.ReLU(), nn.Dropout(0.2), nn.Dense(3)]).build(
        5, dtype=dtype, random_state=0)
    history = nn.train(net, loss, nn.Adam(0.01), X, y, batch_size=32, max_epochs=12,
                       random_state=3, validation_fraction=0.2,
                       early_stopping=nn.EarlyStopping(patience=50),
                       lr_schedule=nn.ReduceOnPlateau(patience=2), checkpoint=checkpoint,
                       resume=resume)
    return net, history


@pytest.mark.parametrize(("n_call", "signum"), [(5, signal.SIGINT), (27, signal.SIGTERM)],
                         ids=["sigint-epoch-1", "sigterm-epoch-4"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_resume_through_files_is_bit_identical(data, tmp_path, n_call, signum, dtype):
    X, y = data
    typed = (X.astype(dtype), y.astype(dtype))
    reference, reference_history = run_typed(typed, nn.SoftmaxCrossEntropy(), None, dtype)
    with pytest.raises(nn.TrainingInterrupted) as caught:
        run_typed(typed, SignalAtCall(n_call, signum), nn.Checkpoint(tmp_path, every=2), dtype)
    assert str(caught.value.checkpoint) == str(tmp_path / "checkpoint.numnet")
    # A fresh process would build everything anew: so do we, from the file alone.
    resumed, history = run_typed(typed, nn.SoftmaxCrossEntropy(), nn.Checkpoint(tmp_path),
                                 dtype, resume=True)
    assert resumed.params.dtype == dtype
    np.testing.assert_array_equal(resumed.params, reference.params)
    assert history.loss == reference_history.loss
    assert history.val_metric == reference_history.val_metric
    assert nn.Checkpoint(tmp_path).load().finished


def test_checkpoint_every_n_epochs_and_at_the_end(data, tmp_path):
    saved_epochs = []

    class Spy(nn.Checkpoint):
        def save(self, state):
            saved_epochs.append((state.epoch, state.finished))
            super().save(state)

    run(data, nn.SoftmaxCrossEntropy(), Spy(tmp_path, every=5))
    assert saved_epochs == [(5, False), (10, False), (12, True)]
    assert nn.Checkpoint(tmp_path / "nothing-here").load() is None
    assert repr(nn.Checkpoint(tmp_path, every=5)) == f"Checkpoint({str(tmp_path)!r}, every=5)"
    with pytest.raises(ValueError, match=re.escape("every must be an integer >= 1, got 0.")):
        nn.Checkpoint(tmp_path, every=0)


def test_resume_refuses_a_checkpoint_of_another_kind_of_run(data, tmp_path):
    X, y = data
    checkpoint = nn.Checkpoint(tmp_path)
    net, *_ = make_run()
    nn.train(net, nn.SoftmaxCrossEntropy(), nn.Adam(0.01), X, y, max_epochs=2,
             checkpoint=checkpoint)
    net, *_ = make_run()
    with pytest.raises(ValueError, match=re.escape(
            f"The checkpoint in {checkpoint} does not fit this run: its learning-rate schedule "
            "differs. Resume with the same data and settings, or start afresh without resume.")):
        nn.train(net, nn.SoftmaxCrossEntropy(), nn.Adam(0.01), X, y, max_epochs=2,
                 lr_schedule=nn.StepDecay(1), checkpoint=checkpoint, resume=True)
    net, *_ = make_run()
    with pytest.raises(ValueError, match=re.escape(
            f"The checkpoint in {checkpoint} does not fit this run: it holds state for the "
            "callbacks [], this run has ['0']. Resume with the same data and settings, or start "
            "afresh without resume.")):
        nn.train(net, nn.SoftmaxCrossEntropy(), nn.Adam(0.01), X, y, max_epochs=2,
                 callbacks=[StatefulCallback()], checkpoint=checkpoint, resume=True)


class StatefulCallback:
    """A callback with state: counts the epochs it saw; train() saves and restores it."""

    def __init__(self):
        self.seen = []

    def __call__(self, epoch, history):
        self.seen.append(epoch)

    def state_dict(self):
        return {"seen": list(self.seen)}

    def load_state_dict(self, state):
        self.seen = list(state["seen"])


def test_callback_state_is_saved_and_restored(data, tmp_path):
    X, y = data

    def fit(callback, loss, resume=False):
        net, *_ = make_run()
        nn.train(net, loss, nn.Adam(0.01), X, y, batch_size=32, max_epochs=6, random_state=0,
                 callbacks=[callback], checkpoint=nn.Checkpoint(tmp_path), resume=resume)

    first = StatefulCallback()
    with pytest.raises(nn.TrainingInterrupted):
        fit(first, SignalAtCall(35, signal.SIGTERM))  # 10 batches an epoch: in epoch 4
    assert first.seen == [1, 2, 3]
    second = StatefulCallback()
    fit(second, nn.SoftmaxCrossEntropy(), resume=True)
    assert second.seen == [1, 2, 3, 4, 5, 6]


# --- estimators: fit() with a checkpoint ------------------------------------------------------


class KillAt:
    """An estimator fit callback that sends a signal to this process after epoch ``epoch``."""

    def __init__(self, epoch, signum):
        self.epoch, self.signum = epoch, signum

    def __call__(self, epoch, history):
        if epoch == self.epoch:
            os.kill(os.getpid(), self.signum)


ESTIMATORS = {
    "mlp-early-stopping-dropout": lambda rs: nn.MLPClassifier(
        (8,), dropout=0.2, early_stopping=True, max_iter=25, random_state=rs,
        n_iter_no_change=100),
    "mlp-sgd-adaptive": lambda rs: nn.MLPClassifier(
        (8,), solver="sgd", learning_rate="adaptive", max_iter=30, random_state=rs, tol=1e-2,
        n_iter_no_change=2),
    "logistic-sgd-invscaling": lambda rs: nn.LogisticRegression(
        solver="sgd", learning_rate="invscaling", max_iter=20, random_state=rs),
    "linear-gd-l1": lambda rs: nn.LinearRegression(l1_ratio=1.0, alpha=0.01, solver="gd",
                                                   max_iter=20),
}


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    labels = np.where(X[:, 0] + X[:, 1] ** 2 > 0.5, "a", np.where(X[:, 2] > 0, "b", "c"))
    return X, labels, X @ [1.0, -2.0, 0.5, 0.0]


def fit(make, table, random_state=0, checkpoint=None, resume=False, kill=None):
    X, labels, values = table
    est = make(random_state)
    if checkpoint is not None:
        est._checkpoint, est._resume = checkpoint, resume
    if kill is not None:
        est._fit_callbacks = [kill]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, values if isinstance(est, nn.LinearRegression) else labels)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_interrupted_estimator_fit_resumes_bit_identically(name, table, tmp_path):
    make = ESTIMATORS[name]
    reference = fit(make, table)
    with pytest.raises(nn.TrainingInterrupted):
        fit(make, table, checkpoint=nn.Checkpoint(tmp_path, every=3),
            kill=KillAt(7, signal.SIGINT))
    assert nn.Checkpoint(tmp_path).load().epoch == 7
    resumed = fit(make, table, checkpoint=nn.Checkpoint(tmp_path), resume=True)
    np.testing.assert_array_equal(resumed.network_.params, reference.network_.params)
    for attribute in ("n_iter_", "t_", "loss_curve_", "best_loss_", "validation_scores_",
                      "best_validation_score_"):
        assert repr(getattr(resumed, attribute)) == repr(getattr(reference, attribute)), attribute
    assert resumed.history_.loss == reference.history_.loss


def test_unseeded_estimator_resumes_with_its_own_split(table, tmp_path):
    make = ESTIMATORS["mlp-early-stopping-dropout"]
    with pytest.raises(nn.TrainingInterrupted):
        fit(make, table, random_state=None, checkpoint=nn.Checkpoint(tmp_path),
            kill=KillAt(4, signal.SIGTERM))
    split = nn.Checkpoint(tmp_path).load().callbacks["0"]["validation_split"]
    resumed = fit(make, table, random_state=None, checkpoint=nn.Checkpoint(tmp_path),
                  resume=True)
    assert resumed.n_iter_ == 25 and len(resumed.validation_scores_) == 25
    final = nn.Checkpoint(tmp_path).load().callbacks["0"]["validation_split"]
    for before, after in zip(split, final, strict=True):
        np.testing.assert_array_equal(before, after)


def test_estimators_refuse_checkpoints_they_cannot_honour(table, tmp_path):
    X, labels, _ = table
    est = nn.LogisticRegression()
    est._checkpoint = nn.Checkpoint(tmp_path)
    with pytest.raises(ValueError, match=re.escape(
            "solver of LogisticRegression must be one of {'adam', 'gd', 'sgd'} to checkpoint "
            "training, got 'lbfgs'. L-BFGS cannot be resumed mid-run: choose another solver, or "
            "train without a checkpoint.")):
        est.fit(X, labels)
    est = nn.MLPClassifier((4,))
    est._checkpoint = nn.Checkpoint(tmp_path)
    with pytest.raises(ValueError, match=re.escape(
            "MLPClassifier.partial_fit cannot write checkpoints (each call trains one epoch). "
            "Use fit(), or save the model between calls with numnet.save.")):
        est.partial_fit(X, labels, classes=["a", "b", "c"])
    assert not os.listdir(tmp_path)


# --- loading altered checkpoint files ------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    folder = tmp_path_factory.mktemp("ckpt")
    run((X, np.eye(3)[rng.integers(0, 3, 300)]), nn.SoftmaxCrossEntropy(),
        nn.Checkpoint(folder), max_epochs=3)
    return (folder / "checkpoint.numnet").read_bytes()


def with_extra_tensor(header, body, dtype="BOOL", count=0):
    from numnet.io._safetensors import DTYPES

    size = count * DTYPES[dtype].itemsize
    header["extra"] = {"dtype": dtype, "shape": [count],
                       "data_offsets": [len(body), len(body) + size]}
    return body + bytes(size)


def forge_checkpoint(raw, edit):
    from test_io import join_file, split_file

    header, metadata, body = split_file(raw)
    body = edit(header, metadata["object"]["state"], body) or body
    return join_file(header, metadata, body)


def state_edit(fn):
    def edit(header, state, body):
        fn(state)
    return edit


def array_at(field):
    def edit(header, state, body):
        body = with_extra_tensor(header, body)
        field(state, {"__numnet__": "ndarray", "key": "extra"})
        return body
    return edit


@pytest.mark.parametrize("edit, message", [
    (state_edit(lambda s: s["rng_state"].update(bit_generator="os.system")),
     "rng_state must be the state of one of the NumPy bit generators ['PCG64', 'PCG64DXSM', "
     "'Philox', 'SFC64', 'MT19937']."),
    (array_at(lambda s, a: s["rng_state"].update(bit_generator=a)),
     "rng_state must be the state of one of the NumPy bit generators"),
    (state_edit(lambda s: s["rng_state"]["state"].update(state=1.5)),
     "rng_state must be the state of one of the NumPy bit generators"),
    (state_edit(lambda s: s["rng_state"]["state"].update(state=2**200)),
     "rng_state is not a valid PCG64 state ("),
    (array_at(lambda s, a: s["callbacks"]["early_stopping"].update(mode=a)),
     "early_stopping must be an object with mode 'min' or 'max', a best value, best_epoch, wait "
     "and best_params."),
    (state_edit(lambda s: s.update(epoch=-1)), "epoch must be an integer >= 0, got -1."),
    (state_edit(lambda s: s.update(epoch=2)),
     "the history must have one entry per completed epoch (2)."),
    (state_edit(lambda s: s.update(epoch_total=float("nan"))),
     "the checkpoint holds a bare NaN or infinity; they are written as tagged floats."),
    (state_edit(lambda s: s["optimizer"].update(t="x")),
     "optimizer['t'] must be a finite number or an array, got 'x'."),
    (state_edit(lambda s: s["fingerprint"].update(n_samples=100)),
     "validation_split must split the rows 0..n-1 into training rows (as many as the "
     "fingerprint's n_samples) and validation rows."),
    (state_edit(lambda s: s["fingerprint"].update(n_params=10)),
     "params has 75 float64 values, but the fingerprint says otherwise; the file was altered."),
    (state_edit(lambda s: s["schedule"].update(__class__=1)),
     "schedule must map attribute names to numbers."),
    (state_edit(lambda s: s.update(code="os.system('x')")),
     "a checkpoint state must have exactly the fields ['batch', 'callbacks', "),
    (state_edit(lambda s: s["layer_rngs"].update({"x": {}})),
     "layer_rngs must map layer indices to generator states."),
    (state_edit(lambda s: s["history"].update(loss={"__numnet__": "eval", "code": "1"})),
     "unexpected entry {'__numnet__': 'eval', 'code': '1'} in the checkpoint."),
], ids=["foreign-generator", "generator-name-array", "float-state", "huge-state",
        "mode-array", "negative-epoch", "history-length", "bare-nan", "optimizer-field",
        "split-size", "params-size", "schedule-dunder", "extra-field", "layer-index",
        "unknown-tag"])
def test_altered_checkpoint_files_are_rejected(checkpoint_file, edit, message):
    from numnet.io.checkpoint import loads_state

    with pytest.raises(nn.ModelFileError, match=re.escape(f"Cannot load 'c': {message}")):
        loads_state(forge_checkpoint(checkpoint_file, edit), name="c")


@pytest.mark.parametrize("edit, start, end", [
    (state_edit(lambda s: s["optimizer"].update(t=-1)),
     "optimizer['t'] (the step count) must be an integer >= 0, got -1; the file was altered.",
     ""),
    (state_edit(lambda s: s["optimizer"].update(t=1.5)),
     "optimizer['t'] (the step count) must be an integer >= 0, got 1.5; the file was altered.",
     ""),
    (state_edit(lambda s: s.update(batch=10**9)), "batch must be an integer in [0, ",
     "got 1000000000; the file was altered."),
    (state_edit(lambda s: s.update(batch=1)), "batch must be 0 in a finished run, got 1; the "
     "file was altered.", ""),
    (state_edit(lambda s: s.update(n_seen=10**12)), "n_seen must be at most ",
     "got 1000000000000; the file was altered."),
    (state_edit(lambda s: s["fingerprint"].update(batch_size=0)),
     "fingerprint batch_size must be an integer >= 1, got 0.", ""),
    (state_edit(lambda s: s["callbacks"]["early_stopping"].update(wait=10**6)),
     "early_stopping must have best_epoch and wait <= epoch (3), got best_epoch ",
     "and wait 1000000; the file was altered."),
], ids=["negative-step", "fractional-step", "batch-beyond-epoch", "finished-mid-epoch",
        "samples-seen", "batch-size", "early-stopping-wait"])
def test_checkpoint_counters_out_of_range_are_rejected(checkpoint_file, edit, start, end):
    from numnet.io.checkpoint import loads_state

    with pytest.raises(nn.ModelFileError, match=re.escape(f"Cannot load 'c': {start}")) as caught:
        loads_state(forge_checkpoint(checkpoint_file, edit), name="c")
    assert str(caught.value).endswith(end)


@pytest.fixture(scope="module")
def private_checkpoint_file(tmp_path_factory):
    """A finished DP-SGD run's checkpoint file: 300 rows, q = 0.2, 5 Poisson batches an epoch."""
    pytest.importorskip("dp_accounting")
    from numnet.privacy import train_private
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    folder = tmp_path_factory.mktemp("private")
    net = nn.Sequential([nn.Dense(3)]).build(5, random_state=0)
    train_private(net, nn.SoftmaxCrossEntropy(), nn.SGD(0.1), X,
                  np.eye(3)[rng.integers(0, 3, 300)], max_grad_norm=1.0, noise_multiplier=1.0,
                  batch_size=60, max_epochs=2, random_state=0,
                  checkpoint=nn.Checkpoint(folder))
    return (folder / "checkpoint.numnet").read_bytes()


def test_a_private_run_checkpoint_file_loads_with_its_poisson_counters(
        private_checkpoint_file):
    from numnet.io.checkpoint import loads_state

    state, _ = loads_state(private_checkpoint_file, name="c")
    assert state.finished and state.epoch == 2
    assert {k: state.fingerprint[k] for k in ("sampling", "batches_per_epoch", "sampling_rate",
                                              "noise_multiplier")} == {
        "sampling": "poisson", "batches_per_epoch": 5, "sampling_rate": "0.2",
        "noise_multiplier": "1.0"}
    # Poisson batches may hold more rows in an epoch than the data has: up to 5 x 300.
    loads_state(forge_checkpoint(private_checkpoint_file,
                                 state_edit(lambda s: s.update(n_seen=3 * 1500))), name="c")


@pytest.mark.parametrize("edit, message", [
    (state_edit(lambda s: s.update(batch=5, finished=False)),
     "batch must be an integer in [0, 5) (the Poisson batches of an epoch: 5), got 5; the file "
     "was altered."),
    (state_edit(lambda s: s.update(n_seen=3 * 1500 + 1)),
     "n_seen must be at most 4500 after 2 epoch(s) of 1500 rows at most, got 4501; the file "
     "was altered."),
    (state_edit(lambda s: s["fingerprint"].update(batches_per_epoch=0)),
     "fingerprint batches_per_epoch must be an integer >= 1, got 0."),
], ids=["batch-beyond-epoch", "samples-seen", "batches-per-epoch"])
def test_altered_private_checkpoint_counters_are_rejected(private_checkpoint_file, edit,
                                                          message):
    from numnet.io.checkpoint import loads_state

    with pytest.raises(nn.ModelFileError, match=re.escape(f"Cannot load 'c': {message}")):
        loads_state(forge_checkpoint(private_checkpoint_file, edit), name="c")


def test_a_fifo_in_place_of_the_checkpoint_is_refused(tmp_path):
    os.mkfifo(tmp_path / "checkpoint.numnet")
    with pytest.raises(nn.ModelFileError, match=re.escape(
            f"Cannot load {str(tmp_path / 'checkpoint.numnet')!r}: it is a FIFO (named pipe), "
            "not a numnet model file.")):
        nn.Checkpoint(tmp_path).load()


def test_checkpoint_state_nested_deeper_than_the_loader_allows_is_not_saved(tmp_path):
    checkpoint = nn.Checkpoint(tmp_path, info={"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]
                                                      ]]]]]]]]]]]]]]]]]]]]]]]]]]]})
    net = nn.Sequential([nn.Dense(1)]).build(2, random_state=0)
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match=re.escape(
            "checkpoint state info.deep" + ".0" * 32 + " must be nested at most 32 levels "
            "deep to be saved (as the loader allows), got more.")):
        nn.train(net, nn.MeanSquaredError(), nn.SGD(0.1), X, X[:, 0], max_epochs=1,
                 checkpoint=checkpoint)
    assert os.listdir(tmp_path) == []


def test_nan_parameters_in_a_checkpoint_are_rejected(checkpoint_file):
    from numnet.io.checkpoint import loads_state
    from test_io import join_file, split_file

    header, metadata, body = split_file(checkpoint_file)
    begin = header["state.params"]["data_offsets"][0]
    body = body[:begin] + np.array([np.nan]).tobytes() + body[begin + 8:]
    with pytest.raises(nn.ModelFileError, match=re.escape(
            "Cannot load 'c': params holds NaN or infinity; a checkpoint never has non-finite "
            "parameters.")):
        loads_state(join_file(header, metadata, body), name="c")
    assert loads_state(checkpoint_file)[0].epoch == 3


class NanAtCall(nn.SoftmaxCrossEntropy):
    """A loss that returns NaN on its n-th batch, as a diverging run would."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def loss_gradient(self, *args, **kwargs):
        self.calls += 1
        value, gradient = super().loss_gradient(*args, **kwargs)
        return (float("nan") if self.calls == self.n else value), gradient


def test_divergence_keeps_the_last_checkpoint(data, tmp_path):
    checkpoint = nn.Checkpoint(tmp_path, every=1)
    with pytest.raises(nn.DivergenceError) as caught:
        run(data, NanAtCall(35), checkpoint)  # 8 batches an epoch: in epoch 5
    assert caught.value.epoch == 5
    state = checkpoint.load()
    assert state.epoch == 4 and not state.finished and np.all(np.isfinite(state.params))


# --- checkpoints written before early stopping became a callback --------------------------------
#
# tests/data/checkpoint-early-stopping-before-callback.numnet was written by commit 64ce58c (early
# stopping's state in a field of its own): the run below interrupted by SIGINT in batch 4 of
# epoch 9, early stopping waiting 1 epoch since its best (epoch 7, val_metric maximised); the
# uninterrupted run stops at epoch 10. ...-finished-before-callback.numnet is the same run's final
# state. FINAL_PARAMS_SHA256 is the hash of the uninterrupted run's parameters under that commit.

DATA = Path(__file__).parent / "data"
FINAL_PARAMS_SHA256 = "c872701dfd661abbad8097126f8a59ffdaa761b13c59791acba25eb42e557fbf"


class EpochCounter:
    """A plain-function callback with state (kept in checkpoints under its index)."""

    def __init__(self):
        self.count = 0

    def __call__(self, epoch, history):
        self.count += 1

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"]


def early_stopping_run(checkpoint=None, resume=False, *, as_callback=False):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, -2.0, 0.5] + np.sin(3 * X[:, 0]) + 0.3 * rng.normal(size=60)
    net = nn.Sequential([nn.Dense(8), nn.Tanh(), nn.Dropout(0.1), nn.Dense(1)]).build(
        3, random_state=0)
    counter = EpochCounter()
    stopping = nn.EarlyStopping(patience=3, monitor="val_metric", min_delta=1e-3)
    callbacks = [counter, stopping] if as_callback else [counter]
    history = nn.train(net, nn.MeanSquaredError(), nn.Adam(0.05), X, y, batch_size=8,
                       max_epochs=40, random_state=0, validation_fraction=0.25,
                       early_stopping=None if as_callback else stopping,
                       lr_schedule=nn.StepDecay(3, 0.7), callbacks=callbacks,
                       checkpoint=checkpoint, resume=resume)
    return net, history, counter


def old_checkpoint(tmp_path, name):
    shutil.copy(DATA / name, tmp_path / "checkpoint.numnet")
    return nn.Checkpoint(tmp_path)


def test_an_early_stopping_checkpoint_of_the_old_layout_is_migrated(tmp_path):
    state = old_checkpoint(tmp_path, "checkpoint-early-stopping-before-callback.numnet").load()
    assert (state.epoch, state.batch, state.finished) == (8, 4, False)
    assert sorted(state.callbacks) == ["0", "early_stopping"]
    assert state.callbacks["0"] == {"count": 8}
    stopping = state.early_stopping
    assert stopping is state.callbacks["early_stopping"]
    assert (stopping["mode"], stopping["best_epoch"], stopping["wait"]) == ("max", 7, 1)
    assert stopping["best_params"].shape == state.params.shape
    # written again, the state has the new layout and reads back the same
    from numnet.io.checkpoint import dumps_state, loads_state

    again, _ = loads_state(dumps_state(state))
    assert_same_state(again, state)


@pytest.mark.parametrize("as_callback", [False, True], ids=["shortcut", "in-callbacks"])
def test_an_old_early_stopping_checkpoint_resumes_bit_for_bit(tmp_path, as_callback):
    checkpoint = old_checkpoint(tmp_path, "checkpoint-early-stopping-before-callback.numnet")
    resumed, history, counter = early_stopping_run(checkpoint, resume=True,
                                                   as_callback=as_callback)
    uninterrupted, reference, _ = early_stopping_run(as_callback=as_callback)
    assert hashlib.sha256(resumed.params.tobytes()).hexdigest() == FINAL_PARAMS_SHA256
    np.testing.assert_array_equal(resumed.params, uninterrupted.params)
    assert (history.stopped_epoch, history.best_epoch, counter.count) == (10, 7, 10)
    assert history.loss == reference.loss and history.val_metric == reference.val_metric
    final = checkpoint.load()
    assert final.finished and final.early_stopping["best_epoch"] == 7


def test_an_old_finished_early_stopping_checkpoint_returns_its_result(tmp_path):
    checkpoint = old_checkpoint(tmp_path,
                                "checkpoint-early-stopping-finished-before-callback.numnet")
    net, history, counter = early_stopping_run(checkpoint, resume=True)
    assert hashlib.sha256(net.params.tobytes()).hexdigest() == FINAL_PARAMS_SHA256
    assert (history.n_epochs, history.stopped_epoch, history.best_epoch) == (10, 10, 7)
    assert counter.count == 10  # restored, not trained again


@pytest.mark.parametrize("edit, message", [
    (state_edit(lambda s: s["early_stopping"].update(wait=10**6)),
     "early_stopping must have best_epoch and wait <= epoch (8), got best_epoch 7 and wait "
     "1000000; the file was altered."),
    (state_edit(lambda s: s["early_stopping"].update(mode="up")),
     "early_stopping must be an object with mode 'min' or 'max', a best value, best_epoch, wait "
     "and best_params."),
    (state_edit(lambda s: s["callbacks"].update(
        early_stopping={**s["early_stopping"], "best_params": None})),
     "early_stopping is held twice (a field and a callback state); the file was altered."),
], ids=["wait", "mode", "twice"])
def test_an_altered_checkpoint_of_the_old_layout_is_rejected(edit, message):
    from numnet.io.checkpoint import loads_state

    raw = (DATA / "checkpoint-early-stopping-before-callback.numnet").read_bytes()
    with pytest.raises(nn.ModelFileError, match=re.escape(f"Cannot load 'c': {message}")):
        loads_state(forge_checkpoint(raw, edit), name="c")


def test_early_stopping_on_in_one_run_and_off_in_the_other_is_refused(tmp_path):
    checkpoint = old_checkpoint(tmp_path, "checkpoint-early-stopping-before-callback.numnet")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    net = nn.Sequential([nn.Dense(8), nn.Tanh(), nn.Dropout(0.1), nn.Dense(1)]).build(
        3, random_state=0)
    with pytest.raises(ValueError, match=re.escape(
            f"The checkpoint in {checkpoint} does not fit this run: early stopping is on in one "
            "run and off in the other.")):
        nn.train(net, nn.MeanSquaredError(), nn.Adam(0.05), X, X[:, 0], batch_size=8,
                 max_epochs=40, random_state=0, validation_fraction=0.25,
                 lr_schedule=nn.StepDecay(3, 0.7), callbacks=[EpochCounter()],
                 checkpoint=checkpoint, resume=True)
