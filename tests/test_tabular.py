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
        "binary.csv": "Cannot read '{}' as utf-8 text: it holds the byte 0xff, which utf-8 "
                      "does not allow there. Pass the file's encoding, e.g. --encoding latin-1.",
        "bad.parquet": "Cannot read '{}' as Parquet: ",
        "data.json": "DATA must be a .csv, .txt, .tsv, .tab, .parquet or .pq file (or - for "
                     "CSV on stdin), got '{}'. Save the table in one of these formats (.csv and "
                     ".txt are read as CSV, .tsv and .tab as TSV; a text file may be "
                     "compressed: .gz, .bz2, .xz, .zip, .zst).",
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
                "or pass impute indicator|mean|median|most_frequent."):
        TabularPreprocessor().fit(frame, ["size"])
    pre = TabularPreprocessor().fit(frame.dropna(), ["size"])
    with raises("column 'size' has 1 missing value(s), the first at row 3, but the model was "
                "trained without --impute. Fill or drop them, or retrain with --impute."):
        pre.transform(frame)


def test_columns_that_cannot_be_used(frame):
    typo = pd.DataFrame({"size": [str(v) for v in range(1, 10)] + ["ten"]})  # 90% numbers
    with raises("column 'size' must be numeric, got 'ten' at row 10. Fix that value, or leave "
                "it empty and use impute."):
        TabularPreprocessor().fit(typo, ["size"])
    with raises("column 'size' must hold finite numbers, got inf at row 2."):
        TabularPreprocessor().fit(pd.DataFrame({"size": [1.0, np.inf]}), ["size"])
    spans = pd.DataFrame({"took": pd.to_timedelta([1, 2], unit="s")})
    with raises(f"column 'took' has dtype {spans['took'].dtype}, which numnet cannot use. "
                "Convert it to numbers or strings, or leave it out with features."):
        TabularPreprocessor().fit(spans, ["took"])
    with raises("column 'size' must have at least one value, got only missing values. Leave "
                "it out with features."):
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


def test_rare_text_values_share_the_other_feature_and_the_state_round_trips():
    frame = pd.DataFrame({"city": ["a"] * 6 + ["b"] * 5 + ["c"] * 2 + ["d", None]})
    pre = TabularPreprocessor(impute="indicator", min_frequency=5).fit(frame, ["city"])
    assert pre.columns_[0] == {"name": "city", "kind": "categorical", "fill": "a",
                               "categories": ["a", "b"], "other": True, "indicator": True}
    assert pre.feature_names_out_ == ["city=a", "city=b", "city=(other)", "city=(missing)"]
    assert pre.feature_groups_ == [("city", 0, 4)]
    new = pd.DataFrame({"city": ["b", "c", "d", "never seen", None]})
    expected = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    assert pre.transform(new).tolist() == expected
    again = TabularPreprocessor.from_state(pre.get_state())
    assert again.min_frequency == 5 and again.transform(new).tolist() == expected
    # without min_frequency every value keeps its feature, and an unseen one is all zeros
    plain = TabularPreprocessor(impute="indicator").fit(frame, ["city"])
    assert plain.feature_names_out_ == ["city=a", "city=b", "city=c", "city=d",
                                        "city=(missing)"]
    assert "min_frequency" not in plain.get_state()


def test_a_column_without_a_frequent_value_keeps_every_value():
    # a tiny table (or an identifier): grouping would leave one constant feature
    frame = pd.DataFrame({"c": ["a", "b", "a", "b"], "id": [f"user{i}" for i in range(4)]})
    pre = TabularPreprocessor(min_frequency=5).fit(frame, ["c", "id"])
    assert pre.feature_names_out_ == ["c=a", "c=b", "id=user0", "id=user1", "id=user2",
                                      "id=user3"]
    assert not any(column.get("other") for column in pre.columns_)
    with pytest.raises(DataError, match=r"^min_frequency must be an integer >= 1 or None, "
                                        r"got 0\.$"):
        TabularPreprocessor(min_frequency=0)


def test_identifier_column_warns():
    ids = pd.DataFrame({"id": [f"user{i}" for i in range(60)]})
    with pytest.warns(UserWarning, match=re.escape(
            "column 'id' looks like an identifier (its 60 values are all different text); it "
            "is used as 60 one-hot features. If it is an identifier, leave it out with "
            "--exclude id.")):
        TabularPreprocessor().fit(ids, ["id"])
    codes = pd.DataFrame({"code": [f"c{i % 70}" for i in range(100)]})
    with pytest.warns(UserWarning, match=re.escape(
            "column 'code' has 70 distinct values in 100 rows, so one-hot encoding adds 70 "
            "features. If it is an identifier, leave it out with --exclude code.")):
        TabularPreprocessor().fit(codes, ["code"])


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


