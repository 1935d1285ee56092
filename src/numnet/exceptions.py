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
