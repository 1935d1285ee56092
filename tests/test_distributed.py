"""Data-parallel training on a LocalCluster: the same numbers as in memory, to rounding."""

import os
import re
import signal

import numpy as np
import pytest

from installed import HANG_TIMEOUT
from numnet import Dense, LinearRegression, LogisticRegression, MLPClassifier, ReLU, Sequential
from numnet.losses import BinaryCrossEntropy, MeanSquaredError, SoftmaxCrossEntropy
from numnet.objective import objective
from numnet.optimizers import SGD, Adam
from numnet.regularizers import L2, ElasticNet
from numnet.training import History, run_loop, train, train_lbfgs
from numnet.training.callbacks import CallbackList
from numnet.training.gradients import Backprop
from numnet.training.loop import Run
from numnet.training.sampling import BatchSampler, TrainingData

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
nd = pytest.importorskip("numnet.distributed")

CHUNKS = ((70, 130, 100),)  # uneven partitions on purpose


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def process_client():
    # Worker processes (everything sent must pickle), shared by the tests that need them; not
    # the default client: a test makes it current where it wants it.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


def _data(kind, rng, n_samples=300, n_features=5):
    X = rng.normal(size=(n_samples, n_features))
    if kind == "binary":
        y = (X @ rng.normal(size=n_features) + rng.normal(size=n_samples) > 0).astype(float)
        return X, y.reshape(-1, 1), BinaryCrossEntropy(), 1
    if kind == "softmax":
        labels = np.argmax(X @ rng.normal(size=(n_features, 3)), axis=1)
        return X, np.eye(3)[labels], SoftmaxCrossEntropy(), 3
    return X, (X @ rng.normal(size=(n_features, 2))), MeanSquaredError(), 2


def _net(n_features, n_outputs, hidden):
    layers = ([Dense(8), ReLU()] if hidden else []) + [Dense(n_outputs)]
    return Sequential(layers).build(n_features, random_state=0)


def _distributed(client, X, Y, w):
    return nd.DistributedData(
        da.from_array(X, chunks=CHUNKS + ((X.shape[1],),)),
        da.from_array(Y, chunks=CHUNKS + ((Y.shape[1],),)),
        None if w is None else da.from_array(w, chunks=CHUNKS), client=client)


def _relative(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b)))


