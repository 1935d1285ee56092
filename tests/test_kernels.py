"""numnet.kernels: the compiled loops give the NumPy path's numbers, and step aside when they
do not apply."""

import os
import subprocess
import sys
import threading
from contextlib import nullcontext

import numpy as np
import pytest

import numnet as nn
from numnet import kernels

pytestmark = pytest.mark.skipif(not kernels.ENABLED, reason="numba (the 'fast' extra) missing")


@pytest.fixture
def numpy_only(monkeypatch):
    """Run the code under test with the compiled kernels switched off."""

    def switch(enabled):
        monkeypatch.setattr(kernels, "ENABLED", enabled)

    return switch


# --- Adam --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [kernels._MIN_ADAM_SIZE + 3, 5505])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", [nn.Adam, lambda: nn.AdamW(weight_decay=0.1)])
def test_adam_kernel_is_bit_identical_to_the_numpy_path(rng, numpy_only, dtype, optimizer,
                                                        size):
    # 5505: the 20-64-64-1 network, which takes the loop once numba is loaded (issue 26)
    assert kernels.load()
    start = rng.normal(size=size).astype(dtype)
    gradients = [rng.normal(size=size).astype(dtype) * 10.0 ** rng.integers(-6, 3)
                 for _ in range(25)]
    results = {}
    for enabled in (True, False):
        numpy_only(enabled)
        params, opt = start.copy(), optimizer()
        for g in gradients:
            opt.step(params, g)
        results[enabled] = params, opt.m, opt.v
    for compiled, reference in zip(results[True], results[False], strict=True):
        assert compiled.dtype == dtype
        np.testing.assert_array_equal(compiled, reference)


def test_adam_kernel_declines_what_it_cannot_take(rng):
    n = 2 * kernels._MIN_ADAM_SIZE
    params = rng.normal(size=n)
    M, V = np.zeros(n), np.zeros(n)
    assert kernels.adam_step(params, params.copy(), M, V, 0.9, 0.999, 1e-3, 1e-8)
    assert kernels.adam_step(params[:100], params[:100].copy(), M[:100], V[:100], 0.9,
                             0.999, 1e-3, 1e-8)      # small, but numba is loaded
    compiled = kernels._compiled
    try:
        kernels._compiled = None
        assert not kernels.adam_step(params[:100], params[:100].copy(), M[:100], V[:100], 0.9,
                                     0.999, 1e-3, 1e-8)  # too small to start numba for
    finally:
        kernels._compiled = compiled
    assert not kernels.adam_step(params[::2], params[::2].copy(), M[::2], V[::2], 0.9, 0.999,
                                 1e-3, 1e-8)  # a strided view
    assert not kernels.adam_step(params.astype(np.float32), params, M, V, 0.9, 0.999, 1e-3,
                                 1e-8)        # mixed dtypes
    assert not kernels.adam_step(params.astype(int), params, M, V, 0.9, 0.999, 1e-3, 1e-8)


def test_adam_on_a_strided_view_falls_back_to_numpy_with_the_same_result(rng, numpy_only):
    n = 2 * kernels._MIN_ADAM_SIZE
    start, g = rng.normal(size=n), rng.normal(size=n)
    strided = start.copy()
    nn.Adam().step(strided[::2], g[::2])
    numpy_only(False)
    reference = start.copy()
    nn.Adam().step(reference[::2], g[::2])
    np.testing.assert_array_equal(strided, reference)


# --- linear objective --------------------------------------------------------------------------


