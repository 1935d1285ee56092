"""Every mistake at once, and messages for the command in hand (issue 24, section 3).

A table's problems come in one message (every missing column, every column needing
``--dp-bounds``, every column's bad values); a message names only the options of the command
that prints it and what the user gave; a header read as one column says which separator it
looks like; an unknown column name gets its close matches; one rule decides which integer
columns look like identifiers. The command-line findings run through the installed ``numnet``.
"""

import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

from installed import COMMAND, HANG_TIMEOUT
from numnet.tabular import SpecError, TabularPreprocessor
from numnet.tabular.problems import problem
from numnet.tabular.reading import close_matches

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def numnet(*args, cwd):
    """(exit code, stdout, stderr) of the installed ``numnet ARGS``."""
    done = subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=HANG_TIMEOUT)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def here(tmp_path_factory):
    """A loan table, its variants, and a classifier and a regressor trained on it."""
    folder = tmp_path_factory.mktemp("mistakes")
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"income": rng.normal(50, 10, n).round(1),
                          "debt": rng.normal(10, 3, n).round(1),
                          "age": rng.integers(20, 70, n)})
    frame["deny"] = np.where(frame["debt"] / frame["income"] > 0.2, "yes", "no")
    frame["rate"] = (frame["debt"] / frame["income"] * 10).round(3)
    frame.to_csv(folder / "loans.csv", index=False)
    frame.drop(columns=["debt", "age", "rate"]).to_csv(folder / "partial.csv", index=False)
    frame.assign(rate="high").to_csv(folder / "text-rate.csv", index=False)
    bad = frame.astype({"income": object, "debt": object, "age": object})
    bad.loc[[3, 8], "income"] = ["ten", "n.a."]
    bad.loc[5, "debt"] = np.nan
    bad.loc[11, "age"] = "old"
    bad.to_csv(folder / "bad.csv", index=False)
    wide = pd.DataFrame({f"m{i}": rng.normal(size=n).round(2) for i in range(13)})
    wide.assign(deny=frame["deny"]).to_csv(folder / "wide.csv", index=False)
    frame.to_csv(folder / "loans.tsv.csv", sep="\t", index=False)
    for args in (["-t", "deny", "--exclude", "rate", "-o", "deny.numnet"],
                 ["-t", "rate", "--exclude", "deny", "-o", "rate.numnet"],
                 ["-t", "rate", "--exclude", "deny", "--impute", "none", "-o", "plain.numnet"]):
        code, _, err = numnet("train", "loans.csv", *args, "--hidden", "4", "--epochs", "2",
                              "-q", cwd=folder)
        assert code == 0, err
    return folder


def refused(result, line):
    code, out, err = result
    assert (code, out, err) == (2, "", f"error: {line}\n")


# --- every mistake at once ----------------------------------------------------------------


def test_predict_names_every_missing_column(here):
    refused(numnet("predict", "deny.numnet", "partial.csv", cwd=here),
            "data must have the columns 'debt', 'age' that the model was trained on, got "
            "columns ['income', 'deny'].")


def test_dp_epsilon_names_every_column_that_needs_bounds(here):
    names = ", ".join(f"'m{i}'" for i in range(10))
    refused(numnet("train", "wide.csv", "-t", "deny", "--dp-epsilon", "3", "--dp-categories",
                   "deny=no|yes", "-o", "m.numnet", cwd=here),
            f"numeric columns {names} and 3 more need bounds under --dp-epsilon: pass "
            "--dp-bounds COL=LO:HI for each (their scaling must not come from the data), or "
            "leave them out with --exclude " + ",".join(f"m{i}" for i in range(13)) + ".")


def test_the_dp_options_and_the_target_are_checked_together(here):
    refused(numnet("train", "loans.csv", "-t", "deny", "--exclude", "rate", "--dp-epsilon", "3",
                   "--dp-bounds", "income=0:100,salary=0:9,tenure=0:9", "-o", "m.numnet",
                   cwd=here),
            "3 problems: (1) --dp-bounds names columns 'salary', 'tenure', which are neither "
            "features nor the target; features: 'income', 'debt', 'age'. (2) the classification "
            "target 'deny' needs its classes under --dp-epsilon: pass --dp-categories "
            "'deny=A|B' (the class list must not come from the data). (3) numeric columns "
            "'debt', 'age' need bounds under --dp-epsilon: pass --dp-bounds debt=LO:HI,age=LO:HI "
            "(their scaling must not come from the data), or leave them out with --exclude "
            "debt,age.")


