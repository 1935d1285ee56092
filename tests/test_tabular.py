"""Tabular data: reading files, preprocessing columns, targets, metrics and the pipeline."""

import gzip
import io
import os
import re
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from numnet.tabular import (
    DataError,
    TabularPreprocessor,
    classification_metrics,
    evaluate_pipeline,
    infer_task,
    prediction_frame,
    read_table,
    regression_metrics,
    split_rows,
    train_pipeline,
    write_table,
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


# --- reading --------------------------------------------------------------------------------

def test_csv_tsv_gzip_parquet_and_stdin_read_the_same_table(frame, tmp_path, monkeypatch):
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_csv(tmp_path / "d.tsv", index=False, sep="\t")
    with gzip.open(tmp_path / "d.csv.gz", "wt") as file:
        frame.to_csv(file, index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    for name in ("d.csv", "d.tsv", "d.csv.gz", "d.parquet"):
        pd.testing.assert_frame_equal(read_table(tmp_path / name), frame, check_dtype=False)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(frame.to_csv(index=False)
                                                                  .encode())))
    pd.testing.assert_frame_equal(read_table("-"), frame, check_dtype=False)


def test_unreadable_files_give_one_clear_error(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81" * 10)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "folder.csv").mkdir()
    cases = {
        "missing.csv": "Cannot read '{}': no such file.",
        "folder.csv": "Cannot read '{}': it is a folder, not a file.",
        "empty.csv": "Cannot read '{}': the file is empty.",
        "header.csv": "'{}' has no data rows, only a header.",
        "binary.csv": "Cannot read '{}' as CSV: 'utf-8' codec can't decode byte 0xff in "
                      "position 0: invalid start byte.",
        "bad.parquet": "Cannot read '{}' as Parquet: ",
        "data.json": "DATA must be a .csv, .tsv or .parquet file (or - for CSV on stdin), got "
                     "'{}'.",
    }
    for name, message in cases.items():
        with raises(message.format(tmp_path / name)):
            read_table(tmp_path / name)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_file_without_read_permission(tmp_path):
    path = tmp_path / "secret.csv"
    path.write_text("a\n1\n")
    path.chmod(0)
    with raises(f"Cannot read '{path}': permission denied."):
        read_table(path)


def test_duplicate_column_names_are_refused(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,a\n1,2,3\n")
    with raises(f"column names must be unique, got 'a' more than once in "
                f"'{tmp_path / 'd.csv'}'. Rename the repeated columns."):
        read_table(tmp_path / "d.csv")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([[1], [2]], names=["x", "x"]), tmp_path / "d.parquet")
    with raises("column names must be unique, got 'x' more than once"):
        read_table(tmp_path / "d.parquet")


def test_missing_pyarrow_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    with raises("Reading Parquet files needs pyarrow: pip install 'numnet[parquet]'."):
        read_table(tmp_path / "d.parquet")


# --- preprocessing ----------------------------------------------------------------------------

@pytest.mark.parametrize("impute", ["mean", "median", "most_frequent"])
def test_preprocessing_matches_scikit_learn(frame, impute):
    columns = ["size", "rooms", "city"]
    ours = TabularPreprocessor(impute=impute).fit(frame, columns)
    theirs = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy=impute), StandardScaler()),
         ["size", "rooms"]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
         ["city"]),
    ]).fit(frame)
    new = pd.DataFrame({"size": [np.nan, 7.0], "rooms": [5, 1], "city": ["rome", "oslo"]})
    np.testing.assert_allclose(ours.transform(frame), theirs.transform(frame), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(ours.transform(new), theirs.transform(new), rtol=1e-12,
                               atol=1e-15)
    assert ours.feature_names_out_ == ["size", "rooms", "city=oslo", "city=paris", "city=rome"]


def test_transform_keeps_the_requested_dtype(frame):
    pre = TabularPreprocessor(impute="mean").fit(frame, ["size", "city"])
    assert pre.transform(frame, dtype=np.float32).dtype == np.float32


def test_unseen_category_becomes_zeros_with_a_warning(frame):
    pre = TabularPreprocessor(impute="mean").fit(frame, ["city"])
    new = pd.DataFrame({"city": ["rome", "berlin"]})
    with pytest.warns(UserWarning, match=re.escape(
            "column 'city' has 1 value(s) not seen in training (first 'berlin' at row 2); they "
            "are encoded as all zeros.")):
        X = pre.transform(new)
    assert X.tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]


