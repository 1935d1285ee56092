"""``numnet train --dp-epsilon`` and the guarantee ``numnet inspect`` prints (docs/privacy.md).

Under a DP flag the preprocessing comes from --dp-bounds and --dp-categories alone, never from
the rows: these tests check the stored scaling, that the data's own statistics are not used,
that a private run is reproducible, and the command through the installed console script.
"""

import subprocess

import numpy as np
import pandas as pd
import pytest

import numnet as nn
from installed import COMMAND, HANG_TIMEOUT
from installed import run_cli as run

pytest.importorskip("dp_accounting")

ARGS = ["-t", "y", "--exclude", "p", "--dp-epsilon", "3", "--dp-bounds", "x=0:100",
        "--dp-categories", "c=a|b|c,y=no|yes", "--hidden", "8", "--epochs", "3",
        "--batch-size", "32", "--learning-rate", "0.05", "-q"]


@pytest.fixture
def here(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(50, 10, 200)
    c = rng.choice(["a", "b", "c"], 200)
    pd.DataFrame({"x": x.round(2), "c": c, "y": np.where(x + 10 * (c == "a") > 55, "yes", "no"),
                  "p": (2 * x).round(2)}).to_csv(tmp_path / "d.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_private_train_uses_the_bounds_and_categories_not_the_data(here, capsys):
    assert run(capsys, "train", "d.csv", *ARGS, "-o", "m.numnet")[0] == 0
    pipe = nn.load("m.numnet")
    assert pipe.preprocessor.columns_ == [
        {"name": "x", "kind": "numeric", "fill": 50.0, "mean": 50.0, "scale": 50.0},
        {"name": "c", "kind": "categorical", "fill": "a", "categories": ["a", "b", "c"]}]
    est = pipe.estimator
    assert est.dp_epsilon == 3.0 and 0 < est.epsilon_ <= 3.0
    assert est.classes_.tolist() == ["no", "yes"]
    assert (est.dp_steps_, est.dp_sampling_rate_) == (3 * 5, 32 / 160)
    assert pipe.info["settings"]["dp_bounds"] == "x=0:100"
    # same seed, same model, bit for bit
    assert run(capsys, "train", "d.csv", *ARGS, "-o", "again.numnet")[0] == 0
    assert np.array_equal(nn.load("again.numnet").estimator.network_.params,
                          est.network_.params)
    code, out, _ = run(capsys, "inspect", "m.numnet")
    assert code == 0
    assert (f"privacy: ({est.epsilon_:.4g}, 1e-05)-differential privacy, DP-SGD with noise "
            f"multiplier {est.dp_noise_multiplier_:.4g}, clipping norm 1, sampling rate 0.2, "
            "15 steps, RDP accountant") in out
    assert ("  not covered: the training losses in the history, the validation rows and their "
            "metrics, the choice of hyperparameters") in out
    assert "x: numeric, mean 50, scale 50, fill 50" in out


def test_private_regression_scales_the_target_with_its_bounds(here, capsys):
    code, _, err = run(capsys, "train", "d.csv", "-t", "p", "--exclude", "y", "--model",
                       "linear", "--solver", "sgd", "--learning-rate", "0.01",
                       "--dp-noise-multiplier", "1", "--dp-bounds", "x=0:100,p=0:200",
                       "--dp-categories", "c=a|b|c", "--epochs", "2", "-q", "-o", "r.numnet")
    assert code == 0, err
    pipe = nn.load("r.numnet")
    assert pipe.target_scaler == {"mean": 100.0, "scale": 100.0}
    assert pipe.estimator.dp_noise_multiplier_ == 1.0


@pytest.mark.parametrize("args, message", [
    (["--dp-epsilon", "3", "--dp-noise-multiplier", "1"],
     "--dp-epsilon and --dp-noise-multiplier exclude each other: give the budget (the noise is "
     "calibrated to it) or the noise, not both."),
    (["--dp-epsilon", "3", "--early-stopping"],
     "--early-stopping watches the loss of private rows, outside the guarantee of "
     "--dp-epsilon: train for a fixed --epochs instead."),
    (["--dp-epsilon", "3", "--dp-categories", "c=a|b|c,y=no|yes", "--dp-bounds",
      "x=0:100,q=0:1"],
     "--dp-bounds names column 'q', which is neither a feature nor the target; features: "
     "'x', 'c'."),
    (["--dp-epsilon", "3", "--dp-bounds", "x=0:100", "--dp-categories", "c=a|b,y=no|yes",
      "--dp-categories", "c=a|b|c,y=no"],
     "--dp-categories must give the target 'y' at least 2 classes, got 1."),
    (["--dp-epsilon", "3", "--dp-bounds", "x=0:100", "--dp-categories", "c=a|b|c,y=no|maybe"],
     "target column 'y' has the value 'yes' at row 2, which is not among its "
     "--dp-categories."),
])
def test_private_train_refuses(here, capsys, args, message):
    code, _, err = run(capsys, "train", "d.csv", "-t", "y", "--exclude", "p", *args,
                       "-o", "m.numnet")
    assert (code, err.strip()) == (2, f"error: {message}")


def test_installed_command(here):
    done = subprocess.run([*COMMAND, "train", "d.csv", *ARGS, "-o", "m.numnet"],
                          capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert done.returncode == 0, done.stderr
    shown = subprocess.run([*COMMAND, "inspect", "m.numnet"], capture_output=True, text=True,
                           timeout=HANG_TIMEOUT)
    assert "RDP accountant" in shown.stdout and "  covers: the model's parameters" in shown.stdout


def test_interrupted_private_run_resumes_to_the_same_model_and_guarantee(here, capsys,
                                                                         monkeypatch):
    """A private CLI run interrupted mid-epoch and resumed from --checkpoint-dir ends with
    the uninterrupted run's weights (bit for bit), epsilon, steps and losses: the checkpoint
    file holds the accountant's and the noise generators' states."""
    import os
    import signal

    from numnet.privacy import ClippedNoisyGradient

    assert run(capsys, "train", "d.csv", *ARGS, "-o", "reference.numnet")[0] == 0
    calls = {"n": 0}
    original = ClippedNoisyGradient.__call__

    def interrupting(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 8:                  # 5 steps an epoch: mid-epoch 2
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ClippedNoisyGradient, "__call__", interrupting)
    code, _, err = run(capsys, "train", "d.csv", *ARGS, "--checkpoint-dir", "run",
                       "-o", "m.numnet")
    assert code == 130, err
    assert "interrupted by SIGINT in epoch 2" in err
    assert not (here / "m.numnet").exists()
    monkeypatch.setattr(ClippedNoisyGradient, "__call__", original)

    code, _, err = run(capsys, "train", "d.csv", *ARGS, "--checkpoint-dir", "run",
                       "-o", "m.numnet", "--resume")
    assert code == 0, err
    model, reference = nn.load("m.numnet").estimator, nn.load("reference.numnet").estimator
    assert model.network_.params.tobytes() == reference.network_.params.tobytes()
    assert (model.epsilon_, model.dp_steps_, model.dp_noise_multiplier_) == \
        (reference.epsilon_, reference.dp_steps_, reference.dp_noise_multiplier_)
    assert model.history_.loss == reference.history_.loss


def test_private_train_with_impute_indicator_adds_no_indicator(here):
    # which columns have missing values depends on the rows: with privacy, train_pipeline's
    # fit_private fills a missing number with its bounds' midpoint and a missing text value
    # with all zeros, with no indicator (the command line refuses --impute indicator under
    # --dp-epsilon, see docs/privacy.md)
    from numnet.tabular import train_pipeline

    frame = pd.read_csv("d.csv")
    frame.loc[::9, "x"] = np.nan
    frame.loc[::7, "c"] = None
    privacy = {"bounds": {"x": (0.0, 100.0)}, "categories": {"c": ["a", "b", "c"],
                                                              "y": ["no", "yes"]}}
    pipe, _ = train_pipeline(frame, target="y", features=["x", "c"], impute="indicator",
                             privacy=privacy, params={
                                 "dp_epsilon": 3.0, "hidden_layer_sizes": (8,), "max_iter": 3,
                                 "batch_size": 32, "learning_rate_init": 0.05})
    assert pipe.preprocessor.columns_ == [
        {"name": "x", "kind": "numeric", "fill": 50.0, "mean": 50.0, "scale": 50.0},
        {"name": "c", "kind": "categorical", "fill": "a", "categories": ["a", "b", "c"]}]
    assert pipe.preprocessor.feature_names_out_ == ["x", "c=a", "c=b", "c=c"]
    rows = pd.DataFrame({"x": [np.nan, 75.0], "c": [None, "b"]})
    np.testing.assert_array_equal(pipe.transform(rows), [[0, 0, 0, 0], [0.5, 0, 1, 0]])


def test_fit_private_ignores_the_data_under_robust_scaling():
    from numnet.tabular import TabularPreprocessor

    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, 1000.0], "c": ["a", None, "b", "a"]})
    pre = TabularPreprocessor(impute="indicator", scaling="robust").fit_private(
        frame, ["x", "c"], {"x": (0.0, 10.0)}, {"c": ["a", "b"]})
    assert pre.columns_ == [
        {"name": "x", "kind": "numeric", "fill": 5.0, "mean": 5.0, "scale": 5.0},
        {"name": "c", "kind": "categorical", "fill": "a", "categories": ["a", "b"]}]
    np.testing.assert_array_equal(pre.transform(frame), [[-0.8, 1, 0], [0, 0, 0], [-0.4, 0, 1],
                                                         [199, 1, 0]])


