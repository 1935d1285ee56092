"""Training: mini-batches, known answers, early stopping, history, divergence, L-BFGS, errors."""

import re

import numpy as np
import pytest
from sklearn.metrics import r2_score

from numnet import (
    L1,
    L2,
    SGD,
    Adam,
    BinaryCrossEntropy,
    Dense,
    DivergenceError,
    Dropout,
    EarlyStopping,
    ElasticNet,
    InverseScaling,
    MeanSquaredError,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    StepDecay,
    Tanh,
    iter_minibatches,
    objective,
    train,
    train_lbfgs,
)
from numnet.training.checks import _row_magnitudes
from numnet.training.validation import split_validation


def linear(n_in, **build):
    return Sequential([Dense(1)]).build(n_in, **{"random_state": 0, **build})


@pytest.fixture
def regression(rng):
    X = rng.normal(size=(200, 3))
    coef = np.array([2.0, -1.0, 0.5])
    y = X @ coef + 1.0 + rng.normal(scale=1e-3, size=200)
    return X, y, coef


@pytest.fixture
def classification(rng):
    X = rng.normal(size=(120, 4))
    logits = X @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.3
    y = (logits + rng.normal(size=120) > 0).astype(float)
    return X, y


# --- mini-batches -----------------------------------------------------------------------------

@pytest.mark.parametrize("n_samples, batch_size", [(10, 3), (10, 5), (7, 10), (1, 1)])
def test_iter_minibatches_covers_every_index_once(n_samples, batch_size):
    batches = list(iter_minibatches(n_samples, batch_size, rng=0))
    indices = np.concatenate(batches)
    np.testing.assert_array_equal(np.sort(indices), np.arange(n_samples))
    sizes = [len(b) for b in batches]
    assert sizes == [batch_size] * (n_samples // batch_size) + (
        [n_samples % batch_size] if n_samples % batch_size else [])


def test_iter_minibatches_shuffles_reproducibly():
    first = np.concatenate(list(iter_minibatches(20, 6, rng=3)))
    again = np.concatenate(list(iter_minibatches(20, 6, rng=3)))
    other = np.concatenate(list(iter_minibatches(20, 6, rng=4)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(20))


def test_iter_minibatches_without_shuffle_yields_ordered_slices():
    assert list(iter_minibatches(5, 2, shuffle=False)) == [slice(0, 2), slice(2, 4), slice(4, 5)]


# --- known answers ----------------------------------------------------------------------------

def test_xor_is_solved_by_a_small_mlp():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    net = Sequential([Dense(8), Tanh(), Dense(1)]).build(2, random_state=0)
    history = train(net, BinaryCrossEntropy(), Adam(0.05), X, y, batch_size=None,
                    max_epochs=300, random_state=0)
    proba = BinaryCrossEntropy().link(net.forward(X))[:, 0]
    np.testing.assert_array_equal(proba > 0.5, y > 0.5)
    assert np.all(np.abs(proba - y) < 0.02)
    assert history.loss[-1] < 0.01 < history.loss[0]


def test_linear_regression_recovers_the_true_coefficients(regression):
    X, y, coef = regression
    net = linear(3)
    train(net, MeanSquaredError(), SGD(0.1), X, y, batch_size=None, max_epochs=300)
    W, b = net[0].params["W"][:, 0], net[0].params["b"][0]
    np.testing.assert_allclose(W, coef, atol=1e-3)
    np.testing.assert_allclose(b, 1.0, atol=1e-3)
    # and, tighter, the least-squares solution of the sample itself
    lstsq = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[W, b], lstsq, rtol=1e-9)


def test_linear_regression_by_minibatch_sgd(regression):
    X, y, coef = regression
    net = linear(3)
    train(net, MeanSquaredError(), SGD(0.05, momentum=0.5), X, y, batch_size=16,
          max_epochs=60, random_state=0)
    np.testing.assert_allclose(net[0].params["W"][:, 0], coef, atol=1e-3)


def test_train_lbfgs_solves_least_squares(regression):
    X, y, _ = regression
    net = linear(3)
    history = train_lbfgs(net, MeanSquaredError(), X, y, tol=1e-10)
    lstsq = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    np.testing.assert_allclose(net.params, lstsq, rtol=1e-8)
    assert history.converged and history.n_epochs >= 2


def test_full_batch_gradient_descent_reaches_the_lbfgs_optimum(classification):
    """L2-regularised logistic regression is strongly convex: one optimum, found by both."""
    X, y = classification
    loss, reg = BinaryCrossEntropy(), L2(0.05)
    reference = linear(4)
    lbfgs = train_lbfgs(reference, loss, X, y, regularizer=reg, tol=1e-12, max_iter=500)
    assert lbfgs.converged
    net = linear(4)
    history = train(net, loss, SGD(1.0), X, y, regularizer=reg, batch_size=None,
                    shuffle=False, max_epochs=500)
    np.testing.assert_allclose(net.params, reference.params, atol=1e-6)
    value_gd = objective(net, loss, X, y, regularizer=reg)[0]
    value_lbfgs = objective(reference, loss, X, y, regularizer=reg)[0]
    np.testing.assert_allclose(value_gd, value_lbfgs, rtol=1e-12)
    assert np.linalg.norm(objective(net, loss, X, y, regularizer=reg)[1]) < 1e-7
    assert np.all(np.diff(history.loss) <= 1e-15)  # GD with lr <= 1/L never goes up


