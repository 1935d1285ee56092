"""ONNX export: onnxruntime and onnx's reference evaluator against numnet's own predictions."""

import io
import re
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import numnet  # noqa: E402
from installed import run_cli as _cli  # noqa: E402
from numnet import (  # noqa: E402
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    save,  # noqa: E402
)
from numnet.onnx import pipeline_inputs, save_onnx, to_onnx  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10}


def run(model, feed):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feed),
                    strict=True))


def every_layer_net(dtype):
    layers = [Dense(6), LeakyReLU(0.1), Dense(5), Tanh(), Dropout(0.3), Dense(5), Sigmoid(),
              Dense(4), ReLU(), Identity(), Dense(4, bias=False), LeakyReLU(2.5), Dense(3),
              Softmax()]
    return Sequential(layers).build(4, dtype=dtype, random_state=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_sequential_with_every_layer_matches_numnet(dtype):
    from onnx.reference import ReferenceEvaluator

    net = every_layer_net(dtype)
    X = np.random.default_rng(1).normal(size=(9, 4)).astype(dtype)
    model = to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    expected = net.forward(X)
    got = run(model, {"X": X})["Y"]
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype])
    reference = ReferenceEvaluator(model).run(None, {"X": X})[0]
    np.testing.assert_allclose(reference, expected, rtol=TOL[dtype], atol=TOL[dtype])
    assert np.ptp(expected) > 0.01  # not a constant output


def test_leaky_relu_is_numnets_formula_bit_for_bit():
    net = Sequential([Dense(8), LeakyReLU(0.2)]).build(3, random_state=0)
    X = np.random.default_rng(0).normal(size=(50, 3))
    np.testing.assert_array_equal(run(to_onnx(net), {"X": X})["Y"], net.forward(X))


def _data(task, rng):
    X = rng.normal(size=(60, 3))
    if task == "binary":
        y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    elif task == "multiclass":
        y = np.digitize(X[:, 0], [-0.5, 0.5]) * 10 + 1  # integer labels 1, 11, 21
    elif task == "multilabel":
        y = (X[:, :2] > 0).astype(int)
    elif task == "regression":
        y = X @ [1.0, -2.0, 0.5]
    else:
        y = np.c_[X @ [1.0, -2.0, 0.5], X[:, 0] ** 2]
    return X, y


CASES = ([("MLPClassifier", a, t) for a in ("identity", "logistic", "tanh", "relu")
          for t in ("binary", "multiclass", "multilabel")]
         + [("MLPRegressor", a, t) for a in ("identity", "logistic", "tanh", "relu")
            for t in ("regression", "multi-output")]
         + [("LogisticRegression", None, t) for t in ("binary", "multiclass")]
         + [("LinearRegression", None, t) for t in ("regression", "multi-output")])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(("name", "activation", "task"), CASES,
                         ids=[f"{n}-{a}-{t}" for n, a, t in CASES])
