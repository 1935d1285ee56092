"""Data-parallel logistic regression on a 2-worker LocalCluster: numnet against dask-ml and memory.

The issue's case: logistic regression (L2, C=1) on a dask array of n_samples x 50 float64 in 8
row chunks, persisted on a LocalCluster of 2 worker processes x 1 thread, fitted by

- numnet     ``numnet.LogisticRegression(solver="lbfgs").fit(X_dask, y_dask)`` (data-parallel:
             the parameters go out to the 8 partitions, 8 loss and gradient sums come back);
- dask-ml    ``dask_ml.linear_model.LogisticRegression(solver="lbfgs")`` (dask-glm's L-BFGS);
- memory     ``numnet.LogisticRegression(solver="lbfgs").fit(X, y)`` on the computed arrays, in
             this process (BLAS threads as they are).

Each reports its median wall time over ``--rounds`` fits (the fit call only; the data is
persisted before) and the mean
log-loss its coefficients reach on all rows, so that the times are to the same objective. The
workers import numba (numnet's fused linear kernel) before the timing starts.

Then (``--part communication``) the per-step cost of a data-parallel mini-batch step against
model size: bytes moved and milliseconds per step on the cluster and in memory.

Then (``--part training``) synchronous mini-batch training at ``--train-samples`` rows (200,000
x 20 float64, 9 classes, 8 chunks): ``MLPClassifier(solver="adam")`` with one hidden layer of
64 units and batches of 200 (a small step), then with ``numnet train``'s default network (3 x
256, batches of 256), for ``--train-epochs`` epochs, fit on the dask arrays (data-parallel)
and on the computed arrays in this process; wall time of the fit call and per step.

Usage: python benchmarks/distributed.py [--samples 400000] [--features 50] [--chunks 8]
                                        [--workers 2] [--rounds 3] [--skip-dask-ml]
                                        [--part fit communication training]
                                        [--train-samples 200000] [--train-epochs 1]
"""

import argparse
import os
import statistics
import sys
import time
import warnings

# Run as a script, this file's folder comes first on sys.path, and its name would shadow the
# distributed package it benchmarks.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import numpy as np  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402


def _make_data(n_samples, n_features, chunks):
    import dask.array as da

    rows = n_samples // chunks
    X = da.random.default_rng(0).standard_normal((n_samples, n_features),
                                                 chunks=(rows, n_features))
    w = np.random.default_rng(1).normal(size=n_features) / np.sqrt(n_features) * 3
    logits = X @ w
    noise = da.random.default_rng(2).logistic(size=n_samples, chunks=rows)
    y = (logits + noise > 0).astype(np.int64)
    return X, y


def _log_loss(X, y, coef, intercept):
    z = X @ np.ravel(coef) + float(np.ravel(intercept)[0])
    return log_loss(y, 1 / (1 + np.exp(-z)), labels=[0, 1])


