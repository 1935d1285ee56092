"""Output people can read and reuse (issue 24, section 2).

--quiet and --json on every command; inspect shows the hyperparameters in effect and its
--json gives the preprocessing as fields; metrics for reading (full precision in --json); a
confusion matrix that fits the terminal; explain says what it explains; the table suffixes
listed everywhere; the initialisation the CLI's MLPs use, said alike by inspect and the README.
"""

import json
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import numnet as nn
from installed import COMMAND
from installed import run_cli as run
from numnet.cli import app
from numnet.cli.report import confusion_lines, number

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

README = Path(__file__).parents[1] / "README.md"
NINE = ["Conventional purchase", "FHA insured purchase", "VA guaranteed loan",
        "Refinance cash-out", "Home improvement", "Jumbo fixed rate", "Adjustable rate mortgage",
        "Reverse mortgage HECM", "Construction to permanent"]


def numnet(*args, cwd):
    return subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("output")
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "city": rng.choice(["oslo", "rome", "lima"], size=n)})
    frame["price"] = 2 * frame["x1"] - frame["x2"] + (frame["city"] == "rome") \
        + rng.normal(0, 0.1, n)
    frame["label"] = np.where(frame["x1"] + frame["x2"] > 0, "up", "down")
    frame.to_csv(folder / "data.csv", index=False)
    kind = rng.integers(0, 9, 450)
    nine = pd.DataFrame({"a": kind + rng.normal(0, 0.3, 450), "b": rng.normal(size=450),
                         "kind": [NINE[k] for k in kind]})
    nine.to_csv(folder / "nine.csv", index=False)
    for args in (["data.csv", "-t", "label", "--exclude", "price", "-o", "label.numnet"],
                 ["data.csv", "-t", "price", "--exclude", "label", "-o", "price.numnet"],
                 ["nine.csv", "-t", "kind", "-o", "nine.numnet"]):
        with pytest.raises(SystemExit) as stop:
            nn.cli.main(["train", *[str(folder / a) if a.endswith((".csv", ".numnet")) else a
                                    for a in args], "--epochs", "20", "--no-refit", "-q"])
        assert stop.value.code == 0
    return folder


# --- every command: --help with an example, --quiet and --json --------------------------------

COMMANDS = sorted(command.name or command.callback.__name__
                  for command in app.registered_commands)


