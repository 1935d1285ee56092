"""numnet.explain: gradients checked by finite differences, completeness, exact linear forms,
implementation invariance, a planted signal, and clear errors."""

import re
import subprocess
import sys

import numpy as np
import pytest

import numnet as nn
from numnet.explain import (
    expected_gradients,
    gradient_x_input,
    integrated_gradients,
    permutation_importance,
    quadrature,
    saliency,
    smoothgrad,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def random_net(activation, n_in=4, hidden=(6, 5), n_out=3, seed=0, dtype=np.float64):
    layers = []
    for width in hidden:
        layers += [nn.Dense(width), activation()]
    net = nn.Sequential([*layers, nn.Dense(n_out)]).build(n_in, dtype=dtype, random_state=seed)
    # Larger weights than the initialisation, so the path from x' to x is far from linear.
    net.params[:] = np.random.default_rng(seed).normal(scale=0.8, size=net.params.size)
    return net


def explained(net, X, output, column):
    """F(X) for one output column, computed directly from the forward pass."""
    Z = net.forward(X)
    if output == "softmax":
        Z = np.exp(Z - Z.max(axis=1, keepdims=True))
        Z /= Z.sum(axis=1, keepdims=True)
    elif output == "sigmoid":
        Z = 1 / (1 + np.exp(-Z))
    return Z[:, column]


@pytest.mark.parametrize("output", ["logit", "softmax", "sigmoid"])
@pytest.mark.parametrize("activation", [nn.Tanh, nn.Sigmoid, nn.LeakyReLU])
def test_saliency_matches_finite_differences(rng, activation, output):
    net = random_net(activation)
    X = rng.normal(size=(5, 4))
    for column in range(3):
        result = saliency(net, X, target=column, output=output)
        eps = 1e-6
        numeric = np.empty_like(X)
        for j in range(4):
            step = np.zeros(4)
            step[j] = eps
            numeric[:, j] = (explained(net, X + step, output, column)
                             - explained(net, X - step, output, column)) / (2 * eps)
        np.testing.assert_allclose(result.values, numeric, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(result.output, explained(net, X, output, column), rtol=1e-12)
        assert result.delta is None


@pytest.mark.parametrize("output", ["logit", "softmax", "sigmoid"])
@pytest.mark.parametrize("activation", [nn.Tanh, nn.Sigmoid])
def test_integrated_gradients_are_complete_for_smooth_networks(rng, activation, output):
    net = random_net(activation)
    X = rng.normal(size=(8, 4))
    for column in range(3):
        result = integrated_gradients(net, X, target=column, output=output, n_steps=50)
        change = result.output - result.baseline_output
        np.testing.assert_allclose(result.baseline_output,
                                   explained(net, np.zeros((8, 4)), output, column), rtol=1e-12)
        assert np.all(np.abs(result.delta) <= 1e-6 * np.maximum(1, np.abs(change))), result.delta
        np.testing.assert_allclose(result.delta, result.values.sum(axis=1) - change, atol=1e-15)


@pytest.mark.parametrize("baseline", [np.zeros((1, 4)), [[0.0, 0.0, 0.0, 0.0]]])
def test_a_one_row_2d_baseline_is_every_rows_baseline(rng, baseline):
    # Captum and NumPy broadcasting take a (1, d) baseline; numnet refused it.
    net = random_net(nn.Tanh)
    X = rng.normal(size=(5, 4))
    shift = rng.normal(size=(1, 4))
    flat = integrated_gradients(net, X, baseline="zeros")
    one_row = integrated_gradients(net, X, baseline=baseline)
    np.testing.assert_array_equal(one_row.values, flat.values)
    np.testing.assert_array_equal(one_row.baseline_output, flat.baseline_output)
    np.testing.assert_array_equal(integrated_gradients(net, X, baseline=shift).values,
                                  integrated_gradients(net, X, baseline=shift[0]).values)


@pytest.mark.parametrize("seed", [0, 2])
def test_integrated_gradients_of_relu_networks_within_the_documented_bound(seed):
    # The integrand of a ReLU network is piecewise constant along the path, so the quadrature
    # error falls only like 1/n_steps: docs/explain.md states |delta| <= 0.2 at 50 steps and
    # 0.01 at 1000, relative to max(1, |F(x) - F(x')|), for networks like these.
    net = random_net(nn.ReLU, seed=seed)
    X = np.random.default_rng(seed).normal(size=(20, 4))
    worst = {}
    for n_steps, bound in [(50, 0.2), (1000, 0.01)]:
        for column in range(3):
            result = integrated_gradients(net, X, target=column, n_steps=n_steps)
            relative = np.abs(result.delta) / np.maximum(1, np.abs(result.output
                                                                   - result.baseline_output))
            assert np.all(relative <= bound), relative
            worst[n_steps] = max(worst.get(n_steps, 0), relative.max())
    assert worst[1000] < worst[50] / 5


def test_riemann_trapezoid_rule_converges_too(rng):
    net = random_net(nn.Tanh)
    X = rng.normal(size=(4, 4))
    coarse = integrated_gradients(net, X, target=1, method="riemann_trapezoid", n_steps=50)
    fine = integrated_gradients(net, X, target=1, method="riemann_trapezoid", n_steps=2000)
    exact = integrated_gradients(net, X, target=1, n_steps=100)
    assert np.max(np.abs(fine.values - exact.values)) < 1e-5
    assert np.max(np.abs(fine.values - exact.values)) < np.max(np.abs(coarse.values
                                                                       - exact.values)) / 100


def test_quadrature_rules_integrate_polynomials():
    for rule, n_steps, degree in [("gausslegendre", 5, 9), ("riemann_trapezoid", 2, 1)]:
        nodes, weights = quadrature(n_steps, rule)
        assert np.all((nodes >= 0) & (nodes <= 1))
        np.testing.assert_allclose(np.sum(weights * nodes ** degree), 1 / (degree + 1),
                                   rtol=1e-14)


@pytest.mark.parametrize("internal_batch_size", [1, 7, 50, None])
def test_internal_batch_size_does_not_change_the_result(rng, internal_batch_size):
    net = random_net(nn.Tanh)
    X = rng.normal(size=(6, 4))
    reference = integrated_gradients(net, X, n_steps=20, internal_batch_size=10_000)
    result = integrated_gradients(net, X, n_steps=20, internal_batch_size=internal_batch_size)
    np.testing.assert_allclose(result.values, reference.values, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(result.target, reference.target)


@pytest.fixture
def pass_sizes(monkeypatch):
    """The number of points of every forward pass of an explanation."""
    from numnet.explain.target import Explained

    sizes, evaluate = [], Explained.evaluate

    def spy(self, P, column, sign, **kwargs):
        sizes.append(P.shape[0])
        return evaluate(self, P, column, sign, **kwargs)

    monkeypatch.setattr(Explained, "evaluate", spy)
    return sizes


def test_passes_stay_within_internal_batch_size_however_many_steps(rng, pass_sizes):
    # Issue: with more steps or samples per row than internal_batch_size, one row's points
    # went through one pass (--steps 20000 asked for 2.98 GiB; 1e9 samples, MemoryError).
    net = random_net(nn.Tanh)
    X = rng.normal(size=(3, 4))
    reference = integrated_gradients(net, X, n_steps=3000, internal_batch_size=10_000)
    pass_sizes.clear()
    result = integrated_gradients(net, X, n_steps=3000, internal_batch_size=256)
    assert max(pass_sizes) <= 256 and sum(pass_sizes) >= 3 * 3000
    np.testing.assert_allclose(result.values, reference.values, rtol=1e-12, atol=1e-14)

    draws = rng.standard_normal(size=(3, 1000, 4))
    reference = smoothgrad(net, X, draws=draws, stdevs=0.3, internal_batch_size=10_000)
    pass_sizes.clear()
    result = smoothgrad(net, X, draws=draws, stdevs=0.3, internal_batch_size=100)
    assert max(pass_sizes) <= 100 and sum(pass_sizes) >= 3 * 1000
    np.testing.assert_allclose(result.values, reference.values, rtol=1e-12, atol=1e-14)

    # A linear model with one background row: every draw gives (x - x') * w exactly.
    linear = nn.Sequential([nn.Dense(1)]).build(4, random_state=0)
    pass_sizes.clear()
    result = expected_gradients(linear, X, X[:1] * 0 + 0.5, n_samples=1000,
                                internal_batch_size=64, random_state=0)
    assert max(pass_sizes) <= 64 and sum(pass_sizes) >= 3 * 1000
    w = linear.layers[0].params["W"][:, 0]
    np.testing.assert_allclose(result.values, (X - 0.5) * w, rtol=1e-12)
    np.testing.assert_allclose(result.delta, 0, atol=1e-12)


def test_default_target_is_the_predicted_class(rng):
    net = random_net(nn.Tanh)
    X = rng.normal(size=(10, 4))
    result = integrated_gradients(net, X, n_steps=10)
    np.testing.assert_array_equal(result.target, net.forward(X).argmax(axis=1))
    per_row = [integrated_gradients(net, X[i:i + 1], target=int(t), n_steps=10).values[0]
               for i, t in enumerate(result.target)]
    np.testing.assert_allclose(result.values, per_row, rtol=1e-12)


def test_implementation_invariance_of_integrated_gradients(rng):
    # Two networks computing the same function: the second duplicates every hidden unit and
    # halves the weights out of the copies. IG depends only on the function.
    net = random_net(nn.Tanh, hidden=(5,))
    wide = nn.Sequential([nn.Dense(10), nn.Tanh(), nn.Dense(3)]).build(4)
    weights = net.named_parameters()
    wide.named_parameters()["0.W"][:] = np.hstack([weights["0.W"], weights["0.W"]])
    wide.named_parameters()["0.b"][:] = np.hstack([weights["0.b"], weights["0.b"]])
    wide.named_parameters()["2.W"][:] = np.vstack([weights["2.W"], weights["2.W"]]) / 2
    wide.named_parameters()["2.b"][:] = weights["2.b"]
    X = rng.normal(size=(6, 4))
    np.testing.assert_allclose(wide.forward(X), net.forward(X), rtol=1e-12)
    for output in ("logit", "softmax"):
        a = integrated_gradients(net, X, output=output, n_steps=30)
        b = integrated_gradients(wide, X, output=output, n_steps=30)
        np.testing.assert_allclose(b.values, a.values, rtol=1e-10, atol=1e-12)


def test_linear_and_logistic_models_get_the_exact_closed_form(rng):
    X = rng.normal(size=(60, 3))
    y_reg = X @ [1.5, -2.0, 0.5] + 0.3
    baseline = X.mean(axis=0)
    linear = nn.LinearRegression().fit(X, y_reg)
    result = integrated_gradients(linear, X[:5], baseline=baseline, n_steps=2)
    np.testing.assert_allclose(result.values, linear.coef_ * (X[:5] - baseline), rtol=1e-12)
    assert np.max(np.abs(result.delta)) < 1e-12

    labels = np.array(["a", "b", "c"])[np.argmax(X @ rng.normal(size=(3, 3)), axis=1)]
    multinomial = nn.LogisticRegression().fit(X, labels)
    result = integrated_gradients(multinomial, X[:5], target="b")
    np.testing.assert_allclose(result.values, multinomial.coef_[1] * X[:5], rtol=1e-12)
    assert np.max(np.abs(result.delta)) < 1e-12
    np.testing.assert_array_equal(result.target, ["b"] * 5)

    binary = nn.LogisticRegression().fit(X, X[:, 0] + X[:, 1] > 0)
    one = integrated_gradients(binary, X[:5], target=True)
    zero = integrated_gradients(binary, X[:5], target=False)
    np.testing.assert_allclose(one.values, binary.coef_[0] * X[:5], rtol=1e-12)
    np.testing.assert_allclose(zero.values, -one.values, rtol=1e-12)
    assert max(np.max(np.abs(one.delta)), np.max(np.abs(zero.delta))) < 1e-12
    predicted = integrated_gradients(binary, X[:5])
    np.testing.assert_array_equal(predicted.target, binary.predict(X[:5]))


def test_probability_of_a_binary_classifier_is_complete(rng):
    X = rng.normal(size=(80, 2))
    model = nn.MLPClassifier((5,), activation="tanh", max_iter=50, random_state=0).fit(
        X, np.where(X[:, 0] * X[:, 1] > 0, "same", "differ"))
    result = integrated_gradients(model, X[:6], output="probability", target="same")
    np.testing.assert_allclose(result.output, model.predict_proba(X[:6])[:, 1], rtol=1e-10)
    assert np.max(np.abs(result.delta)) < 1e-6


def test_a_planted_signal_gets_the_credit():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 6))
    y = np.where(X[:, 0] - X[:, 3] > 0, "up", "down")
    model = nn.MLPClassifier((16,), max_iter=150, random_state=0).fit(X, y)
    ig = integrated_gradients(model, X[:200], n_steps=20)
    share = np.abs(ig.values).mean(axis=0)
    assert share[[0, 3]].sum() / share.sum() >= 0.9, share
    importance = permutation_importance(model, X[:300], y[:300], n_repeats=3, random_state=0)
    total = np.clip(importance.importances_mean, 0, None)
    assert total[[0, 3]].sum() / total.sum() >= 0.9, importance.importances_mean


def test_gradient_x_input_equals_integrated_gradients_for_a_linear_output(rng):
    net = nn.Sequential([nn.Dense(2)]).build(3, random_state=0)
    X = rng.normal(size=(4, 3))
    a = gradient_x_input(net, X, target=1)
    b = integrated_gradients(net, X, target=1)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12)
    assert np.max(np.abs(a.delta)) < 1e-12


