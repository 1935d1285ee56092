"""numnet.trace and `numnet trace`: every traced number is the network's own."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import numnet
from installed import COMMAND, HANG_TIMEOUT
from installed import run_cli as run
from numnet import (
    SGD,
    Dense,
    MeanSquaredError,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    check_gradients,
    objective,
)
from numnet.cli import main
from numnet.trace import formulas, trace, vector
from numnet.training.gradients import Backprop

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
TIGHT = {"rtol": 1e-12, "atol": 1e-12}


def _assert_real(t, net, loss, X, Y):
    """The trace's values are the network's forward values and the loop's gradients."""
    A = X
    for record, layer in zip(t.layers, net.layers, strict=True):
        np.testing.assert_allclose(record.input, A, **TIGHT)
        A = layer.forward(A)
        np.testing.assert_allclose(record.output, A, **TIGHT)
    np.testing.assert_allclose(t.raw, net.forward(X), **TIGHT)
    value, grads = objective(net, loss, X, Y)
    assert t.loss == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(t.gradient, grads, **TIGHT)
    for name, g in net.named_gradients().items():
        index, param = name.split(".")
        np.testing.assert_allclose(t.layers[int(index)].grads[param], g, **TIGHT)
    loop_value = Backprop()(net, loss, X, Y, None)
    assert t.loss == pytest.approx(loop_value, rel=1e-12)
    np.testing.assert_allclose(t.gradient, net.grads, **TIGHT)


@pytest.mark.parametrize("n_samples", [1, 3])
def test_sequential_trace_is_the_networks_forward_and_backward(n_samples):
    rng = np.random.default_rng(0)
    net = Sequential([Dense(5), Tanh(), Dense(4), ReLU(), Dense(3)]).build(4, random_state=1)
    X = rng.normal(size=(n_samples, 4))
    Y = np.eye(3)[rng.integers(0, 3, size=n_samples)]
    loss = SoftmaxCrossEntropy()
    params = net.params.copy()
    t = trace(net, X if n_samples > 1 else X[0], Y, loss=loss)
    np.testing.assert_array_equal(net.params, params)  # the model is not touched
    _assert_real(t, net, loss, X, Y)
    assert check_gradients(net, loss, X, Y).passed
    # the chain rule, layer by layer: δ of the Dense below a Tanh is dA * (1 - A**2)
    np.testing.assert_allclose(t.layers[1].grad_input,
                               t.layers[1].grad_output * (1 - t.layers[1].output ** 2), **TIGHT)
    np.testing.assert_allclose(t.layers[0].grads["W"], X.T @ t.layers[0].grad_output, **TIGHT)


def test_formulas_come_from_the_docstrings():
    assert formulas(Dense(2)) == (["Z = X @ W + b"],
                                  ["dW = X.T @ dZ", "db = dZ.sum(axis=0)", "dX = dZ @ W.T"])
    assert formulas(ReLU()) == (["Y = max(X, 0)"], ["dX = dY * (Y > 0)"])
    assert formulas(MeanSquaredError())[1] == [
        "dL/draw[i, j] = 2 * w_i * (raw[i, j] - y[i, j]) / (sum_i w_i * n_outputs)"]


def test_demo_trace_numbers_by_hand():
    from numnet.demo import TRACE_SAMPLE, relu_network_model

    net, loss, optimizer = relu_network_model()
    t = trace(net, *TRACE_SAMPLE, loss=loss)
    W1, b1 = net[0].params["W"], net[0].params["b"]
    W2, b2 = net[2].params["W"], net[2].params["b"]
    x = np.array([[0.5, 0.5]])
    z = x @ W1 + b1
    h = np.maximum(z, 0)
    out = h @ W2 + b2
    d_out = 2 * (out - 3.0)
    np.testing.assert_allclose(t.layers[0].output, z, **TIGHT)
    np.testing.assert_allclose(t.layers[2].grads["W"], h.T @ d_out, **TIGHT)
    np.testing.assert_allclose(t.layers[0].grad_output, (d_out @ W2.T) * (z > 0), **TIGHT)
    assert t.loss == pytest.approx(float((out[0, 0] - 3) ** 2), rel=1e-12)
    step = t.step(optimizer)
    for name, before in step.params_before.items():  # SGD's first step: v = g, p -= lr v
        np.testing.assert_allclose(step.params_after[name],
                                   before - 0.01 * step.gradient[name], **TIGHT)
    moved = net.copy()
    moved.params -= 0.01 * t.gradient
    assert step.loss_after == pytest.approx(loss.loss(np.array([[3.0]]),
                                                      moved.forward(x)), rel=1e-12)
    assert step.loss_after < step.loss_before
    assert optimizer.__dict__.get("_velocity") is None  # the optimizer passed is not stepped
    json.dumps({"trace": t.to_dict(), "step": step.to_dict()})


