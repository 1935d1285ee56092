"""Fused loops for the places where NumPy's one-operation-per-pass costs the most.

With the ``fast`` extra (``pip install "numnet[fast]"``, which adds numba), numnet compiles
these loops and uses them instead of the equivalent NumPy code; without it, or with the
environment variable ``NUMNET_NUMBA=0``, everything runs on NumPy alone. The NumPy code stays
the reference, documented where it lives, and the tests compare the two paths: Adam's and the
Dense stack's are bit-identical; the linear loop agrees to rounding (it sums in float64, so in
float32 it can be the more accurate one, e.g. for saturated logits).

* :func:`adam_step`: the whole Adam update of :class:`numnet.Adam` in one pass over the four
  vectors (params, grads and the two moment sums), instead of ten NumPy passes. At 670k float32
  parameters this is 0.2 ms against 1.3 ms.
* :func:`linear_objective`: loss and gradient of linear and logistic regression (a network
  that is one ``Dense(1)`` layer) on the full batch, reading each row of ``X`` once for
  ``z = x . w + b``, the loss and ``l'(z) x``, one block of rows per core. NumPy needs two
  passes over ``X`` (``X @ W``, then ``X.T @ dZ``), and on large data both are memory-bound.
* :class:`DenseStack`: a small network of Dense and ReLU layers, its forward and its backward
  pass each in one call instead of about ten NumPy calls and their Python (a 20-64-64-1 step
  at batch 32: 32 against 54 us). Once a process has taken enough such steps on NumPy to have
  paid numba's start-up in lost time, the next one starts numba (as a renter buys once the rent
  has reached the price: never more than twice the cost of the better choice).

Adam's and the linear loop apply only to work large enough to gain (at least 65,536
parameters; at least 2048 rows and 262,144 entries of ``X``); smaller models run on NumPy,
except that once numba is loaded Adam's loop takes models of any size (it then saves the
per-call overhead of NumPy's passes), as the Dense stack does (it takes only models under
65,536 parameters, whose steps are not spent in BLAS).
``ENABLED`` says whether numba is there and switched on. Nothing is imported until the first
step that qualifies: then numba is imported and its LLVM runtime started (about 0.75 s and
110 MB, once per process; :func:`load` does it earlier), and each loop is compiled on first
use and cached on disk by numba, so only the first run on a machine pays for compiling (about
0.3 s for Adam, 2 s for the linear loop, per dtype; :func:`precompile` does all of it at once).
"""

import importlib.util
import os
import threading
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .layers import Dense, Identity, ReLU
from .losses import BinaryCrossEntropy, MeanSquaredError, check_sample_weight

_SWITCHED_OFF = os.environ.get("NUMNET_NUMBA", "1").strip().lower() in ("0", "false", "no", "off")
ENABLED = not _SWITCHED_OFF and importlib.util.find_spec("numba") is not None

__all__ = ["ENABLED", "DenseStack", "adam_step", "linear_objective", "load", "precompile"]

# Below these sizes NumPy is about as fast, and a process that only trains small models never
# pays for starting numba (0.4 s to import it, 0.35 s and 50 MB to start its LLVM runtime).
_MIN_ADAM_SIZE = 1 << 16        # parameters: NumPy's ten passes then cost > 0.1 ms per step
_MIN_ROWS = 2048                # rows, and entries of X (1 MB in float32):
_MIN_LINEAR_ENTRIES = 1 << 18   # below, X @ W and X.T @ dZ are cache-resident and cheap

_compiled = None                # numnet._compiled once loaded


def load():
    """Import numba and start its runtime now; True when the compiled loops can be used.

    Called by the first step that qualifies; calling it earlier (after ``import numnet``) moves
    that one-time cost out of the first training step. Idempotent. If numba cannot compile on
    this machine, numnet warns once and stays on NumPy.
    """
    global ENABLED, _compiled
    if _compiled is not None or not ENABLED:
        return ENABLED
    try:
        from . import _compiled as module

        module.start()
    except Exception as error:  # numba present but unusable here: NumPy still works
        _give_up(error)
        return False
    _compiled = module
    return True


