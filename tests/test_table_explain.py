"""Explanations of `numnet train` models: per original column, in the table's own units."""

import re

import numpy as np
import pandas as pd
import pytest

from numnet.explain import integrated_gradients, saliency
from numnet.tabular import DataError, explain_table, permutation_table, train_pipeline

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def houses():
    rng = np.random.default_rng(0)
    n = 160
    frame = pd.DataFrame({
        "size": rng.normal(100, 20, n),
        "city": rng.choice(["oslo", "rome", "paris"], n),
        "noise": rng.normal(0, 1, n),
        "built": pd.to_datetime("2000-01-01") + pd.to_timedelta(rng.integers(0, 7000, n), "D"),
    })
    frame["price"] = 3 * frame["size"] + 60 * (frame["city"] == "rome") + rng.normal(0, 5, n)
    frame["band"] = np.where(frame["price"] > frame["price"].median(), "high", "low")
    frame["rooms"] = np.where(frame["size"] > 110, 4, np.where(frame["size"] > 90, 3, 2))
    return frame


def fit(frame, target, **params):
    options = {"hidden_layer_sizes": (8,), "activation": "tanh", "max_iter": 1000,
               "random_state": 0, **params}
    pipe, _ = train_pipeline(frame, target=target, features=["size", "city", "noise", "built"],
                             params=options, random_state=0)
    return pipe


