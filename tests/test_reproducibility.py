"""The same seed gives bit-identical models: across runs, across save and load, across resume.

Resuming is covered in test_checkpoint.py (through files, for train() and the estimators) and
test_interrupt_e2e.py (a killed command-line process); here: repeated runs and save/load.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

import numnet as nn
from numnet.cli import main
from numnet.io import dumps, loads

ESTIMATORS = {
    "mlp-adam-dropout-early-stopping": lambda seed: nn.MLPClassifier(
        (8, 4), dropout=0.2, early_stopping=True, max_iter=15, random_state=seed),
    "mlp-sgd-nesterov": lambda seed: nn.MLPRegressor(
        (6,), solver="sgd", max_iter=15, random_state=seed, learning_rate="invscaling"),
    "logistic-sgd": lambda seed: nn.LogisticRegression(solver="sgd", max_iter=10,
                                                       random_state=seed),
    "linear-adam-elasticnet": lambda seed: nn.LinearRegression(
        solver="adam", l1_ratio=0.5, alpha=0.01, max_iter=10, random_state=seed),
}


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    return X, np.where(X[:, 0] - X[:, 1] > 0, "a", "b"), X @ [1.0, -1.0, 0.5, 0.0, 2.0]


def fit(name, seed, problem, dtype):
    X, labels, values = problem
    est = ESTIMATORS[name](seed)
    target = labels if isinstance(est, (nn.MLPClassifier, nn.LogisticRegression)) else values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X.astype(dtype), target)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_same_seed_same_model_and_same_file(name, problem, dtype):
    first, second = fit(name, 7, problem, dtype), fit(name, 7, problem, dtype)
    assert first.network_.params.dtype == dtype
    assert first.network_.params.tobytes() == second.network_.params.tobytes()
    assert first.loss_curve_ == second.loss_curve_ and first.n_iter_ == second.n_iter_
    # save -> load -> save writes the same bytes, and the loaded model predicts bit for bit
    raw = dumps(first)
    loaded = loads(raw)
    assert dumps(loaded) == raw
    X = problem[0].astype(dtype)
    np.testing.assert_array_equal(loaded.predict(X), first.predict(X))
    if hasattr(first, "predict_proba"):
        assert loaded.predict_proba(X).tobytes() == first.predict_proba(X).tobytes()


@pytest.mark.parametrize("name", ["mlp-adam-dropout-early-stopping", "mlp-sgd-nesterov"])
def test_another_seed_gives_another_model(name, problem):
    first, other = fit(name, 7, problem, np.float64), fit(name, 8, problem, np.float64)
    assert first.network_.params.tobytes() != other.network_.params.tobytes()


def test_command_line_runs_with_the_same_seed_write_the_same_model(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=150), "city": rng.choice(["a", "b", "c"], 150)})
    frame["y"] = np.where(frame["x"] + (frame["city"] == "b") > 0.5, "hi", "lo")
    frame.to_csv(tmp_path / "data.csv", index=False)
    monkeypatch.chdir(tmp_path)
    for seed, output in [(4, "one.numnet"), (4, "two.numnet"), (5, "other.numnet")]:
        with pytest.raises(SystemExit) as stop:
            main(["train", "data.csv", "-t", "y", "--hidden", "8", "--epochs", "20",
                  "--dropout", "0.1", "--early-stopping", "--seed", str(seed), "-o", output,
                  "-q"])
        assert stop.value.code == 0
    one, two, other = (nn.load(tmp_path / name).estimator.network_.params
                       for name in ("one.numnet", "two.numnet", "other.numnet"))
    assert one.tobytes() == two.tobytes() != other.tobytes()
    first, second = nn.load(tmp_path / "one.numnet"), nn.load(tmp_path / "two.numnet")
    assert first.info == second.info  # the same split, metrics and validation curve
    assert first.preprocessor.get_state() == second.preprocessor.get_state()