def test_integer_sample_weights_equal_duplicated_rows_in_training(rng):
    X, y = rng.normal(size=(6, 2)), rng.normal(size=6)
    counts = np.array([1, 2, 0, 3, 1, 1])
    a, b = linear(2), linear(2)
    train(a, MeanSquaredError(), SGD(0.1), X, y, sample_weight=counts, batch_size=None,
          max_epochs=20)
    train(b, MeanSquaredError(), SGD(0.1), np.repeat(X, counts, axis=0),
          np.repeat(y, counts), batch_size=None, max_epochs=20)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-13)


def test_epoch_loss_is_the_batch_size_weighted_mean(rng):
    X, y = rng.normal(size=(5, 2)), rng.normal(size=5)
    net = linear(2)
    net.params[:] = rng.normal(size=3)
    full = MeanSquaredError().loss(y, net.forward(X))
    # lr so small that the parameters do not move in float64: the epoch loss over batches of
    # sizes 2, 2, 1 must then equal the full-batch loss
    history = train(net, MeanSquaredError(), SGD(1e-300), X, y, batch_size=2, shuffle=False,
                    max_epochs=1)
    np.testing.assert_allclose(history.loss[0], full, rtol=1e-15)


# --- determinism ------------------------------------------------------------------------------

def test_same_random_state_gives_bit_identical_training(rng):
    X = rng.normal(size=(50, 4))
    y = np.eye(3)[rng.integers(0, 3, size=50)]

    def run(seed):
        net = Sequential([Dense(8), ReLU(), Dropout(0.3), Dense(3)]).build(4, random_state=seed)
        history = train(net, SoftmaxCrossEntropy(), Adam(0.01), X, y, batch_size=8,
                        max_epochs=5, validation_fraction=0.2, random_state=seed)
        return net.params.copy(), history

    (p1, h1), (p2, h2), (p3, _) = run(0), run(0), run(1)
    np.testing.assert_array_equal(p1, p2)
    assert h1.loss == h2.loss and h1.val_loss == h2.val_loss
    assert not np.array_equal(p1, p3)


# --- early stopping ---------------------------------------------------------------------------

def test_early_stopping_stops_and_restores_the_best_params(rng):
    # Train towards y = 2x while validating against y = x: starting from w ~ 0, the validation
    # loss falls until w passes 1 and then rises, so the best epoch lies in the middle.
    X = rng.uniform(-1, 1, size=(100, 1))
    X_val = rng.uniform(-1, 1, size=(50, 1))
    net = linear(1)
    net.params[:] = 0.0
    snapshots = {}

    def snapshot(epoch, history):
        snapshots[epoch] = net.params.copy()

    stopper = EarlyStopping(patience=3)
    history = train(net, MeanSquaredError(), SGD(0.05), X, 2 * X[:, 0], batch_size=None,
                    max_epochs=500, validation_data=(X_val, X_val[:, 0]),
                    early_stopping=stopper, callbacks=[snapshot])
    best = history.best_epoch
    assert 3 < best < 400
    assert history.stopped_epoch == best + 3 == history.n_epochs
    assert history.converged
    assert int(np.argmin(history.val_loss)) + 1 == best
    np.testing.assert_array_equal(net.params, snapshots[best])
    assert not np.array_equal(net.params, snapshots[history.stopped_epoch])
    w = net.params[0]
    assert 0.8 < w < 1.2  # the best weight sits near the validation target's slope


def test_early_stopping_is_reset_between_runs(rng):
    X = rng.uniform(-1, 1, size=(100, 1))
    X_val = rng.uniform(-1, 1, size=(50, 1))
    stopper = EarlyStopping(patience=3)

    def run():
        net = linear(1)
        net.params[:] = 0.0
        return train(net, MeanSquaredError(), SGD(0.05), X, 2 * X[:, 0], batch_size=None,
                     max_epochs=500, validation_data=(X_val, X_val[:, 0]),
                     early_stopping=stopper)

    first, second = run(), run()
    assert first.best_epoch == second.best_epoch
    assert first.stopped_epoch == second.stopped_epoch


@pytest.mark.parametrize(
    ("values", "mode", "min_delta", "stop_at"),
    [
        ([5, 4, 3, 3.5, 3.2, 3.1], "min", 0.0, 6),
        ([5, 4, 3, 2.95, 2.92, 2.91], "min", 0.1, 6),
        ([0.5, 0.6, 0.7, 0.7, 0.65, 0.69], "max", 0.0, 6),
        ([5, 4, 3, 2, 1, 0], "min", 0.0, None),
    ],
    ids=["min", "min_delta", "max", "always_improving"],
)
def test_early_stopping_update_rule(values, mode, min_delta, stop_at):
    stopper = EarlyStopping(patience=3, min_delta=min_delta)
    stopper.reset(mode)
    params = np.zeros(2)
    stopped = None
    for epoch, value in enumerate(values, start=1):
        params[:] = epoch
        if stopper.update(value, params, epoch):
            stopped = epoch
            break
    assert stopped == stop_at
    if stop_at is not None:
        assert stopper.best_epoch == 3
        np.testing.assert_array_equal(stopper.best_params, 3)
        stopper.restore(params)
        np.testing.assert_array_equal(params, 3)


