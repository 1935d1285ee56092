"""numnet's LinearRegression and LogisticRegression against scikit-learn: time to its objective.

For each problem, scikit-learn's estimator is fitted with its defaults and its objective J_sk is
computed from its coefficients. Each numnet solver then runs until its own objective J (checked
after every iteration by a ``_fit_callbacks`` hook, which stops the fit) satisfies
``J <= J_sk * (1 + 1e-6)``; the time is the wall time of the whole ``fit`` call, validation
included. Medians over rounds; the ratio is numnet's time / scikit-learn's.

Problems (float64, 100000 x 100, standardised features):
  linear     make_regression, no penalty: scikit-learn LinearRegression (LAPACK lstsq)
             against J = ||y - Xw - b||^2 / (2 n)
  logistic   make_classification, L2 with C=1: scikit-learn LogisticRegression (lbfgs)
             against J = mean log-loss + ||w||^2 / (2 C n)

Issue 11 rows (``--part``: dense, exact, layout, sparse; all by default):
  exact      LinearRegression solvers 'lstsq' and 'cholesky' (one exact solve) on the linear
             problem: fit time against scikit-learn's, and the largest coefficient difference
  layout     MLPClassifier((100,), max_iter=2) on 200000 x 28 (the issue's case): the fit time
             for C order, F order and a pandas DataFrame; target F/C and DataFrame/C <= 1.1
  sparse     TF-IDF-like CSR, 20000 x 100000 at 0.1 % density: LogisticRegression lbfgs (C=1) to
             scikit-learn's objective, both with lbfgs; numnet's peak traced memory (tracemalloc)
             over the size of the CSR arrays

Usage: python benchmarks/linear_models.py [--samples 100000] [--features 100] [--rounds 3]
                                          [--part dense exact layout sparse]
"""

import argparse
import statistics
import time
import tracemalloc
import warnings

import numpy as np
from sklearn import linear_model as sk
from sklearn import neural_network as sk_mlp
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import numnet as nn

RELATIVE_GAP = 1e-6


def linear_objective(model, X, y):
    residual = y - X @ np.ravel(model.coef_) - model.intercept_
    return float(residual @ residual / (2 * len(y)))


def logistic_objective(model, X, y, C=1.0):
    w = np.ravel(model.coef_)
    z = X @ w + model.intercept_[0]
    return float(np.mean(np.logaddexp(0, z) - y * z) + w @ w / (2 * C * len(y)))


def time_sklearn(make, X, y, objective, rounds):
    times, value = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        model = make().fit(X, y)
        times.append(time.perf_counter() - start)
        value = objective(model, X, y)
    return statistics.median(times), value


