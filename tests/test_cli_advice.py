"""``numnet train``'s end-of-run advice and last progress line (issue 24, section 1).

The advice names the command line's options, fits what the curves show (a diverging loss, an
overfitting run, a run cut short) and is one piece, never two that contradict each other. The
last progress line under early stopping shows the kept model's figures, those of the table.
"""

import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

import numnet as nn
from installed import COMMAND
from installed import run_cli as run


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("advice")
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "city": rng.choice(["oslo", "rome", "lima"], size=n)})
    frame["price"] = 2 * frame["x1"] - frame["x2"] + (frame["city"] == "rome") \
        + rng.normal(0, 0.1, n)
    frame["label"] = np.where(frame["x1"] + frame["x2"] > 0, "up", "down")
    frame["noise"] = rng.normal(size=n)  # nothing to learn
    frame.to_csv(folder / "data.csv", index=False)
    return folder


def warning_lines(err):
    return [line for line in err.splitlines() if line.startswith("warning: ")]


def test_a_diverging_run_is_told_to_lower_the_learning_rate_installed_command(tables):
    """--learning-rate 10 on a regression table: R² about -1e14 and 'more --epochs' before."""
    done = subprocess.run([*COMMAND, "train", "data.csv", "-t", "price", "--features",
                           "x1,x2,city", "--learning-rate", "10", "--no-refit", "-o",
                           "lr10.numnet"], cwd=tables, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    pipeline = nn.load(tables / "lr10.numnet")
    losses = pipeline.estimator.history_.loss
    r2 = pipeline.info["metrics"]["r2"]
    assert r2 < -1e6
    # the target is standardised: predicting its mean scores half its variance, 0.5
    assert warning_lines(done.stderr) == [
        f"warning: the training loss ended at {losses[-1]:.4g} in epoch {len(losses)}, far "
        "above the 0.5 of predicting the mean of the target: training diverged; the "
        f"validation R² is {r2:.4g}, below 0: the model predicts worse than the mean of the "
        "target. Lower --learning-rate (it was 10; try 1)."]
    assert "--epochs" not in done.stderr


def test_a_classifier_whose_loss_explodes_is_told_the_same(capsys, tables):
    code, _, err = run(capsys, "train", tables / "data.csv", "-t", "label", "--features",
                       "x1,x2,city", "--learning-rate", "1000", "--no-refit", "-o",
                       tables / "lr1000.numnet")
    assert code == 0
    losses = nn.load(tables / "lr1000.numnet").estimator.history_.loss
    (line,) = warning_lines(err)
    shares = line.split("far above the ")[1].split()[0]  # the log-loss of about 50/50 shares
    assert 0.69 <= float(shares) <= np.log(2)
    assert line == (
        f"warning: the training loss ended at {losses[-1]:.4g} in epoch {len(losses)}, far "
        f"above the {shares} of predicting the class shares: training diverged. Lower "
        "--learning-rate (it was 1000; try 100).")


def test_a_run_cut_short_names_epochs_not_max_iter(capsys, tables):
    warnings.simplefilter("always", ConvergenceWarning)
    code, _, err = run(capsys, "train", tables / "data.csv", "-t", "label", "--features", "x1",
                       "--epochs", "2", "--hidden", "4", "--preset", "classic", "-o",
                       tables / "short.numnet")
    assert code == 0
    assert warning_lines(err) == [
        "warning: training reached --epochs 2 while the loss was still improving. Pass more "
        "--epochs (e.g. --epochs 4)."]
    assert "max_iter" not in err


def test_a_linear_model_cut_short_names_the_command_line_options(capsys, tables):
    warnings.simplefilter("always", ConvergenceWarning)
    code, _, err = run(capsys, "train", tables / "data.csv", "-t", "label", "--features", "x1",
                       "--model", "logistic", "--solver", "gd", "--epochs", "3", "-o",
                       tables / "gd.numnet")
    assert code == 0
    assert warning_lines(err) == [
        "warning: training ended after 3 epochs without converging (the largest entry of the "
        "loss's minimum-norm subgradient is above the tolerance). Pass more --epochs (e.g. "
        "--epochs 6), or --solver lbfgs."]


def test_an_overfitting_run_gets_one_piece_of_advice(capsys, tables):
    """Before: 'Try --model linear, or more --epochs' next to 'Pass --early-stopping'."""
    warnings.simplefilter("always", ConvergenceWarning)
    code, _, err = run(capsys, "train", tables / "data.csv", "-t", "noise", "--features",
                       "x1,x2", "--preset", "classic", "--hidden", "32", "--epochs", "60",
                       "--learning-rate", "0.05", "-o", tables / "noise.numnet")
    assert code == 0
    pipeline = nn.load(tables / "noise.numnet")
    curve = pipeline.info["validation_curve"]["val_loss"]
    best = int(np.argmin(curve))
    r2 = pipeline.info["metrics"]["r2"]
    assert r2 < 0
    assert warning_lines(err) == [
        f"warning: the validation loss ended at {curve[-1]:.4g}, "
        f"{curve[-1] / curve[best] - 1:.0%} above its best of {curve[best]:.4g} in epoch "
        f"{best + 1}, and the last epoch's model was kept; the validation R² is {r2:.4g}, "
        "below 0: the model predicts worse than the mean of the target. Pass --early-stopping "
        "to keep the best one, or train fewer --epochs."]


def test_the_last_progress_line_shows_the_kept_model_as_the_table_does(capsys, tables):
    """Before: epoch 17's figures '(the model of epoch 6 is kept)', and a validation log-loss
    on it (unclipped) that was not the table's."""
    code, out, err = run(capsys, "train", tables / "data.csv", "-t", "label", "--features",
                         "x1,x2,city", "--learning-rate", "1000", "--early-stopping", "-o",
                         tables / "es.numnet")
    assert code == 0
    pipeline = nn.load(tables / "es.numnet")
    history = pipeline.estimator.history_
    kept, epochs = history.best_epoch, len(history.loss)
    assert kept < epochs
    metrics = pipeline.info["metrics"]
    curve = pipeline.info["validation_curve"]
    assert curve["val_loss"][kept - 1] == pytest.approx(metrics["log_loss"], rel=1e-9)
    last = err.splitlines()[-1]
    assert last.startswith(
        f"kept epoch {kept} of {epochs}  loss {history.loss[kept - 1]:.4g}  val_loss "
        f"{metrics['log_loss']:.4g}  val_accuracy {metrics['accuracy']:.4g}  elapsed ")
    assert last.endswith("s  done")
    assert out.splitlines()[0] == f"Validation metrics (60 rows, kept epoch {kept} of {epochs}):"


def test_a_batch_larger_than_the_rows_names_batch_size_option(capsys, tables):
    """Before: 'batch_size of MLPClassifier is 500, larger than the 240 training samples'."""
    code, _, err = run(capsys, "train", tables / "data.csv", "-t", "label", "--features", "x1",
                       "--batch-size", "500", "--epochs", "2", "--preset", "classic", "-o",
                       tables / "batch.numnet")
    assert code == 0
    assert ("warning: --batch-size 500 is larger than the 240 training rows; each batch takes "
            "all 240.\n") in err
    assert "batch_size" not in err
