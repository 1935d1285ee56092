"""validation_batch_size (issue 26 item 5): the validation pass in blocks of rows.

None (the default) is the one pass of before, bit for bit; an int forwards the validation rows
in blocks of that many rows and gives the one-pass figures to rounding, the same epochs on a
well-separated problem, with no block's activations kept beyond it.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import numnet as nn
from installed import run_cli
from numnet.network import Sequential
from numnet.tabular import TrainSpec
from numnet.training import callbacks as callbacks_module
from numnet.training.validation import evaluate

ESTIMATORS = [
    (nn.MLPClassifier, {"hidden_layer_sizes": (8,)}, "labels"),
    (nn.MLPRegressor, {"hidden_layer_sizes": (8,)}, "values"),
    (nn.LogisticRegression, {"solver": "adam"}, "labels"),
    (nn.LinearRegression, {"solver": "adam"}, "values"),
]


def data(n=1000, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    values = 2 * X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=n)
    return X, {"labels": labels, "values": values}


def fit(cls, params, X, y, **more):
    settings = {"early_stopping": True, "random_state": 0, "max_iter": 30, **params, **more}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        return cls(**settings).fit(X, y)


def one_pass_before(net, loss, X, y, sample_weight=None):
    """The validation figures as computed before validation_batch_size (one pass)."""
    raw = net.forward(X)
    value = loss.loss(y, raw, sample_weight)
    if isinstance(loss, nn.SoftmaxCrossEntropy):
        correct = (raw.argmax(axis=1) == y.argmax(axis=1)).astype(float)
    elif isinstance(loss, nn.BinaryCrossEntropy):
        correct = np.all((raw > 0) == (y > 0.5), axis=1).astype(float)
    else:
        residual = np.average((y - loss.link(raw)) ** 2, axis=0, weights=sample_weight)
        total = np.average((y - np.average(y, axis=0, weights=sample_weight)) ** 2, axis=0,
                           weights=sample_weight)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                          np.where(residual == 0, 1.0, 0.0))
        return value, float(np.mean(r2))
    return value, float(np.average(correct, weights=sample_weight))


def problem(kind, n=600, dtype=np.float64, seed=1):
    """(net, loss, X, y, w): a small network and data of each kind of loss."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(dtype)
    w = rng.uniform(0.5, 2.0, size=n).astype(dtype)
    if kind == "softmax":
        y = np.eye(3, dtype=dtype)[rng.integers(0, 3, size=n)]
        loss, n_out = nn.SoftmaxCrossEntropy(), 3
    elif kind == "binary":
        y = (X[:, :1] > 0).astype(dtype)
        loss, n_out = nn.BinaryCrossEntropy(), 1
    elif kind == "poisson":
        y = rng.poisson(2.0, size=(n, 2)).astype(dtype)
        loss, n_out = nn.PoissonLoss(), 2
    else:
        y = np.column_stack([X[:, 0] - X[:, 1], X[:, 2]]).astype(dtype)
        loss, n_out = nn.MeanSquaredError(), 2
    net = Sequential([nn.Dense(16), nn.ReLU(), nn.Dense(n_out)]).build(4, random_state=seed,
                                                                       dtype=dtype)
    return net, loss, X, y, w


# --- None: bit for bit ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["softmax", "binary", "mse", "poisson"])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_pass_figures_are_the_previous_code_bit_for_bit(kind, weighted):
    net, loss, X, y, w = problem(kind)
    w = w if weighted else None
    assert evaluate(net, loss, X, y, w) == one_pass_before(net, loss, X, y, w)
    assert evaluate(net, loss, X, y, w, batch_size=None) == one_pass_before(net, loss, X, y, w)


def test_train_with_none_is_the_default_bit_for_bit():
    def run(**more):
        net, loss, X, y, w = problem("softmax")
        history = nn.train(net, loss, nn.Adam(0.01), X, y, sample_weight=w, batch_size=32,
                           max_epochs=4, validation_fraction=0.2, random_state=0, **more)
        return net.params.copy(), history

    (default, h0), (none, h1) = run(), run(validation_batch_size=None)
    np.testing.assert_array_equal(default, none)
    assert h0.val_loss == h1.val_loss and h0.val_metric == h1.val_metric


def test_train_one_pass_records_the_previous_figures_bit_for_bit():
    # After each epoch, the recorded figures are those of the code before the option.
    net, loss, X, y, w = problem("mse")
    X_val, y_val, w_val = X[:150], y[:150], w[:150]
    seen = []

    def check(epoch, history):
        seen.append((history.val_loss[-1], history.val_metric[-1])
                    == one_pass_before(net, loss, X_val, y_val, w_val))

    nn.train(net, loss, nn.Adam(0.01), X[150:], y[150:], sample_weight=w[150:],
             max_epochs=3, validation_data=(X_val, y_val, w_val), random_state=0,
             callbacks=[check])
    assert seen == [True, True, True]


