"""The parts of the training loop that act around the steps: callbacks with named hooks.

The loop (:mod:`numnet.training.loop`) calls every callback's hooks in ``order``::

    on_setup(run)                                               when the run is set up, before
                                                                a checkpoint's state is loaded
    on_train_begin(run)
    every epoch:   on_epoch_begin(run)
                   every batch:  on_batch_begin(run, index)
                                 [the gradient computation, the penalty]
                                 on_loss(run, value)            before the optimizer step
                                 [clip, step, proximal step]
                   on_epoch_end(run)                            set run.stop to end training
    on_train_end(run)                                           after the last epoch
    close(run)                                                  always, after an error too

``run`` is the loop's :class:`numnet.training.loop.Run`: the network, optimizer, history,
generator and counters. Each concern is one small class: :class:`Validation`,
:class:`EpochTimer`, :class:`ProgressBar`, :class:`numnet.EarlyStopping`,
:class:`FunctionCallback` (the user's ``callback(epoch, history)``),
:class:`LearningRateSchedule`, :class:`DivergenceGuard` and :class:`CheckpointCallback`.

Every callback has an ``order``; smaller orders run first at every hook, equal orders in the
order they were given. The built-in ones (:data:`ORDERS`)::

    -50 Validation           records the epoch's validation loss and metric first
    -40 EpochTimer
    -30 ProgressBar          shows the figures recorded before it
    -20 a feature's own      e.g. the privacy accountant
    -10 EarlyStopping        reads the recorded figures, decides to stop
      0 the user's callbacks  (Callback.order; a plain function runs at 0) see that decision
     10 LearningRateSchedule  sets the next epoch's rate
     20 DivergenceGuard       checks the parameters before they are saved
     30 CheckpointCallback    saves the state last

A user's callback picks its place by setting ``order`` (e.g. -15 to run before early stopping).

A callback whose state belongs in a checkpoint defines ``state_dict()`` and
``load_state_dict(state)``; a :class:`Callback` names its entry with ``state_key`` (early
stopping's is ``"early_stopping"``), a plain-function callback is keyed by its position.
"""

import math
import signal
import threading
import time

import numpy as np

from ..exceptions import DivergenceError, TrainingInterrupted
from .checks import _all_finite
from .state import capture_state, has_state
from .validation import evaluate

ORDERS = {"validation": -50, "timer": -40, "progress": -30, "feature": -20,
          "early_stopping": -10, "user": 0, "schedule": 10, "divergence": 20, "checkpoint": 30}
"""The default ``order`` of the built-in callbacks (smaller runs first)."""

HOOKS = ("on_setup", "on_train_begin", "on_epoch_begin", "on_batch_begin", "on_loss",
         "on_epoch_end", "on_train_end", "close")


class Callback:
    """A part of the training loop; every hook does nothing unless a subclass overrides it.

    Attributes
    ----------
    order : int or float, default=0
        Where the callback runs among the others (smaller first; see :data:`ORDERS`).
    state_key : str or None, default=None
        With ``state_dict()`` and ``load_state_dict(state)``, the name under which a checkpoint
        keeps the callback's state (an identifier; None keeps none).
    """

    order = ORDERS["user"]
    state_key = None

    def on_setup(self, run):
        """Once, when the run is set up, before a resumed run's state is loaded: check, reset."""

    def on_train_begin(self, run):
        """Before the first epoch (of this call: a resumed run starts mid-way)."""

    def on_epoch_begin(self, run):
        """At the start of epoch ``run.epoch`` (1-based)."""

    def on_batch_begin(self, run, index):
        """Before batch ``index`` (0-based) of the epoch is gathered."""

    def on_loss(self, run, value):
        """After the batch's loss ``value`` and gradient, before the optimizer step."""

    def on_epoch_end(self, run):
        """After the epoch's loss is recorded; set ``run.stop = True`` to stop training."""

    def on_train_end(self, run):
        """After the last epoch, when training ended normally."""

    def close(self, run):
        """Release what the callback holds (bars, signal handlers); called in any case."""


