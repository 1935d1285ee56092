"""The compiled loops behind :mod:`numnet.kernels` (imported on first use: it imports numba).

Each function is the loop whose formula :mod:`numnet.kernels` documents; the policy (when a
loop applies, what it returns) lives there.
"""

import numba
import numpy as np

# Rows summed in X's dtype before they are added to the float64 chunk total.
_BLOCK = 256


def _jit(**options):
    """numba.njit with disk caching and the GIL released.

    error_model="numpy": no Python ZeroDivisionError check in the loops, which would stop LLVM
    from vectorising them (7x slower for Adam).
    """
    return numba.njit(cache=True, nogil=True, error_model="numpy", **options)


# No fastmath: NaN and inf must propagate (they are how training detects divergence), and
# each operation rounds as its NumPy counterpart in Adam.step does, in the same order, so the
# two paths give bit-identical parameters.
@_jit()
def adam(params, grads, M, V, beta1, beta2, step_size, eps_hat):
    for i in range(params.shape[0]):
        g = grads[i]
        m = beta1 * M[i] + g
        v = beta2 * V[i] + g * g
        M[i] = m
        V[i] = v
        params[i] -= m / (np.sqrt(v) + eps_hat) * step_size


# reassoc/contract let LLVM vectorise the dot products (as BLAS does); no "nnan"/"ninf",
# so an overflow still shows up as inf/nan in the returned loss. Serial, with the GIL
# released: numnet.kernels runs one call per core on its own threads, which (unlike numba's
# parallel layers) survive fork() and any number of calling threads.
@_jit(fastmath={"reassoc", "contract"})
def linear_rows(X, y, w, b, weights, kind, first, stop, grad_w, sums):
    """Rows first..stop-1: grad_w = sum r_i x_i (float64), sums = [sum loss_i, sum r_i]."""
    n_in = X.shape[1]
    grad_w[:] = 0.0
    block_w = np.zeros(n_in, dtype=X.dtype)  # in X's dtype (vectorises), flushed every _BLOCK
    total_b = 0.0                            # rows into float64, so float32 sums stay short
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
                grad_w[j] += block_w[j]
                block_w[j] = 0
    sums[0] = value
    sums[1] = total_b


def start():
    """Load (or compile) one loop, which starts numba's LLVM runtime: 0.35 s and 50 MB once."""
    vector = np.zeros(1, dtype=np.float32)
    adam(vector, vector.copy(), vector.copy(), vector.copy(), np.float32(0.9),
         np.float32(0.999), np.float32(0.001), np.float32(1e-8))