@pytest.mark.parametrize("cls, params, target", ESTIMATORS)
def test_estimators_with_none_are_the_default_bit_for_bit(cls, params, target):
    X, targets = data()
    default = fit(cls, params, X, targets[target])
    none = fit(cls, params, X, targets[target], validation_batch_size=None)
    assert default.get_params()["validation_batch_size"] is None
    np.testing.assert_array_equal(default.network_.params, none.network_.params)
    assert default.validation_scores_ == none.validation_scores_
    assert default.history_.val_loss == none.history_.val_loss


# --- an int: the same figures to rounding, in blocks ------------------------------------------


@pytest.mark.parametrize("kind", ["softmax", "binary", "mse", "poisson"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("batch_size", [1, 64, 599, 600, 10_000])
def test_blocks_give_the_one_pass_figures_to_rounding_float64(kind, weighted, batch_size):
    net, loss, X, y, w = problem(kind)
    w = w if weighted else None
    value, metric = evaluate(net, loss, X, y, w)
    blocked_value, blocked_metric = evaluate(net, loss, X, y, w, batch_size=batch_size)
    np.testing.assert_allclose(blocked_value, value, rtol=1e-12)
    np.testing.assert_allclose(blocked_metric, metric, rtol=1e-12)


@pytest.mark.parametrize("kind", ["softmax", "binary", "mse", "poisson"])
@pytest.mark.parametrize("weighted", [False, True])
def test_blocks_give_the_one_pass_figures_to_a_few_ulps_float32(kind, weighted):
    net, loss, X, y, w = problem(kind, n=5000, dtype=np.float32)
    w = w if weighted else None
    value, metric = evaluate(net, loss, X, y, w)
    blocked_value, blocked_metric = evaluate(net, loss, X, y, w, batch_size=512)
    ulp = float(np.finfo(np.float32).eps)
    assert abs(blocked_value - value) <= 4 * ulp * abs(value)
    if kind in ("softmax", "binary"):
        assert abs(blocked_metric - metric) <= 4 * ulp * abs(metric)
        return
    # R^2: the blocks sum the squares in float64, the one pass in float32 down the rows (tens
    # of ulps off here); both against R^2 of the same outputs in float64.
    raw, y64 = net.forward(X).astype(np.float64), y.astype(np.float64)
    w64 = None if w is None else w.astype(np.float64)
    residual = np.average((y64 - loss.link(raw)) ** 2, axis=0, weights=w64)
    total = np.average((y64 - np.average(y64, axis=0, weights=w64)) ** 2, axis=0, weights=w64)
    exact = float(np.mean(1 - residual / total))
    assert abs(blocked_metric - exact) <= 4 * ulp * abs(exact)
    assert abs(blocked_metric - metric) <= abs(metric - exact) + 4 * ulp * abs(exact)
    assert abs(metric - exact) <= 100 * ulp * abs(exact)


class _Record:
    """Sequential.forward wrapped: the rows of each call outside training, per validation pass.

    Each block's forward must start with the previous block's caches dropped.
    """

    def __init__(self, monkeypatch):
        self.passes, self.current = [], None
        forward, on_epoch_end = Sequential.forward, callbacks_module.Validation.on_epoch_end
        record = self

        def recording_forward(net, X, *, training=False):
            if record.current is not None and not training:
                if record.current:  # not the first block: nothing cached from the last one
                    assert all(key not in layer.__dict__ for layer in net.layers
                               for key in layer._cache)
                record.current.append(X.shape[0])
            return forward(net, X, training=training)

        def recording_on_epoch_end(callback, run):
            record.current = []
            on_epoch_end(callback, run)
            record.passes.append(record.current)
            assert all(key not in layer.__dict__ for layer in run.net.layers
                       for key in layer._cache)
            record.current = None

        monkeypatch.setattr(Sequential, "forward", recording_forward)
        monkeypatch.setattr(callbacks_module.Validation, "on_epoch_end", recording_on_epoch_end)


@pytest.mark.parametrize("batch_size, blocks", [(None, [250]), (64, [64, 64, 64, 58]),
                                                (250, [250]), (1000, [250])])
def test_train_forwards_the_validation_rows_in_blocks(monkeypatch, batch_size, blocks):
    record = _Record(monkeypatch)
    net, loss, X, y, w = problem("softmax", n=1000)
    nn.train(net, loss, nn.Adam(0.01), X, y, max_epochs=3, validation_fraction=0.25,
             validation_batch_size=batch_size, random_state=0)
    assert record.passes == [blocks] * 3


@pytest.mark.parametrize("cls, params, target", ESTIMATORS)
def test_estimators_forward_the_held_out_rows_in_blocks(monkeypatch, cls, params, target):
    record = _Record(monkeypatch)
    X, targets = data()
    model = fit(cls, params, X, targets[target], validation_batch_size=30, max_iter=3)
    # 10% of 1000 rows held out: blocks of 30 and the remainder
    assert record.passes == [[30, 30, 30, 10]] * int(np.max(model.n_iter_))


@pytest.mark.parametrize("cls, params, target", ESTIMATORS)
def test_estimators_blocks_keep_the_scores_and_the_epochs(cls, params, target):
    # A well-separated problem: the scores agree to rounding, so the same epochs are kept.
    X, targets = data()
    one = fit(cls, params, X, targets[target])
    blocks = fit(cls, params, X, targets[target], validation_batch_size=16)
    assert blocks.get_params()["validation_batch_size"] == 16
    np.testing.assert_allclose(blocks.validation_scores_, one.validation_scores_, rtol=1e-6)
    np.testing.assert_allclose(blocks.history_.val_loss, one.history_.val_loss, rtol=1e-6)
    assert np.max(blocks.n_iter_) == np.max(one.n_iter_)
    assert blocks.history_.best_epoch == one.history_.best_epoch
    np.testing.assert_allclose(blocks.network_.params, one.network_.params, rtol=1e-6,
                               atol=1e-9)


def test_early_stopping_picks_the_same_epoch_in_blocks():
    def run(batch_size):
        net, loss, X, y, w = problem("mse", n=800)
        history = nn.train(net, loss, nn.Adam(0.05), X, y, max_epochs=60,
                           validation_fraction=0.25, validation_batch_size=batch_size,
                           early_stopping=nn.EarlyStopping(patience=3), random_state=0)
        return history

    one, blocks = run(None), run(48)
    np.testing.assert_allclose(blocks.val_loss, one.val_loss, rtol=1e-6)
    assert (blocks.stopped_epoch, blocks.best_epoch) == (one.stopped_epoch, one.best_epoch)


def test_validation_batch_size_is_ignored_without_validation_data():
    def run(**more):
        net, loss, X, y, w = problem("binary")
        nn.train(net, loss, nn.SGD(0.1), X, y, max_epochs=2, random_state=0, **more)
        return net.params

    np.testing.assert_array_equal(run(), run(validation_batch_size=8))


def test_numpy_integers_are_accepted():
    model = nn.MLPClassifier(validation_batch_size=np.int64(8))
    X, targets = data(n=200)
    fit(nn.MLPClassifier, {"hidden_layer_sizes": (4,)}, X, targets["labels"],
        validation_batch_size=np.int64(8), max_iter=2)
    assert model.get_params()["validation_batch_size"] == 8


# --- refusals ---------------------------------------------------------------------------------

HOW = ("None evaluates the validation data in one pass; an integer, in blocks of that many "
       "rows.")


@pytest.mark.parametrize("value, error", [(0, ValueError), (-8, ValueError), (True, ValueError),
                                          (8.0, ValueError), (np.int64(0), ValueError),
                                          ("8", TypeError)])
def test_train_refuses_a_bad_validation_batch_size(value, error):
    net, loss, X, y, w = problem("binary")
    shown = 0 if isinstance(value, np.integer) else value
    with pytest.raises(error) as caught:
        nn.train(net, loss, nn.SGD(0.1), X, y, validation_fraction=0.2,
                 validation_batch_size=value)
    assert str(caught.value) == (f"validation_batch_size must be None or an integer >= 1, got "
                                 f"{shown!r}. {HOW}")


@pytest.mark.parametrize("cls, params, target", ESTIMATORS)
@pytest.mark.parametrize("value, error", [(0, ValueError), (-1, ValueError), (False, ValueError),
                                          (0.5, ValueError), ("auto", TypeError)])
def test_estimators_refuse_a_bad_validation_batch_size(cls, params, target, value, error):
    X, targets = data(n=100)
    with pytest.raises(error) as caught:
        fit(cls, params, X, targets[target], validation_batch_size=value)
    assert str(caught.value) == (f"validation_batch_size of {cls.__name__} must be None or an "
                                 f"integer >= 1, got {value!r}. {HOW}")


def test_train_private_forwards_the_validation_rows_in_blocks(monkeypatch):
    pytest.importorskip("dp_accounting")
    record = _Record(monkeypatch)
    from numnet.privacy import train_private

    net, loss, X, y, w = problem("binary", n=1000)
    history = train_private(
        net, loss, nn.SGD(0.1), X[:800], y[:800], max_grad_norm=1.0, noise_multiplier=1.0,
        batch_size=100, max_epochs=2, validation_data=(X[800:], y[800:]),
        validation_batch_size=64, random_state=0)
    assert record.passes == [[64, 64, 64, 8]] * 2
    assert len(history.val_loss) == len(history.val_metric) == 2


def test_train_lbfgs_forwards_the_validation_rows_in_blocks(monkeypatch):
    from numnet.training import lbfgs

    passes, evaluate_before = [], lbfgs.evaluate
    forward, inside = Sequential.forward, []

    def recording_evaluate(*args, **kwargs):
        passes.append([])
        inside.append(True)
        try:
            return evaluate_before(*args, **kwargs)
        finally:
            inside.clear()

    def recording_forward(net, X, *, training=False):
        if inside:  # the objective's passes over the training rows are not recorded
            passes[-1].append(X.shape[0])
        return forward(net, X, training=training)

    monkeypatch.setattr(lbfgs, "evaluate", recording_evaluate)
    monkeypatch.setattr(Sequential, "forward", recording_forward)

    def run(batch_size):
        net, loss, X, y, w = problem("mse", n=500)
        passes.clear()
        history = nn.train_lbfgs(net, loss, X[:400], y[:400], max_iter=5,
                                 validation_data=(X[400:], y[400:]),
                                 validation_batch_size=batch_size)
        return history, list(passes)

    (one, one_passes), (blocks, block_passes) = run(None), run(40)
    assert one_passes == [[100]] * one.n_epochs
    assert block_passes == [[40, 40, 20]] * blocks.n_epochs
    np.testing.assert_allclose(blocks.val_loss, one.val_loss, rtol=1e-12)
    np.testing.assert_allclose(blocks.val_metric, one.val_metric, rtol=1e-12)
    net, loss, X, y, w = problem("mse")
    with pytest.raises(ValueError, match="^validation_batch_size must be None or an integer"):
        nn.train_lbfgs(net, loss, X, y, validation_batch_size=0)


# --- numnet train --validation-batch-size -------------------------------------------------------


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["label"] = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path


def test_cli_epoch_selection_scores_its_held_out_rows_in_blocks(capsys, monkeypatch, table):
    from numnet.io import load

    # the fast preset selects the epoch on 20% of the 320 training rows: 64 rows
    common = ["train", table / "data.csv", "-t", "label", "--preset", "fast", "--epochs", "4",
              "--no-refit", "-q"]
    code, _, _ = run_cli(capsys, *common, "-o", table / "one.numnet")
    assert code == 0
    record = _Record(monkeypatch)
    code, _, _ = run_cli(capsys, *common, "--validation-batch-size", "24",
                         "-o", table / "blocks.numnet")
    assert code == 0
    assert record.passes == [[24, 24, 16]] * 4
    one, blocks = load(table / "one.numnet"), load(table / "blocks.numnet")
    assert blocks.estimator.get_params()["validation_batch_size"] == 24
    assert blocks.info["spec"]["validation_batch_size"] == 24
    assert blocks.info["settings"]["validation_batch_size"] == 24
    assert one.estimator.get_params()["validation_batch_size"] is None
    np.testing.assert_allclose(blocks.estimator.validation_scores_,
                               one.estimator.validation_scores_, rtol=1e-6)
    assert blocks.info["metrics_epoch"] == one.info["metrics_epoch"]
    spec = TrainSpec.from_dict(blocks.info["spec"])
    assert "--validation-batch-size 24" in spec.to_args()
    assert "validation_batch_size=24," in spec.to_python()


def test_cli_refuses_a_bad_validation_batch_size(capsys, table):
    code, _, err = run_cli(capsys, "train", table / "data.csv", "-t", "label",
                           "--validation-batch-size", "0", "-o", table / "m.numnet")
    assert (code, err) == (2, "error: --validation-batch-size must be an integer >= 1, got 0.\n")


@pytest.mark.parametrize("form", ["csr", "csc"])
def test_sparse_validation_rows_in_blocks(form):
    import scipy.sparse as sp

    net, loss, X, y, w = problem("softmax")
    X = np.where(np.abs(X) > 1, X, 0.0)
    sparse = sp.csr_matrix(X) if form == "csr" else sp.csc_matrix(X)
    value, metric = evaluate(net, loss, X, y, w)
    blocked_value, blocked_metric = evaluate(net, loss, sparse, y, w, batch_size=100)
    np.testing.assert_allclose([blocked_value, blocked_metric], [value, metric], rtol=1e-12)