def test_estimators_match_numnet(name, activation, task, dtype):
    X, y = _data(task, np.random.default_rng(0))
    X = X.astype(dtype)
    params = {} if activation is None else {"hidden_layer_sizes": (7,),
                                            "activation": activation, "max_iter": 30,
                                            "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = getattr(numnet, name)(**params).fit(X, y)
    model = to_onnx(est)
    onnx.checker.check_model(model, full_check=True)
    out = run(model, {"X": X})
    tol = TOL[dtype]
    if "Classifier" in name or "Logistic" in name:
        assert list(out) == ["label", "probabilities"]
        expected = est.predict(X)
        assert out["label"].shape == expected.shape
        assert out["label"].tolist() == expected.tolist()
        assert out["probabilities"].dtype == dtype
        np.testing.assert_allclose(out["probabilities"], est.predict_proba(X), rtol=tol,
                                   atol=tol)
    else:
        assert list(out) == ["variable"]
        assert out["variable"].dtype == dtype
        np.testing.assert_allclose(out["variable"], est.predict(X).reshape(len(X), -1),
                                   rtol=tol, atol=tol)


def test_poisson_regressor_exports_exp_of_the_output():
    X, y = _data("regression", np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = numnet.MLPRegressor((5,), loss="poisson", max_iter=20, random_state=0).fit(
            X, np.abs(y))
    np.testing.assert_allclose(run(to_onnx(est), {"X": X})["variable"][:, 0], est.predict(X),
                               rtol=1e-10)


def test_float64_network_exported_as_float32():
    net = every_layer_net(np.float64)
    X = np.random.default_rng(1).normal(size=(9, 4))
    got = run(to_onnx(net, dtype="float32"), {"X": X.astype(np.float32)})["Y"]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, net.forward(X), atol=1e-6)


def test_export_refuses_what_it_cannot_represent():
    class Square(numnet.Layer):
        def forward(self, X, *, training=False):
            return X * X

    net = Sequential([Dense(2), Square()]).build(3, random_state=0)
    msg = ("layer 1 (Square) cannot be exported to ONNX; the layers that can are Dense, "
           "Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, Dropout.")
    with pytest.raises(TypeError, match=re.escape(msg)):
        to_onnx(net)
    net = Sequential([Dense(2), ReLU(), Dense(1)]).build(3, random_state=0)
    net.named_parameters()["2.W"][1, 0] = np.nan
    msg = ("parameter '2.W' must hold finite values to export to ONNX, got np.float64(nan). "
           "Retrain the model.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        to_onnx(net)
    with pytest.raises(RuntimeError, match="Sequential is not built yet"):
        to_onnx(Sequential([Dense(2)]))
    with pytest.raises(TypeError, match=re.escape(
            "obj must be a numnet Sequential, estimator or TabularPipeline to export to ONNX, "
            "got dict.")):
        to_onnx({})
    latest = onnx.defs.onnx_opset_version()
    with pytest.raises(ValueError, match=re.escape(
            f"opset must be an integer in [13, {latest}], got 12.")):
        to_onnx(net, opset=12)
    with pytest.raises(ValueError, match=re.escape(
            "dtype must be one of {'float32', 'float64'}, got 'int8'.")):
        to_onnx(Sequential([Dense(2)]).build(3), dtype="int8")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        to_onnx(numnet.MLPClassifier())


def test_float_class_labels_that_are_not_integers_are_refused():
    X, _ = _data("binary", np.random.default_rng(0))
    est = numnet.LogisticRegression().fit(X, np.where(X[:, 0] > 0, 0, 1))
    est.classes_ = np.array([0.5, 1.5])  # scikit-learn refuses to fit such labels; a file may not
    with pytest.raises(ValueError, match=re.escape(
            "classes_ must be integers or strings to export to ONNX, got [0.5, 1.5]. Encode "
            "the labels as integers or text.")):
        to_onnx(est)


def test_save_onnx_writes_atomically_and_takes_the_opset(tmp_path):
    net = every_layer_net(np.float64)
    path = tmp_path / "net.onnx"
    save_onnx(net, path, opset=19)
    loaded = onnx.load(path)
    assert [(o.domain, o.version) for o in loaded.opset_import] == [("", 19)]
    assert [p.name for p in tmp_path.iterdir()] == ["net.onnx"]  # no temporary file left
    X = np.ones((2, 4))
    np.testing.assert_allclose(run(loaded, {"X": X})["Y"], net.forward(X), rtol=1e-10)
    assert numnet.save_onnx is save_onnx and numnet.to_onnx is to_onnx


# ------------------------------------------------------------------------------ the pipeline


def _table(rng, n=80):
    import pandas as pd

    x = rng.normal(size=n)
    city = rng.choice(["Paris", "Lyon", "Nice"], size=n)
    size = rng.uniform(20, 120, size=n)
    frame = pd.DataFrame({"x": x, "city": city, "size": size})
    frame["label"] = np.where(x + (city == "Paris") > 0.3, "high", "low")
    frame.loc[frame.index % 3 == 0, "label"] = "mid"
    frame["price"] = 3 * size + 10 * (city == "Nice") + x
    frame.loc[[4, 9], "x"] = np.nan
    frame.loc[[5, 7], "city"] = None
    return frame


def _new_rows():
    import pandas as pd

    return pd.DataFrame({"x": [0.1, np.nan, -2.0, 1.5], "city": ["Nice", "Lille", None, "Paris"],
                         "size": [50.0, 70.0, np.nan, 30.0]})


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_classification_pipeline_on_raw_rows_matches_predict(dtype):
    from numnet.tabular import train_pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe, _ = train_pipeline(_table(np.random.default_rng(0)), target="label",
                                 features=["x", "city", "size"], impute="mean", dtype=dtype,
                                 params={"max_iter": 30})
        rows = _new_rows()
        expected_labels, expected_proba = pipe.predict(rows), pipe.predict_proba(rows)
    model = to_onnx(pipe)
    onnx.checker.check_model(model, full_check=True)
    assert [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input] == [
        ("x", onnx.TensorProto.DOUBLE), ("city", onnx.TensorProto.STRING),
        ("size", onnx.TensorProto.DOUBLE)]
    out = run(model, pipeline_inputs(pipe, rows))
    assert out["label"].tolist() == expected_labels.tolist()
    tol = TOL[np.dtype(dtype).type]
    np.testing.assert_allclose(out["probabilities"], expected_proba, rtol=tol, atol=tol)


def test_regression_pipeline_maps_the_target_back():
    from numnet.tabular import train_pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe, _ = train_pipeline(_table(np.random.default_rng(0)), target="price",
                                 features=["x", "city", "size"], impute="median",
                                 params={"max_iter": 30})
        rows = _new_rows()
        expected = pipe.predict(rows)
    assert pipe.target_scaler is not None
    out = run(to_onnx(pipe), pipeline_inputs(pipe, rows))["variable"]
    assert out.shape == (4, 1)
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-10)


def _better_by_default(task, dtype):
    """A pipeline with missing-value indicators and robust scaling, fitted by hand."""
    from numnet import MLPClassifier, MLPRegressor
    from numnet.tabular.pipeline import TabularPipeline
    from numnet.tabular.preprocessing import TabularPreprocessor

    table = _table(np.random.default_rng(0))
    table.loc[11, "size"] = 5000.0  # an outlier: the smooth clip matters
    pre = TabularPreprocessor(impute="indicator", scaling="robust").fit(
        table, ["x", "city", "size"])
    assert pre.feature_names_out_ == ["x", "x.missing", "city=Lyon", "city=Nice",
                                      "city=Paris", "city=(missing)", "size"]
    X = pre.transform(table, dtype=np.dtype(dtype))
    if task == "classification":
        estimator = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
        estimator.fit(X, table["label"].to_numpy())
        return TabularPipeline(pre, estimator, target="label", task=task, dtype=dtype)
    y = table["price"].to_numpy()
    scaler = {"mean": float(y.mean()), "scale": float(y.std())}
    estimator = MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    estimator.fit(X, (y - scaler["mean"]) / scaler["scale"])
    return TabularPipeline(pre, estimator, target="price", task=task, dtype=dtype,
                           target_scaler=scaler)


def _rows_with_missing_values():
    import pandas as pd

    # every kind of missing value: in a column with an indicator (x, city) and without (size),
    # alone and together; an unseen category; outliers past the clip on both sides
    return pd.DataFrame({
        "x": [0.1, np.nan, -2.0, 1.5, np.nan, 40.0, -1e6],
        "city": ["Nice", "Lille", None, "Paris", None, "Lyon", None],
        "size": [50.0, 70.0, np.nan, 30.0, np.nan, 1e9, 80.0],
    })


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_missing_indicators_and_robust_scaling_match_predict(task, dtype):
    pipe = _better_by_default(task, dtype)
    rows = _rows_with_missing_values()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unseen city
        expected = pipe.predict(rows)
        features = pipe.transform(rows)
        proba = pipe.predict_proba(rows) if task == "classification" else None
    assert features[:, 1].tolist() == [0, 1, 0, 0, 1, 0, 0]        # x.missing
    assert features[:, 5].tolist() == [0, 0, 1, 0, 1, 0, 1]        # city=(missing)
    assert np.abs(features[:, [0, 6]]).max() <= 3                    # clipped
    model = to_onnx(pipe)
    onnx.checker.check_model(model, full_check=True)
    used = {node.op_type for node in model.graph.node}
    assert {"IsNaN", "Where", "Sqrt", "Mul", "Div", "Cast", "LabelEncoder"} <= used
    out = run(model, pipeline_inputs(pipe, rows))
    tol = TOL[np.dtype(dtype).type]
    if task == "classification":
        assert out["label"].tolist() == expected.tolist()  # every row gets a class
        np.testing.assert_allclose(out["probabilities"], proba, rtol=tol, atol=tol)
    else:
        assert not np.isnan(out["variable"]).any()
        np.testing.assert_allclose(out["variable"][:, 0], expected, rtol=tol)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("impute", ["indicator", "most_frequent", None])
def test_rare_and_unseen_text_go_to_the_other_feature_as_in_predict(impute):
    import pandas as pd

    from numnet import MLPClassifier
    from numnet.tabular.pipeline import TabularPipeline
    from numnet.tabular.preprocessing import TabularPreprocessor

    rng = np.random.default_rng(3)
    city = rng.permutation(np.array(["Lyon"] * 60 + ["Nice"] * 45 + ["Brest"] * 10
                                    + ["Metz"] * 5, dtype=object))
    if impute is not None:
        city[rng.random(120) < 0.1] = None
    table = pd.DataFrame({"x": rng.normal(size=120), "city": city,
                          "label": rng.choice(["a", "b"], 120)})
    counts = table["city"].value_counts()
    rare = sorted(counts.index[counts < 8])
    assert rare == ["Metz"]
    pre = TabularPreprocessor(impute=impute, min_frequency=8).fit(table, ["x", "city"])
    assert pre.columns_[1]["other"] and "city=(other)" in pre.feature_names_out_
    X = pre.transform(table)
    pipe = TabularPipeline(pre, MLPClassifier(hidden_layer_sizes=(6,), max_iter=20,
                                              random_state=0).fit(X, table["label"]),
                           target="label", task="classification")
    rows = pd.DataFrame({"x": [0.0] * 4, "city": ["Lyon", rare[0], "Quimper",
                                                  None if impute else "Nice"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unseen-value warning: (other) is where it goes
        features = pipe.transform(rows)
    other = pre.feature_names_out_.index("city=(other)")
    assert features[:, other].tolist() == [0, 1, 1, 0]
    out = run(to_onnx(pipe), pipeline_inputs(pipe, rows))
    assert out["label"].tolist() == pipe.predict(rows).tolist()
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(rows), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_smooth_clip_in_the_graph_is_numnets_bit_for_bit():
    from numnet.functional import smooth_clip

    pipe = _better_by_default("regression", "float64")
    rows = _rows_with_missing_values()
    g_inputs = pipeline_inputs(pipe, rows)
    model = to_onnx(pipe)
    # expose the preprocessed features of the graph and compare them with transform's
    features = next(n.output[0] for n in model.graph.node if n.op_type == "Concat")
    model.graph.output.append(onnx.helper.make_tensor_value_info(
        features, onnx.TensorProto.DOUBLE, [None, 7]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pipe.transform(rows)
    np.testing.assert_array_equal(run(model, g_inputs)[features], expected)
    column = pipe.preprocessor.columns_[2]
    z = (1e9 - column["mean"]) / column["scale"]
    assert expected[5, 6] == smooth_clip(np.array([z]), 3.0)[0]


def test_pipeline_with_a_date_column_is_refused():
    import pandas as pd

    from numnet.tabular import train_pipeline

    frame = _table(np.random.default_rng(0))
    frame["when"] = pd.date_range("2024-01-01", periods=len(frame)).astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe, _ = train_pipeline(frame, target="label", features=["x", "when"], impute="mean",
                                 params={"max_iter": 5})
    with pytest.raises(ValueError, match=re.escape(
            "column 'when' holds dates, which ONNX export cannot represent (calendar parts of "
            "parsed dates); retrain without it (--exclude when) to export the model.")):
        to_onnx(pipe)


# ------------------------------------------------------------------------------ skl2onnx


@pytest.mark.parametrize("input_dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", ["MLPClassifier", "LogisticRegression"])
def test_mixed_scikit_learn_pipeline_converts_through_skl2onnx(name, input_dtype):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from numnet.onnx import register_skl2onnx

    register_skl2onnx()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) * [1.0, 10.0, 100.0]
    y = np.digitize(X[:, 0], [-0.5, 0.5]).astype(str)
    params = {"hidden_layer_sizes": (5,), "max_iter": 30} if name == "MLPClassifier" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = make_pipeline(StandardScaler(), getattr(numnet, name)(**params)).fit(X, y)
    model = skl2onnx.to_onnx(pipe, X[:1].astype(input_dtype), options={"zipmap": False})
    onnx.checker.check_model(model, full_check=True)
    out = run(model, {"X": X.astype(input_dtype)})
    assert out["label"].tolist() == pipe.predict(X).tolist()
    tol = 1e-6 if input_dtype == np.float32 else 1e-12  # float32: the scaler rounds too
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X), atol=tol)


def test_mixed_regression_pipeline_converts_through_skl2onnx():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from numnet.onnx import register_skl2onnx

    register_skl2onnx()
    X, y = _data("multi-output", np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = make_pipeline(StandardScaler(), numnet.MLPRegressor((5,), max_iter=30)).fit(X, y)
    out = run(skl2onnx.to_onnx(pipe, X[:1]), {"X": X})["variable"]
    np.testing.assert_allclose(out, pipe.predict(X), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ numnet export


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_numnet_export_matches_numnet_predict_on_the_raw_csv(capsys, tmp_path):
    import pandas as pd

    _table(np.random.default_rng(0)).drop(columns="price").to_csv(tmp_path / "train.csv",
                                                                    index=False)
    _new_rows().to_csv(tmp_path / "new.csv", index=False)
    model = tmp_path / "m.numnet"
    code, _, _ = _cli(capsys, "train", tmp_path / "train.csv", "--target", "label",
                      "--impute", "mean", "--epochs", "20", "--hidden", "8", "-q",
                      "-o", model)
    assert code == 0
    code, out, err = _cli(capsys, "export", model, "-o", tmp_path / "m.onnx", "--opset", "18")
    assert (code, out) == (0, "")
    assert err == (f"Wrote {tmp_path / 'm.onnx'} (inputs: x, city, size; outputs: label, "
                   "probabilities)\n")
    code, out, _ = _cli(capsys, "predict", model, tmp_path / "new.csv", "--proba", "-q")
    expected = pd.read_csv(io.StringIO(out))
    pipe = numnet.load(model)
    rows = pd.read_csv(tmp_path / "new.csv")
    got = run(onnx.load(tmp_path / "m.onnx"), pipeline_inputs(pipe, rows))
    assert got["label"].tolist() == expected["prediction"].tolist()
    proba = expected[[f"proba_{c}" for c in pipe.classes_]].to_numpy()
    np.testing.assert_allclose(got["probabilities"], proba, rtol=1e-10)  # CSV: 17 digits


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_numnet_export_with_missing_indicators_scores_every_row_as_predict(capsys, tmp_path):
    # --impute indicator: missing values in training and at prediction, in numbers and text;
    # every row gets a class (imputed in the graph, as the model does)
    import pandas as pd

    _table(np.random.default_rng(0)).drop(columns="price").to_csv(tmp_path / "train.csv",
                                                                    index=False)
    _rows_with_missing_values().to_csv(tmp_path / "new.csv", index=False)
    model = tmp_path / "m.numnet"
    assert _cli(capsys, "train", tmp_path / "train.csv", "--target", "label", "--impute",
                "indicator", "--epochs", "20", "--hidden", "8", "-q", "-o", model)[0] == 0
    pipe = numnet.load(model)
    assert pipe.preprocessor.feature_names_out_[:2] == ["x", "x.missing"]
    assert _cli(capsys, "export", model, "-o", tmp_path / "m.onnx", "-q")[0] == 0
    code, out, _ = _cli(capsys, "predict", model, tmp_path / "new.csv", "--proba", "-q")
    assert code == 0
    expected = pd.read_csv(io.StringIO(out))
    got = run(onnx.load(tmp_path / "m.onnx"),
              pipeline_inputs(pipe, pd.read_csv(tmp_path / "new.csv")))
    assert got["label"].tolist() == expected["prediction"].tolist()
    proba = expected[[f"proba_{c}" for c in pipe.classes_]].to_numpy()
    np.testing.assert_allclose(got["probabilities"], proba, rtol=1e-10)


def test_numnet_export_errors_are_one_line(capsys, tmp_path):
    save(Sequential([Dense(2)]).build(3, random_state=0), tmp_path / "net.numnet")

    def fails_with(message, *args):
        assert _cli(capsys, "export", *args) == (2, "", f"error: {message}\n")

    fails_with(f"--output must end in .onnx, got {str(tmp_path / 'x.txt')!r}.",
               tmp_path / "net.numnet", "-o", tmp_path / "x.txt")
    latest = onnx.defs.onnx_opset_version()
    fails_with(f"--opset must be an integer in [13, {latest}], got 9.",
               tmp_path / "net.numnet", "-o", tmp_path / "x.onnx", "--opset", "9")
    fails_with(f"Cannot read {str(tmp_path / 'no.numnet')!r}: no such file.",
               tmp_path / "no.numnet", "-o", tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
    code, _, err = _cli(capsys, "export", tmp_path / "net.numnet", "-o", tmp_path / "x.onnx",
                        "-q")
    assert (code, err) == (0, "")
    assert [i.name for i in onnx.load(tmp_path / "x.onnx").graph.input] == ["X"]


# ------------------------------------------------------------------ rows that cannot be scored


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("labels", ["text", "integers"])
def test_a_row_with_a_missing_value_gets_no_class_without_imputation(capsys, tmp_path, labels):
    # Trained without --impute: numnet predict refuses a missing value; the graph gives NaN
    # probabilities and the unscored label, never a class, and scores the other rows as numnet.
    import pandas as pd

    from numnet.onnx.estimators import UNSCORED_INT, UNSCORED_TEXT

    table = _table(np.random.default_rng(0)).dropna()
    if labels == "integers":
        table["label"] = table["label"].map({"low": 0, "mid": 1, "high": 2})
    table.drop(columns="price").to_csv(tmp_path / "train.csv", index=False)
    model = tmp_path / "m.numnet"
    assert _cli(capsys, "train", tmp_path / "train.csv", "-t", "label", "--epochs", "20",
                "--hidden", "8", "--preset", "classic", "-q", "-o", model)[0] == 0
    assert _cli(capsys, "export", model, "-o", tmp_path / "m.onnx", "-q")[0] == 0
    rows = _new_rows()  # rows 1 and 2: a missing number; row 2 a missing city too
    rows.loc[3, "city"] = None  # row 3: only a missing category
    pipe = numnet.load(model)
    got = run(onnx.load(tmp_path / "m.onnx"), pipeline_inputs(pipe, rows))
    rows.iloc[[0]].to_csv(tmp_path / "new.csv", index=False)
    code, out, _ = _cli(capsys, "predict", model, tmp_path / "new.csv", "--proba", "-q")
    expected = pd.read_csv(io.StringIO(out))
    mark = UNSCORED_TEXT if labels == "text" else UNSCORED_INT
    assert got["label"].tolist() == [expected["prediction"][0], mark, mark, mark]
    assert np.isnan(got["probabilities"][1:]).all()
    proba = expected[[f"proba_{c}" for c in pipe.classes_]].to_numpy()
    np.testing.assert_allclose(got["probabilities"][:1], proba, rtol=1e-10)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_an_estimator_marks_a_row_with_nan(kind):
    from numnet.onnx.estimators import UNSCORED_INT

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = {"binary": (X[:, 0] > 0).astype(int), "multiclass": np.digitize(X[:, 0], [-0.5, 0.5]),
         "multilabel": np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)}[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = numnet.MLPClassifier((4,), max_iter=20, random_state=0).fit(X, y)
    rows = X[:3].copy()
    rows[1, 2] = np.nan
    got = run(to_onnx(clf), {"X": rows})
    expected = clf.predict(rows[[0, 2]])
    assert got["label"][[0, 2]].tolist() == expected.tolist()
    assert got["label"][1].tolist() == ([-1, -1] if kind == "multilabel" else UNSCORED_INT)
    assert np.isnan(got["probabilities"][1]).all()


# ------------------------------------------------------------- columns named like an output


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("target", ["y", "price"])
def test_columns_named_like_the_outputs_keep_their_names(capsys, tmp_path, target):
    # Columns 'label', 'probabilities' and 'variable' stay the inputs' names; the outputs that
    # would collide get the suffix _output. onnxruntime agrees with numnet predict.
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 80
    frame = pd.DataFrame({"label": rng.normal(size=n),
                          "probabilities": rng.choice(["a", "b", "c"], n),
                          "variable": rng.uniform(0, 5, n)})
    frame["y"] = np.where(frame["label"] + (frame["probabilities"] == "a") > 0.3, "up", "down")
    frame["price"] = 2 * frame["label"] + frame["variable"]
    frame.drop(columns="price" if target == "y" else "y").to_csv(tmp_path / "train.csv",
                                                                 index=False)
    frame.drop(columns=["y", "price"]).head(10).to_csv(tmp_path / "new.csv", index=False)
    model = tmp_path / "m.numnet"
    assert _cli(capsys, "train", tmp_path / "train.csv", "-t", target, "--epochs", "20",
                "--hidden", "8", "-q", "-o", model)[0] == 0
    code, out, err = _cli(capsys, "export", model, "-o", tmp_path / "m.onnx")
    outputs = ("label_output, probabilities_output" if target == "y" else "variable_output")
    assert (code, out, err) == (0, "", f"Wrote {tmp_path / 'm.onnx'} (inputs: label, "
                                       f"probabilities, variable; outputs: {outputs})\n")
    proba = ["--proba"] if target == "y" else []
    code, out, _ = _cli(capsys, "predict", model, tmp_path / "new.csv", *proba, "-q")
    assert code == 0
    expected = pd.read_csv(io.StringIO(out))
    pipe = numnet.load(model)
    got = run(onnx.load(tmp_path / "m.onnx"),
              pipeline_inputs(pipe, pd.read_csv(tmp_path / "new.csv")))
    if target == "y":
        assert got["label_output"].tolist() == expected["prediction"].tolist()
        proba = expected[[f"proba_{c}" for c in pipe.classes_]].to_numpy()
        np.testing.assert_allclose(got["probabilities_output"], proba, rtol=1e-10)
    else:
        np.testing.assert_allclose(got["variable_output"][:, 0], expected["prediction"],
                                   rtol=1e-10)