class CallbackList(Callback):
    """Calls each hook of every callback, in ``order`` (equal orders as given).

    Only the callbacks that override a hook are called for it: the per-batch hooks run once a
    step, and for a small network a no-op call per callback and step is measurable.
    """

    def __init__(self, callbacks):
        self.callbacks = sorted(callbacks, key=lambda c: getattr(c, "order", ORDERS["user"]))
        self._hooks = {
            name: [getattr(c, name) for c in self.callbacks
                   if getattr(type(c), name, None) is not getattr(Callback, name)]
            for name in HOOKS
        }

    def on_setup(self, run):
        for hook in self._hooks["on_setup"]:
            hook(run)

    def on_train_begin(self, run):
        for hook in self._hooks["on_train_begin"]:
            hook(run)

    def on_epoch_begin(self, run):
        for hook in self._hooks["on_epoch_begin"]:
            hook(run)

    def on_batch_begin(self, run, index):
        for hook in self._hooks["on_batch_begin"]:
            hook(run, index)

    def on_loss(self, run, value):
        for hook in self._hooks["on_loss"]:
            hook(run, value)

    def on_epoch_end(self, run):
        for hook in self._hooks["on_epoch_end"]:
            hook(run)

    def on_train_end(self, run):
        for hook in self._hooks["on_train_end"]:
            hook(run)

    def close(self, run):
        for hook in self._hooks["close"]:
            hook(run)


class DivergenceGuard(Callback):
    """Stops training when the loss (or the parameters) become NaN or infinite.

    At each epoch's start the parameters are copied; when a batch's loss is not finite, they
    are restored, the optimizer state is reset and :class:`numnet.DivergenceError` is raised,
    naming the epoch. An epoch that made the parameters non-finite without its loss showing it
    (an infinite gradient after the last loss) is caught at the next epoch's start, or at the
    end of training.
    """

    order = ORDERS["divergence"]

    def __init__(self):
        self.last_finite = None
        self.restored_from = None

    def on_train_begin(self, run):
        self.last_finite = run.net.params.copy()

    def on_epoch_begin(self, run):
        params = run.net.params
        if run.epoch != run.start_epoch and not _all_finite(params):
            raise self.error(run, np.nan, run.epoch - 1, "parameters")
        np.copyto(self.last_finite, params)
        self.restored_from = (f"the start of epoch {run.epoch}"
                              if run.epoch != run.start_epoch or not run.skip
                              else f"the resume point in epoch {run.epoch}")

    def on_loss(self, run, value):
        if not math.isfinite(value):
            raise self.error(run, value, run.epoch)

    def on_train_end(self, run):
        if not np.all(np.isfinite(run.net.params)):
            n = run.history.n_epochs
            self.restored_from = f"the start of epoch {n}"
            raise self.error(run, np.nan, n, "parameters")

    def error(self, run, value, epoch, what="loss"):
        """Restore the last finite parameters, reset the optimizer; the error to raise."""
        np.copyto(run.net.params, self.last_finite)
        run.optimizer.reset()
        return DivergenceError(
            f"Training diverged: the {what} became {value} at epoch {epoch}. The parameters "
            f"from {self.restored_from} were restored and the optimizer state was reset. Lower "
            f"the learning rate (now {run.optimizer.learning_rate:g}) or scale the features "
            "(e.g. with sklearn.preprocessing.StandardScaler).",
            epoch=epoch,
        )


class Validation(Callback):
    """Records the validation loss and metric (accuracy or R^2) after each epoch.

    Parameters
    ----------
    data : tuple (X_val, y_val, w_val)
    guard : DivergenceGuard
        Raises through it when the validation loss is not finite.
    batch_size : int or None, default=None
        Forward the validation rows in blocks of this many rows (``train``'s
        ``validation_batch_size``; see :func:`numnet.training.validation.evaluate`); None: in
        one pass.
    """

    order = ORDERS["validation"]

    def __init__(self, data, guard, batch_size=None):
        self.data, self.guard, self.batch_size = data, guard, batch_size

    def on_epoch_end(self, run):
        val_loss, val_metric = evaluate(run.net, run.loss, *self.data,
                                        batch_size=self.batch_size)
        run.net.clear_cache()  # the layers' copies of the validation rows' activations
        run.history.val_loss.append(val_loss)
        run.history.val_metric.append(val_metric)
        if not np.isfinite(val_loss):
            raise self.guard.error(run, val_loss, run.epoch, "validation loss")


