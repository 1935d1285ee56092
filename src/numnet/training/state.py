"""The complete state of a training run, as plain data: what a checkpoint holds.

:func:`capture_state` copies a run's state into a :class:`TrainingState` and
:func:`restore_state` writes one back, so that a resumed run ends with bit-identical parameters
to an uninterrupted one. Writing it to a file is the file layer's job
(:class:`numnet.Checkpoint`).
"""

import copy
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InvalidStateError
from .checks import _check_fingerprint
from .history import History


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
    schedule : dict or None
        ``Schedule.state_dict()``.
    fingerprint : dict
        Sizes and types that must match for a resume to be valid.
    validation_split : tuple of two int ndarrays or None
        (train indices, validation indices) of a ``validation_fraction`` split.
    finished : bool
        True when the run ended (max_epochs, early stopping or a callback); resuming then
        returns the result without training.
    callbacks : dict
        Key -> ``callback.state_dict()``, for the callbacks that have one (and
        ``load_state_dict``): a plain-function callback's index (as str), a
        :class:`numnet.training.Callback`'s ``state_key`` (early stopping's is
        ``"early_stopping"``); plain data and arrays.

    A checkpoint written before early stopping became a callback held its state in a field
    ``early_stopping`` of its own; the file layer moves it to ``callbacks["early_stopping"]``.
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
    schedule: dict | None
    fingerprint: dict
    validation_split: tuple | None = None
    finished: bool = False
    callbacks: dict = field(default_factory=dict)

    @property
    def early_stopping(self):
        """``EarlyStopping.state_dict()`` of the run's early stopping, or None without one."""
        return self.callbacks.get("early_stopping")


def capture_state(*, epoch, batch, rng_state, epoch_total, n_seen, net, optimizer, history,
                  lr_schedule, fingerprint, validation_split, finished, callbacks=()):
    """A :class:`TrainingState` holding copies (not views) of the run's current state.

    ``callbacks`` maps keys to the objects whose ``state_dict`` is kept (a sequence: by index).
    """
    callback_states = {key: copy.deepcopy(callback.state_dict())
                       for key, callback in _keyed(callbacks).items() if has_state(callback)}
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
        schedule=None if lr_schedule is None else copy.deepcopy(lr_schedule.state_dict()),
        fingerprint=dict(fingerprint),
        validation_split=None if validation_split is None else tuple(
            np.asarray(part).copy() for part in validation_split),
        finished=bool(finished), callbacks=callback_states,
    )


def has_state(callback):
    """Whether ``callback`` has ``state_dict`` and ``load_state_dict`` (a checkpoint keeps it)."""
    return callable(getattr(callback, "state_dict", None)) and callable(
        getattr(callback, "load_state_dict", None))


def _keyed(callbacks):
    return callbacks if isinstance(callbacks, dict) else {
        str(index): callback for index, callback in enumerate(callbacks)}


def restore_state(state, net, optimizer, rng, lr_schedule, callbacks=(), checkpoint=None):
    """Write ``state`` back into the run's objects; returns the restored :class:`History`.

    Raises ValueError when the state does not fit this run's objects (another optimizer,
    schedule, bit generator, dropout layers or callbacks than the run that saved it). A
    callback with state may also define ``check_restored(history)``, called with the restored
    :class:`History` after ``load_state_dict``, to check its counters against the completed
    epochs (ValueError when they are out of range).
    """
    def mismatch(what, detail=""):
        return ValueError(
            f"The checkpoint in {checkpoint} does not fit this run: {what}{detail}. Resume with "
            "the same data and settings, or start afresh without resume."
        )

    live = {str(i) for i, layer in enumerate(net.layers) if layer.get_rng_state() is not None}
    if set(state.layer_rngs) != live:
        raise mismatch("its random layers (dropout) differ")
    callbacks = {key: c for key, c in _keyed(callbacks).items() if has_state(c)}
    if ("early_stopping" in state.callbacks) != ("early_stopping" in callbacks):
        raise mismatch("early stopping is on in one run and off in the other")
    wanted = set(callbacks)
    if set(state.callbacks) != wanted:
        raise mismatch(f"it holds state for the callbacks {sorted(state.callbacks)}, this run "
                       f"has {sorted(wanted)}")
    name = rng.bit_generator.state["bit_generator"]
    if state.rng_state.get("bit_generator") != name:
        raise mismatch(f"its generator is {state.rng_state.get('bit_generator')}, not {name}")
    if (lr_schedule is None) != (state.schedule is None) or (
            lr_schedule is not None and not set(state.schedule) <= set(lr_schedule.state_dict())):
        raise mismatch("its learning-rate schedule differs")

    np.copyto(net.params, state.params)
    optimizer_state = dict(state.optimizer)
    optimizer.learning_rate = float(optimizer_state.pop("learning_rate"))
    try:
        optimizer.load_state_dict(optimizer_state)
    except InvalidStateError as error:
        raise InvalidStateError(
            f"The checkpoint in {checkpoint} holds an optimizer state that no training run "
            f"writes: {error}; the file was altered. Start afresh without resume."
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise mismatch(f"its optimizer state does not fit {type(optimizer).__name__}",
                       f" ({error})") from None
    rng.bit_generator.state = copy.deepcopy(state.rng_state)
    for index, layer_state in state.layer_rngs.items():
        net.layers[int(index)].set_rng_state(copy.deepcopy(layer_state))
    if lr_schedule is not None and state.schedule is not None:
        lr_schedule.load_state_dict(copy.deepcopy(state.schedule))
    history = History(**copy.deepcopy(state.history))
    for key, callback in callbacks.items():
        try:
            callback.load_state_dict(copy.deepcopy(state.callbacks[key]))
            check = getattr(callback, "check_restored", None)
            if callable(check):
                check(history)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise mismatch(f"the state of callback {key} does not fit it",
                           f" ({error})") from None
    return history


def resume_run(run, state, fingerprint, checkpoint, *, lr_schedule=None, callbacks=()):
    """Continue ``run`` (a :class:`numnet.training.Run`) from a checkpoint's ``state``.

    Checks that the checkpoint was written for this run (``fingerprint``: sizes, dtype,
    optimizer and whatever else the caller's batches depend on), writes the state back
    (:func:`restore_state`) and sets where the loop starts: the saved epoch's successor,
    skipping the batches that were done. Returns True when the saved run had finished (then
    there is nothing left to train and ``run.history`` is its result).
    """
    _check_fingerprint(state.fingerprint, fingerprint, checkpoint)
    run.history = restore_state(state, run.net, run.optimizer, run.rng, lr_schedule, callbacks,
                                checkpoint)
    if state.finished:
        return True
    run.start_epoch, run.skip = state.epoch + 1, state.batch
    run.epoch_total, run.n_seen = state.epoch_total, state.n_seen
    return False

