"""Regularizers: penalty and gradient closed forms, finite differences, the exact prox, lasso."""

import re

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from sklearn.linear_model import Lasso

from gradcheck_utils import assert_gradient_close, away_from_zero, numeric_gradient
from numnet import (
    L1,
    L2,
    SGD,
    Dense,
    ElasticNet,
    MeanSquaredError,
    Sequential,
    Tanh,
    objective,
    train,
)

REGULARIZERS = {
    "l1": lambda: L1(0.3),
    "l2": lambda: L2(0.7),
    "elastic_net": lambda: ElasticNet(0.8, l1_ratio=0.25),
}


def test_penalty_closed_forms():
    w = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert L1(0.5).penalty(w) == 0.5 * 6
    assert L2(0.5).penalty(w) == 0.5 * 0.5 * 14
    assert ElasticNet(2.0, l1_ratio=0.25).penalty(w) == 2 * 0.25 * 6 + 0.5 * 2 * 0.75 * 14
    assert L1(0.0).penalty(w) == L2(0.0).penalty(w) == 0.0


def test_gradient_closed_forms_add_into_out():
    w = np.array([1.0, -2.0, 0.0, 3.0])
    start = np.array([10.0, 20.0, 30.0, 40.0])
    out = start.copy()
    assert L1(0.5).gradient(w, out=out) is out
    np.testing.assert_array_equal(out, start + 0.5 * np.array([1, -1, 0, 1]))  # 0 at w = 0
    out = start.copy()
    L2(0.5).gradient(w, out=out)
    np.testing.assert_array_equal(out, start + 0.5 * w)
    out = start.copy()
    ElasticNet(2.0, l1_ratio=0.25).gradient(w, out=out)
    np.testing.assert_allclose(out, start + 2 * 0.25 * np.sign(w) + 2 * 0.75 * w, rtol=1e-15)


@pytest.mark.parametrize("name", list(REGULARIZERS))
def test_gradient_matches_finite_differences(name, rng):
    reg = REGULARIZERS[name]()
    w = away_from_zero(rng, (4, 3), margin=1e-2)  # |w| is not differentiable at 0
    analytic = reg.gradient(w, out=np.zeros_like(w))
    assert_gradient_close(analytic, numeric_gradient(lambda: reg.penalty(w), w), name)


def test_gradient_adds_into_out_without_touching_w(rng):
    w = rng.normal(size=5)
    w_before = w.copy()
    out = np.ones(5)
    ElasticNet(2.0, l1_ratio=0.25).gradient(w, out=out)
    np.testing.assert_allclose(out, 1 + 2 * 0.75 * w + 2 * 0.25 * np.sign(w), rtol=1e-15)
    np.testing.assert_array_equal(w, w_before)


def test_l1_and_l2_are_elastic_net_endpoints(rng):
    w = rng.normal(size=6)
    assert L1(0.4).penalty(w) == ElasticNet(0.4, l1_ratio=1.0).penalty(w)
    assert L2(0.4).penalty(w) == ElasticNet(0.4, l1_ratio=0.0).penalty(w)


# --- proximal operator ------------------------------------------------------------------------

W_PROX = np.array([2.0, -1.5, 0.05, -0.02, 0.0, 0.3, -0.31, 0.7])


@pytest.mark.parametrize("name", list(REGULARIZERS))
@pytest.mark.parametrize("step", [0.1, 1.0])
def test_prox_is_the_exact_minimiser(name, step):
    """prox(w, t) = argmin_v penalty(v) + ||v - w||^2 / (2 t), checked per coordinate.

    The objective is separable, so each coordinate is a 1-D convex problem; scipy's bounded
    scalar minimiser solves it to ~1e-10.
    """
    reg = REGULARIZERS[name]()
    prox = reg.prox(W_PROX.copy(), step)
    for i, w_i in enumerate(W_PROX):
        def f(v, w_i=w_i):
            return reg.penalty(np.array([v])) + (v - w_i) ** 2 / (2 * step)

        best = minimize_scalar(f, bounds=(-3, 3), method="bounded",
                               options={"xatol": 1e-12}).x
        np.testing.assert_allclose(prox[i], best, atol=1e-8, err_msg=f"coordinate {i}")
        # and the prox value is no worse than any nearby point
        assert f(prox[i]) <= min(f(prox[i] + 1e-6), f(prox[i] - 1e-6))


