"""The training loop's parts, each on its own: samplers, gathering, the gradient computation,
every callback, and run_loop with parts of one's own."""

import signal

import numpy as np
import pytest
import scipy.sparse as sp

import numnet as nn
from numnet.training import Backprop, FullBatch, MiniBatches, Run, run_loop
from numnet.training.callbacks import (
    Callback,
    CallbackList,
    CheckpointCallback,
    DivergenceGuard,
    EpochTimer,
    FunctionCallback,
    LearningRateSchedule,
    Validation,
)
from numnet.training.history import History
from numnet.training.sampling import BatchSampler, TrainingData


def regression(rng, n=20, n_in=3):
    X = rng.normal(size=(n, n_in))
    y = (X @ np.arange(1.0, n_in + 1) + 0.5)[:, None]
    return X, y


def make_run(rng, *, n=20, optimizer=None, max_epochs=3, **kwargs):
    X, y = regression(rng, n)
    net = nn.Sequential([nn.Dense(4), nn.Tanh(), nn.Dense(1)]).build(3, random_state=0)
    return Run(net=net, loss=nn.MeanSquaredError(), optimizer=optimizer or nn.SGD(0.05),
               data=TrainingData(X, y, None), rng=np.random.default_rng(0),
               history=History(metric_name="r2"), max_epochs=max_epochs, **kwargs)


# --- samplers and gathering -----------------------------------------------------------------

def test_minibatches_cover_every_row_once_per_epoch_and_reshuffle():
    rng = np.random.default_rng(0)
    sampler = MiniBatches(4)
    first = list(sampler.epoch(10, rng))
    second = list(sampler.epoch(10, rng))
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(np.concatenate(first).tolist()) == list(range(10))
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))
    assert list(MiniBatches(4, shuffle=False).epoch(10, rng)) == [slice(0, 4), slice(4, 8),
                                                                  slice(8, 10)]


def test_full_batch_is_every_row_in_order_and_draws_nothing():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert list(FullBatch().epoch(7, rng)) == [slice(0, 7)]
    assert FullBatch.full_batch and not MiniBatches.full_batch
    assert rng.bit_generator.state == state


@pytest.mark.parametrize("layout", ["C", "F", "csr"])
def test_training_data_gathers_the_rows_asked_for(rng, layout):
    X = rng.normal(size=(8, 3))
    y = rng.normal(size=(8, 2))
    w = rng.uniform(size=8)
    data_X = sp.csr_matrix(X) if layout == "csr" else np.asarray(X, order=layout)
    data = TrainingData(data_X, y, w)
    rows = np.array([5, 0, 7])
    X_b, y_b, w_b = data.batch(rows)
    dense = X_b.toarray() if sp.issparse(X_b) else X_b
    np.testing.assert_array_equal(dense, X[rows])
    np.testing.assert_array_equal(y_b, y[rows])
    np.testing.assert_array_equal(w_b, w[rows])
    assert data.total_weight == pytest.approx(w.sum())
    X_s, _, _ = data.batch(slice(2, 4))
    assert (X_s.toarray() if sp.issparse(X_s) else X_s).shape == (2, 3)


# --- the gradient computation --------------------------------------------------------------

def test_backprop_writes_the_objective_gradient(rng):
    run = make_run(rng)
    X, y = run.data.X[:6], run.data.y[:6]
    value = Backprop()(run.net, run.loss, X, y, None)
    grads = run.net.grads.copy()
    expected_value, expected = nn.objective(run.net, run.loss, X, y)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(grads, expected, rtol=1e-12)


# --- callbacks --------------------------------------------------------------------------------

class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, run):
        self.calls.append("train_begin")

    def on_epoch_begin(self, run):
        self.calls.append(f"epoch_begin {run.epoch}")

    def on_batch_begin(self, run, index):
        self.calls.append(f"batch {index}")

    def on_loss(self, run, value):
        self.calls.append("loss")

    def on_epoch_end(self, run):
        self.calls.append(f"epoch_end {run.epoch} {len(run.history.loss)}")

    def on_train_end(self, run):
        self.calls.append("train_end")

    def close(self, run):
        self.calls.append("close")