def test_expected_gradients_are_complete_in_expectation(rng):
    net = random_net(nn.Tanh)
    X = rng.normal(size=(3, 4))
    background = rng.normal(size=(20, 4))
    result = expected_gradients(net, X, background, target=0, n_samples=20_000, random_state=0)
    change = np.abs(result.output - result.baseline_output)
    assert np.all(np.abs(result.delta) <= 0.05 * np.maximum(1, change)), result.delta
    again = expected_gradients(net, X, background, target=0, n_samples=20_000, random_state=0)
    np.testing.assert_array_equal(again.values, result.values)
    # One background row: the average of IG's integrand at uniform random points.
    single = expected_gradients(net, X, background[:1], target=0, n_samples=20_000,
                                random_state=1)
    ig = integrated_gradients(net, X, baseline=background[0], target=0)
    np.testing.assert_allclose(single.values, ig.values, atol=0.02 * np.abs(ig.values).max())


def test_smoothgrad_without_noise_is_saliency_and_is_seeded(rng):
    net = random_net(nn.Tanh)
    X = rng.normal(size=(5, 4))
    np.testing.assert_allclose(smoothgrad(net, X, stdevs=0.0, n_samples=3).values,
                               saliency(net, X).values, rtol=1e-12)
    a = smoothgrad(net, X, n_samples=10, random_state=3)
    b = smoothgrad(net, X, n_samples=10, random_state=3, internal_batch_size=7)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12)
    assert not np.allclose(a.values, saliency(net, X).values)