@pytest.mark.parametrize("name", ["MLPClassifier", "LogisticRegression", "MLPRegressor",
                                  "LinearRegression"])
def test_estimators_trace_their_network_and_loss(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    if name in ("MLPClassifier", "LogisticRegression"):
        y = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 1)]
        if name == "LogisticRegression":
            y = np.where(X[:, 0] > 0, "yes", "no")
    else:
        y = X @ [1.0, -2.0, 0.5]
    options = {"max_iter": 20, "random_state": 0} if name.startswith("MLP") else {}
    model = getattr(numnet, name)(**options).fit(X, y)
    t = trace(model, X[:2], y[:2])
    net = model.network_
    loss = model._loss(model.n_outputs_)
    if name == "MLPClassifier":
        Y = (model.classes_ == y[:2, None]).astype(float)
    elif name == "LogisticRegression":
        Y = (y[:2] == "yes").astype(float).reshape(-1, 1)
    else:
        Y = y[:2].reshape(-1, 1)
        np.testing.assert_allclose(t.raw[:, 0], model.predict(X[:2]), **TIGHT)
    _assert_real(t, net, loss, X[:2], Y)


def test_wide_rows_are_abbreviated():
    net = Sequential([Dense(16), ReLU(), Dense(10)]).build(784, random_state=0)
    t = trace(net, np.linspace(0, 1, 784), np.eye(10)[[3]], loss=SoftmaxCrossEntropy())
    text = str(t)
    assert max(len(line) for line in text.splitlines()) < 160
    assert len(text.splitlines()) < 45
    assert vector(np.arange(784.0)) == "[0, 1, 2, 3, ..., 780, 781, 782, 783]  norm 1.266e+04"
    assert "前向传播" in t.format(lang="zh")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_step_columns_line_up_by_display_width(lang):
    # A Chinese character takes two terminal columns: padded by characters, 更新前 (3) and
    # 梯度 (2) left the numbers one column apart.
    from numnet.demo import TRACE_SAMPLE, relu_network_model
    from numnet.trace.render import display_width

    net, loss, optimizer = relu_network_model()
    lines = trace(net, *TRACE_SAMPLE, loss=loss).step(optimizer).format(lang=lang).splitlines()
    rows = [line for line in lines if line.startswith("      ")]
    assert len(rows) == 12  # before, gradient, after for each of the four parameters
    assert {display_width(row[:row.index("[")]) for row in rows} == {15}
    if lang == "zh":
        assert [row.split()[0] for row in rows[:3]] == ["更新前", "梯度", "更新后"]
        assert lines[-1] == "  损失：6.88586 -> 6.0548"


def test_display_width_and_pad():
    from numnet.trace.render import display_width, pad

    widths = [display_width(s) for s in ("", "abc", "梯度", "损失：", "ｘ", "δ")]
    assert widths == [0, 3, 4, 6, 2, 1]
    assert pad("更新前", 8) == "更新前  " and pad("gradient", 8) == "gradient"
    assert pad("more than eight", 8) == "more than eight"


def test_chinese_preprocessing_lines_up_columns_named_in_chinese():
    from numnet.trace.render import _TEXT, _preprocessing, display_width

    def column(name, raw):
        return {"column": name, "kind": "numeric", "missing": False, "raw": raw, "filled": raw,
                "mean": 0.0, "scale": 1.0, "encoded": [raw], "features": [name]}

    lines = _preprocessing([column("价格", 1.0), column("area", 2.0)], _TEXT["zh"])
    assert {display_width(line[:line.index("numeric")]) for line in lines} == {8}


