"""BatchEnsemble / TabM: k networks that share their weight matrices, in one 2-D pass.

The k members sit side by side in the columns: a batch of member inputs is one array of shape
(n_samples, k * d) whose columns ``i*d ... i*d + d - 1`` belong to member i (a reshape to
(n_samples, k, d) is a view). :class:`EnsembleFork` makes k copies of the input,
:class:`EnsembleDense` is the shared-weight layer with per-member rank-1 adapters (or, with
``shared=False``, k independent heads), element-wise activations and dropout work unchanged, and
:class:`EnsembleLoss` trains every member on its own output. :func:`ensemble_mean` (and
``EnsembleLoss.link``) turns the k outputs into the ensemble prediction.

A TabM network for c outputs::

    Sequential([EnsembleFork(k),
                EnsembleDense(256, k, adapter_init="random_signs"), ReLU(), Dropout(0.1),
                EnsembleDense(256, k), ReLU(), Dropout(0.1),
                EnsembleDense(c, k, shared=False)])       # loss: EnsembleLoss(base_loss, k)

TabM-mini keeps one adapter only: a :class:`numnet.embeddings.Scale` right after the fork
(``init="random_signs"``), then ``EnsembleDense(..., adapters=False)`` layers, the shared W
applied to each member alone. (A plain :class:`numnet.Dense` on the (n, k * d) array would mix
the members.)
"""

import numpy as np

from ._validation import check_bool, check_int, check_option
from .embeddings import _init_scales
from .initializers import INITIALIZERS
from .layers import Layer, register_layer
from .losses import Loss


@register_layer
class EnsembleFork(Layer):
    """k copies of the input side by side: the entry point of an ensemble network.

    Forward and backward, X of shape (n_samples, d)::

        Y[:, i*d:(i+1)*d] = X             for i = 0 ... k-1        Y: (n_samples, k * d)
        dX = sum_i dY[:, i*d:(i+1)*d]

    Parameters
    ----------
    k : int
        Number of ensemble members. Must be >= 1.
    """

    def __init__(self, k):
        self.k = check_int(k, "k", min_value=1)

    def output_dim(self, n_in):
        return self.k * n_in

    def forward(self, X, *, training=False):
        n, d = X.shape
        Y = (self._buffer("Y", (n, self.k * d), X.dtype) if training
             else np.empty((n, self.k * d), X.dtype))
        Y.reshape(n, self.k, d)[...] = X[:, None, :]
        return Y

    def backward(self, dY, *, input_grad=True):
        if not input_grad:
            return None
        n = dY.shape[0]
        d = dY.shape[1] // self.k
        return np.add.reduce(dY.reshape(n, self.k, d), axis=1,
                             out=self._buffer("dX", (n, d), dY.dtype))

    def get_config(self):
        return {"k": self.k}


