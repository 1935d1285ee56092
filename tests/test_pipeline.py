"""The tabular pipeline: training on a table, held-out metrics, evaluation and predictions."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from numnet.tabular import (
    DataError,
    classification_metrics,
    evaluate_pipeline,
    prediction_frame,
    regression_metrics,
    split_rows,
    train_pipeline,
)

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
    with raises("target must name columns of 'data', got unknown 'cost'. The columns are: "
                "'size', 'rooms', 'city', 'price'."):
        train(frame, target="cost")
    with raises("features must name columns of 'data', got unknown 'area'."):
        train(frame, target="price", features=["size", "area"])
    with raises("features must not include the target column 'price'."):
        train(frame, target="price", features=["size", "price"])
    with raises("target column 'city' must be numeric for regression, got 'oslo' at row 1. "
                "Use task classification to predict categories."):
        train(frame.dropna(), target="city", task="regression")
    with raises("target column 'size' has 1 missing value(s), the first at row 3. Drop those "
                "rows (drop_missing_target); targets are never imputed."):
        train(frame, target="size", impute="mean")
    with raises("target column 'one' must have at least 2 classes for classification, got "
                "only 'x'."):
        train(frame.assign(one="x"), target="one", impute="mean")
    with raises("data must have at least one feature column besides the target 'price', got "
                "none in 'data'."):
        train(frame[["price"]], target="price")
    with raises("model linear is for regression, but the task is classification. Use "
                "model logistic or model mlp."):
        train(frame, target="city", model="linear", task="classification", impute="mean")
    with raises("sample_weight column 'w' must hold finite values >= 0, got -1.0 at row 2."):
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
    with raises("keep must name columns of 'data', got unknown 'id'."):
        prediction_frame(pipe, houses, keep=["id"])


# --- issue 10: classes, targets, warnings, evaluation ---------------------------------------

from sklearn.model_selection import train_test_split  # noqa: E402

from numnet.tabular import MAX_CLASSES, TabularPipeline  # noqa: E402
from numnet.tabular.fitting import _HoldoutTracker  # noqa: E402

CARB = [4, 4, 1, 1, 2, 1, 4, 2, 2, 4, 4, 3, 3, 3, 4, 4, 4, 1, 2, 1, 1, 2, 2, 4, 2, 1, 2, 2, 4, 6,
        8, 2]
MPG = [21, 21, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3, 15.2, 10.4,
       10.4, 14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2, 27.3, 26, 30.4, 15.8, 19.7,
       15, 21.4]
HP = [110, 110, 93, 110, 175, 105, 245, 62, 95, 123, 123, 180, 180, 180, 205, 215, 230, 66, 52,
      65, 97, 150, 150, 245, 175, 66, 91, 113, 264, 175, 335, 109]


def mtcars():
    """R's mtcars, three columns of it: carb has classes 6 and 8 with one car each."""
    return pd.DataFrame({"mpg": MPG, "hp": HP, "carb": CARB})


@pytest.mark.parametrize("seed", [2, 6])
def test_a_class_never_lands_only_in_the_held_out_rows(seed):
    carb = np.array(CARB)
    # the split numnet made before: a one-row class only in the validation rows
    fit_rows, val_rows = train_test_split(np.arange(32), test_size=7, random_state=seed)
    assert set(carb[val_rows]) - set(carb[fit_rows])
    fit_rows, val_rows = split_rows(32, 0.2, carb, seed)
    assert (len(fit_rows), len(val_rows)) == (25, 7)
    assert set(carb[fit_rows]) == {1, 2, 3, 4, 6, 8}
    assert sorted([*fit_rows, *val_rows]) == list(range(32))
    with pytest.warns(UserWarning) as caught:
        pipe, report = train(mtcars(), target="carb", validation_fraction=0.2, random_state=seed)
    assert [str(w.message) for w in caught if "only 1 row" in str(w.message)] == [
        f"class {c} of target column 'carb' has only 1 row; it is kept for training, so the "
        "validation metrics cannot cover it." for c in (6, 8)]
    assert pipe.classes_.tolist() == [1, 2, 3, 4, 6, 8]
    assert report["n_validation"] == 7 and 0 <= report["metrics"]["accuracy"] <= 1


def test_targets_with_too_many_classes_are_refused_before_allocating():
    names = pd.DataFrame({"x": np.arange(120.0), "name": [f"n{i}" for i in range(120)]})
    with raises("target column 'name' must have at most 1000 classes, and at most half as many "
                "as rows, got 120 classes in 120 rows. If the target is a number, pass task "
                "regression; if it is an identifier, choose another target."):
        train(names, target="name")
    many = pd.DataFrame({"x": np.zeros(MAX_CLASSES + 1), "id": np.arange(MAX_CLASSES + 1)})
    with raises(f"got {MAX_CLASSES + 1} classes in {MAX_CLASSES + 1} rows."):
        train(many, target="id", task="classification")


def test_a_target_with_thousands_separators_is_a_regression_target():
    rng = np.random.default_rng(0)
    mass = rng.integers(2700, 6300, 80)
    frame = pd.DataFrame({"flipper": mass / 20 + rng.normal(0, 2, 80),
                          "mass": [f"{m:,}" for m in mass]})
    with pytest.warns(UserWarning, match=re.escape(
            f"column 'mass' holds numbers written as text with thousands separators (e.g. "
            f"'{mass[0]:,}'); read as numbers.")):
        pipe, report = train(frame, target="mass", model="linear", validation_fraction=0.25)
    assert report["task"] == "regression" and report["metrics"]["r2"] > 0.9
    # the standardised target is mapped back: predictions are in grams
    assert pipe.target_scaler["mean"] == pytest.approx(mass[split_rows(80, 0.25, None, 0)[0]]
                                                       .mean())
    np.testing.assert_allclose(pipe.predict(frame.head(3)), mass[:3], rtol=0.05)