def test_a_table_with_problems_in_several_columns_needs_one_run(here):
    # a typo twice in income, a missing debt without imputation, a word among ages
    refused(numnet("train", "bad.csv", "-t", "deny", "--exclude", "rate", "--impute", "none",
                   "-o", "m.numnet", cwd=here),
            "3 problems: (1) column 'income' must be numeric, got 'ten' at row 4, 'n.a.' at row "
            "9. Fix those values, or leave them empty and use --impute. (2) column 'debt' has 1 "
            "missing value(s), the first at row 6. Fill or drop them, or pass --impute "
            "indicator|mean|median|most_frequent. (3) column 'age' must be numeric, got 'old' at "
            "row 12. Fix that value, or leave it empty and use --impute.")


def test_predict_names_every_column_with_bad_values_and_no_option_it_lacks(here):
    # predict has no --impute: a model that fills missing values says so, one that does not
    # asks only for the values to be fixed
    frame = pd.read_csv(here / "bad.csv").assign(debt=10.0)
    frame.to_csv(here / "bad-values.csv", index=False)
    refused(numnet("predict", "rate.numnet", "bad-values.csv", cwd=here),
            "2 problems: (1) column 'income' must be numeric (as in training), got 'ten' at row "
            "4, 'n.a.' at row 9. Fix those values, or leave them empty: the model fills missing "
            "values. (2) column 'age' must be numeric (as in training), got 'old' at row 12. Fix "
            "that value, or leave it empty: the model fills missing values.")
    refused(numnet("predict", "plain.numnet", "bad-values.csv", cwd=here),
            "2 problems: (1) column 'income' must be numeric (as in training), got 'ten' at row "
            "4, 'n.a.' at row 9. Fix those values. (2) column 'age' must be numeric (as in "
            "training), got 'old' at row 12. Fix that value.")


def test_many_problems_and_many_values_list_ten_then_say_how_many_more():
    error = SpecError([problem("p{i}.", i=i) for i in range(12)])
    assert str(error) == ("12 problems: " + " ".join(f"({i + 1}) p{i}." for i in range(10))
                          + " ... and 2 more.")
    frame = pd.DataFrame({"x": ["1.5"] * 200 + [f"w{i}" for i in range(10)] + ["?", "!"]})
    with pytest.raises(SpecError) as caught:
        TabularPreprocessor().fit(frame, ["x"])
    assert str(caught.value) == (
        "column 'x' must be numeric, got " + ", ".join(f"'w{i}' at row {201 + i}"
                                                       for i in range(10))
        + " and 2 more. Fix those values, or leave them empty and use impute.")


# --- messages for the command in hand -------------------------------------------------------


def test_evaluate_without_the_target_column_does_not_blame_an_option_not_given(here):
    frame = pd.read_csv(here / "loans.csv")
    frame[["income"]].to_csv(here / "income.csv", index=False)
    refused(numnet("evaluate", "deny.numnet", "income.csv", cwd=here),
            "data must have the columns 'debt', 'age' and the target column 'deny' that the model "
            "was trained on, got columns ['income']. Name the column of true values with "
            "--target.")
    refused(numnet("evaluate", "deny.numnet", "income.csv", "-t", "verdict", cwd=here),
            "2 problems: (1) --target must name columns of 'income.csv', got unknown 'verdict'. "
            "The columns are: 'income'. (2) data must have the columns 'debt', 'age' that the "
            "model was trained on, got columns ['income'].")
    frame.drop(columns=["deny"]).to_csv(here / "unlabelled.csv", index=False)
    refused(numnet("evaluate", "deny.numnet", "unlabelled.csv", cwd=here),
            "data must have the target column 'deny' that the model was trained on, got columns "
            "['income', 'debt', 'age', 'rate']. Name the column of true values with --target.")
    refused(numnet("evaluate", "deny.numnet", "unlabelled.csv", "--drop-missing-target",
                   cwd=here),
            "data must have the target column 'deny' that the model was trained on, got columns "
            "['income', 'debt', 'age', 'rate']. Name the column of true values with --target.")


