"""DP-SGD: the clipped sum against an explicit per-sample loop, noise, Poisson sampling."""

import math
import re

import numpy as np
import pytest
import scipy.sparse as sp

from numnet import Sequential
from numnet.layers import ACTIVATIONS, Dense, Dropout, Layer, Softmax
from numnet.losses import BinaryCrossEntropy, MeanSquaredError, PoissonLoss, SoftmaxCrossEntropy
from numnet.privacy import ClippedNoisyGradient, PoissonBatches
from numnet.training import Backprop

LOSSES = {
    "mse": MeanSquaredError, "bce": BinaryCrossEntropy, "softmax": SoftmaxCrossEntropy,
    "poisson": PoissonLoss,
}
HIDDEN = {**ACTIVATIONS, "softmax": Softmax}


def _problem(loss_name, n_dense, activation, rng, n_samples=12, n_features=5):
    n_out = {"mse": 2, "bce": 2, "softmax": 3, "poisson": 2}[loss_name]
    layers = []
    for _ in range(n_dense - 1):
        layers += [Dense(4), HIDDEN[activation]()]
    net = Sequential(layers + [Dense(n_out)]).build(n_features, random_state=1)
    X = rng.normal(size=(n_samples, n_features))
    if loss_name == "mse":
        y = rng.normal(size=(n_samples, n_out))
    elif loss_name == "bce":
        y = rng.integers(0, 2, size=(n_samples, n_out)).astype(float)
    elif loss_name == "softmax":
        y = np.eye(n_out)[rng.integers(0, n_out, size=n_samples)]
    else:
        y = rng.poisson(2.0, size=(n_samples, n_out)).astype(float)
    return net, LOSSES[loss_name](), X, y


def _per_sample_loop(net, loss, X, y, w, max_grad_norm):
    """Materialise each sample's gradient, clip it, sum: the definition, one sample at a time."""
    total = np.zeros_like(net.params)
    for i in range(X.shape[0]):
        raw = net.forward(X[i:i + 1], training=True)
        _, d_raw = loss.loss_gradient(y[i:i + 1], raw)     # l_i's gradient (a mean over 1 row)
        net.backward(d_raw)
        g = net.grads.copy() * (1.0 if w is None else w[i])
        total += g * min(1.0, max_grad_norm / (np.linalg.norm(g) + 1e-6))
    return total


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("activation, n_dense",
                         [("identity", 1)] + [(a, n) for a in sorted(HIDDEN) for n in (2, 3)])
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_clipped_sum_equals_per_sample_loop(loss_name, activation, n_dense, weighted, rng):
    net, loss, X, y = _problem(loss_name, n_dense, activation, rng)
    w = rng.uniform(0.2, 3.0, size=X.shape[0]) if weighted else None
    expected_unclipped = _per_sample_loop(net, loss, X, y, w, math.inf)
    norms = [np.linalg.norm(_per_sample_loop(net, loss, X[i:i + 1], y[i:i + 1],
                                             None if w is None else w[i:i + 1], math.inf))
             for i in range(X.shape[0])]
    C = float(np.median(norms))           # about half the samples are clipped
    expected = _per_sample_loop(net, loss, X, y, w, C)

    gradient = ClippedNoisyGradient(C, 0.0, expected_batch_size=1.0)
    gradient(net, loss, X, y, w)
    np.testing.assert_allclose(gradient.norms, norms, rtol=1e-10)
    np.testing.assert_allclose(net.grads, expected, rtol=0, atol=1e-10)
    assert 0 < np.sum(gradient.clip_factors < 1) < X.shape[0]

    ClippedNoisyGradient(math.inf, 0.0, expected_batch_size=1.0)(net, loss, X, y, w)
    np.testing.assert_allclose(net.grads, expected_unclipped, rtol=0, atol=1e-10)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_unclipped_sum_is_the_ordinary_summed_gradient(loss_name, rng):
    net, loss, X, y = _problem(loss_name, 3, "tanh", rng)
    w = rng.uniform(0.2, 3.0, size=X.shape[0])
    for weights, total in ((None, X.shape[0]), (w, w.sum())):
        Backprop()(net, loss, X, y, weights)
        ordinary = net.grads * total
        value = ClippedNoisyGradient(math.inf, 0.0, expected_batch_size=1.0)(
            net, loss, X, y, weights)
        np.testing.assert_allclose(net.grads, ordinary, rtol=1e-12, atol=1e-13)
        assert value == pytest.approx(loss.loss(y, net.forward(X), weights), rel=1e-14)


