"""End to end: the installed ``numnet`` command on real CSV and Parquet files, in subprocesses.

Each call costs an interpreter start-up (about a second), so the tests chain a few calls each.
"""

import json
import shutil
import subprocess
import sys

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from installed import COMMAND


def numnet(*args, cwd, stdin=None):
    return subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, input=stdin, timeout=300)


@pytest.fixture(scope="module")
def flowers(tmp_path_factory):
    """Two numeric features, a string class with a missing value, and an id column."""
    folder = tmp_path_factory.mktemp("e2e")
    rng = np.random.default_rng(0)
    centres = {"setosa": (-2.0, 0.0), "versicolor": (2.0, 1.0), "virginica": (0.0, 3.0)}
    species = rng.choice(list(centres), size=180)
    points = np.array([centres[s] for s in species]) + rng.normal(0, 0.6, size=(180, 2))
    frame = pd.DataFrame({"id": np.arange(180), "petal": points[:, 0], "sepal": points[:, 1],
                          "species": species})
    frame.loc[7, "sepal"] = np.nan
    frame.to_csv(folder / "flowers.csv", index=False)
    frame.to_parquet(folder / "flowers.parquet")
    return folder


def test_train_predict_evaluate_inspect_plot_on_csv(flowers):
    train = numnet("train", "flowers.csv", "--target", "species", "--features", "petal,sepal",
                   "--impute", "mean", "--hidden", "16", "--epochs", "60", "--learning-rate",
                   "0.02", "-o", "flowers.numnet", cwd=flowers)
    assert train.returncode == 0, train.stderr
    # the best preset keeps its best epoch, and says which
    assert train.stdout.splitlines()[0].startswith("Validation metrics (36 rows, epoch ")
    assert train.stdout.splitlines()[0].endswith(", before the refit on all 180 rows):")
    accuracy = float(train.stdout.splitlines()[1].split()[1])
    assert accuracy > 0.9
    assert "epoch 60/60" in train.stderr and "Traceback" not in train.stderr

    predict = numnet("predict", "flowers.numnet", "flowers.csv", "--keep", "id", "--proba",
                     "-o", "predictions.csv", cwd=flowers)
    assert predict.returncode == 0, predict.stderr
    predictions = pd.read_csv(flowers / "predictions.csv")
    assert list(predictions.columns) == ["id", "prediction", "proba_setosa", "proba_versicolor",
                                         "proba_virginica"]
    assert predictions["id"].tolist() == list(range(180))
    truth = pd.read_csv(flowers / "flowers.csv")["species"]
    assert (predictions["prediction"] == truth).mean() > 0.9

    evaluate = numnet("evaluate", "flowers.numnet", "flowers.csv", "--json", cwd=flowers)
    assert evaluate.returncode == 0, evaluate.stderr
    result = json.loads(evaluate.stdout)
    assert result["labels"] == ["setosa", "versicolor", "virginica"]
    assert result["metrics"]["accuracy"] == pytest.approx((predictions["prediction"] == truth)
                                                          .mean())

    inspect = numnet("inspect", "flowers.numnet", cwd=flowers)
    assert inspect.returncode == 0, inspect.stderr
    assert "classes: setosa, versicolor, virginica" in inspect.stdout
    # the best preset's 3 members of 16 units side by side: 2*48 + 48 + 48*3 + 3 parameters
    assert "network (2 inputs, float64, 291 parameters):" in inspect.stdout
    assert "members=3" in inspect.stdout

    plot = numnet("plot", "flowers.numnet", "-o", "curves.png", "--data", "flowers.csv",
                  "--width", "800", "--height", "400", cwd=flowers)
    assert plot.returncode == 0, plot.stderr
    image = matplotlib.image.imread(flowers / "curves.png")  # decodes: a valid PNG
    assert image.shape == (400, 800, 4)
    assert image[..., :3].std() > 0.1  # something was drawn


