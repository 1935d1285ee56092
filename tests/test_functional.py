"""numnet.functional against scipy.special, at ordinary and extreme (+-1000) inputs."""

import re

import numpy as np
import pytest
from scipy import special

from numnet import functional

# Reference implementations (scipy.special) with the axis conventions of numnet.functional.
REFERENCES = {
    "sigmoid": (functional.sigmoid, special.expit),
    "log_sigmoid": (functional.log_sigmoid, special.log_expit),
    "softplus": (functional.softplus, lambda x: np.logaddexp(0, x)),
    "logsumexp": (functional.logsumexp, lambda x: special.logsumexp(x, axis=-1)),
    "softmax": (functional.softmax, lambda x: special.softmax(x, axis=-1)),
    "log_softmax": (functional.log_softmax, lambda x: special.log_softmax(x, axis=-1)),
}
NAMES = sorted(REFERENCES)
RTOL = {np.float32: 2e-6, np.float64: 1e-14}


@pytest.mark.parametrize("name", NAMES)
def test_matches_scipy_on_ordinary_inputs(name, rng, dtype):
    ours, reference = REFERENCES[name]
    x = rng.normal(scale=5.0, size=(7, 5)).astype(dtype)
    expected = reference(x.astype(np.float64))
    np.testing.assert_allclose(ours(x), expected, rtol=RTOL[dtype], atol=1e-300)


@pytest.mark.parametrize("name", NAMES)
def test_keeps_dtype(name, rng, dtype):
    ours, _ = REFERENCES[name]
    x = rng.normal(size=(3, 4)).astype(dtype)
    assert ours(x).dtype == dtype


# Values at +-1000 in closed form: every one is exactly representable in float32 and float64
# (or is log(2)/log(3), compared with the dtype's rtol).
EXTREME = np.array([[1000.0, -1000.0, 0.0]])
EXTREME_EXPECTED = {
    "sigmoid": [[1.0, 0.0, 0.5]],
    "log_sigmoid": [[0.0, -1000.0, -np.log(2)]],
    "softplus": [[1000.0, 0.0, np.log(2)]],
    "logsumexp": [1000.0],
    "softmax": [[1.0, 0.0, 0.0]],
    "log_softmax": [[0.0, -2000.0, -1000.0]],
}


@pytest.mark.parametrize("name", NAMES)
def test_finite_and_exact_at_plus_minus_1000(name, dtype):
    ours, _ = REFERENCES[name]
    result = ours(EXTREME.astype(dtype))
    assert result.dtype == dtype
    assert np.all(np.isfinite(result))
    np.testing.assert_allclose(result, EXTREME_EXPECTED[name], rtol=RTOL[dtype], atol=0)


@pytest.mark.parametrize("value", [1000.0, -1000.0], ids=["plus", "minus"])
def test_logsumexp_of_equal_extremes_is_value_plus_log_n(value, dtype):
    x = np.full((2, 3), value, dtype=dtype)
    np.testing.assert_allclose(functional.logsumexp(x), value + np.log(3), rtol=RTOL[dtype])
    np.testing.assert_allclose(functional.softmax(x), np.full((2, 3), 1 / 3), rtol=RTOL[dtype])


def test_logsumexp_axis_and_keepdims_match_scipy(rng):
    x = rng.normal(size=(4, 3, 2))
    for axis in (0, 1, 2):
        np.testing.assert_allclose(
            functional.logsumexp(x, axis=axis, keepdims=True),
            special.logsumexp(x, axis=axis, keepdims=True), rtol=1e-14,
        )
        np.testing.assert_allclose(functional.softmax(x, axis=axis), special.softmax(x, axis=axis),
                                   rtol=1e-14)


def test_softmax_rows_sum_to_one(rng, dtype):
    x = rng.normal(scale=30, size=(50, 6)).astype(dtype)
    np.testing.assert_allclose(functional.softmax(x).sum(axis=1), 1.0, rtol=RTOL[dtype] * 4)


def test_sigmoid_writes_into_out_in_place(rng, dtype):
    x = rng.normal(size=(4, 3)).astype(dtype)
    expected = special.expit(x)
    out = np.empty_like(x)
    assert functional.sigmoid(x, out=out) is out
    np.testing.assert_array_equal(out, expected)
    assert functional.sigmoid(x, out=x) is x  # the input itself may be the output
    np.testing.assert_array_equal(x, expected)


def test_softmax_writes_into_out_in_place(rng, dtype):
    x = rng.normal(size=(4, 3)).astype(dtype)
    expected = special.softmax(x.astype(np.float64), axis=1)
    out = np.empty_like(x)
    assert functional.softmax(x, axis=1, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=RTOL[dtype])
    assert functional.softmax(x, axis=1, out=x) is x
    np.testing.assert_allclose(x, expected, rtol=RTOL[dtype])


