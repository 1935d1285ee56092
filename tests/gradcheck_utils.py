"""Finite-difference gradient checks shared by the test modules (not collected: no test_ prefix).

Method (STYLE.md section 8), always in float64:

- central differences ``(f(x + eps) - f(x - eps)) / (2 eps)`` with ``eps = EPS = 1e-6``;
- compared element-wise with ``np.testing.assert_allclose(rtol=RTOL, atol=ATOL)``:
  RTOL = 1e-6; ATOL = 1e-9 is the floor for entries near zero, where the round-off of a central
  difference, about ``|f| * 2**-52 / eps ~ 1e-10 * |f|``, dominates;
- a layer is reduced to a scalar with a RANDOM upstream gradient G, ``L = sum(G * Y)``, so
  transposition and broadcasting bugs cannot hide behind ``G = 1``;
- a whole network is checked along random unit directions u of the flat vector:
  ``(f(theta + eps u) - f(theta - eps u)) / (2 eps) ~ grad . u``.

Every comparison also records its relative error ``max|a - n| / max(max|n|, max|a|)`` (the
definition numnet.check_gradients reports) in :data:`RECORD`, so a one-off script can report
the largest error over the whole run.
"""

import numpy as np

from numnet.layers import Activation
from numnet.objective import objective

EPS = 1e-6
RTOL = 1e-6
ATOL = 1e-9

#: (label, relative error) for every comparison made in this process.
RECORD = []


def relative_error(analytic, numeric):
    """``max|analytic - numeric| / max(max|numeric|, max|analytic|, 1e-12)``."""
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    scale = max(float(np.max(np.abs(numeric))), float(np.max(np.abs(analytic))), 1e-12)
    return float(np.max(np.abs(analytic - numeric))) / scale


def numeric_gradient(f, x, eps=EPS):
    """Central differences of the scalar ``f()`` with respect to every entry of ``x``.

    ``x`` is perturbed in place and restored exactly; ``f`` takes no arguments and reads x.
    """
    assert x.dtype == np.float64, "gradient checks run in float64"
    flat = x.reshape(-1)
    assert np.shares_memory(flat, x)
    grad = np.empty(flat.size)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        f_plus = f()
        flat[i] = saved - eps
        f_minus = f()
        flat[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad.reshape(x.shape)


def assert_gradient_close(analytic, numeric, label):
    """Record the relative error, then assert element-wise closeness at RTOL/ATOL."""
    RECORD.append((label, relative_error(analytic, numeric)))
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL, err_msg=label)


def away_from_zero(rng, shape, margin=1e-3, scale=1.0):
    """Normal samples with every ``|x| > margin`` (resampled), to stay off the ReLU kink."""
    x = rng.normal(scale=scale, size=shape)
    bad = np.abs(x) <= margin
    while bad.any():
        x[bad] = rng.normal(scale=scale, size=int(bad.sum()))
        bad = np.abs(x) <= margin
    return x


def check_layer_gradients(layer, X, rng, *, training=False, before_forward=None, label=""):
    """Check ``layer.backward`` against central differences of ``L = sum(G * layer.forward(X))``.

    G is a random normal upstream gradient. Checks the returned dL/dX and every entry of
    ``layer.grads`` (which must be bound). ``before_forward`` is called before every forward
    (e.g. to reseed dropout so that each evaluation uses the same mask).
    """
    label = label or type(layer).__name__

    def forward():
        if before_forward is not None:
            before_forward()
        return layer.forward(X, training=training)

    G = rng.normal(size=forward().shape)

    def f():
        return float(np.sum(G * forward()))

    forward()
    dX = np.array(layer.backward(G), copy=True)
    analytic = {name: np.array(g, copy=True) for name, g in layer.grads.items()}
    assert dX.shape == X.shape
    assert_gradient_close(dX, numeric_gradient(f, X), f"{label} dX")
    for name, param in layer.params.items():
        assert_gradient_close(analytic[name], numeric_gradient(f, param), f"{label} d{name}")
    return dX, analytic


def check_network_elementwise(net, loss, X, y, *, regularizer=None, sample_weight=None,
                              label="network"):
    """Every entry of the flat gradient of :func:`objective` against central differences."""

    def f():
        return objective(net, loss, X, y, regularizer=regularizer, sample_weight=sample_weight)[0]

    _, grad = objective(net, loss, X, y, regularizer=regularizer, sample_weight=sample_weight)
    analytic = grad.copy()
    assert_gradient_close(analytic, numeric_gradient(f, net.params), f"{label} elementwise")
    return analytic


def check_network_directional(net, loss, X, y, rng, *, regularizer=None, sample_weight=None,
                              n_directions=4, label="network"):
    """``(f(theta + eps u) - f(theta - eps u)) / (2 eps) ~ grad . u`` for random unit u."""

    def f():
        return objective(net, loss, X, y, regularizer=regularizer, sample_weight=sample_weight)[0]

    theta = net.params.copy()
    _, grad = objective(net, loss, X, y, regularizer=regularizer, sample_weight=sample_weight)
    grad = grad.copy()
    for k in range(n_directions):
        u = rng.normal(size=theta.shape)
        u /= np.linalg.norm(u)
        np.copyto(net.params, theta + EPS * u)
        f_plus = f()
        np.copyto(net.params, theta - EPS * u)
        f_minus = f()
        np.copyto(net.params, theta)
        numeric = (f_plus - f_minus) / (2 * EPS)
        analytic = float(grad @ u)
        assert_gradient_close(np.array([analytic]), np.array([numeric]),
                              f"{label} direction {k}")
    assert np.array_equal(net.params, theta)


def min_abs_preactivation(net, X):
    """Smallest |input| to any activation layer: far from 0 means no ReLU kink is crossed."""
    smallest = np.inf
    A = X
    for layer in net.layers:
        if isinstance(layer, Activation):
            smallest = min(smallest, float(np.min(np.abs(A))))
        A = layer.forward(A)
    return smallest