def test_parquet_and_stdin(flowers):
    train = numnet("train", "flowers.parquet", "-t", "petal", "--features", "sepal,species",
                   "--impute", "median", "--model", "linear", "--json", "-q",
                   "-o", "petal.numnet", cwd=flowers)
    assert train.returncode == 0, train.stderr
    assert train.stderr == ""
    report = json.loads(train.stdout)
    assert report["task"] == "regression" and report["metrics"]["r2"] > 0.8

    csv = (flowers / "flowers.csv").read_text()
    predict = numnet("predict", "petal.numnet", "-", "-o", "petal.parquet", "-q", cwd=flowers,
                     stdin=csv)
    assert predict.returncode == 0, predict.stderr
    assert len(pd.read_parquet(flowers / "petal.parquet")) == 180


def test_errors_are_one_line_with_exit_code_2(flowers):
    result = numnet("train", "flowers.csv", "--target", "colour", "-o", "x.numnet",
                    cwd=flowers)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("error: --target must name columns of 'flowers.csv', got unknown "
                             "'colour'. The columns are: 'id', 'petal', 'sepal', 'species'.\n")


def test_internal_errors_exit_1_with_a_traceback(flowers):
    code = ("import sys, numnet.tabular.reading as t\n"
            "def broken(*a, **k): raise RuntimeError('internal bug')\n"
            "t.read_table = broken\n"
            "from numnet.cli import main\n"
            "main(['train', 'flowers.csv', '-t', 'species', '-o', 'x.numnet'])\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=flowers, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: internal bug" in result.stderr


# --- outputs and model files (issue 10, sections 1-4) ---------------------------------------------

def test_outputs_that_would_replace_an_input_or_cannot_be_written_are_refused_first(flowers,
                                                                                 tmp_path):
    data = (flowers / "flowers.csv").read_bytes()
    for args, line in [
        (["-o", "flowers.csv"], "error: Cannot write 'flowers.csv': it is the input file "
                                "'flowers.csv', which would be replaced. Choose another output "
                                "path."),
        (["-o", "missing/m.numnet"], "error: Cannot write 'missing/m.numnet': the folder "
                                     "'missing' does not exist. Create it first."),
        (["-o", "/dev/null"], "error: Cannot write '/dev/null': it is a character device; "
                              "numnet writes only regular files. Choose a file path."),
    ]:
        done = numnet("train", "flowers.csv", "-t", "species", "--impute", "mean", *args,
                      cwd=flowers)
        # one line, exit 2, and no "Training ..." line: refused before the data was read
        assert (done.returncode, done.stdout, done.stderr) == (2, "", line + "\n")
    assert (flowers / "flowers.csv").read_bytes() == data


def test_predict_output_that_is_an_input_is_refused(flowers, tmp_path):
    model = tmp_path / "m.numnet"
    train = numnet("train", flowers / "flowers.csv", "-t", "species", "--impute", "mean",
                   "--hidden", "4", "--epochs", "2", "-q", "-o", model, cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    before = model.read_bytes()
    shutil.copy(flowers / "flowers.csv", tmp_path / "data.csv")
    shutil.copy(model, tmp_path / "model.csv")  # a model file with a table's suffix
    for model_file, output in [(model, "data.csv"), ("model.csv", "model.csv")]:
        done = numnet("predict", model_file, "data.csv", "-o", output, cwd=tmp_path)
        assert (done.returncode, done.stderr) == (
            2, f"error: Cannot write {output!r}: it is the input file {output!r}, which "
               "would be replaced. Choose another output path.\n")
    assert model.read_bytes() == before == (tmp_path / "model.csv").read_bytes()
    assert (tmp_path / "data.csv").read_bytes() == (flowers / "flowers.csv").read_bytes()
    # a symbolic link as the output is followed: the target is written, the link kept
    (tmp_path / "latest.csv").symlink_to(tmp_path / "out.csv")
    done = numnet("predict", model, "data.csv", "-o", "latest.csv", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "latest.csv").is_symlink()
    assert pd.read_csv(tmp_path / "out.csv").shape == (180, 1)