def test_smoothgrad_uses_given_draws(rng):
    net = random_net(nn.Tanh)
    X = rng.normal(size=(3, 4))
    draws = rng.standard_normal(size=(3, 5, 4))
    result = smoothgrad(net, X, stdevs=0.2, draws=draws)
    # the target is the class predicted at X, not at each noisy copy
    by_hand = np.mean([saliency(net, X + 0.2 * draws[:, k], target=result.target).values
                       for k in range(5)], axis=0)
    np.testing.assert_allclose(result.values, by_hand, rtol=1e-12)
    with pytest.raises(ValueError, match=re.escape(
            "draws must have shape (3, n_samples, 4), got (3, 5).")):
        smoothgrad(net, X, draws=draws[:, :, 0])


def test_float32_stays_float32_unless_float64_is_asked(rng):
    net = random_net(nn.Tanh, dtype=np.float32)
    X = rng.normal(size=(4, 4)).astype(np.float32)
    result = integrated_gradients(net, X, target=0)
    assert result.values.dtype == np.float32 and result.delta.dtype == np.float32
    wide = integrated_gradients(net, X, target=0, dtype=np.float64)
    assert wide.values.dtype == np.float64
    np.testing.assert_allclose(result.values, wide.values, rtol=1e-3, atol=1e-5)


