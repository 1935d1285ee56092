"""Start-up: ``import numnet``, ``numnet --help`` and ``numnet predict`` import only what they need.

The time itself is measured by benchmarks/startup.py, never here; these tests check which heavy
packages a fresh process imports (issue 24: each command spent 1.7-2 s before reading data).
``numnet predict`` reads a pipeline file's estimator as a predictor, without scikit-learn
(numnet.tabular.predictor): its predictions and its refusals of altered files are those of
numnet.load.
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import numnet
from installed import HANG_TIMEOUT
from installed import run_cli as run
from numnet.io import ModelFileError
from numnet.tabular import prediction_frame
from numnet.tabular.predictor import Predictor, load_for_prediction
from test_io import forge

# What none of the three may import: SciPy and scikit-learn, plotting, clusters, ONNX.
NEVER = {"scipy", "sklearn", "matplotlib", "dask", "distributed", "onnx", "onnxruntime", "numba"}

MODULES = """
import json, sys
{code}
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


def imported(code):
    """The modules a fresh Python process has imported after running ``code``."""
    done = subprocess.run([sys.executable, "-c", MODULES.format(code=code)], capture_output=True,
                          text=True, timeout=HANG_TIMEOUT)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.rsplit("\nMODULES ", 1)[1]))


def packages(modules):
    return {name.split(".")[0] for name in modules}


def cli(*args):
    return ("from numnet.cli import main\ntry:\n    main(" + repr([str(a) for a in args])
            + ")\nexcept SystemExit as stop:\n    assert stop.code in (0, None), stop.code")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("startup")
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "city": rng.choice(["oslo", "rome", "lima"], size=n)})
    frame["label"] = np.where(frame["x1"] + (frame["city"] == "rome") > 0.3, "hi", "lo")
    frame["kind"] = rng.choice(["a", "b", "c"], size=n)
    frame["price"] = 3 * frame["x1"] - frame["x2"] + rng.normal(0, 0.1, n)
    frame.to_csv(folder / "data.csv", index=False)
    return folder


MODELS = {  # name: the options of numnet train
    "mlp-binary": ["-t", "label", "--exclude", "kind,price"],
    "mlp-multiclass": ["-t", "kind", "--exclude", "label,price", "--dtype", "float32"],
    "logistic": ["-t", "label", "--exclude", "kind,price", "--model", "logistic"],
    "mlp-regression": ["-t", "price", "--exclude", "label,kind"],
    "linear": ["-t", "price", "--exclude", "label,kind", "--model", "linear"],
}


@pytest.fixture(scope="module")
def models(folder):
    from numnet.cli import main

    paths = {}
    for name, options in MODELS.items():
        path = folder / f"{name}.numnet"
        with pytest.raises(SystemExit) as stop:
            main(["train", str(folder / "data.csv"), *options, "--epochs", "3", "-q", "-o",
                  str(path)])
        assert stop.value.code in (0, None)
        paths[name] = path
    return paths


def test_import_numnet_imports_no_heavy_package():
    modules = packages(imported("import numnet"))
    assert not modules & (NEVER | {"pandas", "pyarrow", "typer", "click", "pydantic"})
    # numnet.trace and numnet.explain are still there after `import numnet`
    assert {"trace", "explain"} <= set(dir(numnet))


def test_help_imports_neither_numerics_beyond_numpy_nor_tables():
    modules = packages(imported(cli("--help")))
    assert not modules & (NEVER | {"pandas", "pyarrow", "pydantic"})
    assert "typer" in modules  # what it needs


@pytest.mark.parametrize("name", ["mlp-multiclass", "mlp-regression", "mlp-binary"])
def test_predict_imports_neither_scikit_learn_nor_scipy(folder, models, name):
    modules = imported(cli("predict", models[name], folder / "data.csv", "-o",
                           folder / "predictions.csv", "-q"))
    assert not packages(modules) & (NEVER - {"scipy"})
    scipy = {name for name in modules if name.split(".")[0] == "scipy"}
    if name == "mlp-binary":  # its logistic output's sigmoid is scipy.special.expit
        assert "scipy.special" in scipy
        assert not {name for name in scipy if name.startswith(
            ("scipy.sparse", "scipy.stats", "scipy.linalg", "scipy.optimize"))}
    else:
        assert not scipy
    assert "pandas" in modules  # what it needs
    assert pd.read_csv(folder / "predictions.csv").shape == (120, 1)


@pytest.mark.parametrize("name", list(MODELS))
def test_predictor_predicts_as_the_loaded_estimator_bit_for_bit(folder, models, name):
    full, fast = numnet.load(models[name]), load_for_prediction(models[name])
    assert isinstance(fast.estimator, Predictor)
    assert type(fast.estimator).__name__ == type(full.estimator).__name__
    frame = pd.read_csv(folder / "data.csv")
    proba = full.task == "classification"
    expected = prediction_frame(full, frame, proba=proba, keep=["x1"])
    got = prediction_frame(fast, frame, proba=proba, keep=["x1"])
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_predict_command_writes_what_numnet_load_predicts(capsys, folder, models):
    out = folder / "p.csv"
    code, _, err = run(capsys, "predict", models["mlp-multiclass"], folder / "data.csv", "--proba",
                       "-o", out)
    assert (code, err) == (0, f"Wrote 120 predictions to {out}\n")
    expected = prediction_frame(numnet.load(models["mlp-multiclass"]),
                                pd.read_csv(folder / "data.csv"), proba=True)
    pd.testing.assert_frame_equal(pd.read_csv(out), expected, check_dtype=False)


def _estimator(edit):
    def change(header, metadata):
        edit(metadata["object"]["estimator"])
    return change


@pytest.mark.parametrize("edit, message", [
    (_estimator(lambda e: e["attributes"].update(n_features_in_=7)),
     "the estimator's n_features_in_ (7) does not match its network; the file was altered."),
    (_estimator(lambda e: e["attributes"].update(out_activation_="softmax")),
     "the fitted MLPClassifier has 2 classes but its network predicts 1; the file was altered."),
    (_estimator(lambda e: e.update({"class": "SVC"})),
     "estimator class must be one of ['LinearRegression', 'LogisticRegression', "
     "'MLPClassifier', 'MLPRegressor'], got 'SVC'."),
    (lambda header, metadata: metadata["object"]["state"].update(task="regression"),
     "the pipeline's task is 'regression', but its estimator MLPClassifier is a classifier; "
     "the file was altered."),
], ids=["n_features_in_", "out_activation_", "class", "task"])
def test_predictor_refuses_altered_files_as_numnet_load_does(folder, models, edit, message):
    path = folder / "altered.numnet"
    path.write_bytes(forge(models["mlp-binary"].read_bytes(), edit))
    for load in (numnet.load, load_for_prediction):
        with pytest.raises(ModelFileError) as caught:
            load(path)
        assert str(caught.value) == f"Cannot load {str(path)!r}: {message}"
