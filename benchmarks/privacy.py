"""DP-SGD in numnet: the cost of a private step, and accuracy against epsilon.

``--part step``: one training step (gradient + SGD update) of the 784-256-256-10 ReLU MLP in
float32 at batch 256, best of ROUNDS rounds of 20 steps, interleaved: numnet's plain step,
numnet's DP step (clipping and noise), the DP step without noise (clipping only), and, where
torch and opacus are installed, a plain PyTorch step and Opacus's ghost-clipping step.

``--part accuracy``: test accuracy against epsilon in {0.5, 1, 2, 4, 8, inf} (delta = 1e-5,
C = 1, sigma calibrated by numnet's RDP accountant for the given epochs; inf: no clipping, no
noise) of a 64-hidden ReLU MLP on a fixed synthetic task and on scikit-learn's digits, numnet
and (when installed) Opacus with the same architecture, epochs, batch size, C and sigma.

``--part epoch``: one epoch on MNIST-shaped data (60,000 x 784), as each library's users run
it: numnet's ``train`` and ``train_private``; PyTorch and Opacus (ghost clipping, Poisson
sampling) through a DataLoader.

``--part fit``: issue 26's estimator workload, ``MLPClassifier(dp_epsilon=3)`` (30-64-3,
16,000 rows, batch 256, 15 epochs: sigma calibrated, epsilon after every epoch) against the
same fit without privacy, with the default sampler and with ``dp_sampler="geometric"``, best
of FIT_ROUNDS interleaved rounds; the accountant's cache of step curves is cleared before each
private fit, so each pays its own calibration.

The parts run write their results into OUT/privacy.json, keeping the other parts' results
that are there (``--part fit`` alone updates "fit" only).

Usage: python benchmarks/privacy.py [--part fit step epoch accuracy] [--rounds 10]
       [--epoch-rounds 2] [--fit-rounds 3] [--epochs 15]
Opacus: pip install 'numnet[bench]' (torch, opacus).
"""

import argparse
import json
import logging
import math
import time
import warnings
from pathlib import Path

import numpy as np

SIZES = (784, 256, 256, 10)
BATCH = 256


def _numnet_net(sizes, seed=0, dtype=np.float32):
    import numnet as nn
    layers = []
    for n_out in sizes[1:-1]:
        layers += [nn.Dense(n_out), nn.ReLU()]
    return nn.Sequential(layers + [nn.Dense(sizes[-1])]).build(
        sizes[0], random_state=seed, dtype=dtype)


