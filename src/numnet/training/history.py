"""What a training run records (History) and when it stops early (EarlyStopping)."""

from dataclasses import asdict, dataclass, field

import numpy as np

from .._validation import check_bool, check_float, check_int, check_option


class EarlyStopping:
    """Stop when the monitored value has not improved for ``patience`` epochs.

    An epoch improves when ``value < best - min_delta`` (mode "min") or
    ``value > best + min_delta`` (mode "max"). With ``restore_best``, the parameters of the best
    epoch are copied back at the end (one ``np.copyto`` of the flat vector). The state resets
    at the start of each training run, so one object can be reused (as Keras does).

    Parameters
    ----------
    patience : int, default=10
        Epochs without improvement before stopping. Must be >= 1.
    min_delta : float, default=0.0
        Smallest change that counts as an improvement. Must be >= 0.
    monitor : {"auto", "loss", "val_loss", "val_metric"}, default="auto"
        ``"auto"`` is ``"val_loss"`` when there is validation data, else ``"loss"``.
    restore_best : bool, default=True
    """

    def __init__(self, patience=10, min_delta=0.0, monitor="auto", restore_best=True):
        self.patience = check_int(patience, "patience", min_value=1)
        self.min_delta = check_float(min_delta, "min_delta", min_value=0)
        self.monitor = check_option(monitor, "monitor", {"auto", "loss", "val_loss", "val_metric"})
        self.restore_best = check_bool(restore_best, "restore_best")
        self.reset()

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

    def restore(self, params):
        """Copy the best parameters back into ``params`` (if restore_best and any were seen)."""
        if self.restore_best and self.best_params is not None:
            np.copyto(params, self.best_params)

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
                f"monitor={self.monitor!r}, restore_best={self.restore_best})")


@dataclass
class History:
    """What happened in each epoch of a training run.

    Attributes
    ----------
    loss : list of float
        Training objective per epoch: the mean mini-batch loss (weighted by batch size) plus the
        penalty.
    val_loss : list of float
        Validation loss per epoch (data loss only, no penalty); empty without validation data.
    val_metric : list of float
        Validation accuracy (classification losses) or R^2 (MeanSquaredError) per epoch.
    metric_name : str
        ``"accuracy"`` or ``"r2"``.
    learning_rate : list of float
        Learning rate used in each epoch.
    time : list of float
        Seconds elapsed since the start of training at the end of each epoch.
    best_epoch : int or None
        1-based epoch with the best monitored value under early stopping; its parameters are
        the final ones when ``restore_best`` is True.
    stopped_epoch : int or None
        1-based epoch at which early stopping (or a callback) ended training.
    converged : bool
        True when training ended before max_epochs (early stopping, a callback, or L-BFGS's
        own convergence test).
    """

    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)
    metric_name: str = ""
    learning_rate: list = field(default_factory=list)
    time: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    converged: bool = False

    @property
    def n_epochs(self):
        """Number of completed epochs (iterations for L-BFGS)."""
        return len(self.loss)

    def to_dict(self):
        """Plain-data copy (lists of floats), for model files."""
        return asdict(self)