def linear_problem(rng, loss, dtype, n_rows=3000, n_in=90, weighted=False, bias=True):
    X = rng.normal(size=(n_rows, n_in)).astype(dtype)
    z = X @ rng.normal(size=n_in) + 0.3
    if isinstance(loss, nn.BinaryCrossEntropy):
        y = (rng.random(n_rows) < 1 / (1 + np.exp(-z))).astype(dtype)
    else:
        y = (z + rng.normal(size=n_rows)).astype(dtype)
    net = nn.Sequential([nn.Dense(1, bias=bias)]).build(n_in, dtype=dtype, random_state=0)
    net.params[:] = rng.normal(size=net.params.size)
    weights = rng.random(n_rows) * 3 if weighted else None
    return net, X, y.reshape(-1, 1), weights


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("loss", [nn.MeanSquaredError(), nn.BinaryCrossEntropy()], ids=repr)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_objective_matches_the_numpy_path(rng, numpy_only, dtype, rtol, loss, weighted,
                                                 bias):
    net, X, y, weights = linear_problem(rng, loss, dtype, weighted=weighted, bias=bias)
    value = kernels.linear_objective(net, loss, X, y, weights)
    assert value is not None
    compiled = net.grads.copy()
    assert compiled.dtype == dtype
    numpy_only(False)
    reference_value, reference = nn.objective(net, loss, X, y, sample_weight=weights)
    np.testing.assert_allclose(value, reference_value, rtol=rtol)
    np.testing.assert_allclose(compiled, reference, rtol=rtol, atol=rtol * np.abs(reference).max())


def test_linear_objective_gradient_passes_a_finite_difference_check(rng):
    loss = nn.BinaryCrossEntropy()
    net, X, y, weights = linear_problem(rng, loss, np.float64, weighted=True)
    assert kernels.linear_objective(net, loss, X, y, weights) is not None  # the path under test
    result = nn.check_gradients(net, loss, X, y, sample_weight=weights)
    assert result.passed and max(result.relative.values()) < 1e-6, result


def test_linear_objective_keeps_confident_logits_exact(rng, numpy_only):
    """log(1 + exp(z)) - y z for |z| >~ 30 and every row right: only the tiny log1p terms are
    left, so a cancelling or overflowing form would lose them all."""
    loss = nn.BinaryCrossEntropy()
    net, X, _, _ = linear_problem(rng, loss, np.float64, n_rows=12000)
    net.params[:] *= 40
    raw = net.forward(X)
    keep = np.abs(raw[:, 0]) > 30
    X, y = np.ascontiguousarray(X[keep]), (raw[keep] > 0).astype(float)
    assert X.size >= kernels._MIN_LINEAR_ENTRIES
    value = kernels.linear_objective(net, loss, X, y)
    numpy_only(False)
    expected = loss.loss(y, net.forward(X))
    assert 0 < expected < 1e-12
    np.testing.assert_allclose(value, expected, rtol=1e-10)


@pytest.mark.parametrize("case", ["two outputs", "two layers", "softmax loss", "few rows",
                                  "small X",
                                  "float32 X for a float64 net", "strided X", "shape of y"])
def test_linear_objective_declines_what_it_cannot_take(rng, case):
    loss, n_out, layers, n_rows, n_in = nn.MeanSquaredError(), 1, None, 3000, 90
    if case == "two outputs":
        n_out = 2
    elif case == "softmax loss":
        loss, n_out = nn.SoftmaxCrossEntropy(), 2
    elif case == "two layers":
        layers = [nn.Dense(3), nn.Dense(1)]
    elif case == "few rows":
        n_rows = 100
    elif case == "small X":
        n_in = 5
    net = nn.Sequential(layers or [nn.Dense(n_out)]).build(n_in)
    X = rng.normal(size=(n_rows, n_in))
    y = np.eye(n_out)[rng.integers(0, n_out, n_rows)] if n_out > 1 else rng.normal(size=n_rows)
    if case == "float32 X for a float64 net":
        X = X.astype(np.float32)
    elif case == "strided X":
        X = np.asfortranarray(X)
    elif case == "shape of y":
        y = y[:10]
    grads = net.grads.copy()
    assert kernels.linear_objective(net, loss, X, y) is None
    np.testing.assert_array_equal(net.grads, grads)  # nothing written


