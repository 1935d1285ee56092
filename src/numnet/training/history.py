"""What a training run records: :class:`History`."""

from dataclasses import asdict, dataclass, field


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