def test_early_stopping_on_training_loss_without_validation(rng):
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    history = train(linear(2), MeanSquaredError(), SGD(0.1), X, y, batch_size=None,
                    max_epochs=1000, early_stopping=EarlyStopping(patience=2, min_delta=1e-6))
    assert history.stopped_epoch is not None and history.stopped_epoch < 1000
    assert history.val_loss == []


def test_early_stopping_on_validation_metric_maximises(rng):
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] > 0).astype(float)
    stopper = EarlyStopping(patience=2, monitor="val_metric")
    history = train(linear(2), BinaryCrossEntropy(), SGD(0.5), X, y, max_epochs=200,
                    validation_fraction=0.25, early_stopping=stopper, random_state=0)
    assert stopper.mode == "max"
    assert history.val_metric[history.best_epoch - 1] == max(history.val_metric)


# --- validation split -------------------------------------------------------------------------

def test_validation_fraction_split_is_stratified_and_seeded(rng):
    X = rng.normal(size=(100, 2))
    labels = np.r_[np.zeros(80, int), np.ones(15, int), np.full(5, 2)]
    y = np.eye(3)[labels]

    def split(seed):
        return split_validation(X, y, None, SoftmaxCrossEntropy(), 0.2,
                                 np.random.default_rng(seed))

    X_tr, y_tr, w_tr, (X_val, y_val, w_val) = split(0)
    assert X_val.shape == (20, 2) and X_tr.shape == (80, 2)
    assert w_tr is None and w_val is None
    np.testing.assert_array_equal(y_val.sum(axis=0), [16, 3, 1])  # the 80/15/5 proportions
    np.testing.assert_array_equal(split(0)[3][0], X_val)
    assert not np.array_equal(split(1)[3][0], X_val)
    # every sample ends up in exactly one part
    together = np.sort(np.r_[X_tr[:, 0], X_val[:, 0]])
    np.testing.assert_array_equal(together, np.sort(X[:, 0]))


def test_validation_fraction_stratifies_binary_labels_and_splits_weights(rng):
    X = rng.normal(size=(40, 2))
    y = np.r_[np.zeros(30), np.ones(10)][:, None]
    w = np.arange(40.0)
    X_tr, y_tr, w_tr, (X_val, y_val, w_val) = split_validation(
        X, y, w, BinaryCrossEntropy(), 0.5, np.random.default_rng(0))
    assert y_val.sum() == 5 and y_tr.sum() == 5
    np.testing.assert_array_equal(np.sort(np.r_[w_tr, w_val]), w)
    # rows stay aligned: w was the row index, so X[w] are the same rows
    np.testing.assert_array_equal(X[w_val.astype(int)], X_val)


def test_validation_fraction_is_used_by_train(rng):
    X = rng.normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(float)
    history = train(linear(2), BinaryCrossEntropy(), SGD(0.1), X, y, max_epochs=3,
                    validation_fraction=0.2, random_state=0)
    assert len(history.val_loss) == len(history.val_metric) == 3


@pytest.mark.parametrize("shuffle, batch_size, weighted", [
    (True, 16, False), (False, 16, True), (True, None, True)])
def test_training_on_rows_of_x_is_training_on_their_copy_bit_for_bit(rng, shuffle, batch_size,
                                                                      weighted):
    # issue 26 item 5: the estimators' validation split no longer copies X's training rows;
    # train(rows=...) gathers each batch from X[rows[batch]], the same numbers as X[rows][batch]
    X = rng.normal(size=(120, 3)).astype(np.float32)
    y = (X[:, :1] > 0).astype(np.float32)
    rows = rng.permutation(120)[:90]
    w = rng.random(90) if weighted else None
    results = []
    for data, keep in ((X[rows], None), (X, rows)):
        net = Sequential([Dense(8), ReLU(), Dense(1)]).build(3, random_state=0,
                                                             dtype=np.float32)
        history = train(net, BinaryCrossEntropy(), Adam(0.01), data, y[rows], sample_weight=w,
                        batch_size=batch_size, shuffle=shuffle, max_epochs=3, random_state=0,
                        validation_data=(X[:10], y[:10]), rows=keep)
        results.append((net.params.copy(), history.loss, history.val_loss))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1:] == results[1][1:]


def test_validation_fraction_split_gives_the_same_run_as_before(rng):
    # the split's training rows stay in X: the same run as training on the copy of them
    X = rng.normal(size=(100, 2))
    y = (X[:, 0] > 0).astype(float)
    net = Sequential([Dense(4), ReLU(), Dense(1)]).build(2, random_state=0)
    history = train(net, BinaryCrossEntropy(), Adam(0.01), X, y, max_epochs=3, batch_size=8,
                    validation_fraction=0.2, random_state=0)
    from numnet.training.validation import validation_split_indices
    split = validation_split_indices(y.reshape(-1, 1), BinaryCrossEntropy(), 0.2, 100,
                                     np.random.default_rng(0))
    copy = Sequential([Dense(4), ReLU(), Dense(1)]).build(2, random_state=0)
    generator = np.random.default_rng(0)
    generator.integers(2**31 - 1)               # the draw the split took
    expected = train(copy, BinaryCrossEntropy(), Adam(0.01), X[split[0]], y[split[0]],
                     max_epochs=3, batch_size=8, random_state=generator,
                     validation_data=(X[split[1]], y[split[1]]))
    np.testing.assert_array_equal(net.params, copy.params)
    assert history.val_loss == expected.val_loss


