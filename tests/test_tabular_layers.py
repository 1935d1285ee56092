"""Tabular-MLP components (issue 22): RealMLP preprocessing and layers, embeddings, BatchEnsemble,
label smoothing, schedules. Gradient checks follow tests/gradcheck_utils.py (float64,
central differences, random upstream gradients)."""

import math
import re

import numpy as np
import pytest

import numnet
from gradcheck_utils import (
    assert_gradient_close,
    check_layer_gradients,
    check_network_directional,
    numeric_gradient,
)
from numnet import (
    AdamW,
    BinaryCrossEntropy,
    Dense,
    Dropout,
    MeanSquaredError,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
)
from numnet.embeddings import CategoricalEmbedding, PeriodicEmbedding, Scale, _scatter_add
from numnet.ensemble import EnsembleDense, EnsembleFork, EnsembleLoss, ensemble_mean
from numnet.functional import robust_scale, robust_scale_statistics, smooth_clip
from numnet.layers import LAYERS
from numnet.network import merge_networks
from numnet.objective import objective
from numnet.schedules import CosineAnnealing, CosLog4, FlatCosine


def _bound(layer, n_in, rng, *, dtype=np.float64, jitter=0.1):
    """Build ``layer`` alone (its params bound) and move them off their initial values."""
    net = Sequential([layer]).build(n_in, dtype=dtype, random_state=1)
    net.params[...] += rng.normal(scale=jitter, size=net.params.shape).astype(dtype)
    return net


# --- 1. smooth clipping and robust scaling ------------------------------------------------

def test_smooth_clip_matches_hand_computed_values():
    # 4 / sqrt(1 + 16/9) = 4 / (5/3) = 2.4; the bound is approached, never reached.
    np.testing.assert_allclose(smooth_clip(np.array([0.0, 4.0, -4.0, 1e8])),
                               [0.0, 2.4, -2.4, 3.0], rtol=1e-15)
    np.testing.assert_allclose(smooth_clip(np.array([1.0]), max_abs=1.0), [1 / math.sqrt(2)])
    assert smooth_clip(np.ones(3, np.float32)).dtype == np.float32


def test_robust_scale_statistics_match_hand_computed_quartiles():
    X = np.array([[0.0, 0.0, 5.0], [1.0, 0.0, 5.0], [2.0, 0.0, 5.0], [10.0, 0.0, 5.0],
                  [1.5, 8.0, 5.0]])
    centre, factor = robust_scale_statistics(X)
    # column 0: sorted 0, 1, 1.5, 2, 10 -> median 1.5, q25 = 1, q75 = 2 -> 1 / (2 - 1)
    # column 1: quartiles tie at 0 -> (max - min) / 2 = 4 -> 1/4; column 2 constant -> 0
    np.testing.assert_allclose(centre, [1.5, 0.0, 5.0])
    np.testing.assert_allclose(factor, [1.0, 0.25, 0.0])
    Z = robust_scale(X, centre, factor)
    np.testing.assert_allclose(Z[3], [8.5 / math.sqrt(1 + (8.5 / 3) ** 2), 0.0, 0.0])
    np.testing.assert_allclose(robust_scale(X, centre, factor, max_abs=None)[4], [0, 2, 0])


# --- 2-4. layers: gradients ---------------------------------------------------------------

LAYER_CASES = [
    pytest.param(lambda: Scale(), 4, id="scale"),
    pytest.param(lambda: Scale(init="normal"), 4, id="scale-normal"),
    pytest.param(lambda: PeriodicEmbedding(3, 0.5, 2), 4, id="periodic-relu"),
    pytest.param(lambda: PeriodicEmbedding(3, 0.5, 2, activation="identity", include_input=True,
                                           columns=[2, 0]), 4, id="periodic-columns-raw"),
    pytest.param(lambda: EnsembleFork(3), 4, id="fork"),
    pytest.param(lambda: EnsembleDense(4, 3, adapter_init="normal"), 6, id="ensemble-dense"),
    pytest.param(lambda: EnsembleDense(4, 3, adapters=False), 6, id="ensemble-dense-mini"),
    pytest.param(lambda: EnsembleDense(2, 2, shared=False), 6, id="ensemble-heads"),
]


