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


# The layers of a stack of Dense (+ ReLU) layers, one row per Dense layer (see
# numnet.kernels.DenseStack): where W and b start in the flat parameter vector, the widths, and
# where the layer's output starts in the work vector, as a multiple of the batch's rows.
W_START, N_IN, N_OUT, B_START, RELU, OUT_START = range(6)


# No fastmath anywhere below: every number is rounded as NumPy rounds it in Dense and ReLU, in
# the same order, and the products go to the same BLAS (np.dot), so the results are NumPy's
# bit for bit (tests/test_kernels.py compares them).
@_jit()
def dense_forward(X, params, layout, work):
    """Training forward pass: Z = A @ W + b, then A = max(Z, 0) where ReLU follows, per layer."""
    n = X.shape[0]
    A = X
    for layer in range(layout.shape[0]):
        w0, n_in, n_out, b0, relu, z0 = layout[layer]
        W = params[w0:w0 + n_in * n_out].reshape((n_in, n_out))
        Z = work[n * z0:n * (z0 + n_out)].reshape((n, n_out))
        np.dot(A, W, Z)
        if b0 >= 0 or relu:
            for i in range(n):
                for j in range(n_out):
                    z = Z[i, j] + params[b0 + j] if b0 >= 0 else Z[i, j]
                    # np.maximum(z, 0) as NumPy's vector loop computes it: NaN stays NaN.
                    Z[i, j] = z if not relu or z > 0 or z != z else 0
        A = Z


@_jit()
def dense_backward(X, params, grads, layout, work, back, D):
    """Backward pass from D = dL/d(output): dW = A.T @ D, db = D.sum(0), dA = D @ W.T * (A > 0).

    The first layer's dL/dX is not computed (the training loop never needs it).
    """
    n = X.shape[0]
    for layer in range(layout.shape[0] - 1, -1, -1):
        w0, n_in, n_out, b0, relu, z0 = layout[layer]
        if layer > 0:
            a0 = layout[layer - 1, OUT_START]
            A = work[n * a0:n * (a0 + n_in)].reshape((n, n_in))
        else:
            A = X
        np.dot(A.T, D, grads[w0:w0 + n_in * n_out].reshape((n_in, n_out)))
        if b0 >= 0:
            _column_sums(D, grads[b0:b0 + n_out])
        if layer == 0:
            break
        dA = back[n * a0:n * (a0 + n_in)].reshape((n, n_in))
        np.dot(D, params[w0:w0 + n_in * n_out].reshape((n_in, n_out)).T, dA)
        if layout[layer - 1, RELU]:
            for i in range(n):
                for j in range(n_in):
                    if not A[i, j] > 0:
                        dA[i, j] *= 0  # dY * False in NumPy: -0.0 and NaN as there
        D = dA


@_jit()
def products(A, B, C, AB, AtC, CBt):
    """``A @ B``, ``A.T @ C`` and ``C @ B.T`` through numba's BLAS calls (the stack's three)."""
    np.dot(A, B, AB)
    np.dot(A.T, C, AtC)
    np.dot(C, B.T, CBt)


@_jit()
def _column_sums(D, out):
    """np.add.reduce(D, axis=0, out=out), summed in NumPy's order.

    NumPy starts from 0 (so -0.0 sums to +0.0). With several columns it adds the rows one after
    the other; a single column is a contiguous reduction, summed pairwise.
    """
    n, m = D.shape
    if m == 1:
        out[0] = 0
        out[0] += _pairwise_sum(D[:, 0])
        return
    out[:] = 0
    for i in range(n):
        for j in range(m):
            out[j] += D[i, j]


@_jit()
def _pairwise_sum(a):
    """NumPy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src), in its order."""
    n = a.shape[0]
    if n < 8:
        total = a.dtype.type(0)
        for i in range(n):
            total += a[i]
        return total
    if n <= 128:  # eight interleaved partial sums, combined as a tree, then the remainder
        r = a[:8].copy()
        i = 8
        while i < n - n % 8:
            for k in range(8):
                r[k] += a[i + k]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            total += a[i]
            i += 1
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(a[:half]) + _pairwise_sum(a[half:])


def start():
    """Load (or compile) one loop, which starts numba's LLVM runtime: 0.35 s and 50 MB once."""
    vector = np.zeros(1, dtype=np.float32)
    adam(vector, vector.copy(), vector.copy(), vector.copy(), np.float32(0.9),
         np.float32(0.999), np.float32(0.001), np.float32(1e-8))