def test_explaining_does_not_change_the_model(rng):
    net = random_net(nn.ReLU)
    X = rng.normal(size=(5, 4))
    nn.objective(net, nn.MeanSquaredError(), X, rng.normal(size=(5, 3)))
    params, grads = net.params.copy(), net.grads.copy()
    integrated_gradients(net, X, target=2)
    smoothgrad(net, X, random_state=0)
    np.testing.assert_array_equal(net.params, params)
    np.testing.assert_array_equal(net.grads, grads)


def test_estimator_feature_names_are_kept(rng):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(rng.normal(size=(40, 2)), columns=["height", "weight"])
    model = nn.MLPRegressor((4,), max_iter=20, random_state=0).fit(frame, frame["height"])
    result = saliency(model, frame.iloc[:3])
    assert result.feature_names == ["height", "weight"]
    np.testing.assert_array_equal(result.target, [0, 0, 0])


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda net, X: saliency(net, X[0]), ValueError,
     "X must be 2-D with shape (n_rows, n_features), got shape (4,). Explain a single row with "
     "X.reshape(1, -1)."),
    (lambda net, X: saliency(net, X[:, :2]), ValueError,
     "X has 2 features, but the model was built for 4."),
    (lambda net, X: saliency(net, X, output="probability"), ValueError,
     "output='probability' needs the network's output link, which a Sequential does not know. "
     "Pass output='softmax' or 'sigmoid'."),
    (lambda net, X: saliency(net, X, output="odds"), ValueError,
     "output must be one of"),
    (lambda net, X: saliency(net, X, target=3), ValueError,
     "target must be an output index in 0 ... 2, got [3, 3, 3]."),
    (lambda net, X: integrated_gradients(net, X, baseline="mean"), ValueError,
     "baseline='mean' needs the data to average: pass background=X_train (the training rows)."),
    (lambda net, X: integrated_gradients(net, X, baseline=np.zeros(3)), ValueError,
     "baseline must have shape (4,), (1, 4) or (3, 4), got (3,)."),
    (lambda net, X: integrated_gradients(net, X, baseline=np.zeros((2, 4))), ValueError,
     "baseline must have shape (4,), (1, 4) or (3, 4), got (2, 4)."),
    (lambda net, X: integrated_gradients(net, X, n_steps=0), ValueError,
     "n_steps must be an integer from 1 to 5000, got 0."),
    (lambda net, X: integrated_gradients(net, X, n_steps=20_000), ValueError,
     "n_steps must be an integer from 1 to 5000, got 20000."),
    (lambda net, X: integrated_gradients(net, X, baseline=[0.0, np.nan, 0.0, 0.0]), ValueError,
     "baseline must hold finite numbers, got NaN or infinity. Replace them, e.g. with the "
     "training mean (baseline='mean')."),
    (lambda net, X: integrated_gradients(net, X, baseline=np.full((3, 4), np.inf)), ValueError,
     "baseline must hold finite numbers, got NaN or infinity."),
    (lambda net, X: integrated_gradients(net, X, method="simpson"), ValueError,
     "method must be one of"),
    (lambda net, X: integrated_gradients(net, X, internal_batch_size=0), ValueError,
     "internal_batch_size must be an integer >= 1 or None, got 0."),
    (lambda net, X: saliency(net, np.where(X > 0, np.nan, X)), ValueError,
     "X must hold finite numbers, got NaN or infinity. Impute or drop them."),
    (lambda net, X: expected_gradients(net, X, np.zeros((0, 4))), ValueError,
     "background must have shape (n_rows, 4) with at least one row, got (0, 4)."),
    (lambda net, X: saliency(object(), X), TypeError,
     "model must be a numnet Sequential or a fitted numnet estimator, got object."),
])
def test_errors_say_what_is_wrong(rng, call, error, message):
    net = random_net(nn.Tanh)
    X = rng.normal(size=(3, 4))
    with pytest.raises(error, match="^" + re.escape(message)):
        call(net, X)


