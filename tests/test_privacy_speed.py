"""Issue 26: a cheaper private step, the same bits; and the geometric sampler, the same batches.

The functions first below are the sampler, clipped sum and float32 noise as they were before
the private step's overhead was cut, kept verbatim; a seeded private run through them and
through the current code must end with the same bits (parameters, losses, epsilons). The
geometric sampler (an option) draws other batches from the same distribution: its tests check
the distribution, reproducibility, resume and the options that choose it.
"""

import re
import signal

import numpy as np
import pytest
import scipy.sparse as sp

import numnet as nn
from checkpoint_helpers import MemoryCheckpoint, SignalAtCall
from numnet import SGD, Adam, Dense, Dropout, ReLU, Sequential, Tanh
from numnet.losses import BinaryCrossEntropy, MeanSquaredError, SoftmaxCrossEntropy
from numnet.privacy import ClippedNoisyGradient, PoissonBatches, noise, sampling, train_private
from numnet.privacy import gradients as private_gradients

# --- the replaced code, verbatim ------------------------------------------------------------


def _old_epoch(self, n_samples, rng):
    for _ in range(self.steps_per_epoch):
        yield np.flatnonzero(rng.random(n_samples) < self.rate)


def _old_clipped_sum(self, net, loss, X_b, y_b, w_b):
    net.check_input(X_b)
    if self._plan is None or self._plan[0] is not net:
        self._plan = private_gradients._plan(net)
    _, dense, is_dense, first = self._plan
    inputs, X = [], X_b
    for layer, keep in zip(net.layers, is_dense, strict=True):
        if keep:
            inputs.append(X)
        X = layer.forward(X, training=True)
    if self._d_raw is None or self._d_raw.shape != X.shape or self._d_raw.dtype != X.dtype:
        self._d_raw = np.empty_like(X)
    value, d_raw = loss.loss_gradient(y_b, X, w_b, out=self._d_raw)
    d_raw *= X.shape[0] if w_b is None else w_b.sum()
    deltas = private_gradients._per_sample_deltas(net, d_raw, first)
    squared = np.zeros(X.shape[0], dtype=net.grads.dtype)
    for layer, A, delta in zip(dense, inputs, deltas, strict=True):
        A_norms = _old_row_squared_norms(A) + (1.0 if layer.bias else 0.0)
        squared += A_norms * np.einsum("ij,ij->i", delta, delta)
    self.norms = np.sqrt(squared)
    with np.errstate(divide="ignore"):
        self.clip_factors = np.minimum(1.0, self.max_grad_norm / (self.norms + 1e-6))
    factors = self.clip_factors[:, None]
    for layer, A, delta in zip(dense, inputs, deltas, strict=True):
        delta *= factors
        if type(A) is not np.ndarray and sp.issparse(A):
            layer.grads["W"][...] = A.T @ delta
        else:
            np.matmul(A.T, delta, out=layer.grads["W"])
        if layer.bias:
            np.add.reduce(delta, axis=0, out=layer.grads["b"])
    return value


def _old_row_squared_norms(A):
    if type(A) is not np.ndarray and sp.issparse(A):
        return np.asarray(A.multiply(A).sum(axis=1), dtype=np.float64).ravel().astype(
            A.dtype, copy=False)
    return np.einsum("ij,ij->i", A, A)


_TWO_TO_MINUS_32 = np.float32(2.0**-32)
_ANGLE_STEP = np.float32(2.0 * np.pi * 2.0**-32)
_SHORT = np.uint32(1 << 24)