def test_hooks_are_called_in_the_documented_order(rng):
    run = make_run(rng, n=6, max_epochs=2)
    recorder = Recorder()
    run_loop(run, MiniBatches(4, shuffle=False), Backprop(), CallbackList([recorder]))
    assert recorder.calls == [
        "train_begin",
        "epoch_begin 1", "batch 0", "loss", "batch 1", "loss", "epoch_end 1 1",
        "epoch_begin 2", "batch 0", "loss", "batch 1", "loss", "epoch_end 2 2",
        "train_end", "close",
    ]


def test_a_callback_instance_passed_to_train_gets_every_hook(rng):
    X, y = regression(rng, 10)
    net = nn.Sequential([nn.Dense(1)]).build(3, random_state=0)
    recorder = Recorder()
    nn.train(net, nn.MeanSquaredError(), nn.SGD(0.01), X, y, batch_size=5, max_epochs=2,
             shuffle=False, callbacks=[recorder])
    assert recorder.calls.count("loss") == 4 and recorder.calls[-2:] == ["train_end", "close"]


def test_divergence_guard_restores_the_epoch_start_and_resets_the_optimizer(rng):
    run = make_run(rng, optimizer=nn.Adam(0.01))
    guard = DivergenceGuard()
    run.epoch = 1
    guard.on_train_begin(run)
    guard.on_epoch_begin(run)
    start = run.net.params.copy()
    run.net.params[:] += 1.0
    run.optimizer.step(run.net.params, np.ones_like(run.net.params))
    with pytest.raises(nn.DivergenceError, match="the loss became nan at epoch 1. The "
                       "parameters from the start of epoch 1 were restored"):
        guard.on_loss(run, float("nan"))
    np.testing.assert_array_equal(run.net.params, start)
    assert run.optimizer.state_dict()["t"] == 0


def test_validation_records_and_raises_through_the_guard(rng):
    run = make_run(rng)
    X_val, y_val = regression(rng, 5)
    guard = DivergenceGuard()
    run.epoch = 1
    guard.on_train_begin(run)
    guard.on_epoch_begin(run)
    Validation((X_val, y_val, None), guard).on_epoch_end(run)
    loss, r2 = nn.training.validation.evaluate(run.net, run.loss, X_val, y_val)
    assert run.history.val_loss == [loss] and run.history.val_metric == [r2]
    # the loop runs under np.errstate(over/invalid ignored): overflow shows in the loss
    with np.errstate(all="ignore"), pytest.raises(nn.DivergenceError,
                                                  match="the validation loss became inf"):
        Validation((X_val, np.full_like(y_val, np.inf), None), guard).on_epoch_end(run)


def test_epoch_timer_continues_the_clock_of_a_resumed_run(rng):
    run = make_run(rng)
    run.history.time = [100.0]
    timer = EpochTimer()
    timer.on_train_begin(run)
    timer.on_epoch_end(run)
    assert 100.0 <= run.history.time[-1] < 110.0


def test_early_stopping_callback_stops_and_restores_the_best(rng):
    run = make_run(rng)
    callback = nn.EarlyStopping(patience=2)
    assert isinstance(callback, Callback) and callback.order == -10
    callback.on_setup(run)  # no validation data: "auto" monitors the training loss
    assert (callback.monitored, callback.mode) == ("loss", "min")
    best = run.net.params.copy()
    for epoch, value in enumerate([1.0, 2.0, 3.0], start=1):
        run.epoch = epoch
        run.history.loss.append(value)
        callback.on_epoch_end(run)
        run.net.params[:] += 1.0
    assert run.stop
    callback.on_train_end(run)
    assert run.history.best_epoch == 1
    np.testing.assert_array_equal(run.net.params, best)


def test_function_callback_and_schedule(rng):
    run = make_run(rng, optimizer=nn.SGD(0.1))
    run.epoch, run.history.loss = 2, [1.0, 0.5]
    FunctionCallback(lambda epoch, history: epoch == 2).on_epoch_end(run)
    assert run.stop
    schedule = nn.StepDecay(step_size=2, gamma=0.5)
    schedule.start(0.1)
    LearningRateSchedule(schedule).on_epoch_end(run)
    assert run.optimizer.learning_rate == pytest.approx(0.05)