@pytest.mark.parametrize(("make", "n_in"), LAYER_CASES)
def test_tabular_layer_backward_matches_finite_differences(make, n_in, rng):
    layer = make()
    _bound(layer, n_in, rng)
    check_layer_gradients(layer, rng.normal(size=(5, n_in)), rng)


@pytest.mark.parametrize(("make", "n_in"), LAYER_CASES)
def test_tabular_layer_keeps_float32(make, n_in, rng):
    layer = make()
    _bound(layer, n_in, rng, dtype=np.float32)
    X = rng.normal(size=(5, n_in)).astype(np.float32)
    Y = layer.forward(X, training=True)
    assert Y.dtype == np.float32
    assert layer.backward(np.ones_like(Y)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_periodic_embedding_matches_its_formula(rng):
    layer = PeriodicEmbedding(2, 1.0, 3, include_input=True, columns=[1])
    _bound(layer, 2, rng)
    X = rng.normal(size=(4, 2))
    c, W, b = (layer.params[k] for k in ("c", "W", "b"))
    A = 2 * np.pi * c[0] * X[:, 1:2]
    expected = np.maximum(np.hstack([np.sin(A), np.cos(A)]) @ W[0] + b[0], 0)
    np.testing.assert_allclose(layer.forward(X), np.hstack([X[:, :1], X[:, 1:], expected]),
                               rtol=1e-14)


def _coded_rows(rng):
    X = rng.normal(size=(6, 4))
    X[:, 1] = [0, 2, 1, 5, -1, 2]     # 3 levels: 5 and -1 are unknown
    X[:, 3] = [0, 0, 1, 1, 0.5, 7]    # 2 levels: 0.5 and 7 are unknown
    return X


def test_categorical_embedding_looks_up_rows_and_reserves_unknown(rng):
    layer = CategoricalEmbedding([(1, 3, 2), (3, 2, 3)])
    _bound(layer, 4, rng)
    X = _coded_rows(rng)
    Y = layer.forward(X)
    E0, E1 = layer.params["E0"], layer.params["E1"]
    np.testing.assert_array_equal(Y[:, :2], X[:, [0, 2]])
    np.testing.assert_array_equal(Y[:, 2:4], E0[[0, 2, 1, 3, 3, 2]])
    np.testing.assert_array_equal(Y[:, 4:], E1[[0, 0, 1, 1, 2, 2]])
    X[0, 1] = np.nan
    np.testing.assert_array_equal(layer.forward(X)[0, 2:4], E0[3])


def test_categorical_embedding_gradients_and_zero_code_gradient(rng):
    layer = CategoricalEmbedding([(1, 3, 2), (3, 2, 3)])
    _bound(layer, 4, rng)
    # Codes are labels: dL/dX is 0 in their columns. (A central difference agrees: x +- eps is
    # not an integer, so both sides read the unknown row.)
    dX, _ = check_layer_gradients(layer, _coded_rows(rng), rng)
    assert not dX[:, [1, 3]].any()


def test_categorical_embedding_fresh_unknown_row_is_zero():
    layer = CategoricalEmbedding([(0, 3, 2)])
    Sequential([layer]).build(1, random_state=0)
    np.testing.assert_array_equal(layer.params["E0"][3], 0)
    assert np.all(np.abs(layer.params["E0"][:3]) <= 1 / math.sqrt(2))


def test_scatter_add_equals_add_at(rng):
    rows = rng.integers(0, 7, size=300)
    values = rng.normal(size=(300, 4))
    expected = np.zeros((8, 4))
    np.add.at(expected, rows, values)
    np.testing.assert_allclose(_scatter_add(rows, values, np.full((8, 4), 9.0)), expected,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: PeriodicEmbedding(0), "n_frequencies must be an integer >= 1, got 0."),
    (lambda: PeriodicEmbedding(sigma=0.0), "sigma must be a float > 0, got 0.0."),
    (lambda: CategoricalEmbedding([]),
     "categorical must be a non-empty list of (column, n_levels, dim), got []."),
    (lambda: CategoricalEmbedding([(0, 3)]), "categorical[0] must be (column, n_levels, dim), "
                                            "got (0, 3)."),
    (lambda: EnsembleFork(0), "k must be an integer >= 1, got 0."),
    (lambda: Scale(init="zeros"),
     "init must be one of {'normal', 'ones', 'random_signs'}, got 'zeros'."),
])
def test_tabular_layers_reject_bad_arguments(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_ensemble_dense_rejects_width_not_multiple_of_k():
    with pytest.raises(ValueError, match=re.escape(
            "the input width of EnsembleDense must be a multiple of k = 3, got 4. Start the "
            "network with EnsembleFork(3).")):
        Sequential([EnsembleDense(2, 3)]).build(4)


# --- 5. BatchEnsemble ---------------------------------------------------------------------

def _mlp(k=None):
    if k is None:
        return Sequential([Dense(8), ReLU(), Dense(8), ReLU(), Dense(3)])
    return Sequential([EnsembleFork(k), EnsembleDense(8, k), ReLU(), EnsembleDense(8, k), ReLU(),
                       EnsembleDense(3, k, shared=False)])


def test_ensemble_with_one_member_equals_the_plain_mlp(rng):
    X = rng.normal(size=(20, 5))
    y = np.eye(3)[rng.integers(0, 3, size=20)]
    plain = _mlp().build(5, random_state=7)
    ensemble = _mlp(1).build(5, random_state=7)
    np.testing.assert_allclose(ensemble.forward(X), plain.forward(X), rtol=0, atol=1e-12)
    value_plain, grad_plain = objective(plain, SoftmaxCrossEntropy(), X, y)
    value_ens, _ = objective(ensemble, EnsembleLoss(SoftmaxCrossEntropy(), 1), X, y)
    assert abs(value_ens - value_plain) <= 1e-12
    plain_grads = plain.named_gradients()
    ens_grads = ensemble.named_gradients()
    for (name_p, g_p), name_e in zip(plain_grads.items(),
                                     ["1.W", "1.b", "3.W", "3.b", "5.W", "5.b"], strict=True):
        np.testing.assert_allclose(ens_grads[name_e].reshape(g_p.shape), g_p, rtol=0,
                                   atol=1e-12, err_msg=name_p)
    for name in ("1.r", "1.s", "3.r", "3.s"):
        np.testing.assert_array_equal(ensemble.named_parameters()[name], 1)


@pytest.mark.parametrize("base", [SoftmaxCrossEntropy(), SoftmaxCrossEntropy(label_smoothing=0.1),
                                  BinaryCrossEntropy(), MeanSquaredError()],
                         ids=["softmax", "softmax-smoothed", "binary", "mse"])
def test_ensemble_loss_is_the_mean_of_member_losses(base, rng):
    k, c = 3, 1 if isinstance(base, BinaryCrossEntropy) else 2
    raw = rng.normal(size=(6, k * c))
    y = (np.eye(c)[rng.integers(0, c, size=6)] if c > 1 else rng.integers(0, 2, size=(6, 1)))
    y = y.astype(float)
    w = rng.uniform(0.5, 2, size=6)
    loss = EnsembleLoss(base, k)
    members = [raw[:, i * c:(i + 1) * c] for i in range(k)]
    expected = np.mean([base.loss(y, m, w) for m in members])
    assert loss.loss(y, raw, w) == pytest.approx(expected, rel=1e-14)
    value, grad = loss.loss_gradient(y, raw, w)
    assert value == pytest.approx(expected, rel=1e-14)
    expected_grad = np.hstack([base.gradient(y, m, w) / k for m in members])
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13, atol=1e-15)
    raw = raw.copy()
    assert_gradient_close(grad, numeric_gradient(lambda: loss.loss(y, raw, w), raw),
                          "EnsembleLoss")


