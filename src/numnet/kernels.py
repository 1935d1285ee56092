"""Fused loops for the two places where NumPy's one-operation-per-pass costs the most.

With the ``fast`` extra (``pip install "numnet[fast]"``, which adds numba), numnet compiles
two loops and uses them instead of the equivalent NumPy code; without it, or with the
environment variable ``NUMNET_NUMBA=0``, everything runs on NumPy alone. Both paths compute
the same numbers (the tests compare them) and the NumPy code stays the reference, documented
where it lives.

* :func:`adam_step`: the whole Adam update of :class:`numnet.Adam` in one pass over the four
  vectors (params, grads and the two moment sums), instead of ten NumPy passes. At 670k float32
  parameters this is 0.2 ms against 1.3 ms.
* :func:`linear_objective`: loss and gradient of linear and logistic regression (a network
  that is one ``Dense(1)`` layer) on the full batch, reading each row of ``X`` once for
  ``z = x . w + b``, the loss and ``l'(z) x``, on all cores. NumPy needs two passes over ``X``
  (``X @ W``, then ``X.T @ dZ``), and on large data both are memory-bound.

``ENABLED`` says whether the compiled loops are in use. Each loop is compiled on first use
and cached on disk by numba, so only the first run on a machine pays for the compilation
(about 0.3 s for Adam, 2 s for the linear loop, per dtype). With numba, ``import numnet`` takes
about 0.4 s longer and 110 MB more resident memory (numba, and its LLVM runtime, which is
started at import so that the first training step does not pay for it).
"""

import os
import threading
import warnings

import numpy as np

from .layers import Dense
from .losses import BinaryCrossEntropy, MeanSquaredError

try:
    if os.environ.get("NUMNET_NUMBA", "1").strip().lower() in ("0", "false", "no", "off"):
        raise ImportError("disabled through NUMNET_NUMBA")
    import numba
except ImportError:
    numba = None

ENABLED = numba is not None

__all__ = ["ENABLED", "adam_step", "linear_objective"]

# Below this many rows the two BLAS calls of the NumPy path are as fast as the fused loop.
_MIN_ROWS = 2048
# Rows summed in X's dtype before they are added to the float64 chunk total.
_BLOCK = 256


def adam_step(params, grads, M, V, beta1, beta2, step_size, eps_hat):
    """One Adam update in a single pass; False (nothing done) when it does not apply.

    With the moment sums ``M`` and ``V`` of :class:`numnet.Adam`, for every index i::

        M[i] = beta1 * M[i] + g[i]
        V[i] = beta2 * V[i] + g[i]**2
        params[i] -= M[i] / (sqrt(V[i]) + eps_hat) * step_size

    All four arrays must be 1-D, C-contiguous and of one floating dtype; the scalars are cast
    to it, so float32 stays float32.
    """
    if not ENABLED or not _same_contiguous_vectors(params, grads, M, V):
        return False
    cast = params.dtype.type
    _adam(params, grads, M, V, cast(beta1), cast(beta2), cast(step_size),
                   cast(eps_hat))
    return True


