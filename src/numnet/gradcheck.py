"""Check backpropagation against central finite differences, parameter by parameter."""

import numpy as np

from .objective import objective


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


class GradientCheck(dict):
    """What :func:`check_gradients` found: parameter name -> worst scaled error.

    The value for a parameter array P is::

        error(P) = max_i |a_i - n_i| / (atol + rtol * |n_i|)

    over its entries, with ``a`` the backprop gradient and ``n`` the central difference: the
    criterion of ``numpy.testing.assert_allclose`` and ``torch.autograd.gradcheck``. A value
    <= 1 passes. Unlike an error relative to the largest entry, it does not blow up when a
    parameter's true gradient is ~0, and a wrong entry still fails however small it is,
    as long as the mistake exceeds ``atol``.

    Attributes
    ----------
    rtol, atol : float
        The tolerances used.
    relative : dict of str to float
        ``max|a - n| / max(max|n|, max|a|, 1e-12)`` per parameter: the error relative to the
        parameter's largest gradient entry (the figure earlier versions reported).
    max_abs : dict of str to float
        ``max|a - n|`` per parameter.
    """

    def __init__(self, errors, *, rtol, atol, relative, max_abs):
        super().__init__(errors)
        self.rtol, self.atol = rtol, atol
        self.relative, self.max_abs = relative, max_abs

    @property
    def passed(self):
        """True when every entry of every parameter is within ``atol + rtol * |numeric|``."""
        return all(value <= 1.0 for value in self.values())

    def __repr__(self):
        errors = ", ".join(f"{name!r}: {value:.2g}" for name, value in self.items())
        return f"GradientCheck({{{errors}}}, passed={self.passed})"


def check_gradients(net, loss, X, y, *, regularizer=None, sample_weight=None, eps=1e-6,
                    rtol=1e-5, atol=1e-8):
    """Compare backprop with central finite differences for every named parameter.

    For each parameter array P (e.g. ``"0.W"``) the numeric gradient ``n`` of the full-batch
    :func:`numnet.training.objective` is computed entry by entry and compared with the backprop
    gradient ``a``, entry by entry, as ``numpy.testing.assert_allclose`` does::

        error(P) = max_i |a_i - n_i| / (atol + rtol * |n_i|)       passes when <= 1

    The check runs on a float64 copy of the network, so float32 networks can be checked too;
    the network itself is not changed. The round-off of a central difference is about
    ``|f| * 2**-52 / eps``, 2e-10 for a loss near 1: the default ``atol = 1e-8`` leaves a
    margin for losses up to about 40; raise ``atol`` for larger losses. With ReLU, a sample
    sitting exactly on a kink can fail the check although backprop is right.

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
        The step of the central differences.
    rtol : float, default=1e-5
        Relative tolerance, as in ``numpy.testing.assert_allclose``.
    atol : float, default=1e-8
        Absolute tolerance: gradients smaller than this are compared in absolute terms.

    Returns
    -------
    GradientCheck
        A dict of parameter name -> worst scaled error (pass: <= 1), with ``passed``, and the
        ``relative`` and ``max_abs`` errors per parameter as attributes.

    Examples
    --------
    >>> from numnet import Sequential, Dense, Tanh, MeanSquaredError
    >>> rng = np.random.default_rng(0)
    >>> net = Sequential([Dense(3), Tanh(), Dense(1)]).build(2, random_state=0)
    >>> X, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    >>> result = check_gradients(net, MeanSquaredError(), X, y)
    >>> result.passed, list(result)
    (True, ['0.W', '0.b', '2.W', '2.b'])
    >>> max(result.relative.values()) < 1e-7
    True
    """
    for name, value in (("eps", eps), ("rtol", rtol), ("atol", atol)):
        if not (isinstance(value, (int, float, np.floating)) and np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite float >= 0, got {value!r}.")
    if eps == 0:
        raise ValueError("eps must be a finite float > 0, got 0.")
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol must not both be 0: every difference would fail. "
                         "Use the defaults (rtol=1e-5, atol=1e-8).")
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
    errors, relative, max_abs = {}, {}, {}
    for name, param in net64.named_parameters().items():
        numeric = numeric_gradient(f, param, eps=eps)
        difference = np.abs(analytic[name] - numeric)
        errors[name] = float(np.max(difference / (atol + rtol * np.abs(numeric))))
        scale = max(np.max(np.abs(numeric)), np.max(np.abs(analytic[name])), 1e-12)
        max_abs[name] = float(np.max(difference))
        relative[name] = max_abs[name] / float(scale)
    return GradientCheck(errors, rtol=rtol, atol=atol, relative=relative, max_abs=max_abs)