def test_unfitted_estimator_and_unknown_class_are_refused(rng):
    from sklearn.exceptions import NotFittedError

    X = rng.normal(size=(30, 2))
    with pytest.raises(NotFittedError, match="This MLPClassifier instance is not fitted yet"):
        saliency(nn.MLPClassifier(), X)
    model = nn.LogisticRegression().fit(X, np.where(X[:, 0] > 0, "up", "down"))
    with pytest.raises(ValueError, match=re.escape(
            "target must be one of the classes ['down', 'up'], got 'sideways'.")):
        saliency(model, X, target="sideways")
    regressor = nn.LinearRegression().fit(X, np.c_[X[:, 0], X[:, 1]])
    with pytest.raises(ValueError, match=re.escape(
            "target must name the output to explain for a model with 2 outputs, got None. "
            "Pass target=0 ... 1.")):
        saliency(regressor, X)
    with pytest.raises(ValueError, match=re.escape(
            "output must be 'logit' for a regressor (LinearRegression has no probabilities), "
            "got 'probability'.")):
        saliency(regressor, X, target=0, output="probability")


# --- mutation-testing gaps (make mutate): exact forms, boundaries and refusals ----------------


def _refusal(call):
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


def test_quadrature_nodes_weights_and_boundaries():
    nodes, weights = quadrature(5, "riemann_trapezoid")
    np.testing.assert_array_equal(nodes, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(weights, [0.125, 0.25, 0.25, 0.25, 0.125])
    nodes, weights = quadrature(1)
    np.testing.assert_array_equal(nodes, [0.5])
    np.testing.assert_array_equal(weights, [1.0])
    for n_steps in (100, 101, 150):  # NumPy's rule up to 100, scipy's beyond: both exact
        nodes, weights = quadrature(n_steps)
        assert nodes.shape == weights.shape == (n_steps,)
        degree = 2 * n_steps - 1
        np.testing.assert_allclose(np.sum(weights * nodes ** degree), 1 / (degree + 1),
                                   rtol=1e-10)
        np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-13)
    np.testing.assert_array_equal(quadrature(np.int64(3))[0], quadrature(3)[0])
    assert quadrature(5000)[0].shape == (5000,)
    for bad in (True, 3.0, 5001, -1):
        assert _refusal(lambda b=bad: quadrature(b)) == (
            f"n_steps must be an integer from 1 to 5000, got {bad!r}.")
    assert _refusal(lambda: quadrature(1, "riemann_trapezoid")) == (
        "n_steps must be an integer >= 2 for the trapezoid rule, got 1.")
    assert re.fullmatch(
        r"method must be one of \{'(gausslegendre|riemann_trapezoid)', "
        r"'(gausslegendre|riemann_trapezoid)'\}, got 'simpson'\.",
        _refusal(lambda: quadrature(3, "simpson")))