def _old_box_muller_float32(rng, out, scale=1.0):
    n = out.size
    pairs = (n + 1) // 2
    words = rng.bit_generator.random_raw(pairs).view(np.uint32)
    high, angle_words = words[:pairs], words[pairs:]
    radius = high.astype(np.float32)
    radius *= _TWO_TO_MINUS_32
    short = np.flatnonzero(high < _SHORT)
    if short.size:
        low = rng.bit_generator.random_raw((short.size + 1) // 2).view(np.uint32)
        exact = (high[short] + low[:short.size] * 2.0**-32) * 2.0**-32 + 2.0**-65
        radius[short] = exact
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    if scale != 1.0:
        radius *= np.float32(scale)
    angle = angle_words.astype(np.float32)
    angle *= _ANGLE_STEP
    first, second = out[:pairs], out[pairs:]
    np.cos(angle, out=first)
    first *= radius
    np.sin(angle[:n - pairs], out=second)
    second *= radius[:n - pairs]


def _use_old_code(monkeypatch):
    monkeypatch.setattr(PoissonBatches, "epoch", _old_epoch)
    monkeypatch.setattr(ClippedNoisyGradient, "clipped_sum", _old_clipped_sum)
    monkeypatch.setattr(noise, "_box_muller_float32", _old_box_muller_float32)


# --- the comparison ---------------------------------------------------------------------------


def _run(case, X, y, w, dtype):
    layers = {"relu": [Dense(16), ReLU(), Dense(y.shape[1])],
              "dropout": [Dense(8), Tanh(), Dropout(0.25), Dense(8, bias=False), ReLU(),
                          Dense(y.shape[1])]}[case["layers"]]
    net = Sequential(layers).build(X.shape[1], random_state=3, dtype=dtype)
    history = train_private(net, case["loss"], case["optimizer"](), X, y, max_grad_norm=0.7,
                            noise_multiplier=1.1, batch_size=case["batch"], max_epochs=3,
                            sample_weight=w, random_state=5)
    return net.params.copy(), history


CASES = {
    "softmax-relu": {"layers": "relu", "loss": SoftmaxCrossEntropy(), "optimizer": lambda: SGD(0.1),
                     "batch": 16},
    "bce-dropout": {"layers": "dropout", "loss": BinaryCrossEntropy(),
                    "optimizer": lambda: Adam(0.01), "batch": 9},
    "mse-relu": {"layers": "relu", "loss": MeanSquaredError(), "optimizer": lambda: SGD(0.05),
                 "batch": 40},
}


def _data(case, dtype, sparse, weighted):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(dtype)
    X[X < -0.5] = 0
    if case == "softmax-relu":
        y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 120)]
    elif case == "bce-dropout":
        y = rng.integers(0, 2, (120, 2)).astype(dtype)
    else:
        y = rng.normal(size=(120, 2)).astype(dtype)
    w = rng.uniform(0, 2, 120) if weighted else None
    return (sp.csr_matrix(X) if sparse else X), y, w


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_private_run_is_bit_for_bit_the_replaced_code(case, dtype, sparse, weighted,
                                                      monkeypatch):
    X, y, w = _data(case, dtype, sparse, weighted)
    params, history = _run(CASES[case], X, y, w, dtype)
    with monkeypatch.context() as patch:
        _use_old_code(patch)
        old_params, old_history = _run(CASES[case], X, y, w, dtype)
    assert params.tobytes() == old_params.tobytes()
    assert history.loss == old_history.loss
    assert history.epsilon == old_history.epsilon


@pytest.mark.parametrize("n", [1, 2, 7, 2179, 4096])
@pytest.mark.parametrize("scale", [1.0, 0.35])
def test_float32_noise_is_the_replaced_draws(n, scale):
    new, old = np.empty(n, np.float32), np.empty(n, np.float32)
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(3):                      # buffers reused between calls change nothing
        noise._box_muller_float32(a, new, scale)
        _old_box_muller_float32(b, old, scale)
        assert new.tobytes() == old.tobytes()
    assert a.bit_generator.state == b.bit_generator.state


@pytest.mark.parametrize(("n", "rate"), [(1, 0.5), (100, 0.16), (16000, 0.016), (30, 1.0)])
def test_uniform_sampler_is_the_replaced_draws(n, rate):
    sampler = PoissonBatches(rate, steps_per_epoch=5)
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    for _ in range(2):
        new = [rows.copy() for rows in sampler.epoch(n, a)]
        old = list(_old_epoch(sampler, n, b))
        assert all(x.tobytes() == y.tobytes() and x.dtype == y.dtype
                   for x, y in zip(new, old, strict=True))
    assert a.bit_generator.state == b.bit_generator.state


# --- the geometric sampler: the same Poisson batches, other draws ---------------------------