def test_the_commands_are_the_ten_of_the_readme():
    assert COMMANDS == ["demo", "evaluate", "explain", "export", "inspect", "playground", "plot",
                        "predict", "trace", "train"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_quiet_and_json(capsys, command):
    """Before: inspect and trace had no --quiet, demo and playground neither option."""
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "Example:" in out
    assert re.search(r"^\s+(-q, --quiet|--quiet\s+-q)\s+Print nothing but errors", out, re.M), out
    assert re.search(r"^\s+--json\s+Print machine-readable JSON to stdout\.", out, re.M), out


def test_inspect_quiet_prints_nothing_and_checks_the_file_installed_command(folder):
    done = numnet("inspect", "label.numnet", "--quiet", cwd=folder)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    done = numnet("inspect", "data.csv", "-q", cwd=folder)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: Cannot load 'data.csv': this is not a numnet model")


def test_trace_quiet_prints_nothing(capsys, folder):
    assert run(capsys, "trace", folder / "label.numnet", folder / "data.csv", "--row", "2",
               "--quiet") == (0, "", "")
    assert run(capsys, "trace", "--demo", "-q") == (0, "", "")


def test_demo_quiet_and_json(capsys):
    from numnet.demo import run as demo_run

    assert run(capsys, "demo", "--quiet") == (0, "", "")
    code, out, err = run(capsys, "demo", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == demo_run(echo=lambda line: None)


def test_playground_quiet_and_json(capsys, monkeypatch):
    pytest.importorskip("uvicorn")
    monkeypatch.setattr("uvicorn.Server.run", lambda self, sockets=None: None)
    code, out, err = run(capsys, "playground", "--port", "0", "--no-browser", "--json")
    assert (code, err) == (0, "")
    (line,) = out.splitlines()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", json.loads(line)["url"])
    assert run(capsys, "playground", "--port", "0", "--no-browser", "-q") == (0, "", "")


def test_plot_export_and_predict_json(capsys, folder):
    pytest.importorskip("matplotlib")
    code, out, _ = run(capsys, "plot", folder / "label.numnet", "-o", folder / "c.png", "--json")
    assert code == 0
    assert json.loads(out) == {"output": str(folder / "c.png"), "width": 900, "height": 450,
                               "decision_regions": False}
    code, out, _ = run(capsys, "predict", folder / "label.numnet", folder / "data.csv",
                       "--keep", "city", "--proba", "--json")
    assert code == 0
    rows = json.loads(out)
    expected = nn.load(folder / "label.numnet").predict_proba(pd.read_csv(folder / "data.csv"))
    assert len(rows) == 200 and list(rows[0]) == ["city", "prediction", "proba_down", "proba_up"]
    # full precision, not pandas' 10 digits
    assert [row["proba_up"] for row in rows] == expected[:, 1].tolist()
    code, out, _ = run(capsys, "predict", folder / "label.numnet", folder / "data.csv",
                       "-o", folder / "p.txt", "--json")
    assert (code, json.loads(out)) == (0, {"output": str(folder / "p.txt"), "rows": 200})
    pytest.importorskip("onnx")
    code, out, _ = run(capsys, "export", folder / "label.numnet", "-o", folder / "m.onnx",
                       "--json")
    assert code == 0
    assert json.loads(out) == {"output": str(folder / "m.onnx"),
                               "inputs": ["x1", "x2", "city"],
                               "outputs": ["label", "probabilities"], "opset": 17}


# --- inspect: what the model really used, and the preprocessing as fields ----------------------

def test_inspect_shows_the_hyperparameters_in_effect(capsys, folder):
    """Before: penalty='deprecated', and validation_fraction=0.1 after --validation-fraction 0."""
    model = folder / "v0.numnet"
    assert run(capsys, "train", folder / "data.csv", "-t", "label", "--exclude", "price",
               "--validation-fraction", "0", "--preset", "classic", "--epochs", "3", "-o", model,
               "-q")[0] == 0
    code, out, _ = run(capsys, "inspect", model)
    assert code == 0
    assert "penalty=" not in out and "deprecated" not in out
    assert "validation_fraction" not in out  # early stopping's share: not used
    assert "momentum" not in out and "beta_1=0.9" in out  # adam's, not sgd's
    assert "validation: none, trained on every row (--validation-fraction 0)\n" in out
    description = json.loads(run(capsys, "inspect", model, "--json")[1])
    assert description["validation"] == {"fraction": 0.0, "rows": 0}
    assert "penalty" not in description["params"]
    assert "validation_fraction" not in description["params"]

    linear = folder / "linear.numnet"
    assert run(capsys, "train", folder / "data.csv", "-t", "price", "--exclude", "label",
               "--model", "linear", "-o", linear, "-q")[0] == 0
    params = json.loads(run(capsys, "inspect", linear, "--json")[1])["params"]
    assert params["solver"] == "lstsq"  # 'auto', as it ran: an exact solve, no learning rate
    assert "learning_rate_init" not in params and "max_iter" not in params

    stopped = folder / "es.numnet"
    assert run(capsys, "train", folder / "data.csv", "-t", "label", "--exclude", "price",
               "--early-stopping", "--preset", "classic", "--epochs", "3", "-o", stopped,
               "-q")[0] == 0
    code, out, _ = run(capsys, "inspect", stopped)
    assert "validation_fraction=0.1" in out  # early stopping's share of the training rows
    assert "validation: 40 rows held out (--validation-fraction 0.2)\n" in out


def test_inspect_json_gives_the_preprocessing_as_fields(capsys, folder):
    """Before: preprocessing.columns was a list of display strings."""
    code, out, _ = run(capsys, "inspect", folder / "label.numnet", "--json")
    assert code == 0
    pipeline = nn.load(folder / "label.numnet")
    x1, x2, city = pipeline.preprocessor.columns_
    assert json.loads(out)["preprocessing"]["columns"] == [
        {"name": "x1", "kind": "numeric", "scaling": "robust", "median": x1["mean"],
         "spread": x1["scale"], "clip": 3.0, "fill": x1["fill"], "missing_indicator": False},
        {"name": "x2", "kind": "numeric", "scaling": "robust", "median": x2["mean"],
         "spread": x2["scale"], "clip": 3.0, "fill": x2["fill"], "missing_indicator": False},
        {"name": "city", "kind": "categorical", "categories": ["lima", "oslo", "rome"],
         "missing_category": False, "other_category": False}]
    code, out, _ = run(capsys, "inspect", folder / "label.numnet")
    assert (f"  x1: numeric, robust: median {x1['mean']:.4g}, spread {x1['scale']:.4g}, clipped "
            f"smoothly to +-3, fill {x1['fill']:.4g}\n") in out
    assert "  city: categorical, 3 categories (lima, oslo, rome)\n" in out


# --- metrics and the confusion matrix -----------------------------------------------------------

def test_metrics_are_printed_for_reading_and_kept_whole_in_json(capsys, folder):
    """Before: 'R² -1129344.0079' and 'RMSE 12004829758.9378'."""
    code, out, _ = run(capsys, "train", folder / "data.csv", "-t", "price", "--exclude",
                       "label", "--learning-rate", "10", "--no-refit", "-o",
                       folder / "lr10.numnet")
    assert code == 0
    metrics = nn.load(folder / "lr10.numnet").info["metrics"]
    assert metrics["r2"] < -1e5 and metrics["rmse"] > 1e5
    lines = out.splitlines()
    assert lines[1:4] == [f"  R²                 {metrics['r2']:.4g}",
                          f"  RMSE               {metrics['rmse']:.4g}",
                          f"  MAE                {metrics['mae']:.4g}"]
    assert re.fullmatch(r"  R²\s+-\d\.\d+e\+\d\d", lines[1])
    code, out, _ = run(capsys, "evaluate", folder / "lr10.numnet", folder / "data.csv", "--json")
    assert code == 0
    assert json.loads(out)["metrics"]["rmse"] == pytest.approx(float(np.sqrt(np.mean((
        nn.load(folder / "lr10.numnet").predict(pd.read_csv(folder / "data.csv"))
        - pd.read_csv(folder / "data.csv")["price"]) ** 2))), rel=1e-12)


@pytest.mark.parametrize(("value", "text"), [
    (0.95123, "0.9512"), (0.0, "0.0000"), (-0.5, "-0.5000"), (12345.678, "12345.6780"),
    (-1129344.0079, "-1.129e+06"), (12004829758.9378, "1.2e+10"), (3.2e-05, "3.2e-05"),
    (float("nan"), "nan"), (float("-inf"), "-inf")])
def test_number_reads_well(value, text):
    assert number(value) == text


def test_a_small_confusion_matrix_is_printed_whole():
    assert confusion_lines(["down", "up"], [[10, 2], [3, 15]], width=80) == [
        "Confusion matrix (rows: true label, columns: predicted):",
        "          down     up",
        "    down     10      2",
        "      up      3     15"]


def test_a_nine_class_confusion_matrix_fits_the_terminal(capsys, folder, monkeypatch):
    """Before: 230 characters wide."""
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "evaluate", folder / "nine.numnet", folder / "nine.csv")
    assert code == 0
    lines = out.splitlines()
    start = lines.index("Confusion matrix (rows: true label, columns: predicted, numbered as "
                        "the rows):")
    matrix = lines[start + 1:]
    assert len(matrix) == 10 and max(len(line) for line in matrix) <= 80
    assert matrix[0].split() == [str(k) for k in range(1, 10)]
    labels = sorted(NINE)
    result = json.loads(run(capsys, "evaluate", folder / "nine.numnet", folder / "nine.csv",
                            "--json")[1])
    assert result["labels"] == labels
    for k, (line, row) in enumerate(zip(matrix[1:], result["confusion_matrix"], strict=True)):
        assert line.startswith(f"  {k + 1} {labels[k]}")
        assert [int(n) for n in line.split()[-9:]] == row

    monkeypatch.setenv("COLUMNS", "40")  # the labels cut to fit
    out = run(capsys, "evaluate", folder / "nine.numnet", folder / "nine.csv")[1]
    matrix = out.split("numbered as the rows):\n")[1].splitlines()
    assert max(len(line) for line in matrix) <= 40 and "  1 Adjustab… " in matrix[1]

    monkeypatch.setenv("COLUMNS", "30")  # not even numbered columns fit
    out = run(capsys, "evaluate", folder / "nine.numnet", folder / "nine.csv")[1]
    table = out.split("Per class (the confusion matrix is too wide for the terminal; --json "
                      "has it):\n")[1].splitlines()
    assert table[0].split() == ["class", "rows", "recall", "precision", "most", "often",
                                "taken", "for"]
    assert len(table) == 10
    first = result["confusion_matrix"][0]
    assert re.match(rf"  Adjustable … +{sum(first)} +{first[0] / sum(first):.3f} ", table[1])


def test_the_per_class_table_names_the_most_frequent_confusion():
    assert confusion_lines(["a", "b", "c"], [[5, 1, 4], [0, 7, 0], [2, 0, 0]], width=10) == [
        "Per class (the confusion matrix is too wide for the terminal; --json has it):",
        "  class    rows  recall precision  most often taken for",
        "  a          10   0.500     0.714  c (4)",
        "  b           7   1.000     0.875  -",
        "  c           2   0.000     0.000  a (2)"]


# --- explain ------------------------------------------------------------------------------------

def test_explain_says_what_it_explains(capsys, folder):
    """Before: no class or output named, and 'mean |attribution|' for a single row."""
    pipeline = nn.load(folder / "label.numnet")
    frame = pd.read_csv(folder / "data.csv")
    label = pipeline.predict(frame.iloc[[2]])[0]
    code, out, _ = run(capsys, "explain", folder / "label.numnet", folder / "data.csv", "--rows",
                       "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == [f"Explaining the logit of the predicted class, '{label}'.",
                         "integrated gradients of row 3, attribution per column:"]
    assert all(re.fullmatch(r"  \S+ +[+-]\S+", line) for line in lines[2:5]), lines
    summary = json.loads(run(capsys, "explain", folder / "label.numnet", folder / "data.csv",
                             "--rows", "3", "--json")[1])
    assert summary["explains"] == {"output": "logit", "class": "predicted",
                                   "rows_by_class": {label: 1}}
    assert set(summary["attribution"]) == {"x1", "x2", "city"}

    code, out, _ = run(capsys, "explain", folder / "label.numnet", folder / "data.csv",
                       "--target", "up", "--probability", "--rows", "1,2")
    assert out.splitlines()[:2] == [
        "Explaining the probability of class 'up'.",
        "integrated gradients over 2 row(s), mean |attribution| per column:"]
    code, out, _ = run(capsys, "explain", folder / "price.numnet", folder / "data.csv", "-m",
                       "saliency")
    assert out.splitlines()[:2] == [
        "Explaining the predicted 'price'.",
        "saliency over 200 row(s), mean |attribution| per feature:"]


def test_a_large_completeness_gap_suggests_more_steps(capsys, folder):
    code, out, _ = run(capsys, "explain", folder / "label.numnet", folder / "data.csv",
                       "--steps", "1", "-o", folder / "why.csv")
    assert code == 0
    table = pd.read_csv(folder / "why.csv")
    gap = float(np.abs(table["delta"]).max())
    change = float(np.abs(table["output"] - table["baseline_output"]).max())
    assert gap > 0.01 * change
    assert out.splitlines()[-1] == (
        f"Completeness: the attributions add up to F(x) - F(x') within {gap:.2g} (largest "
        f"|delta|). That is {gap / change:.0%} of the largest |F(x) - F(x')|, a large gap: pass "
        "more --steps (it was 1; try --steps 4).")
    out = run(capsys, "explain", folder / "label.numnet", folder / "data.csv")[1]
    assert out.splitlines()[-1].endswith("(largest |delta|).")  # 50 steps: a small gap


# --- file suffixes ------------------------------------------------------------------------------

def test_txt_is_read_as_csv_and_every_message_lists_it_installed_command(folder):
    """Before: .txt was read as CSV while the help said 'by suffix' and the error for .xlsx
    listed only .csv, .tsv and .parquet."""
    (folder / "data.txt").write_text((folder / "data.csv").read_text())
    (folder / "data.xlsx").write_bytes(b"PK\x03\x04")
    done = numnet("evaluate", "label.numnet", "data.txt", "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_samples"] == 200
    done = numnet("train", "data.xlsx", "-t", "label", "-o", "x.numnet", cwd=folder)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: DATA must be a .csv, .txt, .tsv, .tab, .parquet or .pq file (or - for CSV on "
        "stdin), got 'data.xlsx'. Save the table in one of these formats (.csv and .txt are "
        "read as CSV, .tsv and .tab as TSV; a text file may be compressed: .gz, .bz2, .xz, "
        ".zip, .zst).\n")
    done = numnet("predict", "label.numnet", "data.csv", "-o", "p.csv.gz", cwd=folder)
    assert done.stderr == ("error: --output must be a .csv, .txt, .tsv, .tab, .parquet or .pq "
                           "file (or leave it out for CSV on stdout), got 'p.csv.gz'.\n")


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "explain", "trace"])
def test_the_help_lists_every_table_suffix(capsys, command):
    out = " ".join(run(capsys, command, "--help")[1].split())
    assert "CSV (.csv, .txt), TSV (.tsv, .tab) or Parquet (.parquet, .pq)" in out or (
        "CSV: .csv or .txt, TSV: .tsv or .tab, Parquet: .parquet or .pq" in out), out


# --- initialisation ------------------------------------------------------------------------------

def test_inspect_and_the_readme_say_the_initialisation_the_mlps_use(capsys, folder):
    """Before: the README said He initialisation before ReLU; inspect showed glorot_uniform."""
    out = run(capsys, "inspect", folder / "label.numnet")[1]
    assert ("  initialisation: scikit-learn's MLP: W and b ~ U(-a, a), a = sqrt(6 / (n_in + "
            "n_out))\n") in out
    readme = " ".join(README.read_text().split())
    assert ("The estimators, and so `numnet train`, use scikit-learn's MLP initialisation "
            "instead") in readme
    # what the code does: the bound holds and the biases are not zero (not Dense's Glorot)
    X = np.random.default_rng(0).normal(size=(50, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = nn.MLPClassifier((64,), max_iter=0, random_state=0).fit(
            X, X[:, 0] > 0).network_
    W, b = net.layers[0].params["W"], net.layers[0].params["b"]
    bound = np.sqrt(6 / (5 + 64))
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.9 * bound
    assert np.abs(b).max() > 0.5 * bound