class EpochTimer(Callback):
    """Records the seconds since the start of training (of the first call, when resumed)."""

    order = ORDERS["timer"]

    def on_train_begin(self, run):
        offset = run.history.time[-1] if run.history.time else 0.0
        self.started = time.perf_counter() - offset

    def on_epoch_end(self, run):
        run.history.time.append(time.perf_counter() - self.started)


class _Progress:
    """A tqdm bar over epochs showing the latest losses; does nothing unless verbose."""

    def __init__(self, total, verbose, done=0):
        self.bar = None
        if verbose:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=done, unit="epoch", leave=True)

    def update(self, history):
        if self.bar is None:
            return
        postfix = {"loss": f"{history.loss[-1]:.4g}"}
        if history.val_loss:
            postfix["val_loss"] = f"{history.val_loss[-1]:.4g}"
            postfix[f"val_{history.metric_name}"] = f"{history.val_metric[-1]:.4g}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.close()
        return False


class ProgressBar(Callback):
    """A tqdm bar over the epochs with the latest losses (``train(..., verbose=True)``)."""

    order = ORDERS["progress"]

    def on_train_begin(self, run):
        self.progress = _Progress(run.max_epochs, True, done=run.start_epoch - 1)

    def on_epoch_end(self, run):
        self.progress.update(run.history)

    def close(self, run):
        if getattr(self, "progress", None) is not None:
            self.progress.__exit__()


class FunctionCallback(Callback):
    """The user's ``callback(epoch, history)`` after each epoch; a truthy return stops."""

    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, run):
        if self.function(run.epoch, run.history):
            run.stop = True


class LearningRateSchedule(Callback):
    """Sets the optimizer's learning rate from a :class:`numnet.Schedule` after each epoch.

    The schedule sees the validation loss when there is validation data, else the training
    loss, and the number of samples seen.
    """

    order = ORDERS["schedule"]

    def __init__(self, schedule):
        self.schedule = schedule

    def on_train_begin(self, run):
        # The first epoch's rate: lr_0 for most schedules, below it during a warm-up.
        run.optimizer.learning_rate = self.schedule.learning_rate

    def on_epoch_end(self, run):
        history = run.history
        metric = history.val_loss[-1] if history.val_loss else history.loss[-1]
        run.optimizer.learning_rate = self.schedule.update(run.epoch, metric=metric,
                                                           n_samples_seen=run.n_seen)


