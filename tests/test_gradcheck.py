"""numnet.check_gradients: small errors for correct layers, a large one for a broken layer."""

import numpy as np
import pytest

from numnet import (
    BinaryCrossEntropy,
    Dense,
    ElasticNet,
    LeakyReLU,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
    check_gradients,
)
from numnet.gradcheck import numeric_gradient
from numnet.objective import objective


class TanhWithWrongDerivative(Tanh):
    """Forward is tanh, but backward uses 1 - Y instead of 1 - Y**2: a typical slip."""

    def _derivative(self, Y, dY, out):
        np.subtract(1, Y, out=out)
        out *= dY
        return out


class ReLUWithOffByOneKink(ReLU):
    """The widely copied max(1, x) 'ReLU' (forward wrong, backward of the real ReLU)."""

    def _apply(self, X, out):
        return np.maximum(X, 1, out=out)


CASES = {
    "tanh_mse": (Tanh, MeanSquaredError, 2),
    "sigmoid_bce": (Sigmoid, BinaryCrossEntropy, 1),
    "leaky_relu_softmax_ce": (lambda: LeakyReLU(0.1), SoftmaxCrossEntropy, 3),
    "softmax_mse": (Softmax, MeanSquaredError, 2),
}


def data(rng, n_out, loss_cls):
    X = rng.normal(size=(6, 3))
    if loss_cls is SoftmaxCrossEntropy:
        y = np.eye(n_out)[rng.integers(0, n_out, size=6)]
    elif loss_cls is BinaryCrossEntropy:
        y = rng.integers(0, 2, size=(6, n_out)).astype(float)
    else:
        y = rng.normal(size=(6, n_out))
    return X, y


@pytest.mark.parametrize("case", list(CASES))
def test_correct_network_has_tiny_errors(case, rng):
    activation, loss_cls, n_out = CASES[case]
    net = Sequential([Dense(5), activation(), Dense(n_out)]).build(3, random_state=0)
    X, y = data(rng, n_out, loss_cls)
    errors = check_gradients(net, loss_cls(), X, y, regularizer=ElasticNet(0.01),
                             sample_weight=rng.uniform(0.5, 2, size=6))
    assert list(errors) == ["0.W", "0.b", "2.W", "2.b"]
    assert errors.passed and max(errors.values()) < 0.1, errors
    assert max(errors.relative.values()) < 1e-6


def test_broken_derivative_gives_a_large_error(rng):
    net = Sequential([Dense(5), TanhWithWrongDerivative(), Dense(1)]).build(3, random_state=0)
    net.params[:] = rng.normal(size=net.params.size)
    X, y = data(rng, 1, MeanSquaredError)
    errors = check_gradients(net, MeanSquaredError(), X, y)
    # Layers above the broken one are unaffected; everything below it is wrong.
    assert errors["2.W"] < 0.1 and errors["2.b"] < 0.1
    assert errors["0.W"] > 1e3 and errors["0.b"] > 1e3
    assert not errors.passed
    assert errors.relative["0.W"] > 0.1 and errors.relative["0.b"] > 0.1


def test_backward_that_does_not_match_forward_is_caught(rng):
    net = Sequential([Dense(4), ReLUWithOffByOneKink(), Dense(1)]).build(2, random_state=0)
    net.params[:] = rng.normal(size=net.params.size)
    X, y = data(rng, 1, MeanSquaredError)
    errors = check_gradients(net, MeanSquaredError(), X[:, :2], y)
    assert max(errors["0.W"], errors["0.b"]) > 1e3 and not errors.passed


def test_checks_a_float32_network_without_changing_it(rng):
    net = Sequential([Dense(4), Tanh(), Dense(1)]).build(3, dtype=np.float32, random_state=0)
    before = net.params.copy()
    X, y = data(rng, 1, MeanSquaredError)
    errors = check_gradients(net, MeanSquaredError(), X.astype(np.float32), y)
    assert errors.passed and max(errors.relative.values()) < 1e-6  # run on a float64 copy
    np.testing.assert_array_equal(net.params, before)
    assert net.params.dtype == np.float32


class DenseWithFlippedBiasGradient(Dense):
    """A Dense layer whose backward reports -db for its bias: a sign slip in one parameter."""

    def backward(self, dY, **kwargs):
        dX = super().backward(dY, **kwargs)
        self.grads["b"] *= -1
        return dX