def test_target_scaling_is_optional_and_old_files_without_it_load():
    frame = pd.DataFrame({"x": np.linspace(0, 1, 30)})
    frame["grams"] = 4000 + 1000 * frame["x"]
    scaled, _ = train(frame, target="grams", model="linear")
    plain, _ = train(frame, target="grams", model="linear", scale_target=False)
    assert plain.target_scaler is None and "target_scaler" not in plain.get_state()
    np.testing.assert_allclose(scaled.predict(frame), frame["grams"], rtol=1e-6)
    np.testing.assert_allclose(plain.predict(frame), frame["grams"], rtol=1e-6)
    state = scaled.get_state()
    assert state["target_scaler"] == {"mean": 4500.0, "scale": pytest.approx(1000 * np.std(
        frame["x"]))}
    rebuilt = TabularPipeline.from_state(state, scaled.estimator)
    np.testing.assert_allclose(rebuilt.predict(frame), scaled.predict(frame))
    with pytest.raises(ValueError, match="target_scaler must be"):
        TabularPipeline.from_state({**state, "target_scaler": {"mean": 1.0, "scale": 0.0}},
                                   scaled.estimator)


def test_negative_r2_and_a_rising_validation_loss_are_reported():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60)})
    frame["y"] = rng.normal(size=60)  # nothing to learn
    with pytest.warns(UserWarning) as caught:
        _, report = train(frame, target="y", validation_fraction=0.25,
                          params={"max_iter": 60, "random_state": 0, "hidden_layer_sizes": (32,),
                                  "learning_rate_init": 0.05})
    messages = [str(w.message) for w in caught if "validation" in str(w.message)]
    r2 = report["metrics"]["r2"]
    assert r2 < 0
    # one warning, one piece of advice (issue 24): the overfitting's, not 'more --epochs'
    (message,) = messages
    assert message.startswith("the validation loss ended at ")
    assert message.endswith(f"and the last epoch's model was kept; the validation R² is "
                            f"{r2:.4g}, below 0: the model predicts worse than the mean of the "
                            "target. Pass --early-stopping to keep the best one, or train "
                            "fewer --epochs.")


def test_validation_is_evaluated_in_batches(houses, monkeypatch):
    whole, _ = train_pipeline(houses, target="band", features=["size", "city"],
                              params={"max_iter": 4, "random_state": 0},
                              validation_fraction=0.5)
    monkeypatch.setattr(_HoldoutTracker, "batch_size", 7)
    batched, _ = train_pipeline(houses, target="band", features=["size", "city"],
                                params={"max_iter": 4, "random_state": 0},
                                validation_fraction=0.5)
    np.testing.assert_allclose(batched.info["validation_curve"]["val_loss"],
                               whole.info["validation_curve"]["val_loss"], rtol=1e-12)
    assert batched.info["metrics"] == pytest.approx(whole.info["metrics"], rel=1e-12)


def test_f1_averages_over_the_classes_present():
    y_true = np.array(["gentoo"] * 4)
    y_pred = np.array(["gentoo", "gentoo", "gentoo", "adelie"])
    classes = np.array(["adelie", "chinstrap", "gentoo"])
    proba = np.full((4, 3), 1 / 3)
    result = classification_metrics(y_true, y_pred, proba, classes)
    assert result["f1"] == pytest.approx(metrics.f1_score(y_true, y_pred, labels=["gentoo"],
                                                          average="macro"))
    assert result["f1"] == pytest.approx(2 * 0.75 / 1.75)


def test_score_and_evaluate_name_the_given_target(houses):
    pipe, _ = train_pipeline(houses, target="band", features=["size", "city"],
                             params={"max_iter": 30, "random_state": 0}, validation_fraction=0)
    assert pipe.score(houses) == evaluate_pipeline(pipe, houses)["metrics"]["accuracy"]
    other = houses.assign(truth=houses["band"]).drop(columns=["band"])
    other.loc[3, "truth"] = None
    with raises("target column 'truth' has 1 missing value(s), the first at row 4."):
        evaluate_pipeline(pipe, other, target="truth")
    with raises("target column 'city' has labels the model never saw, first 'b' at row 1."):
        evaluate_pipeline(pipe, houses, target="city")
    regressor, _ = train_pipeline(houses, target="price", features=["size", "city"],
                                  model="linear", validation_fraction=0)
    assert regressor.score(houses) == pytest.approx(metrics.r2_score(
        houses["price"], regressor.predict(houses)), rel=1e-12)


def test_score_without_the_target_column_says_so_without_cli_flags(frame):
    pipe, _ = train(frame, target="price", features=["size", "city"], impute="mean")
    with raises("frame must hold the target column 'price' to score, got columns ['size', "
                "'city']."):
        pipe.score(frame[["size", "city"]])


def test_a_task_edited_over_a_scaled_regressor_blames_the_task(frame, tmp_path):
    import numnet as nn
    from test_io import forge

    pipe, _ = train(frame, target="price", features=["rooms"])
    assert pipe.target_scaler is not None
    nn.save(pipe, tmp_path / "reg.numnet")
    path = tmp_path / "edited.numnet"
    path.write_bytes(forge((tmp_path / "reg.numnet").read_bytes(), lambda header, metadata:
                           metadata["object"]["state"].update(task="classification")))
    with raises(f"Cannot load {str(path)!r}: the pipeline's task is 'classification', but its "
                f"estimator {type(pipe.estimator).__name__} is a regressor; the file was "
                "altered.", nn.ModelFileError):
        nn.load(path)
