"""DP-SGD's Gaussian noise: seeded, in the network's dtype, drawn on every core.

A private step adds one standard normal per parameter (270k for a 784-256-256-10 MLP), and
numpy's ziggurat takes about as long for that as the whole non-private step. Two things make
it cheap: float32 normals come from a vectorised Box-Muller transform (a handful of SIMD
passes instead of one branchy call per number), and large vectors are cut into slices that
independent generators fill on threads (numpy releases the GIL while it works).
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Vectors with at least this many entries are filled by NOISE_STREAMS generators on threads;
#: smaller ones by a single generator.
PARALLEL_NOISE_MIN = 1 << 16
NOISE_STREAMS = 8

_TWO_TO_MINUS_32 = np.float32(2.0**-32)
_ANGLE_STEP = np.float32(2.0 * np.pi * 2.0**-32)
_SHORT = np.uint32(1 << 24)


class GaussianNoise:
    """Fills vectors with seeded standard normals; the state of every generator is kept.

    Parameters
    ----------
    random_state : int, numpy.random.Generator or None
        Seeds the generator. With ``NOISE_STREAMS`` streams (vectors of at least
        ``PARALLEL_NOISE_MIN`` entries), the streams are PCG64 generators seeded once from it
        through ``SeedSequence.spawn`` (statistically independent), each filling a fixed,
        contiguous slice of the vector. The result depends on the seed alone, not on the
        number of cores or on how the threads are scheduled.

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
        self._streams = None

    def fill(self, out, scale=1.0):
        """Overwrite the 1-d array ``out`` (float32 or float64) with N(0, scale**2) draws."""
        if out.size < PARALLEL_NOISE_MIN:
            _standard_normal(self.rng, out, scale)
            return out
        if self._streams is None:
            seed = np.random.SeedSequence(
                self.rng.integers(0, 2**32, size=4, dtype=np.uint64).tolist())
            self._streams = [np.random.Generator(np.random.PCG64(child))
                             for child in seed.spawn(NOISE_STREAMS)]
        _fill_in_slices(self._streams, out, scale)
        return out

    def state_dict(self):
        """The generators' states, for checkpoints."""
        state = {"rng": self.rng.bit_generator.state}
        if self._streams is not None:
            state["streams"] = [stream.bit_generator.state for stream in self._streams]
        return state

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        self.rng.bit_generator.state = state["rng"]
        streams = state.get("streams")
        if streams:
            self._streams = [np.random.Generator(np.random.PCG64()) for _ in streams]
            for stream, stream_state in zip(self._streams, streams, strict=True):
                stream.bit_generator.state = stream_state
        else:
            self._streams = None


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


_POOL = None
_POOL_LOCK = threading.Lock()


def _fill_in_slices(streams, out, scale):
    """Slice k of ``out`` (cut into len(streams) near-equal parts) from ``streams[k]``.

    The slices are dealt to one lane a core, round robin; the calling thread runs the first
    lane itself, so on two cores a single pool thread wakes up once a call.
    """
    global _POOL
    bounds = np.linspace(0, out.size, len(streams) + 1).astype(int)
    lanes = min(len(streams), os.cpu_count() or 1)

    def fill_lane(lane):
        for k in range(lane, len(streams), lanes):
            _standard_normal(streams[k], out[bounds[k]:bounds[k + 1]], scale)

    if lanes > 1:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = ThreadPoolExecutor(lanes - 1, thread_name_prefix="numnet-noise")
        others = [_POOL.submit(fill_lane, lane) for lane in range(1, lanes)]
    fill_lane(0)
    if lanes > 1:
        for future in others:
            future.result()
