"""The full-batch objective of a network: loss plus penalty, and its gradient over the flat vector.

A pure function of ``net.params``: what L-BFGS minimises, what the gradient checks
differentiate numerically, and what a data-parallel run sums over workers.
"""

from . import kernels


def objective(net, loss, X, y, *, regularizer=None, sample_weight=None):
    """Full-batch objective and its gradient, a pure function of ``net.params``.

    ::

        f(params) = loss(y, net.forward(X), sample_weight) + regularizer.penalty(W)
        grad      = df/dparams, shape (n_params,)

    Dropout is inactive (``training=False``), so f is deterministic. This is what L-BFGS
    minimises and what the gradient checks differentiate numerically.

    Returns
    -------
    value : float
    grad : ndarray of shape (n_params,)
        ``net.grads`` itself, overwritten by the next call: copy it to keep it.
    """
    value = kernels.linear_objective(net, loss, X, y, sample_weight)
    if value is None:
        raw = net.forward(X)
        value, d_raw = loss.loss_gradient(y, raw, sample_weight)
        net.backward(d_raw, input_grad=False)
    if regularizer is not None:
        value += regularizer.penalty(net.penalized)
        regularizer.gradient(net.penalized, out=net.penalized_grads)
    return value, net.grads