def test_dropout_passes_the_per_sample_gradients_through(rng):
    net = Sequential([Dense(6), Dropout(0.3), Dense(4), Dropout(0.2), Dense(2)]).build(
        5, random_state=3)
    loss, X = MeanSquaredError(), rng.normal(size=(10, 5))
    y = rng.normal(size=(10, 2))
    states = [layer.get_rng_state() for layer in net.layers]
    ClippedNoisyGradient(math.inf, 0.0, expected_batch_size=10.0)(net, loss, X, y, None)
    private = net.grads.copy()
    for layer, state in zip(net.layers, states, strict=True):
        if state is not None:
            layer.set_rng_state(state)      # the same dropout masks again
    Backprop()(net, loss, X, y, None)
    np.testing.assert_allclose(private, net.grads, rtol=1e-12, atol=1e-15)


def test_sparse_input_gives_the_dense_result(rng):
    net, loss, X, y = _problem("softmax", 2, "relu", rng)
    X[rng.random(X.shape) < 0.6] = 0.0
    gradient = ClippedNoisyGradient(0.5, 0.0, expected_batch_size=4.0)
    gradient(net, loss, X, y, None)
    dense = net.grads.copy()
    gradient(net, loss, sp.csr_matrix(X), y, None)
    np.testing.assert_allclose(net.grads, dense, rtol=1e-12, atol=1e-15)


def test_float32_follows_float64(rng):
    net, loss, X, y = _problem("bce", 3, "logistic", rng)
    ClippedNoisyGradient(0.3, 0.0, expected_batch_size=8.0)(net, loss, X, y, None)
    reference = net.grads.copy()
    net32 = net.copy(dtype=np.float32)
    ClippedNoisyGradient(0.3, 0.0, expected_batch_size=8.0)(
        net32, loss, X.astype(np.float32), y.astype(np.float32), None)
    assert net32.grads.dtype == np.float32
    np.testing.assert_allclose(net32.grads, reference, rtol=1e-4, atol=1e-6)


def test_noise_has_mean_zero_and_std_sigma_c_over_expected_batch_size():
    net = Sequential([Dense(8), Dense(3)]).build(4, random_state=0)    # 67 parameters
    sigma, C, expected_batch_size = 1.3, 0.7, 25.0
    gradient = ClippedNoisyGradient(C, sigma, expected_batch_size, random_state=42)
    X, y = np.empty((0, 4)), np.empty((0, 3))
    draws = np.empty((1500, net.params.size))
    for k in range(draws.shape[0]):
        assert gradient(net, MeanSquaredError(), X, y, None) == 0.0    # an empty batch
        draws[k] = net.grads
    std = sigma * C / expected_batch_size
    n = draws.size                                         # 100,500 draws
    assert abs(draws.mean()) < 4 * std / math.sqrt(n)
    assert draws.std() == pytest.approx(std, rel=0.01)     # its standard error is 0.22%
    assert np.abs(draws.mean(axis=0)).max() < 5 * std / math.sqrt(draws.shape[0])


def test_noise_is_added_to_the_clipped_sum_before_the_division(rng):
    net, loss, X, y = _problem("mse", 2, "tanh", rng)
    ClippedNoisyGradient(0.5, 0.0, expected_batch_size=1.0)(net, loss, X, y, None)
    clipped_sum = net.grads.copy()
    ClippedNoisyGradient(0.5, 2.0, expected_batch_size=6.0, random_state=7)(
        net, loss, X, y, None)
    noise = np.random.default_rng(7).standard_normal(net.params.size) * (2.0 * 0.5)
    np.testing.assert_allclose(net.grads, (clipped_sum + noise) / 6.0, rtol=1e-12, atol=1e-15)


def test_noise_state_round_trips():
    gradient = ClippedNoisyGradient(1.0, 1.0, 4.0, random_state=0)
    state = gradient.state_dict()
    first = gradient.rng.standard_normal(5)
    gradient.load_state_dict(state)
    np.testing.assert_array_equal(gradient.rng.standard_normal(5), first)


def test_zero_weight_batch_is_a_noise_only_step(rng):
    net, loss, X, y = _problem("mse", 1, "relu", rng, n_samples=3)
    gradient = ClippedNoisyGradient(1.0, 0.0, 2.0)
    assert gradient(net, loss, X, y, np.zeros(3)) == 0.0
    np.testing.assert_array_equal(net.grads, 0.0)


