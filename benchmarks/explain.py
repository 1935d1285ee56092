"""Integrated gradients: numnet against Captum on the same 784-256-256-10 ReLU MLP (float32).

IG over ROWS rows x 50 Gauss-Legendre steps, the predicted class of each row as target, with the
same internal batch size (points per forward pass) in both libraries. Each library runs in its
own process; the script prints rows per second (best of ROUNDS), the peak resident memory the
attribution added over the process after imports and model set-up, and the ratio.

Usage: python benchmarks/explain.py [--rows 1000] [--rounds 3] [--internal-batch-size 4096]
Captum needs torch and captum: pip install torch==2.13.0 captum.
"""

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

SIZES = (784, 256, 256, 10)


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(scale=np.sqrt(2 / n_in), size=(n_in, n_out)).astype(np.float32),
             rng.normal(scale=0.01, size=n_out).astype(np.float32))
            for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=True)]


def data(rows, seed=1):
    return np.random.default_rng(seed).normal(size=(rows, SIZES[0])).astype(np.float32)


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_numnet(rows, rounds, batch):
    import numnet as nn
    from numnet.explain import integrated_gradients

    net = nn.Sequential([nn.Dense(256), nn.ReLU(), nn.Dense(256), nn.ReLU(), nn.Dense(10)])
    net.build(SIZES[0], dtype=np.float32)
    for index, (W, b) in zip((0, 2, 4), weights(), strict=True):
        net.named_parameters()[f"{index}.W"][:] = W
        net.named_parameters()[f"{index}.b"][:] = b
    X = data(rows)
    target = net.forward(X).argmax(axis=1)
    before, times = peak_mb(), []
    for _ in range(rounds):
        start = time.perf_counter()
        result = integrated_gradients(net, X, target=target, n_steps=50,
                                      internal_batch_size=batch)
        times.append(time.perf_counter() - start)
    return {"seconds": min(times), "peak_mb": peak_mb() - before,
            "max_delta": float(np.max(np.abs(result.delta))), "values": result.values[:2].tolist()}


def run_captum(rows, rounds, batch):
    import torch
    from captum.attr import IntegratedGradients

    torch.set_num_threads(max(1, torch.get_num_threads()))
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).eval()
    with torch.no_grad():
        for index, (W, b) in zip((0, 2, 4), weights(), strict=True):
            model[index].weight.copy_(torch.from_numpy(W.T.copy()))
            model[index].bias.copy_(torch.from_numpy(b))
    X = torch.from_numpy(data(rows))
    with torch.no_grad():
        target = model(X).argmax(dim=1)
    ig = IntegratedGradients(model)
    before, times = peak_mb(), []
    for _ in range(rounds):
        start = time.perf_counter()
        values, delta = ig.attribute(X, target=target, n_steps=50, method="gausslegendre",
                                     internal_batch_size=batch, return_convergence_delta=True)
        times.append(time.perf_counter() - start)
    return {"seconds": min(times), "peak_mb": peak_mb() - before,
            "max_delta": float(delta.abs().max()), "values": values[:2].tolist()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--internal-batch-size", type=int, default=4096)
    parser.add_argument("--child", choices=["numnet", "captum"])
    args = parser.parse_args()
    if args.child:
        run = run_numnet if args.child == "numnet" else run_captum
        print(json.dumps(run(args.rows, args.rounds, args.internal_batch_size)))
        return
    results = {}
    for library in ("numnet", "captum"):
        command = [sys.executable, __file__, "--child", library, "--rows", str(args.rows),
                   "--rounds", str(args.rounds),
                   "--internal-batch-size", str(args.internal_batch_size)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{library}: not run ({done.stderr.strip().splitlines()[-1]})")
            continue
        results[library] = json.loads(done.stdout)
    print(f"integrated gradients, {args.rows} rows x 50 steps, MLP {'-'.join(map(str, SIZES))}, "
          f"float32, internal batch {args.internal_batch_size} points")
    print(f"{'library':8} {'rows/s':>9} {'peak MB':>8} {'max |delta|':>12}")
    for library, r in results.items():
        print(f"{library:8} {args.rows / r['seconds']:9.0f} {r['peak_mb']:8.0f} "
              f"{r['max_delta']:12.2e}")
    if len(results) == 2:
        ratio = results["captum"]["seconds"] / results["numnet"]["seconds"]
        difference = np.max(np.abs(np.subtract(results["numnet"]["values"],
                                               results["captum"]["values"])))
        print(f"numnet / Captum throughput: {ratio:.2f}x; largest difference in the first two "
              f"rows' attributions: {difference:.1e}")


if __name__ == "__main__":
    main()