def test_ensemble_prediction_averages_probabilities_not_logits(rng):
    raw = rng.normal(size=(4, 6))
    members = [raw[:, 0:3], raw[:, 3:6]]
    softmax = SoftmaxCrossEntropy()
    expected = (softmax.link(members[0]) + softmax.link(members[1])) / 2
    np.testing.assert_allclose(ensemble_mean(softmax, raw, 2), expected, rtol=1e-14)
    np.testing.assert_allclose(EnsembleLoss(softmax, 2).link(raw), expected, rtol=1e-14)
    assert not np.allclose(expected, softmax.link((members[0] + members[1]) / 2))
    np.testing.assert_allclose(ensemble_mean(MeanSquaredError(), raw, 3),
                               (raw[:, 0:2] + raw[:, 2:4] + raw[:, 4:6]) / 3, rtol=1e-14)


def test_ensemble_network_gradient_matches_finite_differences(rng):
    net = Sequential([EnsembleFork(2), Scale(init="normal"),
                      EnsembleDense(4, 2, adapter_init="random_signs"), ReLU(),
                      EnsembleDense(2, 2, shared=False)]).build(3, random_state=0)
    X = rng.normal(size=(7, 3))
    y = np.eye(2)[rng.integers(0, 2, size=7)]
    check_network_directional(net, EnsembleLoss(SoftmaxCrossEntropy(), 2), X, y, rng)


