"""DP-SGD's gradient: per-sample clipping without per-sample gradients, Gaussian noise."""

import math

import numpy as np
import scipy.sparse as sp

from .._validation import check_float
from ..layers import Activation, Dense, Dropout
from ..training.gradients import GradientComputation
from .noise import GaussianNoise

#: Layers whose per-sample gradient norms ClippedNoisyGradient computes exactly: Dense, and
#: the layers without parameters that act on each row alone (activations, dropout).
SUPPORTED_LAYERS = (Dense, Activation, Dropout)


def check_private_network(net):
    """Raise a clear error unless every layer of ``net`` has per-sample norms we can compute.

    Dense layers have a closed form for the norm of a sample's gradient; activations and
    dropout have no parameters and map each row on its own, so the per-sample gradients flow
    through them unchanged in structure. Any other layer (a user's own ``Layer`` subclass)
    could have parameters or mix the rows of a batch, and would be mis-clipped silently.
    """
    for index, layer in enumerate(net.layers):
        if not isinstance(layer, SUPPORTED_LAYERS):
            raise ValueError(
                f"layer {index} must be a Dense, activation or Dropout layer for DP-SGD, got "
                f"{type(layer).__name__}. Per-sample gradient norms are computed in closed "
                "form for Dense layers only, and other layers could mix the samples of a batch; "
                "rebuild the network from Dense, activation and Dropout layers."
            )


