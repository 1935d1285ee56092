"""Tabular data: reading and writing files, preprocessing columns, inferring the task."""

import gzip
import io
import os
import re
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from numnet.tabular import (
    DataError,
    TabularPreprocessor,
    infer_task,
    read_table,
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


# --- the task -----------------------------------------------------------------------------

@pytest.mark.parametrize("values, task", [
    (["a", "b"], "classification"), ([True, False], "classification"),
    ([1, 2, 3], "classification"), (list(range(30)), "regression"),
    ([0.5, 1.5], "regression"),
], ids=["strings", "bools", "few-integers", "many-integers", "floats"])
def test_task_is_inferred_from_the_target(values, task):
    assert infer_task(pd.Series(values)) == task



def test_write_table_by_suffix(frame, tmp_path):
    for name in ("out.csv", "out.tsv", "out.parquet"):
        write_table(frame.head(4), tmp_path / name)
        pd.testing.assert_frame_equal(read_table(tmp_path / name), frame.head(4))