def test_concurrent_objectives_from_threads_are_all_right(rng, numpy_only):
    """Several user threads in the compiled loop at once (each call also uses numnet's pool)."""
    loss = nn.BinaryCrossEntropy()
    problems = [linear_problem(np.random.default_rng(seed), loss, np.float64, n_rows=20000)
                for seed in range(4)]
    results = [None] * len(problems)

    def work(index):
        net, X, y, _ = problems[index]
        for _ in range(5):
            value = kernels.linear_objective(net, loss, X, y)
            assert value is not None  # the compiled path, in every thread
        results[index] = value, net.grads.copy()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(problems))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numpy_only(False)
    for (net, X, y, _), (value, grads) in zip(problems, results, strict=True):
        reference_value, reference = nn.objective(net, loss, X, y)
        np.testing.assert_allclose(value, reference_value, rtol=1e-12)
        np.testing.assert_allclose(grads, reference, rtol=1e-10, atol=1e-14)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_the_linear_loop_works_in_a_forked_child():
    """numba's OpenMP layer kills a forked child that uses it; numnet's own threads do not."""
    code = """
import multiprocessing, numpy as np, numnet as nn
rng = np.random.default_rng(0)
X, y = rng.normal(size=(4000, 100)), (rng.random(4000) < 0.5).astype(float)
net = nn.Sequential([nn.Dense(1)]).build(100, random_state=0)
loss = nn.BinaryCrossEntropy()
parent = nn.kernels.linear_objective(net, loss, X, y)

def child(queue):
    queue.put(nn.kernels.linear_objective(net, loss, X, y))

context = multiprocessing.get_context("fork")
queue = context.Queue()
process = context.Process(target=child, args=(queue,))
process.start()
process.join(900)  # only against a hang: the child ends in well under a second idle
print(process.exitcode, queue.get(timeout=900) == parent)
"""
    assert run_python(code) == "0 True"


@pytest.mark.parametrize("case", ["a list", "an unbuilt network", "a negative weight",
                                  "an infinite weight"])
def test_objective_checks_its_input_on_the_compiled_path_too(rng, case):
    loss = nn.MeanSquaredError()
    net, X, y, _ = linear_problem(rng, loss, np.float64)
    weights = None
    if case == "a list":
        X, error = X.tolist(), (TypeError, "X must be a numpy array, got list")
    elif case == "an unbuilt network":
        net, error = nn.Sequential([nn.Dense(1)]), (RuntimeError, "not built")
    else:
        weights = np.ones(X.shape[0])
        weights[7] = -0.5 if case == "a negative weight" else np.inf
        error = (ValueError, "sample_weight must contain finite values >= 0")
    with pytest.raises(error[0], match=error[1]):
        nn.objective(net, loss, X, y, sample_weight=weights)


# --- the Dense stack (issue 26 item 4) --------------------------------------------------------


def stack_network(layers, n_in, dtype, seed=0):
    net = nn.Sequential(layers).build(n_in, random_state=seed, dtype=dtype)
    net.params[:] = np.random.default_rng(seed).normal(size=net.params.size) * 0.5
    return net


