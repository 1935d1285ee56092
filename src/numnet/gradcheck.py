"""Check backpropagation against central finite differences, parameter by parameter."""

import numpy as np

from .training import objective


def numeric_gradient(f, x, *, eps=1e-6):
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry of x.

    ``x`` is perturbed in place and restored; ``f`` takes no arguments and reads x.

    Examples
    --------
    >>> x = np.array([1.0, 2.0])
    >>> numeric_gradient(lambda: float(np.sum(x ** 2)), x)
    array([2., 4.])
    """
    if not (isinstance(x, np.ndarray) and x.flags.c_contiguous):
        # reshape(-1) of a non-contiguous array is a copy: the perturbations would never reach
        # the array f reads, and every difference would be 0.
        raise ValueError("x must be a C-contiguous numpy array (a parameter view), got "
                         f"{type(x).__name__} with flags c_contiguous="
                         f"{getattr(getattr(x, 'flags', None), 'c_contiguous', None)}.")
    flat = x.reshape(-1)
    grad = np.empty(flat.shape, dtype=np.float64)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        f_plus = f()
        flat[i] = saved - eps
        f_minus = f()
        flat[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad.reshape(x.shape)


def check_gradients(net, loss, X, y, *, regularizer=None, sample_weight=None, eps=1e-6):
    """Compare backprop with central finite differences for every named parameter.

    For each parameter array P (e.g. ``"0.W"``) the numeric gradient of the full-batch
    :func:`numnet.training.objective` is computed entry by entry, and the error is reported as::

        relative_error(P) = max|analytic - numeric| / max(max|numeric|, max|analytic|, 1e-12)

    The check runs on a float64 copy of the network, so float32 networks can be checked too;
    the network itself is not changed. Errors around 1e-7 or below mean backprop is right; with
    ReLU, a sample sitting exactly on a kink can give a larger error.

    Parameters
    ----------
    net : Sequential
        A built network.
    loss : Loss
    X : ndarray of shape (n_samples, n_features)
        Keep it small: the check costs two forward passes per parameter entry.
    y : ndarray
        Targets in the loss's format.
    regularizer : Regularizer, default=None
    sample_weight : ndarray of shape (n_samples,), default=None
    eps : float, default=1e-6

    Returns
    -------
    dict of str to float
        The relative error per named parameter.

    Examples
    --------
    >>> from numnet import Sequential, Dense, Tanh, MeanSquaredError
    >>> rng = np.random.default_rng(0)
    >>> net = Sequential([Dense(3), Tanh(), Dense(1)]).build(2, random_state=0)
    >>> X, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    >>> errors = check_gradients(net, MeanSquaredError(), X, y)
    >>> max(errors.values()) < 1e-7
    True
    """
    net64 = net.copy(dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)

    def f():
        value = loss.loss(y, net64.forward(X), sample_weight)
        if regularizer is not None:
            value += regularizer.penalty(net64.penalized)
        return value

    _, grads = objective(net64, loss, X, y, regularizer=regularizer, sample_weight=sample_weight)
    analytic = {name: g.copy() for name, g in net64.named_gradients().items()}
    errors = {}
    for name, param in net64.named_parameters().items():
        numeric = numeric_gradient(f, param, eps=eps)
        scale = max(np.max(np.abs(numeric)), np.max(np.abs(analytic[name])), 1e-12)
        errors[name] = float(np.max(np.abs(analytic[name] - numeric)) / scale)
    return errors