@pytest.mark.parametrize("kind", ["binary", "softmax", "regression"])
@pytest.mark.parametrize("hidden", [False, True], ids=["linear", "mlp"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_objective_and_gradient_equal_the_in_memory_ones(client, kind, hidden, weighted):
    rng = np.random.default_rng(0)
    X, Y, loss, n_outputs = _data(kind, rng)
    w = rng.uniform(0, 2, size=X.shape[0]) if weighted else None
    net = _net(X.shape[1], n_outputs, hidden)
    net.params[:] = rng.normal(scale=0.3, size=net.params.size)
    regularizer = ElasticNet(0.01, 0.0)
    value, grad = objective(net, loss, X, Y, regularizer=regularizer, sample_weight=w)
    grad = grad.copy()
    data = _distributed(client, X, Y, w)
    d_value, d_grad = nd.DistributedObjective(net, loss, data, regularizer=regularizer)()
    assert abs(d_value - value) <= 1e-12 * abs(value)
    assert _relative(d_grad, grad) <= 1e-12
    assert d_grad is net.grads
    np.testing.assert_array_equal(data.sizes, [70, 130, 100])


def test_a_partition_with_zero_weight_adds_nothing(client):
    rng = np.random.default_rng(1)
    X, Y, loss, _ = _data("binary", rng)
    w = np.ones(X.shape[0])
    w[:70] = 0  # the whole first partition
    net = _net(X.shape[1], 1, False)
    value, grad = objective(net, loss, X, Y, sample_weight=w)
    grad = grad.copy()
    d_value, d_grad = nd.DistributedObjective(net, loss, _distributed(client, X, Y, w))()
    assert abs(d_value - value) <= 1e-12 * abs(value)
    assert _relative(d_grad, grad) <= 1e-12


def test_lbfgs_reaches_the_in_memory_optimum(client):
    rng = np.random.default_rng(2)
    X, Y, loss, _ = _data("binary", rng)
    regularizer = ElasticNet(1e-3, 0.0)
    memory = _net(X.shape[1], 1, False)
    history = train_lbfgs(memory, loss, X, Y, regularizer=regularizer, tol=1e-10)
    net = _net(X.shape[1], 1, False)
    d_history = nd.train_lbfgs_distributed(net, loss, _distributed(client, X, Y, None),
                                           regularizer=regularizer, tol=1e-10)
    assert abs(d_history.loss[-1] - history.loss[-1]) <= 1e-10 * history.loss[-1]
    np.testing.assert_allclose(net.params, memory.params, rtol=0, atol=1e-6)


def test_full_batch_gradient_descent_equals_in_memory(client):
    rng = np.random.default_rng(3)
    X, Y, loss, _ = _data("regression", rng)
    w = rng.uniform(0.5, 1.5, size=X.shape[0])
    memory = _net(X.shape[1], 2, False)
    history = train(memory, loss, SGD(0.1), X, Y, sample_weight=w, batch_size=None,
                    max_epochs=20, random_state=0)
    net = _net(X.shape[1], 2, False)
    d_history = nd.train_distributed(net, loss, SGD(0.1), _distributed(client, X, Y, w),
                                     max_epochs=20, random_state=0)
    assert _relative(net.params, memory.params) <= 1e-12
    np.testing.assert_allclose(d_history.loss, history.loss, rtol=1e-12)


class _GlobalRows(BatchSampler):
    """The combined batches of WorkerBatches, as one process draws them."""

    def __init__(self, workers, data):
        self.workers, self.data = workers, data

    def epoch(self, n_samples, rng):
        for local in self.workers.epoch(n_samples, rng):
            yield nd.WorkerRows(local, self.data.offsets, self.data.sizes, 0).global_rows


@pytest.mark.parametrize("optimizer", [lambda: SGD(0.05, momentum=0.9), lambda: Adam(0.01)],
                         ids=["sgd-momentum", "adam"])
def test_mini_batches_equal_one_process_over_the_same_batches(client, optimizer):
    rng = np.random.default_rng(4)
    X, Y, loss, _ = _data("softmax", rng)
    w = rng.uniform(0.5, 1.5, size=X.shape[0])
    data = _distributed(client, X, Y, w)
    net = _net(X.shape[1], 3, True)
    history = nd.train_distributed(net, loss, optimizer(), data, batch_size=32, max_epochs=3,
                                   random_state=7)

    reference = _net(X.shape[1], 3, True)
    run = Run(net=reference, loss=loss, optimizer=optimizer(), data=TrainingData(X, Y, w),
              rng=np.random.default_rng(7), history=History(), max_epochs=3)
    sampler = _GlobalRows(nd.WorkerBatches(data.sizes, 32), data)
    reference_history = run_loop(run, sampler, Backprop(), CallbackList([]))
    assert _relative(net.params, reference.params) <= 1e-12
    np.testing.assert_allclose(history.loss, reference_history.loss, rtol=1e-12)


def test_worker_batches_use_every_row_once_per_epoch():
    sampler = nd.WorkerBatches([5, 0, 7], 4)
    batches = list(sampler.epoch(12, np.random.default_rng(0)))
    assert len(batches) == 3
    # array_split: the first pieces of a partition get one row more (5 -> 2, 2, 1; 7 -> 3, 2, 2)
    assert [sum(len(rows) for rows in batch) for batch in batches] == [5, 4, 3]
    for k, n in enumerate([5, 0, 7]):
        np.testing.assert_array_equal(np.sort(np.concatenate([b[k] for b in batches])),
                                      np.arange(n))


def test_same_seed_same_batches():
    sampler = nd.WorkerBatches([50, 30], 16)
    first = list(sampler.epoch(80, np.random.default_rng(3)))
    again = list(sampler.epoch(80, np.random.default_rng(3)))
    for a, b in zip(first, again, strict=True):
        for rows_a, rows_b in zip(a, b, strict=True):
            np.testing.assert_array_equal(rows_a, rows_b)


# --- the estimators on dask input --------------------------------------------------------

def _dask_xy(X, y, w=None):
    chunks = CHUNKS[0]
    return (da.from_array(X, chunks=(chunks, X.shape[1])), da.from_array(y, chunks=(chunks,)
            + tuple((n,) for n in y.shape[1:])), None if w is None else da.from_array(w, chunks))


def _classification(n_classes=2, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 4))
    labels = np.argmax(X @ rng.normal(size=(4, n_classes)) + rng.normal(size=(300, n_classes)),
                       axis=1)
    return X, np.array(["a", "b", "c"])[labels]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # gd: 50 steps
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_logistic_regression_fits_dask_input_as_in_memory(client, n_classes, solver):
    X, y = _classification(n_classes)
    w = np.random.default_rng(0).uniform(0.5, 1.5, size=300)
    params = {"solver": solver, "C": 0.5, "tol": 1e-10, "max_iter": 200 if solver == "lbfgs"
              else 50}
    memory = LogisticRegression(**params).fit(X, y, sample_weight=w)
    fitted = LogisticRegression(**params).fit(*_dask_xy(X, y, w))
    np.testing.assert_allclose(fitted.coef_, memory.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fitted.intercept_, memory.intercept_, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(fitted.classes_, memory.classes_)
    assert fitted.n_iter_ == memory.n_iter_ and fitted.n_features_in_ == 4
    assert abs(fitted.loss_ - memory.loss_) <= 1e-10 * memory.loss_
    X_dask = _dask_xy(X, y)[0]
    for method in ("predict", "predict_proba", "decision_function", "predict_log_proba"):
        predicted = getattr(fitted, method)(X_dask)
        assert isinstance(predicted, da.Array)
        np.testing.assert_array_equal(predicted.compute(), getattr(fitted, method)(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_linear_regression_fits_dask_input_as_in_memory(client, solver):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 4))
    y = X @ rng.normal(size=(4, 2)) + 0.1 * rng.normal(size=(300, 2))
    params = {"solver": solver, "alpha": 0.1, "tol": 1e-10, "max_iter": 300}
    memory = LinearRegression(**params).fit(X, y)
    fitted = LinearRegression(**params).fit(*_dask_xy(X, y)[:2])
    np.testing.assert_allclose(fitted.coef_, memory.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fitted.intercept_, memory.intercept_, rtol=0, atol=1e-8)
    assert fitted.n_iter_ == memory.n_iter_ and fitted.n_outputs_ == 2
    predicted = fitted.predict(_dask_xy(X, y)[0])
    np.testing.assert_array_equal(predicted.compute(), fitted.predict(X))


@pytest.mark.filterwarnings("ignore:Dask currently has limited support:UserWarning")
def test_dask_dataframe_input_keeps_the_feature_names(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = _classification(2)
    frame = pd.DataFrame(X, columns=["p", "q", "r", "s"])
    X_dd = dd.from_pandas(frame, npartitions=3)
    y_dd = dd.from_pandas(pd.Series(y), npartitions=3)
    fitted = LogisticRegression().fit(X_dd, y_dd)
    memory = LogisticRegression().fit(frame, y)
    np.testing.assert_array_equal(fitted.feature_names_in_, memory.feature_names_in_)
    np.testing.assert_allclose(fitted.coef_, memory.coef_, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(fitted.predict(X_dd).compute(), memory.predict(frame))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_mlp_fits_dask_input_with_adam(client):
    X, y = _classification(3)
    fitted = MLPClassifier((8,), batch_size=50, max_iter=30, random_state=0,
                           learning_rate_init=0.01).fit(*_dask_xy(X, y)[:2])
    assert fitted.n_iter_ == 30 and len(fitted.loss_curve_) == 30
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]
    assert fitted.score(X, y) > 0.8
    proba = fitted.predict_proba(_dask_xy(X, y)[0])
    np.testing.assert_array_equal(proba.compute(), fitted.predict_proba(X))


def test_dask_input_refuses_other_solvers(client):
    X, y = _classification(2)
    msg = ("solver of LogisticRegression must be one of {'gd', 'lbfgs'} for dask input, got "
           "'sgd'. Choose one of those, or compute X and y into memory.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        LogisticRegression(solver="sgd").fit(*_dask_xy(X, y)[:2])
    msg = ("solver of LinearRegression must be one of {'gd', 'lbfgs'} for dask input, got "
           "'lstsq'.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        LinearRegression(solver="lstsq").fit(*_dask_xy(X, np.ones(300))[:2])


def test_dask_input_needs_a_client(monkeypatch):
    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)  # as without any client
    X, y = _classification(2)
    with pytest.raises(ValueError, match="A dask.distributed Client must be active"):
        LogisticRegression().fit(*_dask_xy(X, y)[:2])


def test_nan_in_a_block_is_reported_from_the_worker(client):
    X, y = _classification(2)
    X[250, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LogisticRegression().fit(*_dask_xy(X, y)[:2])


def test_worker_processes_give_the_same_fit(process_client):
    # Everything sent to the workers (the network, the loss, the target encoder, the tasks)
    # must survive pickling into other processes.
    X, y = _classification(3)
    memory = LogisticRegression(C=0.5).fit(X, y)
    with process_client.as_current():
        fitted = LogisticRegression(C=0.5).fit(*_dask_xy(X, y)[:2])
        predicted = fitted.predict(_dask_xy(X, y)[0]).compute()
    np.testing.assert_allclose(fitted.coef_, memory.coef_, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(predicted, memory.predict(X))


def test_a_worker_killed_during_lbfgs_does_not_lose_the_run(process_client):
    # The kill happens at a fixed iteration (no timing): the worker's process gets SIGKILL, its
    # nanny starts a new one, and Dask recomputes the lost partitions from their lineage.
    rng = np.random.default_rng(2)
    X, Y, loss, _ = _data("binary", rng, n_samples=1000)
    regularizer = ElasticNet(1e-3, 0.0)
    client = process_client
    data = nd.DistributedData(da.from_array(X, chunks=(250, 5)),
                              da.from_array(Y, chunks=(250, 1)), client=client)
    unfailed = _net(5, 1, False)
    history = nd.train_lbfgs_distributed(unfailed, loss, data, regularizer=regularizer,
                                         tol=1e-10)
    killed = []

    def kill_a_worker(iteration, history):
        if iteration == 2:
            victim = sorted(w for ws in client.who_has(data.parts).values() for w in ws)[0]
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            killed.append(victim)

    net = _net(5, 1, False)
    failed = nd.train_lbfgs_distributed(net, loss, data, regularizer=regularizer, tol=1e-10,
                                        callbacks=(kill_a_worker,))
    assert killed and failed.n_epochs == history.n_epochs
    # Recomputed partitions sit at other addresses, so BLAS may round differently: to 1e-12.
    assert _relative(net.params, unfailed.params) <= 1e-12


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_under_joblibs_dask_backend_equals_in_process(client):
    joblib = pytest.importorskip("joblib")
    from sklearn.model_selection import GridSearchCV

    X, y = _classification(2)
    grid = {"C": [0.01, 1.0], "solver": ["lbfgs", "gd"]}
    in_process = GridSearchCV(LogisticRegression(max_iter=50), grid, cv=3).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(LogisticRegression(max_iter=50), grid, cv=3, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"],
                                  in_process.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(on_dask.best_estimator_.coef_, in_process.best_estimator_.coef_)


def test_dask_input_refuses_what_it_does_not_support_yet(client):
    X, y = _classification(2)
    X_dask, y_dask, _ = _dask_xy(X, y)
    for params, name, value in [({"early_stopping": True, "solver": "gd"}, "early_stopping", True),
                                ({"warm_start": True}, "warm_start", True),
                                ({"class_weight": "balanced"}, "class_weight", "balanced")]:
        msg = (f"{name} of LogisticRegression is not supported with dask input yet, got "
               f"{value!r}. Fit without it, or compute X and y into memory.")
        with pytest.raises(ValueError, match=re.escape(msg)):
            LogisticRegression(**params).fit(X_dask, y_dask)
    msg = ("MLPClassifier.partial_fit takes in-memory arrays, got a dask collection. Use fit() "
           "(data-parallel), or dask_ml.wrappers.Incremental to feed the blocks in turn.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        MLPClassifier().partial_fit(X_dask, y_dask, classes=["a", "b"])
    msg = "y of LogisticRegression must be 1-D class labels for dask input, got 2 dimensions."
    with pytest.raises(ValueError, match=re.escape(msg)):
        LogisticRegression().fit(X_dask, da.stack([y_dask, y_dask], axis=1))


def test_dask_data_errors(client):
    X, y = _classification(2)
    X_dask, y_dask, _ = _dask_xy(X, y)
    msg = ("X, y and sample_weight must have the same number of rows, got 300, 299 and None.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        LogisticRegression().fit(X_dask, y_dask[:299])
    msg = "sample_weight must contain finite values >= 0, got -1.0."
    with pytest.raises(ValueError, match=re.escape(msg)):
        LogisticRegression().fit(X_dask, y_dask, sample_weight=-np.ones(300))
    msg = ("sample_weight must have a positive sum, got all zeros. Give at least one sample a "
           "weight > 0.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        LogisticRegression().fit(X_dask, y_dask, sample_weight=np.zeros(300))
    msg = "X must have known chunk sizes; call X.compute_chunk_sizes() first."
    with pytest.raises(ValueError, match=re.escape(msg)):
        LogisticRegression().fit(X_dask[X_dask[:, 0] > -10], y_dask)


def test_dask_predict_errors(client):
    X, y = _classification(2)
    fitted = LogisticRegression().fit(X, y)
    msg = "X has 3 features, but LogisticRegression is expecting 4 features as input."
    with pytest.raises(ValueError, match=re.escape(msg)):
        fitted.predict(da.from_array(X[:, :3], chunks=100))
    msg = ("Expected 2D array, got 1D array instead (a dask array given to "
           "LogisticRegression.predict).")
    with pytest.raises(ValueError, match=re.escape(msg)):
        fitted.predict(da.from_array(X[:, 0], chunks=100))


def test_distributed_training_refuses_dropout_and_l1_for_lbfgs(client):
    from numnet import Dropout

    rng = np.random.default_rng(0)
    X, Y, loss, _ = _data("binary", rng)
    data = _distributed(client, X, Y, None)
    net = Sequential([Dense(4), Dropout(0.5), Dense(1)]).build(5, random_state=0)
    msg = ("net must have no Dropout layer for data-parallel training, got one: each worker's "
           "copy of the network would draw the same dropout mask every step. Train in memory, "
           "or remove the Dropout layers.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        nd.train_distributed(net, loss, SGD(0.1), data, batch_size=32)
    msg = "L-BFGS needs a differentiable objective, but ElasticNet"
    with pytest.raises(ValueError, match=re.escape(msg)):
        nd.train_lbfgs_distributed(_net(5, 1, False), loss, data,
                                   regularizer=ElasticNet(0.1, 1.0))


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port, timeout=HANG_TIMEOUT):  # only against a hang
    import socket
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_scheduler_that_goes_away_gives_one_clear_line_and_a_resumable_run(client,
                                                                           tmp_path):
    # A real scheduler process (and one worker process) that the test kills mid-fit: the
    # client's reconnection attempts end after its timeout (3 s here), then one error line.
    # With a checkpoint, the state from before the failed step is saved; resumed on another
    # cluster, the run ends with the parameters of an uninterrupted one.
    import subprocess
    import sys

    import numnet as nn
    from numnet.exceptions import SchedulerLostError

    X, y, loss, n_out = _data("regression", np.random.default_rng(0), n_samples=60)

    def fit(on, **kwargs):
        data = nd.DistributedData(da.from_array(X, chunks=30), da.from_array(y, chunks=30),
                                  client=on)
        net = _net(5, n_out, False)
        history = nd.train_distributed(net, loss, Adam(learning_rate=0.01), data,
                                       batch_size=10, max_epochs=6, random_state=0, **kwargs)
        return net, history

    reference, expected = fit(client)
    checkpoint = nn.Checkpoint(tmp_path / "run")
    address = f"tcp://127.0.0.1:{_free_port()}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", address.rsplit(":", 1)[1], "--dashboard-address", ":0", "--no-show"],
        **quiet)
    worker = None
    try:
        _wait_for_port(int(address.rsplit(":", 1)[1]))
        # timeout: how long the client tries to reconnect to a lost scheduler (default 30 s).
        with distributed.Client(address, timeout=3, set_as_default=False) as lost:
            worker = subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads",
                 "1", "--no-dashboard", "--no-nanny"], **quiet)
            lost.wait_for_workers(1, timeout=HANG_TIMEOUT)

            def kill_scheduler(epoch, history):
                if epoch == 2:
                    scheduler.kill()
                    scheduler.wait()

            with pytest.raises(SchedulerLostError, match=r"^The Dask scheduler at "
                               + re.escape(address) + " went away") as caught:
                fit(lost, callbacks=[kill_scheduler], checkpoint=checkpoint)
            assert "\n" not in str(caught.value)
            assert caught.value.address == address
            assert str(caught.value).endswith(
                f"The training state from before the failed step is saved in {checkpoint}: "
                "once a scheduler is back, call again with resume=True.")
    finally:
        for process in (scheduler, worker):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    state = checkpoint.load()
    assert (state.epoch, state.batch, state.finished) == (2, 0, False)
    net, history = fit(client, checkpoint=checkpoint, resume=True)
    assert net.params.tobytes() == reference.params.tobytes()
    assert history.loss == expected.loss


def test_an_interrupted_data_parallel_run_resumes_bit_for_bit(client, tmp_path):
    import numnet as nn
    from numnet.exceptions import TrainingInterrupted

    X, Y, loss, n_out = _data("softmax", np.random.default_rng(3))

    def fit(callbacks=(), **kwargs):
        net = _net(5, n_out, True)
        history = nd.train_distributed(net, loss, SGD(learning_rate=0.1, momentum=0.9),
                                       _distributed(client, X, Y, None), batch_size=25,
                                       max_epochs=4, random_state=1, callbacks=callbacks,
                                       **kwargs)
        return net, history

    reference, expected = fit()

    def interrupt(epoch, history):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)

    checkpoint = nn.Checkpoint(tmp_path / "run")
    with pytest.raises(TrainingInterrupted):
        fit([interrupt], checkpoint=checkpoint)
    assert checkpoint.load().epoch == 2
    net, history = fit([interrupt], checkpoint=checkpoint, resume=True)
    assert net.params.tobytes() == reference.params.tobytes()
    assert history.loss == expected.loss
    # Other partitions, other batches: refused.
    with pytest.raises(ValueError, match="was written for partition_sizes='70,130,100', but "
                                         "this run has partition_sizes='150,150'"):
        nd.train_distributed(_net(5, n_out, True), loss, SGD(learning_rate=0.1, momentum=0.9),
                             nd.DistributedData(da.from_array(X, chunks=(150, 5)),
                                                da.from_array(Y, chunks=(150, 3)),
                                                client=client),
                             batch_size=25, max_epochs=4, random_state=1,
                             checkpoint=checkpoint, resume=True)


def test_ctrl_c_in_a_peer_epoch_stops_it_after_a_step_and_resumes_bit_for_bit(client,
                                                                              tmp_path,
                                                                              monkeypatch):
    # SIGINT arrives while the workers run an epoch's steps: the client passes the stop on, all
    # workers stop after the same step, the loop's checkpoint saves before the next one (mid
    # epoch), and the resumed run ends with the parameters of an uninterrupted one.
    import threading

    import numnet as nn
    from numnet.distributed import channels, peers
    from numnet.exceptions import TrainingInterrupted

    X, Y, loss, n_out = _data("softmax", np.random.default_rng(3))

    def fit(**kwargs):
        net = _net(5, n_out, True)
        history = nd.train_distributed(net, loss, SGD(learning_rate=0.1, momentum=0.9),
                                       _distributed(client, X, Y, None), batch_size=25,
                                       max_epochs=3, random_state=1, **kwargs)
        return net, history

    reference, expected = fit()
    calls, original, stop_sent = [], peers.partition_sums, threading.Event()
    waiting = channels._Stop.waiting

    def passing_on(self, worker):
        alive = waiting(self, worker)
        if self.sent:
            stop_sent.set()
        return alive

    def interrupting(*args, **kwargs):
        calls.append(1)
        if len(calls) == 20:  # in the first epoch's peer steps (3 partitions a step)
            os.kill(os.getpid(), signal.SIGINT)
        elif len(calls) > 20:  # the epoch would end before the client looks: wait for it
            stop_sent.wait(HANG_TIMEOUT)
        return original(*args, **kwargs)

    monkeypatch.setattr(channels._Stop, "waiting", passing_on)
    monkeypatch.setattr(peers, "partition_sums", interrupting)
    made = _recording_peers(monkeypatch)
    checkpoint = nn.Checkpoint(tmp_path / "run")
    with pytest.raises(TrainingInterrupted):
        fit(checkpoint=checkpoint)
    state = checkpoint.load()
    assert made[0].epochs == 1 and state.epoch == 0 and 7 <= state.batch < 12
    net, history = fit(checkpoint=checkpoint, resume=True)
    assert net.params.tobytes() == reference.params.tobytes()
    assert history.loss == expected.loss


def test_scheduler_errors_let_other_errors_through(client):
    from numnet.distributed.data import scheduler_errors

    with pytest.raises(ZeroDivisionError), scheduler_errors(client):
        client.submit(lambda: 1 / 0).result()


def test_the_command_line_reports_a_lost_scheduler_in_one_line_with_exit_2(
        tmp_path, capsys, monkeypatch):
    # The command line has no --scheduler yet; what it does with the error is checked here.
    import numnet.tabular.reading
    from numnet.cli import main
    from numnet.exceptions import SchedulerLostError

    message = ("The Dask scheduler at tcp://10.0.0.1:8786 went away during data-parallel "
               "training (OSError); the fit stopped. Start the scheduler (and its workers) "
               "again and rerun the fit.")

    def lost(*args, **kwargs):
        raise SchedulerLostError(message, address="tcp://10.0.0.1:8786")

    monkeypatch.setattr(numnet.tabular.reading, "read_table", lost)  # what fit(spec) calls
    path = tmp_path / "data.csv"
    path.write_text("a,y\n1,2\n3,4\n")
    with pytest.raises(SystemExit) as stop:
        main(["train", str(path), "-t", "y", "-o", str(tmp_path / "m.numnet")])
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"error: {message}\n"


# --- direct channels to the workers ------------------------------------------------------------


def _recording_channels(monkeypatch):
    """Every WorkerChannels that training opens, in a list (to read its step counters)."""
    from numnet.distributed import training

    opened = []

    class Recording(nd.WorkerChannels):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(training, "WorkerChannels", Recording)
    return opened


def test_steps_over_the_channels_equal_the_scheduler_path_bit_for_bit(process_client,
                                                                      monkeypatch):
    # Worker processes: the steps go over the direct connections (all but the first of each
    # epoch), and the parameters are those of the task path through the scheduler, bit for bit.
    rng = np.random.default_rng(5)
    X, Y, loss, n_out = _data("softmax", rng)
    w = rng.uniform(0.5, 1.5, size=X.shape[0])
    opened = _recording_channels(monkeypatch)
    with process_client.as_current():
        data = _distributed(process_client, X, Y, w)
        results = {}
        for direct in (True, False):
            net = _net(5, n_out, True)
            history = nd.train_distributed(net, loss, Adam(0.01), data, batch_size=32,
                                           max_epochs=3, random_state=7, direct=direct)
            lbfgs = _net(5, n_out, True)
            nd.train_lbfgs_distributed(lbfgs, loss, data, max_iter=15, direct=direct)
            results[direct] = (net.params.tobytes(), history.loss, lbfgs.params.tobytes())
        data.release()
    steps_per_epoch = -(-300 // 32)
    steps = [c.steps for c in opened]  # mini-batches, L-BFGS; direct, then not
    assert steps[0] == 3 * (steps_per_epoch - 1) and steps[1] > 0 and steps[2:] == [0, 0]
    assert results[True] == results[False]


def test_a_step_that_fails_on_a_channel_is_taken_again_through_the_scheduler(client,
                                                                           monkeypatch):
    # A worker's channel thread raises in the 5th step: that step and the later ones go
    # through the scheduler, and the run ends with the parameters of an undisturbed one.
    from numnet.distributed import channels

    X, Y, loss, n_out = _data("binary", np.random.default_rng(6))
    data = _distributed(client, X, Y, None)

    def fit():
        net = _net(5, n_out, True)
        history = nd.train_distributed(net, loss, SGD(0.1, momentum=0.9), data,
                                       batch_size=20, max_epochs=2, random_state=3,
                                       peer_epochs=False)  # this test is about single steps
        return net.params.tobytes(), history.loss

    expected = fit()
    calls, original = [], channels.partition_sums

    def failing(*args):
        calls.append(1)
        if len(calls) == 5:
            raise MemoryError("out of memory")
        return original(*args)

    monkeypatch.setattr(channels, "partition_sums", failing)
    opened = _recording_channels(monkeypatch)
    assert fit() == expected
    # one step over the channels, then the failure: the channels are closed for good
    assert len(calls) >= 5 and opened[0].steps == 1


def test_a_channel_hangs_up_on_a_wrong_token():
    import socket
    import threading

    from numnet.distributed import channels

    listener = socket.create_server(("127.0.0.1", 0))
    net = _net(5, 1, False)
    peer_listener = socket.create_server(("127.0.0.1", 0))
    server = threading.Thread(target=channels._serve,
                              args=(listener, peer_listener, net, BinaryCrossEntropy(), [],
                                    b"k" * 32))
    server.start()
    with socket.create_connection(listener.getsockname()) as sock:
        sock.sendall(b"x" * 32)
        assert sock.recv(1) == b""  # closed without an answer
    server.join()
    assert peer_listener.fileno() == -1  # the listener for the other workers is closed too


def test_a_peer_that_does_not_present_the_token_is_refused():
    import socket
    import threading

    from numnet.distributed import peers, wire

    listener = socket.create_server(("127.0.0.1", 0))
    request = wire.pack({"index": 0, "addresses": [["127.0.0.1", 0], ["127.0.0.1", 0]],
                         "partitions": [[0], [1]]})
    caught = []

    def worker():
        view, at = memoryview(request), [0]

        def read(n):
            at[0] += n
            return view[at[0] - n:at[0]]

        try:
            peers.connect(read, listener, b"k" * 32)
        except ValueError as error:
            caught.append(str(error))

    thread = threading.Thread(target=worker)
    thread.start()
    with socket.create_connection(listener.getsockname()) as sock:
        sock.sendall(b"x" * 32 + (1).to_bytes(8, "little"))
        thread.join()
    assert caught == ["a peer did not present the run's token"]


def _recording_peers(monkeypatch):
    """Every PeerEpochs that training makes, in a list (to read how many epochs it took)."""
    from numnet.distributed import training

    made = []

    class Recording(nd.peers.PeerEpochs):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(training, "PeerEpochs", Recording)
    return made


@pytest.mark.parametrize("case", ["adam-l2-clip", "sgd-proximal-elasticnet"])
def test_peer_epochs_are_the_step_by_step_run_bit_for_bit(process_client, monkeypatch, case):
    # Worker processes: all steps of an epoch but the first run on the workers, which
    # exchange their sums directly and each take the optimizer step. Weighted rows, a
    # regularizer (through its gradient, or its proximal step) and clipping, as the client does.
    rng = np.random.default_rng(11)
    X, Y, loss, n_out = _data("softmax", rng)
    w = rng.uniform(0.5, 1.5, size=X.shape[0])
    w[:40] = 0.0  # some batches of a partition carry no weight
    made = _recording_peers(monkeypatch)
    if case == "adam-l2-clip":
        options = {"regularizer": L2(0.01), "clip_norm": 0.5}
        optimizer = lambda: Adam(0.01)  # noqa: E731
    else:
        options = {"regularizer": ElasticNet(0.01, 0.5)}
        optimizer = lambda: SGD(0.05, momentum=0.9)  # noqa: E731
    with process_client.as_current():
        data = _distributed(process_client, X, Y, w)
        results = {}
        for peers in (True, False):
            net = _net(5, n_out, True)
            history = nd.train_distributed(net, loss, optimizer(), data, batch_size=32,
                                           max_epochs=3, random_state=7, peer_epochs=peers,
                                           **options)
            results[peers] = (net.params.tobytes(), history.loss)
        data.release()
    assert [m.epochs for m in made] == [3]  # none is made without peer_epochs
    assert results[True] == results[False]
    assert all(type(value) is float for value in results[True][1])


def test_a_peer_epoch_keeps_an_overflowed_adam_moment_as_the_step_by_step_run_does(client):
    # float32 rows of 1e22: g**2 overflows Adam's second moment to inf while the losses and
    # the parameters stay finite. The workers' state comes back as it is (a checkpoint file
    # with it would be refused, a run's own state is not), and the run goes on as step by step.
    rng = np.random.default_rng(3)
    X, Y, loss, n_out = _data("softmax", rng)
    X[rng.choice(X.shape[0], 10, replace=False), 0] = 1e22
    data = nd.DistributedData(da.from_array(X, chunks=((150, 150), (5,))),
                              da.from_array(Y, chunks=((150, 150), (3,))), client=client,
                              dtype=np.float32)
    results = []
    for peers in (True, False):
        net = Sequential([Dense(n_out)]).build(5, random_state=0, dtype=np.float32)
        history = nd.train_distributed(net, loss, Adam(0.01), data, batch_size=16, max_epochs=2,
                                       random_state=7, peer_epochs=peers)
        results.append((net.params.tobytes(), history.loss))
    assert results[0] == results[1]
    assert np.all(np.isfinite(history.loss))


def test_a_peer_epoch_that_fails_is_taken_step_by_step(client, monkeypatch):
    # A worker raises in a peer epoch's 7th partition pass: nothing of that epoch is kept, its
    # steps go one by one from where it stood, later epochs too, and the run ends as an
    # undisturbed one.
    from numnet.distributed import peers

    X, Y, loss, n_out = _data("binary", np.random.default_rng(6))
    data = _distributed(client, X, Y, None)

    def fit():
        net = _net(5, n_out, True)
        history = nd.train_distributed(net, loss, SGD(0.1, momentum=0.9), data,
                                       batch_size=20, max_epochs=3, random_state=3)
        return net.params.tobytes(), history.loss

    expected = fit()
    calls, original = [], peers.partition_sums

    def failing(*args):
        calls.append(1)
        if len(calls) == 7:
            raise MemoryError("out of memory")
        return original(*args)

    monkeypatch.setattr(peers, "partition_sums", failing)
    made = _recording_peers(monkeypatch)
    assert fit() == expected
    assert made[0].epochs == 0 and made[0].connected is False


def test_a_callback_acting_on_single_steps_keeps_them_on_the_client(client, monkeypatch):
    from numnet.training import Callback

    class Counting(Callback):
        def __init__(self):
            self.steps = 0

        def on_batch_begin(self, run, index):
            self.steps += 1

    X, Y, loss, n_out = _data("regression", np.random.default_rng(9))
    data = _distributed(client, X, Y, None)
    made = _recording_peers(monkeypatch)
    counting = Counting()
    nd.train_distributed(_net(5, n_out, True), loss, Adam(0.01), data, batch_size=50,
                         max_epochs=2, random_state=0, callbacks=[counting])
    assert counting.steps == 2 * 6 and made[0].epochs == 0


def test_a_peer_epoch_that_diverges_stops_as_the_step_by_step_run_does(client):
    from numnet.exceptions import DivergenceError

    X, Y, loss, n_out = _data("regression", np.random.default_rng(2))
    data = _distributed(client, X, Y, None)
    messages = []
    for peers in (True, False):
        net = _net(5, n_out, True)
        start = net.params.copy()
        with pytest.raises(DivergenceError) as caught:
            nd.train_distributed(net, loss, SGD(1e3), data, batch_size=20, max_epochs=3,
                                 random_state=0, peer_epochs=peers)
        np.testing.assert_array_equal(net.params, start)  # the first epoch's start
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("compute", [0.001, 0.02], ids=["slower", "faster"])
def test_the_overhead_note_says_when_the_cluster_is_slower_than_memory(compute):
    import types
    import warnings

    from numnet.distributed.training import _OverheadNote

    note = _OverheadNote()
    note.channels = types.SimpleNamespace(steps=10, seconds=0.01, compute_seconds=compute)
    note.batch_size = 64
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        note.on_epoch_end(types.SimpleNamespace(epoch=1))
        note.on_epoch_end(types.SimpleNamespace(epoch=2))  # once per run
    if compute > 0.01:
        assert caught == []
        return
    assert [str(w.message) for w in caught] == [
        "the cluster is slower than memory on this data: a step of 64 rows takes 1.00 ms on "
        "the cluster, but the workers compute for only 0.10 ms of it in all (measured in epoch "
        "1; the rest is communication). Train in memory (without --workers/--scheduler), or "
        "with larger batches."]


@pytest.mark.parametrize("alive", [True, False], ids=["worker-alive", "worker-gone"])
def test_a_step_slower_than_the_wait_asks_whether_its_worker_lives(client, monkeypatch, alive):
    # The client waits for a step in slices (_WAIT_SECONDS, shortened here) and asks the
    # scheduler between them whether the worker still lives: yes, it waits on (the channel
    # stays open); no, the step goes through the scheduler. The numbers are the same.
    import threading

    from numnet.distributed import channels

    X, Y, loss, n_out = _data("regression", np.random.default_rng(8))
    data = _distributed(client, X, Y, None)

    def fit():
        net = _net(5, n_out, False)
        nd.train_distributed(net, loss, SGD(0.01), data, batch_size=50, max_epochs=2,
                             random_state=1, peer_epochs=False)  # single steps' waits
        return net.params.tobytes()

    expected = fit()
    asked, release, original = threading.Event(), threading.Event(), channels.partition_sums

    def held(*args):
        if not release.is_set():
            release.wait()  # the 1st step over a channel waits until the client has asked
        return original(*args)

    def is_alive(self, worker):
        assert worker in client.scheduler_info()["workers"]
        asked.set()
        if alive:
            release.set()
        return alive

    monkeypatch.setattr(channels, "_WAIT_SECONDS", 0.01)
    monkeypatch.setattr(channels, "partition_sums", held)
    monkeypatch.setattr(channels.WorkerChannels, "_alive", is_alive)
    opened = _recording_channels(monkeypatch)
    try:
        assert fit() == expected
    finally:
        release.set()
    assert asked.is_set()
    assert opened[0].steps == (2 * (300 // 50 - 1) if alive else 0)


def test_a_peer_epoch_with_a_worker_gone_is_taken_step_by_step(client, monkeypatch):
    # While the client waits for a peer epoch it asks the scheduler every _WAIT_SECONDS
    # (shortened here) whether the epoch's workers all live; when one is gone, the epoch's
    # steps go one by one through the scheduler. The numbers are the same.
    import threading

    from numnet.distributed import channels, peers

    X, Y, loss, n_out = _data("regression", np.random.default_rng(8))
    data = _distributed(client, X, Y, None)

    def fit():
        net = _net(5, n_out, True)
        nd.train_distributed(net, loss, SGD(0.01), data, batch_size=50, max_epochs=2,
                             random_state=1)
        return net.params.tobytes()

    expected = fit()
    asked, original = threading.Event(), peers.partition_sums

    def held(*args, **kwargs):
        asked.wait(HANG_TIMEOUT)  # the peer epoch lasts until the client has asked
        return original(*args, **kwargs)

    def gone(self, worker):
        asked.set()
        return False

    monkeypatch.setattr(channels, "_WAIT_SECONDS", 0.01)
    monkeypatch.setattr(peers, "partition_sums", held)
    monkeypatch.setattr(channels.WorkerChannels, "_alive", gone)
    made = _recording_peers(monkeypatch)
    try:
        assert fit() == expected
    finally:
        asked.set()
    assert made[0].epochs == 0 and made[0].connected is False


def test_worker_sums_are_the_same_steps_to_rounding(client, monkeypatch):
    # The separate variant: one pass per worker over its share of the batch. The same
    # batches and algorithm; the gradient is added in another order (to rounding).
    rng = np.random.default_rng(9)
    X, Y, loss, n_out = _data("softmax", rng)
    w = rng.uniform(0.5, 1.5, size=X.shape[0])
    data = _distributed(client, X, Y, w)
    opened = _recording_channels(monkeypatch)
    fits = {}
    for worker_sums in (False, True):
        net = _net(5, n_out, True)
        history = nd.train_distributed(net, loss, Adam(0.01), data, batch_size=32,
                                       max_epochs=3, random_state=7, worker_sums=worker_sums)
        fits[worker_sums] = net.params, history.loss
    assert opened[1].worker_sums and opened[1].steps == 3 * (-(-300 // 32) - 1)
    assert _relative(fits[True][0], fits[False][0]) <= 1e-12
    np.testing.assert_allclose(fits[True][1], fits[False][1], rtol=1e-12)
    with pytest.raises(TypeError, match="worker_sums"):
        nd.train_distributed(_net(5, n_out, True), loss, Adam(0.01), data, batch_size=32,
                             worker_sums="yes")