@pytest.mark.parametrize("rows, fraction, message", [
    (np.array([0, 1, 9]), None, "rows must be a 1-d integer array of row numbers of X (0 to 7)"),
    (np.array([0.0, 1.0]), None, "rows must be a 1-d integer array"),
    (np.array([[0, 1]]), None, "rows must be a 1-d integer array"),
    (np.array([0, 1]), 0.5, "validation_fraction must be None when rows is given, got 0.5. "
                            "Pass the validation rows as validation_data."),
])
def test_train_refuses_bad_rows(rng, rows, fraction, message):
    X = rng.normal(size=(8, 2))
    with pytest.raises(ValueError, match=re.escape(message)):
        train(linear(2), MeanSquaredError(), SGD(0.1), X, np.zeros(2), rows=rows,
              validation_fraction=fraction)


@pytest.mark.parametrize("labels, fraction", [
    ([0] * 50 + [1] * 30 + [2] * 7, 0.2), ([0.0] * 9 + [1.0] * 91, 0.33), ([3, 5] * 40, 0.5),
    ([0] * 20 + [1], 0.2), ([0] * 5 + [1] * 5 + [2] * 5, 0.1),
    (np.random.default_rng(3).integers(0, 4, 500).tolist(), 0.1),
    (np.random.default_rng(4).integers(0, 2, 301).astype(np.float32).tolist(), 0.25)])
def test_stratified_split_is_scikit_learns(labels, fraction):
    # issue 26 item 5: scikit-learn's stratified split without its lists of NumPy integers,
    # the same indices and the same refusals
    import math

    from sklearn.model_selection import train_test_split

    from numnet.training.validation import _stratified_split
    y = np.array(labels)
    n_val = math.ceil(fraction * y.size)
    for seed in (0, 1, 12345):
        try:
            expected = train_test_split(np.arange(y.size), test_size=fraction, stratify=y,
                                        random_state=seed)
        except ValueError as error:
            with pytest.raises(ValueError, match=re.escape(str(error))):
                _stratified_split(y, y.size - n_val, n_val, seed)
            continue
        got = _stratified_split(y, y.size - n_val, n_val, seed)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype


