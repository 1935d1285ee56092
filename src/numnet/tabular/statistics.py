"""Exact sums: the standardisation statistics do not depend on how the rows are split up.

``numnet train`` standardises with the mean and standard deviation of each column. Computed
with floating-point sums, they would depend on the order of the additions, so a table read in
one piece and the same table read as partitions on a Dask cluster would give models that differ
in the last bits. Here every sum is exact (a :class:`fractions.Fraction`), and each statistic is
rounded once at the end::

    mean = round(S1 / n)                       S1 = sum(x),  S2 = sum(x**2), both exact
    std  = sqrt(round(S2 / n - (S1 / n)**2))   (the population standard deviation)

so partial sums of any partitioning add up to the same numbers bit for bit.
"""

import math
from fractions import Fraction

import numpy as np

_CHUNK = 1 << 16
"""Rows per block: sums of products below 2**36 stay exact in float64 for 2**16 rows."""

_SHIFT = 1074 + 53
"""2**-1074 is the smallest float64 (subnormal); frexp's E - 53 is never below -1127."""


def _mantissas(values):
    """(|M|, sign, E) with ``values == sign * M * 2**E``, M an integer below 2**53."""
    m, e = np.frexp(values)
    mantissa = np.abs(m * 2.0**53).astype(np.int64)
    return mantissa, np.signbit(m), e.astype(np.int64) - 53


def _grouped(keys, columns):
    """Per distinct key: the exact integer sums of each column (float64 sums of ints < 2**52).

    The keys are exponents, a few thousand values at most: counted by ``bincount`` from the
    smallest, without sorting.
    """
    low = int(keys.min())
    offsets = keys - low
    present = np.flatnonzero(np.bincount(offsets))
    sums = [np.bincount(offsets, weights=c)[present] for c in columns]
    return present + low, sums


def exact_sums(values):
    """``(sum(x), sum(x**2))`` of finite float64 values, exactly, as Fractions.

    Each value is ``M * 2**E`` with an integer mantissa M (``numpy.frexp``); M is cut into
    pieces of 18 bits, whose products are summed per exponent in float64 without rounding
    (blocks of 2**16 rows), and the per-exponent integers are added as Python integers.
    """
    values = np.ascontiguousarray(values, dtype=np.float64).ravel()
    total, squares = 0, 0              # integers in units of 2**-_SHIFT (sum) and 2**-2_SHIFT
    for start in range(0, len(values), _CHUNK):
        mantissa, negative, exponent = _mantissas(values[start:start + _CHUNK])
        a = (mantissa >> 36).astype(np.float64)
        b = ((mantissa >> 18) & 0x3FFFF).astype(np.float64)
        c = (mantissa & 0x3FFFF).astype(np.float64)
        sign = np.where(negative, -1.0, 1.0)
        keys, sums = _grouped(exponent, [sign * a, sign * b, sign * c, a * a, a * b, a * c,
                                         b * b, b * c, c * c])
        for key, parts in zip(keys.tolist(), zip(*sums, strict=True), strict=True):
            sa, sb, sc, aa, ab, ac, bb, bc, cc = (int(p) for p in parts)
            total += ((sa << 36) + (sb << 18) + sc) << (key + _SHIFT)
            square = (aa << 72) + (ab << 55) + ((2 * ac + bb) << 36) + (bc << 19) + cc
            squares += square << (2 * (key + _SHIFT))
    return Fraction(total, 1 << _SHIFT), Fraction(squares, 1 << (2 * _SHIFT))


def exact_mean(n, total):
    """``sum / n`` rounded once; OverflowError when it is beyond float64."""
    return float(total / n)


def exact_mean_std(n, total, squares):
    """(mean, population standard deviation) from exact sums; OverflowError if too large."""
    mean = total / n
    variance = squares / n - mean * mean
    return float(mean), math.sqrt(float(variance))


def mean_std(values):
    """(mean, population standard deviation) of finite float64 values, from exact sums.

    OverflowError when a result is beyond float64 (the caller says which column).
    """
    total, squares = exact_sums(values)
    return exact_mean_std(len(values), total, squares)