def _mnist_shaped(n_rows):
    """(X float32, integer labels, one-hot Y) of random MNIST-shaped data."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], n_rows)
    return X, labels, np.eye(SIZES[-1], dtype=np.float32)[labels]


def _torch_mlp():
    import torch
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 10))


def _report(title, best, unit, scale):
    """Print each entry's best time against numnet's plain one; return the rows."""
    plain = best["numnet plain"]
    print(f"\n{title}:")
    rows = {}
    for name, seconds in best.items():
        rows[name] = {unit: seconds * scale, "vs numnet plain": seconds / plain}
        print(f"  {name:32s} {seconds * scale:8.3f} {unit:2s}   {seconds / plain:5.2f}x "
              "numnet plain")
    if "Opacus ghost clipping" in best:
        speedup = best["Opacus ghost clipping"] / best["numnet DP"]
        print(f"  numnet DP throughput / Opacus ghost clipping: {speedup:.2f}x")
    return rows


def step_costs(rounds):
    import numnet as nn
    from numnet.privacy import ClippedNoisyGradient
    from numnet.training.gradients import Backprop

    X, labels, Y = _mnist_shaped(BATCH)
    loss = nn.SoftmaxCrossEntropy()
    steps = {}

    net, optimizer, backprop = _numnet_net(SIZES), nn.SGD(0.01), Backprop()

    def plain():
        backprop(net, loss, X, Y, None)
        optimizer.step(net.params, net.grads)
    steps["numnet plain"] = plain

    def dp_step(noise_multiplier=1.0):
        private, opt = _numnet_net(SIZES), nn.SGD(0.01)
        gradient = ClippedNoisyGradient(1.0, noise_multiplier, float(BATCH), random_state=0)

        def step():
            gradient(private, loss, X, Y, None)
            opt.step(private.params, private.grads)
        return step
    steps["numnet DP"] = dp_step()
    steps["numnet clipping only (sigma 0)"] = dp_step(noise_multiplier=0.0)

    try:
        import torch
        from opacus.grad_sample import GradSampleModuleFastGradientClipping
        from opacus.optimizers import DPOptimizerFastGradientClipping
        from opacus.utils.fast_gradient_clipping_utils import DPLossFastGradientClipping
    except ImportError:
        torch = None
    if torch is not None:
        warnings.filterwarnings("ignore", message="Full backward hook")
        Xt, yt = torch.from_numpy(X), torch.from_numpy(labels)
        plain_model = _torch_mlp()
        plain_opt = torch.optim.SGD(plain_model.parameters(), lr=0.01)
        criterion = torch.nn.CrossEntropyLoss()

        def torch_plain():
            plain_opt.zero_grad()
            criterion(plain_model(Xt), yt).backward()
            plain_opt.step()
        steps["torch plain"] = torch_plain

        ghost = GradSampleModuleFastGradientClipping(_torch_mlp(), max_grad_norm=1.0,
                                                     use_ghost_clipping=True)
        ghost_opt = DPOptimizerFastGradientClipping(
            torch.optim.SGD(ghost.parameters(), lr=0.01), noise_multiplier=1.0,
            max_grad_norm=1.0, expected_batch_size=BATCH)
        ghost_loss = DPLossFastGradientClipping(
            ghost, ghost_opt, torch.nn.CrossEntropyLoss(reduction="mean"))

        def opacus_ghost():
            ghost_opt.zero_grad()
            ghost_loss(ghost(Xt), yt).backward()
            ghost_opt.step()
        steps["Opacus ghost clipping"] = opacus_ghost

    best = dict.fromkeys(steps, math.inf)
    for step in steps.values():
        for _ in range(3):
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(20):
                step()
            best[name] = min(best[name], (time.perf_counter() - start) / 20)
    return _report(f"One step, 784-256-256-10 float32, batch {BATCH} (best of {rounds} x 20)",
                   best, "ms", 1e3)


EPOCH_ROWS = 60_000


def epoch_costs(rounds):
    """One epoch on MNIST-shaped data (60,000 x 784 float32, 10 classes), as each library's
    users run it: numnet's ``train``/``train_private``, PyTorch and Opacus through a
    DataLoader (Opacus's ``make_private`` swaps in its Poisson DataLoader), best of rounds."""
    import numnet as nn
    from numnet.privacy import train_private
    X, labels, Y = _mnist_shaped(EPOCH_ROWS)
    loss = nn.SoftmaxCrossEntropy()
    epochs = {}

    def numnet_plain():
        nn.train(_numnet_net(SIZES), loss, nn.SGD(0.01), X, Y, batch_size=BATCH, max_epochs=1,
                 random_state=0)
    epochs["numnet plain"] = numnet_plain

    def numnet_private():
        train_private(_numnet_net(SIZES), loss, nn.SGD(0.01), X, Y, max_grad_norm=1.0,
                      noise_multiplier=1.0, batch_size=BATCH, max_epochs=1, random_state=0)
    epochs["numnet DP"] = numnet_private

    try:
        import torch
        from opacus import PrivacyEngine
    except ImportError:
        torch = None
    if torch is not None:
        warnings.filterwarnings("ignore")
        data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(labels))

        def torch_plain():
            net = _torch_mlp()
            optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
            criterion = torch.nn.CrossEntropyLoss()
            for xb, yb in torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True):
                optimizer.zero_grad()
                criterion(net(xb), yb).backward()
                optimizer.step()
        epochs["torch plain"] = torch_plain

        def opacus_ghost():
            net = _torch_mlp()
            optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
            net, optimizer, criterion, loader = PrivacyEngine().make_private(
                module=net, optimizer=optimizer, criterion=torch.nn.CrossEntropyLoss(),
                data_loader=torch.utils.data.DataLoader(data, batch_size=BATCH),
                noise_multiplier=1.0, max_grad_norm=1.0, grad_sample_mode="ghost",
                poisson_sampling=True)
            for xb, yb in loader:
                optimizer.zero_grad()
                criterion(net(xb), yb).backward()
                optimizer.step()
        epochs["Opacus ghost clipping"] = opacus_ghost

    best = dict.fromkeys(epochs, math.inf)
    for _ in range(rounds):
        for name, run in epochs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return _report(f"One epoch, {EPOCH_ROWS} x 784 float32, 784-256-256-10, batch {BATCH} "
                   f"(best of {rounds})", best, "s", 1.0)