def test_stratified_split_does_not_import_model_selection():
    # issue 26 item 5: sklearn.model_selection (about 6 MB) is imported for an unstratified
    # split only; a classifier's split does without it
    import subprocess
    import sys
    code = ("import sys, numpy as np\n"
            "from numnet.losses import BinaryCrossEntropy\n"
            "from numnet.training.validation import validation_split_indices\n"
            "y = np.array([[0.0], [1.0]] * 10)\n"
            "validation_split_indices(y, BinaryCrossEntropy(), 0.2, 20, np.random.default_rng(0))\n"
            "print('sklearn.model_selection' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("n_samples, block", [(1000, 64), (1000, 100), (999, 1 << 16), (65, 64)])
def test_extreme_rows_block_by_block_are_the_largest(n_samples, block):
    # issue 26 item 5: the first-pass check picks its rows block by block (no temporary as long
    # as the data); distinct magnitudes: the same rows as one argpartition of all of them
    from numnet.training.checks import _extreme_rows, _row_magnitudes
    X = np.random.default_rng(n_samples).normal(size=(n_samples, 3)).astype(np.float32)
    magnitude = _row_magnitudes(X)
    expected = np.sort(np.argpartition(magnitude, -64)[-64:])
    np.testing.assert_array_equal(np.sort(_extreme_rows(X, block=block)), expected)
    np.testing.assert_array_equal(np.sort(_extreme_rows(X, magnitude=magnitude, block=block)),
                                  expected)
    # train(rows=...): the magnitudes are the training rows' (fewer than X's rows)
    rows = np.arange(0, n_samples, 2)
    picked = _extreme_rows(X, magnitude=magnitude[rows], block=block)
    assert picked.max() < rows.shape[0]
    np.testing.assert_array_equal(
        np.sort(picked), np.sort(np.argpartition(magnitude[rows], -min(64, rows.shape[0]))[
            -min(64, rows.shape[0]):]))
    np.testing.assert_array_equal(_extreme_rows(X[:50], block=block), np.arange(50))
    from scipy import sparse
    for matrix in (sparse.csr_matrix(X), sparse.csc_matrix(X)):
        np.testing.assert_array_equal(np.sort(_extreme_rows(matrix, block=block)), expected)


def test_training_keeps_no_permutation_or_magnitudes_through_validation(rng, monkeypatch):
    # issue 26 item 5: when the validation pass runs (the fit's largest arrays), neither the
    # epoch's permutation (the last batch was a view of it) nor the first-pass magnitudes of
    # every row are held any more
    import gc
    import weakref

    from numnet.training import callbacks, sampling, setup
    refs, checked = {}, []

    def permutations(*args, **kwargs):
        epoch = f"permutation {sum(name.startswith('permutation') for name in refs)}"
        for batch in iter_minibatches(*args, **kwargs):
            refs.setdefault(epoch, weakref.ref(batch.base))
            yield batch

    def first_pass(net, loss, X, y, w, magnitudes, **kwargs):
        refs["magnitudes"] = weakref.ref(magnitudes)
        return check_first_pass(net, loss, X, y, w, magnitudes, **kwargs)

    def evaluate(*args, **kwargs):
        gc.collect()
        checked.append({name: ref() is None for name, ref in refs.items()})
        return validation_pass(*args, **kwargs)

    iter_minibatches, check_first_pass = sampling.iter_minibatches, setup._check_first_pass
    validation_pass = callbacks.evaluate
    monkeypatch.setattr(sampling, "iter_minibatches", permutations)
    monkeypatch.setattr(setup, "_check_first_pass", first_pass)
    monkeypatch.setattr(callbacks, "evaluate", evaluate)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(float)
    net = Sequential([Dense(4), ReLU(), Dense(1)]).build(3, random_state=0)
    train(net, BinaryCrossEntropy(), Adam(0.01), X, y, max_epochs=2, batch_size=16,
          validation_fraction=0.2, random_state=0)
    assert checked == [{"magnitudes": True, "permutation 0": True},
                       {"magnitudes": True, "permutation 0": True, "permutation 1": True}]


def test_validation_pass_does_not_keep_the_validation_activations(rng):
    # issue 26 item 5: after each validation pass the layers drop what it cached (activations
    # the size of the validation rows times the width), so a fitted model holds none of it
    X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    net = Sequential([Dense(8), ReLU(), Dense(1)]).build(3, random_state=0)
    train(net, MeanSquaredError(), SGD(0.01), X, y, max_epochs=2, batch_size=20,
          validation_data=(X[:30], y[:30]), random_state=0)
    assert not any(key in layer.__dict__ for layer in net.layers for key in ("_X", "_Y"))


# --- history ----------------------------------------------------------------------------------

def test_history_fields_for_regression(rng):
    X, y = rng.normal(size=(40, 2)), rng.normal(size=40)
    X_val, y_val = rng.normal(size=(10, 2)), rng.normal(size=10)
    net = linear(2)
    history = train(net, MeanSquaredError(), SGD(0.05), X, y, max_epochs=4, batch_size=10,
                    validation_data=(X_val, y_val), random_state=0)
    assert history.n_epochs == 4
    assert len(history.loss) == len(history.val_loss) == len(history.val_metric) == 4
    assert len(history.time) == 4 and all(np.diff(history.time) >= 0) and history.time[0] >= 0
    assert history.learning_rate == [0.05] * 4
    assert history.metric_name == "r2"
    assert history.best_epoch is None and history.stopped_epoch is None
    assert history.converged is False
    raw = net.forward(X_val)
    np.testing.assert_allclose(history.val_loss[-1], MeanSquaredError().loss(y_val, raw),
                               rtol=1e-15)
    np.testing.assert_allclose(history.val_metric[-1], r2_score(y_val, raw[:, 0]), rtol=1e-12)
    assert history.to_dict()["loss"] == history.loss


def test_history_validation_accuracy(rng):
    X = rng.normal(size=(60, 3))
    y = np.eye(3)[rng.integers(0, 3, size=60)]
    X_val = rng.normal(size=(20, 3))
    y_val = np.eye(3)[rng.integers(0, 3, size=20)]
    w_val = rng.uniform(0.5, 2, size=20)
    net = Sequential([Dense(3)]).build(3, random_state=0)
    history = train(net, SoftmaxCrossEntropy(), SGD(0.1), X, y, max_epochs=2,
                    validation_data=(X_val, y_val, w_val), random_state=0)
    assert history.metric_name == "accuracy"
    correct = net.forward(X_val).argmax(axis=1) == y_val.argmax(axis=1)
    np.testing.assert_allclose(history.val_metric[-1], np.average(correct, weights=w_val),
                               rtol=1e-15)
    np.testing.assert_allclose(
        history.val_loss[-1], SoftmaxCrossEntropy().loss(y_val, net.forward(X_val), w_val),
        rtol=1e-15)


def test_verbose_shows_a_progress_bar(rng, capsys):
    X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    train(linear(2), MeanSquaredError(), SGD(0.05), X, y, max_epochs=3, verbose=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err


# --- callbacks, schedules, clipping -----------------------------------------------------------

def test_callbacks_receive_each_epoch_and_can_stop(rng):
    X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    seen = []

    def stop_at_three(epoch, history):
        seen.append((epoch, history.n_epochs))
        return epoch == 3

    history = train(linear(2), MeanSquaredError(), SGD(0.05), X, y, max_epochs=10,
                    callbacks=[stop_at_three, lambda epoch, history: None])
    assert seen == [(1, 1), (2, 2), (3, 3)]
    assert history.n_epochs == 3 and history.stopped_epoch == 3 and history.converged


def test_lr_schedule_changes_the_optimizer_learning_rate(rng):
    X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    optimizer = SGD(0.1)
    history = train(linear(2), MeanSquaredError(), optimizer, X, y, max_epochs=5,
                    lr_schedule=StepDecay(step_size=2, gamma=0.5))
    np.testing.assert_allclose(history.learning_rate, [0.1, 0.1, 0.05, 0.05, 0.025],
                               rtol=1e-15)
    assert optimizer.learning_rate == pytest.approx(0.025, rel=1e-15)  # after epoch 5


def test_inverse_scaling_by_sample_counts_samples_seen(rng):
    X, y = rng.normal(size=(15, 2)), rng.normal(size=15)
    history = train(linear(2), MeanSquaredError(), SGD(0.1), X, y, max_epochs=3, batch_size=4,
                    lr_schedule=InverseScaling(power_t=0.5, unit="sample"))
    np.testing.assert_allclose(history.learning_rate,
                               [0.1, 0.1 / np.sqrt(16), 0.1 / np.sqrt(31)], rtol=1e-15)


def test_clip_norm_limits_each_step(rng):
    X, y = rng.normal(size=(30, 2)), 100 * rng.normal(size=30)  # a steep start: big gradient
    net = linear(2)
    start = net.params.copy()
    grad = objective(net, MeanSquaredError(), X, y)[1].copy()
    assert np.linalg.norm(grad) > 10
    train(net, MeanSquaredError(), SGD(0.01), X, y, batch_size=None, max_epochs=1,
          clip_norm=0.5)
    step = (start - net.params) / 0.01
    np.testing.assert_allclose(np.linalg.norm(step), 0.5, rtol=1e-12)
    np.testing.assert_allclose(step, grad * 0.5 / np.linalg.norm(grad), rtol=1e-12)


# --- L1 and proximal steps --------------------------------------------------------------------

def test_l1_with_proximal_steps_gives_exact_zeros(rng):
    X = rng.normal(size=(100, 6))
    y = X[:, 0] * 3 - 2 * X[:, 1] + rng.normal(scale=0.1, size=100)  # 4 irrelevant features
    net = linear(6)
    train(net, MeanSquaredError(), SGD(0.05), X, y, regularizer=L1(0.2), batch_size=None,
          max_epochs=300)
    W = net[0].params["W"][:, 0]
    assert np.all(W[2:] == 0.0)  # exactly zero, the point of the proximal step
    assert np.all(np.abs(W[:2]) > 1)

    subgradient = linear(6)
    train(subgradient, MeanSquaredError(), SGD(0.05), X, y, regularizer=L1(0.2),
          batch_size=None, max_epochs=300, proximal=False)
    assert not np.any(subgradient[0].params["W"][2:, 0] == 0.0)  # it only oscillates near 0


def test_train_lbfgs_rejects_l1(regression):
    X, y, _ = regression
    for reg, text in [(L1(0.1), "L1(alpha=0.1)"),
                      (ElasticNet(0.1, 0.5), "ElasticNet(alpha=0.1, l1_ratio=0.5)")]:
        with pytest.raises(ValueError, match=re.escape(
            f"L-BFGS needs a differentiable objective, but {text} has an L1 part. Use proximal "
            "gradient descent instead: train(..., batch_size=None) with SGD(momentum=0)."
        )):
            train_lbfgs(linear(3), MeanSquaredError(), X, y, regularizer=reg)


def test_train_lbfgs_callbacks_and_validation(regression):
    X, y, _ = regression
    history = train_lbfgs(linear(3), MeanSquaredError(), X, y, validation_data=(X, y),
                          callbacks=[lambda it, h: it == 2])
    assert history.stopped_epoch == 2 and history.converged
    assert len(history.val_loss) == 2


# --- divergence -------------------------------------------------------------------------------

def test_divergence_raises_naming_the_epoch_and_restores_the_last_finite_params(regression):
    X, y, _ = regression
    net = linear(3)
    snapshots = []  # parameters at the end of each completed epoch
    with pytest.raises(DivergenceError) as caught:
        train(net, MeanSquaredError(), SGD(1e3), X, y, batch_size=None, max_epochs=200,
              callbacks=[lambda epoch, history: snapshots.append(net.params.copy())])
    epoch = caught.value.epoch
    assert epoch == len(snapshots) + 1 and epoch > 2
    assert str(caught.value) == (
        f"Training diverged: the loss became inf at epoch {epoch}. The parameters from the "
        f"start of epoch {epoch} were restored and the optimizer state was reset. Lower the "
        "learning rate (now 1000) or scale the features (e.g. with "
        "sklearn.preprocessing.StandardScaler)."
    )
    np.testing.assert_array_equal(net.params, snapshots[-1])
    assert np.all(np.isfinite(net.params))


# --- errors -----------------------------------------------------------------------------------

def _train(**overrides):
    rng = np.random.default_rng(0)
    kwargs = {"net": linear(2), "loss": MeanSquaredError(), "optimizer": SGD(0.1),
              "X": rng.normal(size=(10, 2)), "y": rng.normal(size=10), "max_epochs": 1}
    kwargs.update(overrides)
    return train(**kwargs)


@pytest.mark.parametrize(
    ("overrides", "exc", "message"),
    [
        ({"loss": "mse"}, TypeError, "loss must be a numnet Loss, got str."),
        ({"max_epochs": 0}, ValueError, "max_epochs must be an integer >= 1, got 0."),
        ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1, got 0."),
        ({"shuffle": "yes"}, TypeError, "shuffle must be a bool, got 'yes'."),
        ({"clip_norm": -1.0}, ValueError, "clip_norm must be a float > 0, got -1.0."),
        ({"y": np.zeros((10, 2))}, ValueError,
         "y must have shape (n_samples, 1) to match the network's output, got (10, 2)."),
        ({"y": np.zeros(9)}, ValueError,
         "X and y must have the same number of samples, got 10 and 9."),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, ValueError,
         "X must contain at least one sample, got 0."),
        ({"X": np.array([[np.nan, 0.0]] * 10)}, ValueError,
         "X contains NaN or infinity. Remove or impute those values first."),
        ({"y": np.r_[np.inf, np.zeros(9)]}, ValueError,
         "y contains NaN or infinity. Remove those samples first."),
        ({"X": np.zeros((10, 3))}, ValueError,
         "X has 3 features, but this network was built for 2."),
        ({"sample_weight": np.ones(3)}, ValueError,
         "sample_weight must have shape (n_samples,) = (10,), got (3,)."),
        ({"sample_weight": -np.ones(10)}, ValueError,
         "sample_weight must contain finite values >= 0, got -1.0."),
        ({"sample_weight": np.zeros(10)}, ValueError,
         "sample_weight must have a positive sum, got all zeros. Give at least one sample a "
         "weight > 0."),
        ({"validation_fraction": 0.2, "validation_data": (np.zeros((2, 2)), np.zeros(2))},
         ValueError, "validation_fraction must be None when validation_data is given, got 0.2. "
         "Pass one of them."),
        ({"validation_fraction": 1.5}, ValueError,
         "validation_fraction must be a float in (0, 1), got 1.5."),
        ({"validation_fraction": 0.99}, ValueError,
         "validation_fraction=0.99 leaves 10 of 10 samples for validation; both parts need at "
         "least one sample."),
        ({"validation_data": (np.zeros((2, 2)),)}, ValueError,
         "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, sample_weight), "
         "got tuple of length 1."),
        ({"validation_data": (np.zeros((2, 3)), np.zeros(2))}, ValueError,
         "X has 3 features, but this network was built for 2."),
        ({"early_stopping": EarlyStopping(monitor="val_loss")}, ValueError,
         "EarlyStopping(monitor='val_loss') needs validation data; pass validation_data or "
         "validation_fraction."),
    ],
    ids=["loss_type", "max_epochs", "batch_size", "shuffle", "clip_norm", "y_width",
         "y_length", "empty", "x_nan", "y_inf", "x_width", "weight_shape", "weight_negative",
         "weight_zero", "both_validations", "fraction_range", "fraction_too_big",
         "validation_tuple", "validation_width", "early_stopping_needs_validation"],
)
def test_train_errors(overrides, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        _train(**overrides)


def test_stratified_split_error_explains_the_fix(rng):
    X = rng.normal(size=(10, 2))
    y = np.r_[np.zeros(9), np.ones(1)]
    with pytest.raises(ValueError, match=re.escape(
        "validation_fraction=0.2 cannot split the data stratified by class: "
    )) as caught:
        train(linear(2), BinaryCrossEntropy(), SGD(0.1), X, y, validation_fraction=0.2)
    assert str(caught.value).endswith(
        " Use more samples per class or a larger validation_fraction.")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: EarlyStopping(patience=0), "patience must be an integer >= 1, got 0."),
        (lambda: EarlyStopping(min_delta=-0.1), "min_delta must be a float >= 0, got -0.1."),
        (lambda: EarlyStopping(monitor="accuracy"),
         "monitor must be one of {'auto', 'loss', 'val_loss', 'val_metric'}, got 'accuracy'."),
    ],
    ids=["patience", "min_delta", "monitor"],
)
def test_early_stopping_errors(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_iter": 0}, "max_iter must be an integer >= 1, got 0."),
     ({"tol": 0}, "tol must be a float > 0, got 0.0.")],
    ids=["max_iter", "tol"],
)
def test_train_lbfgs_errors(kwargs, message, regression):
    X, y, _ = regression
    with pytest.raises(ValueError, match=re.escape(message)):
        train_lbfgs(linear(3), MeanSquaredError(), X, y, **kwargs)


