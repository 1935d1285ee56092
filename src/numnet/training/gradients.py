"""How one batch's loss and gradient are computed: the gradient computation of the loop.

A :class:`GradientComputation` is called with a batch and writes ``dL/dparams`` into
``net.grads``, returning the batch loss::

    L = loss(y_b, net.forward(X_b, training=True), w_b)     the (weighted) mean over the batch
    net.grads = dL/dparams                                  shape (n_params,)

The regularizer is not part of it: the loop adds the penalty and its gradient (or applies the
proximal step) afterwards, the same for every computation. :class:`Backprop` is the default.
Other computations plug in here without touching the loop: per-sample clipped and noised sums
(DP-SGD), or a sum over the workers of a cluster.
"""

import numpy as np

from .. import kernels


class GradientComputation:
    """Computes a batch's loss and writes its gradient into ``net.grads``.

    ``__call__(net, loss, X_b, y_b, w_b, *, full_batch)`` returns the loss (a float).
    ``full_batch`` is True when the batch is all the training rows in order.
    """

    def __call__(self, net, loss, X_b, y_b, w_b, *, full_batch=False):
        raise NotImplementedError


class Backprop(GradientComputation):
    """Forward pass, the loss with its output link fused, backward pass.

    ::

        raw = net.forward(X_b, training=True)
        L, d_raw = loss.loss_gradient(y_b, raw, w_b)        d_raw = dL/draw, into a buffer
        net.backward(d_raw, input_grad=False)               writes net.grads; skips dL/dX

    With the ``fast`` extra installed (numba) two shortcuts give the same result:
    on the full batch, a linear model (one Dense(1) layer with MeanSquaredError or
    BinaryCrossEntropy) takes :func:`numnet.kernels.linear_objective`'s one fused pass over X
    (equal to rounding); a small stack of Dense and ReLU layers runs its forward and backward
    passes as :class:`numnet.kernels.DenseStack`'s two compiled calls (bit for bit).
    """

    def __init__(self):
        self._d_raw = None

    def __call__(self, net, loss, X_b, y_b, w_b, *, full_batch=False):
        value = kernels.linear_objective(net, loss, X_b, y_b, w_b) if full_batch else None
        if value is not None:
            return value
        stack = kernels.DenseStack.of(net, X_b)
        raw = net.forward(X_b, training=True) if stack is None else stack.forward(X_b)
        if self._d_raw is None or self._d_raw.shape != raw.shape:
            self._d_raw = np.empty_like(raw)
        value, d_raw = loss.loss_gradient(y_b, raw, w_b, out=self._d_raw)
        if stack is None:
            net.backward(d_raw, input_grad=False)
        else:
            stack.backward(X_b, d_raw)
        return value