def test_the_chinese_headers_use_standard_terms_and_full_width_colons():
    from numnet.demo import TRACE_SAMPLE, relu_network_model

    net, loss, _ = relu_network_model()
    chinese = trace(net, *TRACE_SAMPLE, loss=loss).format(lang="zh")
    assert "Z    (1, 1)   [0.3759]   原始输出（未经连接函数）" in chinese
    assert "\n损失：MeanSquaredError\n" in chinese
    assert "链接" not in chinese and ": " not in chinese.replace("(3): ", "")
    english = trace(net, *TRACE_SAMPLE, loss=loss).format(lang="en")
    assert "\nLoss: MeanSquaredError\n" in english


def test_errors():
    net = Sequential([Dense(1)]).build(2, random_state=0)
    with pytest.raises(ValueError, match=r"^loss must be given to trace a Sequential with y, "
                       r"got None\. Pass the loss it is trained with, e\.g\. "
                       r"loss=MeanSquaredError\(\)\.$"):
        trace(net, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"^x has 3 features, but this network was built "
                       r"for 2\.$"):
        trace(net, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^step needs the target: trace the sample with y to "
                       r"compute the loss and its gradient\.$"):
        trace(net, [1.0, 2.0]).step(SGD())


# ------------------------------------------------------------------------------ command line


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trace")
    rng = np.random.default_rng(0)
    n = 80
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "city": rng.choice(["oslo", "rome", "lima"], size=n)})
    frame["price"] = 3 * frame["x1"] + 2 * (frame["city"] == "rome") + rng.normal(0, 0.1, n)
    frame.loc[2, "x2"] = np.nan
    frame.to_csv(folder / "data.csv", index=False)
    with pytest.raises(SystemExit) as stop:
        main(["train", str(folder / "data.csv"), "-t", "price", "-o",
              str(folder / "price.numnet"), "--hidden", "4", "--epochs", "20", "--impute",
              "mean", "-q"])
    assert stop.value.code in (0, None)
    return folder


def test_cli_trace_of_a_pipeline_row_uses_the_predict_vector(capsys, folder):
    code, out, err = run(capsys, "trace", folder / "price.numnet", folder / "data.csv",
                         "--row", "3", "--step", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    pipeline = numnet.load(folder / "price.numnet")
    frame = pd.read_csv(folder / "data.csv")
    X = pipeline.transform(frame.iloc[[2]])
    np.testing.assert_array_equal(result["x"], X)
    assert result["raw"][0][0] * pipeline.target_scaler["scale"] + \
        pipeline.target_scaler["mean"] == pytest.approx(pipeline.predict(frame.iloc[[2]])[0],
                                                        rel=1e-12)
    steps = {s["column"]: s for s in result["preprocessing"]}
    assert steps["x2"]["missing"] and steps["x2"]["impute"] == "mean"
    assert steps["city"]["features"] == ["city=lima", "city=oslo", "city=rome"]
    assert result["step"]["loss_after"] < result["step"]["loss_before"]
    code, out, err = run(capsys, "trace", folder / "price.numnet", folder / "data.csv",
                         "--row", "3")
    assert code == 0 and "x2" in out and "missing -> imputed (mean)" in out


@pytest.mark.parametrize("args, message", [
    (["trace"], "error: numnet trace needs MODEL and DATA (or --demo), got no MODEL.\n"),
    (["trace", "--demo", "--lang", "fr"], "error: --lang must be one of {'en', 'zh'}, got "
                                          "'fr'.\n"),
    (["trace", "m.numnet", "--demo"], "error: --demo traces the network of 'numnet demo': it "
                                      "takes no MODEL or DATA, got 'm.numnet'.\n"),
    (["trace", "--demo", "--learning-rate", "-1"], "error: --learning-rate must be a number > "
                                                   "0, got -1.0.\n"),
    (["trace", "{model}", "{data}", "--row", "81"], "error: --row must be a row number from 1 "
     "to 80 (1 is the first line after the header), got 81.\n"),
])
def test_cli_errors_are_one_line(capsys, folder, args, message):
    args = [a.format(model=folder / "price.numnet", data=folder / "data.csv") for a in args]
    assert run(capsys, *args)[::2] == (2, message)


def test_cli_step_needs_the_target(capsys, folder):
    pd.read_csv(folder / "data.csv").drop(columns="price").to_csv(folder / "x.csv", index=False)
    code, out, err = run(capsys, "trace", folder / "price.numnet", folder / "x.csv", "--step")
    assert (code, err) == (2, "error: --step needs the target column 'price' in DATA to "
                              "compute the loss and its gradient.\n")
    code, out, err = run(capsys, "trace", folder / "price.numnet", folder / "x.csv")
    assert code == 0 and "forward pass only" in out


def test_installed_command_traces_the_demo():
    script = Path(sys.executable).with_name("numnet")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "numnet"]
    done = subprocess.run([*command, "trace", "--demo", "--step"], capture_output=True,
                          text=True, timeout=HANG_TIMEOUT)
    assert (done.returncode, done.stderr) == (0, "")
    assert "Z    (1, 4)   [0.7798, 0.3162, -0.6104, -0.4399]   pre-activation z" in done.stdout
    assert "L    = 6.88586   loss value" in done.stdout
    assert "loss: 6.88586 -> 6.0548" in done.stdout
    done = subprocess.run([*command, "trace", "--demo", "--lang", "zh"], capture_output=True,
                          text=True, timeout=HANG_TIMEOUT)
    assert done.returncode == 0 and "反向传播" in done.stdout


