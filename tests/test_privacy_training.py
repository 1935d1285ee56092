"""train_private: DP-SGD through the training loop, reproducible, resumable, accounted."""

import re
import signal

import numpy as np
import pytest

import numnet as nn
from checkpoint_helpers import MemoryCheckpoint, SignalAtCall
from numnet.privacy import compute_epsilon, train_private

pytest.importorskip("dp_accounting")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, np.eye(3)[labels]


def _fit(data, loss=None, random_state=0, **kwargs):
    X, y = data
    net = nn.Sequential([nn.Dense(8), nn.Tanh(), nn.Dropout(0.1), nn.Dense(3)]).build(
        4, random_state=0)
    arguments = {"max_grad_norm": 1.0, "noise_multiplier": 1.0, "batch_size": 40,
                 "max_epochs": 6, "random_state": random_state, **kwargs}
    history = train_private(net, loss or nn.SoftmaxCrossEntropy(), nn.SGD(0.5), X, y,
                            **arguments)
    return net, history


def test_same_seed_same_result_bit_for_bit(data):
    net, history = _fit(data)
    again, history_again = _fit(data)
    np.testing.assert_array_equal(net.params, again.params)
    assert history.loss == history_again.loss and history.epsilon == history_again.epsilon
    other, _ = _fit(data, random_state=1)
    assert not np.array_equal(net.params, other.params)


def test_history_reports_the_guarantee(data):
    _, history = _fit(data)
    assert isinstance(history, nn.History)
    assert (history.sampling_rate, history.noise_multiplier, history.max_grad_norm) == (
        0.1, 1.0, 1.0)
    assert history.steps == 6 * 10 and history.n_epochs == 6
    assert history.epsilon == [compute_epsilon(0.1, 1.0, 10 * e, 1e-5) for e in range(1, 7)]


def test_private_training_learns(data):
    X, y = data
    net, history = _fit(data, noise_multiplier=0.5, max_epochs=15)
    accuracy = np.mean(net.forward(X).argmax(axis=1) == y.argmax(axis=1))
    assert accuracy > 0.85
    assert history.loss[-1] < 0.6 * history.loss[0]


def test_target_epsilon_calibrates_the_noise(data):
    _, history = _fit(data, noise_multiplier=None, target_epsilon=2.0, max_epochs=3)
    assert history.epsilon[-1] <= 2.0
    assert history.epsilon[-1] == pytest.approx(2.0, rel=0.01)


@pytest.mark.parametrize(("n_call", "signum"), [(14, signal.SIGINT), (31, signal.SIGTERM)])
def test_resume_gives_the_same_weights_and_epsilons(data, n_call, signum):
    checkpoint = MemoryCheckpoint(every=2)
    net, history = _fit(data, checkpoint=MemoryCheckpoint())
    with pytest.raises(nn.TrainingInterrupted):
        _fit(data, loss=SignalAtCall(n_call, signum), checkpoint=checkpoint)
    assert checkpoint.state.batch > 0 or checkpoint.state.epoch > 0
    resumed, resumed_history = _fit(data, checkpoint=checkpoint, resume=True)
    np.testing.assert_array_equal(resumed.params, net.params)
    assert resumed_history.epsilon == history.epsilon
    assert resumed_history.loss == history.loss


class CountSteps(nn.training.Callback):
    def __init__(self):
        self.values = []

    def on_loss(self, run, value):
        self.values.append(value)


def test_weightless_batches_are_noise_only_steps_not_skipped(data):
    X, y = data
    w = np.ones(X.shape[0])
    w[5:] = 0.0                        # almost every batch holds no weighted row
    steps = CountSteps()
    before = _fit(data, sample_weight=w, batch_size=4, max_epochs=1, noise_multiplier=0.0)[0]
    _, history = _fit(data, sample_weight=w, batch_size=4, max_epochs=1, callbacks=[steps])
    assert history.steps == len(steps.values) == 100
    assert steps.values.count(0.0) > 90                      # the weightless ones
    assert not np.array_equal(before.params, _fit(data, sample_weight=w, batch_size=4,
                                                  max_epochs=1)[0].params)


def test_train_private_requires_one_of_sigma_and_target(data):
    msg = ("noise_multiplier must be given when target_epsilon is None, and None when it is "
           "given, got noise_multiplier=1.0, target_epsilon=2.0. Pass one of them.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        _fit(data, target_epsilon=2.0)


def test_float32_noise_resumes_bit_for_bit(data):
    """float32 networks draw Box-Muller noise: a resumed run draws the same numbers."""
    X, y = data
    data32 = (X.astype(np.float32), y.astype(np.float32))

    def fit32(**kwargs):
        net = nn.Sequential([nn.Dense(8), nn.Tanh(), nn.Dense(3)]).build(
            4, random_state=0, dtype=np.float32)
        history = train_private(net, kwargs.pop("loss", nn.SoftmaxCrossEntropy()),
                                nn.SGD(0.5), *data32, max_grad_norm=1.0, noise_multiplier=1.0,
                                batch_size=40, max_epochs=6, random_state=0, **kwargs)
        return net, history

    net, history = fit32()
    assert net.params.dtype == np.float32
    checkpoint = MemoryCheckpoint(every=2)
    with pytest.raises(nn.TrainingInterrupted):
        fit32(loss=SignalAtCall(14, signal.SIGINT), checkpoint=checkpoint)
    resumed, resumed_history = fit32(checkpoint=checkpoint, resume=True)
    np.testing.assert_array_equal(resumed.params, net.params)
    assert resumed_history.loss == history.loss
