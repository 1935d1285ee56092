"""The tabular pipeline: training on a table, held-out metrics, evaluation and predictions."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from numnet.pipeline import (
    classification_metrics,
    evaluate_pipeline,
    prediction_frame,
    regression_metrics,
    split_rows,
    train_pipeline,
)
from numnet.tabular import DataError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def frame():
    return pd.DataFrame({
        "size": [1.0, 2.5, np.nan, 4.0, 3.0, 2.0],
        "rooms": [1, 2, 2, 3, 2, 1],
        "city": ["oslo", "rome", "oslo", None, "paris", "rome"],
        "price": [10.0, 25.0, 19.0, 41.0, 30.0, 20.0],
    })


def raises(message, error=DataError):
    return pytest.raises(error, match=re.escape(message))


# --- errors, splits and metrics -------------------------------------------------------------

def train(frame, **kwargs):
    options = {"params": {"max_iter": 3, "random_state": 0}, "validation_fraction": 0}
    options.update(kwargs)
    return train_pipeline(frame, **options)


def test_target_and_feature_errors(frame):
    with raises("--target must name columns of 'data', got unknown 'cost'. The columns are: "
                "'size', 'rooms', 'city', 'price'."):
        train(frame, target="cost")
    with raises("--features must name columns of 'data', got unknown 'area'."):
        train(frame, target="price", features=["size", "area"])
    with raises("--features must not include the target column 'price'."):
        train(frame, target="price", features=["size", "price"])
    with raises("target column 'city' must be numeric for regression, got 'oslo' at row 1. "
                "Use --task classification to predict categories."):
        train(frame.dropna(), target="city", task="regression")
    with raises("target column 'size' has 1 missing value(s), the first at row 3. Drop those "
                "rows (--drop-missing-target); targets are never imputed."):
        train(frame, target="size", impute="mean")
    with raises("target column 'one' must have at least 2 classes for classification, got "
                "only 'x'."):
        train(frame.assign(one="x"), target="one", impute="mean")
    with raises("data must have at least one feature column besides the target 'price', got "
                "none in 'data'."):
        train(frame[["price"]], target="price")
    with raises("--model linear is for regression, but the task is classification. Use "
                "--model logistic or --model mlp."):
        train(frame, target="city", model="linear", task="classification", impute="mean")
    with raises("--sample-weight column 'w' must hold finite values >= 0, got -1.0 at row 2."):
        train(frame.assign(w=[1.0, -1.0, 1, 1, 1, 1]), target="price", sample_weight="w",
              impute="mean")


def test_split_is_seeded_and_stratified():
    labels = np.array(["a"] * 30 + ["b"] * 10, dtype=object)
    train_rows, val_rows = split_rows(40, 0.25, labels, 0)
    assert len(val_rows) == 10 and len(train_rows) == 30
    assert sorted(labels[val_rows].tolist()) == ["a"] * 7 + ["b"] * 3 or \
        sorted(labels[val_rows].tolist()) == ["a"] * 8 + ["b"] * 2
    again = split_rows(40, 0.25, labels, 0)
    np.testing.assert_array_equal(again[1], val_rows)
    assert set(train_rows) | set(val_rows) == set(range(40))


def test_metrics_match_scikit_learn():
    y = np.array(["a", "b", "c", "a", "b", "c", "a"], dtype=object)
    pred = np.array(["a", "b", "a", "a", "c", "c", "b"], dtype=object)
    proba = np.random.default_rng(0).dirichlet([1, 1, 1], size=7)
    got = classification_metrics(y, pred, proba, np.array(["a", "b", "c"], dtype=object))
    assert got == {
        "accuracy": metrics.accuracy_score(y, pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
        "f1": metrics.f1_score(y, pred, average="macro"),
        "log_loss": metrics.log_loss(y, proba, labels=["a", "b", "c"]),
    }
    binary = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]),
                                    np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]),
                                    np.array([0, 1]))
    assert binary["f1"] == metrics.f1_score([0, 1, 1], [0, 1, 0])
    y_reg, p_reg = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0])
    assert regression_metrics(y_reg, p_reg) == {
        "r2": metrics.r2_score(y_reg, p_reg),
        "rmse": np.sqrt(metrics.mean_squared_error(y_reg, p_reg)),
        "mae": metrics.mean_absolute_error(y_reg, p_reg),
    }


# --- the pipeline -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def houses():
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"size": rng.normal(100, 20, n), "city": rng.choice(["a", "b"], n)})
    frame["price"] = 3 * frame["size"] + 50 * (frame["city"] == "b") + rng.normal(0, 5, n)
    frame["band"] = np.where(frame["price"] > frame["price"].median(), "high", "low")
    return frame


def test_pipeline_learns_and_reports_holdout_metrics(houses):
    pipe, report = train_pipeline(houses, target="price", features=["size", "city"],
                                  model="linear", validation_fraction=0.25, random_state=0)
    assert report["task"] == "regression" and report["estimator"] == "LinearRegression"
    assert (report["n_train"], report["n_validation"], report["n_features"]) == (90, 30, 3)
    assert report["metrics"]["r2"] > 0.95
    assert pipe.info["metrics"] == report["metrics"]
    curve = pipe.info["validation_curve"]
    assert curve["metric_name"] == "r2"
    assert len(curve["val_loss"]) == pipe.estimator.history_.n_epochs
    # the last recorded validation loss is half the mean squared error on the held-out rows,
    # in the units of the standardised target the estimator was fitted on
    train_rows, _ = split_rows(120, 0.25, None, 0)
    y_train = houses["price"].to_numpy()[train_rows]
    scale = pipe.target_scaler["scale"]
    assert pipe.target_scaler == {"mean": y_train.mean(), "scale": y_train.std()}
    assert curve["val_loss"][-1] == pytest.approx(
        (report["metrics"]["rmse"] / scale) ** 2 / 2, rel=1e-9)
    with raises("--proba needs a classifier, but this model does regression."):
        prediction_frame(pipe, houses, proba=True)


def test_classifier_pipeline_evaluates_and_predicts(houses):
    pipe, report = train_pipeline(houses, target="band", features=["size", "city"],
                                  model="logistic", random_state=0)
    assert report["task"] == "classification" and report["metrics"]["accuracy"] > 0.8
    curve = pipe.info["validation_curve"]
    assert curve["val_loss"][-1] == pytest.approx(report["metrics"]["log_loss"], rel=1e-9)
    assert curve["val_metric"][-1] == pytest.approx(report["metrics"]["accuracy"])

    result = evaluate_pipeline(pipe, houses)
    matrix = np.array(result["confusion_matrix"])
    assert result["labels"] == ["high", "low"] and matrix.sum() == len(houses)
    assert result["metrics"]["accuracy"] == pytest.approx(np.trace(matrix) / len(houses))

    out = prediction_frame(pipe, houses.head(3), proba=True, keep=["size"])
    assert list(out.columns) == ["size", "prediction", "proba_high", "proba_low"]
    np.testing.assert_allclose(out[["proba_high", "proba_low"]].sum(axis=1), 1.0)
    assert out["prediction"].tolist() == pipe.predict(houses.head(3)).tolist()

    with raises("target column 'band' has labels the model never saw, first 'medium' at row "
                "2. The model knows: 'high', 'low'."):
        evaluate_pipeline(pipe, houses.head(3).assign(band=["high", "medium", "low"]))
    with raises("--keep must name columns of 'data', got unknown 'id'."):
        prediction_frame(pipe, houses, keep=["id"])
