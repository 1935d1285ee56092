"""DP-SGD in numnet: the cost of a private step, and accuracy against epsilon.

``--part step``: one training step (gradient + SGD update) of the 784-256-256-10 ReLU MLP in
float32 at batch 256, best of ROUNDS rounds of 20 steps, interleaved: numnet's plain step,
numnet's DP step (clipping, noise from the parallel streams), the DP step with the noise drawn
from one generator (as before the streams), and, where torch and opacus are installed, a plain
PyTorch step and Opacus's ghost-clipping step.

``--part accuracy``: test accuracy against epsilon in {0.5, 1, 2, 4, 8, inf} (delta = 1e-5,
C = 1, sigma calibrated by numnet's RDP accountant for the given epochs; inf: no clipping, no
noise) of a 64-hidden ReLU MLP on a fixed synthetic task and on scikit-learn's digits, numnet
and (when installed) Opacus with the same architecture, epochs, batch size, C and sigma.

Usage: python benchmarks/privacy.py [--part step accuracy] [--rounds 10] [--epochs 15]
Opacus: pip install 'numnet[bench]' (torch, opacus).
"""

import argparse
import json
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


def step_costs(rounds):
    import numnet as nn
    from numnet.privacy import ClippedNoisyGradient, gradients
    from numnet.training.gradients import Backprop

    rng = np.random.default_rng(0)
    X = rng.normal(size=(BATCH, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    Y = np.eye(SIZES[-1], dtype=np.float32)[labels]
    loss = nn.SoftmaxCrossEntropy()
    steps = {}

    net, optimizer, backprop = _numnet_net(SIZES), nn.SGD(0.01), Backprop()

    def plain():
        backprop(net, loss, X, Y, None)
        optimizer.step(net.params, net.grads)
    steps["numnet plain"] = plain

    def dp_step(streams):
        private, opt = _numnet_net(SIZES), nn.SGD(0.01)
        gradient = ClippedNoisyGradient(1.0, 1.0, float(BATCH), random_state=0)
        limit = gradients.PARALLEL_NOISE_MIN if streams else math.inf

        def step():
            saved, gradients.PARALLEL_NOISE_MIN = gradients.PARALLEL_NOISE_MIN, limit
            try:
                gradient(private, loss, X, Y, None)
            finally:
                gradients.PARALLEL_NOISE_MIN = saved
            opt.step(private.params, private.grads)
        return step
    steps["numnet DP"] = dp_step(True)
    steps["numnet DP, one noise generator"] = dp_step(False)

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

        def model():
            torch.manual_seed(0)
            return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                       torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                       torch.nn.Linear(256, 10))
        plain_model = model()
        plain_opt = torch.optim.SGD(plain_model.parameters(), lr=0.01)
        criterion = torch.nn.CrossEntropyLoss()

        def torch_plain():
            plain_opt.zero_grad()
            criterion(plain_model(Xt), yt).backward()
            plain_opt.step()
        steps["torch plain"] = torch_plain

        ghost = GradSampleModuleFastGradientClipping(model(), max_grad_norm=1.0,
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
    plain_ms = best["numnet plain"]
    print(f"\nOne step, 784-256-256-10 float32, batch {BATCH} (best of {rounds} x 20):")
    rows = {}
    for name, seconds in best.items():
        rows[name] = {"ms": seconds * 1e3, "vs numnet plain": seconds / plain_ms}
        print(f"  {name:32s} {seconds * 1e3:8.3f} ms   {seconds / plain_ms:5.2f}x numnet plain")
    if "Opacus ghost clipping" in best:
        speedup = best["Opacus ghost clipping"] / best["numnet DP"]
        print(f"  numnet DP throughput / Opacus ghost clipping: {speedup:.2f}x")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", nargs="+", default=["step"],
                        choices=["step", "accuracy"])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    results = {}
    if "step" in args.part:
        results["step"] = step_costs(args.rounds)
    if "accuracy" in args.part:
        results["accuracy"] = accuracy(args.epochs, Path(args.out))
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    (out / "privacy.json").write_text(json.dumps(results, indent=2))


def accuracy(epochs, out):
    raise NotImplementedError


if __name__ == "__main__":
    main()
