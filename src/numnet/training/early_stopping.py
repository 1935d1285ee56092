"""Early stopping: a callback that stops a run when the monitored value stops improving."""

import numpy as np

from .._validation import check_bool, check_float, check_int, check_option
from .callbacks import ORDERS, Callback


class EarlyStopping(Callback):
    """Stop when the monitored value has not improved for ``patience`` epochs.

    An epoch improves when ``value < best - min_delta`` (mode "min") or
    ``value > best + min_delta`` (mode "max"). With ``restore_best``, the parameters of the best
    epoch are copied back at the end (one ``np.copyto`` of the flat vector). The state resets
    when a training run is set up, so one object can be reused (as Keras does).

    It is a :class:`numnet.training.Callback`: pass it as ``train(early_stopping=...)`` (a
    shortcut) or among ``callbacks`` (also to :func:`numnet.privacy.train_private`,
    :func:`numnet.distributed.train_distributed` and ``train_stream``). It runs at
    ``order = -10``: after the validation figures are recorded, before the user's callbacks
    (order 0), which see its decision. A checkpoint keeps its state under the key
    ``"early_stopping"`` (:meth:`state_dict`), so a resumed run stops where the uninterrupted
    one would.

    Parameters
    ----------
    patience : int, default=10
        Epochs without improvement before stopping. Must be >= 1.
    min_delta : float, default=0.0
        Smallest change that counts as an improvement. Must be >= 0.
    monitor : {"auto", "loss", "val_loss", "val_metric"}, default="auto"
        ``"auto"`` is ``"val_loss"`` when there is validation data, else ``"loss"``.
        ``"val_metric"`` (accuracy or R^2) is maximised, the losses minimised.
    restore_best : bool, default=True
    """

    order = ORDERS["early_stopping"]
    state_key = "early_stopping"

    def __init__(self, patience=10, min_delta=0.0, monitor="auto", restore_best=True):
        self.patience = check_int(patience, "patience", min_value=1)
        self.min_delta = check_float(min_delta, "min_delta", min_value=0)
        self.monitor = check_option(monitor, "monitor", {"auto", "loss", "val_loss", "val_metric"})
        self.restore_best = check_bool(restore_best, "restore_best")
        self.monitored = None
        self.reset()

    # --- the callback's hooks --------------------------------------------------------------------

    def on_setup(self, run):
        """Resolve the monitored curve for this run (``run.validation_data``) and reset."""
        monitor = self.monitor
        if monitor == "auto":
            monitor = "val_loss" if run.validation_data is not None else "loss"
        if monitor.startswith("val_") and run.validation_data is None:
            raise ValueError(
                f"EarlyStopping(monitor={monitor!r}) needs validation data; pass "
                "validation_data or validation_fraction."
            )
        self.monitored = monitor
        self.reset("max" if monitor == "val_metric" else "min")

    def on_epoch_end(self, run):
        value = getattr(run.history, self.monitored)[-1]
        if self.update(value, run.net.params, run.epoch):
            run.stop = True

    def on_train_end(self, run):
        if self.best_epoch is not None:
            run.history.best_epoch = self.best_epoch
            self.restore(run.net.params)

    # --- the rule --------------------------------------------------------------------------------

    def reset(self, mode="min"):
        """Forget the best value and the counter; ``mode`` is "min" or "max"."""
        self.mode = mode
        self.best = np.inf if mode == "min" else -np.inf
        self.best_epoch = None
        self.best_params = None
        self.wait = 0

    def update(self, value, params, epoch=None):
        """Record this epoch's value; snapshot ``params`` if it improved. Return True to stop."""
        improved = (
            value < self.best - self.min_delta if self.mode == "min"
            else value > self.best + self.min_delta
        )
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                if self.best_params is None or self.best_params.shape != params.shape:
                    self.best_params = np.empty_like(params)
                np.copyto(self.best_params, params)
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore(self, params):
        """Copy the best parameters back into ``params`` (if restore_best and any were seen)."""
        if self.restore_best and self.best_params is not None:
            np.copyto(params, self.best_params)

    # --- checkpoints -----------------------------------------------------------------------------

    def state_dict(self):
        """Mode, best value, best epoch, counter and best parameters, for checkpoints."""
        return {"mode": self.mode, "best": float(self.best), "best_epoch": self.best_epoch,
                "wait": self.wait,
                "best_params": None if self.best_params is None else self.best_params.copy()}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        self.mode, self.best = state["mode"], float(state["best"])
        self.best_epoch, self.wait = state["best_epoch"], int(state["wait"])
        best = state["best_params"]
        self.best_params = None if best is None else np.array(best, copy=True)

    def check_restored(self, history):
        """The restored counters must lie within the run's completed epochs (ValueError)."""
        n = history.n_epochs
        if self.wait > n or (self.best_epoch is not None and self.best_epoch > n):
            raise ValueError(f"best_epoch and wait must be <= {n}")

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
                f"monitor={self.monitor!r}, restore_best={self.restore_best})")
