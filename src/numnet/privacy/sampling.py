"""Poisson sampling: each row joins a batch independently with probability q (DP-SGD)."""

import math

import numpy as np

from .._validation import check_float, check_int, check_option
from ..training.sampling import BatchSampler

#: How :class:`PoissonBatches` draws a batch: the same distribution, other draws.
SAMPLERS = ("uniform", "geometric")


class PoissonBatches(BatchSampler):
    """Batches in which every row is included independently with probability ``rate``.

    Each step of an epoch draws, from the run's generator, with ``sampler="uniform"`` (the
    default)::

        u ~ Uniform(0, 1)^n_samples
        rows = flatnonzero(u < q)              |rows| ~ Binomial(n_samples, q)

    or, with ``sampler="geometric"``, the gaps between included rows::

        g_1, g_2, ... ~ Geometric(q)           (trials up to and including a success, >= 1)
        rows = [g_1 - 1, g_1 + g_2 - 1, ...]   the positions below n_samples

    The two are the same distribution (a Bernoulli(q) process on the rows is a sequence of
    Geometric(q) waiting times), so the privacy accounting is the same; the second costs about
    n_samples * q draws a step instead of n_samples, but draws other batches from a seed.

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
    sampler : {"uniform", "geometric"}, default="uniform"
        How a batch is drawn (above): one uniform number per row, or the gaps between rows.

    Notes
    -----
    Randomness comes only from the run's generator, drawn one batch at a time, so a seeded run
    is reproducible and a resumed one, replaying the epoch from the generator's state at its
    start, draws the same batches again.

    The geometric sampler draws the gaps in chunks of ``nq + 4 sqrt(nq) + 1`` (rounded up),
    enough for all but about 3 batches in 100,000; when a chunk ends before the last row it
    draws another from where it ended.

    Examples
    --------
    >>> sampler = PoissonBatches(0.5, steps_per_epoch=2)
    >>> [rows.tolist() for rows in sampler.epoch(4, np.random.default_rng(0))]
    [[1, 2, 3], []]
    """

    skip_weightless = False

    def __init__(self, rate, steps_per_epoch=None, *, sampler="uniform"):
        self.rate = check_float(rate, "rate", min_value=0, max_value=1, include_min=False)
        if steps_per_epoch is None:
            steps_per_epoch = max(1, int(1 / self.rate))
        self.steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch", min_value=1)
        self.sampler = check_option(sampler, "sampler", set(SAMPLERS))

    def epoch(self, n_samples, rng):
        if self.sampler == "geometric":
            chunk = _chunk(n_samples, self.rate)
            for _ in range(self.steps_per_epoch):
                yield _geometric_rows(rng, n_samples, self.rate, chunk)
            return
        # rng.random(n) < q, into two arrays kept for the epoch: the same draws and rows
        uniform = np.empty(n_samples)
        inside = np.empty(n_samples, dtype=np.bool_)
        for _ in range(self.steps_per_epoch):
            rng.random(out=uniform)
            yield np.less(uniform, self.rate, out=inside).nonzero()[0]

    def __repr__(self):
        extra = "" if self.sampler == "uniform" else f", sampler={self.sampler!r}"
        return (f"PoissonBatches(rate={self.rate!r}, "
                f"steps_per_epoch={self.steps_per_epoch!r}{extra})")


def _chunk(n_samples, rate):
    """Gaps drawn at a time: the mean number of rows in a batch plus 4 standard deviations."""
    mean = n_samples * rate
    return math.ceil(mean + 4 * math.sqrt(mean * (1 - rate))) + 1


def _geometric_rows(rng, n_samples, rate, chunk):
    """The rows of one Poisson batch, from the Geometric(rate) gaps between them.

    Gaps are capped at n_samples + 1 before they are summed: a larger gap leaves the batch at
    the same place (past the last row) and the cumulative sum cannot overflow.
    """
    gaps = rng.geometric(rate, size=chunk)
    np.minimum(gaps, n_samples + 1, out=gaps)
    positions = np.cumsum(gaps)
    positions -= 1
    while positions[-1] < n_samples:       # the chunk ended inside the data: draw on
        gaps = rng.geometric(rate, size=chunk)
        np.minimum(gaps, n_samples + 1, out=gaps)
        gaps[0] += positions[-1]
        positions = np.concatenate([positions, np.cumsum(gaps)])
    return positions[:np.searchsorted(positions, n_samples)]