@register_layer
class EnsembleDense(Layer):
    """k dense layers sharing one W, each with rank-1 multiplicative adapters (BatchEnsemble).

    Input X of shape (n_samples, k * n_in), viewed as X3 of shape (n_samples, k, n_in); member
    i's block is X3[:, i]. Forward, with ``shared=True`` (the default)::

        U[:, i] = X3[:, i] * r[i]              r: (k, n_in)      U: (n_samples, k, n_in)
        M[:, i] = U[:, i] @ W                  W: (n_in, n_out)  (one matmul of (n*k, n_in))
        Z[:, i] = M[:, i] * s[i] + b[i]        s, b: (k, n_out)  Z: (n_samples, k * n_out)

    i.e. ``Z_i = ((X_i * r_i) @ W) * s_i + b_i``, the equation (5) of the BatchEnsemble paper,
    which is ``X_i @ (W * outer(r_i, s_i)) + b_i``: member i's weight is W modulated by a rank-1
    matrix. Backward, given dZ (same layout)::

        db[i] = sum_n dZ[n, i]          ds[i] = sum_n dZ[n, i] * M[n, i]     dM = dZ * s
        dW    = sum_i U[:, i].T @ dM[:, i]             dU = dM @ W.T
        dr[i] = sum_n dU[n, i] * X3[n, i]              dX3 = dU * r

    With ``adapters=False`` r and s are absent (fixed at 1): the shared W acts on each member
    alone (TabM-mini's body). With ``shared=False`` each member has its own W[i] of shape
    (n_in, n_out) and no adapters (TabM's output heads, rtdl's NLinear)::

        Z[:, i] = X3[:, i] @ W[i] + b[i]
        dW[i] = X3[:, i].T @ dZ[:, i]   db[i] = sum_n dZ[n, i]   dX3[:, i] = dZ[:, i] @ W[i].T

    Parameters
    ----------
    n_out : int
        Output units per member. Must be >= 1.
    k : int
        Number of members. Must be >= 1; the input width must be a multiple of k.
    shared : bool, default=True
        One W for all members (with adapters), or one W per member.
    adapters : bool, default=True
        With ``shared=True``: learn r and s (TabM), or not (TabM-mini).
    adapter_init : {"ones", "random_signs", "normal"}, default="ones"
        How r starts; s always starts at 1. TabM starts every adapter at 1 except the first
        layer's r: random signs (without numeric embeddings) or N(0, 1) (with them), which is
        what makes the members differ at the start.
    init : {"auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros"}, \
default="auto"
        How W starts, as in :class:`numnet.Dense` (each W[i] alone when ``shared=False``);
        b starts at 0 (TabM draws it from U(-1/sqrt(n_in), 1/sqrt(n_in)), the same for every
        member). With k = 1 and adapter_init="ones", the layer equals ``Dense(n_out)`` built
        from the same seed.

    References
    ----------
    Y. Wen, D. Tran, J. Ba. BatchEnsemble: an Alternative Approach to Efficient Ensemble and
    Lifelong Learning. ICLR 2020, arXiv:2002.06715.
    Y. Gorishniy, A. Kotelnikov, A. Babenko. TabM: Advancing Tabular Deep Learning with
    Parameter-Efficient Ensembling. ICLR 2025, arXiv:2410.24210.
    """

    penalized = ("W",)
    _cache = ("_X3", "_U", "_M")  # what forward keeps for backward

    def __init__(self, n_out, k, *, shared=True, adapters=True, adapter_init="ones",
                 init="auto", bias=True):
        self.n_out = check_int(n_out, "n_out", min_value=1)
        self.k = check_int(k, "k", min_value=1)
        self.shared = check_bool(shared, "shared")
        self.adapters = check_bool(adapters, "adapters") and self.shared
        self.adapter_init = check_option(adapter_init, "adapter_init",
                                         {"ones", "random_signs", "normal"})
        self.init = check_option(init, "init", {"auto", *INITIALIZERS})
        self.bias = check_bool(bias, "bias")
        self.resolved_init = "glorot_uniform" if init == "auto" else init

    def _member_width(self, n_in):
        if n_in % self.k:
            raise ValueError(
                f"the input width of EnsembleDense must be a multiple of k = {self.k}, got "
                f"{n_in}. Start the network with EnsembleFork({self.k})."
            )
        return n_in // self.k

    def param_shapes(self, n_in):
        m, k, n_out = self._member_width(n_in), self.k, self.n_out
        shapes = {"W": (m, n_out) if self.shared else (k, m, n_out)}
        if self.adapters:
            shapes.update(r=(k, m), s=(k, n_out))
        if self.bias:
            shapes["b"] = (k, n_out)
        return shapes

    def output_dim(self, n_in):
        self._member_width(n_in)
        return self.k * self.n_out

    def reset_parameters(self, rng):
        W = self.params["W"]
        for member_W in ([W] if self.shared else W):
            INITIALIZERS[self.resolved_init](member_W, rng)
        if self.adapters:
            _init_scales(self.params["r"], self.adapter_init, rng)
            self.params["s"][...] = 1
        if self.bias:
            self.params["b"][...] = 0

    def forward(self, X, *, training=False):
        n = X.shape[0]
        k, n_out, W = self.k, self.n_out, self.params["W"]
        m = self._member_width(X.shape[1])
        buf = self._buffer if training else (lambda name, shape, dt: np.empty(shape, dt))
        X3 = X.reshape(n, k, m)
        Z = buf("Z", (n, k * n_out), W.dtype)
        Z3 = Z.reshape(n, k, n_out)
        if self.shared:
            U = X3
            if self.adapters:
                U = np.multiply(X3, self.params["r"], out=buf("U", (n, k, m), W.dtype))
            if self.adapters:
                M = buf("M", (n, k, n_out), W.dtype)
                np.matmul(U.reshape(n * k, m), W, out=M.reshape(n * k, n_out))
                np.multiply(M, self.params["s"], out=Z3)
                self._M = M
            else:
                np.matmul(U.reshape(n * k, m), W, out=Z.reshape(n * k, n_out))
            self._U = U
        else:
            # (k, n, m) @ (k, m, n_out): one batched matmul over the members
            Zk = buf("Zk", (k, n, n_out), W.dtype)
            np.matmul(X3.transpose(1, 0, 2), W, out=Zk)
            Z3[...] = Zk.transpose(1, 0, 2)
        if self.bias:
            Z3 += self.params["b"]
        self._X3 = X3
        return Z

    def backward(self, dY, *, input_grad=True):
        n = dY.shape[0]
        k, n_out, W, X3 = self.k, self.n_out, self.params["W"], self._X3
        m = X3.shape[2]
        dZ3 = dY.reshape(n, k, n_out)
        if self.bias:
            np.add.reduce(dZ3, axis=0, out=self.grads["b"])
        dX = None
        if self.shared:
            dM = dZ3
            if self.adapters:
                np.einsum("nko,nko->ko", dZ3, self._M, out=self.grads["s"])
                dM = np.multiply(dZ3, self.params["s"],
                                 out=self._buffer("dM", (n, k, n_out), W.dtype))
            np.matmul(self._U.reshape(n * k, m).T, dM.reshape(n * k, n_out),
                      out=self.grads["W"])
            if self.adapters or input_grad:
                dU = self._buffer("dU", (n, k, m), W.dtype)
                np.matmul(dM.reshape(n * k, n_out), W.T, out=dU.reshape(n * k, m))
                if self.adapters:
                    np.einsum("nkm,nkm->km", dU, X3, out=self.grads["r"])
                    if input_grad:
                        dU *= self.params["r"]
                dX = dU.reshape(n, k * m)
        else:
            np.matmul(X3.transpose(1, 2, 0), dZ3.transpose(1, 0, 2), out=self.grads["W"])
            if input_grad:
                dXk = self._buffer("dXk", (k, n, m), W.dtype)
                np.matmul(dZ3.transpose(1, 0, 2), W.transpose(0, 2, 1), out=dXk)
                dX = self._buffer("dX", (n, k * m), W.dtype)
                dX.reshape(n, k, m)[...] = dXk.transpose(1, 0, 2)
        return dX if input_grad else None

    def get_config(self):
        return {"n_out": self.n_out, "k": self.k, "shared": self.shared,
                "adapters": self.adapters, "adapter_init": self.adapter_init,
                "init": self.init, "bias": self.bias}