# --- numbers written as text, nested and date columns, constant and row-number columns ------

from numnet.tabular import (  # noqa: E402
    convert_numeric_text,
    numbers_from_text,
    parse_columns,
)


@pytest.mark.parametrize("texts, values, how", [
    (["3,750", "4,250", "950", None], [3750, 4250, 950, np.nan], "thousands separators"),
    (["1,234.5", "12.25", "7"], [1234.5, 12.25, 7], "thousands separators"),
    (["3,75", "12,5", "1.234,5"], [3.75, 12.5, 1234.5], "a decimal comma"),
    (["$1,200", "$ 35.50", "-$3"], [1200, 35.5, -3], "thousands separators and currency signs"),
    (["€12,50", "3 €"], [12.5, 3], "a decimal comma and currency signs"),
    (["12%", "7.5%", "100%"], [0.12, 0.075, 1.0],
     "percent signs (read as fractions: 12% is 0.12)"),
], ids=["thousands", "thousands-and-point", "decimal-comma", "dollars", "euros", "percent"])
def test_numbers_written_as_text_are_read_as_numbers(texts, values, how):
    parsed, said = numbers_from_text(pd.Series(texts, dtype=object), "mass")
    np.testing.assert_allclose(parsed, values)
    assert said == how
    frame = pd.DataFrame({"mass": texts})
    with pytest.warns(UserWarning, match=re.escape(
            f"column 'mass' holds numbers written as text with {how} (e.g. {texts[0]!r}); read "
            "as numbers.")):
        converted = convert_numeric_text(frame, ["mass"])
    np.testing.assert_allclose(converted["mass"], values)
    assert frame["mass"].iloc[0] == texts[0]  # the caller's frame is not changed


def test_plain_text_and_ambiguous_numbers():
    for texts in (["a", "3,750"], ["1", "2.5"], ["2024-01-01"]):
        assert numbers_from_text(pd.Series(texts), "c") == (None, None)
    with raises("column 'c' must use one decimal mark, got '3,75' (decimal comma) and "
                "'1,234.5' (decimal point). Write the numbers without thousands separators and "
                "with a decimal point."):
        numbers_from_text(pd.Series(["3,75", "1,234.5"]), "c")
    with raises("column 'c' must hold numbers written one way, got both currency and percent "
                "signs. Convert the column to plain numbers before training."):
        numbers_from_text(pd.Series(["$3", "4%"]), "c")


def test_trained_numeric_column_reads_text_numbers_at_predict_time():
    pre = TabularPreprocessor().fit(pd.DataFrame({"m": [1000.0, 3000.0]}), ["m"])
    np.testing.assert_allclose(pre.transform(pd.DataFrame({"m": ["2,000", "1,000"]})),
                               [[0.0], [-1.0]])


def test_nested_parquet_columns_are_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "tags": pa.array([["a"], ["b", "c"]], pa.list_(pa.string())),
        "point": pa.array([{"x": 1}, {"x": 2}], pa.struct([("x", pa.int64())])),
        "attrs": pa.array([[("k", 1)], [("k", 2)]], pa.map_(pa.string(), pa.int64())),
        "blob": pa.array([b"\x00", b"\x01"], pa.binary()),
        "y": [1.0, 2.0],
    })
    pq.write_table(table, tmp_path / "nested.parquet")
    frame = read_table(tmp_path / "nested.parquet")
    examples = {"tags": "array(['a'], dtype=object)", "point": "{'x': 1}",
                "attrs": "[('k', 1)]", "blob": "b'\\x00'"}
    kinds = {"tags": "list", "point": "struct", "attrs": "map", "blob": "binary"}
    for name, kind in kinds.items():
        with raises(f"column {name!r} must hold numbers or strings, got {kind} values (e.g. "
                    f"{examples[name]}). Leave it out with exclude, or flatten it into plain "
                    "columns."):
            TabularPreprocessor().fit(frame, [name])