def _timed(fit, rounds):
    """The model of the last round and the median wall time of ``rounds`` fits."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        model = fit()
        times.append(time.perf_counter() - started)
    return model, statistics.median(times)


def _communication(client, n_features, n_partitions, rounds):
    """Per-step cost of a data-parallel mini-batch step against model size (a table).

    One step of :class:`numnet.distributed.WorkerSumGradient` on a 256-row batch drawn from 8
    partitions of 2000 rows (every partition gives its share), for one-hidden-layer networks of
    about 1e3 to 1e6 parameters, against :class:`numnet.training.Backprop` on the same 256 rows
    in this process. Bytes per step: the parameters to each worker's task, and a gradient sum
    per partition back.
    """
    import dask.array as da

    from numnet import Dense, ReLU, Sequential
    from numnet.distributed import DistributedData, WorkerBatches, WorkerData, WorkerSumGradient
    from numnet.distributed.objective import scatter_network
    from numnet.losses import BinaryCrossEntropy
    from numnet.training.gradients import Backprop

    rng = np.random.default_rng(0)
    n_rows = 2000 * n_partitions
    X = rng.normal(size=(n_rows, n_features))
    Y = (X[:, :1] > 0).astype(np.float64)
    data = DistributedData(da.from_array(X, chunks=(2000, n_features)),
                           da.from_array(Y, chunks=(2000, 1)), client=client)
    loss, n_workers = BinaryCrossEntropy(), len(client.scheduler_info()["workers"])
    rows = next(iter(WorkerBatches(data.sizes, 256).epoch(n_rows, rng)))
    batch = WorkerData(data).batch(rows)
    X_b, Y_b, backprop = X[batch[0].global_rows], Y[batch[0].global_rows], Backprop()
    table = []
    for hidden in (20, 200, 2000, 20000):
        net = Sequential([Dense(hidden), ReLU(), Dense(1)]).build(n_features, random_state=0)
        gradient = WorkerSumGradient(data, scatter_network(client, net))
        gradient(net, loss, *batch)  # the first step also loads the tasks on the workers
        _, cluster = _timed(lambda g=gradient, n=net: g(n, loss, *batch), rounds)
        _, memory = _timed(lambda n=net: backprop(n, loss, X_b, Y_b, None), rounds)
        n_params = net.params.size
        sent = (n_workers + n_partitions) * n_params * 8
        table.append((n_params, sent, cluster, memory))
    data.release()
    print(f"\nper-step cost, 256-row batch over {n_partitions} partitions, {n_workers} workers "
          f"(median of {rounds})")
    print(f"{'n_params':>10}{'bytes/step':>13}{'cluster ms':>12}{'memory ms':>11}"
          f"{'overhead ms':>13}")
    for n_params, sent, cluster, memory in table:
        print(f"{n_params:>10}{sent:>13,}{cluster * 1e3:>12.1f}{memory * 1e3:>11.1f}"
              f"{(cluster - memory) * 1e3:>13.1f}")


def _training(client, n_samples, n_features, chunks, epochs):
    """Synchronous data-parallel mini-batch training against the same fit in memory (a table)."""
    import dask.array as da

    import numnet

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, n_features))
    y = np.argmax(X @ rng.normal(size=(n_features, 9)) + rng.gumbel(size=(n_samples, 9)), axis=1)
    rows = -(-n_samples // chunks)
    X_dask, y_dask = client.persist([da.from_array(X, chunks=(rows, n_features)),
                                     da.from_array(y, chunks=rows)])
    print(f"\nsynchronous mini-batch training: {n_samples} x {n_features} float64, 9 classes, "
          f"{chunks} chunks, adam, {epochs} epoch(s)")
    print(f"{'fit':<46}{'seconds':>9}{'ms/step':>9}{'loss':>10}")
    for hidden, batch_size in (((64,), 200), ((256, 256, 256), 256)):
        def model(hidden=hidden, batch_size=batch_size):
            return numnet.MLPClassifier(hidden_layer_sizes=hidden, solver="adam",
                                        batch_size=batch_size, max_iter=epochs, tol=0.0,
                                        random_state=0)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: the epochs are fixed
            # Every worker imports what the fit needs (scikit-learn, with numnet.estimators)
            # before the timing: a slice of every partition, not of the first one only.
            model().fit(X_dask[::100], y_dask[::100])
            cluster_model, cluster = _timed(lambda m=model: m().fit(X_dask, y_dask), 1)
            memory_model, memory = _timed(lambda m=model: m().fit(X, y), 1)
        steps = epochs * -(-n_samples // batch_size)
        name = f"MLP {'-'.join(map(str, hidden))}, batch {batch_size}"
        for where, seconds, fitted in (("dask", cluster, cluster_model),
                                       ("memory", memory, memory_model)):
            print(f"{name + ', ' + where:<46}{seconds:>9.2f}{seconds / steps * 1e3:>9.2f}"
                  f"{fitted.loss_curve_[-1]:>10.5f}")
        print(f"{name}: numnet dask / numnet memory: {cluster / memory:.2f}x")
    _worker_sums(client, X, y, X_dask, y_dask, epochs)


def _worker_sums(client, X, y, X_dask, y_dask, epochs):
    """The wide network with ``train_distributed``: per partition, per worker, and in memory.

    The training loops alone (no estimator around them), on the same persisted partitions:
    the default sums per partition, the ``worker_sums=True`` variant, and ``numnet.train`` on
    the arrays in this process (its batches are slices of one permutation: other rows, the
    same sizes).
    """
    import numnet
    import numnet.distributed as nd
    from numnet import Dense, ReLU, Sequential
    from numnet.losses import SoftmaxCrossEntropy
    from numnet.optimizers import Adam

    Y = np.eye(9)[y]
    data = nd.DistributedData(X_dask, y_dask.map_blocks(lambda b: np.eye(9)[b], new_axis=1,
                                                        chunks=(X_dask.chunks[0], (9,))),
                              client=client)

    def net():
        return Sequential([Dense(256), ReLU(), Dense(256), ReLU(), Dense(256), ReLU(),
                           Dense(9)]).build(X.shape[1], random_state=0)

    loss, steps = SoftmaxCrossEntropy(), epochs * -(-X.shape[0] // 256)
    rows = []
    for label, worker_sums in (("per partition", False), ("worker_sums=True", True)):
        _, seconds = _timed(lambda w=worker_sums: nd.train_distributed(
            net(), loss, Adam(2e-3), data, batch_size=256, max_epochs=epochs, random_state=0,
            worker_sums=w), 1)
        rows.append((f"train_distributed, {label}", seconds))
    _, seconds = _timed(lambda: numnet.train(net(), loss, Adam(2e-3), X, Y, batch_size=256,
                                             max_epochs=epochs, random_state=0), 1)
    rows.append(("numnet.train, in memory", seconds))
    data.release()
    print("MLP 256-256-256, batch 256, the training loops alone:")
    for name, seconds in rows:
        print(f"  {name:<44}{seconds:>9.2f}{seconds / steps * 1e3:>9.2f}")
    print(f"  worker_sums / memory: {rows[1][1] / rows[2][1]:.2f}x, per partition / memory: "
          f"{rows[0][1] / rows[2][1]:.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-dask-ml", action="store_true")
    parser.add_argument("--part", nargs="+", choices=("fit", "communication", "training"),
                        default=("fit", "communication", "training"))
    parser.add_argument("--train-samples", type=int, default=200_000)
    parser.add_argument("--train-epochs", type=int, default=1)
    args = parser.parse_args(argv)

    import distributed

    import numnet
    from numnet import kernels

    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        if "communication" in args.part:
            _communication(client, args.features, args.chunks, max(args.rounds, 5))
        if "training" in args.part:
            client.run(kernels.load)
            _training(client, args.train_samples, 20, args.chunks, args.train_epochs)
        if "fit" not in args.part:
            return
        X_dask, y_dask = _make_data(args.samples, args.features, args.chunks)
        X_dask, y_dask = client.persist([X_dask, y_dask])
        distributed.wait([X_dask, y_dask])
        X, y = X_dask.compute(), y_dask.compute()
        client.run(kernels.load)
        kernels.load()
        print(f"{args.samples} x {args.features} float64, {args.chunks} chunks, "
              f"{args.workers} workers x 1 thread (processes)")
        rows = []

        model, seconds = _timed(lambda: numnet.LogisticRegression().fit(X_dask, y_dask),
                                args.rounds)
        rows.append(("numnet, dask (data-parallel lbfgs)", seconds, model.n_iter_[0],
                     _log_loss(X, y, model.coef_, model.intercept_)))
        model, seconds = _timed(lambda: numnet.LogisticRegression().fit(X, y), args.rounds)
        rows.append(("numnet, in memory (lbfgs)", seconds, model.n_iter_[0],
                     _log_loss(X, y, model.coef_, model.intercept_)))
        if not args.skip_dask_ml:
            from dask_ml.linear_model import LogisticRegression as DaskLogisticRegression

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model, seconds = _timed(lambda: DaskLogisticRegression(solver="lbfgs")
                                        .fit(X_dask, y_dask), args.rounds)
            rows.append(("dask-ml (lbfgs)", seconds, getattr(model, "n_iter_", "-"),
                         _log_loss(X, y, model.coef_, model.intercept_)))

    print(f"{'fit':<38}{'seconds':>9}{'iters':>7}{'log-loss':>12}")
    for name, seconds, n_iter, value in rows:
        print(f"{name:<38}{seconds:>9.2f}{n_iter!s:>7}{value:>12.6f}")
    numnet_time = rows[0][1]
    print(f"numnet dask / numnet memory: {numnet_time / rows[1][1]:.2f}x")
    if len(rows) > 2:
        print(f"dask-ml / numnet dask: {rows[2][1] / numnet_time:.1f}x")


if __name__ == "__main__":
    main()