def test_l1_prox_is_soft_thresholding_with_exact_zeros():
    w = W_PROX.copy()
    out = L1(1.0).prox(w, 0.3)
    assert out is w  # in place
    expected = np.sign(W_PROX) * np.maximum(np.abs(W_PROX) - 0.3, 0)
    np.testing.assert_allclose(w, expected, rtol=1e-15, atol=1e-16)
    small = np.abs(W_PROX) <= 0.3
    assert np.all(w[small] == 0.0)  # exactly zero, not merely tiny
    assert np.all(w[~small] != 0.0)


def test_l2_prox_is_a_shrinkage():
    w = W_PROX.copy()
    L2(0.5).prox(w, 0.2)
    np.testing.assert_allclose(w, W_PROX / (1 + 0.2 * 0.5), rtol=1e-15)


# --- biases are never penalised ---------------------------------------------------------------

@pytest.mark.parametrize("name", list(REGULARIZERS))
def test_biases_are_never_penalised(name, rng):
    reg = REGULARIZERS[name]()
    net = Sequential([Dense(4), Tanh(), Dense(2)]).build(3, random_state=0)
    params = net.named_parameters()
    params["0.b"][...] = rng.normal(size=4)
    params["2.b"][...] = rng.normal(size=2)
    weights = np.concatenate([params["0.W"].ravel(), params["2.W"].ravel()])
    np.testing.assert_array_equal(net.penalized, weights)
    assert reg.penalty(net.penalized) == reg.penalty(weights)

    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    loss = MeanSquaredError()
    plain_value, _ = objective(net, loss, X, y)
    plain_named = {name: g.copy() for name, g in net.named_gradients().items()}
    value, _ = objective(net, loss, X, y, regularizer=reg)
    np.testing.assert_allclose(value, plain_value + reg.penalty(weights), rtol=1e-15)
    grad = net.named_gradients()
    for bias in ("0.b", "2.b"):
        np.testing.assert_array_equal(grad[bias], plain_named[bias])
    for weight in ("0.W", "2.W"):
        expected = reg.gradient(params[weight], out=plain_named[weight].copy())
        np.testing.assert_allclose(grad[weight], expected, rtol=1e-14)

    # Moving the biases leaves the penalty unchanged.
    params["0.b"][...] += 10.0
    assert reg.penalty(net.penalized) == reg.penalty(weights)


# --- proximal gradient descent reaches scikit-learn's lasso ----------------------------------