def _give_up(error):
    """Warn once that numba failed (to import, or to compile a loop); use NumPy from now on."""
    global ENABLED
    ENABLED = False
    warnings.warn(f"numba could not compile numnet's kernels ({error}); using NumPy. Set "
                  "NUMNET_NUMBA=0 to silence this.", RuntimeWarning, stacklevel=3)


def precompile():
    """Compile every loop for float32 and float64 into numba's disk cache (a few seconds, once).

    For images and benchmarks: afterwards a new process loads each loop in milliseconds instead
    of compiling it on first use. Returns False (and does nothing) without numba.
    """
    if not load():
        return False
    for dtype in _FLOATS:
        vector = np.zeros(1, dtype=dtype)
        _compiled.adam(vector, vector.copy(), vector.copy(), vector.copy(), *map(dtype.type,
                       (0.9, 0.999, 0.001, 1e-8)))
        X = np.zeros((1, 1), dtype=dtype)
        read_only = X.copy()
        read_only.flags.writeable = False  # e.g. pandas' copy-on-write .to_numpy()
        for data in (X, read_only):
            _compiled.linear_rows(data, vector, vector, 0.0, np.empty(0), 0, 0, 1, np.empty(1),
                                  np.empty(2))
        _compiles(np.array([[0, 1, 1, -1, 1, 0]], dtype=np.int64), vector)  # DenseStack's two loops
    return True


def adam_step(params, grads, M, V, beta1, beta2, step_size, eps_hat):
    """One Adam update in a single pass; False (nothing done) when it does not apply.

    With the moment sums ``M`` and ``V`` of :class:`numnet.Adam`, for every index i::

        M[i] = beta1 * M[i] + g[i]
        V[i] = beta2 * V[i] + g[i]**2
        params[i] -= M[i] / (sqrt(V[i]) + eps_hat) * step_size

    All four arrays must be 1-D, C-contiguous and of one floating dtype; the scalars are cast
    to it, so float32 stays float32. Below 65,536 parameters it applies only once numba is
    loaded (by :func:`load`, or a larger model): starting numba is not worth it for a small
    model, but once started the one call saves a small model's step the ten NumPy calls'
    overhead (issue 26 item 4: 19 against 3 us at 5,500 float32 parameters).
    """
    if (not ENABLED or (params.size < _MIN_ADAM_SIZE and _compiled is None)
            or not _same_contiguous_vectors(params, grads, M, V)
            or not (params.flags.writeable and M.flags.writeable and V.flags.writeable)
            or not load()):
        return False
    cast = params.dtype.type
    try:
        _compiled.adam(params, grads, M, V, cast(beta1), cast(beta2), cast(step_size),
                       cast(eps_hat))
    except _compiled.numba.core.errors.NumbaError as error:
        _give_up(error)
        return False
    return True