def test_evaluate_of_a_regression_on_a_text_target_does_not_suggest_task(here):
    refused(numnet("evaluate", "rate.numnet", "text-rate.csv", cwd=here),
            "target column 'rate' must be numeric for regression, got 'high' at row 1. The model "
            "does regression: score it against a column of numbers.")
    refused(numnet("evaluate", "rate.numnet", "loans.csv", "-t", "deny", cwd=here),
            "target column 'deny' must be numeric for regression, got 'no' at row 1. The model "
            "does regression: score it against a column of numbers. Check that --target names "
            "it.")


def test_trace_and_explain_of_a_regression_on_a_text_target(here):
    refused(numnet("trace", "rate.numnet", "text-rate.csv", "--row", "2", cwd=here),
            "target column 'rate' must be numeric for regression, got 'high' at row 2. The model "
            "does regression: fix that value, or leave the target column out of DATA to trace "
            "the forward pass only.")
    refused(numnet("explain", "rate.numnet", "text-rate.csv", "-m", "permutation", cwd=here),
            "target column 'rate' must be numeric for regression, got 'high' at row 1. The model "
            "does regression: score it against a column of numbers.")


# --- a header read as one column, a name that is almost right --------------------------------


def test_a_wrong_separator_is_named(here):
    refused(numnet("train", "loans.csv", "--sep", ";", "-t", "deny", "-o", "m.numnet", cwd=here),
            "--target must name columns of 'loans.csv', got unknown 'deny'. The columns are: "
            "'income,debt,age,deny,rate'. The header looks comma-separated: pass --sep ','.")
    refused(numnet("train", "loans.tsv.csv", "-t", "deny", "-o", "m.numnet", cwd=here),
            "--target must name columns of 'loans.tsv.csv', got unknown 'deny'. The columns are: "
            "'income\\tdebt\\tage\\tdeny\\trate'. The header looks tab-separated: pass --sep "
            "'\\t'.")
    refused(numnet("predict", "deny.numnet", "loans.csv", "--sep", "|", cwd=here),
            "data must have the columns 'income', 'debt', 'age' that the model was trained on, "
            "got columns ['income,debt,age,deny,rate']. The header looks comma-separated: pass "
            "--sep ','.")


def test_a_column_name_in_the_wrong_case_or_misspelt_gets_its_close_match(here):
    refused(numnet("train", "loans.csv", "-t", "Deny", "-o", "m.numnet", cwd=here),
            "--target must name columns of 'loans.csv', got unknown 'Deny'. Did you mean 'deny'? "
            "The columns are: 'income', 'debt', 'age', 'deny', 'rate'.")
    refused(numnet("train", "loans.csv", "-t", "deny", "--features", "Income,det,weight",
                   "-o", "m.numnet", cwd=here),
            "--features must name columns of 'loans.csv', got unknown 'Income', 'det', 'weight'. "
            "Did you mean 'income' for 'Income', 'debt' for 'det'? The columns are: 'income', "
            "'debt', 'age', 'deny', 'rate'.")


def test_every_option_naming_unknown_columns_is_reported_in_one_run(here):
    columns = "The columns are: 'income', 'debt', 'age', 'deny', 'rate'."
    refused(numnet("train", "loans.csv", "-t", "Deny", "--features", "income,dept", "--exclude",
                   "Age", "--sample-weight", "w", "-o", "m.numnet", cwd=here),
            "4 problems: (1) --target must name columns of 'loans.csv', got unknown 'Deny'. Did "
            f"you mean 'deny'? {columns} (2) --features must name columns of 'loans.csv', got "
            f"unknown 'dept'. Did you mean 'debt'? {columns} (3) --exclude must name columns of "
            f"'loans.csv', got unknown 'Age'. Did you mean 'age'? {columns} (4) --sample-weight "
            f"must name columns of 'loans.csv', got unknown 'w'. {columns}")


