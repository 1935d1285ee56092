"""Training speed of numnet's core: samples per second and where a step's time goes.

Workloads (issue 2):
  * MLP 784-512-512-10, ReLU, softmax cross-entropy, Adam, float32, batch 64 and 256,
    on 60000 x 784 synthetic data from sklearn.datasets.make_classification;
  * a tabular net 20-16-1 (ReLU, MSE, Adam, float32) at batch 32.

For each it prints the throughput of numnet.train() over whole epochs, and the time split of one
step between forward (incl. loss), backward and the optimizer step, plus the optimizer's share of
forward + backward (target at batch 256: below 30%).

Usage: python benchmarks/core_speed.py [--epochs 1] [--samples 60000]
"""

import argparse
import time

import numpy as np
from sklearn.datasets import make_classification, make_regression

import numnet as nn


def mlp(sizes, n_in, dtype, seed=0):
    layers = []
    for size in sizes[:-1]:
        layers += [nn.Dense(size), nn.ReLU()]
    layers.append(nn.Dense(sizes[-1]))
    return nn.Sequential(layers).build(n_in, dtype=dtype, random_state=seed)


def step_split(net, loss, optimizer, X, y, batch_size, n_steps=60, warmup=10):
    """Median time of forward+loss, backward and optimizer step over n_steps batches."""
    rng = np.random.default_rng(0)
    grad = None
    times = {"forward": [], "backward": [], "step": []}
    for i in range(n_steps + warmup):
        idx = rng.integers(0, X.shape[0], batch_size)
        Xb, yb = X[idx], y[idx]
        t0 = time.perf_counter()
        raw = net.forward(Xb, training=True)
        if grad is None:
            grad = np.empty_like(raw)
        loss.loss_gradient(yb, raw, out=grad)
        t1 = time.perf_counter()
        net.backward(grad, input_grad=False)
        t2 = time.perf_counter()
        optimizer.step(net.params, net.grads)
        t3 = time.perf_counter()
        if i >= warmup:
            times["forward"].append(t1 - t0)
            times["backward"].append(t2 - t1)
            times["step"].append(t3 - t2)
    return {k: float(np.median(v)) for k, v in times.items()}


def report(name, net, loss, X, y, batch_size, epochs):
    split = step_split(net, loss, nn.Adam(), X, y, batch_size)
    t0 = time.perf_counter()
    nn.train(net, loss, nn.Adam(), X, y, batch_size=batch_size, max_epochs=epochs, random_state=0)
    elapsed = time.perf_counter() - t0
    fb = split["forward"] + split["backward"]
    print(f"{name:<28} batch {batch_size:>4}: {X.shape[0] * epochs / elapsed:>10,.0f} samples/s | "
          f"forward {split['forward'] * 1e3:6.3f} ms  backward {split['backward'] * 1e3:6.3f} ms  "
          f"step {split['step'] * 1e3:6.3f} ms  step/(fwd+bwd) {split['step'] / fb:5.1%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--samples", type=int, default=60000)
    args = parser.parse_args()

    X, labels = make_classification(n_samples=args.samples, n_features=784, n_informative=64,
                                    n_classes=10, random_state=0)
    X = X.astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[labels]
    for batch_size in (64, 256):
        net = mlp([512, 512, 10], 784, np.float32)
        report("MLP 784-512-512-10 (Adam)", net, nn.SoftmaxCrossEntropy(), X, Y, batch_size,
               args.epochs)

    Xt, yt = make_regression(n_samples=10000, n_features=20, noise=1.0, random_state=0)
    Xt = Xt.astype(np.float32)
    yt = ((yt - yt.mean()) / yt.std()).astype(np.float32)
    net = mlp([16, 1], 20, np.float32)
    report("tabular 20-16-1 (Adam)", net, nn.MeanSquaredError(), Xt, yt, 32, max(args.epochs, 3))


if __name__ == "__main__":
    main()