def test_checkpoint_callback_saves_and_stops_on_a_signal(rng, tmp_path):
    run = make_run(rng)
    checkpoint = nn.Checkpoint(tmp_path, every=100)
    parts = {"lr_schedule": None,
             "fingerprint": {"n_params": int(run.net.params.size), "dtype": "float64",
                             "n_samples": 20, "batch_size": 5, "optimizer": "SGD"},
             "validation_split": None,
             "callbacks": {}}
    callback = CheckpointCallback(checkpoint, parts)
    run.epoch = 1
    callback.on_train_begin(run)
    try:
        callback.on_epoch_begin(run)
        callback.on_batch_begin(run, 0)  # no signal: nothing happens
        assert not checkpoint.path.exists()
        callback.guard.signal = signal.SIGTERM
        with pytest.raises(nn.TrainingInterrupted) as stop:
            callback.on_batch_begin(run, 3)
    finally:
        callback.close(run)
    assert stop.value.epoch == 1
    state = checkpoint.load()
    assert (state.epoch, state.batch, state.finished) == (0, 3, False)
    np.testing.assert_array_equal(state.params, run.net.params)


# --- run_loop with parts of one's own --------------------------------------------------------

class EveryOtherRow(BatchSampler):
    """A sampler of one's own: the even rows, then the odd rows, in order."""

    def epoch(self, n_samples, rng):
        yield np.arange(0, n_samples, 2)
        yield np.arange(1, n_samples, 2)


class HalvedGradient(Backprop):
    """A gradient computation of one's own: backprop, then half the gradient."""

    def __call__(self, net, loss, X_b, y_b, w_b, *, full_batch=False):
        value = super().__call__(net, loss, X_b, y_b, w_b, full_batch=full_batch)
        net.grads *= 0.5
        return value


def test_run_loop_takes_a_sampler_and_a_gradient_of_ones_own(rng):
    run = make_run(rng, max_epochs=2)
    reference = run.net.copy()
    history = run_loop(run, EveryOtherRow(), HalvedGradient(), CallbackList([]))
    assert history.n_epochs == 2
    # the same steps by hand: plain SGD with half the gradient on the even, then the odd rows
    X, y = run.data.X, run.data.y
    for _ in range(2):
        for rows in (np.arange(0, 20, 2), np.arange(1, 20, 2)):
            _, grads = nn.objective(reference, run.loss, X[rows], y[rows])
            reference.params -= 0.05 * 0.5 * grads
    np.testing.assert_allclose(run.net.params, reference.params, rtol=1e-12)


def test_callbacks_run_in_order_and_a_user_callback_can_run_before_early_stopping(rng):
    # Early stopping runs at order -10: a callback at the default 0 sees its decision to stop,
    # one at -15 runs before it and does not.
    seen = []

    class Watch(Callback):
        def __init__(self, name, order):
            self.name, self.order = name, order

        def on_epoch_end(self, run):
            seen.append((self.name, run.epoch, run.stop))

    X, y = regression(rng)
    net = nn.Sequential([nn.Dense(1)]).build(3, random_state=0)
    history = nn.train(net, nn.MeanSquaredError(), nn.SGD(1e-6), X, y, max_epochs=5,
                       early_stopping=nn.EarlyStopping(patience=2, min_delta=1.0),
                       callbacks=[Watch("after", 0), Watch("before", -15)])
    assert history.stopped_epoch == 3
    assert seen[-2:] == [("before", 3, False), ("after", 3, True)]
    parts = CallbackList([Watch("c", 5), Watch("a", -1), nn.EarlyStopping(), Watch("b", -1)])
    assert [getattr(c, "name", "stop") for c in parts.callbacks] == ["stop", "a", "b", "c"]


def test_early_stopping_among_the_callbacks_of_the_other_loops(rng):
    # Without validation data "auto" watches the training loss, as train() does.
    from numnet.privacy import train_private

    X, y = regression(rng, n=40)
    histories = []
    for train_function in (nn.train, train_private):
        net = nn.Sequential([nn.Dense(1)]).build(3, random_state=0)
        extra = ({"max_grad_norm": 1.0, "noise_multiplier": 1.0, "batch_size": 8}
                 if train_function is not nn.train else {})
        histories.append(train_function(net, nn.MeanSquaredError(), nn.SGD(1e-6), X, y,
                                         max_epochs=6, random_state=0,
                                         callbacks=[nn.EarlyStopping(2, min_delta=1e6)], **extra))
    assert [h.stopped_epoch for h in histories] == [3, 3]
