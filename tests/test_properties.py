"""Property-based tests (hypothesis) of the core: gradients, row-order invariance, dtypes."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numnet as nn

ACTIVATIONS = [nn.Identity, nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softmax]
LOSSES = ["mse", "bce", "softmax"]
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw):
    """A random architecture, loss, data set and seed, small enough for finite differences."""
    n_in = draw(st.integers(1, 4))
    n_hidden = draw(st.lists(st.integers(1, 5), min_size=0, max_size=2))
    activations = [draw(st.sampled_from(ACTIVATIONS)) for _ in n_hidden]
    loss_name = draw(st.sampled_from(LOSSES))
    n_out = draw(st.integers(2, 3)) if loss_name == "softmax" else draw(st.integers(1, 3))
    n_samples = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    weighted = draw(st.booleans())
    return n_in, n_hidden, activations, loss_name, n_out, n_samples, seed, weighted


def build(problem, dtype=np.float64):
    n_in, n_hidden, activations, loss_name, n_out, n_samples, seed, weighted = problem
    layers = []
    for width, activation in zip(n_hidden, activations, strict=True):
        layers += [nn.Dense(width), activation()]
    layers.append(nn.Dense(n_out))
    net = nn.Sequential(layers).build(n_in, dtype=dtype, random_state=seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_in))
    if loss_name == "mse":
        loss, y = nn.MeanSquaredError(), rng.normal(size=(n_samples, n_out))
    elif loss_name == "bce":
        loss, y = nn.BinaryCrossEntropy(), rng.integers(0, 2, (n_samples, n_out)).astype(float)
    else:
        loss, y = nn.SoftmaxCrossEntropy(), np.eye(n_out)[rng.integers(0, n_out, n_samples)]
    weights = rng.uniform(0.1, 2.0, n_samples) if weighted else None
    return net, loss, X.astype(dtype), y, weights


def has_kink_nearby(net, X, margin=1e-4):
    """True when an input of a ReLU-family layer is within margin of 0 (finite differences
    across the kink are not the derivative)."""
    A = X
    for layer in net.layers:
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU)) and np.any(np.abs(A) < margin):
            return True
        A = layer.forward(A)
    return False


@SETTINGS
@given(problems())
def test_backprop_matches_finite_differences_for_random_networks(problem):
    net, loss, X, y, weights = build(problem)
    if has_kink_nearby(net, X):
        return
    result = nn.check_gradients(net, loss, X, y, sample_weight=weights,
                                regularizer=nn.ElasticNet(0.01, 0.0))
    assert result.passed, result


@SETTINGS
@given(problems(), st.integers(0, 1000))
def test_predictions_do_not_depend_on_row_order(problem, permutation_seed):
    net, _, X, _, _ = build(problem)
    order = np.random.default_rng(permutation_seed).permutation(X.shape[0])
    np.testing.assert_allclose(net.forward(X)[order], net.forward(X[order]), rtol=1e-12,
                               atol=1e-12)


@SETTINGS
@given(problems())
def test_float32_and_float64_networks_agree(problem):
    net64, _, X, _, _ = build(problem, np.float64)
    net32, _, _, _, _ = build(problem, np.float32)
    out32 = net32.forward(X.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, net64.forward(X), rtol=1e-4, atol=1e-5)
