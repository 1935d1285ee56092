"""Losses: closed forms, finite differences, parity with sklearn.metrics, weights, stability."""

import re

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.metrics import log_loss, mean_poisson_deviance, mean_squared_error

from gradcheck_utils import assert_gradient_close, numeric_gradient
from numnet import BinaryCrossEntropy, MeanSquaredError, PoissonLoss, SoftmaxCrossEntropy

LOSSES = {
    "mse": MeanSquaredError,
    "bce": BinaryCrossEntropy,
    "softmax_ce": SoftmaxCrossEntropy,
    "poisson": PoissonLoss,
}


def make_targets(name, rng, n_samples, n_outputs):
    """Targets in each loss's format: real values, {0, 1} labels, one-hot rows."""
    if name == "mse":
        return rng.normal(size=(n_samples, n_outputs))
    if name == "bce":
        return rng.integers(0, 2, size=(n_samples, n_outputs)).astype(float)
    if name == "poisson":
        return rng.poisson(1.5, size=(n_samples, n_outputs)).astype(float)  # zeros included
    return np.eye(n_outputs)[rng.integers(0, n_outputs, size=n_samples)]


# --- closed forms -----------------------------------------------------------------------------

def test_mse_closed_form():
    raw = np.array([[1.0, 2.0], [3.0, 5.0]])
    y = np.array([[0.0, 2.0], [1.0, 1.0]])
    # squared errors 1, 0, 4, 16 over 4 entries
    assert MeanSquaredError().loss(y, raw) == 5.25
    np.testing.assert_array_equal(
        MeanSquaredError().gradient(y, raw), 2 * (raw - y) / 4
    )


def test_bce_closed_form():
    raw = np.array([[0.0], [np.log(3.0)]])  # p = 0.5 and 0.75
    y = np.array([[1.0], [0.0]])
    expected = (np.log(2) + np.log(4)) / 2  # -log(0.5), -log(1 - 0.75)
    np.testing.assert_allclose(BinaryCrossEntropy().loss(y, raw), expected, rtol=1e-15)
    np.testing.assert_allclose(BinaryCrossEntropy().gradient(y, raw),
                               [[(0.5 - 1) / 2], [0.75 / 2]], rtol=1e-15)


