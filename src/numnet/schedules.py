"""Learning-rate schedules: the training loop asks one for the learning rate after each epoch.

Protocol::

    schedule.start(initial_lr)                    # at the start of training; resets the state
    lr = schedule.update(epoch, metric=..., n_samples_seen=...)   # after each epoch

``epoch`` counts completed epochs (1, 2, ...); ``metric`` is the monitored value (lower is
better: the validation loss, or the training loss without validation data).
"""

from ._validation import check_float, check_int, check_option


class Schedule:
    """Base class; a schedule returns the learning rate for the next epoch."""

    def start(self, initial_learning_rate):
        """Remember the initial learning rate and reset any state."""
        self.initial_learning_rate = float(initial_learning_rate)
        self.learning_rate = self.initial_learning_rate

    def update(self, epoch, *, metric=None, n_samples_seen=None):
        """Return the learning rate to use after ``epoch`` completed epochs."""
        raise NotImplementedError

    def get_config(self):
        """Constructor arguments as plain data."""
        return {}

    def state_dict(self):
        """The state that changes during training (learning rate, counters), for checkpoints."""
        config = self.get_config()
        return {k: v for k, v in vars(self).items() if k not in config}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        vars(self).update(state)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """``lr = lr_0`` for every epoch."""

    def update(self, epoch, *, metric=None, n_samples_seen=None):
        return self.learning_rate


class InverseScaling(Schedule):
    """``lr = lr_0 / (t + 1) ** power_t``, t counting epochs or samples seen.

    Parameters
    ----------
    power_t : float, default=0.5
        Must be >= 0.
    unit : {"epoch", "sample"}, default="epoch"
        What t counts. ``"sample"`` is scikit-learn's ``learning_rate="invscaling"``.
    """

    def __init__(self, power_t=0.5, unit="epoch"):
        self.power_t = check_float(power_t, "power_t", min_value=0)
        self.unit = check_option(unit, "unit", {"epoch", "sample"})

    def update(self, epoch, *, metric=None, n_samples_seen=None):
        t = epoch if self.unit == "epoch" else n_samples_seen
        self.learning_rate = self.initial_learning_rate / (t + 1) ** self.power_t
        return self.learning_rate

    def get_config(self):
        return {"power_t": self.power_t, "unit": self.unit}


class StepDecay(Schedule):
    """``lr = lr_0 * gamma ** (epoch // step_size)``.

    Parameters
    ----------
    step_size : int
        Epochs between decays. Must be >= 1.
    gamma : float, default=0.1
        Factor per decay. Must be in (0, 1].
    """

    def __init__(self, step_size, gamma=0.1):
        self.step_size = check_int(step_size, "step_size", min_value=1)
        self.gamma = check_float(gamma, "gamma", min_value=0, max_value=1, include_min=False)

    def update(self, epoch, *, metric=None, n_samples_seen=None):
        self.learning_rate = self.initial_learning_rate * self.gamma ** (epoch // self.step_size)
        return self.learning_rate

    def get_config(self):
        return {"step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(Schedule):
    """``lr = lr_0 * gamma ** epoch``.

    Parameters
    ----------
    gamma : float
        Factor per epoch. Must be in (0, 1].
    """

    def __init__(self, gamma):
        self.gamma = check_float(gamma, "gamma", min_value=0, max_value=1, include_min=False)

    def update(self, epoch, *, metric=None, n_samples_seen=None):
        self.learning_rate = self.initial_learning_rate * self.gamma ** epoch
        return self.learning_rate

    def get_config(self):
        return {"gamma": self.gamma}


class ReduceOnPlateau(Schedule):
    """Multiply lr by ``factor`` after ``patience`` epochs without improvement of the metric.

    An epoch improves when ``metric < best - min_delta``; otherwise a counter grows, and when it
    reaches ``patience`` the learning rate becomes ``max(lr * factor, min_learning_rate)`` and
    the counter restarts. scikit-learn's ``learning_rate="adaptive"`` corresponds to
    ``ReduceOnPlateau(factor=0.2, patience=n_iter_no_change + 1, min_delta=tol)``.

    Parameters
    ----------
    factor : float, default=0.1
        Must be in (0, 1).
    patience : int, default=10
        Must be >= 1.
    min_delta : float, default=1e-4
        Must be >= 0.
    min_learning_rate : float, default=0.0
        Must be >= 0.
    """

    def __init__(self, factor=0.1, patience=10, min_delta=1e-4, min_learning_rate=0.0):
        self.factor = check_float(factor, "factor", min_value=0, max_value=1,
                                  include_min=False, include_max=False)
        self.patience = check_int(patience, "patience", min_value=1)
        self.min_delta = check_float(min_delta, "min_delta", min_value=0)
        self.min_learning_rate = check_float(min_learning_rate, "min_learning_rate", min_value=0)

    def start(self, initial_learning_rate):
        super().start(initial_learning_rate)
        self.best = float("inf")
        self.wait = 0

    def update(self, epoch, *, metric=None, n_samples_seen=None):
        if metric is None:
            raise ValueError("ReduceOnPlateau needs a metric; the training loop passes the loss.")
        if metric < self.best - self.min_delta:
            self.best, self.wait = metric, 0
        else:
            self.best = min(self.best, metric)
            self.wait += 1
            if self.wait >= self.patience:
                self.learning_rate = max(self.learning_rate * self.factor, self.min_learning_rate)
                self.wait = 0
        return self.learning_rate

    def get_config(self):
        return {"factor": self.factor, "patience": self.patience, "min_delta": self.min_delta,
                "min_learning_rate": self.min_learning_rate}


SCHEDULES = {
    "constant": Constant,
    "invscaling": InverseScaling,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "plateau": ReduceOnPlateau,
}