def test_batch_size_and_count_refusals_are_exact(rng):
    net = random_net(nn.Tanh)
    X = rng.normal(size=(3, 4))
    for bad in (True, 0, 2.5):
        assert _refusal(lambda b=bad: integrated_gradients(net, X, internal_batch_size=b)) == (
            f"internal_batch_size must be an integer >= 1 or None, got {bad!r}.")
    np.testing.assert_allclose(
        integrated_gradients(net, X, internal_batch_size=np.int64(5)).values,
        integrated_gradients(net, X).values, rtol=1e-13, atol=1e-15)
    for bad in (True, 0, 2.0):
        assert _refusal(lambda b=bad: smoothgrad(net, X, n_samples=b)) == (
            f"n_samples must be an integer >= 1, got {bad!r}.")
    assert smoothgrad(net, X, n_samples=np.int64(2), random_state=0).values.shape == (3, 4)


def test_saliency_absolute_and_gradient_x_input_forms(rng):
    net = nn.Sequential([nn.Dense(2)]).build(3, random_state=0)
    W = net.layers[0].params["W"]
    b = net.layers[0].params["b"]
    b[...] = [0.5, -1.0]
    X = rng.normal(size=(4, 3))
    result = saliency(net, X, target=1, absolute=True)
    np.testing.assert_array_equal(result.values, np.abs(np.tile(W[:, 1], (4, 1))))
    assert result.method == "saliency" and result.baseline_output is None
    assert result.feature_names is None
    result = gradient_x_input(net, X, target=1)
    np.testing.assert_allclose(result.values, X * W[:, 1], rtol=1e-15)
    np.testing.assert_array_equal(result.baseline_output, [-1.0] * 4)  # F(0) = b_1
    np.testing.assert_allclose(result.output, X @ W[:, 1] - 1.0, rtol=1e-14)
    assert result.method == "gradient_x_input"
    assert integrated_gradients(net, X).method == "integrated_gradients"


def test_expected_gradients_with_one_background_row_on_a_linear_model(rng):
    # Every baseline is the one row b, so phi = (x - b) * w exactly, F(x') = F(b), delta = 0.
    net = nn.Sequential([nn.Dense(1)]).build(3, random_state=0)
    X, background = rng.normal(size=(4, 3)), rng.normal(size=(1, 3))
    result = expected_gradients(net, X, background, n_samples=7, random_state=0)
    w = net.layers[0].params["W"][:, 0]
    np.testing.assert_allclose(result.values, (X - background) * w, rtol=1e-13)
    np.testing.assert_allclose(result.baseline_output, np.full(4, net.forward(background)[0, 0]),
                               rtol=1e-13)
    np.testing.assert_allclose(result.delta, 0, atol=1e-13)
    assert result.method == "expected_gradients"