def test_dp_sampler_geometric_draws_other_batches_with_the_same_guarantee(here, capsys):
    """--dp-sampler geometric (issue 26): the model file keeps it, the same seed gives the
    same model, the guarantee is the default sampler's, the weights are not."""
    assert run(capsys, "train", "d.csv", *ARGS, "-o", "uniform.numnet")[0] == 0
    for name in ("g.numnet", "g2.numnet"):
        code, _, err = run(capsys, "train", "d.csv", *ARGS, "--dp-sampler", "geometric",
                           "-o", name)
        assert code == 0, err
    uniform, geometric = nn.load("uniform.numnet"), nn.load("g.numnet")
    assert geometric.estimator.dp_sampler == "geometric"
    assert geometric.info["settings"]["dp_sampler"] == "geometric"
    assert "dp_sampler" not in uniform.info["settings"]
    assert (geometric.estimator.network_.params.tobytes()
            == nn.load("g2.numnet").estimator.network_.params.tobytes())
    assert not np.array_equal(geometric.estimator.network_.params,
                              uniform.estimator.network_.params)
    assert geometric.estimator.epsilon_ == uniform.estimator.epsilon_


@pytest.mark.parametrize("args, message", [
    (["--dp-epsilon", "3", "--dp-bounds", "x=0:100", "--dp-categories", "c=a|b|c,y=no|yes",
      "--dp-sampler", "gaps"],
     "--dp-sampler must be one of {'geometric', 'uniform'}, got 'gaps'."),
    (["--dp-sampler", "geometric"],
     "--dp-sampler applies only to private training: pass --dp-epsilon EPS (or "
     "--dp-noise-multiplier SIGMA)."),
])
def test_dp_sampler_refusals(here, capsys, args, message):
    code, _, err = run(capsys, "train", "d.csv", "-t", "y", "--exclude", "p", *args,
                       "-o", "m.numnet")
    assert (code, err.strip()) == (2, f"error: {message}")