def test_dates_become_year_month_weekday_and_day_features():
    frame = pd.DataFrame({"when": ["2020-01-06", "2021-07-15", "2022-12-31 10:30"]})
    pre = TabularPreprocessor().fit(frame, ["when"])
    assert pre.feature_names_out_ == ["when.year", "when.month", "when.dayofweek",
                                      "when.ordinal"]
    parts = np.array([[2020, 1, 0, 18267], [2021, 7, 3, 18823], [2022, 12, 5, 19357.4375]])
    expected = (parts - parts.mean(axis=0)) / parts.std(axis=0)
    np.testing.assert_allclose(pre.transform(frame), expected)
    # a year never seen in training is a number, not "all zeros"
    later = pre.transform(pd.DataFrame({"when": ["2030-01-06"]}))
    assert later[0, 0] == pytest.approx((2030 - parts[:, 0].mean()) / parts[:, 0].std())
    parquet_dates = pd.DataFrame({"when": pd.to_datetime(frame["when"], format="ISO8601")})
    np.testing.assert_allclose(pre.transform(parquet_dates), expected)
    assert TabularPreprocessor.from_state(pre.get_state()).columns_ == pre.columns_
    with raises("column 'when' must hold dates like 2024-01-31, got '2021-13-45' at row 1. Fix "
                "that value."):
        pre.transform(pd.DataFrame({"when": ["2021-13-45"]}))


def test_constant_columns_are_left_out_and_row_numbers_warn():
    frame = pd.DataFrame({"rownames": np.arange(1, 13), "one": 1.0, "x": np.linspace(0, 1, 12)})
    with pytest.warns(UserWarning) as caught:
        pre = TabularPreprocessor().fit(frame, ["rownames", "one", "x"])
    assert [str(w.message) for w in caught] == [
        "column 'rownames' looks like a row number (its 12 values are all different integers "
        "from 1 to 12); it is used as a feature. If it is an identifier, leave it out with "
        "--exclude rownames.",
        "column 'one' has the same value (1.0) in every training row, so it cannot help; it is "
        "left out.",
    ]
    assert pre.feature_names_in_ == ["rownames", "x"]
    with raises("data must have at least one feature column that varies, got only constant "
                "ones: 'one'."), pytest.warns(UserWarning):
        TabularPreprocessor().fit(frame, ["one"])


# --- reading options ------------------------------------------------------------------------

def test_separator_sniffing_sep_and_encoding(tmp_path):
    (tmp_path / "semi.csv").write_text("name;mass\nAdélie;3,75\nGentoo;5,1\n")
    frame = read_table(tmp_path / "semi.csv")
    assert frame.columns.tolist() == ["name", "mass"]
    assert frame["mass"].tolist() == ["3,75", "5,1"]
    (tmp_path / "pipe.csv").write_text("a|b\n1|2\n")
    assert read_table(tmp_path / "pipe.csv", sep="|").to_dict("list") == {"a": [1], "b": [2]}
    assert read_table(tmp_path / "pipe.csv", sep="\\t").columns.tolist() == ["a|b"]
    (tmp_path / "latin.csv").write_bytes("name,n\nZürich,1\n".encode("latin-1"))
    with raises(f"Cannot read '{tmp_path / 'latin.csv'}' as utf-8 text: it holds the byte 0xfc, "
                "which utf-8 does not allow there. Pass the file's encoding, e.g. --encoding "
                "latin-1."):
        read_table(tmp_path / "latin.csv")
    assert read_table(tmp_path / "latin.csv", encoding="latin-1")["name"].tolist() == ["Zürich"]
    with raises("--encoding must be a text encoding Python knows, got 'klingon'. Use e.g. "
                "utf-8, latin-1 or cp1252."):
        read_table(tmp_path / "latin.csv", encoding="klingon")
    with raises("--sep must be a single character other than a quote or a newline, got ';;'. "
                "Write \\t for a tab, e.g. --sep ';'."):
        read_table(tmp_path / "latin.csv", sep=";;")


@pytest.mark.parametrize("text, names", [
    ("a, b,c", ["a", "b", "c"]),
    ("price\\, EUR,rooms", ["price, EUR", "rooms"]),
    ("back\\\\slash,x\\y", ["back\\slash", "x\\y"]),
])
def test_column_lists_escape_commas(text, names):
    assert parse_columns(text) == names


def test_a_target_of_lists_is_refused():
    from numnet.tabular import target_values

    frame = pd.DataFrame({"y": [[1, 2], [3]], "x": [1.0, 2.0]})
    with raises("target column 'y' must hold numbers or strings, got list values (e.g. [1, 2]). "
                "Choose another target, or flatten it into a plain column of labels or "
                "numbers."):
        target_values(frame, "y", "classification")