def test_missing_values_need_impute(frame):
    with raises("column 'size' has 1 missing value(s), the first at row 3. Fill or drop them, "
                "or pass --impute mean|median|most_frequent."):
        TabularPreprocessor().fit(frame, ["size"])
    pre = TabularPreprocessor().fit(frame.dropna(), ["size"])
    with raises("column 'size' has 1 missing value(s), the first at row 3, but the model was "
                "trained without --impute. Fill or drop them, or retrain with --impute."):
        pre.transform(frame)


def test_columns_that_cannot_be_used(frame):
    typo = pd.DataFrame({"size": [str(v) for v in range(1, 10)] + ["ten"]})  # 90% numbers
    with raises("column 'size' must be numeric, got 'ten' at row 10. Fix that value, or leave "
                "it empty and use --impute."):
        TabularPreprocessor().fit(typo, ["size"])
    with raises("column 'size' must hold finite numbers, got inf at row 2."):
        TabularPreprocessor().fit(pd.DataFrame({"size": [1.0, np.inf]}), ["size"])
    dates = pd.DataFrame({"when": pd.to_datetime(["2024-01-01"])})
    with raises(f"column 'when' has dtype {dates['when'].dtype}, which numnet cannot use. "
                "Convert it to numbers or strings, or leave it out with --features."):
        TabularPreprocessor().fit(dates, ["when"])
    with raises("column 'size' must have at least one value, got only missing values. Leave "
                "it out with --features."):
        TabularPreprocessor(impute="mean").fit(pd.DataFrame({"size": [np.nan, np.nan]}),
                                               ["size"])
    pre = TabularPreprocessor().fit(frame.dropna(), ["size"])
    with raises("column 'size' must be numeric (as in training), got 'big' at row 2."):
        pre.transform(pd.DataFrame({"size": ["1.5", "big"]}))
    with raises("data must have the column 'size' that the model was trained on, got columns "
                "['rooms']."):
        pre.transform(pd.DataFrame({"rooms": [1]}))


def test_mostly_string_column_is_categorical():
    codes = pd.DataFrame({"code": ["1", "2", "A7", "B2"]})  # half look numeric: a category
    pre = TabularPreprocessor().fit(codes, ["code"])
    assert pre.columns_[0]["categories"] == ["1", "2", "A7", "B2"]


def test_identifier_column_warns():
    ids = pd.DataFrame({"id": [f"user{i}" for i in range(60)]})
    with pytest.warns(UserWarning, match=re.escape(
            "column 'id' has 60 distinct values in 60 rows, so one-hot encoding adds 60 "
            "features. If it is an identifier, leave it out with --features.")):
        TabularPreprocessor().fit(ids, ["id"])


def test_state_round_trips_and_rejects_garbage(frame):
    pre = TabularPreprocessor(impute="median").fit(frame, ["size", "city"])
    again = TabularPreprocessor.from_state(pre.get_state())
    np.testing.assert_array_equal(again.transform(frame), pre.transform(frame))
    state = pre.get_state()
    state["columns"][0]["scale"] = 0.0
    with raises("invalid 'scale' in preprocessed column", ValueError):
        TabularPreprocessor.from_state(state)


# --- targets, tasks and splits -------------------------------------------------------------

@pytest.mark.parametrize("values, task", [
    (["a", "b"], "classification"), ([True, False], "classification"),
    ([1, 2, 3], "classification"), (list(range(30)), "regression"),
    ([0.5, 1.5], "regression"),
], ids=["strings", "bools", "few-integers", "many-integers", "floats"])
def test_task_is_inferred_from_the_target(values, task):
    assert infer_task(pd.Series(values)) == task


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
                "rows; targets are never imputed."):
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
    # the last recorded validation loss is half the mean squared error on the held-out rows
    assert curve["val_loss"][-1] == pytest.approx(report["metrics"]["rmse"] ** 2 / 2, rel=1e-9)
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


def test_write_table_by_suffix(houses, tmp_path):
    for name in ("out.csv", "out.tsv", "out.parquet"):
        write_table(houses.head(4), tmp_path / name)
        pd.testing.assert_frame_equal(read_table(tmp_path / name), houses.head(4))