class ClippedNoisyGradient(GradientComputation):
    """DP-SGD's gradient: each sample's gradient clipped to norm C, summed, noised, averaged.

    For a batch of n_b rows with per-sample losses l_i (weighted by w_i, default 1), write
    g_i = d(w_i l_i)/dparams for sample i's own gradient (not divided by the batch size). The
    gradient written into ``net.grads`` is::

        n_i = ||g_i||                                           over all parameters
        c_i = min(1, C / (n_i + 1e-6))
        G   = (sum_i c_i g_i + N(0, sigma**2 C**2 I)) / (q N)    q N: the expected batch size

    without ever forming a g_i. Forward, then backward to the pre-activation gradients of each
    Dense layer ``Z = A @ W + b``: Delta = dl/dZ with rows delta_i (not divided by n_b), and
    row i of the layer's weight gradient is the outer product a_i delta_i^T, so::

        ||dW_i||**2 = ||a_i||**2 ||delta_i||**2      ||db_i||**2 = ||delta_i||**2
        n_i**2 = sum over Dense layers of (||a_i||**2 + 1) * ||delta_i||**2   (no +1 without b)
        sum_i c_i dW_i = A.T @ (c[:, None] * Delta)   sum_i c_i db_i = (c[:, None] * Delta).sum(0)

    one extra product per layer beside the row norms, and no per-sample copy of any weight.

    Parameters
    ----------
    max_grad_norm : float
        Clipping norm C > 0; ``inf`` turns clipping off (then noise_multiplier must be 0).
    noise_multiplier : float
        sigma >= 0: the noise's standard deviation in units of C.
    expected_batch_size : float
        q N, the divisor; the expected, not the actual, batch size, so that the size of a
        batch (which depends on who is in it) does not scale the update.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the noise (:class:`~numnet.privacy.noise.GaussianNoise`).

    Notes
    -----
    The returned loss is the batch's weighted mean loss, computed from the data without
    noise: it is for monitoring and is not covered by the privacy guarantee. An empty batch
    (Poisson sampling can draw one) gives a noise-only step and a loss of 0.

    Order of the operations as in Opacus's ``DPOptimizer``: clip, sum, add noise, divide by
    the expected batch size.

    References
    ----------
    Abadi et al., "Deep Learning with Differential Privacy", CCS 2016, :arxiv:`1607.00133`.
    Goodfellow, "Efficient Per-Example Gradient Computations", 2015, :arxiv:`1510.01799`.

    Examples
    --------
    >>> from numnet import Sequential, MeanSquaredError
    >>> net = Sequential([Dense(1, init="zeros")]).build(2)
    >>> gradient = ClippedNoisyGradient(1.0, 0.0, expected_batch_size=2.0)
    >>> X, y = np.array([[3.0, 4.0], [0.0, 0.0]]), np.array([[10.0], [0.0]])
    >>> gradient(net, MeanSquaredError(), X, y, None)      # the batch loss, (100 + 0) / 2
    50.0
    >>> gradient.norms.round(2), gradient.clip_factors.round(4)    # 20 * sqrt(3**2 + 4**2 + 1)
    (array([101.98,   0.  ]), array([0.0098, 1.    ]))
    >>> net.grads.round(4)                                  # -20 c_1 [3, 4, 1] / 2
    array([-0.2942, -0.3922, -0.0981])
    """

    def __init__(self, max_grad_norm, noise_multiplier, expected_batch_size, *,
                 random_state=None):
        if max_grad_norm != math.inf:
            max_grad_norm = check_float(max_grad_norm, "max_grad_norm", min_value=0,
                                        include_min=False)
        self.max_grad_norm = float(max_grad_norm)
        self.noise_multiplier = check_float(noise_multiplier, "noise_multiplier", min_value=0)
        if self.max_grad_norm == math.inf and self.noise_multiplier > 0:
            raise ValueError(
                f"noise_multiplier must be 0 when max_grad_norm is inf, got "
                f"{self.noise_multiplier!r}. The noise is scaled by max_grad_norm; clip to a "
                "finite norm for a private run."
            )
        self.expected_batch_size = check_float(expected_batch_size, "expected_batch_size",
                                               min_value=0, include_min=False)
        self.noise = GaussianNoise(random_state)
        self.clip_factors = None
        self._checked = None
        self._d_raw = None
        self._noise = None
        self._plan = None

    def __call__(self, net, loss, X_b, y_b, w_b, *, full_batch=False):
        if self._checked is not net:
            check_private_network(net)
            self._checked = net
        n_rows = X_b.shape[0]
        if n_rows == 0 or (w_b is not None and not w_b.sum() > 0):
            net.grads[...] = 0  # nobody in the batch: a noise-only step
            value, self.clip_factors = 0.0, np.empty(0, dtype=net.grads.dtype)
        else:
            value = self.clipped_sum(net, loss, X_b, y_b, w_b)
        self._add_noise(net.grads)
        net.grads /= self.expected_batch_size
        return value

    def clipped_sum(self, net, loss, X_b, y_b, w_b):
        """Write ``sum_i c_i g_i`` into ``net.grads``; return the batch's weighted mean loss.

        The clip factors c_i are kept in ``self.clip_factors`` and the per-sample gradient
        norms n_i in ``self.norms``.
        """
        net.check_input(X_b)
        if self._plan is None or self._plan[0] is not net:
            self._plan = _plan(net)
        _, dense, is_dense, first = self._plan
        inputs, X = [], X_b
        for layer, keep in zip(net.layers, is_dense, strict=True):
            if keep:
                inputs.append(X)
            X = layer.forward(X, training=True)
        if self._d_raw is None or self._d_raw.shape != X.shape or self._d_raw.dtype != X.dtype:
            self._d_raw = np.empty_like(X)      # kept between batches, one per shape and dtype
        value, d_raw = loss.loss_gradient(y_b, X, w_b, out=self._d_raw)
        # loss_gradient divides by the batch size (or the weight sum); sample i's own
        # gradient is not divided.
        d_raw *= X.shape[0] if w_b is None else w_b.sum()
        deltas = _per_sample_deltas(net, d_raw, first)  # one Delta per Dense layer, bottom up

        # n_i**2, summed over the layers in place: the first layer's terms are the sum (0 + x
        # is x), each later layer's added to it, as into a zeroed vector.
        squared = None
        for layer, A, delta in zip(dense, inputs, deltas, strict=True):
            terms = _row_squared_norms(A)                  # a new array: updated in place
            if layer.bias:
                terms += 1.0
            terms *= np.einsum("ij,ij->i", delta, delta)
            if squared is None:
                squared = terms
            else:
                squared += terms
        self.norms = np.sqrt(squared, out=squared)
        with np.errstate(divide="ignore"):
            factors = np.add(self.norms, 1e-6)
            np.divide(self.max_grad_norm, factors, out=factors)
            self.clip_factors = np.minimum(factors, 1.0, out=factors)
        factors = factors[:, None]
        for layer, A, delta in zip(dense, inputs, deltas, strict=True):
            delta *= factors                            # a work buffer: scaled in place
            if type(A) is not np.ndarray and sp.issparse(A):
                layer.grads["W"][...] = A.T @ delta
            else:
                np.matmul(A.T, delta, out=layer.grads["W"])
            if layer.bias:
                np.add.reduce(delta, axis=0, out=layer.grads["b"])
        return value

    def _add_noise(self, grads):
        """``grads += sigma C z``, z ~ N(0, I) in the network's dtype, into a kept buffer.

        The draws are :class:`~numnet.privacy.noise.GaussianNoise`'s: exact float64 normals
        for float64 networks, float32 Box-Muller draws for float32 ones. The buffer is
        reused, so a step allocates no vector of the network's size.
        """
        if self.noise_multiplier > 0:
            if self._noise is None or self._noise.shape != grads.shape \
                    or self._noise.dtype != grads.dtype:
                self._noise = np.empty_like(grads)
            grads += self.noise.fill(self._noise, self.noise_multiplier * self.max_grad_norm)

    @property
    def rng(self):
        """The generator that seeds the noise (and draws it for small networks)."""
        return self.noise.rng

    def state_dict(self):
        """The noise generators' states, for checkpoints."""
        return self.noise.state_dict()

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        self.noise.load_state_dict(state)

    def __repr__(self):
        return (f"ClippedNoisyGradient(max_grad_norm={self.max_grad_norm!r}, "
                f"noise_multiplier={self.noise_multiplier!r}, "
                f"expected_batch_size={self.expected_batch_size!r})")


def _plan(net):
    """(net, its Dense layers, whether each layer is one, the first one's index): per network."""
    is_dense = [isinstance(layer, Dense) for layer in net.layers]
    dense = [layer for layer, keep in zip(net.layers, is_dense, strict=True) if keep]
    return net, dense, is_dense, is_dense.index(True)


def _per_sample_deltas(net, d_raw, first):
    """dl_i/dZ for each Dense layer (list, first layer first), from dl_i/draw.

    Activations and dropout act on each row alone, so backpropagating the rows of d_raw
    through them keeps sample i's gradient in row i. A Dense layer's input gradient is
    ``Delta @ W.T``; below the first Dense layer (index ``first``) nothing is needed.
    """
    deltas, dY = [], d_raw
    for index in range(len(net.layers) - 1, first - 1, -1):
        layer = net.layers[index]
        if isinstance(layer, Dense):
            deltas.append(dY)
            if index > first:
                dY = dY @ layer.params["W"].T        # a new array: Delta stays as it is
        else:
            dY = layer.backward(dY)
    return deltas[::-1]


def _row_squared_norms(A):
    if type(A) is not np.ndarray and sp.issparse(A):
        return np.asarray(A.multiply(A).sum(axis=1), dtype=np.float64).ravel().astype(
            A.dtype, copy=False)
    return np.einsum("ij,ij->i", A, A)