def test_additive_attributions_are_grouped_per_column_and_still_add_up(houses):
    pipe = fit(houses, "band")
    rows = houses.iloc[:12]
    result = explain_table(pipe, rows, target="high")
    X = pipe.transform(rows)
    encoded = integrated_gradients(pipe.estimator, X, target="high", baseline=X.mean(axis=0))
    assert result.feature_names == ["size", "city", "noise", "built"]
    groups = pipe.preprocessor.feature_groups_
    assert [(name, stop - start) for name, start, stop in groups] == [
        ("size", 1), ("city", 3), ("noise", 1), ("built", 4)]
    for column, (_, start, stop) in enumerate(groups):
        np.testing.assert_allclose(result.values[:, column],
                                   encoded.values[:, start:stop].sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(result.delta, encoded.delta, rtol=1e-12, atol=1e-15)
    assert np.max(np.abs(result.delta)) < 1e-6
    np.testing.assert_array_equal(result.target, ["high"] * 12)


def test_regression_attributions_are_in_the_target_units(houses):
    pipe = fit(houses, "price")
    assert pipe.target_scaler is not None
    rows = houses.iloc[:10]
    result = explain_table(pipe, rows, background=houses)
    # the baseline is the average encoded row of the background table
    average = pipe.transform(houses).mean(axis=0, keepdims=True)
    np.testing.assert_allclose(result.baseline_output,
                               pipe._predict_features(average)[0], rtol=1e-10)
    np.testing.assert_allclose(result.output, pipe.predict(rows), rtol=1e-10)
    change = result.output - result.baseline_output
    np.testing.assert_allclose(result.values.sum(axis=1) - change, result.delta, atol=1e-9)
    assert np.max(np.abs(result.delta)) < 1e-6 * np.max(np.abs(change))
    # the price is 3 * size + 60 * rome: size and city carry the credit, noise hardly any
    share = np.abs(result.values).mean(axis=0)
    assert share[[0, 1]].sum() / share.sum() > 0.85, share


def test_a_baseline_row_from_the_table(houses):
    pipe = fit(houses, "price")
    rows, baseline = houses.iloc[:5], houses.iloc[[7]]
    result = explain_table(pipe, rows, baseline=baseline)
    np.testing.assert_allclose(result.baseline_output, pipe.predict(baseline)[0], rtol=1e-10)
    change = result.output - result.baseline_output
    assert np.max(np.abs(result.delta)) < 1e-6 * np.max(np.abs(change))
    with pytest.raises(DataError, match=re.escape("the baseline must have 1 or 5 rows, got 2.")):
        explain_table(pipe, rows, baseline=houses.iloc[:2])


def test_gradients_are_per_encoded_feature_in_raw_units(houses):
    pipe = fit(houses, "price")
    rows = houses.iloc[:4]
    result = explain_table(pipe, rows, method="saliency")
    assert result.feature_names[:4] == ["size", "city=oslo", "city=paris", "city=rome"]
    # d price / d size by finite differences on the raw column, through the whole pipeline
    step = 1e-3
    up, down = rows.copy(), rows.copy()
    up["size"] += step
    down["size"] -= step
    numeric = (pipe.predict(up) - pipe.predict(down)) / (2 * step)
    np.testing.assert_allclose(result.values[:, 0], numeric, rtol=1e-5)
    raw = saliency(pipe.estimator, pipe.transform(rows))
    np.testing.assert_allclose(result.values[:, 1:4],
                               raw.values[:, 1:4] * pipe.target_scaler["scale"], rtol=1e-12)


def test_text_targets_match_numeric_classes(houses):
    pipe = fit(houses, "rooms", max_iter=50)
    result = explain_table(pipe, houses.iloc[:3], target="4")
    np.testing.assert_array_equal(result.target, [4, 4, 4])
    with pytest.raises(DataError, match=re.escape(
            "--target must be one of the classes ['2', '3', '4'], got '5'.")):
        explain_table(pipe, houses.iloc[:3], target="5")
    with pytest.raises(DataError, match=re.escape("--method must be one of")):
        explain_table(pipe, houses.iloc[:3], method="lime")


def test_expected_gradients_and_permutation_importance_per_column(houses):
    pipe = fit(houses, "price")
    eg = explain_table(pipe, houses.iloc[:5], method="expected-gradients",
                       background=houses.iloc[100:], n_samples=64, random_state=0)
    again = explain_table(pipe, houses.iloc[:5], method="expected-gradients",
                          background=houses.iloc[100:], n_samples=64, random_state=0)
    np.testing.assert_array_equal(eg.values, again.values)
    assert eg.feature_names == ["size", "city", "noise", "built"]
    importance = permutation_table(pipe, houses, n_repeats=3, random_state=0)
    assert importance.feature_names == ["size", "city", "noise", "built"]
    assert importance.importances_mean[0] > 0.5 and importance.importances_mean[1] > 0.05
    assert abs(importance.importances_mean[2]) < 0.05
    with pytest.raises(DataError, match=re.escape(
            "--method permutation needs the target column 'price' in the data")):
        permutation_table(pipe, houses.drop(columns="price"))


# ------------------------------------------- missing-value indicators and robust scaling


@pytest.fixture(scope="module")
def gappy(houses):
    """A regression pipeline with impute="indicator" and scaling="robust", fitted by hand."""
    from numnet import MLPRegressor
    from numnet.tabular.pipeline import TabularPipeline
    from numnet.tabular.preprocessing import TabularPreprocessor

    frame = houses.drop(columns="built").copy()
    frame.loc[::7, "size"] = np.nan
    frame.loc[3::11, "city"] = None
    frame.loc[5, "noise"] = 40.0  # an outlier, deep in the smooth clip
    pre = TabularPreprocessor(impute="indicator", scaling="robust").fit(
        frame, ["size", "city", "noise"])
    y = frame["price"].to_numpy()
    scaler = {"mean": float(y.mean()), "scale": float(y.std())}
    estimator = MLPRegressor(hidden_layer_sizes=(8,), activation="tanh", max_iter=300,
                             random_state=0)
    estimator.fit(pre.transform(frame), (y - scaler["mean"]) / scaler["scale"])
    pipe = TabularPipeline(pre, estimator, target="price", task="regression",
                           target_scaler=scaler)
    return pipe, frame


def test_a_missing_indicator_adds_to_its_columns_attribution(gappy):
    pipe, frame = gappy
    assert pipe.preprocessor.feature_names_out_ == [
        "size", "size.missing", "city=oslo", "city=paris", "city=rome", "city=(missing)",
        "noise"]
    rows = frame.iloc[:15]  # rows 0, 7, 14 miss their size, rows 3 and 14 their city
    result = explain_table(pipe, rows)
    assert result.feature_names == ["size", "city", "noise"]
    X = pipe.transform(rows)
    encoded = integrated_gradients(pipe.estimator, X, baseline=X.mean(axis=0))
    scale = pipe.target_scaler["scale"]
    for column, (start, stop) in enumerate([(0, 2), (2, 6), (6, 7)]):
        np.testing.assert_allclose(result.values[:, column],
                                    encoded.values[:, start:stop].sum(axis=1) * scale,
                                    rtol=1e-12)
    change = result.output - result.baseline_output
    assert np.max(np.abs(result.delta)) < 1e-6 * np.max(np.abs(change))
    np.testing.assert_allclose(result.output, pipe.predict(rows), rtol=1e-10)
    # the baseline's indicator is the share of missing values in the rows explained
    assert X.mean(axis=0)[1] == 3 / 15
    product = explain_table(pipe, rows, method="gradient-x-input")
    assert product.feature_names == ["size", "city", "noise"]


def test_gradients_of_a_clipped_column_use_the_smooth_clips_derivative(gappy):
    pipe, frame = gappy
    rows = frame.iloc[[1, 2, 4, 5, 6]]  # every size present; row 5 holds the noise outlier
    result = explain_table(pipe, rows, method="saliency")
    assert result.feature_names == pipe.preprocessor.feature_names_out_
    assert result.values.shape == (5, 7)
    # d price / d raw value by finite differences through the whole pipeline, for both
    # clipped columns, the outlier (dx'/dz = 1 / 257**1.5 for z = 48) included
    for name, feature in (("size", 0), ("noise", 6)):
        step = 1e-4 * pipe.preprocessor.columns_[feature and 2]["scale"]
        up, down = rows.copy(), rows.copy()
        up[name] += step
        down[name] -= step
        numeric = (pipe.predict(up) - pipe.predict(down)) / (2 * step)
        np.testing.assert_allclose(result.values[:, feature], numeric, rtol=1e-5)
    # an indicator and a one-hot feature: per unit of the 0/1 value (factor 1)
    raw = saliency(pipe.estimator, pipe.transform(rows))
    np.testing.assert_allclose(result.values[:, 1:6],
                               raw.values[:, 1:6] * pipe.target_scaler["scale"], rtol=1e-12)
    smooth = explain_table(pipe, rows, method="smoothgrad", n_samples=8, random_state=0)
    assert smooth.values.shape == (5, 7) and np.all(np.isfinite(smooth.values))
