"""Exceptions that numnet raises beyond Python's and scikit-learn's own."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the last finite parameters were restored.

    Attributes
    ----------
    epoch : int
        The 1-based epoch in which the loss became non-finite.
    """

    def __init__(self, message, *, epoch):
        super().__init__(message)
        self.epoch = epoch


class InvalidStateError(ValueError):
    """A saved training state holds values that no training run writes (the file was altered).

    Raised when a checkpoint's optimizer state is restored, for example a negative second
    moment of Adam (a sum of squares) or a step count beyond any run's; the message says which
    value. Distinct from a state that belongs to another run (a plain ValueError).
    """


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT or SIGTERM after saving its state to a checkpoint.

    Subclasses KeyboardInterrupt, so an uncaught one ends a program like Ctrl-C does.

    Attributes
    ----------
    signal : int
        The signal received (``signal.SIGINT`` or ``signal.SIGTERM``).
    epoch : int
        The 1-based epoch that was interrupted (the one a resume continues).
    checkpoint : object
        The checkpoint the state was saved to.
    """

    def __init__(self, signal, epoch, checkpoint):
        import signal as signals

        name = signals.Signals(signal).name
        super().__init__(
            f"Training interrupted by {name} in epoch {epoch}; the state was saved to "
            f"{checkpoint}. Resume with resume=True (numnet train --resume)."
        )
        self.signal, self.epoch, self.checkpoint = signal, epoch, checkpoint


class SchedulerLostError(ConnectionError):
    """The Dask scheduler went away during data-parallel work; the fit stopped.

    Raised by :mod:`numnet.distributed` (and the estimators on dask input) in place of Dask's
    own errors for a lost scheduler connection, with a one-line message naming the scheduler.
    The original error is the ``__cause__``.

    Attributes
    ----------
    address : str or None
        The scheduler's address, when the client knew it.
    """

    def __init__(self, message, *, address=None):
        super().__init__(message)
        self.address = address