def test_expected_gradients_baseline_output_is_the_mean_over_the_drawn_rows(rng):
    net = random_net(nn.Tanh)
    X, background = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    result = expected_gradients(net, X, background, target=0, n_samples=3, random_state=5,
                                internal_batch_size=2)
    # the same draws, by hand: rows of 3 samples in blocks (points <= 2 per pass)
    draws = np.random.default_rng(5)
    expected = []
    for _ in range(2):
        F = []
        for k0 in range(0, 3, 2):
            k = min(3, k0 + 2) - k0
            picked = background[draws.integers(0, 2, size=(1, k))][0]
            draws.uniform(size=(1, k, 1))
            F += list(explained(net, picked, "logit", 0))
        expected.append(np.mean(F))
    np.testing.assert_allclose(result.baseline_output, expected, rtol=1e-12)


def test_smoothgrad_default_noise_is_a_share_of_each_features_range(rng):
    net = random_net(nn.Tanh)
    X = rng.normal(size=(3, 4))
    draws = rng.standard_normal(size=(3, 4, 4))
    sigma = 0.3 * (X.max(axis=0) - X.min(axis=0))
    result = smoothgrad(net, X, noise_level=0.3, draws=draws, target=1)
    by_hand = np.mean([saliency(net, X + sigma * draws[:, k], target=1).values
                       for k in range(4)], axis=0)
    np.testing.assert_allclose(result.values, by_hand, rtol=1e-12)
    assert result.method == "smoothgrad" and result.delta is None
    assert _refusal(lambda: smoothgrad(net, X, noise_level=-1.0)) == (
        "noise_level must be a float >= 0, got -1.0.")
    assert _refusal(lambda: smoothgrad(net, X, noise_level=np.inf)) == (
        "noise_level must be a float >= 0, got inf.")
    for stdevs in (-0.1, np.nan, [0.1, 0.1, np.inf, 0.1]):
        assert _refusal(lambda s=stdevs: smoothgrad(net, X, stdevs=s)) == (
            "stdevs must be finite and >= 0.")
    for shape in ((2, 4, 4), (3, 4, 3)):
        assert _refusal(lambda s=shape: smoothgrad(net, X, draws=np.zeros(s))) == (
            f"draws must have shape (3, n_samples, 4), got {shape}.")


def test_permutation_importance_is_sklearns(rng):
    from sklearn.inspection import permutation_importance as reference

    X = rng.normal(size=(60, 3))
    y = 3 * X[:, 0] + 0.1 * rng.normal(size=60)
    model = nn.LinearRegression().fit(X, y)
    ours = permutation_importance(model, X, y, n_repeats=3, random_state=0)
    theirs = reference(model, X, y, n_repeats=3, random_state=0)
    np.testing.assert_array_equal(ours.importances, theirs.importances)
    assert ours.importances_mean[0] > 10 * max(ours.importances_mean[1:])


def test_gauss_legendre_nodes_come_from_numpy_up_to_100_steps_and_scipy_beyond():
    from scipy.special import roots_legendre

    for n_steps, (nodes, weights) in ((100, np.polynomial.legendre.leggauss(100)),
                                      (101, roots_legendre(101))):
        ours = quadrature(n_steps)
        np.testing.assert_array_equal(ours[0], (nodes + 1) / 2)
        np.testing.assert_array_equal(ours[1], weights / 2)


@pytest.mark.parametrize("method", ["saliency", "gradient_x_input", "integrated_gradients",
                                    "expected_gradients", "smoothgrad"])
def test_every_method_keeps_float32_or_computes_in_the_dtype_asked(rng, method):
    net = random_net(nn.Tanh, dtype=np.float32)
    X = rng.normal(size=(3, 4)).astype(np.float32)
    call = {
        "saliency": lambda **kw: saliency(net, X, target=0, **kw),
        "gradient_x_input": lambda **kw: gradient_x_input(net, X, target=0, **kw),
        "integrated_gradients": lambda **kw: integrated_gradients(net, X, target=0, **kw),
        "expected_gradients": lambda **kw: expected_gradients(
            net, X, X[::-1], target=0, n_samples=20, random_state=0, **kw),
        "smoothgrad": lambda **kw: smoothgrad(net, X, target=0, n_samples=5, random_state=0,
                                              **kw),
    }[method]
    narrow, wide = call(), call(dtype=np.float64)
    assert narrow.values.dtype == narrow.output.dtype == np.float32
    assert wide.values.dtype == wide.output.dtype == np.float64
    if narrow.baseline_output is not None:
        assert narrow.baseline_output.dtype == np.float32
        assert wide.baseline_output.dtype == np.float64
    np.testing.assert_allclose(narrow.values, wide.values, rtol=1e-3, atol=1e-4)