# --- a network with everything: saves, loads and trains -----------------------------------

def _mixed_data(rng, n=400):
    """Two numeric columns and one categorical column of 4 levels; the class depends on both."""
    X = np.column_stack([rng.normal(size=n), rng.normal(size=n),
                         rng.integers(0, 4, size=n).astype(float)])
    label = ((np.sin(3 * X[:, 0]) + (X[:, 2] >= 2)) > 0.5).astype(int)
    return X, np.eye(2)[label]


def _mixed_net(k):
    return Sequential([
        CategoricalEmbedding([(2, 4, 3)]),                 # -> [x0, x1, e(3)]
        PeriodicEmbedding(8, 0.5, 4, columns=[0, 1]),      # -> [e(3), p0(4), p1(4)]
        EnsembleFork(k), Scale(init="random_signs"),
        EnsembleDense(32, k), ReLU(), Dropout(0.1),
        EnsembleDense(2, k, shared=False),
    ])


def test_mixed_ensemble_network_saves_and_loads(tmp_path, rng):
    net = _mixed_net(4).build(3, random_state=0)
    path = tmp_path / "model.numnet"
    numnet.save(net, path)
    loaded = numnet.load(path)
    X, _ = _mixed_data(rng, 10)
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in net.layers]
    assert {"Scale", "PeriodicEmbedding", "CategoricalEmbedding", "EnsembleFork",
            "EnsembleDense"} <= set(LAYERS)


def test_mixed_ensemble_network_trains(rng):
    X, y = _mixed_data(rng)
    net = _mixed_net(4).build(3, random_state=0)
    loss = EnsembleLoss(SoftmaxCrossEntropy(label_smoothing=0.05), 4)
    optimizer = AdamW(learning_rate=0.01, weight_decay=1e-3)
    schedule = CosineAnnealing(60, warmup_epochs=3)
    schedule.start(optimizer.learning_rate)
    batches = np.array_split(np.arange(X.shape[0]), 4)
    for epoch in range(60):
        optimizer.learning_rate = schedule.learning_rate
        for rows in batches:
            raw = net.forward(X[rows], training=True)
            _, d_raw = loss.loss_gradient(y[rows], raw)
            net.backward(d_raw, input_grad=False)
            optimizer.step(net.params, net.grads)
        schedule.update(epoch + 1)
    proba = loss.link(net.forward(X))
    accuracy = np.mean(proba.argmax(axis=1) == y.argmax(axis=1))
    assert accuracy > 0.95
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)


# --- 5b. members averaged as one network ----------------------------------------------------

def _members(k, layers, *, n_in=6, dtype=np.float64):
    return [Sequential(layers()).build(n_in, dtype=dtype, random_state=seed)
            for seed in range(k)]


