"""Which rows form each batch of an epoch (a batch sampler), and gathering them (TrainingData).

The loop asks a :class:`BatchSampler` for each epoch's batches and gathers their rows through
:class:`TrainingData`. A sampler yields row selections only, never data, so that a resumed run
can skip the batches it already did without touching them. Shuffling draws one permutation of
the indices per epoch (scikit-learn's habit), never of the data.
"""

import numpy as np

from .._validation import check_int, issparse


def iter_minibatches(n_samples, batch_size, *, shuffle=True, rng=None):
    """Yield index arrays (shuffled) or slices (in order) that cover ``range(n_samples)`` once.

    Indices are shuffled, never the data (scikit-learn's habit); the last batch may be smaller.

    Examples
    --------
    >>> [b for b in iter_minibatches(5, 2, shuffle=False)]
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    if shuffle:
        order = np.random.default_rng(rng).permutation(n_samples)
        for start in range(0, n_samples, batch_size):
            yield order[start:start + batch_size]
    else:
        for start in range(0, n_samples, batch_size):
            yield slice(start, min(start + batch_size, n_samples))


class BatchSampler:
    """Decides which rows form the batches of one epoch.

    ``epoch(n_samples, rng)`` yields, for each batch, its rows: a slice or an index array.
    Randomness comes only from ``rng`` (the run's generator), so a seeded run is reproducible
    and a resumed one draws the same batches again. ``full_batch`` is True when every epoch is
    one batch of all rows in order (the loop may then use whole-data kernels).

    Subclasses here: :class:`MiniBatches` and :class:`FullBatch`. Room for more: Poisson
    sampling (each row independently with probability q, as DP-SGD's accountant assumes) and
    worker-local batches (data-parallel training) are samplers too.
    """

    full_batch = False
    # The loop skips a batch whose sample weights sum to 0 (it carries no gradient). A sampler
    # whose every step must be taken sets this False: under DP-SGD a skipped step would show
    # that the batch held no weighted rows, so a noise-only step is taken instead.
    skip_weightless = True

    def epoch(self, n_samples, rng):
        raise NotImplementedError


class MiniBatches(BatchSampler):
    """Consecutive slices of ``batch_size`` rows of a (shuffled) order; the last may be smaller.

    Parameters
    ----------
    batch_size : int
    shuffle : bool, default=True
        Draw a new permutation of the rows every epoch.
    """

    def __init__(self, batch_size, shuffle=True):
        self.batch_size = check_int(batch_size, "batch_size", min_value=1)
        self.shuffle = shuffle

    def epoch(self, n_samples, rng):
        return iter_minibatches(n_samples, self.batch_size, shuffle=self.shuffle, rng=rng)


class FullBatch(BatchSampler):
    """One batch of all rows, in order, every epoch (full-batch gradient descent).

    The order of the rows cannot change the gradient, so there is no permutation and no
    gather: the loop uses the data itself.
    """

    full_batch = True

    def epoch(self, n_samples, rng):
        yield slice(0, n_samples)


class TrainingData:
    """The training rows and reusable buffers to gather a batch into (no allocation per step).

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
    rows : int ndarray of shape (n_samples,), default=None
        The training rows are ``X[rows]`` (y and sample_weight hold those rows already): the
        other rows of X (a validation split) stay where they are and X is not copied; a batch
        gathers ``X[rows[batch]]``, the rows ``X[rows][batch]`` would give.
    """

    def __init__(self, X, y, sample_weight, rows=None):
        self.X, self.y, self.sample_weight, self.rows = X, y, sample_weight, rows
        self.n_samples = X.shape[0] if rows is None else rows.shape[0]
        self.total_weight = (self.n_samples if sample_weight is None
                             else float(sample_weight.sum()))
        self._X_buf = self._y_buf = None

    def batch(self, rows):
        """``(X_b, y_b, w_b)`` for a slice (views) or an index array (gathered into buffers).

        The buffers grow to the largest batch seen and are used through views, so batches
        whose size changes (Poisson sampling) allocate nothing either. The indices come from
        the samplers, in range: ``take`` runs with ``mode="clip"``, which writes straight into
        the buffer (``"raise"`` would gather into a temporary first).
        """
        X, y = self.X, self.y
        if isinstance(rows, slice) and self.rows is None:
            X_b, y_b = X[rows], y[rows]
        else:
            X_rows = rows if self.rows is None else self.rows[rows]
            n = X_rows.shape[0]
            if self._y_buf is None or self._y_buf.shape[0] < n:
                self._X_buf = (None if issparse(X) else
                               np.empty((n, X.shape[1]), dtype=X.dtype))
                self._y_buf = np.empty((n, y.shape[1]), dtype=y.dtype)
            X_b = (X[X_rows] if self._X_buf is None else
                   X.take(X_rows, axis=0, out=self._X_buf[:n], mode="clip"))
            y_b = (y[rows] if isinstance(rows, slice) else
                   y.take(rows, axis=0, out=self._y_buf[:n], mode="clip"))
        w_b = None if self.sample_weight is None else self.sample_weight[rows]
        return X_b, y_b, w_b