def member_outputs(raw, k):
    """The k members' raw outputs, (n_samples, k * n_outputs) viewed as (n_samples, k, c)."""
    n, width = raw.shape
    if width % k:
        raise ValueError(
            f"raw must have k * n_outputs columns for k = {k}, got {width}."
        )
    return raw.reshape(n, k, width // k)


def ensemble_mean(loss, raw, k):
    """The ensemble prediction: the mean over the k members of ``loss.link`` of each output.

    ::

        prediction[n] = (1/k) sum_i link(raw[n, i*c:(i+1)*c])        (n_samples, c)

    For classification this averages probabilities (softmax or sigmoid of each member's
    logits), not logits, as TabM does; for the squared error it averages the outputs; for the
    Poisson loss, the predicted means exp(raw).

    Parameters
    ----------
    loss : Loss
        The members' loss (not the :class:`EnsembleLoss` wrapper).
    raw : ndarray of shape (n_samples, k * c)
    k : int
    """
    members = member_outputs(raw, k)
    n, _, c = members.shape
    linked = loss.link(np.ascontiguousarray(members).reshape(n * k, c))
    return linked.reshape(n, k, c).mean(axis=1)


class EnsembleLoss(Loss):
    """The mean of the k members' losses, each member scored on its own output (TabM).

    For raw of shape (n_samples, k * c) (member i in columns i*c ... i*c + c - 1), targets y of
    shape (n_samples, c) and weights w::

        L = (1/k) sum_i base.loss(y, raw_i, w)
        dL/draw_i = (1/k) * base.gradient(y, raw_i, w)

    computed in one call of the base loss on the (n_samples * k, c) stack of member outputs,
    with y and w repeated per member (sum_n sum_i w_n l_ni / (k sum_n w_n) is the same mean).
    ``link(raw)`` is :func:`ensemble_mean`: the prediction of the ensemble.

    Parameters
    ----------
    loss : Loss
        The members' loss, e.g. ``SoftmaxCrossEntropy()``.
    k : int
        Number of members. Must be >= 1.

    Notes
    -----
    Training each member on its own loss, rather than the loss of the averaged prediction, is
    what keeps the members diverse; TabM reports that it matters.
    """

    def __init__(self, loss, k):
        if not isinstance(loss, Loss) or isinstance(loss, EnsembleLoss):
            raise TypeError(f"loss must be a numnet Loss (not an EnsembleLoss), got "
                            f"{type(loss).__name__}.")
        self.base = loss
        self.k = check_int(k, "k", min_value=1)
        self._shape_hint = loss._shape_hint

    def n_targets(self, n_outputs):
        """Target columns for a network with ``n_outputs`` = k * c outputs: c."""
        return n_outputs // self.k

    def _stack(self, y_true, raw, sample_weight):
        k = self.k
        members = member_outputs(raw, k)
        n, _, c = members.shape
        y_true = np.asarray(y_true)
        if y_true.ndim == 1 and c == 1:
            y_true = y_true.reshape(-1, 1)
        if y_true.shape != (n, c):
            raise ValueError(
                f"y_true must have shape (n_samples, n_outputs) = {(n, c)}, got "
                f"{y_true.shape}.{self._shape_hint}"
            )
        y_stack = np.repeat(y_true.astype(raw.dtype, copy=False), k, axis=0)
        w_stack = None if sample_weight is None else np.repeat(np.asarray(sample_weight), k)
        return np.ascontiguousarray(members).reshape(n * k, c), y_stack, w_stack

    def loss(self, y_true, raw, sample_weight=None):
        stacked, y_stack, w_stack = self._stack(y_true, raw, sample_weight)
        return self.base.loss(y_stack, stacked, w_stack)

    def loss_gradient(self, y_true, raw, sample_weight=None, *, out=None):
        stacked, y_stack, w_stack = self._stack(y_true, raw, sample_weight)
        if out is None or not out.flags.c_contiguous:
            out = np.empty(raw.shape, dtype=raw.dtype)
        value, _ = self.base.loss_gradient(y_stack, stacked, w_stack,
                                           out=out.reshape(stacked.shape))
        return value, out

    def link(self, raw):
        return ensemble_mean(self.base, raw, self.k)

    def member_link(self, raw):
        """Each member's prediction, shape (n_samples, k, c)."""
        members = member_outputs(raw, self.k)
        n, k, c = members.shape
        return self.base.link(np.ascontiguousarray(members).reshape(n * k, c)).reshape(n, k, c)

    def check_targets(self, y_true):
        self.base.check_targets(y_true)

    def __repr__(self):
        return f"EnsembleLoss({self.base!r}, k={self.k})"

