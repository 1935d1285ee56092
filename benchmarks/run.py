"""numnet against PyTorch and scikit-learn on the CPU: one run, one table, the ratios.

Each measurement runs in a fresh worker process (so peak memory is per library and one library's
allocator state cannot help or hurt another), and the libraries are interleaved over several
rounds because shared machines are noisy; the table reports medians over rounds.

Workloads
  mlp64, mlp256   MLP 784-512-512-10, ReLU, softmax cross-entropy, Adam (defaults), float32,
                  batch 64 / 256, on 60000 x 784 from make_classification (+10000 held out)
  tabular         20-64-64-1, ReLU, MSE, Adam, float32, batch 32, on 10000 samples
  logreg-gd       logistic regression on 100000 x 100, full-batch gradient descent
  logreg-lbfgs    the same, L-BFGS: time to reach scikit-learn's objective within 1e-6
  linreg-lbfgs    linear regression (least squares) on 100000 x 100, L-BFGS, same criterion
  linreg-gd       linear regression, full-batch gradient descent
  predict         batch prediction throughput of the trained 784-512-512-10 MLP

Usage
  python benchmarks/run.py                   # full run (a few minutes on 2 cores)
  python benchmarks/run.py --quick           # smaller data, one round: a smoke test
  python benchmarks/run.py --only mlp256 tabular --rounds 5
Results: benchmarks/results/results.json and benchmarks/results/results.png.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LIBRARIES = ("numnet", "pytorch", "sklearn")
MLP_SIZES = (784, 512, 512, 10)
TABULAR_SIZES = (20, 64, 64, 1)
L2_C = 1.0  # logistic regression: C of scikit-learn's objective C * sum(loss) + ||w||^2 / 2

# --------------------------------------------------------------------------------------------
# Data (made once by the parent, memory-mapped by the workers)
# --------------------------------------------------------------------------------------------


def make_data(folder, quick):
    from sklearn.datasets import make_classification, make_regression

    n_mlp = 12000 if quick else 60000
    X, labels = make_classification(n_samples=n_mlp + 10000, n_features=784, n_informative=64,
                                    n_redundant=64, n_classes=10, class_sep=2.0, random_state=0)
    np.save(folder / "mlp_X.npy", X[:n_mlp].astype(np.float32))
    np.save(folder / "mlp_y.npy", labels[:n_mlp].astype(np.int64))
    np.save(folder / "mlp_Xtest.npy", X[n_mlp:].astype(np.float32))
    np.save(folder / "mlp_ytest.npy", labels[n_mlp:].astype(np.int64))

    X, y = make_regression(n_samples=12000, n_features=20, n_informative=10, noise=5.0,
                           random_state=0)
    y = (y - y.mean()) / y.std()
    np.save(folder / "tab_X.npy", X[:10000].astype(np.float32))
    np.save(folder / "tab_y.npy", y[:10000].astype(np.float32))
    np.save(folder / "tab_Xtest.npy", X[10000:].astype(np.float32))
    np.save(folder / "tab_ytest.npy", y[10000:].astype(np.float32))

    n_lin = 20000 if quick else 100000
    X, labels = make_classification(n_samples=n_lin, n_features=100, n_informative=30,
                                    random_state=0)
    np.save(folder / "logreg_X.npy", X)
    np.save(folder / "logreg_y.npy", labels.astype(np.float64))
    X, y = make_regression(n_samples=n_lin, n_features=100, n_informative=50, noise=10.0,
                           random_state=0)
    np.save(folder / "linreg_X.npy", X)
    np.save(folder / "linreg_y.npy", y)


def load(folder, name):
    return np.load(folder / f"{name}.npy")


# --------------------------------------------------------------------------------------------
# Measurement helpers
# --------------------------------------------------------------------------------------------


def reset_peak_memory():
    """Reset the kernel's peak-RSS counter (VmHWM) and return the current RSS in bytes."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_bytes("VmRSS")


def peak_memory_since(baseline):
    return max(_status_bytes("VmHWM") - baseline, 0)