def nearly_fitted_regression(rng, layer_cls=Dense, residual_mean=1e-6):
    """A Dense(1) model whose residuals average to ``residual_mean``: the bias gradient of the
    mean squared error is ``2 * residual_mean``, tiny, while the weight gradients are not."""
    net = Sequential([layer_cls(1)]).build(2, random_state=0)
    X = rng.normal(size=(2, 2))
    residual = np.array([0.3, -0.3]) + residual_mean
    y = net.forward(X) - residual[:, None]
    return net, X, y


def test_a_tiny_but_correct_gradient_passes(rng):
    # The case that made CI flaky: a bias gradient of ~2e-6 whose finite difference carries
    # round-off ~1e-10. Relative to the largest bias gradient that is an error of ~1e-5-1e-4;
    # against atol + rtol * |numeric| it is far inside the tolerance.
    net, X, y = nearly_fitted_regression(rng)
    objective(net, MeanSquaredError(), X, y)
    np.testing.assert_allclose(net.named_gradients()["0.b"], [2e-6], rtol=1e-6)
    errors = check_gradients(net, MeanSquaredError(), X, y)
    assert errors.max_abs["0.b"] < 1e-9
    assert errors.relative["0.b"] > 1e-6  # what the old, largest-entry-relative figure made of it
    assert errors.passed and errors["0.b"] < 0.1, errors


@pytest.mark.parametrize("residual_mean", [1e-6, 0.2])
def test_a_sign_flip_in_one_bias_fails_the_check(rng, residual_mean):
    net, X, y = nearly_fitted_regression(rng, DenseWithFlippedBiasGradient, residual_mean)
    errors = check_gradients(net, MeanSquaredError(), X, y)
    # |a - n| = 2 |n| = 4 * residual_mean, against atol + rtol * |n|: far above 1 in both cases.
    assert not errors.passed
    assert errors["0.b"] > 100, errors
    assert errors["0.W"] < 0.1
    np.testing.assert_allclose(errors.max_abs["0.b"], 4 * residual_mean, rtol=1e-4)


def test_result_records_tolerances_and_repr(rng):
    net, X, y = nearly_fitted_regression(rng)
    errors = check_gradients(net, MeanSquaredError(), X, y, rtol=1e-3, atol=1e-6)
    assert (errors.rtol, errors.atol) == (1e-3, 1e-6)
    assert repr(errors).startswith("GradientCheck({'0.W': ")
    assert repr(errors).endswith(", passed=True)")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("eps", 0.0, "eps must be a finite float > 0, got 0."),
    ("eps", -1.0, "eps must be a finite float >= 0, got -1.0."),
    ("rtol", -1.0, "rtol must be a finite float >= 0, got -1.0."),
    ("atol", float("nan"), "atol must be a finite float >= 0, got nan."),
])
def test_check_gradients_rejects_bad_tolerances(rng, option, value, message):
    net, X, y = nearly_fitted_regression(rng)
    with pytest.raises(ValueError) as info:
        check_gradients(net, MeanSquaredError(), X, y, **{option: value})
    assert str(info.value) == message


def test_numeric_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 0.5])
    numeric = numeric_gradient(lambda: float(np.sum(np.sin(x))), x)
    np.testing.assert_allclose(numeric, np.cos([1.0, -2.0, 0.5]), rtol=1e-9)
    np.testing.assert_array_equal(x, [1.0, -2.0, 0.5])  # restored exactly


def test_numeric_gradient_refuses_a_non_contiguous_array():
    A = np.ones((3, 2))
    with pytest.raises(ValueError, match="x must be a C-contiguous numpy array"):
        numeric_gradient(lambda: float(np.sum(A ** 2)), A.T)


# --- mutation-testing gaps (make mutate) ------------------------------------------------------


def test_numeric_gradient_refusals_name_the_type_and_the_flag():
    A = np.ones((3, 2))
    with pytest.raises(ValueError) as info:
        numeric_gradient(lambda: 0.0, A.T)
    assert str(info.value) == ("x must be a C-contiguous numpy array (a parameter view), got "
                               "ndarray with flags c_contiguous=False.")
    with pytest.raises(ValueError) as info:
        numeric_gradient(lambda: 0.0, [1.0, 2.0])
    assert str(info.value) == ("x must be a C-contiguous numpy array (a parameter view), got "
                               "list with flags c_contiguous=None.")