@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_installed_step_of_a_linear_model_with_the_auto_learning_rate(folder, model):
    # Issue: TypeError "learning_rate must be a float > 0, got 'auto'" (a traceback).
    frame = pd.read_csv(folder / "data.csv").dropna()
    frame["high"] = np.where(frame["price"] > frame["price"].median(), "yes", "no")
    frame.to_csv(folder / f"{model}.csv", index=False)
    target = "price" if model == "linear" else "high"
    with pytest.raises(SystemExit) as stop:
        main(["train", str(folder / f"{model}.csv"), "-t", target, "--features", "x1,x2,city",
              "--model", model, "-q", "-o", str(folder / f"{model}.numnet")])
    assert stop.value.code in (0, None)
    done = subprocess.run([*COMMAND, "trace", str(folder / f"{model}.numnet"),
                           str(folder / f"{model}.csv"), "--row", "1", "--step", "--json"],
                          capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert (done.returncode, done.stderr) == (0, "")
    step = json.loads(done.stdout)
    # L-BFGS used no step size: 'auto' is 1/L for the row's loss, L = c * (|x|^2 + 1), c the
    # loss's curvature (MSE 2, sigmoid cross-entropy 1/4), a step that cannot raise the loss.
    x = np.asarray(step["x"][0])
    curvature = 2.0 if model == "linear" else 0.25
    assert step["step"]["learning_rate"] == pytest.approx(1 / (curvature * (x @ x + 1)),
                                                          rel=1e-12)
    assert step["step"]["loss_after"] < step["step"]["loss_before"]


def test_step_rate_of_an_auto_model_trained_by_gradient_descent_is_the_rate_it_used(folder):
    from numnet.cli.trace import _model_learning_rate
    from numnet.tabular.trace import trace_row

    frame = pd.read_csv(folder / "data.csv").dropna()
    with pytest.raises(SystemExit) as stop:
        main(["train", str(folder / "data.csv"), "-t", "price", "--features", "x1,x2,city",
              "--model", "linear", "--solver", "gd", "--impute", "mean", "-q", "-o",
              str(folder / "gd.numnet")])
    assert stop.value.code in (0, None)
    pipeline = numnet.load(folder / "gd.numnet")
    used = pipeline.estimator.history_.learning_rate[-1]
    assert np.isfinite(used) and used > 0
    assert _model_learning_rate(pipeline.estimator, trace_row(pipeline, frame, 0)) == used


def test_trace_reads_numbers_written_as_text_as_predict_and_evaluate_do(capsys, folder):
    # Issue: "57,690" or 12% in a feature column ended in a ValueError traceback, and a target
    # with thousands separators was refused (evaluate accepts both).
    frame = pd.read_csv(folder / "data.csv")
    text = frame.copy()
    text["x1"] = [f"{v * 10_000:,.0f}" for v in frame["x1"]]
    text["x2"] = [None if np.isnan(v) else f"{v * 100:.0f}%" for v in frame["x2"]]
    text["price"] = [f"{v * 10_000:,.2f}" for v in frame["price"]]
    text.to_csv(folder / "text.csv", index=False)
    with pytest.raises(SystemExit) as stop:
        main(["train", str(folder / "text.csv"), "-t", "price", "-o",
              str(folder / "text.numnet"), "--hidden", "4", "--epochs", "5", "--impute",
              "mean", "-q"])
    assert stop.value.code in (0, None)
    code, out, err = run(capsys, "evaluate", folder / "text.numnet", folder / "text.csv")
    assert code == 0
    code, out, err = run(capsys, "trace", folder / "text.numnet", folder / "text.csv",
                         "--row", "2", "--step", "--json")
    assert code == 0
    assert err == ("warning: column 'price' holds numbers written as text with thousands "
                   f"separators (e.g. {text['price'][0]!r}); read as numbers.\n")
    result = json.loads(out)
    pipeline = numnet.load(folder / "text.numnet")
    table = pd.read_csv(folder / "text.csv")
    np.testing.assert_array_equal(result["x"], pipeline.transform(table)[[1]])  # predict's
    steps = {s["column"]: s for s in result["preprocessing"]}
    assert steps["x1"]["raw"] == text["x1"][1]
    assert steps["x1"]["filled"] == float(text["x1"][1].replace(",", ""))
    assert steps["x2"]["filled"] == pytest.approx(float(text["x2"][1][:-1]) / 100)
    price = float(text["price"][1].replace(",", ""))
    scaler = pipeline.target_scaler
    assert result["y"][0][0] == pytest.approx((price - scaler["mean"]) / scaler["scale"])


def test_a_missing_target_suggests_only_options_trace_has(capsys, folder, tmp_path):
    # Issue: the error suggested --drop-missing-target, which trace does not have.
    frame = pd.read_csv(folder / "data.csv")
    frame.loc[3, "price"] = np.nan
    frame.to_csv(tmp_path / "holes.csv", index=False)
    code, out, err = run(capsys, "trace", folder / "price.numnet", tmp_path / "holes.csv",
                         "--row", "4")
    assert (code, out, err) == (
        2, "", "error: target column 'price' has 1 missing value(s), the first at row 4. Fill "
               "it in, trace another --row, or leave the target column out of DATA to trace "
               "the forward pass only.\n")


def test_an_unseen_category_is_warned_about_once(capsys, folder, tmp_path):
    # Issue: trace printed the warning twice (the row was encoded twice).
    frame = pd.read_csv(folder / "data.csv")
    frame.loc[0, "city"] = "lima2"
    frame.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = run(capsys, "trace", folder / "price.numnet", tmp_path / "new.csv")
    assert code == 0
    assert err == ("warning: column 'city' has 1 value(s) not seen in training (first 'lima2' "
                   "at row 1); they are encoded as all zeros.\n")


# ----------------------------------------------- missing-value indicators and robust scaling


@pytest.fixture(scope="module")
def robust_pipeline():
    """impute="indicator" and scaling="robust": numbers for a hand-checked trace."""
    from numnet import MLPRegressor
    from numnet.tabular.pipeline import TabularPipeline
    from numnet.tabular.preprocessing import TabularPreprocessor

    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, 100.0, 5.0, 4.0],
                          "city": ["oslo", None, "rome", "oslo", "rome", "rome"],
                          "price": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    pre = TabularPreprocessor(impute="indicator", scaling="robust").fit(frame, ["x", "city"])
    estimator = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    estimator.fit(pre.transform(frame), frame["price"].to_numpy())
    return TabularPipeline(pre, estimator, target="price", task="regression"), frame


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_trace_shows_the_missing_indicator_and_the_smooth_clip(robust_pipeline):
    from numnet.tabular.trace import trace_row

    pipe, frame = robust_pipeline
    # x filled with the median 4 -> [1, 4, 3, 100, 5, 4]: median 4, quartiles 3.25 and 4.75
    assert pipe.preprocessor.columns_[0] == {"name": "x", "kind": "numeric", "fill": 4.0,
                                             "mean": 4.0, "scale": 1.5, "clip": 3.0,
                                             "indicator": True}
    new = pd.DataFrame({"x": [np.nan, 100.0], "city": [None, "rome"], "price": [1.0, 2.0]})
    missing, outlier = trace_row(pipe, new, 0), trace_row(pipe, new, 1)
    x, city = missing.preprocessing
    assert (x["missing"], x["impute"], x["filled"], x["scaled"], x["indicator"]) == (
        True, "median", 4.0, 0.0, 1.0)
    assert x["features"] == ["x", "x.missing"] and x["encoded"] == [0.0, 1.0]
    assert (city["missing"], city["impute"], city["filled"]) == (True, "indicator", None)
    assert city["encoded"] == [0.0, 0.0, 1.0]
    x = outlier.preprocessing[0]
    assert x["scaled"] == 64.0 and x["clip"] == 3.0 and x["indicator"] == 0.0
    assert x["encoded"][0] == pytest.approx(64 / np.sqrt(1 + (64 / 3) ** 2), rel=1e-15)
    english = str(missing).splitlines()
    assert "  x     numeric     missing -> imputed (median) 4 -> (4 - 4) / 1.5 = 0 (median, " \
           "quartile spread) -> smooth clip 0 / sqrt(1 + (0 / 3)²) = 0 -> missing indicator " \
           "x.missing = 1" in english
    assert "  city  categorical missing, a category of its own -> one-hot (3): " \
           "city=(missing) = 1" in english
    assert "  x     numeric     100 -> (100 - 4) / 1.5 = 64 (median, quartile spread) -> " \
           "smooth clip 64 / sqrt(1 + (64 / 3)²) = 2.997 -> missing indicator x.missing = 0" \
           in str(outlier).splitlines()
    chinese = missing.format(lang="zh").splitlines()
    assert "  x     numeric     缺失 -> 填补（median） 4 -> (4 - 4) / 1.5 = 0 (中位数、四分位距) " \
           "-> 平滑截断 0 / sqrt(1 + (0 / 3)²) = 0 -> 缺失指示 x.missing = 1" in chinese
    assert "  city  categorical 缺失，作为单独的类别 -> 独热编码 (3): city=(missing) = 1" \
        in chinese