def _status_bytes(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def mlp_flops_per_sample(sizes):
    """Multiply-adds x 2 of a training step per sample: forward, dW, and dX except layer 1."""
    pairs = list(zip(sizes[:-1], sizes[1:], strict=False))
    forward = sum(2 * a * b for a, b in pairs)
    backward = 2 * forward - 2 * pairs[0][0] * pairs[0][1]
    return forward + backward


# --------------------------------------------------------------------------------------------
# Workers: one (library, workload) per process
# --------------------------------------------------------------------------------------------


def numnet_kernels(nn):
    """Start numba's runtime now, with the imports, as `import torch` loads PyTorch's kernels.

    numnet otherwise does it in the first training step that uses a compiled loop (0.75 s and
    110 MB once per process); like every library's import, it is not part of the timing.
    """
    return "numba" if nn.kernels.load() else "numpy"


def numnet_mlp(sizes, hidden_activation="relu", dtype=np.float32, seed=0):
    import numnet as nn

    layers = []
    for width in sizes[1:-1]:
        layers += [nn.Dense(width), nn.ReLU()]
    layers.append(nn.Dense(sizes[-1]))
    return nn.Sequential(layers).build(sizes[0], dtype=dtype, random_state=seed)


def torch_mlp_from(net):
    """A torch nn.Sequential with the same architecture and initial weights as a numnet net."""
    import torch

    modules = []
    dense = [layer for layer in net.layers if layer.params]
    for i, layer in enumerate(dense):
        W, b = layer.params["W"], layer.params["b"]
        linear = torch.nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            linear.bias.copy_(torch.from_numpy(b.copy()))
        modules.append(linear)
        if i < len(dense) - 1:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules)


def worker_mlp(lib, folder, batch_size, epochs, classification=True):
    prefix = "mlp" if classification else "tab"
    sizes = MLP_SIZES if classification else TABULAR_SIZES
    X, y = load(folder, f"{prefix}_X"), load(folder, f"{prefix}_y")
    X_test, y_test = load(folder, f"{prefix}_Xtest"), load(folder, f"{prefix}_ytest")
    n_samples = X.shape[0]
    result = {"samples": n_samples * epochs,
              "gflop": mlp_flops_per_sample(sizes) * n_samples * epochs / 1e9}

    if lib == "numnet":
        import numnet as nn

        result["kernels"] = numnet_kernels(nn)
        net = numnet_mlp(sizes)
        if classification:
            loss = nn.SoftmaxCrossEntropy()
            targets = np.eye(10, dtype=np.float32)[y]
        else:
            loss, targets = nn.MeanSquaredError(), y
        baseline = reset_peak_memory()
        start = time.perf_counter()
        nn.train(net, loss, nn.Adam(), X, targets, batch_size=batch_size, max_epochs=epochs,
                 random_state=0)
        result["seconds"] = time.perf_counter() - start
        result["peak_memory"] = peak_memory_since(baseline)
        raw = net.forward(X_test)
        predict = lambda: net.forward(X_test)  # noqa: E731
    elif lib == "pytorch":
        import torch

        torch.manual_seed(0)
        model = torch_mlp_from(numnet_mlp(sizes))
        criterion = torch.nn.CrossEntropyLoss() if classification else torch.nn.MSELoss()
        optimizer = torch.optim.Adam(model.parameters())
        X_t = torch.from_numpy(X)
        y_t = torch.from_numpy(y if classification else y.reshape(-1, 1))
        generator = torch.Generator().manual_seed(0)
        baseline = reset_peak_memory()
        start = time.perf_counter()
        model.train()
        for _ in range(epochs):
            order = torch.randperm(n_samples, generator=generator)
            for first in range(0, n_samples, batch_size):
                index = order[first:first + batch_size]
                optimizer.zero_grad()
                batch_loss = criterion(model(X_t[index]), y_t[index])
                batch_loss.backward()
                optimizer.step()
        result["seconds"] = time.perf_counter() - start
        result["peak_memory"] = peak_memory_since(baseline)
        model.eval()
        X_test_t = torch.from_numpy(X_test)

        def predict():
            with torch.no_grad():
                return model(X_test_t).numpy()

        raw = predict()
    else:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        estimator = (MLPClassifier if classification else MLPRegressor)(
            hidden_layer_sizes=sizes[1:-1], activation="relu", solver="adam", alpha=0.0,
            batch_size=batch_size, learning_rate_init=1e-3, max_iter=epochs, shuffle=True,
            random_state=0, tol=0.0, n_iter_no_change=epochs + 1,
        )
        baseline = reset_peak_memory()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X, y)
        result["seconds"] = time.perf_counter() - start
        result["peak_memory"] = peak_memory_since(baseline)
        if classification:
            proba = estimator.predict_proba(X_test)
            raw = np.log(np.clip(proba, 1e-30, None))
            predict = lambda: estimator.predict_proba(X_test)  # noqa: E731
        else:
            raw = estimator.predict(X_test).reshape(-1, 1)
            predict = lambda: estimator.predict(X_test)  # noqa: E731

    raw = np.asarray(raw, dtype=np.float64)
    if classification:
        from scipy.special import log_softmax

        log_proba = log_softmax(raw, axis=1)
        result["test_loss"] = float(-np.mean(log_proba[np.arange(len(y_test)), y_test]))
        result["test_accuracy"] = float(np.mean(raw.argmax(axis=1) == y_test))
    else:
        result["test_loss"] = float(np.mean((raw[:, 0] - y_test) ** 2))

    if classification and batch_size == 256:
        predict()  # warm-up
        baseline = reset_peak_memory()
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            predict()
            timings.append(time.perf_counter() - start)
        result["predict_seconds"] = statistics.median(timings)
        result["predict_samples"] = X_test.shape[0]
        result["predict_peak_memory"] = peak_memory_since(baseline)
    return result


