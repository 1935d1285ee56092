"""DP-SGD's Gaussian noise: seeded, in the network's dtype, and cheap.

A private step adds one standard normal per parameter (270k for a 784-256-256-10 MLP), and
numpy's ziggurat takes about as long for that as the whole non-private step. float32 normals
come from a vectorised Box-Muller transform instead: a handful of SIMD passes rather than one
branchy call per number, 3x faster.

One generator on the calling thread: filling slices from independent streams on threads was
slower inside a real step (1.35x the plain step against 1.23x on one thread, 2 cores), as
BLAS's threads already hold the other core.
"""

import numpy as np

_TWO_TO_MINUS_32 = np.float32(2.0**-32)
_ANGLE_STEP = np.float32(2.0 * np.pi * 2.0**-32)
_SHORT = np.uint32(1 << 24)


class GaussianNoise:
    """Fills vectors with seeded normals from one generator, whose state checkpoints keep.

    Parameters
    ----------
    random_state : int, numpy.random.Generator or None
        Seeds the generator.

    Notes
    -----
    float64 vectors get numpy's float64 ziggurat. float32 vectors get the Box-Muller
    transform in float32: from 32-bit random words h, l and a,

        u     = (h + l 2**-32) 2**-32 + 2**-65        u in (0, 1]
        theta = 2 pi a 2**-32
        z1, z2 = sqrt(-2 log u) cos(theta), sqrt(-2 log u) sin(theta)

    are two independent N(0, 1) draws. Only the pairs with h < 2**24 (one in 256) draw l
    and add 2**-65: above, h has more significant bits than a float32 keeps and l could only
    move u within float32's rounding; 64 bits a pair, and 32 more one time in 256.

    u carries 64 bits, so the tails reach sqrt(2 * 65 * log 2) = 9.5 standard deviations
    (the mass beyond is 3e-21). A float32 u from 24 bits would cut the noise off at 5.8,
    leaving outcomes one neighbouring dataset can produce and the other cannot, with a
    probability (about 4e-9 a coordinate and a step at sigma = 1) that adds up over a run to
    more than a typical delta. The float32 ``log``, ``sin`` and ``cos`` are numpy's SIMD
    loops, accurate to a few units in the last place; which loop runs depends on the CPU, so
    the last bit of a draw can differ between machines (as BLAS results do), never between
    runs on one machine.
    """

    def __init__(self, random_state=None):
        self.rng = np.random.default_rng(random_state)

    def fill(self, out, scale=1.0):
        """Overwrite the 1-d array ``out`` (float32 or float64) with N(0, scale**2) draws."""
        _standard_normal(self.rng, out, scale)
        return out

    def state_dict(self):
        """The generator's state, for checkpoints."""
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned.

        States saved when large networks drew from parallel streams also hold ``"streams"``;
        such a run continues from its seed generator alone: other draws, the same
        distribution and the same guarantee.
        """
        self.rng.bit_generator.state = state["rng"]


def _standard_normal(rng, out, scale):
    if out.dtype == np.float32:
        _box_muller_float32(rng, out, scale)
    else:
        rng.standard_normal(dtype=out.dtype, out=out)
        if scale != 1.0:
            out *= scale


def _box_muller_float32(rng, out, scale=1.0):
    """Fill the float32 vector ``out`` with N(0, scale**2) draws (see :class:`GaussianNoise`).

    Each pair takes two 32-bit words, h and a; the pairs with h < 2**24 take a third, l.
    """
    n = out.size
    pairs = (n + 1) // 2
    words = rng.bit_generator.random_raw(pairs).view(np.uint32)
    high, angle_words = words[:pairs], words[pairs:]
    radius = high.astype(np.float32)
    radius *= _TWO_TO_MINUS_32
    short = np.flatnonzero(high < _SHORT)
    if short.size:
        low = rng.bit_generator.random_raw((short.size + 1) // 2).view(np.uint32)
        exact = (high[short] + low[:short.size] * 2.0**-32) * 2.0**-32 + 2.0**-65
        radius[short] = exact                   # float64 rounded once to float32
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    if scale != 1.0:
        radius *= np.float32(scale)
    angle = angle_words.astype(np.float32)
    angle *= _ANGLE_STEP
    first, second = out[:pairs], out[pairs:]
    np.cos(angle, out=first)
    first *= radius
    np.sin(angle[:n - pairs], out=second)
    second *= radius[:n - pairs]