def test_cli_trace_of_a_model_with_missing_indicators(capsys, folder, tmp_path):
    frame = pd.read_csv(folder / "data.csv")
    frame.loc[::4, "x2"] = np.nan  # in the training rows too
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    with pytest.raises(SystemExit) as stop:
        main(["train", str(tmp_path / "gaps.csv"), "-t", "price", "-o",
              str(tmp_path / "gaps.numnet"), "--hidden", "4", "--epochs", "5", "--impute",
              "indicator", "--scaling", "standard", "-q"])
    assert stop.value.code in (0, None)
    frame.loc[0, "city"] = None  # the city had no missing value in training: all zeros
    frame.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = run(capsys, "trace", tmp_path / "gaps.numnet", tmp_path / "new.csv",
                         "--row", "3", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    pipeline = numnet.load(tmp_path / "gaps.numnet")
    np.testing.assert_array_equal(result["x"], pipeline.transform(frame.iloc[[2]]))
    steps = {s["column"]: s for s in result["preprocessing"]}
    assert steps["x2"]["features"] == ["x2", "x2.missing"] and steps["x2"]["indicator"] == 1.0
    assert steps["x2"]["impute"] == "median" and "clip" not in steps["x2"]
    code, out, err = run(capsys, "trace", tmp_path / "gaps.numnet", tmp_path / "new.csv",
                         "--row", "1")
    assert code == 0
    assert "city  categorical missing, a category of its own -> one-hot (3): missing: all " \
           "zeros" in out