def fit_costs(rounds):
    """The private estimator fit against the plain one (issue 26: at most 1.3x)."""
    from sklearn.datasets import make_classification

    from numnet.estimators import MLPClassifier
    from numnet.privacy import accounting
    X, y = make_classification(16000, 30, n_informative=15, n_classes=3, random_state=0)
    X = X.astype(np.float32)

    def fit(**privacy):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: 15 epochs on purpose
            MLPClassifier(hidden_layer_sizes=(64,), batch_size=BATCH, max_iter=15,
                          random_state=0, **privacy).fit(X, y)

    def private(**options):
        accounting._rdp_step.cache_clear()
        fit(dp_epsilon=3, **options)

    fits = {"numnet plain": fit, "numnet DP": private,
            "numnet DP, geometric sampler": lambda: private(dp_sampler="geometric")}
    fit()  # imports and first-call costs out of the timing
    best = dict.fromkeys(fits, math.inf)
    for _ in range(rounds):
        for name, run in fits.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return _report(f"MLPClassifier fit, 16000 x 30, 30-64-3, batch {BATCH}, 15 epochs, "
                   f"dp_epsilon=3 vs none (best of {rounds})", best, "s", 1.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", nargs="+", default=["fit", "step", "epoch", "accuracy"],
                        choices=["fit", "step", "epoch", "accuracy"])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epoch-rounds", type=int, default=2)
    parser.add_argument("--fit-rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    out = Path(args.out)
    results = _previous_results(out / "privacy.json")
    if "fit" in args.part:
        results["fit"] = fit_costs(args.fit_rounds)
    if "step" in args.part:
        results["step"] = step_costs(args.rounds)
    if "epoch" in args.part:
        results["epoch"] = epoch_costs(args.epoch_rounds)
    if "accuracy" in args.part:
        results["accuracy"] = accuracy(args.epochs, Path(args.out))
    out.mkdir(exist_ok=True)
    (out / "privacy.json").write_text(json.dumps(results, indent=2))


def _previous_results(path):
    """The parts recorded in ``path`` before (none if it is missing or unreadable)."""
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return previous if isinstance(previous, dict) else {}


EPSILONS = (0.5, 1.0, 2.0, 4.0, 8.0, math.inf)
HIDDEN, LR, C, DELTA, ACC_BATCH = 64, 0.5, 1.0, 1e-5, 128


def _datasets():
    """Train sizes are multiples of the batch size, so that numnet's q = B / N and Opacus's
    q = 1 / len(DataLoader) are the same number, and so are the steps per epoch."""
    from sklearn.datasets import load_digits, make_classification
    from sklearn.model_selection import train_test_split
    X, y = make_classification(4000, 20, n_informative=10, n_classes=4, random_state=0)
    X = (X - X.mean(0)) / X.std(0)       # benchmark data: public, the scaling is not private
    digits = load_digits()
    sets = {"synthetic (4000 x 20, 4 classes)": (X, y, 24 * ACC_BATCH),
            "digits (1797 x 64, 10 classes)": (digits.data / 16.0, digits.target,
                                               10 * ACC_BATCH)}
    return {name: [a.astype(np.float32) if a.dtype.kind == "f" else a
                   for a in train_test_split(X, y, train_size=n_train, random_state=0)]
            for name, (X, y, n_train) in sets.items()}


def _numnet_accuracy(X, y, Xt, yt, sigma, epochs, seed):
    import numnet as nn
    from numnet.privacy import train_private
    n_classes = int(y.max()) + 1
    net = _numnet_net((X.shape[1], HIDDEN, n_classes), seed=seed)
    train_private(net, nn.SoftmaxCrossEntropy(), nn.SGD(LR), X,
                  np.eye(n_classes, dtype=np.float32)[y],
                  max_grad_norm=C if sigma > 0 else math.inf, noise_multiplier=sigma,
                  batch_size=ACC_BATCH, max_epochs=epochs, delta=DELTA, random_state=seed)
    return float(np.mean(net.forward(Xt).argmax(1) == yt)), net


def _opacus_accuracy(X, y, Xt, yt, sigma, epochs, seed, init):
    import torch
    from opacus import PrivacyEngine
    torch.manual_seed(seed)
    layers = [layer for layer in init.layers if hasattr(layer, "params") and layer.params]
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, int(y.max()) + 1))
    with torch.no_grad():
        for linear, layer in zip([model[0], model[2]], layers, strict=True):
            linear.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.params["b"].copy()))
    data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(data, batch_size=ACC_BATCH)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    model, optimizer, loader = PrivacyEngine().make_private(
        module=model, optimizer=optimizer, data_loader=loader, noise_multiplier=sigma,
        max_grad_norm=C if sigma > 0 else 1e12, poisson_sampling=True)
    for _ in range(epochs):
        for xb, yb in loader:
            if len(xb) == 0:
                optimizer.zero_grad()
                optimizer.step()   # an empty Poisson batch: noise only, as in numnet
                continue
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    with torch.no_grad():
        return float((model(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean())


def accuracy(epochs, out, seeds=tuple(range(10))):
    from numnet.privacy import calibrate_noise_multiplier
    try:
        import opacus  # noqa: F401
        import torch  # noqa: F401
        have_opacus = True
    except ImportError:
        have_opacus = False
    warnings.filterwarnings("ignore")
    logging.getLogger("absl").setLevel(logging.ERROR)   # dp-accounting's notes on RDP orders
    results = {}
    for name, (X, Xt, y, yt) in _datasets().items():
        q = ACC_BATCH / X.shape[0]
        steps = epochs * int(1 / q)
        rows = []
        for eps in EPSILONS:
            sigma = 0.0 if eps == math.inf else calibrate_noise_multiplier(eps, DELTA, q, steps)
            ours, theirs = [], []
            for seed in seeds:
                value, init = _numnet_accuracy(X, y, Xt, yt, sigma, epochs, seed)
                ours.append(value)
                if have_opacus:
                    fresh = _numnet_net((X.shape[1], HIDDEN, int(y.max()) + 1), seed=seed)
                    theirs.append(_opacus_accuracy(X, y, Xt, yt, sigma, epochs, seed, fresh))
            row = {"epsilon": eps, "sigma": sigma, "numnet": float(np.mean(ours)),
                   "numnet_se": _standard_error(ours),
                   "opacus": float(np.mean(theirs)) if theirs else None,
                   "opacus_se": _standard_error(theirs) if theirs else None}
            rows.append(row)
            print(f"  {name:34s} eps={eps:<4} sigma={sigma:6.3f}  "
                  f"numnet {row['numnet']:.3f} +- {row['numnet_se']:.3f}"
                  + (f"  Opacus {row['opacus']:.3f} +- {row['opacus_se']:.3f}"
                     f"  difference {row['numnet'] - row['opacus']:+.3f}" if theirs else ""),
                  flush=True)
        results[name] = rows
    _plot(results, epochs, out)
    return results


def _standard_error(values):
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def _plot(results, epochs, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.6))
    for ax, (name, rows) in zip(np.atleast_1d(axes), results.items(), strict=True):
        xs = [r["epsilon"] if r["epsilon"] != math.inf else 16.0 for r in rows]
        ax.plot(xs, [r["numnet"] for r in rows], "o-", label="numnet")
        if rows[0]["opacus"] is not None:
            ax.plot(xs, [r["opacus"] for r in rows], "s--", label="Opacus")
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(r["epsilon"]) for r in rows])
        ax.set_xlabel("epsilon (delta = 1e-5)")
        ax.set_ylabel("test accuracy")
        ax.set_title(name, fontsize=9)
        ax.legend()
    fig.suptitle(f"DP-SGD, {HIDDEN}-hidden ReLU MLP, {epochs} epochs, C = {C}, "
                 f"batch {ACC_BATCH}", fontsize=9)
    fig.tight_layout()
    out.mkdir(exist_ok=True)
    fig.savefig(out / "privacy_accuracy.png", dpi=110)


if __name__ == "__main__":
    main()
