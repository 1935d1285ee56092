"""`numnet explain`: attributions per column from the command line, in process and installed."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

import numnet
from installed import COMMAND, HANG_TIMEOUT
from installed import run_cli as run
from numnet.cli import main
from numnet.explain import integrated_gradients

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain")
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "noise": rng.normal(size=n),
                          "city": rng.choice(["oslo", "rome", "lima"], size=n)})
    frame["label"] = np.where(frame["x1"] - frame["x2"] + 2 * (frame["city"] == "rome") > 0,
                              "up", "down")
    frame["price"] = 3 * frame["x1"] + 2 * (frame["city"] == "rome") + rng.normal(0, 0.1, n)
    frame.to_csv(folder / "data.csv", index=False)
    common = ["--features", "x1,x2,noise,city", "--hidden", "8", "--activation", "tanh",
              "--epochs", "300", "-q"]
    for target in ("label", "price"):
        with pytest.raises(SystemExit) as stop:
            main(["train", str(folder / "data.csv"), "-t", target, "-o",
                  str(folder / f"{target}.numnet"), *common])
        assert stop.value.code in (0, None)
    return folder


def test_integrated_gradients_per_column_add_up(capsys, folder):
    out_csv = folder / "why.csv"
    code, out, err = run(capsys, "explain", folder / "label.numnet", folder / "data.csv",
                         "-o", out_csv)
    assert code in (0, None), err
    table = pd.read_csv(out_csv)
    assert list(table.columns) == ["row", "target", "x1", "x2", "noise", "city", "output",
                                   "baseline_output", "delta"]
    assert table["row"].tolist() == list(range(1, 301))
    attributions = table[["x1", "x2", "noise", "city"]].to_numpy()
    change = (table["output"] - table["baseline_output"]).to_numpy()
    np.testing.assert_allclose(attributions.sum(axis=1) - change, table["delta"], atol=1e-9)
    assert np.abs(table["delta"]).max() < 1e-6 * max(1, np.abs(change).max())

    # The city column is the sum of its three one-hot features' attributions.
    pipe = numnet.load(folder / "label.numnet")
    frame = pd.read_csv(folder / "data.csv")
    X = pipe.transform(frame)
    encoded = integrated_gradients(pipe.estimator, X, baseline=X.mean(axis=0))
    (_, start, stop), = [g for g in pipe.preprocessor.feature_groups_ if g[0] == "city"]
    np.testing.assert_allclose(table["city"], encoded.values[:, start:stop].sum(axis=1),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(table["target"], pipe.predict(frame))

    lines = out.splitlines()
    predicted = pd.Series(pipe.predict(frame)).value_counts()
    (first, many), (second, few) = predicted.items()
    assert lines[0] == (f"Explaining the logit of each row's predicted class ('{first}' for "
                        f"{many}, '{second}' for {few}).")
    assert lines[1] == "integrated gradients over 300 row(s), mean |attribution| per column:"
    assert lines[-1].startswith("Completeness: the attributions add up to F(x) - F(x') within")
    # x1, x2 and city decide the label; noise must come last
    assert lines[5].split()[0] == "noise"
    assert err == f"Wrote the attributions to {out_csv}\n"


def test_rows_probability_and_waterfall_plot(capsys, folder):
    image = folder / "rows.png"
    code, out, _ = run(capsys, "explain", folder / "label.numnet", folder / "data.csv",
                       "--rows", "2,7", "--probability", "--target", "up", "--plot", image,
                       "--json", "--steps", "20")
    assert code in (0, None)
    summary = json.loads(out)
    assert summary["method"] == "integrated_gradients" and summary["n_rows"] == 2
    assert set(summary["mean_abs_attribution"]) == {"x1", "x2", "noise", "city"}
    assert summary["max_abs_delta"] < 1e-4
    from PIL import Image

    with Image.open(image) as picture:
        assert picture.size == (900, 450)


def test_regression_saliency_and_permutation(capsys, folder):
    code, out, _ = run(capsys, "explain", folder / "price.numnet", folder / "data.csv",
                       "-m", "saliency", "--json")
    assert code in (0, None)
    summary = json.loads(out)
    assert summary["max_abs_delta"] is None
    assert "city=rome" in summary["mean_abs_attribution"]
    # d price / d x1 is about 3 in the target's own units
    assert 2.0 < summary["mean_abs_attribution"]["x1"] < 4.0

    out_csv = folder / "importance.csv"
    code, out, _ = run(capsys, "explain", folder / "price.numnet", folder / "data.csv",
                       "-m", "permutation", "-o", out_csv, "--steps", "2")
    assert code in (0, None)
    table = pd.read_csv(out_csv)
    assert table["column"].tolist()[:2] == ["x1", "city"]
    assert table.set_index("column").loc["noise", "importance_mean"] < 0.05
    # the score it explains, named (issue 24)
    assert out.splitlines()[0] == "Permutation importance: the drop in R² when a column is " \
                                  "shuffled"


def test_a_model_with_missing_indicators_explains_rows_with_missing_values(capsys, folder):
    frame = pd.read_csv(folder / "data.csv")
    frame.loc[::5, "x1"] = np.nan
    frame.loc[::7, "city"] = None
    frame.to_csv(folder / "gappy.csv", index=False)
    model = folder / "gappy.numnet"
    code, _, err = run(capsys, "train", folder / "gappy.csv", "-t", "label", "-o", model,
                       "--impute", "indicator", "--features", "x1,x2,noise,city", "--hidden",
                       "8", "--activation", "tanh", "--epochs", "50", "-q")
    assert code in (0, None), err
    out_csv = folder / "gappy_why.csv"
    code, _, err = run(capsys, "explain", model, folder / "gappy.csv", "-o", out_csv)
    assert code in (0, None), err
    table = pd.read_csv(out_csv)
    # x1.missing and city=(missing) are part of their columns' attributions
    assert list(table.columns) == ["row", "target", "x1", "x2", "noise", "city", "output",
                                   "baseline_output", "delta"]
    attributions = table[["x1", "x2", "noise", "city"]].to_numpy()
    change = (table["output"] - table["baseline_output"]).to_numpy()
    np.testing.assert_allclose(attributions.sum(axis=1) - change, table["delta"], atol=1e-9)
    assert np.abs(table["delta"]).max() < 1e-6 * max(1, np.abs(change).max())
    code, out, err = run(capsys, "explain", model, folder / "gappy.csv", "-m", "saliency",
                         "--json")
    assert code in (0, None), err
    names = list(json.loads(out)["mean_abs_attribution"])
    assert sorted(names) == sorted(numnet.load(model).preprocessor.feature_names_out_)
    assert {"x1.missing", "city=(missing)"} <= set(names)


@pytest.mark.parametrize(("args", "message"), [
    (["--rows", "0"], "--rows must be comma-separated row numbers from 1 to 300 (1 is the first "
                      "line after the header), got '0'."),
    (["--rows", "a,b"], "--rows must be comma-separated row numbers from 1 to 300 (1 is the "
                        "first line after the header), got 'a,b'."),
    (["--method", "lime"], "--method must be one of {'expected', 'gradient-x-input', 'ig', "
                           "'permutation', 'saliency', 'smoothgrad'}, got 'lime'."),
    (["-o", "why.json"], "--output must end in .csv, got 'why.json'."),
    (["--plot", "why.gif"], "--plot must end in .png, .svg or .pdf, got 'why.gif'."),
    (["--steps", "0"], "--steps must be an integer from 1 to 5000, got 0. Beyond a few hundred "
                       "the attributions change little: compare the results of two --steps to "
                       "check."),
    (["--target", "sideways"], "--target must be one of the classes ['down', 'up'], got "
                               "'sideways'."),
    (["-m", "permutation", "--rows", "1"], "--method permutation ranks the columns over the "
                                           "whole table: it takes no --rows, --plot, --target "
                                           "or --probability."),
])
def test_errors_are_one_line(capsys, folder, monkeypatch, args, message):
    monkeypatch.chdir(folder)
    code, out, err = run(capsys, "explain", "label.numnet", "data.csv", *args)
    assert (code, out, err) == (2, "", f"error: {message}\n")


def test_probability_of_a_regressor_is_refused(capsys, folder):
    code, out, err = run(capsys, "explain", folder / "price.numnet", folder / "data.csv",
                         "--probability")
    assert (code, err) == (2, "error: --probability needs a classifier, but this model does "
                              "regression.\n")


@pytest.mark.parametrize("method", ["ig", "expected", "smoothgrad", "permutation"])
def test_steps_beyond_the_limit_are_refused_by_the_installed_command(folder, method):
    # Issue: --steps 20000 tried to allocate 2.98 GiB and ended in a traceback; 1e9 samples
    # raised MemoryError.
    for steps in ("20000", "1000000000"):
        done = subprocess.run([*COMMAND, "explain", str(folder / "price.numnet"),
                               str(folder / "data.csv"), "--rows", "1", "-m", method,
                               "--steps", steps], capture_output=True, text=True,
                              timeout=HANG_TIMEOUT)
        assert (done.returncode, done.stdout, done.stderr) == (
            2, "", f"error: --steps must be an integer from 1 to 5000, got {steps}. Beyond a "
                   "few hundred the attributions change little: compare the results of two "
                   "--steps to check.\n")


def test_the_most_steps_run_in_bounded_passes(capsys, folder):
    # Issue: --rows 1 --steps 5000 took 29 s and 593 MB (the quadrature's 5000 x 5000 matrix).
    code, out, err = run(capsys, "explain", folder / "label.numnet", folder / "data.csv",
                         "--rows", "1", "--steps", "5000", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["max_abs_delta"] < 1e-6


def test_target_of_a_regressor_is_refused_by_the_installed_command(folder):
    # Issue: --target abc on a single-output regressor was silently ignored.
    done = subprocess.run([*COMMAND, "explain", str(folder / "price.numnet"),
                           str(folder / "data.csv"), "--target", "abc"], capture_output=True,
                          text=True, timeout=HANG_TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "error: --target must be left out for a regression model (it has one output to "
               "explain), got 'abc'. --target names the class to explain in a classifier.\n")


def test_a_missing_target_suggests_only_options_explain_has(capsys, folder, tmp_path):
    # Issue: the error suggested --drop-missing-target, which explain does not have.
    frame = pd.read_csv(folder / "data.csv")
    frame.loc[4, "price"] = np.nan
    frame.to_csv(tmp_path / "holes.csv", index=False)
    code, out, err = run(capsys, "explain", folder / "price.numnet", tmp_path / "holes.csv",
                         "-m", "permutation")
    assert (code, out, err) == (
        2, "", "error: target column 'price' has 1 missing value(s), the first at row 5. Drop "
               "those rows from the data: --method permutation scores the predictions against "
               "the target.\n")
    assert "--drop-missing-target" not in err


def test_installed_command_explains(folder):
    done = subprocess.run([*COMMAND, "explain", str(folder / "label.numnet"),
                           str(folder / "data.csv"), "--rows", "1", "-q", "-o",
                           str(folder / "one.csv")], capture_output=True, text=True,
                          timeout=HANG_TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert pd.read_csv(folder / "one.csv")["row"].tolist() == [1]
    done = subprocess.run([*COMMAND, "explain", "--help"], capture_output=True, text=True,
                          timeout=HANG_TIMEOUT)
    assert "numnet explain [OPTIONS] MODEL DATA" in done.stdout