@pytest.mark.parametrize("layers", [
    lambda: [Dense(5), ReLU(), Dense(4), numnet.Tanh(), Dense(3)],
    lambda: [Dense(7), numnet.Sigmoid(), Dropout(0.2), Dense(1)],
    lambda: [Dense(2)],
], ids=["relu-tanh", "sigmoid-dropout", "no-hidden"])
@pytest.mark.parametrize("k", [1, 3])
def test_merged_network_is_the_mean_of_its_members(layers, k, rng):
    members = _members(k, layers)
    X = rng.normal(size=(40, 6))
    merged = merge_networks(members)
    want = np.mean([m.forward(X) for m in members], axis=0)
    np.testing.assert_allclose(merged.forward(X), want, rtol=0, atol=1e-12)
    if k == 1:
        np.testing.assert_array_equal(merged.params, members[0].params)


def test_merged_network_puts_members_side_by_side_in_block_diagonal_weights():
    members = _members(3, lambda: [Dense(4), ReLU(), Dense(5), ReLU(), Dense(2)])
    merged = merge_networks(members)
    first, hidden, out = (layer for layer in merged.layers if isinstance(layer, Dense))
    assert first.params["W"].shape == (6, 12) and hidden.params["W"].shape == (12, 15)
    np.testing.assert_array_equal(first.params["W"][:, 4:8], members[1].layers[0].params["W"])
    np.testing.assert_array_equal(hidden.params["W"][4:8, 5:10],
                                  members[1].layers[2].params["W"])
    assert not hidden.params["W"][:4, 5:].any() and not hidden.params["W"][4:8, :5].any()
    np.testing.assert_allclose(out.params["W"][5:10], members[1].layers[4].params["W"] / 3)
    np.testing.assert_allclose(out.params["b"], np.mean(
        [m.layers[4].params["b"] for m in members], axis=0))


def test_merged_float32_network_stays_float32(rng):
    members = _members(2, lambda: [Dense(3), ReLU(), Dense(2)], dtype=np.float32)
    merged = merge_networks(members)
    X = rng.normal(size=(10, 6)).astype(np.float32)
    assert merged.params.dtype == np.float32 and merged.forward(X).dtype == np.float32
    np.testing.assert_allclose(merged.forward(X), np.mean([m.forward(X) for m in members], 0),
                               rtol=1e-5, atol=1e-6)


def test_merge_refuses_networks_that_differ_or_mix_units():
    with pytest.raises(ValueError, match=r"^networks must hold at least one network, got none\.$"):
        merge_networks([])
    a = Sequential([Dense(3), ReLU(), Dense(1)]).build(4, random_state=0)
    b = Sequential([Dense(5), ReLU(), Dense(1)]).build(4, random_state=0)
    with pytest.raises(ValueError, match=r"^networks must all have the same layers, shapes"):
        merge_networks([a, b])
    softmax = Sequential([Dense(3), numnet.Softmax(), Dense(1)]).build(4, random_state=0)
    with pytest.raises(ValueError, match=r"element-wise activations only .*got Softmax\.$"):
        merge_networks([softmax])


# --- 6. label smoothing -------------------------------------------------------------------

def test_softmax_label_smoothing_matches_closed_form(rng):
    z = rng.normal(size=(5, 3))
    y = np.eye(3)[[0, 1, 2, 1, 0]]
    eps = 0.1
    y_smooth = (1 - eps) * y + eps / 3
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = SoftmaxCrossEntropy(label_smoothing=eps)
    assert loss.loss(y, z) == pytest.approx(-np.mean(np.sum(y_smooth * log_p, axis=1)),
                                            rel=1e-14)
    np.testing.assert_allclose(loss.gradient(y, z), (np.exp(log_p) - y_smooth) / 5, rtol=1e-13)
    assert_gradient_close(loss.gradient(y, z), numeric_gradient(lambda: loss.loss(y, z), z),
                          "smoothed softmax")
    assert repr(loss) == "SoftmaxCrossEntropy(label_smoothing=0.1)"