class _Scale(Layer):
    def forward(self, X, *, training=False):
        return 2 * X

    def backward(self, dY, *, input_grad=True):
        return 2 * dY


def test_refuses_layers_without_per_sample_norms(rng):
    net = Sequential([Dense(3), _Scale(), Dense(1)]).build(2, random_state=0)
    msg = ("layer 1 must be a Dense, activation or Dropout layer for DP-SGD, got _Scale. "
           "Per-sample gradient norms are computed in closed form for Dense layers only, and "
           "other layers could mix the samples of a batch; rebuild the network from Dense, "
           "activation and Dropout layers.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        ClippedNoisyGradient(1.0, 1.0, 2.0)(net, MeanSquaredError(), rng.normal(size=(4, 2)),
                                            np.zeros((4, 1)), None)


@pytest.mark.parametrize("kwargs, msg", [
    ({"max_grad_norm": 0.0}, "max_grad_norm must be a float > 0, got 0.0."),
    ({"max_grad_norm": math.inf},
     "noise_multiplier must be 0 when max_grad_norm is inf, got 1.0. The noise is scaled by "
     "max_grad_norm; clip to a finite norm for a private run."),
    ({"noise_multiplier": -1.0}, "noise_multiplier must be a float >= 0, got -1.0."),
    ({"expected_batch_size": 0}, "expected_batch_size must be a float > 0, got 0."),
])
def test_clipped_noisy_gradient_rejects_bad_arguments(kwargs, msg):
    arguments = {"max_grad_norm": 1.0, "noise_multiplier": 1.0, "expected_batch_size": 8.0,
                 **kwargs}
    with pytest.raises(ValueError, match=re.escape(msg)):
        ClippedNoisyGradient(**arguments)


def test_poisson_batch_sizes_follow_the_binomial():
    n_samples, q = 1000, 0.05
    sampler = PoissonBatches(q, steps_per_epoch=4000)
    rng = np.random.default_rng(0)
    counts = np.zeros(n_samples)
    sizes = []
    for rows in sampler.epoch(n_samples, rng):
        assert np.all(np.diff(rows) > 0)                  # sorted, no repeats
        counts[rows] += 1
        sizes.append(rows.size)
    sizes = np.array(sizes)
    mean, var = n_samples * q, n_samples * q * (1 - q)
    assert abs(sizes.mean() - mean) < 4 * math.sqrt(var / sizes.size)
    assert sizes.var() == pytest.approx(var, rel=0.1)
    # every row is included at rate q: row counts ~ Binomial(4000, q), mean 200, sd 13.8
    assert abs(counts.mean() - 4000 * q) < 1.0
    assert counts.min() > 4000 * q - 6 * math.sqrt(4000 * q * (1 - q))


def test_poisson_batches_may_be_empty_and_default_to_one_epoch_of_rows():
    sampler = PoissonBatches(256 / 60000)
    assert sampler.steps_per_epoch == 234
    batches = list(PoissonBatches(0.01, steps_per_epoch=50).epoch(20, np.random.default_rng(0)))
    assert len(batches) == 50 and any(rows.size == 0 for rows in batches)


@pytest.mark.parametrize("rate, msg", [
    (0.0, "rate must be a float in (0, 1], got 0.0."),
    (1.5, "rate must be a float in (0, 1], got 1.5."),
])
def test_poisson_batches_reject_bad_rates(rate, msg):
    with pytest.raises(ValueError, match=re.escape(msg)):
        PoissonBatches(rate)


def test_noise_is_seeded():
    from numnet.privacy import noise
    out = [np.empty(200_003, dtype=np.float32) for _ in range(3)]
    noise.GaussianNoise(3).fill(out[0])
    noise.GaussianNoise(3).fill(out[1])
    noise.GaussianNoise(4).fill(out[2])
    np.testing.assert_array_equal(out[0], out[1])
    assert out[0].dtype == np.float32
    assert not np.array_equal(out[0][:100], out[2][:100])
    # 200,003 draws: the mean's standard error is 0.0022, the variance's 0.0032.
    assert abs(out[0].mean()) < 0.01 and abs(out[0].var() - 1.0) < 0.015