# --- review fixes: targets, components, R^2 ---------------------------------------------------

def test_train_checks_targets_and_reports_the_shape_that_was_given():
    X = np.zeros((6, 2))
    net = Sequential([Dense(3)]).build(2)
    with pytest.raises(ValueError, match=re.escape(
            "y must have shape (n_samples, 3) to match the network's output, got (6,). One-hot "
            "encode the labels, e.g. with sklearn.preprocessing.LabelBinarizer.")):
        train(net, SoftmaxCrossEntropy(), SGD(0.1), X, np.zeros(6))
    with pytest.raises(ValueError, match="y for BinaryCrossEntropy must hold values in"):
        train(linear(2), BinaryCrossEntropy(), SGD(0.1), X, np.array([1, -1] * 3))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"optimizer": "sgd"}, "optimizer must be a numnet Optimizer (e.g. Adam()), got str."),
        ({"regularizer": 0.01}, "regularizer must be a numnet Regularizer (e.g. L2(0.01)), got "
                                "float."),
        ({"early_stopping": True}, "early_stopping must be a numnet EarlyStopping (e.g. "
                                   "EarlyStopping(patience=10)), got bool."),
        ({"lr_schedule": "step"}, "lr_schedule must be a numnet Schedule (e.g. StepDecay(10)), "
                                  "got str."),
        ({"callbacks": [None]}, "callbacks must hold callables callback(epoch, history), got "
                                "NoneType."),
        ({"checkpoint": "dir"}, "checkpoint must be a numnet Checkpoint, got str."),
    ],
    ids=["optimizer", "regularizer", "early_stopping", "lr_schedule", "callbacks", "checkpoint"],
)
def test_train_rejects_wrong_components_before_any_work(overrides, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        _train(**overrides)


def test_train_refuses_a_network_without_parameters():
    net = Sequential([ReLU()]).build(2)
    with pytest.raises(ValueError, match=re.escape(
            "net must have trainable parameters, got 0. Add a Dense layer to the network.")):
        train(net, MeanSquaredError(), SGD(0.1), np.zeros((4, 2)), np.zeros((4, 2)))


def test_validation_r2_of_a_constant_target_follows_sklearn():
    X = np.ones((8, 1))
    y = np.full(8, 2.0)
    net = linear(1)
    net.params[:] = [0.0, 2.0]  # predicts 2 exactly
    history = train(net, MeanSquaredError(), SGD(1e-12), X, y, batch_size=None, max_epochs=1,
                    validation_data=(X, y))
    assert history.val_metric == [r2_score(y, np.full(8, 2.0))] == [1.0]


def test_huge_features_fail_before_training_even_far_from_the_first_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3))
    X[4321, 1] = 1e300  # finite, but no network output can stay finite with it
    y = rng.normal(size=5000)
    net = linear(3)
    before = net.params.copy()
    with pytest.raises(ValueError, match=re.escape(
            "X must have values small enough for the network's output to stay finite, got "
            "values up to 1e+300: the first forward pass overflows. Scale the features (e.g. "
            "with sklearn.preprocessing.StandardScaler).")):
        train(net, MeanSquaredError(), SGD(0.01), X, y, max_epochs=1)
    np.testing.assert_array_equal(net.params, before)  # nothing was trained