def worker_linear(lib, folder, workload, iterations):
    """Logistic / linear regression, full-batch gradient descent or L-BFGS."""
    kind = "logreg" if workload.startswith("logreg") else "linreg"
    solver = workload.split("-")[1]
    X, y = load(folder, f"{kind}_X"), load(folder, f"{kind}_y")
    n_samples, n_features = X.shape
    # numnet minimises mean loss + 0.5 * alpha * ||w||^2; the same objective as scikit-learn's
    # (up to the constant factor C * n or 1/n) with these alphas:
    # Linear regression is plain least squares (scikit-learn's LinearRegression).
    alpha = 1.0 / (L2_C * n_samples) if kind == "logreg" else 0.0
    result = {"samples": n_samples, "solver": solver}
    # Every library is imported before the peak-memory baseline, as in worker_mlp: the table
    # reports what training adds, not the size of the library's own code.
    if lib == "sklearn":
        if solver != "lbfgs":
            return None
        from sklearn.linear_model import LinearRegression, LogisticRegression

        baseline = reset_peak_memory()

        # LinearRegression has no iterative solver: it runs its least-squares solve (LAPACK),
        # the time a user of scikit-learn would wait for the same objective.
        estimator = (LogisticRegression(C=L2_C, solver="lbfgs", max_iter=1000)
                     if kind == "logreg" else LinearRegression())
        start = time.perf_counter()
        estimator.fit(X, y)
        result["seconds"] = time.perf_counter() - start
        w, b = np.ravel(estimator.coef_), float(np.ravel(estimator.intercept_)[0])
        result["objective"] = numnet_objective(kind, X, y, w, b, alpha)
        result["iterations"] = int(np.max(getattr(estimator, "n_iter_", [0]) or [0]))
    elif lib == "numnet":
        import numnet as nn

        result["kernels"] = numnet_kernels(nn)
        baseline = reset_peak_memory()
        net = nn.Sequential([nn.Dense(1, init="zeros")]).build(n_features)
        loss = nn.BinaryCrossEntropy() if kind == "logreg" else nn.MeanSquaredError()
        regularizer = nn.L2(alpha) if alpha else None
        if solver == "lbfgs":
            target = float(os.environ.get("NUMNET_BENCH_TARGET", "nan"))
            reached = {}

            def stop_at_target(iteration, history):
                if history.loss[-1] <= target * (1 + 1e-6) and "seconds" not in reached:
                    reached["seconds"] = time.perf_counter() - start
                    return True
                return False

            start = time.perf_counter()
            history = nn.train_lbfgs(net, loss, X, y, regularizer=regularizer, max_iter=1000,
                                     tol=1e-10, callbacks=[stop_at_target])
            result["seconds"] = reached.get("seconds", time.perf_counter() - start)
            result["reached_target"] = "seconds" in reached
        else:
            lr = 0.1
            start = time.perf_counter()
            history = nn.train(net, loss, nn.SGD(learning_rate=lr), X, y,
                               regularizer=regularizer, batch_size=None, max_epochs=iterations)
            result["seconds"] = time.perf_counter() - start
        w, b = net[0].params["W"][:, 0], float(net[0].params["b"][0])
        result["objective"] = numnet_objective(kind, X, y, w, b, alpha)
        result["iterations"] = history.n_epochs
    else:  # pytorch: full-batch gradient descent only (the plain loop a user would write)
        if solver != "gd":
            return None
        import torch

        baseline = reset_peak_memory()
        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y).reshape(-1, 1)
        model = torch.nn.Linear(n_features, 1).double()
        torch.nn.init.zeros_(model.weight)
        torch.nn.init.zeros_(model.bias)
        criterion = torch.nn.BCEWithLogitsLoss() if kind == "logreg" else torch.nn.MSELoss()
        lr = 0.1
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        start = time.perf_counter()
        for _ in range(iterations):
            optimizer.zero_grad()
            value = criterion(model(X_t), y_t)
            if alpha:
                value = value + 0.5 * alpha * model.weight.pow(2).sum()
            value.backward()
            optimizer.step()
        result["seconds"] = time.perf_counter() - start
        w = model.weight.detach().numpy().ravel()
        b = float(model.bias.detach().numpy()[0])
        result["objective"] = numnet_objective(kind, X, y, w, b, alpha)
        result["iterations"] = iterations
    result["peak_memory"] = peak_memory_since(baseline)
    return result


