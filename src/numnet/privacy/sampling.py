"""Poisson sampling: each row joins a batch independently with probability q (DP-SGD)."""

import numpy as np

from .._validation import check_float, check_int
from ..training.sampling import BatchSampler


class PoissonBatches(BatchSampler):
    """Batches in which every row is included independently with probability ``rate``.

    Each step of an epoch draws, from the run's generator::

        u ~ Uniform(0, 1)^n_samples
        rows = flatnonzero(u < q)              |rows| ~ Binomial(n_samples, q)

    An epoch is ``steps_per_epoch`` such batches (by default ``int(1 / q)``, as Opacus's
    ``UniformWithReplacementSampler``), so an epoch sees about n_samples rows. A batch may be
    empty; it is still a step (a noise-only one under :class:`ClippedNoisyGradient`), which is
    what the privacy accountant assumes: the amplification by subsampling holds for this
    sampling, not for shuffled fixed-size batches.

    Parameters
    ----------
    rate : float
        Sampling rate q, in (0, 1].
    steps_per_epoch : int or None, default=None
        Batches per epoch; None means ``max(1, int(1 / rate))``.

    Notes
    -----
    Randomness comes only from the run's generator, drawn one batch at a time, so a seeded run
    is reproducible and a resumed one, replaying the epoch from the generator's state at its
    start, draws the same batches again.

    Examples
    --------
    >>> sampler = PoissonBatches(0.5, steps_per_epoch=2)
    >>> [rows.tolist() for rows in sampler.epoch(4, np.random.default_rng(0))]
    [[1, 2, 3], []]
    """

    skip_weightless = False

    def __init__(self, rate, steps_per_epoch=None):
        self.rate = check_float(rate, "rate", min_value=0, max_value=1, include_min=False)
        if steps_per_epoch is None:
            steps_per_epoch = max(1, int(1 / self.rate))
        self.steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch", min_value=1)

    def epoch(self, n_samples, rng):
        for _ in range(self.steps_per_epoch):
            yield np.flatnonzero(rng.random(n_samples) < self.rate)

    def __repr__(self):
        return f"PoissonBatches(rate={self.rate!r}, steps_per_epoch={self.steps_per_epoch!r})"