@pytest.mark.parametrize("size", [0, 1, 2, 7, 1000, 70_001])
def test_float32_noise_is_standard_normal(size):
    from scipy import stats

    from numnet.privacy import noise
    out = np.full(size, np.nan, dtype=np.float32)
    noise.GaussianNoise(5).fill(out)
    assert np.isfinite(out).all()
    if size >= 1000:
        # Kolmogorov-Smirnov against N(0, 1): with a fixed seed, p is far from 0.
        assert stats.kstest(out.astype(np.float64), "norm").pvalue > 0.01


def test_float32_noise_moments_and_tails():
    from numnet.privacy import noise
    draws = np.empty(4_000_000, dtype=np.float32)
    noise.GaussianNoise(11).fill(draws)
    x = draws.astype(np.float64)
    # 4e6 draws: standard errors 0.0005 (mean), 0.0007 (variance), 0.0024 (excess kurtosis).
    assert abs(x.mean()) < 0.003
    assert abs(x.var() - 1.0) < 0.004
    assert abs(((x - x.mean()) ** 4).mean() / x.var() ** 2 - 3.0) < 0.015
    # The tail beyond 4 sigma holds 2 * 3.17e-5 of the mass: 253 draws expected (sd 16).
    assert 190 < np.count_nonzero(np.abs(x) > 4.0) < 320
    # Cosine and sine halves of each pair are uncorrelated.
    half = x.size // 2
    assert abs(np.corrcoef(x[:1000], x[half:half + 1000])[0, 1]) < 0.1


def test_float32_noise_radius_carries_64_bits():
    """The smallest u the words allow is 2**-65: a 9.5-sigma draw, not a cut-off at 5.8."""
    from numnet.privacy import noise
    words = np.zeros(3, dtype=np.uint64)                       # h = l = a = 0

    class ZeroBits:
        def random_raw(self, size):
            return words[:size].copy()

    class FakeGenerator:
        bit_generator = ZeroBits()

    out = np.empty(2, dtype=np.float32)
    noise._box_muller_float32(FakeGenerator(), out)
    assert out[0] == pytest.approx(np.sqrt(2 * 65 * np.log(2)), rel=1e-5)   # cos(0) = 1
    assert out[1] == 0.0                                                    # sin(0) = 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_noise_state_round_trips_through_another_gradient(dtype):
    grads = np.zeros(1000, dtype=dtype)
    gradient = ClippedNoisyGradient(1.0, 1.0, 4.0, random_state=0)
    gradient._add_noise(grads)
    state = gradient.state_dict()
    first = grads.copy()
    gradient._add_noise(first)
    other = ClippedNoisyGradient(1.0, 1.0, 4.0, random_state=99)
    other.load_state_dict(state)
    second = grads.copy()
    other._add_noise(second)
    np.testing.assert_array_equal(first, second)


# --- gaps found by mutation testing (issue 28) ------------------------------------------------

@pytest.mark.parametrize("weights", [[0.2, 0.3, 0.1, 0.4], [0.1, 0.2, 0.05, 0.05]],
                         ids=["sum_1", "sum_0.4"])
def test_weights_summing_to_one_or_less_are_not_a_noise_only_step(weights, rng):
    # Normalised weights are a batch like any other: the clipped sum, not zeros.
    net, loss, X, y = _problem("mse", 2, "tanh", rng, n_samples=4)
    w = np.array(weights)
    expected = _per_sample_loop(net, loss, X, y, w, 0.05)
    gradient = ClippedNoisyGradient(0.05, 0.0, expected_batch_size=1.0)
    value = gradient(net, loss, X, y, w)
    assert value == pytest.approx(loss.loss(y, net.forward(X), w), rel=1e-14)
    assert np.abs(net.grads).max() > 0
    np.testing.assert_allclose(net.grads, expected, rtol=0, atol=1e-12)
    assert gradient.clip_factors.shape == (4,)


@pytest.mark.parametrize("biases", [(False, False), (False, True), (True, False)],
                         ids=["none", "top_only", "bottom_only"])
def test_layers_without_bias_have_no_bias_term_in_the_norm(biases, rng):
    net = Sequential([Dense(4, bias=biases[0]), ACTIVATIONS["tanh"](),
                      Dense(2, bias=biases[1])]).build(5, random_state=1)
    loss, X, y = MeanSquaredError(), rng.normal(size=(8, 5)), rng.normal(size=(8, 2))
    norms = [np.linalg.norm(_per_sample_loop(net, loss, X[i:i + 1], y[i:i + 1], None, math.inf))
             for i in range(X.shape[0])]
    C = float(np.median(norms))
    expected = _per_sample_loop(net, loss, X, y, None, C)
    gradient = ClippedNoisyGradient(C, 0.0, expected_batch_size=1.0)
    gradient(net, loss, X, y, None)
    np.testing.assert_allclose(gradient.norms, norms, rtol=1e-10)
    np.testing.assert_allclose(net.grads, expected, rtol=0, atol=1e-10)


