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

Usage: python benchmarks/linear_models.py [--samples 100000] [--features 100] [--rounds 3]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn import linear_model as sk
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
    args = parser.parse_args()
    n, d, rounds = args.samples, args.features, args.rounds

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


if __name__ == "__main__":
    main()