def test_proximal_gradient_descent_matches_sklearn_lasso(rng):
    n_samples, n_features = 100, 8
    X = rng.normal(size=(n_samples, n_features))
    true_coef = np.array([3.0, -2.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.2])
    y = X @ true_coef + 0.7 + rng.normal(scale=0.5, size=n_samples)

    # scikit-learn minimises RSS / (2 n) + a_sk ||w||_1; numnet minimises RSS / n + alpha ||w||_1
    # (MeanSquaredError has no 1/2), i.e. twice scikit-learn's objective: alpha = 2 a_sk.
    alpha_sk = 0.1
    reference = Lasso(alpha=alpha_sk, tol=1e-12, max_iter=100_000).fit(X, y)

    net = Sequential([Dense(1)]).build(n_features, random_state=0)
    # ISTA: a gradient step with 1 / lr >= the Lipschitz constant 2 * lambda_max([X 1]^T [X 1] / n)
    design = np.column_stack([X, np.ones(n_samples)])
    lipschitz = 2 * np.linalg.eigvalsh(design.T @ design / n_samples).max()
    history = train(net, MeanSquaredError(), SGD(learning_rate=1 / lipschitz), X, y,
                    regularizer=L1(2 * alpha_sk), batch_size=None, shuffle=False,
                    max_epochs=1500)
    coef, intercept = net[0].params["W"][:, 0], net[0].params["b"][0]
    np.testing.assert_allclose(coef, reference.coef_, atol=1e-8)
    np.testing.assert_allclose(intercept, reference.intercept_, atol=1e-8)
    # the lasso's zeros are exact zeros here too, not 1e-17s
    assert np.array_equal(coef == 0, reference.coef_ == 0)
    assert np.sum(coef == 0) >= 2
    assert history.n_epochs == 1500


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("make", "exc", "message"),
    [
        (lambda: L1(-1.0), ValueError, "alpha must be a float >= 0, got -1.0."),
        (lambda: L2(float("inf")), ValueError, "alpha must be a finite float >= 0, got inf."),
        (lambda: L2("0.1"), TypeError, "alpha must be a float >= 0, got '0.1'."),
        (lambda: ElasticNet(1.0, l1_ratio=1.5), ValueError,
         "l1_ratio must be a float in [0, 1], got 1.5."),
        (lambda: ElasticNet(1.0, l1_ratio=-0.1), ValueError,
         "l1_ratio must be a float in [0, 1], got -0.1."),
    ],
    ids=["l1_negative", "l2_inf", "l2_str", "ratio_high", "ratio_negative"],
)
def test_constructor_errors(make, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        make()


def test_repr_and_config():
    assert repr(L1(0.1)) == "L1(alpha=0.1)"
    assert repr(L2(0.2)) == "L2(alpha=0.2)"
    assert repr(ElasticNet(0.3, 0.4)) == "ElasticNet(alpha=0.3, l1_ratio=0.4)"
    assert ElasticNet(0.3, 0.4).get_config() == {"alpha": 0.3, "l1_ratio": 0.4}
    assert L1(0.1).get_config() == {"alpha": 0.1}


@pytest.mark.parametrize("regularizer", [L1(0.1), L2(0.1), ElasticNet(0.1, 0.5)], ids=repr)
def test_penalty_gradient_and_prox_allocate_no_parameter_sized_temporaries(regularizer):
    import tracemalloc

    w = np.random.default_rng(0).normal(size=200_000)  # 1.6 MB
    out = np.zeros_like(w)
    regularizer.penalty(w), regularizer.gradient(w, out=out), regularizer.prox(w, 0.01)  # warm up
    tracemalloc.start()
    regularizer.penalty(w)
    regularizer.gradient(w, out=out)
    regularizer.prox(w, 0.01)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10_000, peak


# --- gaps found by mutation testing (issue 28) ------------------------------------------------

def test_defaults_and_l2_config():
    assert ElasticNet(0.3).l1_ratio == 0.5
    assert ElasticNet(0.3).get_config() == {"alpha": 0.3, "l1_ratio": 0.5}
    assert L2(0.2).get_config() == {"alpha": 0.2}


@pytest.mark.parametrize("name", list(REGULARIZERS))
def test_copies_leave_the_work_buffer_behind_and_compute_the_same(name, rng):
    import copy
    import pickle

    regularizer = REGULARIZERS[name]()
    assert copy.deepcopy(regularizer).get_config() == regularizer.get_config()   # never used
    w = rng.normal(size=(4, 3))
    regularizer.gradient(w, out=np.zeros_like(w))            # allocates the work buffer
    assert "_scratch_buffer" not in regularizer.__getstate__()
    assert "_scratch_buffer" in regularizer.__dict__          # the original keeps it
    for clone in (copy.deepcopy(regularizer), pickle.loads(pickle.dumps(regularizer))):
        assert "_scratch_buffer" not in clone.__dict__
        assert clone.get_config() == regularizer.get_config()
        assert clone.penalty(w) == regularizer.penalty(w)
        np.testing.assert_array_equal(clone.gradient(w, out=np.zeros_like(w)),
                                      regularizer.gradient(w, out=np.zeros_like(w)))


@pytest.mark.parametrize("make", [lambda: L1(0.3), lambda: L2(0.7),
                                  lambda: ElasticNet(0.8, 0.25)], ids=["l1", "l2", "en"])
def test_one_regularizer_reused_across_shapes_and_dtypes_matches_fresh_ones(make, rng):
    # The work buffer is kept between calls; a new shape or dtype must not reuse it.
    reused = make()
    for shape, dtype in [((50, 20), np.float64), ((50, 20), np.float32), ((7,), np.float32),
                         ((1000,), np.float64)]:
        w = rng.normal(size=shape).astype(dtype)
        fresh = make()
        assert reused.penalty(w) == fresh.penalty(w)
        got = reused.gradient(w, out=np.zeros_like(w))
        np.testing.assert_array_equal(got, fresh.gradient(w, out=np.zeros_like(w)))
        assert got.dtype == dtype
        a, b = w.copy(), w.copy()
        np.testing.assert_array_equal(reused.prox(a, 0.1), fresh.prox(b, 0.1))
