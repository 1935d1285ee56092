"""Issue 26: the faster private step gives the results of the code it replaced, bit for bit.

The functions below are the sampler, clipped sum and float32 noise as they were before the
private step's overhead was cut, kept verbatim; a seeded private run through them and through
the current code must end with the same bits (parameters, losses, epsilons).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from numnet import SGD, Adam, Dense, Dropout, ReLU, Sequential, Tanh
from numnet.losses import BinaryCrossEntropy, MeanSquaredError, SoftmaxCrossEntropy
from numnet.privacy import ClippedNoisyGradient, PoissonBatches, noise, train_private
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