def linear_objective(net, loss, X, y, sample_weight=None):
    """Full-batch loss of a one-output linear model, its gradient written into ``net.grads``.

    Returns the loss value (the weighted mean of the per-sample losses, as
    ``loss.loss_gradient`` gives it), or None when the fused loop does not apply: numba missing,
    a network that is not exactly one ``Dense(1)`` layer, a loss other than
    :class:`~numnet.MeanSquaredError` or :class:`~numnet.BinaryCrossEntropy`, fewer than 2048
    rows, or ``X`` not C-contiguous in the network's dtype. The caller then takes the NumPy path.
    (With several outputs, e.g. multinomial regression, ``X @ W`` is no longer memory-bound
    and BLAS is faster than this loop.)

    Per row x_i (n_in,), target t_i and weight w_i, with z_i = x_i . w + b and s = sum_i w_i::

        value = sum_i w_i l(t_i, z_i) / s
        dL/dw = sum_i (w_i / s) l'(z_i) x_i,     dL/db = sum_i (w_i / s) l'(z_i)

        squared error:        l = (z - t)^2,                        l' = 2 (z - t)
        binary cross-entropy: l = log(1 + exp(z)) - t z (stable),   l' = sigmoid(z) - t

    Rows are split into chunks run in parallel, one partial gradient per chunk (summed in
    float64), added up at the end.
    """
    if not ENABLED or len(net.layers) != 1:
        return None
    layer = net.layers[0]
    kind = _LOSS_KINDS.get(type(loss))
    if kind is None or type(layer) is not Dense or layer.n_out != 1:
        return None
    w = layer.params["W"].reshape(-1)
    dtype, n_rows = w.dtype, X.shape[0] if X.ndim == 2 else 0
    if (n_rows < _MIN_ROWS or dtype not in _FLOATS or X.dtype != dtype
            or X.shape[1] != w.shape[0] or not X.flags.c_contiguous):
        return None
    y = np.asarray(y)
    if y.shape not in ((n_rows,), (n_rows, 1)):
        return None  # the NumPy path raises the error that explains the shape
    y = np.ascontiguousarray(y.reshape(-1), dtype=dtype)
    if sample_weight is None:
        weights, total = np.empty(0), float(n_rows)
    else:
        weights = np.ascontiguousarray(sample_weight, dtype=np.float64)
        total = float(weights.sum())
        if weights.shape != (n_rows,) or not total > 0:
            return None
    b = float(layer.params["b"][0]) if layer.bias else 0.0
    if not _lock.acquire(blocking=False):
        return None  # another thread is in the parallel loop (numba's pool is not reentrant)
    try:
        n_chunks = int(min(4 * numba.get_num_threads(), n_rows // 1024))
        grad_w, grad_b, losses = np.empty((n_chunks, w.shape[0])), np.empty(n_chunks), \
            np.empty(n_chunks)
        _linear(X, y, w, b, weights, kind, grad_w, grad_b, losses)
    finally:
        _lock.release()
    # The gradient views are written in place: the network's flat grads change with them.
    np.divide(grad_w.sum(axis=0), total, out=layer.grads["W"].reshape(-1), casting="unsafe")
    if layer.bias:
        layer.grads["b"][0] = grad_b.sum() / total
    return float(losses.sum() / total)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_LOSS_KINDS = {MeanSquaredError: 0, BinaryCrossEntropy: 1}
_lock = threading.Lock()


def _same_contiguous_vectors(first, *others):
    if first.ndim != 1 or first.dtype not in _FLOATS or not first.flags.c_contiguous:
        return False
    return all(a.ndim == 1 and a.dtype == first.dtype and a.shape == first.shape
               and a.flags.c_contiguous for a in others)


def _jit(**options):
    """numba.njit with disk caching and the GIL released; a no-op decorator without numba.

    error_model="numpy": no Python ZeroDivisionError check in the loops, which would stop LLVM
    from vectorising them (7x slower for Adam).
    """
    if numba is None:
        return lambda function: function
    return numba.njit(cache=True, nogil=True, error_model="numpy", **options)


# No fastmath: NaN and inf must propagate (they are how training detects divergence), and
# each operation rounds as its NumPy counterpart in Adam.step does, in the same order, so the
# two paths give bit-identical parameters.
@_jit()
def _adam(params, grads, M, V, beta1, beta2, step_size, eps_hat):
    for i in range(params.shape[0]):
        g = grads[i]
        m = beta1 * M[i] + g
        v = beta2 * V[i] + g * g
        M[i] = m
        V[i] = v
        params[i] -= m / (np.sqrt(v) + eps_hat) * step_size


# reassoc/contract let LLVM vectorise the dot products (as BLAS does); no "nnan"/"ninf",
# so an overflow still shows up as inf/nan in the returned loss.
@_jit(fastmath={"reassoc", "contract"}, parallel=True)
def _linear(X, y, w, b, weights, kind, grad_w, grad_b, losses):
    n_rows, n_in = X.shape
    n_chunks = losses.shape[0]
    rows_per_chunk = (n_rows + n_chunks - 1) // n_chunks
    for chunk in numba.prange(n_chunks):
        first, stop = chunk * rows_per_chunk, min(n_rows, (chunk + 1) * rows_per_chunk)
        total_w = grad_w[chunk]          # float64, the chunk's sum of r_i x_i
        total_w[:] = 0.0
        block_w = np.zeros(n_in, dtype=X.dtype)  # in X's dtype (vectorises), flushed every
        total_b = 0.0                    # _BLOCK rows, so float32 sums stay short
        value = 0.0
        for i in range(first, stop):
            x = X[i]
            z = X.dtype.type(0)
            for j in range(n_in):
                z += x[j] * w[j]
            z = np.float64(z) + b
            t = np.float64(y[i])
            if kind == 0:                # squared error: l = (z - t)^2, dl/dz = 2 (z - t)
                diff = z - t
                loss, r = diff * diff, 2.0 * diff
            else:                        # binary cross-entropy from the logit z
                e = np.exp(-abs(z))
                loss = max(z, 0.0) - t * z + np.log1p(e)
                r = (1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)) - t
            if weights.shape[0]:
                loss *= weights[i]
                r *= weights[i]
            value += loss
            total_b += r
            r_x = X.dtype.type(r)
            for j in range(n_in):
                block_w[j] += r_x * x[j]
            if (i - first) % _BLOCK == _BLOCK - 1 or i == stop - 1:
                for j in range(n_in):
                    total_w[j] += block_w[j]
                    block_w[j] = 0
        grad_b[chunk] = total_b
        losses[chunk] = value


def _start_jit_runtime():
    """Load (or compile) one kernel now, at import, rather than inside the first training step.

    The first compiled call of a process starts numba's LLVM runtime: about 0.35 s and 50 MB
    once, like the loading of any compiled library. Later kernels load from numba's disk cache
    in milliseconds. If compiling fails on this machine, numnet warns and stays on NumPy.
    """
    global ENABLED
    try:
        vector = np.zeros(1, dtype=np.float32)
        _adam(vector, vector.copy(), vector.copy(), vector.copy(), np.float32(0.9),
              np.float32(0.999), np.float32(0.001), np.float32(1e-8))
    except Exception as error:  # numba present but unusable here: NumPy still works
        ENABLED = False
        warnings.warn(f"numba could not compile numnet's kernels ({error}); using NumPy. Set "
                      "NUMNET_NUMBA=0 to silence this.", RuntimeWarning, stacklevel=2)


if ENABLED:
    _start_jit_runtime()
