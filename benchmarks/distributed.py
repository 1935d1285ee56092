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

Usage: python benchmarks/distributed.py [--samples 400000] [--features 50] [--chunks 8]
                                        [--workers 2] [--rounds 3] [--skip-dask-ml]
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-dask-ml", action="store_true")
    args = parser.parse_args(argv)

    import distributed

    import numnet
    from numnet import kernels

    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
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