def test_close_matches_prefer_the_same_name_in_another_case():
    assert close_matches("RATE", ["rate", "Rate", "race"]) == ["rate", "Rate"]
    assert close_matches("incme", ["income", "outcome", "zzz"]) == ["income"]
    assert close_matches("weight", ["rate", "age"]) == []


# --- one rule for identifiers ---------------------------------------------------------------


def identifier_warnings(values, name="v"):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TabularPreprocessor().fit(pd.DataFrame({name: values, "y": 1.0}), [name])
    return [str(w.message) for w in caught if "looks like" in str(w.message)]


def patient_ids():
    """927 distinct integers from 15 to 9263 over 1,236 rows (some patients twice)."""
    rng = np.random.default_rng(1)
    ids = np.concatenate([[15, 9263], rng.choice(np.arange(16, 9263), 925, replace=False)])
    return rng.permutation(np.concatenate([ids, rng.choice(ids, 1236 - 927)]))


def test_identifier_warning_for_row_numbers_and_for_ids_not_in_row_order():
    assert identifier_warnings(np.arange(1, 41), "rownames") == [
        "column 'rownames' looks like a row number (its 40 values are all different integers "
        "from 1 to 40); it is used as a feature. If it is an identifier, leave it out with "
        "--exclude rownames."]
    assert identifier_warnings(patient_ids(), "patient") == [
        "column 'patient' looks like an identifier (its 1236 values are 927 different integers "
        "spread evenly from 15 to 9263); it is used as a feature. If it is an identifier, leave "
        "it out with --exclude patient."]
    rng = np.random.default_rng(2)
    keys = np.concatenate([[15, 9263], rng.choice(np.arange(16, 9263), 925, replace=False)])
    assert identifier_warnings(rng.permutation(keys), "key") == [
        "column 'key' looks like an identifier (its 927 values are all different integers "
        "spread evenly from 15 to 9263); it is used as a feature. If it is an identifier, leave "
        "it out with --exclude key."]


@pytest.mark.parametrize("feature", ["cents", "dollars", "grams", "years", "counts", "days",
                                     "area", "ten_rows"])
def test_no_identifier_warning_for_ordinary_integer_features(feature):
    rng = np.random.default_rng(3)
    values = {
        "cents": np.exp(rng.normal(10, 1, 1000)),      # prices in cents: thin over a wide range
        "dollars": np.exp(rng.normal(12, 0.4, 1460)),  # house prices: all different, skewed
        "grams": rng.normal(3300, 500, 1000),          # birth weights: bunched in the middle
        "years": rng.integers(1990, 2024, 1000),       # a few values, repeated
        "counts": rng.poisson(3, 1000),
        "days": rng.integers(0, 36500, 1000),          # ages in days: 3% of their range
        "area": np.exp(rng.normal(9.1, 0.5, 1460)),    # lot areas: skewed
        "ten_rows": rng.normal(50, 10, 9),             # too few values to tell
    }[feature]
    assert identifier_warnings(np.round(values).astype(np.int64), feature) == []


def test_the_installed_command_warns_about_an_id_column_not_in_row_order(tmp_path):
    rng = np.random.default_rng(4)
    ids = patient_ids()
    frame = pd.DataFrame({"patient": ids, "dose": rng.normal(size=len(ids)).round(3)})
    frame["outcome"] = np.where(frame["dose"] > 0, "better", "same")
    frame.to_csv(tmp_path / "visits.csv", index=False)
    code, _, err = numnet("train", "visits.csv", "-t", "outcome", "--validation-fraction", "0",
                          "--model", "logistic", "-o", "m.numnet", cwd=tmp_path)
    assert code == 0, err
    assert ("warning: column 'patient' looks like an identifier (its 1236 values are 927 "
            "different integers spread evenly from 15 to 9263); it is used as a feature. If it "
            "is an identifier, leave it out with --exclude patient.") in err.splitlines()