def test_single_dense_without_bias_norm_is_the_closed_form():
    # l_i = (a_i . w - y_i)**2: g_i = 2 r_i a_i, so n_i = 2 |r_i| ||a_i|| (no +1 for a bias).
    net = Sequential([Dense(1, init="zeros", bias=False)]).build(2)
    X, y = np.array([[3.0, 4.0], [0.6, 0.8]]), np.array([[10.0], [-1.0]])
    gradient = ClippedNoisyGradient(1.0, 0.0, expected_batch_size=2.0)
    gradient(net, MeanSquaredError(), X, y, None)
    np.testing.assert_allclose(gradient.norms, [100.0, 2.0], rtol=1e-15)
    np.testing.assert_allclose(gradient.clip_factors, [1 / (100 + 1e-6), 1 / (2 + 1e-6)],
                               rtol=1e-15)


def test_one_gradient_reused_across_sizes_and_dtypes_matches_fresh_ones(rng):
    # The noise buffer and the output-gradient buffer are kept between calls; a network of
    # another size or dtype must get its own, so the noise stream is the one a fresh object
    # with the same generator state draws.
    small = Sequential([Dense(3), ACTIVATIONS["relu"](), Dense(2)]).build(4, random_state=0)
    large = Sequential([Dense(7), ACTIVATIONS["relu"](), Dense(2)]).build(4, random_state=0)
    X, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    reused = ClippedNoisyGradient(0.5, 1.3, expected_batch_size=6.0, random_state=11)
    for net, n_rows in ((small, 6), (small.copy(dtype=np.float32), 6),
                        (large.copy(dtype=np.float32), 6), (large.copy(dtype=np.float32), 3),
                        (large, 3), (large, 6), (small, 2)):
        # batch sizes change too, as Poisson sampling's do
        Xd, yd = X[:n_rows].astype(net.params.dtype), y[:n_rows].astype(net.params.dtype)
        fresh = ClippedNoisyGradient(0.5, 1.3, expected_batch_size=6.0)
        fresh.load_state_dict(reused.state_dict())
        fresh_net = net.copy()
        expected_value = fresh(fresh_net, MeanSquaredError(), Xd, yd, None)
        value = reused(net, MeanSquaredError(), Xd, yd, None)
        assert net.grads.dtype == net.params.dtype
        assert value == expected_value
        np.testing.assert_array_equal(net.grads, fresh_net.grads)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 1.1])
def test_noise_multipliers_up_to_one_add_noise_too(sigma, rng):
    # Common private runs use sigma around 0.5 to 1.1: each must add sigma C z.
    net, loss, X, y = _problem("mse", 2, "tanh", rng)
    ClippedNoisyGradient(0.5, 0.0, expected_batch_size=1.0)(net, loss, X, y, None)
    clipped_sum = net.grads.copy()
    ClippedNoisyGradient(0.5, sigma, expected_batch_size=6.0, random_state=7)(
        net, loss, X, y, None)
    noise = np.random.default_rng(7).standard_normal(net.params.size) * (sigma * 0.5)
    np.testing.assert_allclose(net.grads, (clipped_sum + noise) / 6.0, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norms_and_clip_factors_follow_the_network_dtype(dtype, rng):
    net, loss, X, y = _problem("softmax", 2, "relu", rng)
    net = net.copy(dtype=dtype)
    gradient = ClippedNoisyGradient(0.5, 0.0, expected_batch_size=4.0)
    assert gradient.clip_factors is None                # nothing computed yet
    gradient(net, loss, X.astype(dtype), y.astype(dtype), None)
    assert gradient.norms.dtype == gradient.clip_factors.dtype == dtype
    assert gradient.clip_factors.shape == (X.shape[0],)
    gradient(net, loss, X[:0].astype(dtype), y[:0].astype(dtype), None)     # an empty batch
    assert gradient.clip_factors.dtype == dtype and gradient.clip_factors.shape == (0,)
    gradient(net, loss, X.astype(dtype), y.astype(dtype), np.zeros(X.shape[0]))  # all weight 0
    assert gradient.clip_factors.dtype == dtype and gradient.clip_factors.shape == (0,)
