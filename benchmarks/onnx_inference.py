"""Batch inference of the 784-512-512-10 MLP: numnet, its ONNX export in onnxruntime, PyTorch.

The same float32 weights in all three; rows per second over 16384 rows in batches of 1, 64 and
4096 (median of --rounds interleaved rounds), and the largest difference of the outputs from
numnet's. No target: the table tells which runtime to deploy for which batch size.

Usage: python benchmarks/onnx_inference.py [--rounds 5]
Needs the onnx extra (onnx, onnxruntime); PyTorch is measured when installed (bench extra).
"""

import argparse
import statistics
import time

import numpy as np

import numnet as nn

SIZES = (784, 512, 512, 10)
ROWS = 16384


def network(seed=0):
    net = nn.Sequential([nn.Dense(512), nn.ReLU(), nn.Dense(512), nn.ReLU(), nn.Dense(10)])
    return net.build(SIZES[0], dtype=np.float32, random_state=seed)


def runners(net):
    """{name: predict(X) -> outputs} for numnet, onnxruntime and (if installed) PyTorch."""
    import onnxruntime

    out = {"numnet": lambda X: net.forward(X)}
    model = nn.to_onnx(net)
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out["onnxruntime"] = lambda X: session.run(None, {name: X})[0]
    try:
        import torch
    except ImportError:
        return out
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).eval()
    named = net.named_parameters()
    with torch.no_grad():
        for index in (0, 2, 4):
            model[index].weight.copy_(torch.from_numpy(named[f"{index}.W"].T.copy()))
            model[index].bias.copy_(torch.from_numpy(named[f"{index}.b"]))

    def torch_predict(X):
        with torch.inference_mode():
            return model(torch.from_numpy(X)).numpy()

    out["pytorch"] = torch_predict
    return out


def rows_per_second(predict, X, batch):
    start = time.perf_counter()
    for begin in range(0, X.shape[0], batch):
        predict(X[begin:begin + batch])
    return X.shape[0] / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    net = network()
    X = np.random.default_rng(1).normal(size=(ROWS, SIZES[0])).astype(np.float32)
    predictors = runners(net)
    reference = net.forward(X[:256]).copy()
    differences = {name: float(np.max(np.abs(predict(X[:256]) - reference)))
                   for name, predict in predictors.items()}
    print(f"batch inference, MLP {'-'.join(map(str, SIZES))}, float32, {ROWS} rows, median of "
          f"{args.rounds} rounds (rows/s)")
    print(f"{'batch':>6} " + " ".join(f"{name:>12}" for name in predictors))
    for batch in (1, 64, 4096):
        X_run = X[:1024] if batch == 1 else X  # batch 1 is slow everywhere: fewer rows
        speeds = {name: [] for name in predictors}
        for _ in range(args.rounds):
            for name, predict in predictors.items():
                speeds[name].append(rows_per_second(predict, X_run, batch))
        print(f"{batch:>6} " + " ".join(f"{statistics.median(v):>12,.0f}"
                                        for v in speeds.values()))
    print("largest |output - numnet's| on 256 rows: " + ", ".join(
        f"{name} {value:.1e}" for name, value in differences.items() if name != "numnet"))


if __name__ == "__main__":
    main()