def test_both_tolerances_zero_is_refused_but_either_one_zero_is_not(rng):
    net, X, y = nearly_fitted_regression(rng)
    with pytest.raises(ValueError) as info:
        check_gradients(net, MeanSquaredError(), X, y, rtol=0, atol=0)
    assert str(info.value) == ("rtol and atol must not both be 0: every difference would fail. "
                               "Use the defaults (rtol=1e-5, atol=1e-8).")
    for rtol, atol in ((0, 1), (0, 1e-3), (1, 0), (1e-3, 0)):
        errors = check_gradients(net, MeanSquaredError(), X, y, rtol=rtol, atol=atol)
        assert (errors.rtol, errors.atol) == (rtol, atol) and errors.passed


def test_repr_lists_every_parameter():
    from numnet.gradcheck import GradientCheck

    result = GradientCheck({"0.W": 0.5, "0.b": 2.0}, rtol=1e-5, atol=1e-8, relative={},
                           max_abs={})
    assert repr(result) == "GradientCheck({'0.W': 0.5, '0.b': 2}, passed=False)"


def test_sample_weights_reach_the_check(rng):
    # With the bias gradient's sign flipped, |a - n| = 2 |dL/db| and for the weighted mean
    # squared error dL/db = 2 sum_i w_i r_i / sum_i w_i (r the residuals).
    net = Sequential([DenseWithFlippedBiasGradient(1)]).build(2, random_state=0)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    w = np.array([1.0, 0.0, 3.0, 0.5])
    r = (net.forward(X) - y)[:, 0]
    errors = check_gradients(net, MeanSquaredError(), X, y, sample_weight=w)
    np.testing.assert_allclose(errors.max_abs["0.b"], 4 * abs(w @ r) / w.sum(), rtol=1e-6)


def test_the_step_eps_is_used(rng):
    # A central difference is off by eps**2 / 6 times the third derivative: visible at
    # eps = 0.1, not at 1e-6.
    net = Sequential([Dense(3), Tanh(), Dense(1)]).build(2, random_state=0)
    net.params[:] = rng.normal(size=net.params.size)
    X, y = data(rng, 1, MeanSquaredError)
    X = X[:, :2]
    assert max(check_gradients(net, MeanSquaredError(), X, y).max_abs.values()) < 1e-8
    coarse = check_gradients(net, MeanSquaredError(), X, y, eps=0.1)
    assert max(coarse.max_abs.values()) > 1e-5


class DenseWithScaledBiasGradient(Dense):
    """A Dense layer whose backward reports ``factor * db``."""

    factor = 2.0

    def backward(self, dY, **kwargs):
        dX = super().backward(dY, **kwargs)
        self.grads["b"] *= self.factor
        return dX


class DenseWithZeroBiasGradient(DenseWithScaledBiasGradient):
    """A Dense layer whose backward reports 0 for its bias."""

    factor = 0.0


@pytest.mark.parametrize(("layer_cls", "relative"), [
    (DenseWithScaledBiasGradient, 0.5),  # |a - n| / max(|n|, |a|) = |n| / |2n|
    (DenseWithZeroBiasGradient, 1.0),    # |0 - n| / |n|
])
def test_relative_error_is_scaled_by_the_larger_of_both_gradients(layer_cls, relative, rng):
    net = Sequential([layer_cls(1)]).build(2, random_state=0)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    errors = check_gradients(net, MeanSquaredError(), X, y)
    np.testing.assert_allclose(errors.relative["0.b"], relative, rtol=1e-6)


def test_a_parameter_whose_gradient_is_exactly_zero_has_relative_error_zero(rng):
    # The hidden ReLUs never fire: the first layer's gradients are 0, backprop and numeric.
    net = Sequential([Dense(2), ReLU(), Dense(1)]).build(2, random_state=0)
    net[0].params["b"][...] = -100.0
    X, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    errors = check_gradients(net, MeanSquaredError(), X, y)
    assert errors.relative["0.W"] == 0.0 and errors.max_abs["0.b"] == 0.0
    assert errors.passed
