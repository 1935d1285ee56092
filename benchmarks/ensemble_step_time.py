"""Step time of a BatchEnsemble (TabM) MLP 256-256 against k, and the embedding scatter-add.

Usage: OMP_NUM_THREADS=1 python benchmarks/ensemble_step_time.py
Trains on a 5000 x 20 float32 table in batches of 256 (one epoch = 20 steps) and prints the
median time of a step (forward, loss, backward, AdamW) for k = 1 (also the plain MLP), 4, 8, 32.
"""

import time

import numpy as np

from numnet import AdamW, Dense, ReLU, Sequential, SoftmaxCrossEntropy
from numnet.embeddings import _scatter_add
from numnet.ensemble import EnsembleDense, EnsembleFork, EnsembleLoss


def step_time(net, loss, X, y, repeats=5):
    optimizer = AdamW(learning_rate=1e-3)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for rows in np.array_split(np.arange(X.shape[0]), X.shape[0] // 256):
            raw = net.forward(X[rows], training=True)
            _, d_raw = loss.loss_gradient(y[rows], raw)
            net.backward(d_raw, input_grad=False)
            optimizer.step(net.params, net.grads)
        times.append((time.perf_counter() - start) / (X.shape[0] // 256))
    return float(np.median(times))


def _sorted_scatter_add(rows, values, out):
    out[...] = 0
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    out[sorted_rows[starts]] = np.add.reduceat(values[order], starts, axis=0)


def main():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 20)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, size=5000)]
    plain = Sequential([Dense(256), ReLU(), Dense(256), ReLU(), Dense(2)]).build(
        20, dtype=np.float32, random_state=0)
    base = step_time(plain, SoftmaxCrossEntropy(), X, y)
    print(f"plain MLP        {base * 1e3:7.2f} ms/step")
    for k in (1, 4, 8, 32):
        net = Sequential([EnsembleFork(k), EnsembleDense(256, k, adapter_init="random_signs"),
                          ReLU(), EnsembleDense(256, k), ReLU(),
                          EnsembleDense(2, k, shared=False)]).build(20, dtype=np.float32,
                                                                    random_state=0)
        t = step_time(net, EnsembleLoss(SoftmaxCrossEntropy(), k), X, y)
        print(f"TabM k = {k:2d}      {t * 1e3:7.2f} ms/step  ({t / base:5.1f}x plain)")

    rows = rng.integers(0, 50, size=256)
    values = rng.normal(size=(256, 8)).astype(np.float32)
    out = np.zeros((51, 8), np.float32)
    for name, fn in [("np.add.at", lambda: (out.fill(0), np.add.at(out, rows, values))),
                     ("sort + reduceat", lambda: _sorted_scatter_add(rows, values, out)),
                     ("bincount per dim", lambda: _scatter_add(rows, values, out))]:
        start = time.perf_counter()
        for _ in range(2000):
            fn()
        print(f"scatter-add 256 x 8 into 51 rows, {name:16s} "
              f"{(time.perf_counter() - start) / 2000 * 1e6:6.1f} us")


if __name__ == "__main__":
    main()