# --- gaps found by mutation testing (issue 28) ------------------------------------------------

@pytest.mark.parametrize("row", [[1.0, 1.0, 0.0], [2.0, 2.0, 2.0, -1.0, 0.5], [3.0, -2.0, 3.0]])
def test_log_softmax_with_a_tied_row_maximum_is_the_closed_form(row):
    # Several entries share the maximum: log1p(others / n_top) divides by their count.
    x = np.array([row])
    expected = x - np.log(np.sum(np.exp(x)))
    np.testing.assert_allclose(functional.log_softmax(x), expected, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(functional.log_softmax(np.array([[1.0, 1.0, 0.0]]))[0, 0],
                               1 - np.log(2 * np.e + 1), rtol=1e-15)   # -0.8620


def test_logsumexp_takes_the_maximum_per_row():
    # Rows on different scales: one maximum over the whole array underflows the second row.
    x = np.array([[1000.0, 1000.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(functional.logsumexp(x), [1000 + np.log(2), -1000 + np.log(2)],
                               rtol=1e-15)
    np.testing.assert_allclose(functional.logsumexp(x.T, axis=0),
                               [1000 + np.log(2), -1000 + np.log(2)], rtol=1e-15)


@pytest.mark.parametrize(("shape", "axis", "keepdims", "expected"), [
    ((1, 3), -1, False, (1,)),
    ((1, 3), -1, True, (1, 1)),
    ((1, 3), 0, False, (3,)),
    ((1, 3), 0, True, (1, 3)),
    ((2, 1, 4), 1, False, (2, 4)),
])
def test_logsumexp_removes_only_the_reduced_axis(shape, axis, keepdims, expected):
    x = np.arange(np.prod(shape), dtype=float).reshape(shape)
    result = functional.logsumexp(x, axis=axis, keepdims=keepdims)
    assert result.shape == expected
    reference = special.logsumexp(x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(result, reference, rtol=1e-15)


# --- smooth_clip and robust scaling: closed forms, dtypes, out= -------------------------------

@pytest.mark.parametrize("max_abs", [3.0, 1.5])
def test_smooth_clip_is_the_closed_form(max_abs):
    x = np.array([-1e6, -4.0, -0.5, 0.0, 0.25, 2.0, 4.0, 1e6])
    expected = x / np.sqrt(1 + (x / max_abs) ** 2)
    np.testing.assert_allclose(functional.smooth_clip(x, max_abs), expected, rtol=1e-15)
    assert np.all(np.abs(functional.smooth_clip(x, max_abs)) < max_abs)


@pytest.mark.parametrize(("in_dtype", "out_dtype"), [(np.float32, np.float32),
                                                     (np.float64, np.float64),
                                                     (np.int64, np.float64),
                                                     (np.int8, np.float32)])
def test_smooth_clip_keeps_a_floating_dtype_and_makes_integers_float(in_dtype, out_dtype):
    x = np.array([-5, 0, 1, 7], dtype=in_dtype)
    result = functional.smooth_clip(x)
    assert result.dtype == out_dtype
    expected = x.astype(np.float64) / np.sqrt(1 + (x.astype(np.float64) / 3) ** 2)
    np.testing.assert_allclose(result, expected, rtol=1e-6)


def test_smooth_clip_writes_into_out():
    x = np.array([[0.0, 4.0], [-8.0, 1.0]])
    expected = functional.smooth_clip(x)
    buffer = np.full_like(x, np.nan)
    assert functional.smooth_clip(x, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, expected)
    assert functional.smooth_clip(x, out=x) is x          # in place
    np.testing.assert_array_equal(x, expected)


def test_robust_scale_statistics_closed_form():
    X = np.array([[0.0, 2.0, 0.0, 0.0, 7.0],
                  [0.5, 2.0, 1.0, 0.1, 7.0],
                  [1.0, 2.0, 2.0, 0.2, 7.0],
                  [1.5, 2.0, 3.0, 0.3, 7.0],
                  [5.0, 12.0, 40.0, 0.4, 7.0]])
    centre, factor = functional.robust_scale_statistics(X)
    np.testing.assert_array_equal(centre, [1.0, 2.0, 2.0, 0.2, 7.0])
    # column 0: IQR 1.5 - 0.5 = 1; column 1: quartiles tie at 2, so (12 - 2) / 2 = 5;
    # column 2: IQR 2; column 3: IQR 0.2 (< 1); column 4: constant, factor 0.
    np.testing.assert_allclose(factor, [1.0, 1 / 5, 1 / 2, 1 / 0.2, 0.0], rtol=1e-14)
    assert centre.dtype == factor.dtype == np.float64


def test_robust_scale_statistics_in_float64_for_any_input():
    X = np.array([[0.1, 3.0], [0.7, 1.0], [0.2, 8.0], [0.9, 2.0]], dtype=np.float32)
    centre, factor = functional.robust_scale_statistics(X)
    assert centre.dtype == factor.dtype == np.float64
    X64 = X.astype(np.float64)
    np.testing.assert_array_equal(centre, np.median(X64, axis=0))
    q25, q75 = np.quantile(X64, [0.25, 0.75], axis=0)
    np.testing.assert_array_equal(factor, 1.0 / (q75 - q25))
    centre, factor = functional.robust_scale_statistics(np.array([[3.0, -1.0]]))  # one row
    np.testing.assert_array_equal(centre, [3.0, -1.0])
    np.testing.assert_array_equal(factor, [0.0, 0.0])


@pytest.mark.parametrize("shape", [(5,), (0, 3), (2, 3, 1)])
def test_robust_scale_statistics_refuses_other_shapes(shape):
    with pytest.raises(ValueError, match=re.escape(
            f"X must be 2-D with at least one row, got shape {shape}.")):
        functional.robust_scale_statistics(np.ones(shape))


@pytest.mark.parametrize(("in_dtype", "out_dtype"), [(np.float32, np.float32),
                                                     (np.float64, np.float64),
                                                     (np.int64, np.float64)])
def test_robust_scale_is_smooth_clip_of_the_scaled_columns(in_dtype, out_dtype):
    X = np.array([[1, 10], [2, -30], [7, 0]], dtype=in_dtype)
    centre, factor = np.array([1.5, -2.0]), np.array([0.5, 0.25])
    Z = (X.astype(np.float64) - centre) * factor
    for max_abs in (3.0, 1.5):
        result = functional.robust_scale(X, centre, factor, max_abs=max_abs)
        assert result.dtype == out_dtype
        np.testing.assert_allclose(result, Z / np.sqrt(1 + (Z / max_abs) ** 2), rtol=1e-6)
    unclipped = functional.robust_scale(X, centre, factor, max_abs=None)
    assert unclipped.dtype == out_dtype
    np.testing.assert_allclose(unclipped, Z, rtol=1e-6)


def test_class_probabilities_of_each_output_activation():
    from numnet.functional import class_probabilities

    raw = np.array([[2.0, -1.0, 0.5], [-3.0, 0.0, 40.0]])
    soft = np.exp(raw - raw.max(axis=1, keepdims=True))
    np.testing.assert_allclose(class_probabilities(raw, "softmax"),
                               soft / soft.sum(axis=1, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(class_probabilities(raw, "logistic"), 1 / (1 + np.exp(-raw)),
                               rtol=1e-15)   # multilabel: one sigmoid per column
    two = raw[:, :2]   # two labels are two sigmoids, not a binary pair
    np.testing.assert_allclose(class_probabilities(two, "logistic"), 1 / (1 + np.exp(-two)),
                               rtol=1e-15)
    z = np.array([[-2.0], [0.0], [40.0]])
    binary = class_probabilities(z, "logistic")
    assert binary.shape == (3, 2)
    np.testing.assert_allclose(binary[:, 1], 1 / (1 + np.exp(-z[:, 0])), rtol=1e-15)
    # the first column is sigmoid(-z), exact where 1 - sigmoid(z) would round to 0
    assert binary[2, 0] == pytest.approx(1 / (1 + np.exp(40.0)), rel=1e-14)
    assert 1 - binary[2, 1] == 0


def test_class_labels_of_each_output_activation():
    from numnet.functional import class_labels

    classes = np.array(["a", "b", "c"])
    raw = np.array([[2.0, -1.0, 0.5], [-3.0, 0.0, 40.0]])
    assert class_labels(raw, "softmax", classes).tolist() == ["a", "c"]
    labels = class_labels(raw, "logistic", classes)
    assert labels.tolist() == [[1, 0, 1], [0, 0, 1]] and labels.dtype.kind == "i"
    # two labels are two indicators, not a binary choice between two classes
    assert class_labels(raw[:, :2], "logistic", classes).tolist() == [[1, 0], [0, 0]]
    z = np.array([[-2.0], [0.0], [1e-9]])   # z = 0 is p = 1/2: the first class
    assert class_labels(z, "logistic", classes[:2]).tolist() == ["a", "a", "b"]
