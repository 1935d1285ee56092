"""``numnet train``'s presets (issue "Better by default"): what the default model is, that a table
with missing values trains, the time limit, and where the presets are refused."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

import numnet as nn
from installed import COMMAND
from installed import run_cli as run


@pytest.fixture
def here(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    n = 400
    X = rng.normal(size=(n, 3))
    city = rng.choice(["oslo", "rome", "lima"], n).astype(object)
    y = np.where(X[:, 0] + np.sin(2 * X[:, 1]) + (city == "rome") > 0.3, "yes", "no")
    X[rng.random(n) < 0.1, 2] = np.nan
    city[rng.random(n) < 0.05] = None
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "city": city, "y": y})
    frame.to_csv(tmp_path / "d.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_default_trains_a_table_with_missing_values_through_the_installed_command(here):
    done = subprocess.run([*COMMAND, "train", "d.csv", "-t", "y", "-o", "m.numnet"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert ("warning: 2 column(s) have missing values, filled with a 0/1 indicator (numbers: the "
            "median; text: a category of its own): 'c', 'city'.") in done.stderr
    assert "Traceback" not in done.stderr
    assert "Refitting 3 networks on all 400 rows for " in done.stderr
    pipe = nn.load("m.numnet")
    params = pipe.estimator.get_params()
    # three members of 3 x 256, side by side in one network
    assert params["hidden_layer_sizes"] == (768, 768, 768)
    # the saved model is the refit on every row, for the epochs the selection kept
    refit = pipe.info["refit"]
    assert refit["rows"] == 400 and 1 <= refit["epochs"] <= 64 and refit["members"] == 3
    assert refit["epochs"] == pipe.info["metrics_epoch"] == len(pipe.estimator.history_.loss)
    assert (params["max_iter"], params["n_iter_no_change"], params["batch_size"]) == (
        refit["epochs"], refit["epochs"], 256)
    assert (params["learning_rate"], params["label_smoothing"], params["alpha"]) == (
        "cosine", 0.1, 0.0)
    assert not params["early_stopping"] and params["beta_2"] == 0.95
    assert len(pipe.info["validation_curve"]["val_loss"]) == 64   # the selection's curve
    assert pipe.preprocessor.feature_names_out_ == [
        "a", "b", "c", "c.missing", "city=lima", "city=oslo", "city=rome", "city=(missing)"]
    assert pipe.info["components"] == {
        "preset": "best", "impute": "indicator", "scaling": "robust", "rare_text_below": 5,
        "hidden_layer_sizes": [256, 256, 256], "learning_rate": "cosine",
        "label_smoothing": 0.1, "epoch_selection": True, "refit": True, "members": 3}
    assert pipe.info["metrics"]["accuracy"] > 0.8
    out = subprocess.run([*COMMAND, "inspect", "m.numnet"], capture_output=True, text=True,
                         timeout=300).stdout
    assert ("model: preset best (impute=indicator, scaling=robust, rare_text_below=5, "
            "hidden_layer_sizes=[256, "
            "256, 256], learning_rate=cosine, label_smoothing=0.1, epoch_selection=True, "
            "refit=True, members=3)") in out
    assert (f"validation metrics at training time, epoch {refit['epochs']} of 64, before the "
            "refit on all 400 rows:") in out
    # rows with missing values at prediction time are scored
    new = pd.DataFrame({"a": [0.5, np.nan], "b": [np.nan, 1.0], "c": [np.nan, np.nan],
                        "city": [None, "paris"]})
    new.to_csv("new.csv", index=False)
    predicted = subprocess.run([*COMMAND, "predict", "m.numnet", "new.csv"],
                               capture_output=True, text=True, timeout=300)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.splitlines()[1:] in (["yes", "yes"], ["yes", "no"], ["no", "yes"],
                                                 ["no", "no"])


def test_fast_and_classic_presets_and_explicit_options_win(here, capsys):
    assert run(capsys, "train", "d.csv", "-t", "y", "-o", "f.numnet", "--preset", "fast",
               "--epochs", "5", "--no-refit", "-q")[0] == 0
    params = nn.load("f.numnet").estimator.get_params()
    assert params["hidden_layer_sizes"] == (128, 128)
    assert (params["max_iter"], params["n_iter_no_change"]) == (5, 5)   # --epochs wins
    code, _, err = run(capsys, "train", "d.csv", "-t", "y", "-o", "c.numnet", "--preset",
                       "classic", "-q")
    fix = "Fill or drop them, or pass --impute indicator|mean|median|most_frequent."
    assert (code, err) == (2, f"error: 2 problems: (1) column 'c' has 47 missing value(s), the "
                              f"first at row 7. {fix} (2) column 'city' has 25 missing value(s), "
                              f"the first at row 1. {fix}\n")  # every column at once
    assert run(capsys, "train", "d.csv", "-t", "y", "-o", "c.numnet", "--preset", "classic",
               "--impute", "mean", "--epochs", "3", "-q")[0] == 0
    classic = nn.load("c.numnet")
    assert classic.estimator.get_params()["hidden_layer_sizes"] == (100,)
    assert classic.preprocessor.scaling == "standard"
    assert classic.info["components"]["preset"] == "classic"


def test_members_are_averaged_as_one_network_that_predicts_their_mean(here, capsys):
    from sklearn.base import clone

    from numnet.tabular.members import member_seed

    assert run(capsys, "train", "d.csv", "-t", "y", "-o", "one.numnet", "--preset", "fast",
               "--epochs", "4", "-q")[0] == 0
    assert run(capsys, "train", "d.csv", "-t", "y", "-o", "three.numnet", "--preset", "fast",
               "--epochs", "4", "--members", "3", "-q")[0] == 0
    one, three = nn.load("one.numnet"), nn.load("three.numnet")
    assert one.info["components"]["members"] == 1
    assert three.info["components"]["members"] == three.info["refit"]["members"] == 3
    assert three.estimator.hidden_layer_sizes == (384, 384)
    assert three.info["components"]["hidden_layer_sizes"] == [128, 128]   # one member's
    frame = pd.read_csv("d.csv")
    X = three.transform(frame)
    # the first member is the one-network model; the others start from their own seeds
    members = [one.estimator]
    for member in (1, 2):
        other = clone(one.estimator).set_params(random_state=member_seed(0, member))
        members.append(other.fit(X, frame["y"].to_numpy()))
    logits = np.mean([m._forward(X) for m in members], axis=0)
    np.testing.assert_allclose(three.estimator._forward(X), logits, rtol=0, atol=1e-12)
    assert len({member_seed(0, m) for m in range(16)}) == 16 and member_seed(None, 2) is None


def test_a_time_limit_keeps_the_best_epoch_and_says_so(here, capsys):
    code, _, err = run(capsys, "train", "d.csv", "-t", "y", "-o", "t.numnet", "--time-limit",
                       "1e-9", "--preset", "fast")
    assert code == 0
    assert ("warning: training stopped at --time-limit 1e-09 s after epoch 1; the best epoch so "
            "far is kept.") in err
    est = nn.load("t.numnet").estimator
    assert len(est.history_.loss) == 1


@pytest.mark.parametrize("args, message", [
    (["--time-limit", "0"], "--time-limit must be a finite float > 0 (seconds), got 0.0."),
    (["--preset", "huge"], "--preset must be one of {'best', 'classic', 'fast'}, got 'huge'."),
    (["--scaling", "minmax"], "--scaling must be one of {'robust', 'standard'}, got 'minmax'."),
    (["--workers", "1", "--preset", "best"], "--preset best or fast does not work with "
     "--scheduler or --workers yet: their epoch selection draws a held-out split from rows on "
     "the workers. Pass --preset classic, or train in memory (without --scheduler or "
     "--workers)."),
    (["--workers", "1", "--scaling", "robust"], "--scaling robust does not work with "
     "--scheduler or --workers yet: its quartiles need the whole column in one place. Leave "
     "out --scaling, or train in memory (without --scheduler or --workers)."),
    (["--dp-epsilon", "3", "--preset", "best", "--solver", "adam"], "--preset best selects its "
     "epoch on private rows and anneals by a schedule, outside the guarantee of --dp-epsilon: "
     "pass --preset classic (the default under --dp-epsilon)."),
    (["--members", "0"], "--members must be an integer in [1, 16], got 0."),
    (["--members", "3", "--no-refit", "--preset", "classic", "--impute", "mean"],
     "--members 3 averages networks "
     "trained by the refit on every row, which this run does not do (--refit is turned off; "
     "--preset classic has no epoch selection). Leave out --members, or drop what prevents "
     "the refit."),
], ids=["time-limit", "preset", "scaling", "cluster-preset", "cluster-scaling", "dp-preset",
        "members-range", "members-no-refit"])
def test_presets_are_refused_where_they_cannot_apply(here, capsys, args, message):
    code, _, err = run(capsys, "train", "d.csv", "-t", "y", "-o", "x.numnet", *args)
    assert (code, err) == (2, f"error: {message}\n")


def test_a_small_table_with_a_rare_class_trains_without_epoch_selection(tmp_path, capsys,
                                                                        monkeypatch):
    rng = np.random.default_rng(1)
    y = ["a"] * 20 + ["b"] * 17 + ["c"] * 3
    pd.DataFrame({"x": rng.normal(size=40), "y": y}).to_csv(tmp_path / "s.csv", index=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "train", "s.csv", "-t", "y", "-o", "s.numnet", "--json", "-q")
    assert code == 0, err
    params = nn.load("s.numnet").estimator.get_params()
    assert params["early_stopping"] is False and params["batch_size"] == "auto"
    assert json.loads(out)["n_train"] == 32