def test_defaults_are_the_documented_ones(rng):
    net = random_net(nn.Tanh)
    X, background = rng.normal(size=(2, 4)), rng.normal(size=(5, 4))
    np.testing.assert_array_equal(integrated_gradients(net, X).values,
                                  integrated_gradients(net, X, n_steps=50).values)
    np.testing.assert_array_equal(
        expected_gradients(net, X, background, random_state=0).values,
        expected_gradients(net, X, background, n_samples=200, random_state=0).values)
    np.testing.assert_array_equal(
        smoothgrad(net, X, random_state=0).values,
        smoothgrad(net, X, n_samples=50, noise_level=0.15, random_state=0).values)


def test_edges_of_the_sampling_methods(rng):
    net = random_net(nn.Tanh)
    X, background = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    # one sample is allowed; zero noise is allowed and is the gradient itself
    assert smoothgrad(net, X, n_samples=1, random_state=0).values.shape == (3, 4)
    np.testing.assert_allclose(smoothgrad(net, X, noise_level=0.0, n_samples=2).values,
                               saliency(net, X).values, rtol=1e-12)
    assert expected_gradients(net, X, background, n_samples=1,
                              random_state=0).values.shape == (3, 4)
    assert _refusal(lambda: expected_gradients(net, X, background, n_samples=0)) == (
        "n_samples must be an integer >= 1, got 0.")
    # baseline="mean" averages the background rows
    result = integrated_gradients(net, X, baseline="mean", background=background, target=1)
    np.testing.assert_allclose(
        result.baseline_output,
        explained(net, np.tile(background.mean(axis=0), (3, 1)), "logit", 1), rtol=1e-12)


def test_numnet_trace_is_there_after_import_numnet_as_numnet_explain():
    # The README's numnet.trace.trace(...) raised AttributeError after `import numnet`. A fresh
    # interpreter, since this one may have imported numnet.trace already; the subpackage adds
    # nothing heavy (its own modules only, no scikit-learn, pandas, SciPy's optimizers, tqdm).
    code = ("import sys; import numnet; "
            "print(numnet.trace.trace.__module__, numnet.explain.__name__, "
            "'trace' in numnet.__all__ and 'trace' in dir(numnet)); "
            "heavy = ('sklearn', 'pandas', 'tqdm', 'typer', 'matplotlib', 'scipy.optimize'); "
            "print([m for m in sys.modules if m.split('.')[0] in heavy or m in heavy])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.splitlines() == ["numnet.trace.record numnet.explain True", "[]"]


@pytest.mark.parametrize("output", ["logit", "softmax"])
def test_gradient_passes_skip_parameter_gradients_with_the_same_attributions(
        rng, monkeypatch, output):
    # issue 26: explanations ask backward for dL/dX only (params_grad=False); the attributions
    # are those of the full backward, bit for bit, and the model's own grads are untouched
    net = random_net(nn.Tanh)
    X = rng.normal(size=(7, 4))
    net.grads[:] = 7.0
    asked = []
    backward = nn.Sequential.backward

    def spy(self, dY, *, input_grad=True, params_grad=True):
        asked.append(params_grad)
        return backward(self, dY, input_grad=input_grad, params_grad=params_grad)

    monkeypatch.setattr(nn.Sequential, "backward", spy)
    fast = integrated_gradients(net, X, target=1, output=output, n_steps=16).values
    assert asked and not any(asked)

    def full(self, dY, *, input_grad=True, params_grad=True):
        return backward(self, dY, input_grad=input_grad)

    monkeypatch.setattr(nn.Sequential, "backward", full)
    slow = integrated_gradients(net, X, target=1, output=output, n_steps=16).values
    assert fast.tobytes() == slow.tobytes()
    assert np.all(net.grads == 7.0)


def test_smoothgrad_takes_float64_stdevs_and_draws_for_a_float32_model(rng):
    net = random_net(nn.Tanh, dtype=np.float32)
    X = rng.normal(size=(3, 4)).astype(np.float32)
    draws = rng.standard_normal(size=(3, 2, 4))  # float64
    result = smoothgrad(net, X, stdevs=np.full(4, 0.2), draws=draws, target=0)
    assert result.values.dtype == np.float32
    wide = smoothgrad(net, X, stdevs=0.2, draws=draws, target=0, dtype=np.float64)
    np.testing.assert_allclose(result.values, wide.values, rtol=1e-3, atol=1e-4)
    assert smoothgrad(net, X, stdevs=0.2, n_samples=2, random_state=0).values.dtype == np.float32