def numnet_objective(kind, X, y, w, b, alpha):
    z = X @ w + b
    if kind == "logreg":
        data = np.mean(np.logaddexp(0, z) - y * z)
    else:
        data = np.mean((z - y) ** 2)
    return float(data + 0.5 * alpha * np.dot(w, w))


def worker_gemm(folder, batch_size):
    """Time of one training step's matrix products alone (same BLAS), per step."""
    rng = np.random.default_rng(0)
    sizes = MLP_SIZES
    W = [rng.standard_normal((a, b), dtype=np.float32)
         for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    A = [rng.standard_normal((batch_size, s), dtype=np.float32) for s in sizes]
    D = [rng.standard_normal((batch_size, s), dtype=np.float32) for s in sizes]
    dW = [np.empty_like(w) for w in W]
    out = [np.empty((batch_size, s), dtype=np.float32) for s in sizes]

    def step():
        for k, w in enumerate(W):                     # forward: A_{k+1} = A_k @ W_k
            np.matmul(A[k], w, out=out[k + 1])
        for k in range(len(W) - 1, -1, -1):          # backward: dW_k, and dA_k except k = 0
            np.matmul(A[k].T, D[k + 1], out=dW[k])
            if k > 0:
                np.matmul(D[k + 1], W[k].T, out=out[k])

    for _ in range(20):
        step()
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        step()
        timings.append(time.perf_counter() - start)
    return {"seconds_per_step": statistics.median(timings)}


def worker_main(args):
    folder = Path(args.data)
    if args.workload in ("mlp64", "mlp256"):
        result = worker_mlp(args.lib, folder, int(args.workload[3:]), args.epochs)
    elif args.workload == "tabular":
        result = worker_mlp(args.lib, folder, 32, args.tabular_epochs, classification=False)
    elif args.workload.startswith("gemm"):
        result = worker_gemm(folder, int(args.workload[4:]))
    else:
        result = worker_linear(args.lib, folder, args.workload, args.gd_iterations)
    print(json.dumps(result))


# --------------------------------------------------------------------------------------------
# Parent: schedule workers, aggregate, print, save
# --------------------------------------------------------------------------------------------


def run_worker(lib, workload, folder, args, env=None):
    command = [sys.executable, __file__, "--worker", "--lib", lib, "--workload", workload,
               "--data", str(folder), "--epochs", str(args.epochs),
               "--tabular-epochs", str(args.tabular_epochs),
               "--gd-iterations", str(args.gd_iterations)]
    completed = subprocess.run(command, capture_output=True, text=True,
                               env={**os.environ, **(env or {})}, check=False)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"worker {lib}/{workload} failed (exit {completed.returncode})")
    line = completed.stdout.strip().splitlines()[-1]
    return json.loads(line)


