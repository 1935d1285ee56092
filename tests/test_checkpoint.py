"""train(checkpoint=..., resume=True): interrupted runs continue bit-identically."""

import os
import re
import signal

import numpy as np
import pytest

import numnet as nn


class MemoryCheckpoint:
    """The checkpoint protocol train() uses (every, save, load), kept in memory."""

    def __init__(self, every=2):
        self.every, self.state, self.saves = every, None, 0

    def save(self, state):
        self.state, self.saves = state, self.saves + 1

    def load(self):
        return self.state

    def __str__(self):
        return "memory"


class SignalAtCall(nn.SoftmaxCrossEntropy):
    """A loss that sends a signal to this process on its n-th batch (mid-epoch)."""

    def __init__(self, n, signum):
        self.n, self.signum, self.calls = n, signum, 0

    def loss_gradient(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.n:
            os.kill(os.getpid(), self.signum)
        return super().loss_gradient(*args, **kwargs)


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
