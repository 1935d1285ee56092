"""numnet.TabularClassifier and TabularRegressor: the model ``numnet train`` trains, as
scikit-learn estimators on raw tables (issue "Better by default", item 7)."""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

import numnet as nn
from installed import HANG_TIMEOUT
from installed import run_cli as run
from numnet.tabular import TabularClassifier, TabularRegressor, explain_table, read_table
from numnet.tabular.trace import trace_row

SMALL = {"preset": "fast", "max_iter": 3, "random_state": 0}


def table(n=200, seed=0):
    """Numbers, text, numbers written as text, missing values; a label and a value."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    city = rng.choice(["oslo", "rome", "lima"], n).astype(object)
    frame = pd.DataFrame({"a": a, "b": b, "city": city,
                          "price": [f"{v:,.0f}" for v in rng.uniform(1000, 5000, n)]})
    label = np.where(a + np.sin(2 * b) + (city == "rome") > 0.3, "yes", "no")
    value = 3 * a - b + (city == "rome") * 2 + 100
    frame.loc[rng.random(n) < 0.1, "a"] = np.nan
    frame.loc[rng.random(n) < 0.1, "city"] = None
    return frame, label, value


def quiet_fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return est.fit(X, y, **kwargs)


# ------------------------------------------------------------------- scikit-learn checks

SAMPLE_WEIGHTS = ("minibatches of an MLP trained with a weighted loss are not the same "
                  "minibatches as with repeated rows")
CHECK_EXPECTED = {
    "TabularClassifier": {
        "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHTS,
        "check_classifiers_train": "3 epochs of the fast preset do not reach the check's "
                                   "accuracy threshold (kept small for the test's runtime)",
    },
    "TabularRegressor": {
        "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHTS,
        "check_regressors_train": "3 epochs of the fast preset do not reach the check's R² "
                                  "threshold (kept small for the test's runtime)",
    },
}


def _expected_failed(est):
    return CHECK_EXPECTED[type(est).__name__]


@parametrize_with_checks([TabularClassifier(**SMALL), TabularRegressor(**SMALL)],
                         expected_failed_checks=_expected_failed)
def test_scikit_learn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


# --------------------------------------------------------------------------- the model


def test_a_classifier_fits_a_frame_with_text_and_missing_values():
    frame, label, _ = table()
    clf = quiet_fit(TabularClassifier(**SMALL), frame, label)
    assert list(clf.classes_) == ["no", "yes"]
    assert clf.n_features_in_ == 4
    assert list(clf.feature_names_in_) == ["a", "b", "city", "price"]
    proba = clf.predict_proba(frame)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(frame)) <= {"no", "yes"}
    assert 0 <= clf.score(frame, label) <= 1
    assert clf.pipeline_.preprocessor.impute == "indicator"
    assert clf.pipeline_.preprocessor.scaling == "robust"
    assert clf.pipeline_.info["components"]["preset"] == "fast"
    assert clf.pipeline_.info["n_train"] == len(frame)  # every row trains
    # columns are found by name, in any order
    np.testing.assert_array_equal(clf.predict_proba(frame[frame.columns[::-1]]), proba)


def test_the_default_is_the_best_preset():
    params = TabularClassifier().get_params()
    assert params["preset"] == "best"
    frame, label, _ = table(60)
    clf = quiet_fit(TabularClassifier(max_iter=1, random_state=0), frame, label)
    mlp = clf.pipeline_.estimator.get_params()
    assert mlp["hidden_layer_sizes"] == (768, 768, 768)   # 3 members of 3 x 256, as one
    assert clf.pipeline_.info["components"]["hidden_layer_sizes"] == [256, 256, 256]
    assert clf.pipeline_.info["components"]["members"] == 3
    assert mlp["label_smoothing"] == 0.1
    assert mlp["learning_rate"] == "cosine"


def test_a_regressor_scales_its_target_and_predicts_in_its_units():
    frame, _, value = table()
    reg = quiet_fit(TabularRegressor(preset="fast", max_iter=20, random_state=0), frame, value)
    scaler = reg.pipeline_.target_scaler
    assert scaler["mean"] == pytest.approx(value.mean())
    assert scaler["scale"] == pytest.approx(value.std())
    prediction = reg.predict(frame)
    assert abs(prediction.mean() - 100) < 5
    assert reg.score(frame, value) > 0.5


def test_an_array_names_its_columns_x0_x1():
    frame, label, _ = table()
    X = frame[["a", "b"]].to_numpy()
    clf = quiet_fit(TabularClassifier(**SMALL), X, label)
    assert not hasattr(clf, "feature_names_in_")
    assert list(clf.pipeline_.features) == ["x0", "x1"]
    with pytest.raises(ValueError, match="X has 3 features, but TabularClassifier is "
                                         "expecting 2 features as input."):
        clf.predict(np.zeros((2, 3)))


def test_sample_weights_are_used():
    frame, label, _ = table()
    weights = np.where(label == "yes", 5.0, 1.0)
    plain = quiet_fit(TabularClassifier(**SMALL), frame, label)
    weighted = quiet_fit(TabularClassifier(**SMALL), frame, label, sample_weight=weights)
    assert weighted.predict_proba(frame)[:, 1].mean() > plain.predict_proba(frame)[:, 1].mean()


def test_params_set_params_and_clone():
    clf = TabularClassifier(preset="fast", hidden_layer_sizes=(8,), label_smoothing=0.0)
    assert clf.get_params()["hidden_layer_sizes"] == (8,)
    twin = clone(clf).set_params(max_iter=2, random_state=1)
    assert twin.get_params()["max_iter"] == 2 and clf.max_iter is None
    frame, label, _ = table(80)
    quiet_fit(twin, frame, label)
    mlp = twin.pipeline_.estimator.get_params()
    assert (mlp["hidden_layer_sizes"], mlp["label_smoothing"]) == ((8,), 0.0)
    # the epoch selection ran over max_iter epochs; the refit on every row, over the chosen ones
    assert mlp["max_iter"] == twin.pipeline_.info["refit"]["epochs"] <= 2
    assert not hasattr(clone(twin), "pipeline_")
    assert "label_smoothing" not in TabularRegressor().get_params()


def test_a_single_class_is_refused():
    frame, _, _ = table(40)
    with pytest.raises(ValueError, match=r"y must have at least 2 classes for classification, "
                                         r"got 1 class \('no'\)\."):
        TabularClassifier(**SMALL).fit(frame, ["no"] * len(frame))


@pytest.mark.parametrize("param, value, message", [
    ("preset", "huge", "preset must be one of"),
    ("impute", "zero", "impute must be one of {'indicator', 'mean', 'median', "
                       "'most_frequent', 'none'} or None, got 'zero'."),
    ("scaling", "minmax", "scaling must be one of {'robust', 'standard'} or None, got "
                          "'minmax'."),
    ("dtype", "float16", "dtype must be one of {'float32', 'float64'}, got 'float16'."),
    ("time_limit", -1, "time_limit must be a number of seconds > 0 or None, got -1."),
])
def test_bad_parameters_are_refused_by_fit(param, value, message):
    frame, label, _ = table(40)
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("(", r"\(")
                       .replace(")", r"\)").replace(".", r"\.")):
        TabularClassifier(**{param: value}).fit(frame, label)


def test_impute_none_refuses_missing_values_as_the_classic_preset_does():
    frame, label, _ = table(60)
    with pytest.raises(ValueError, match="missing"):
        quiet_fit(TabularClassifier(preset="classic", max_iter=2), frame, label)
    clf = quiet_fit(TabularClassifier(preset="classic", impute="median", max_iter=2), frame,
                    label)
    assert clf.pipeline_.preprocessor.scaling == "standard"


# ------------------------------------------------------------------- the same as the CLI


def test_the_same_weights_as_numnet_train_bit_for_bit(tmp_path, monkeypatch, capsys):
    frame, label, _ = table(300)
    frame.assign(y=label).to_csv(tmp_path / "d.csv", index=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "d.csv", "-t", "y", "-o", "m.numnet",
                       "--validation-fraction", "0", "--seed", "0", "--epochs", "4", "-q")
    assert code == 0, err
    cli = nn.load("m.numnet")
    rows = read_table("d.csv")
    clf = quiet_fit(TabularClassifier(max_iter=4, random_state=0), rows.drop(columns="y"),
                    rows["y"])
    np.testing.assert_array_equal(clf.pipeline_.estimator.network_.params,
                                  cli.estimator.network_.params)
    assert clf.pipeline_.estimator.get_params() == cli.estimator.get_params()
    np.testing.assert_array_equal(clf.predict_proba(rows), cli.predict_proba(rows))


# ------------------------------------------------------------------- files, ONNX, explain


@pytest.mark.parametrize("cls", [TabularClassifier, TabularRegressor])
def test_save_and_load_round_trip(tmp_path, cls):
    frame, label, value = table()
    est = quiet_fit(cls(**SMALL), frame, label if cls is TabularClassifier else value)
    nn.save(est, tmp_path / "e.numnet")
    back = nn.load(tmp_path / "e.numnet")
    assert type(back) is cls
    assert back.get_params() == est.get_params()
    assert list(back.feature_names_in_) == list(est.feature_names_in_)
    np.testing.assert_array_equal(back.predict(frame), est.predict(frame))
    if cls is TabularClassifier:
        np.testing.assert_array_equal(back.classes_, est.classes_)
        np.testing.assert_array_equal(back.predict_proba(frame), est.predict_proba(frame))
    # an unfitted one keeps its parameters
    nn.save(cls(preset="fast", max_iter=7), tmp_path / "u.numnet")
    unfitted = nn.load(tmp_path / "u.numnet")
    assert unfitted.get_params() == cls(preset="fast", max_iter=7).get_params()
    assert not hasattr(unfitted, "pipeline_")


def test_a_file_naming_another_class_is_refused(tmp_path):
    from numnet.io import ModelFileError
    from numnet.io.codec import Writer
    from numnet.io.models import pack

    writer = Writer()
    _, spec = writer.top(TabularClassifier())
    spec["class"] = "os.system"
    data = pack("tabular_estimator", spec, writer.tensors, lambda data, name: None)
    (tmp_path / "x.numnet").write_bytes(data)
    with pytest.raises(ModelFileError, match=r"tabular estimator class must be one of "
                                             r"\['TabularClassifier', 'TabularRegressor'\], "
                                             r"got 'os.system'\."):
        nn.load(tmp_path / "x.numnet")


@pytest.mark.parametrize("cls", [TabularClassifier, TabularRegressor])
def test_onnx_export_predicts_as_the_estimator(cls):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from numnet.onnx import pipeline_inputs

    frame, label, value = table()
    frame["price"] = pd.to_numeric(frame["price"].str.replace(",", ""))
    est = quiet_fit(cls(**SMALL), frame, label if cls is TabularClassifier else value)
    model = nn.to_onnx(est)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    outputs = session.run(None, pipeline_inputs(est, frame))
    if cls is TabularClassifier:
        assert list(outputs[0].ravel()) == list(est.predict(frame))
        np.testing.assert_allclose(outputs[1], est.predict_proba(frame), rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_allclose(outputs[0].ravel(), est.predict(frame), rtol=1e-9,
                                   atol=1e-9)


def test_onnx_export_of_an_unfitted_estimator_is_refused():
    pytest.importorskip("onnx")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        nn.to_onnx(TabularClassifier())


def test_explain_and_trace_work_on_the_pipeline():
    frame, label, _ = table()
    clf = quiet_fit(TabularClassifier(**SMALL), frame, label)
    result = explain_table(clf.pipeline_, frame.iloc[:5], background=frame)
    assert list(result.feature_names) == ["a", "b", "city", "price"]
    assert np.all(np.abs(result.delta) < 1e-2)
    trace = trace_row(clf.pipeline_, frame, 0)
    assert trace.preprocessing is not None


def test_import_numnet_stays_light_and_the_names_load_on_first_use():
    code = ("import sys, numnet; assert 'pandas' not in sys.modules; "
            "c = numnet.TabularClassifier; r = numnet.TabularRegressor; "
            "assert 'TabularClassifier' in numnet.__all__ and 'TabularRegressor' in dir(numnet);"
            " print(c.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=HANG_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "numnet.tabular.estimators"


def test_the_command_line_reads_a_saved_tabular_estimator(tmp_path, capsys, monkeypatch):
    frame, label, _ = table()
    est = quiet_fit(TabularClassifier(preset="fast", max_iter=3, random_state=0), frame, label)
    nn.save(est, tmp_path / "est.numnet")
    frame.to_csv(tmp_path / "rows.csv", index=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "predict", "est.numnet", "rows.csv")
    assert code == 0, err
    assert out.splitlines()[1:] == [str(v) for v in est.predict(frame)]
    code, out, err = run(capsys, "inspect", "est.numnet")
    assert code == 0, err
    assert "estimator: MLPClassifier" in out and "preprocessing (" in out