@pytest.mark.parametrize("shape", [(1, 1), (37, 5), (3000, 784), (10, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_magnitudes_is_the_row_wise_max_of_abs_in_one_pass(rng, shape, dtype):
    X = (rng.normal(size=shape) * 10.0 ** rng.integers(-3, 3, size=shape)).astype(dtype)
    magnitudes = _row_magnitudes(X)
    assert magnitudes.dtype == dtype
    expected = np.abs(X).max(axis=1) if shape[1] else np.zeros(shape[0])
    np.testing.assert_array_equal(magnitudes, expected)


def test_row_magnitudes_flags_the_rows_that_are_not_finite(rng):
    X = rng.normal(size=(3000, 784))
    X[5, 700], X[2999, 0], X[1500, 3] = np.nan, -np.inf, np.inf
    magnitudes = _row_magnitudes(X)
    assert np.isnan(magnitudes[5]) and np.isinf(magnitudes[2999]) and np.isinf(magnitudes[1500])
    assert np.flatnonzero(~np.isfinite(magnitudes)).tolist() == [5, 1500, 2999]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_magnitudes_of_sparse_x_match_the_dense_ones(rng, fmt, dtype):
    import scipy.sparse as sp

    X = sp.random(3000, 400, density=0.01, format="csr", random_state=0, dtype=dtype)
    X.data -= 0.5
    X = X.tolil()
    X[7, :] = 0          # rows without stored values: magnitude 0
    X[2998:, :] = 0      # trailing empty rows
    X[11, 3], X[12, 5] = np.nan, -np.inf
    X = X.asformat(fmt)
    magnitudes = _row_magnitudes(X)
    assert magnitudes.dtype == dtype
    np.testing.assert_array_equal(magnitudes, np.abs(X.toarray()).max(axis=1))


def test_row_magnitudes_of_csr_x_make_no_copy_of_the_matrix():
    import tracemalloc

    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    n_rows, per_row = 20_000, 20
    X = sp.csr_matrix((rng.normal(size=n_rows * per_row),
                       rng.integers(0, 5_000, size=n_rows * per_row),
                       np.arange(0, n_rows * per_row + 1, per_row)), shape=(n_rows, 5_000))
    tracemalloc.start()
    magnitudes = _row_magnitudes(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(magnitudes, np.abs(X.data).reshape(n_rows, -1).max(axis=1))
    # the result (one float per row) and a bounded scratch buffer, not abs(X) (measured 1.74x
    # X.data's size before, 0.24x after)
    assert peak < 0.3 * X.data.nbytes


def test_parameters_made_non_finite_without_the_loss_showing_it_are_not_kept(rng):
    """The start-of-epoch copy that divergence restores is never a non-finite one."""
    X, y = rng.normal(size=(64, 3)), rng.normal(size=64)
    net = Sequential([Dense(1)]).build(3, random_state=0)

    def break_after_first_epoch(epoch, history):
        if epoch == 1:
            net.params[0] = np.inf  # e.g. an infinite gradient in the epoch's last step
        return False

    start = net.params.copy()
    with pytest.raises(DivergenceError, match="parameters became nan at epoch 1"):
        train(net, MeanSquaredError(), SGD(0.01), X, y, batch_size=None, max_epochs=5,
              callbacks=[break_after_first_epoch])
    np.testing.assert_array_equal(net.params, start)  # the start of epoch 1, finite