def median_of(runs, key):
    values = [r[key] for r in runs if r is not None and key in r]
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser(description="numnet vs PyTorch and scikit-learn on the CPU")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lib", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per MLP measurement")
    # 20 epochs (about 1 s for numnet): at 5 the measurement lasted 0.2 s and one scheduler
    # hiccup moved the ratio by half.
    parser.add_argument("--tabular-epochs", type=int, default=20)
    parser.add_argument("--gd-iterations", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="small data, one round")
    parser.add_argument("--only", nargs="*", default=None, help="run only these workloads")
    parser.add_argument("--numpy-only", action="store_true",
                        help="run numnet without its compiled kernels (NUMNET_NUMBA=0)")
    parser.add_argument("--output", default=str(HERE / "results"))
    args = parser.parse_args()
    if args.worker:
        return worker_main(args)
    if args.quick:
        args.rounds = 1

    workloads = ["mlp64", "mlp256", "tabular", "logreg-gd", "logreg-lbfgs", "linreg-gd",
                 "linreg-lbfgs"]
    if args.only:
        workloads = [w for w in workloads if w in args.only or
                     (w == "mlp256" and "predict" in args.only)]
    results = {w: {lib: [] for lib in LIBRARIES} for w in workloads}
    gemm = {}
    with tempfile.TemporaryDirectory(prefix="numnet-bench-") as tmp:
        folder = Path(tmp)
        print("making data ...", flush=True)
        make_data(folder, args.quick)
        if not args.numpy_only:
            # Compile numnet's loops into numba's disk cache once, as installing a wheel puts
            # PyTorch's compiled kernels on disk: no worker then times a first-ever compilation.
            subprocess.run([sys.executable, "-c", "import numnet; numnet.kernels.precompile()"],
                           check=True)
        for round_index in range(args.rounds):
            for workload in workloads:
                order = LIBRARIES[round_index % 3:] + LIBRARIES[:round_index % 3]
                if workload.endswith("lbfgs"):
                    order = ("sklearn", "numnet")  # numnet's stopping target is sklearn's result
                for lib in order:
                    env = {"NUMNET_NUMBA": "0"} if args.numpy_only and lib == "numnet" else {}
                    if workload.endswith("lbfgs") and lib == "numnet":
                        env["NUMNET_BENCH_TARGET"] = repr(
                            results[workload]["sklearn"][-1]["objective"])
                    if lib == "pytorch" and workload.endswith("lbfgs"):
                        continue
                    if lib == "sklearn" and workload.endswith("gd"):
                        continue
                    outcome = run_worker(lib, workload, folder, args, env)
                    results[workload][lib].append(outcome)
                    print(f"round {round_index + 1}/{args.rounds} {workload:<13} {lib:<8} "
                          f"{outcome['seconds']:8.3f} s", flush=True)
            for batch in (64, 256):
                gemm.setdefault(batch, []).append(
                    run_worker("numnet", f"gemm{batch}", folder, args)["seconds_per_step"])

    summary = summarise(results, gemm, args)
    kernels = {run.get("kernels") for by_lib in results.values() for run in by_lib["numnet"]
               if run is not None} - {None}
    print_table(summary)
    print("\nnumnet ran with " + (
        "its compiled kernels (numba, the 'fast' extra)" if kernels == {"numba"} else
        "NumPy only (no numba, or NUMNET_NUMBA=0)" if kernels == {"numpy"} else str(kernels)))
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps({"summary": summary, "raw": results,
                                                     "gemm": gemm, "kernels": sorted(kernels)},
                                                    indent=2))
    plot(summary, output / "results.png")
    print(f"\nresults: {output / 'results.json'}, {output / 'results.png'}")