STACKS = {
    "20-64-64-1": lambda: [nn.Dense(64), nn.ReLU(), nn.Dense(64), nn.ReLU(), nn.Dense(1)],
    "7-16-9": lambda: [nn.Dense(16), nn.ReLU(), nn.Dense(9)],
    "no bias, identity": lambda: [nn.Dense(5, bias=False), nn.Identity(), nn.ReLU(),
                                  nn.Dense(3), nn.Dense(2, bias=False)],
    "one layer": lambda: [nn.Dense(4)],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layers", list(STACKS), ids=str)
def test_dense_stack_passes_are_the_numpy_passes_bit_for_bit(rng, dtype, layers):
    assert kernels.load()
    n_in = 20 if layers == "20-64-64-1" else 7
    net = stack_network(STACKS[layers](), n_in, dtype)
    # 1 to 9 rows (a short last batch; NumPy's pairwise sum starts at 8), 128 and 129 (its
    # block size), 300 (its recursion); zeros and -0.0 (signs of zero must match too).
    for n in (1, 2, 7, 8, 9, 32, 128, 129, 300):
        X = rng.normal(size=(n, n_in)).astype(dtype)
        X[rng.random(X.shape) < 0.2] = -0.0
        stack = kernels.DenseStack.of(net, X)
        raw = stack.forward(X).copy()
        d_raw = rng.normal(size=raw.shape).astype(dtype)
        stack.backward(X, d_raw)
        grads = net.grads.copy()
        assert raw.tobytes() == net.forward(X, training=True).tobytes()
        net.backward(d_raw, input_grad=False)
        assert grads.tobytes() == net.grads.tobytes(), n


@pytest.mark.parametrize("loss, classes", [(nn.MeanSquaredError(), 0),
                                           (nn.SoftmaxCrossEntropy(), 3),
                                           (nn.BinaryCrossEntropy(), 1)], ids=repr)
def test_training_through_the_dense_stack_is_the_numpy_run_bit_for_bit(rng, numpy_only, loss,
                                                                       classes, monkeypatch):
    assert kernels.load()
    calls = []
    forward = kernels.DenseStack.forward
    monkeypatch.setattr(kernels.DenseStack, "forward",
                        lambda self, X: calls.append(len(X)) or forward(self, X))
    X = rng.normal(size=(203, 6)).astype(np.float32)      # batches of 32 and a last one of 11
    y = (X[:, :1] - X[:, 1:2] ** 2).astype(np.float32)
    if classes:
        labels = np.digitize(y[:, 0], np.quantile(y, [1 / 3, 2 / 3])) % (classes + 1)
        y = np.eye(3, dtype=np.float32)[labels] if classes == 3 else (labels > 0)[:, None] * 1.0
    weights = rng.uniform(0.5, 2, size=203)
    runs = {}
    for enabled in (True, False):
        numpy_only(enabled)
        net = stack_network(STACKS["7-16-9"]()[:-1] + [nn.Dense(y.shape[1])], 6, np.float32)
        history = nn.train(net, loss, nn.Adam(0.01), X, y, sample_weight=weights,
                           batch_size=32, max_epochs=4, random_state=0)
        runs[enabled] = net.params.tobytes(), history.loss
    assert runs[True] == runs[False]
    assert calls == [32] * 6 + [11] + [32] * 6 + [11] + [32] * 6 + [11] + [32] * 6 + [11]


def test_dense_stack_declines_what_it_cannot_take(rng):
    assert kernels.load()
    X = rng.normal(size=(8, 4))
    stack = lambda layers, X=X, dtype=np.float64: kernels.DenseStack.of(  # noqa: E731
        stack_network(layers, 4, dtype), X)
    assert stack([nn.Dense(3), nn.ReLU(), nn.Dense(1)]) is not None
    assert stack([nn.Dense(3), nn.Tanh(), nn.Dense(1)]) is None         # another activation
    assert stack([nn.Dense(3), nn.Dropout(0.5), nn.Dense(1)]) is None    # randomness
    assert stack([nn.ReLU(), nn.Dense(1)]) is None                       # no Dense first
    assert stack([nn.Dense(300), nn.ReLU(), nn.Dense(300)]) is None      # >= 65,536: BLAS-bound
    assert stack([nn.Dense(3)], X=np.asfortranarray(X)) is None          # not C-ordered
    assert stack([nn.Dense(3)], X=X.astype(np.float32)) is None          # another dtype
    assert stack([nn.Dense(3)], X=X[:, :3]) is None                      # another width
    from scipy import sparse
    assert stack([nn.Dense(3)], X=sparse.csr_matrix(X)) is None
    compiled = kernels._compiled
    try:
        kernels._compiled = None                                         # numba not started
        assert stack([nn.Dense(3), nn.ReLU(), nn.Dense(1)]) is None
    finally:
        kernels._compiled = compiled


def test_a_diverging_run_stops_the_same_way_through_the_dense_stack(rng):
    assert kernels.load()
    X = rng.normal(size=(64, 4)).astype(np.float32)
    y = rng.normal(size=64).astype(np.float32)
    net = stack_network([nn.Dense(8), nn.ReLU(), nn.Dense(1)], 4, np.float32)
    start = net.params.copy()
    with pytest.raises(nn.DivergenceError):  # the second step's squares overflow float32
        nn.train(net, nn.MeanSquaredError(), nn.SGD(1e25), X, y, batch_size=32, max_epochs=2)
    np.testing.assert_array_equal(net.params, start)                      # restored


def test_a_dense_stack_that_fails_to_compile_falls_back_to_numpy_with_a_warning(
        rng, monkeypatch, numpy_only):
    from numba.core.errors import TypingError

    from numnet import _compiled

    def broken(*args):
        raise TypingError("no implementation for this machine")

    assert kernels.load()
    X, y = rng.normal(size=(40, 4)), rng.normal(size=40)
    runs = []
    for enabled in (True, False):
        numpy_only(enabled)
        monkeypatch.setattr(_compiled, "dense_forward", broken)
        monkeypatch.setattr(kernels, "_stack_dtypes", set())  # as in a process compiling anew
        net = stack_network([nn.Dense(8), nn.ReLU(), nn.Dense(1)], 4, np.float64)
        with pytest.warns(RuntimeWarning, match="numba could not compile") if enabled else (
                nullcontext()):
            nn.train(net, nn.MeanSquaredError(), nn.Adam(), X, y, batch_size=8, max_epochs=2,
                     random_state=0)
        runs.append(net.params.tobytes())
    assert runs[0] == runs[1]


def test_the_dense_stack_is_not_used_where_numbas_blas_differs_from_numpys(rng, monkeypatch):
    # Another BLAS under numba (SciPy's OpenBLAS beside NumPy's, or an MKL NumPy) can round a
    # product differently at some shapes (on this machine A.T @ dZ does from a few hundred
    # rows at some widths): the stack is used only at the batch sizes and layer shapes where
    # its products are NumPy's, checked once each; elsewhere training is NumPy's.
    from numnet import _compiled

    assert kernels.load()
    products = _compiled.products

    def off_by_one_ulp_from_64_rows(A, W, D, AW, AtD, DWt):
        products(A, W, D, AW, AtD, DWt)
        if A.shape[0] >= 64:
            AtD[0, 0] = np.nextafter(AtD[0, 0], np.inf)

    monkeypatch.setattr(_compiled, "products", off_by_one_ulp_from_64_rows)
    monkeypatch.setattr(kernels, "_shapes_checked", {})
    net = stack_network([nn.Dense(8), nn.ReLU(), nn.Dense(1)], 4, np.float64)
    assert kernels.DenseStack.of(net, rng.normal(size=(32, 4))) is not None
    assert kernels.DenseStack.of(net, rng.normal(size=(64, 4))) is None
    assert kernels._shapes_checked == {(np.dtype(np.float64), 32, 4, 8): True,
                                       (np.dtype(np.float64), 32, 8, 1): True,
                                       (np.dtype(np.float64), 64, 4, 8): False}


def test_a_run_at_a_batch_size_with_other_blas_kernels_is_still_numpys(rng, numpy_only):
    # The batch of 512 rows where, on this machine, SciPy's OpenBLAS sums A.T @ dZ
    # differently from NumPy's for 20 inputs and 64 outputs: the stack steps aside there.
    assert kernels.load()
    X = rng.normal(size=(1536, 20)).astype(np.float32)
    y = (X[:, :1] - X[:, 1:2] ** 2).astype(np.float32)
    runs = []
    for enabled in (True, False):
        numpy_only(enabled)
        net = stack_network(STACKS["20-64-64-1"](), 20, np.float32)
        nn.train(net, nn.MeanSquaredError(), nn.Adam(), X, y, batch_size=512, max_epochs=2,
                 random_state=0)
        runs.append(net.params.tobytes())
    assert runs[0] == runs[1]


def test_a_network_ending_in_relu_is_left_to_numpy(rng):
    # Its output's mask would belong on the loss gradient, which the stack does not apply.
    assert kernels.load()
    net = stack_network([nn.Dense(8), nn.ReLU(), nn.Dense(1), nn.ReLU()], 4, np.float64)
    assert kernels.DenseStack.of(net, rng.normal(size=(8, 4))) is None


def test_a_network_is_not_kept_alive_by_its_stack(rng):
    import gc
    import weakref

    assert kernels.load()
    net = stack_network([nn.Dense(8), nn.ReLU(), nn.Dense(1)], 4, np.float64)
    assert kernels.DenseStack.of(net, rng.normal(size=(8, 4))) is not None
    gone = weakref.ref(net)
    del net
    gc.collect()
    assert gone() is None


def test_small_steps_start_numba_once_they_have_cost_its_start_up():
    """37,500 steps of 20 us lost are numba's 0.75 s start-up (here scaled down 1000x)."""
    code = """
import sys, numpy as np, numnet as nn
nn.kernels._START_UP = 0.75e-3                              # 37.5 steps, not 37,500
X, y = np.random.default_rng(0).normal(size=(64, 4)), np.zeros(64)
net = nn.Sequential([nn.Dense(8), nn.ReLU(), nn.Dense(1)]).build(4, random_state=0)
other = nn.Sequential([nn.Dense(8), nn.Tanh(), nn.Dense(1)]).build(4, random_state=0)
seen = []
for model, epochs in ((other, 10), (net, 4), (net, 1)):       # 80, 32 and 8 steps
    nn.train(model, nn.MeanSquaredError(), nn.Adam(), X, y, batch_size=8, max_epochs=epochs)
    seen.append(("numba" in sys.modules, nn.kernels._numpy_steps))
print(seen)
"""
    # Tanh's steps are not counted (the stack cannot take them); ReLU's 32 are not enough;
    # the 38th starts numba, after which nothing is counted.
    assert run_python(code) == "[(False, 0), (False, 32), (True, 38)]"


# --- training end to end -----------------------------------------------------------------------


@pytest.mark.parametrize("loss", [nn.MeanSquaredError(), nn.BinaryCrossEntropy()], ids=repr)
def test_full_batch_training_follows_the_numpy_trajectory(rng, numpy_only, loss):
    net, X, y, weights = linear_problem(rng, loss, np.float64, weighted=True)
    start = net.params.copy()
    runs = {}
    for enabled in (True, False):
        numpy_only(enabled)
        net.params[:] = start
        history = nn.train(net, loss, nn.SGD(0.1, momentum=0.9), X, y, sample_weight=weights,
                           regularizer=nn.L2(0.01), batch_size=None, max_epochs=30)
        runs[enabled] = net.params.copy(), history.loss
    np.testing.assert_allclose(runs[True][0], runs[False][0], rtol=1e-10)
    np.testing.assert_allclose(runs[True][1], runs[False][1], rtol=1e-10)


def test_lbfgs_through_the_kernel_reaches_the_numpy_optimum(rng, numpy_only):
    loss = nn.BinaryCrossEntropy()
    net, X, y, _ = linear_problem(rng, loss, np.float64)
    start = net.params.copy()
    nn.train_lbfgs(net, loss, X, y, regularizer=nn.L2(1e-3), tol=1e-12)
    compiled = net.params.copy()
    numpy_only(False)
    net.params[:] = start
    nn.train_lbfgs(net, loss, X, y, regularizer=nn.L2(1e-3), tol=1e-12)
    np.testing.assert_allclose(compiled, net.params, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_divergence_is_still_detected_through_the_kernel(rng, dtype):
    """An overflow reaches the loss (in float32 too, although the loop sums in float64), and
    training stops with finite parameters."""
    loss = nn.MeanSquaredError()
    net, X, y, _ = linear_problem(rng, loss, dtype)
    X *= 30
    assert kernels.linear_objective(net, loss, X, y) is not None  # the path under test
    with pytest.raises(nn.DivergenceError, match="epoch"):
        nn.train(net, loss, nn.SGD(1.0), X, y, batch_size=None, max_epochs=300)
    assert np.all(np.isfinite(net.params))


def test_float32_losses_beyond_float32_range_are_inf_as_in_numpy(rng, numpy_only):
    loss = nn.MeanSquaredError()
    net, X, y, _ = linear_problem(rng, loss, np.float32)
    net.params[:] = 1e20  # outputs ~1e21: squares overflow float32
    assert kernels.linear_objective(net, loss, X, y) == np.inf
    numpy_only(False)
    assert nn.objective(net, loss, X, y)[0] == np.inf


@pytest.mark.parametrize("loss", [nn.MeanSquaredError(), nn.BinaryCrossEntropy()], ids=repr)
def test_a_nan_weight_gives_a_nan_loss(rng, loss):
    """No fastmath "nnan": the loop must not optimise a NaN away."""
    net, X, y, _ = linear_problem(rng, loss, np.float64)
    net.params[3] = np.nan
    assert np.isnan(kernels.linear_objective(net, loss, X, y))


def test_adam_on_read_only_parameters_raises_numpys_error(rng):
    params = rng.normal(size=2 * kernels._MIN_ADAM_SIZE)
    params.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        nn.Adam().step(params, np.ones_like(params))


def run_python(code, **env):
    completed = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env},
                               capture_output=True, text=True, check=True)
    return completed.stdout.strip()