def test_softmax_cross_entropy_closed_form():
    raw = np.array([[0.0, 0.0, 0.0, 0.0], [np.log(2.0), 0.0, 0.0, 0.0]])  # p0 = 1/4 and 2/5
    y = np.array([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    expected = (np.log(4) + np.log(5 / 2)) / 2
    np.testing.assert_allclose(SoftmaxCrossEntropy().loss(y, raw), expected, rtol=1e-15)
    np.testing.assert_allclose(
        SoftmaxCrossEntropy().gradient(y, raw),
        np.array([[0.25, -0.75, 0.25, 0.25], [-0.6, 0.2, 0.2, 0.2]]) / 2, rtol=1e-14,
    )


@pytest.mark.parametrize("name", list(LOSSES))
def test_link(name, rng):
    raw = rng.normal(size=(4, 3))
    expected = {"mse": raw, "bce": expit(raw), "softmax_ce": softmax(raw, axis=1),
                "poisson": np.exp(raw)}[name]
    np.testing.assert_allclose(LOSSES[name]().link(raw), expected, rtol=1e-15)


def test_poisson_closed_form():
    raw = np.array([[0.0, np.log(2.0)], [np.log(3.0), 0.0]])
    y = np.array([[1.0, 0.0], [3.0, 2.0]])
    # half deviances y log(y / mu) - y + mu: 0, 2, 0, 2 log 2 - 1; summed per row, mean of rows
    np.testing.assert_allclose(PoissonLoss().loss(y, raw), (1 + 2 * np.log(2.0)) / 2,
                               rtol=1e-15)
    np.testing.assert_allclose(PoissonLoss().gradient(y, raw), [[0.0, 1.0], [0.0, -0.5]],
                               atol=1e-15)


# --- gradients --------------------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_matches_finite_differences(name, n_outputs, weighted, rng):
    loss = LOSSES[name]()
    raw = rng.normal(scale=2, size=(6, n_outputs))
    y = make_targets(name, rng, 6, n_outputs)
    if name == "bce" and n_outputs == 3:
        y = rng.uniform(size=y.shape)  # soft labels are allowed too
    w = rng.uniform(0.1, 3, size=6) if weighted else None
    numeric = numeric_gradient(lambda: loss.loss(y, raw, w), raw)
    assert_gradient_close(loss.gradient(y, raw, w), numeric, f"{name} {n_outputs} {weighted}")
    value, grad = loss.loss_gradient(y, raw, w)
    np.testing.assert_allclose(value, loss.loss(y, raw, w), rtol=1e-15)
    np.testing.assert_array_equal(grad, loss.gradient(y, raw, w))


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_writes_into_out(name, rng):
    loss = LOSSES[name]()
    raw = rng.normal(size=(5, 3))
    y = make_targets(name, rng, 5, 3)
    out = np.full_like(raw, np.nan)
    assert loss.gradient(y, raw, out=out) is out
    value, grad = loss.loss_gradient(y, raw, out=out)
    assert grad is out
    np.testing.assert_array_equal(out, loss.gradient(y, raw))


def test_fused_gradients_are_link_minus_target_over_weight(rng):
    raw = rng.normal(size=(5, 3))
    w = rng.uniform(0.5, 2, size=5)
    y = make_targets("softmax_ce", rng, 5, 3)
    np.testing.assert_allclose(SoftmaxCrossEntropy().gradient(y, raw, w),
                               w[:, None] * (softmax(raw, axis=1) - y) / w.sum(), rtol=1e-14)
    yb = make_targets("bce", rng, 5, 3)
    np.testing.assert_allclose(BinaryCrossEntropy().gradient(yb, raw, w),
                               w[:, None] * (expit(raw) - yb) / w.sum(), rtol=1e-14)
    np.testing.assert_allclose(MeanSquaredError().gradient(yb, raw, w),
                               2 * w[:, None] * (raw - yb) / (w.sum() * 3), rtol=1e-14)


# --- parity with scikit-learn -----------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_bce_matches_sklearn_log_loss(weighted, rng):
    raw = rng.normal(scale=3, size=(40, 1))
    labels = rng.integers(0, 2, size=40)
    w = rng.uniform(0, 2, size=40) if weighted else None
    expected = log_loss(labels, expit(raw[:, 0]), sample_weight=w)
    np.testing.assert_allclose(BinaryCrossEntropy().loss(labels, raw, w), expected, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_softmax_cross_entropy_matches_sklearn_log_loss(weighted, rng):
    raw = rng.normal(scale=3, size=(40, 4))
    labels = rng.integers(0, 4, size=40)
    w = rng.uniform(0, 2, size=40) if weighted else None
    expected = log_loss(labels, softmax(raw, axis=1), sample_weight=w, labels=range(4))
    np.testing.assert_allclose(SoftmaxCrossEntropy().loss(np.eye(4)[labels], raw, w), expected,
                               rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_mse_matches_sklearn_mean_squared_error(n_outputs, weighted, rng):
    raw = rng.normal(size=(30, n_outputs))
    y = rng.normal(size=(30, n_outputs))
    w = rng.uniform(0, 2, size=30) if weighted else None
    expected = mean_squared_error(y, raw, sample_weight=w)  # uniform average over outputs
    np.testing.assert_allclose(MeanSquaredError().loss(y, raw, w), expected, rtol=1e-13)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_poisson_is_half_sklearn_mean_poisson_deviance(weighted, rng):
    raw = rng.normal(size=(40, 1))
    y = rng.poisson(np.exp(raw[:, 0])).astype(float)
    w = rng.uniform(0.1, 3, size=40) if weighted else None
    expected = 0.5 * mean_poisson_deviance(y, np.exp(raw[:, 0]), sample_weight=w)
    np.testing.assert_allclose(PoissonLoss().loss(y, raw, w), expected, rtol=1e-13)


# --- sample weights ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(LOSSES))
def test_integer_weight_k_equals_k_duplicated_rows(name, rng):
    loss = LOSSES[name]()
    raw = rng.normal(size=(5, 3))
    y = make_targets(name, rng, 5, 3)
    counts = np.array([1, 3, 0, 2, 1])
    raw_dup, y_dup = np.repeat(raw, counts, axis=0), np.repeat(y, counts, axis=0)
    # Equal up to the rounding of a differently ordered sum (a few ulp).
    np.testing.assert_allclose(loss.loss(y, raw, counts), loss.loss(y_dup, raw_dup),
                               rtol=1e-15)
    grad_dup = loss.gradient(y_dup, raw_dup)
    # The duplicated rows' gradients, summed back per original row.
    summed = np.add.reduceat(grad_dup, np.r_[0, np.cumsum(counts)[:-1]], axis=0)
    summed[counts == 0] = 0  # reduceat returns a row for empty segments; those have weight 0
    np.testing.assert_allclose(loss.gradient(y, raw, counts), summed, rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("name", list(LOSSES))
def test_uniform_weights_equal_no_weights(name, rng):
    loss = LOSSES[name]()
    raw = rng.normal(size=(6, 2))
    y = make_targets(name, rng, 6, 2)
    np.testing.assert_allclose(loss.loss(y, raw, np.full(6, 2.5)), loss.loss(y, raw), rtol=1e-15)
    np.testing.assert_allclose(loss.gradient(y, raw, np.full(6, 2.5)), loss.gradient(y, raw),
                               rtol=1e-15)


def test_one_dimensional_targets_are_accepted_for_a_single_output(rng):
    raw = rng.normal(size=(6, 1))
    y = rng.integers(0, 2, size=6).astype(float)
    assert BinaryCrossEntropy().loss(y, raw) == BinaryCrossEntropy().loss(y[:, None], raw)


# --- stability --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "y", "expected_loss", "expected_grad"),
    [
        ("bce", [[1.0], [0.0]], 0.0, [[0.0], [0.0]]),
        ("bce", [[0.0], [1.0]], 1000.0, [[0.5], [-0.5]]),
        ("softmax_ce", [[1.0, 0.0], [0.0, 1.0]], 0.0, [[0.0, 0.0], [0.0, 0.0]]),
        ("softmax_ce", [[0.0, 1.0], [1.0, 0.0]], 2000.0, [[0.5, -0.5], [-0.5, 0.5]]),
    ],
    ids=["bce_right", "bce_wrong", "softmax_right", "softmax_wrong"],
)
def test_losses_are_finite_and_exact_at_logits_of_1000(name, y, expected_loss, expected_grad,
                                                       dtype):
    raw = (np.array([[1000.0], [-1000.0]]) if name == "bce"
           else np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])).astype(dtype)
    loss = LOSSES[name]()
    value, grad = loss.loss_gradient(np.array(y), raw)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert grad.dtype == dtype
    assert value == expected_loss
    np.testing.assert_array_equal(grad, np.array(expected_grad, dtype=dtype))
    assert loss.loss(np.array(y), raw) == expected_loss


@pytest.mark.parametrize("name", list(LOSSES))
def test_float32_in_gives_float32_gradient(name, rng):
    raw = rng.normal(size=(4, 3)).astype(np.float32)
    y = make_targets(name, rng, 4, 3)  # float64 targets are cast, not the logits
    assert LOSSES[name]().gradient(y, raw).dtype == np.float32
    assert LOSSES[name]().gradient(y, raw, np.ones(4)).dtype == np.float32


# --- errors -----------------------------------------------------------------------------------

def test_raw_must_be_two_dimensional():
    with pytest.raises(ValueError, match=re.escape(
        "raw must be 2-D with shape (n_samples, n_outputs), got shape (5,)."
    )):
        MeanSquaredError().loss(np.zeros(5), np.zeros(5))


def test_target_shape_mismatch():
    with pytest.raises(ValueError, match=re.escape(
        "y_true must have shape (n_samples, n_outputs) = (4, 2), got (4, 3)."
    )):
        MeanSquaredError().gradient(np.zeros((4, 3)), np.zeros((4, 2)))


def test_softmax_cross_entropy_asks_for_one_hot_targets():
    with pytest.raises(ValueError, match=re.escape(
        "y_true must have shape (n_samples, n_outputs) = (10, 3), got (10,). One-hot encode "
        "the labels, e.g. with sklearn.preprocessing.LabelBinarizer."
    )):
        SoftmaxCrossEntropy().loss(np.zeros(10), np.zeros((10, 3)))


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(3), "sample_weight must have shape (n_samples,) = (4,), got (3,)."),
        (np.ones((4, 1)), "sample_weight must have shape (n_samples,) = (4,), got (4, 1)."),
        (np.array([1.0, -1.0, 1.0, 1.0]),
         "sample_weight must contain finite values >= 0, got -1.0."),
        (np.array([1.0, np.nan, 1.0, 1.0]),
         "sample_weight must contain finite values >= 0, got nan."),
        (np.zeros(4), "sample_weight must have a positive sum, got all zeros. Give at least "
                      "one sample a weight > 0."),
    ],
    ids=["short", "column", "negative", "nan", "zeros"],
)
@pytest.mark.parametrize("name", list(LOSSES))
def test_sample_weight_errors(name, weights, message):
    loss = LOSSES[name]()
    y = np.eye(2)[[0, 1, 0, 1]]
    with pytest.raises(ValueError, match=re.escape(message)):
        loss.loss(y, np.zeros((4, 2)), weights)
    with pytest.raises(ValueError, match=re.escape(message)):
        loss.gradient(y, np.zeros((4, 2)), weights)


