"""Checkpoints: the complete state of a training run, saved atomically and resumed exactly.

:func:`numnet.train` captures a :class:`TrainingState` every ``Checkpoint.every`` epochs, at the
end, and when SIGINT/SIGTERM arrives (after finishing the current step). Resuming restores the
parameters, the optimizer's moments, the shuffling and dropout generators, the validation split,
early stopping, the learning-rate schedule and the history, so a resumed run ends with
bit-identical parameters to an uninterrupted one.
"""

import copy
import signal
import threading
from dataclasses import dataclass

import numpy as np

from .training import History


@dataclass
class TrainingState:
    """Everything :func:`numnet.train` needs to continue exactly where it stopped.

    Attributes
    ----------
    epoch : int
        Epochs completed.
    batch : int
        Batches of epoch ``epoch + 1`` already done (0 at an epoch boundary).
    rng_state : dict
        State of the shuffling generator at the start of epoch ``epoch + 1`` (the permutation
        is drawn again on resume and the first ``batch`` batches are skipped).
    epoch_total : float
        Running sum of batch losses in the interrupted epoch.
    n_seen : int
        Samples processed so far (for per-sample schedules).
    params : ndarray of shape (n_params,)
    optimizer : dict
        ``optimizer.state_dict()`` plus ``"learning_rate"``.
    layer_rngs : dict
        Layer index (as str) -> generator state of layers with randomness (dropout).
    history : dict
        ``History.to_dict()``.
    early_stopping : dict or None
        ``EarlyStopping.state_dict()``.
    schedule : dict or None
        ``Schedule.state_dict()``.
    fingerprint : dict
        Sizes and types that must match for a resume to be valid.
    validation_split : tuple of two int ndarrays or None
        (train indices, validation indices) of a ``validation_fraction`` split.
    finished : bool
        True when the run ended (max_epochs, early stopping or a callback); resuming then
        returns the result without training.
    """

    epoch: int
    batch: int
    rng_state: dict
    epoch_total: float
    n_seen: int
    params: np.ndarray
    optimizer: dict
    layer_rngs: dict
    history: dict
    early_stopping: dict | None
    schedule: dict | None
    fingerprint: dict
    validation_split: tuple | None = None
    finished: bool = False


def capture_state(*, epoch, batch, rng_state, epoch_total, n_seen, net, optimizer, history,
                  early_stopping, lr_schedule, fingerprint, validation_split, finished):
    """A :class:`TrainingState` holding copies (not views) of the run's current state."""
    layer_rngs = {}
    for index, layer in enumerate(net.layers):
        layer_state = layer.get_rng_state()
        if layer_state is not None:
            layer_rngs[str(index)] = copy.deepcopy(layer_state)
    return TrainingState(
        epoch=int(epoch), batch=int(batch), rng_state=copy.deepcopy(rng_state),
        epoch_total=float(epoch_total), n_seen=int(n_seen), params=net.params.copy(),
        optimizer={**optimizer.state_dict(), "learning_rate": optimizer.learning_rate},
        layer_rngs=layer_rngs, history=copy.deepcopy(history.to_dict()),
        early_stopping=None if early_stopping is None else early_stopping.state_dict(),
        schedule=None if lr_schedule is None else copy.deepcopy(lr_schedule.state_dict()),
        fingerprint=dict(fingerprint),
        validation_split=None if validation_split is None else tuple(
            np.asarray(part).copy() for part in validation_split),
        finished=bool(finished),
    )


def restore_state(state, net, optimizer, rng, early_stopping, lr_schedule):
    """Write ``state`` back into the run's objects; returns the restored :class:`History`."""
    np.copyto(net.params, state.params)
    optimizer_state = dict(state.optimizer)
    optimizer.learning_rate = float(optimizer_state.pop("learning_rate"))
    optimizer.load_state_dict(optimizer_state)
    rng.bit_generator.state = copy.deepcopy(state.rng_state)
    for index, layer_state in state.layer_rngs.items():
        net.layers[int(index)].set_rng_state(copy.deepcopy(layer_state))
    if early_stopping is not None and state.early_stopping is not None:
        early_stopping.load_state_dict(state.early_stopping)
    if lr_schedule is not None and state.schedule is not None:
        lr_schedule.load_state_dict(copy.deepcopy(state.schedule))
    return History(**copy.deepcopy(state.history))


class InterruptGuard:
    """While active, SIGINT and SIGTERM only set ``self.signal``; train() then saves and stops.

    A second Ctrl-C stops at once. Handlers can only be installed from the main thread;
    elsewhere (and when not enabled) signals keep their default behaviour.
    """

    def __init__(self, enabled):
        self.enabled = enabled
        self.signal = None
        self._previous = {}

    def __enter__(self):
        if self.enabled and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        return False