def test_numnet_numba_0_switches_the_kernels_off():
    code = "import numnet as nn; print(nn.kernels.ENABLED, nn.kernels.load())"
    assert run_python(code, NUMNET_NUMBA="0") == "False False"


def test_numba_is_imported_only_by_the_first_step_that_gains_from_it():
    """`import numnet` and small models never pay numba's 0.75 s start-up; a large model does."""
    code = """
import sys, numpy as np, numnet as nn
seen = ["numba" in sys.modules]
X, y = np.random.default_rng(0).normal(size=(200, 4)), np.zeros(200)
small = nn.Sequential([nn.Dense(8), nn.ReLU(), nn.Dense(1)]).build(4, random_state=0)
nn.train(small, nn.MeanSquaredError(), nn.Adam(), X, y, max_epochs=2)
nn.train_lbfgs(nn.Sequential([nn.Dense(1)]).build(4), nn.MeanSquaredError(), X, y)
seen.append("numba" in sys.modules)
large = nn.Sequential([nn.Dense(300), nn.ReLU(), nn.Dense(1)]).build(300, random_state=0)
nn.train(large, nn.MeanSquaredError(), nn.Adam(), np.zeros((8, 300)), np.zeros(8), max_epochs=1)
seen.append("numba" in sys.modules)
print(seen)
"""
    assert run_python(code) == "[False, False, True]"


def test_precompile_and_load_are_idempotent():
    assert kernels.load() and kernels.load()
    assert kernels.precompile()


def test_a_loop_that_fails_to_compile_falls_back_to_numpy_with_a_warning(rng, monkeypatch):
    from numba.core.errors import TypingError

    from numnet import _compiled

    def broken(*args):
        raise TypingError("no implementation for this machine")

    monkeypatch.setattr(kernels, "ENABLED", True)  # restored after the test
    monkeypatch.setattr(_compiled, "linear_rows", broken)
    loss = nn.BinaryCrossEntropy()
    net, X, y, _ = linear_problem(rng, loss, np.float64)
    with pytest.warns(RuntimeWarning, match="numba could not compile numnet's kernels"):
        assert kernels.linear_objective(net, loss, X, y) is None
    assert not kernels.ENABLED
    value, _ = nn.objective(net, loss, X, y)  # the NumPy path, no warning this time
    assert np.isclose(value, loss.loss(y, net.forward(X)))