# --- float32 precision of confident predictions, targets -------------------------------------

def test_softmax_cross_entropy_keeps_small_losses_in_float32():
    raw = np.array([[1000.0, 990.0]], dtype=np.float32)
    y = np.array([[1.0, 0.0]], dtype=np.float32)
    exact = np.log1p(np.exp(-10.0))  # -log softmax = log(1 + e^-10) = 4.5398899e-05
    value = SoftmaxCrossEntropy().loss(y, raw)
    np.testing.assert_allclose(value, exact, rtol=1e-4)
    # out=raw (in place) gives the same loss: the dot with y is taken before exp overwrites raw
    value_inplace, grad = SoftmaxCrossEntropy().loss_gradient(y, raw, out=raw)
    np.testing.assert_allclose(value_inplace, exact, rtol=1e-4)
    np.testing.assert_allclose(grad, [[-exact, exact]], rtol=1e-3)


@pytest.mark.parametrize("z", [12.0, 20.0, 40.0])
def test_binary_cross_entropy_keeps_small_losses_in_float32(z):
    exact = np.log1p(np.exp(-z))
    value = BinaryCrossEntropy().loss(np.ones((1, 1), np.float32), np.full((1, 1), z, np.float32))
    np.testing.assert_allclose(value, exact, rtol=1e-5)


