"""Pure, numerically stable array functions: sigmoid, log-sigmoid, softmax, log-softmax, logsumexp.

All functions keep the dtype of a floating-point input and stay finite for inputs of +-1000 in
float32 and float64. Where it matters, an ``out=`` array receives the result in place.
"""

import numpy as np
from scipy.special import expit


def sigmoid(x, *, out=None):
    """Logistic sigmoid, ``1 / (1 + exp(-x))``, computed without overflow.

    Parameters
    ----------
    x : ndarray
    out : ndarray of the same shape, default=None
        Where to write the result; may be ``x`` itself.

    Returns
    -------
    ndarray
        Values in [0, 1]; exactly 0 or 1 only where the true value rounds to it.

    Examples
    --------
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    # scipy's expit evaluates exp(-|x|) branch-wise, so neither tail overflows.
    return expit(x, out=out) if out is not None else expit(x)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -log(1 + exp(-x))``, stable for large ``|x|``.

    Examples
    --------
    >>> log_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([-1.00000000e+03, -6.93147181e-01, -0.00000000e+00])
    """
    # -logaddexp(0, -x) is -log(1 + exp(-x)) evaluated as max + log1p(exp(-|x|)).
    return -np.logaddexp(0, -x)


def softplus(x):
    """``log(1 + exp(x))``, stable for large ``|x|``.

    Examples
    --------
    >>> softplus(np.array([-1000.0, 0.0, 1000.0]))
    array([0.00000000e+00, 6.93147181e-01, 1.00000000e+03])
    """
    return np.logaddexp(0, x)


def logsumexp(x, *, axis=-1, keepdims=False):
    """``log(sum(exp(x), axis))`` computed as ``m + log(sum(exp(x - m)))`` with ``m = max(x)``.

    Subtracting the maximum keeps every exponent <= 0, so nothing overflows.

    Examples
    --------
    >>> logsumexp(np.array([[1000.0, 1000.0], [-1000.0, -1000.0]]))
    array([1000.69314718, -999.30685282])
    """
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    result = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return result if keepdims else np.squeeze(result, axis=axis)


def softmax(x, *, axis=-1, out=None):
    """``exp(x) / sum(exp(x), axis)``, shifted by the row maximum for stability.

    Parameters
    ----------
    x : ndarray
    axis : int, default=-1
    out : ndarray of the same shape, default=None
        Where to write the result; may be ``x`` itself (the input is then overwritten).

    Examples
    --------
    >>> softmax(np.array([[1000.0, 0.0, -1000.0]]))
    array([[1., 0., 0.]])
    """
    if out is None:
        out = np.empty_like(x)
    m = np.max(x, axis=axis, keepdims=True)
    np.subtract(x, m, out=out)
    np.exp(out, out=out)
    out /= np.sum(out, axis=axis, keepdims=True)
    return out


def log_softmax(x, *, axis=-1):
    """``x - logsumexp(x, axis)``: log-probabilities without forming tiny probabilities.

    Computed as ``s - log(sum(exp(s)))`` with ``s = x - max(x)``.

    Examples
    --------
    >>> log_softmax(np.array([[1000.0, 0.0]]))
    array([[    0., -1000.]])
    """
    # s - log(sum(exp(s))) with s = x - max: subtracting the large max first keeps the small
    # log-probabilities of confident rows accurate in float32 (x - logsumexp(x) would cancel).
    # The max terms are exactly exp(0) = 1; the others are summed apart and enter through
    # log1p, so they are not rounded away against 1.
    shifted = x - np.max(x, axis=axis, keepdims=True)
    is_top = shifted == 0
    n_top = np.sum(is_top, axis=axis, keepdims=True).astype(shifted.dtype)
    others = np.sum(np.where(is_top, 0, np.exp(shifted)), axis=axis, keepdims=True)
    return shifted - (np.log(n_top) + np.log1p(others / n_top))