def summarise(results, gemm, args):
    summary = {}
    for workload, by_lib in results.items():
        rows = {}
        for lib, runs in by_lib.items():
            if not runs:
                continue
            seconds = median_of(runs, "seconds")
            row = {"seconds": seconds, "peak_memory_mb": median_of(runs, "peak_memory") / 2**20}
            if workload.startswith(("mlp", "tabular")):
                epochs = args.epochs if workload.startswith("mlp") else args.tabular_epochs
                row["seconds_per_epoch"] = seconds / epochs
                row["samples_per_second"] = runs[0]["samples"] / seconds
                row["gflops"] = runs[0]["gflop"] / seconds
                row["test_loss"] = median_of(runs, "test_loss")
                row["test_accuracy"] = median_of(runs, "test_accuracy")
            else:
                row["objective"] = median_of(runs, "objective")
                row["iterations"] = median_of(runs, "iterations")
            if "predict_seconds" in runs[0]:
                t = median_of(runs, "predict_seconds")
                rows.setdefault("_predict", {})[lib] = {
                    "samples_per_second": runs[0]["predict_samples"] / t,
                    "peak_memory_mb": median_of(runs, "predict_peak_memory") / 2**20,
                }
            rows[lib] = row
        predict = rows.pop("_predict", None)
        summary[workload] = rows
        if predict:
            summary["predict"] = predict
    for batch, times in gemm.items():
        key = f"mlp{batch}"
        if key in summary and "numnet" in summary[key]:
            steps = -(-(12000 if args.quick else 60000) // batch) * args.epochs
            step_seconds = summary[key]["numnet"]["seconds"] / steps
            summary[key]["numnet"]["gemm_share"] = statistics.median(times) / step_seconds
    return summary


def print_table(summary):
    print()
    header = (f"{'workload':<13} {'library':<8} {'s/epoch':>9} {'samples/s':>11} {'GFLOP/s':>8} "
              f"{'peak MB':>8} {'test loss':>10} {'test acc':>9} {'objective':>12}")
    print(header)
    print("-" * len(header))
    for workload, rows in summary.items():
        for lib, row in rows.items():
            def fmt(key, spec, row=row):
                value = row.get(key)
                return format(value, spec) if value is not None else "-"
            seconds = row.get("seconds_per_epoch", row.get("seconds"))
            print(f"{workload:<13} {lib:<8} {format(seconds, '9.4f') if seconds else '-':>9} "
                  f"{fmt('samples_per_second', ',.0f'):>11} {fmt('gflops', '.1f'):>8} "
                  f"{fmt('peak_memory_mb', '.1f'):>8} {fmt('test_loss', '.4f'):>10} "
                  f"{fmt('test_accuracy', '.4f'):>9} {fmt('objective', '.8g'):>12}")
    print("\nratios (numnet speed / other speed; > 1 means numnet is faster)")
    targets = {"mlp64": (1.25, 2.5), "mlp256": (1.25, 2.5), "tabular": (8.0, 4.0),
               "predict": (1.0, None), "logreg-gd": (2.0, None), "linreg-gd": (2.0, None),
               "logreg-lbfgs": (None, 1 / 1.2), "linreg-lbfgs": (None, 1 / 1.2)}
    for workload, rows in summary.items():
        if "numnet" not in rows:
            continue
        mine = rows["numnet"]
        parts = []
        for other, target in zip(("pytorch", "sklearn"), targets.get(workload, (None, None)),
                                 strict=True):
            if other not in rows:
                continue
            if "samples_per_second" in mine:
                ratio = mine["samples_per_second"] / rows[other]["samples_per_second"]
            else:
                ratio = rows[other]["seconds"] / mine["seconds"]
            verdict = "" if target is None else (" met" if ratio >= target else " MISSED")
            goal = "" if target is None else f" (target >= {target:.2f}{verdict})"
            parts.append(f"vs {other} {ratio:5.2f}x{goal}")
        memory = [f"peak memory {mine['peak_memory_mb']:.0f} MB"]
        if "pytorch" in rows:
            ok = mine["peak_memory_mb"] <= rows["pytorch"]["peak_memory_mb"] * 1.05 + 1
            memory.append(f"vs pytorch {rows['pytorch']['peak_memory_mb']:.0f} MB"
                          f"{' ok' if ok else ' ABOVE'}")
        if "gemm_share" in mine:  # the target is set at batch 256; batch 64 for information
            share = mine["gemm_share"]
            verdict = (f" (target >= 75%{' met' if share >= 0.75 else ' MISSED'})"
                       if workload == "mlp256" else "")
            memory.append(f"GEMM share of step {share:.0%}{verdict}")
        print(f"  {workload:<13} " + "; ".join(parts + memory))


def plot(summary, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no chart (pip install 'numnet[plot]')")
        return
    names = list(summary)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.27
    for k, lib in enumerate(LIBRARIES):
        speeds = []
        for workload in names:
            rows = summary[workload]
            if lib not in rows or "numnet" not in rows:
                speeds.append(0.0)
                continue
            mine, row = rows["numnet"], rows[lib]
            if "samples_per_second" in row:
                speeds.append(row["samples_per_second"] / mine["samples_per_second"])
            else:
                speeds.append(mine["seconds"] / row["seconds"])
        ax.bar(np.arange(len(names)) + (k - 1) * width, speeds, width, label=lib)
    ax.set_xticks(np.arange(len(names)), names, rotation=20)
    ax.set_ylabel("speed relative to numnet (numnet = 1)")
    ax.set_title("Training / prediction speed on the CPU (higher is faster)")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