class InterruptGuard:
    """While active, SIGINT and SIGTERM only set ``self.signal``; training then saves and stops.

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
            previous = self._previous.get(signum)
            if callable(previous):  # the program's own Ctrl-C handling (the CLI's one line)
                previous(signum, frame)
            raise KeyboardInterrupt
        self.signal = signum

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        return False


class CheckpointCallback(Callback):
    """Saves the training state every ``checkpoint.every`` epochs, at the end, and on signals.

    On SIGINT/SIGTERM the current step finishes, the state is saved and
    :class:`numnet.TrainingInterrupted` is raised.

    Parameters
    ----------
    checkpoint : numnet.Checkpoint
        Where the state goes (``checkpoint.save(state)``).
    parts : dict
        What :func:`numnet.training.state.capture_state` needs beyond the run: the
        ``lr_schedule``, ``fingerprint``, ``validation_split`` and the ``callbacks`` whose
        ``state_dict`` is saved (a dict, key -> object).
    """

    order = ORDERS["checkpoint"]

    def __init__(self, checkpoint, parts):
        self.checkpoint, self.parts = checkpoint, parts
        self.guard = InterruptGuard(enabled=True)
        self.pending = None    # (index, epoch_total) of a batch whose gradient is computing

    def snapshot(self, run, epoch, batch, rng_state, epoch_total, finished=False):
        return capture_state(epoch=epoch, batch=batch, rng_state=rng_state,
                             epoch_total=epoch_total, n_seen=run.n_seen, net=run.net,
                             optimizer=run.optimizer, history=run.history, finished=finished,
                             **self.parts)

    def on_train_begin(self, run):
        self.guard.__enter__()

    def on_epoch_begin(self, run):
        # The state at the start of the epoch: a resume draws this epoch's batches again.
        self.epoch_rng_state = run.rng.bit_generator.state

    def on_batch_begin(self, run, index):
        if self.guard.signal is not None:
            self.checkpoint.save(self.snapshot(run, run.epoch - 1, index, self.epoch_rng_state,
                                               run.epoch_total))
            raise TrainingInterrupted(self.guard.signal, run.epoch, self.checkpoint)
        self.pending = (index, run.epoch_total)

    def on_loss(self, run, value):
        self.pending = None    # the gradient is in: the parameters are about to change

    def save_before_failed_batch(self, run):
        """Save the state from before the batch whose gradient failed; False if none did.

        For errors raised while a batch's gradient is computed (a lost Dask scheduler): the
        parameters have not changed for that batch yet, so the state is the one a resume
        needs to compute it again.
        """
        if self.pending is None:
            return False
        index, epoch_total = self.pending
        self.checkpoint.save(self.snapshot(run, run.epoch - 1, index, self.epoch_rng_state,
                                           epoch_total))
        return True

    def on_epoch_end(self, run):
        every, signum = self.checkpoint.every, self.guard.signal
        if run.stop or run.epoch >= run.max_epochs:
            return  # the final state is saved by on_train_end
        if signum is not None or (every and run.epoch % every == 0):
            self.checkpoint.save(self.snapshot(run, run.epoch, 0, run.rng.bit_generator.state,
                                               0.0))
            if signum is not None:
                raise TrainingInterrupted(signum, run.epoch + 1, self.checkpoint)

    def on_train_end(self, run):
        self.checkpoint.save(self.snapshot(run, run.history.n_epochs, 0,
                                           run.rng.bit_generator.state, 0.0, finished=True))

    def close(self, run):
        self.guard.__exit__()


def loop_callbacks(*, validation_data=None, verbose=False, features=(), callbacks=(),
                   lr_schedule=None, checkpoint=None, fingerprint=None, validation_split=None,
                   stateful=None, validation_batch_size=None):
    """The callbacks of a training run, sorted by their ``order`` (see :data:`ORDERS`).

    ::

        Validation, EpochTimer, ProgressBar, *features, EarlyStopping,
        the user's callbacks, LearningRateSchedule, DivergenceGuard, CheckpointCallback

    Parts that are not asked for are left out. ``features`` are a feature's own callbacks
    (e.g. a privacy accountant); ``callbacks`` the user's (early stopping among them), a plain
    function wrapped in a :class:`FunctionCallback`. With a ``checkpoint``,
    :class:`CheckpointCallback` saves, beyond the run, the schedule's state, the run's
    ``fingerprint`` and ``validation_split``, and the ``state_dict`` of each object of
    ``stateful`` (a dict, key -> object; by default :func:`stateful_callbacks` of the user's).
    :class:`Validation` forwards the validation rows in blocks of ``validation_batch_size``
    rows (None: in one pass).

    Returns
    -------
    CallbackList
    """
    guard = DivergenceGuard()
    parts = [] if validation_data is None else [Validation(validation_data, guard,
                                                           validation_batch_size)]
    parts += [EpochTimer()] + ([ProgressBar()] if verbose else []) + list(features)
    parts += [c if isinstance(c, Callback) else FunctionCallback(c) for c in callbacks]
    parts += [LearningRateSchedule(lr_schedule)] if lr_schedule is not None else []
    parts.append(guard)
    if checkpoint is not None:
        if stateful is None:
            stateful = stateful_callbacks([c for c in callbacks if not isinstance(c, Callback)],
                                          callbacks)
        parts.append(CheckpointCallback(checkpoint, {
            "lr_schedule": lr_schedule, "fingerprint": fingerprint,
            "validation_split": validation_split, "callbacks": stateful}))
    return CallbackList(parts)


def stateful_callbacks(positional, callbacks):
    """Key -> object, for the objects whose ``state_dict`` a checkpoint keeps.

    The objects of ``positional`` (plain-function callbacks, a feature's parts) are keyed by
    their position in it (``"0"``, ``"1"``, ...), the :class:`Callback` objects of
    ``callbacks`` by their ``state_key`` (a second one with the same key gets ``_2``, ...).
    Only objects with both ``state_dict`` and ``load_state_dict`` are kept.
    """
    states = {str(index): c for index, c in enumerate(positional) if has_state(c)}
    for callback in callbacks:
        key = getattr(callback, "state_key", None) if isinstance(callback, Callback) else None
        if key is not None and has_state(callback):
            name, count = key, 1
            while name in states:
                count += 1
                name = f"{key}_{count}"
            states[name] = callback
    return states