def linear_objective(net, loss, X, y, sample_weight=None):
    """Full-batch loss of a one-output linear model, its gradient written into ``net.grads``.

    Returns the loss value (the weighted mean of the per-sample losses, as
    ``loss.loss_gradient`` gives it), or None when the fused loop does not apply: numba missing,
    a network that is not exactly one ``Dense(1)`` layer, a loss other than
    :class:`~numnet.MeanSquaredError` or :class:`~numnet.BinaryCrossEntropy`, fewer than 2048
    rows or 262,144 entries in ``X``, or ``X`` not C-contiguous in the network's dtype. The
    caller then takes the NumPy path.
    (With several outputs, e.g. multinomial regression, ``X @ W`` is no longer memory-bound
    and BLAS is faster than this loop.)

    Per row x_i (n_in,), target t_i and weight w_i, with z_i = x_i . w + b and s = sum_i w_i::

        value = sum_i w_i l(t_i, z_i) / s
        dL/dw = sum_i (w_i / s) l'(z_i) x_i,     dL/db = sum_i (w_i / s) l'(z_i)

        squared error:        l = (z - t)^2,                        l' = 2 (z - t)
        binary cross-entropy: l = log(1 + exp(z)) - t z (stable),   l' = sigmoid(z) - t

    Rows are split into one block per core, each summed by the compiled loop (float64
    accumulators) on numnet's own threads: unlike numba's parallel layers these survive
    ``fork()`` and any number of calling threads. The split depends only on the number of
    cores, so results are reproducible on a machine (and differ across machines in the last
    bits, as BLAS results do). A loss or gradient beyond the dtype's range gives ``inf``, as
    on the NumPy path, so training stops on it with the parameters intact.
    """
    if (not ENABLED or not isinstance(X, np.ndarray) or X.ndim != 2 or not net.built
            or len(net.layers) != 1):
        return None
    layer = net.layers[0]
    kind = _LOSS_KINDS.get(type(loss))
    if kind is None or type(layer) is not Dense or layer.n_out != 1:
        return None
    w = layer.params["W"][:, 0]
    dtype, (n_rows, n_in) = w.dtype, X.shape
    if (n_rows < _MIN_ROWS or X.size < _MIN_LINEAR_ENTRIES or dtype not in _FLOATS
            or X.dtype != dtype or n_in != w.shape[0] or not X.flags.c_contiguous):
        return None
    y = np.asarray(y)
    if y.shape not in ((n_rows,), (n_rows, 1)):
        return None  # the NumPy path raises the error that explains the shape
    y = _writable(y.reshape(-1), dtype)
    if sample_weight is None:
        weights, total = np.empty(0), float(n_rows)
    else:  # the NumPy path's checks and errors, then float64 for the loop
        weights = _writable(check_sample_weight(sample_weight, n_rows, dtype), np.float64)
        total = float(weights.sum())
    if not load():
        return None
    b = float(layer.params["b"][0]) if layer.bias else 0.0
    n_chunks = min(_n_threads(), n_rows // 1024)
    bounds = [n_rows * k // n_chunks for k in range(n_chunks + 1)]
    grad_w, sums = np.empty((n_chunks, n_in)), np.empty((n_chunks, 2))
    args = [(X, y, w, b, weights, kind, bounds[k], bounds[k + 1], grad_w[k], sums[k])
            for k in range(n_chunks)]
    try:
        others = [_pool().submit(_compiled.linear_rows, *a) for a in args[1:]]
        _compiled.linear_rows(*args[0])   # the first chunk on the calling thread
        for future in others:
            future.result()
    except _compiled.numba.core.errors.NumbaError as error:
        _give_up(error)
        return None
    value = sums[:, 0].sum() / total
    # The gradient views are written in place: the network's flat grads change with them.
    with np.errstate(over="ignore"):
        np.divide(grad_w.sum(axis=0), total, out=layer.grads["W"][:, 0], casting="unsafe")
        if layer.bias:
            layer.grads["b"][0] = sums[:, 1].sum() / total
        # The loop sums in float64; in float32 a loss or gradient beyond float32's range is
        # inf on the NumPy path, so it must be here too (training then stops on it).
        value = dtype.type(value)
    if np.isnan(value):
        return float("nan")
    if not (np.isfinite(value) and all(np.all(np.isfinite(g)) for g in layer.grads.values())):
        return float("inf")
    return float(value)



class DenseStack:
    """A network's training step in two compiled calls, for small stacks of Dense and ReLU.

    :class:`numnet.training.Backprop` asks :meth:`of` for a stack; with one, a batch's step is

    ::

        raw = stack.forward(X_b)                     the layers' forward passes, one call
        L, d_raw = loss.loss_gradient(y_b, raw, w_b)  as on the NumPy path
        stack.backward(X_b, d_raw)                   the backward passes into net.grads, one call

    Each call runs, layer by layer, exactly the NumPy code of :class:`~numnet.Dense` and
    :class:`~numnet.ReLU` (``Z = A @ W + b`` through the same BLAS, ``max(Z, 0)``,
    ``dW = A.T @ dZ``, ``db = dZ.sum(axis=0)`` in NumPy's summation order,
    ``dA = dZ @ W.T * (A > 0)``), so the parameters, the gradients and the losses are the NumPy
    path's bit for bit (the stack is used only where numba's BLAS gives NumPy's products:
    checked once per process for each batch size and layer shape); what is saved is the
    Python and NumPy overhead of about 20 calls per step (issue 26 item 4: 36 against 14 us
    for the forward and backward passes of a 20-64-64-1 network at batch 32).

    It applies to networks of ``Dense`` layers, each optionally followed by ``ReLU``
    (``Identity`` layers are skipped), under 65,536 parameters (where that overhead matters;
    larger steps are spent in BLAS), and to batches that are C-contiguous, writable arrays of
    the network's dtype. Anything else (dropout, another activation, sparse X) takes the NumPy
    path. The layers' forward caches are not written. It needs numba loaded: by :func:`load`,
    a large model, or the steps themselves, since the first 37,500 steps of networks it could
    take run on NumPy (saving about 20 us each, they would have repaid numba's 0.75 s start-up
    only then) and the next one starts numba. So short runs never pay the start-up, and a long
    run pays at most what it then saves.
    """

    def __init__(self, net, layout):
        # Not the network itself: the weak map's value must not keep its key alive.
        self.params, self.grads, self.layers = net.params, net.grads, list(net.layers)
        self.layout = layout  # None: the network is not a stack of Dense and ReLU layers
        self._width = None if layout is None else int(layout[-1, 5] + layout[-1, 2])
        self._work = self._back = None
        self._rows_checked = {}  # batch size -> whether every layer's products are NumPy's

    @classmethod
    def of(cls, net, X):
        """The stack for this network and batch, or None (kept per network while it fits)."""
        global _numpy_steps
        if (not ENABLED or type(X) is not np.ndarray or X.ndim != 2
                or not X.flags.c_contiguous or not X.flags.writeable):
            return None
        stack = _stacks.get(net)
        if stack is None or stack.params is not net.params or stack.grads is not net.grads or (
                stack.layers != net.layers):
            stack = _stacks[net] = cls(net, _dense_layout(net))
        if stack.layout is None or X.dtype != stack.params.dtype or (
                X.shape[1] != stack.layout[0, 1]):
            return None  # the NumPy path (which raises the error that explains a wrong X)
        if _compiled is None:
            _numpy_steps += 1
            if _numpy_steps * _STACK_STEP_SAVING < _START_UP or not load():
                return None
        if not _compiles(stack.layout, stack.params):
            return None
        n = X.shape[0]
        same = stack._rows_checked.get(n)
        if same is None:
            same = stack._rows_checked[n] = all(
                _same_products(stack.params.dtype, n, int(n_in), int(n_out))
                for _, n_in, n_out, *_ in stack.layout)
        return stack if same else None  # else numba's BLAS rounds differently: NumPy's path

    def forward(self, X):
        """The raw output (a view into a work array, overwritten by the next call)."""
        n = X.shape[0]
        if self._work is None or self._work.shape[0] < n * self._width:
            self._work = np.empty(n * self._width, dtype=self.params.dtype)
            self._back = np.empty_like(self._work)
        _compiled.dense_forward(X, self.params, self.layout, self._work)
        last = self.layout[-1]
        start, width = n * int(last[5]), int(last[2])
        return self._work[start:start + n * width].reshape(n, width)

    def backward(self, X, d_raw):
        """Write dL/dparams into ``net.grads`` from d_raw = dL/draw (after :meth:`forward`)."""
        d_raw = np.ascontiguousarray(d_raw, dtype=self.params.dtype)
        _compiled.dense_backward(X, self.params, self.grads, self.layout, self._work,
                                 self._back, d_raw)


def _compiles(layout, params):
    """Compile (or load from numba's cache) both loops for params' dtype; False if numba fails."""
    if params.dtype in _stack_dtypes:
        return True
    params = params.copy()
    X = np.zeros((1, int(layout[0, 1])), dtype=params.dtype)
    work = np.zeros(int(layout[-1, 5] + layout[-1, 2]), dtype=params.dtype)
    d_raw = np.zeros((1, int(layout[-1, 2])), dtype=params.dtype)
    try:
        _compiled.dense_forward(X, params, layout, work)
        _compiled.dense_backward(X, params, params.copy(), layout, work, work.copy(), d_raw)
    except _compiled.numba.core.errors.NumbaError as error:
        _give_up(error)
        return False
    _stack_dtypes.add(params.dtype)
    return True


def _same_products(dtype, n, k, m):
    """Whether numba's ``np.dot`` gives NumPy's ``matmul`` bit for bit at a layer's shapes.

    Both call a BLAS, not necessarily the same build (the wheels of NumPy and SciPy each bring
    their OpenBLAS, which can choose other kernels for some sizes; a conda NumPy may use MKL).
    So for each batch size n and layer (k inputs, m outputs) the stack's three products,
    ``A @ W``, ``A.T @ dZ`` and ``dZ @ W.T``, are compared once on random numbers (the
    kernels a BLAS picks depend on the shapes, not on the values), and the answer is kept.
    """
    key = (dtype, n, k, m)
    same = _shapes_checked.get(key)
    if same is None:
        rng = np.random.default_rng(0)
        A, W, D = (rng.normal(size=shape).astype(dtype) for shape in ((n, k), (k, m), (n, m)))
        got = np.empty((n, m), dtype), np.empty((k, m), dtype), np.empty((n, k), dtype)
        _compiled.products(A, W, D, *got)
        same = _shapes_checked[key] = all(
            a.tobytes() == b.tobytes()
            for a, b in zip(got, (A @ W, A.T @ D, D @ W.T), strict=True))
    return same


def _dense_layout(net):
    """:class:`DenseStack`'s table of the layers (numnet._compiled's columns), or None."""
    params = net.params
    if (not net.built or params.size >= _MIN_ADAM_SIZE or params.dtype not in _FLOATS
            or not params.flags.c_contiguous):
        return None
    base, itemsize = params.__array_interface__["data"][0], params.itemsize
    rows, width = [], 0
    for layer in net.layers:
        if type(layer) is Dense:
            W = layer.params["W"]
            bias = layer.params["b"] if layer.bias else None
            offsets = [(a.__array_interface__["data"][0] - base) // itemsize
                       for a in (W, bias) if a is not None]
            if not W.flags.c_contiguous or (rows and rows[-1][2] != W.shape[0]):
                return None
            rows.append([offsets[0], W.shape[0], W.shape[1], offsets[1] if bias is not None
                         else -1, 0, width])
            width += W.shape[1]
        elif type(layer) is ReLU and rows and not rows[-1][4]:
            rows[-1][4] = 1
        elif type(layer) is not Identity:
            return None
    if not rows or rows[-1][4]:
        return None  # a ReLU on the output: its mask would have to go on the loss gradient
    return np.array(rows, dtype=np.int64)

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_stacks = weakref.WeakKeyDictionary()  # network -> its DenseStack (work arrays, layout)
_stack_dtypes = set()           # dtypes both DenseStack loops are compiled for
_shapes_checked = {}            # (dtype, n, k, m) -> whether numba's products are NumPy's
_numpy_steps = 0                # steps DenseStack could have taken before numba was loaded
_STACK_STEP_SAVING = 20e-6      # seconds a DenseStack step saves (54 -> 32 us at 20-64-64-1)
_START_UP = 0.75                # seconds to import numba and start its LLVM runtime
_LOSS_KINDS = {MeanSquaredError: 0, BinaryCrossEntropy: 1}
_pool_lock = threading.Lock()
_pool_state = {"pid": None, "executor": None}


def _n_threads():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _pool():
    """The worker threads of the linear loop (numnet's own), created again in a forked child."""
    with _pool_lock:
        if _pool_state["pid"] != os.getpid():
            _pool_state["executor"] = ThreadPoolExecutor(
                max_workers=max(1, _n_threads() - 1), thread_name_prefix="numnet-kernel")
            _pool_state["pid"] = os.getpid()
        return _pool_state["executor"]


def _writable(array, dtype):
    """A C-contiguous, writable array of dtype: numba compiles read-only arrays separately."""
    array = np.ascontiguousarray(array, dtype=dtype)
    return array if array.flags.writeable else array.copy()


def _same_contiguous_vectors(first, *others):
    if first.ndim != 1 or first.dtype not in _FLOATS or not first.flags.c_contiguous:
        return False
    return all(a.ndim == 1 and a.dtype == first.dtype and a.shape == first.shape
               and a.flags.c_contiguous for a in others)
