"""Learning-rate schedules: the training loop asks one for the learning rate after each epoch.

Protocol::

    schedule.start(initial_lr)                    # at the start of training; resets the state
    lr = schedule.update(epoch, metric=..., n_samples_seen=...)   # after each epoch

``epoch`` counts completed epochs (1, 2, ...); ``metric`` is the monitored value (lower is
better: the validation loss, or the training loss without validation data). After ``start``,
``schedule.learning_rate`` is the rate of the first epoch, which the training loop applies
before it (the warm-up of :class:`CosineAnnealing` starts below lr_0).
"""

import math

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


class CosineAnnealing(Schedule):
    """Linear warm-up, then cosine annealing to ``min_learning_rate``, per epoch.

    For epoch t = 0, 1, ..., n_epochs - 1 (0-based; ``update(epoch)`` returns the rate of epoch
    t = epoch), W = warmup_epochs, T = n_epochs, lr_min = min_learning_rate::

        t < W:    lr = lr_0 * (t + 1) / W
        t >= W:   lr = lr_min + (lr_0 - lr_min) * (1 + cos(pi * (t - W) / (T - W))) / 2

    and lr_min from epoch T on.

    Parameters
    ----------
    n_epochs : int
        T, the planned number of epochs. Must be >= 1.
    warmup_epochs : int, default=0
        W. Must be >= 0 and < n_epochs.
    min_learning_rate : float, default=0.0
        Must be >= 0.

    References
    ----------
    I. Loshchilov, F. Hutter. SGDR: Stochastic Gradient Descent with Warm Restarts. ICLR 2017,
    arXiv:1608.03983 (one cycle, no restart).
    """

    def __init__(self, n_epochs, warmup_epochs=0, min_learning_rate=0.0):
        self.n_epochs = check_int(n_epochs, "n_epochs", min_value=1)
        self.warmup_epochs = check_int(warmup_epochs, "warmup_epochs", min_value=0,
                                       max_value=self.n_epochs - 1)
        self.min_learning_rate = check_float(min_learning_rate, "min_learning_rate", min_value=0)

    def start(self, initial_learning_rate):
        super().start(initial_learning_rate)
        self.learning_rate = self._rate(0)

    def update(self, epoch, *, metric=None, n_samples_seen=None):
        self.learning_rate = self._rate(epoch)
        return self.learning_rate

    def _rate(self, t):
        lr_0, lr_min = self.initial_learning_rate, self.min_learning_rate
        W, T = self.warmup_epochs, self.n_epochs
        if t < W:
            return lr_0 * (t + 1) / W
        if t >= T:
            return lr_min
        return lr_min + (lr_0 - lr_min) * (1 + math.cos(math.pi * (t - W) / (T - W))) / 2

    def get_config(self):
        return {"n_epochs": self.n_epochs, "warmup_epochs": self.warmup_epochs,
                "min_learning_rate": self.min_learning_rate}


class _ProgressSchedule(Schedule):
    """lr = lr_0 * factor(u) at the training progress u in [0, 1] (midpoint of each epoch)."""

    def __init__(self, n_epochs):
        self.n_epochs = check_int(n_epochs, "n_epochs", min_value=1)

    def start(self, initial_learning_rate):
        super().start(initial_learning_rate)
        self.learning_rate = self._rate(0)

    def update(self, epoch, *, metric=None, n_samples_seen=None):
        self.learning_rate = self._rate(epoch)
        return self.learning_rate

    def _rate(self, t):
        # The schedules are defined per step on u = step / n_steps; per epoch the epoch's
        # midpoint u = (t + 1/2) / T stands for it (u = 0 would train the first epoch at 0).
        return self.initial_learning_rate * self.factor(min((t + 0.5) / self.n_epochs, 1.0))

    def get_config(self):
        return {"n_epochs": self.n_epochs}


class CosLog4(_ProgressSchedule):
    """RealMLP's "coslog4": four cosine cycles on a logarithmic time axis.

    With u = (t + 1/2) / n_epochs the progress at the middle of epoch t (0-based)::

        lr = lr_0 * (1 - cos(2 pi * log2(1 + 15 u))) / 2

    log2(1 + 15 u) runs from 0 to 4, so the rate rises and falls four times, the cycles
    growing longer; it ends at 0.

    Parameters
    ----------
    n_epochs : int
        The planned number of epochs. Must be >= 1.

    References
    ----------
    D. Holzmueller, L. Grinsztajn, I. Steinwart. Better by Default: Strong Pre-Tuned MLPs and
    Boosted Trees on Tabular Data. NeurIPS 2024, arXiv:2407.04491 (appendix: schedules).
    """

    @staticmethod
    def factor(u):
        return (1 - math.cos(2 * math.pi * math.log2(1 + 15 * u))) / 2


class FlatCosine(_ProgressSchedule):
    """Flat for the first half, then a half cosine to 0 (RealMLP's "flat_cos").

    ::

        lr = lr_0 * (1 + cos(pi * max(0, 2 u - 1))) / 2,      u = (t + 1/2) / n_epochs

    Parameters
    ----------
    n_epochs : int
        The planned number of epochs. Must be >= 1.
    """

    @staticmethod
    def factor(u):
        return (1 + math.cos(math.pi * max(0.0, 2 * u - 1))) / 2


SCHEDULES = {
    "constant": Constant,
    "invscaling": InverseScaling,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "plateau": ReduceOnPlateau,
    "cosine": CosineAnnealing,
    "coslog4": CosLog4,
    "flat_cos": FlatCosine,
}