def test_binary_label_smoothing_matches_closed_form(rng):
    z = rng.normal(size=(6, 1))
    y = np.array([[0.0], [1], [1], [0], [1], [0]])
    y_smooth = 0.8 * y + 0.1
    p = 1 / (1 + np.exp(-z))
    loss = BinaryCrossEntropy(label_smoothing=0.2)
    expected = -np.mean(y_smooth * np.log(p) + (1 - y_smooth) * np.log(1 - p))
    assert loss.loss(y, z) == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(loss.gradient(y, z), (p - y_smooth) / 6, rtol=1e-13)
    assert_gradient_close(loss.gradient(y, z), numeric_gradient(lambda: loss.loss(y, z), z),
                          "smoothed binary")


@pytest.mark.parametrize("cls", [SoftmaxCrossEntropy, BinaryCrossEntropy])
def test_label_smoothing_zero_is_bit_for_bit_the_plain_loss(cls, rng):
    z = rng.normal(size=(8, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=8)]
    plain, zero = cls(), cls(label_smoothing=0.0)
    value_p, grad_p = plain.loss_gradient(y, z)
    value_z, grad_z = zero.loss_gradient(y, z)
    assert value_p == value_z
    np.testing.assert_array_equal(grad_p, grad_z)
    assert repr(zero) == f"{cls.__name__}()"


def test_label_smoothing_rejects_one():
    with pytest.raises(ValueError, match=re.escape("label_smoothing must be a float in [0, 1)")):
        SoftmaxCrossEntropy(label_smoothing=1.0)


# --- 7. schedules -------------------------------------------------------------------------

def _rates(schedule, lr_0, n):
    schedule.start(lr_0)
    return [schedule.learning_rate] + [schedule.update(e) for e in range(1, n)]


def test_cosine_annealing_with_warmup_matches_closed_form():
    rates = _rates(CosineAnnealing(6, warmup_epochs=2, min_learning_rate=0.1), 1.0, 7)
    cosine = [0.1 + 0.9 * (1 + math.cos(math.pi * j / 4)) / 2 for j in range(4)]
    np.testing.assert_allclose(rates, [0.5, 1.0, *cosine, 0.1], rtol=1e-15)


def test_coslog4_and_flat_cosine_match_closed_forms():
    T = 10
    u = [(t + 0.5) / T for t in range(T)]
    np.testing.assert_allclose(
        _rates(CosLog4(T), 2.0, T),
        [2.0 * (1 - math.cos(2 * math.pi * math.log2(1 + 15 * v))) / 2 for v in u], rtol=1e-14)
    np.testing.assert_allclose(
        _rates(FlatCosine(T), 2.0, T),
        [2.0 * (1 + math.cos(math.pi * max(0.0, 2 * v - 1))) / 2 for v in u], rtol=1e-14)
    assert _rates(FlatCosine(T), 2.0, T)[:5] == [2.0] * 5


def test_warmup_rate_applies_to_the_first_epoch_of_train(rng):
    X = rng.normal(size=(16, 2))
    y = X[:, :1] * 2
    net = Sequential([Dense(1)]).build(2, random_state=0)
    history = numnet.train(net, MeanSquaredError(), AdamW(learning_rate=0.1), X, y,
                           max_epochs=4, batch_size=8,
                           lr_schedule=CosineAnnealing(4, warmup_epochs=2), random_state=0)
    # history.learning_rate[e] is the rate epoch e + 1 ran at: the warm-up starts at lr_0 / 2
    np.testing.assert_allclose(history.learning_rate, [0.05, 0.1, 0.1, 0.05], rtol=1e-15)


# --- 8. AdamW on the flat vector ----------------------------------------------------------

def test_adamw_decouples_weight_decay_on_the_flat_vector():
    params = np.array([1.0, -2.0, 3.0])
    grads = np.array([0.5, 0.0, -1.0])
    AdamW(learning_rate=0.1, weight_decay=0.5).step(params, grads)
    # decay first: p * (1 - 0.1 * 0.5); then Adam's first step moves by lr * sign(g) (g != 0)
    expected = np.array([1.0, -2.0, 3.0]) * 0.95 - 0.1 * np.sign(grads) * (np.abs(grads) > 0)
    np.testing.assert_allclose(params, expected, rtol=1e-7)