def _inclusions(n, rate, n_batches, seed, chunk=None):
    """(n_batches, n) booleans: which rows each batch of the geometric sampler holds."""
    rng = np.random.default_rng(seed)
    chunk = sampling._chunk(n, rate) if chunk is None else chunk
    held = np.zeros((n_batches, n), dtype=bool)
    for b in range(n_batches):
        rows = sampling._geometric_rows(rng, n, rate, chunk)
        assert rows.dtype == np.intp and np.all(np.diff(rows) > 0)    # sorted, no repeats
        assert rows.size == 0 or (rows[0] >= 0 and rows[-1] < n)
        held[b, rows] = True
    return held


@pytest.mark.parametrize("chunk", [None, 1, 3], ids=["default-chunk", "chunk-1", "chunk-3"])
@pytest.mark.parametrize(("n", "rate"), [(40, 0.15), (25, 0.6), (200, 0.01)])
def test_geometric_sampler_includes_each_row_independently_with_probability_q(n, rate, chunk):
    """Per-row frequencies, the batch size's mean and variance, and the independence of
    neighbouring rows match a Bernoulli(q) draw per row, within 5 standard errors (a seeded
    run: the bounds are fixed numbers, not a flaky test). Chunks of 1 and 3 gaps run the
    draw-more loop at almost every batch."""
    n_batches = 20_000
    held = _inclusions(n, rate, n_batches, seed=11, chunk=chunk)
    per_row = held.mean(axis=0)
    assert np.all(np.abs(per_row - rate) < 5 * np.sqrt(rate * (1 - rate) / n_batches))
    sizes = held.sum(axis=1)
    mean, variance = n * rate, n * rate * (1 - rate)
    assert abs(sizes.mean() - mean) < 5 * np.sqrt(variance / n_batches)
    # the variance of a sample variance of n_batches draws: about 2 variance**2 / n_batches
    # (plus the fourth cumulant's term, small here)
    assert abs(sizes.var() - variance) < 5 * variance * np.sqrt(3 / n_batches)
    # neighbours and rows far apart: P(both) = q**2 (the gaps are memoryless)
    for i, j in ((0, 1), (n // 2, n // 2 + 1), (0, n - 1)):
        both = np.mean(held[:, i] & held[:, j])
        assert abs(both - rate**2) < 5 * np.sqrt(rate**2 * (1 - rate**2) / n_batches)
    # an empty batch as often as (1 - q)**n
    empty = np.mean(sizes == 0)
    p_empty = (1 - rate) ** n
    assert abs(empty - p_empty) < 5 * np.sqrt(p_empty * (1 - p_empty) / n_batches) + 1e-9


def test_geometric_sampler_is_reproducible_and_draws_other_batches():
    sampler = PoissonBatches(0.1, sampler="geometric")
    first = list(sampler.epoch(300, np.random.default_rng(3)))
    again = list(sampler.epoch(300, np.random.default_rng(3)))
    assert len(first) == sampler.steps_per_epoch == 10
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    uniform = list(PoissonBatches(0.1).epoch(300, np.random.default_rng(3)))
    assert not all(np.array_equal(a, b) for a, b in zip(first, uniform, strict=True))


def test_geometric_sampler_at_the_edges():
    everything = PoissonBatches(1.0, sampler="geometric")
    assert [rows.tolist() for rows in everything.epoch(5, np.random.default_rng(0))] == [
        [0, 1, 2, 3, 4]]
    # a rate so small that every gap is astronomically large: capped, never an overflow
    tiny = PoissonBatches(1e-300, steps_per_epoch=3, sampler="geometric")
    assert [rows.tolist() for rows in tiny.epoch(10, np.random.default_rng(0))] == [[], [], []]
    assert repr(PoissonBatches(0.5, sampler="geometric")) == (
        "PoissonBatches(rate=0.5, steps_per_epoch=2, sampler='geometric')")
    assert repr(PoissonBatches(0.5)) == "PoissonBatches(rate=0.5, steps_per_epoch=2)"


def test_poisson_batches_refuse_an_unknown_sampler():
    msg = "sampler must be one of {'geometric', 'uniform'}, got 'gaps'."
    with pytest.raises(ValueError, match=re.escape(msg)):
        PoissonBatches(0.5, sampler="gaps")


# --- train_private(sampler=...) and the estimators' dp_sampler ----------------------------


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, np.eye(3)[labels]


def _fit(data, loss=None, **kwargs):
    X, y = data
    net = nn.Sequential([nn.Dense(8), nn.Tanh(), nn.Dense(3)]).build(4, random_state=0)
    arguments = {"max_grad_norm": 1.0, "noise_multiplier": 1.0, "batch_size": 40,
                 "max_epochs": 4, "random_state": 0, "sampler": "geometric", **kwargs}
    history = train_private(net, loss or nn.SoftmaxCrossEntropy(), nn.SGD(0.5), X, y,
                            **arguments)
    return net, history


def test_geometric_sampler_trains_reproducibly_with_the_same_guarantee(data):
    pytest.importorskip("dp_accounting")
    net, history = _fit(data)
    again, history_again = _fit(data)
    uniform, uniform_history = _fit(data, sampler="uniform")
    assert net.params.tobytes() == again.params.tobytes()
    assert history.loss == history_again.loss
    assert not np.array_equal(net.params, uniform.params)            # other draws
    assert history.epsilon == uniform_history.epsilon                # the same guarantee
    assert (history.sampler, uniform_history.sampler) == ("geometric", "uniform")
    assert history.steps == uniform_history.steps == 40


@pytest.mark.parametrize(("n_call", "signum"), [(14, signal.SIGINT), (31, signal.SIGTERM)])
def test_geometric_sampler_resumes_bit_for_bit(data, n_call, signum):
    pytest.importorskip("dp_accounting")
    net, history = _fit(data, checkpoint=MemoryCheckpoint())
    checkpoint = MemoryCheckpoint(every=2)
    with pytest.raises(nn.TrainingInterrupted):
        _fit(data, loss=SignalAtCall(n_call, signum), checkpoint=checkpoint)
    resumed, resumed_history = _fit(data, checkpoint=checkpoint, resume=True)
    assert resumed.params.tobytes() == net.params.tobytes()
    assert resumed_history.loss == history.loss
    assert resumed_history.epsilon == history.epsilon


@pytest.mark.parametrize(("written", "resumed"), [("uniform", "geometric"),
                                                  ("geometric", "uniform")])
def test_a_checkpoint_resumes_only_with_its_own_sampler(data, written, resumed):
    pytest.importorskip("dp_accounting")
    checkpoint = MemoryCheckpoint(every=1)
    with pytest.raises(nn.TrainingInterrupted):
        _fit(data, loss=SignalAtCall(14, signal.SIGINT), checkpoint=checkpoint, sampler=written)
    names = {"uniform": "'poisson'", "geometric": "'poisson-geometric'"}
    msg = (f"was written for sampling={names[written]}, but this run has "
           f"sampling={names[resumed]}. Resume with the same data and settings, or start "
           "afresh without resume.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        _fit(data, checkpoint=checkpoint, resume=True, sampler=resumed)


def test_train_private_refuses_an_unknown_sampler(data):
    msg = "sampler must be one of {'geometric', 'uniform'}, got 'poisson'."
    with pytest.raises(ValueError, match=re.escape(msg)):
        _fit(data, sampler="poisson")


def test_estimators_dp_sampler(data):
    pytest.importorskip("dp_accounting")
    from numnet.estimators import MLPClassifier
    X, y = data[0], data[1].argmax(axis=1)
    settings = {"hidden_layer_sizes": (8,), "max_iter": 3, "batch_size": 40, "random_state": 0,
                "dp_epsilon": 3.0}
    default = MLPClassifier(**settings).fit(X, y)
    uniform = MLPClassifier(**settings, dp_sampler="uniform").fit(X, y)
    geometric = MLPClassifier(**settings, dp_sampler="geometric").fit(X, y)
    again = MLPClassifier(**settings, dp_sampler="geometric").fit(X, y)
    assert default.get_params()["dp_sampler"] == "uniform"
    assert default.network_.params.tobytes() == uniform.network_.params.tobytes()
    assert geometric.network_.params.tobytes() == again.network_.params.tobytes()
    assert not np.array_equal(geometric.network_.params, uniform.network_.params)
    assert geometric.epsilon_ == uniform.epsilon_
    assert geometric.dp_noise_multiplier_ == uniform.dp_noise_multiplier_
    msg = "dp_sampler of MLPClassifier must be one of {'geometric', 'uniform'}, got 'gaps'."
    with pytest.raises(ValueError, match=re.escape(msg)):
        MLPClassifier(**settings, dp_sampler="gaps").fit(X, y)