def time_to_target(make, X, y, reference_value, rounds):
    """Median fit time until J <= J_sk (1 + 1e-6), iterations, and J / J_sk - 1 at the stop."""
    target = reference_value * (1 + RELATIVE_GAP)
    times, iterations, gaps = [], [], []
    for _ in range(rounds):
        model = make()
        model._fit_callbacks = [lambda epoch, history: history.loss[-1] <= target]
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        times.append(time.perf_counter() - start)
        iterations.append(int(np.max(model.n_iter_)))
        gaps.append(model.loss_curve_[-1] / reference_value - 1)
    return statistics.median(times), statistics.median(iterations), max(gaps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gd-max-iter", type=int, default=300)
    parser.add_argument("--part", nargs="+", default=["dense", "exact", "layout", "sparse"],
                        choices=["dense", "exact", "layout", "sparse"])
    args = parser.parse_args()
    n, d, rounds = args.samples, args.features, args.rounds
    if "layout" in args.part:
        layout_rows(rounds)
    if "sparse" in args.part:
        sparse_rows(rounds)
    if not {"dense", "exact"} & set(args.part):
        return

    X, y = make_regression(n_samples=n, n_features=d, n_informative=d // 2, noise=10.0,
                           random_state=0)
    X = StandardScaler().fit_transform(X)
    Xc, yc = make_classification(n_samples=n, n_features=d, n_informative=d // 2,
                                 random_state=0)
    Xc = StandardScaler().fit_transform(Xc)
    problems = [
        ("linear", X, y, sk.LinearRegression, linear_objective, nn.LinearRegression),
        ("logistic", Xc, yc, sk.LogisticRegression, logistic_objective, nn.LogisticRegression),
    ]

    if "exact" in args.part:
        exact_rows(X, y, rounds)
    if "dense" not in args.part:
        return
    print(f"{n} x {d} float64, median of {rounds} rounds; target J <= J_sklearn * (1 + 1e-6)")
    header = (f"{'problem':<9} {'solver':<6} {'sklearn s':>10} {'numnet s':>9} {'ratio':>6} "
              f"{'iters':>6} {'J/J_sk - 1':>12}")
    print(header)
    print("-" * len(header))
    for name, Xp, yp, reference, objective, estimator in problems:
        sk_time, sk_value = time_sklearn(reference, Xp, yp, objective, rounds)
        for solver, kwargs in [("lbfgs", {"tol": 1e-12, "max_iter": 10_000}),
                               ("gd", {"tol": 0.0, "max_iter": args.gd_max_iter})]:
            seconds, n_iter, gap = time_to_target(
                lambda e=estimator, s=solver, k=kwargs: e(solver=s, **k), Xp, yp, sk_value, rounds
            )
            reached = gap <= RELATIVE_GAP
            ratio = f"{seconds / sk_time:6.2f}" if reached else "   n/a"
            print(f"{name:<9} {solver:<6} {sk_time:10.3f} {seconds:9.3f} {ratio} {n_iter:6d} "
                  f"{gap:12.1e}" + ("" if reached else "  (not reached)"))


def _median_time(fit, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def exact_rows(X, y, rounds):
    reference = sk.LinearRegression().fit(X, y)
    sk_time = _median_time(lambda: sk.LinearRegression().fit(X, y), rounds)
    print(f"exact least squares, {X.shape[0]} x {X.shape[1]}: scikit-learn LinearRegression "
          f"{sk_time:.3f} s")
    for solver in ("lstsq", "cholesky"):
        model = nn.LinearRegression(solver=solver).fit(X, y)
        seconds = _median_time(lambda s=solver: nn.LinearRegression(solver=s).fit(X, y), rounds)
        error = np.abs(model.coef_ - reference.coef_).max() / np.abs(reference.coef_).max()
        print(f"  {solver:<9} {seconds:8.3f} s  ratio {seconds / sk_time:5.2f}  "
              f"max |coef - sklearn| / max |coef| = {error:.1e}")


def layout_rows(rounds, n=200_000, d=28):
    import pandas as pd

    X, y = make_classification(n_samples=n, n_features=d, random_state=0)
    layouts = {"C order": np.ascontiguousarray(X), "F order": np.asfortranarray(X),
               "DataFrame": pd.DataFrame(np.asfortranarray(X),
                                         columns=[f"x{i}" for i in range(d)])}
    print(f"MLPClassifier((100,), max_iter=2) on {n} x {d}, median of {rounds}:")
    base = None
    for name, data in layouts.items():
        seconds = _median_time(
            lambda data=data: nn.MLPClassifier(max_iter=2, random_state=0).fit(data, y), rounds)
        base = base or seconds
        print(f"  {name:<10} {seconds:7.3f} s  / C order {seconds / base:5.2f}")
    sk_time = _median_time(
        lambda: sk_mlp.MLPClassifier(max_iter=2, random_state=0).fit(layouts["DataFrame"], y),
        rounds)
    print(f"  scikit-learn MLPClassifier on the DataFrame: {sk_time:.3f} s")


def sparse_rows(rounds, n=20_000, d=100_000, density=1e-3):
    import scipy.sparse as sparse

    rng = np.random.default_rng(0)
    X = sparse.random(n, d, density=density, format="csr", random_state=rng,
                      data_rvs=lambda k: rng.exponential(size=k))
    X = X.multiply(1.0 / np.sqrt(X.multiply(X).sum(axis=1) + 1e-12)).tocsr()  # TF-IDF rows
    w = rng.normal(size=d)
    y = (X @ w + 0.1 * rng.normal(size=n) > 0).astype(int)
    size = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes

    def objective(model, X, y, C=1.0):
        coef = np.ravel(model.coef_)
        z = X @ coef + model.intercept_[0]
        return float(np.mean(np.logaddexp(0, z) - y * z) + coef @ coef / (2 * C * len(y)))

    sk_time, sk_value = time_sklearn(lambda: sk.LogisticRegression(), X, y, objective, rounds)
    seconds, n_iter, gap = time_to_target(
        lambda: nn.LogisticRegression(tol=1e-12, max_iter=10_000), X, y, sk_value, rounds)
    peaks = []
    for make in (sk.LogisticRegression, nn.LogisticRegression):
        tracemalloc.start()
        make().fit(X, y)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    sk_peak, peak = peaks
    print(f"sparse LogisticRegression lbfgs, CSR {n} x {d}, density {density:g} "
          f"({X.nnz} nonzeros, {size / 2**20:.1f} MiB):")
    print(f"  scikit-learn {sk_time:.3f} s, numnet {seconds:.3f} s (ratio {seconds / sk_time:.2f},"
          f" {n_iter} iterations, J/J_sk - 1 = {gap:.1e}); peak traced memory numnet "
          f"{peak / 2**20:.1f} MiB = {peak / size:.2f} x the CSR arrays (scikit-learn "
          f"{sk_peak / size:.2f} x; L-BFGS's own history of 2 x 10 vectors of n_features "
          "is most of it)")


if __name__ == "__main__":
    main()