@pytest.mark.parametrize("d", [1e-3, 1e-6, -1e-6])
def test_poisson_keeps_small_losses_accurate(d):
    # y = 1, raw = d: l = exp(d) - 1 - d = d**2/2 + d**3/6 + ...; the naive
    # y*log(y/mu) - y + mu loses most digits to cancellation here.
    exact = d**2 / 2 + d**3 / 6 + d**4 / 24 + d**5 / 120
    np.testing.assert_allclose(PoissonLoss().loss(np.ones((1, 1)), np.full((1, 1), d)), exact,
                               rtol=1e-9)


def test_poisson_zero_target_far_below_and_above():
    # y = 0: l = mu, so a very negative raw gives a tiny loss, not 0 or nan.
    value, grad = PoissonLoss().loss_gradient(np.zeros((1, 1)), np.full((1, 1), -700.0))
    assert value == np.exp(-700.0) and grad[0, 0] == np.exp(-700.0)
    value = PoissonLoss().loss(np.full((1, 1), 5.0), np.full((1, 1), -700.0))
    np.testing.assert_allclose(value, 5 * np.log(5) + 5 * 700 - 5, rtol=1e-15)


def test_check_targets_rejects_what_the_fused_gradients_cannot_handle():
    with pytest.raises(ValueError, match=re.escape(
            "SoftmaxCrossEntropy needs at least 2 outputs (one per class), got 1. For two "
            "classes use 2 outputs, or 1 output with BinaryCrossEntropy.")):
        SoftmaxCrossEntropy().check_targets(np.ones((3, 1)))
    with pytest.raises(ValueError, match=re.escape(
            "y for SoftmaxCrossEntropy must be one-hot (each row in [0, 1], summing to 1), got "
            "row 1: [1.0, 1.0]. One-hot encode the labels, e.g. with "
            "sklearn.preprocessing.LabelBinarizer.")):
        SoftmaxCrossEntropy().check_targets(np.array([[1.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match=re.escape(
            "y for BinaryCrossEntropy must hold values in [0, 1] (0/1 labels), got -1.0. Encode "
            "the two classes as 0 and 1, e.g. with sklearn.preprocessing.LabelEncoder.")):
        BinaryCrossEntropy().check_targets(np.array([[1.0], [-1.0]]))
    SoftmaxCrossEntropy().check_targets(np.array([[0.25, 0.75], [0.0, 1.0]]))  # soft labels ok
    with pytest.raises(ValueError, match=re.escape(
            "y for PoissonLoss must hold values >= 0 (counts or rates), got -2.0.")):
        PoissonLoss().check_targets(np.array([[1.0], [-2.0]]))
    PoissonLoss().check_targets(np.array([[0.0], [2.5]]))


# --- gaps found by mutation testing (issue 28) ------------------------------------------------

def test_softmax_cross_entropy_shifts_each_row_by_its_own_maximum():
    # Rows on different scales: one maximum over the whole batch turns row 1 into exp(-1000)s.
    raw = np.array([[1000.0, 0.0], [0.0, -1000.0]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    value, grad = SoftmaxCrossEntropy().loss_gradient(y, raw)
    assert value == 500.0                          # (1000 + 0) / 2
    np.testing.assert_array_equal(grad, [[0.5, -0.5], [0.0, 0.0]])
    np.testing.assert_array_equal(SoftmaxCrossEntropy().link(raw), [[1.0, 0.0], [1.0, 0.0]])


@pytest.mark.parametrize("bad", [1.5, 1.0 + 1e-9, 2.0, -0.5])
def test_binary_cross_entropy_refuses_targets_outside_zero_one(bad):
    with pytest.raises(ValueError, match=re.escape(
            f"y for BinaryCrossEntropy must hold values in [0, 1] (0/1 labels), got {bad!r}.")):
        BinaryCrossEntropy().check_targets(np.array([[0.0, 1.0], [bad, 0.5]]))
    BinaryCrossEntropy().check_targets(np.array([[0.0, 1.0], [0.5, 1.0]]))


@pytest.mark.parametrize("row", [[-0.5, 0.5, 1.0], [0.5, 0.6, 0.0], [1.5, -0.25, -0.25],
                                 [0.0, 0.0, 0.0]])
def test_softmax_cross_entropy_refuses_each_way_a_row_is_not_a_distribution(row):
    # Each rule alone (in [0, 1]; sums to 1) is enough to refuse the row.
    y = np.array([[0.0, 1.0, 0.0], row])
    with pytest.raises(ValueError, match=re.escape(
            "y for SoftmaxCrossEntropy must be one-hot (each row in [0, 1], summing to 1), got "
            f"row 1: {row!r}.")):
        SoftmaxCrossEntropy().check_targets(y)


# --- label smoothing: the smoothed targets, closed forms ------------------------------------

@pytest.mark.parametrize("eps", [0.1, 0.3])
def test_softmax_cross_entropy_label_smoothing_is_the_closed_form(eps, rng):
    raw, n_classes = rng.normal(size=(5, 4)), 4
    y = np.eye(n_classes)[[0, 3, 1, 1, 2]]
    w = rng.uniform(0.5, 2.0, size=5)
    smoothed = (1 - eps) * y + eps / n_classes
    log_p = raw - np.log(np.exp(raw).sum(axis=1, keepdims=True))
    for weights, total in ((None, np.ones(5)), (w, w)):
        value, grad = SoftmaxCrossEntropy(label_smoothing=eps).loss_gradient(y, raw, weights)
        per_sample = -(smoothed * log_p).sum(axis=1)
        assert value == pytest.approx(np.dot(total, per_sample) / total.sum(), rel=1e-13)
        expected = (softmax(raw, axis=1) - smoothed) * (total / total.sum())[:, None]
        np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(y, np.eye(n_classes)[[0, 3, 1, 1, 2]])   # y is not changed


@pytest.mark.parametrize("eps", [0.1, 0.3])
def test_binary_cross_entropy_label_smoothing_is_the_closed_form(eps, rng):
    raw = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, size=(6, 3)).astype(float)
    smoothed = (1 - eps) * y + eps / 2              # towards 1/2, whatever the output count
    p = expit(raw)
    value, grad = BinaryCrossEntropy(label_smoothing=eps).loss_gradient(y, raw)
    per_sample = -(smoothed * np.log(p) + (1 - smoothed) * np.log1p(-p)).sum(axis=1)
    assert value == pytest.approx(per_sample.mean(), rel=1e-13)
    np.testing.assert_allclose(grad, (p - smoothed) / 6, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["bce", "softmax"])
def test_zero_label_smoothing_is_the_plain_loss_bit_for_bit(name, rng):
    cls = {"bce": BinaryCrossEntropy, "softmax": SoftmaxCrossEntropy}[name]
    raw = rng.normal(size=(5, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 2, 0]]
    plain, smoothed = cls(), cls(label_smoothing=0.0)
    assert plain.label_smoothing == smoothed.label_smoothing == 0.0
    value, grad = smoothed.loss_gradient(y, raw)
    assert value == plain.loss(y, raw)
    np.testing.assert_array_equal(grad, plain.gradient(y, raw))
    assert grad.dtype == np.float32
    assert cls(label_smoothing=0.2).loss_gradient(y, raw)[1].dtype == np.float32


@pytest.mark.parametrize("cls", [BinaryCrossEntropy, SoftmaxCrossEntropy])
def test_label_smoothing_repr_and_range(cls):
    name = cls.__name__
    assert repr(cls()) == f"{name}()"
    assert repr(cls(label_smoothing=0.1)) == f"{name}(label_smoothing=0.1)"
    assert cls(0.99).label_smoothing == 0.99
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=re.escape(
                f"label_smoothing must be a float in [0, 1), got {bad!r}.")):
            cls(label_smoothing=bad)


# --- the targets and weights are cast to raw's dtype; the target checks' edges ----------------

@pytest.mark.parametrize("name", list(LOSSES))
def test_targets_and_weights_are_cast_to_the_dtype_of_raw(name, rng):
    # float64 targets and weights give exactly what their float32 casts give next to float32
    # logits: the arithmetic is float32 throughout, not promoted by y or w.
    loss = LOSSES[name]()
    raw = rng.normal(size=(6, 2)).astype(np.float32)
    y = (np.eye(2)[rng.integers(0, 2, size=6)] * 0.7 + 0.15 if name != "mse"
         else rng.normal(size=(6, 2)))
    w = rng.uniform(0.1, 2.0, size=6)
    for weights in (None, w):
        cast = None if weights is None else weights.astype(np.float32)
        value, grad = loss.loss_gradient(y, raw, weights)
        value32, grad32 = loss.loss_gradient(y.astype(np.float32), raw, cast)
        assert value == value32
        assert grad.dtype == np.float32
        np.testing.assert_array_equal(grad, grad32)
    from numnet.losses import check_sample_weight
    assert check_sample_weight([1, 2], 2, np.float32).dtype == np.float32


def test_weights_summing_to_one_or_less_are_accepted(rng):
    raw, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    loss = MeanSquaredError()
    for w in (np.full(4, 0.25), np.full(4, 0.1)):
        assert loss.loss(y, raw, w) == pytest.approx(loss.loss(y, raw), rel=1e-15)
        np.testing.assert_allclose(loss.gradient(y, raw, w), loss.gradient(y, raw), rtol=1e-15)


def test_softmax_cross_entropy_target_check_edges():
    check = SoftmaxCrossEntropy().check_targets
    # rows that sum to 1 within float32 rounding (|sum - 1| <= 2e-5) are accepted ...
    check(np.array([[0.5, 0.500015], [0.0, 1.0]]))
    # ... and a value just above 1 is not, even where the row sums to 1 within that tolerance
    message = ("y for SoftmaxCrossEntropy must be one-hot (each row in [0, 1], summing to 1), "
               "got row {}: {!r}.")
    with pytest.raises(ValueError, match=re.escape(message.format(1, [1.000001, 0.0]))):
        check(np.array([[0.0, 1.0], [1.000001, 0.0]]))
    # the reported row is the first bad one, not a row that is merely close to the tolerance
    with pytest.raises(ValueError, match=re.escape(message.format(1, [1.0, 1.0]))):
        check(np.array([[0.5, 0.500015], [1.0, 1.0]]))


def test_poisson_check_targets_reports_the_negative_value():
    with pytest.raises(ValueError, match=re.escape(
            "y for PoissonLoss must hold values >= 0 (counts or rates), got -2.0.")):
        PoissonLoss().check_targets(np.array([[0.5], [0.0], [-2.0]]))


def test_repr_of_the_losses_without_parameters():
    assert repr(MeanSquaredError()) == "MeanSquaredError()"
    assert repr(PoissonLoss()) == "PoissonLoss()"
