"""An epoch of the default tabular model against the same network in PyTorch (issue 26 item 4).

The default model of ``numnet train`` (preset ``best``, src/numnet/tabular/presets.py) is an
``MLPClassifier`` with 3 hidden layers of 256 ReLU units, Adam (beta_2 = 0.95) at 2e-3 with a
cosine schedule, batches of 256, label smoothing 0.1 and 20% of the rows held out, scored after
every epoch. Timed here on ``--rows`` x 20 float32 features, 3 classes:

- numnet: that estimator (``MLPClassifier(**preset, label_smoothing=0.1)``) fitted for
  ``--epochs`` epochs (the held-out split, the validation pass and the schedule included);
- PyTorch: the same architecture, optimizer, schedule, loss and batch size (its own init),
  on the same 80% of the rows, with the same validation pass after every epoch, written as a
  PyTorch user would (``randperm`` batches, ``CosineAnnealingLR``).

Seconds per epoch, best of ``--rounds`` interleaved rounds in one process, and the ratio
(goal: numnet at least 2x faster). Needs torch (``pip install 'numnet[bench]'``).

``--threads N`` caps both libraries' threads (BLAS's through threadpoolctl, PyTorch's
``set_num_threads``): on a shared machine one thread each gives steadier figures.

Usage: python benchmarks/default_model_epoch.py [--rows 20000] [--epochs 4] [--rounds 3]
                                               [--threads N]
"""

import argparse
import math
import time
import warnings

import numpy as np


def _data(rows):
    from sklearn.datasets import make_classification

    X, y = make_classification(rows, 20, n_informative=10, n_classes=3, random_state=0)
    return X.astype(np.float32), y


def _estimator(epochs):
    from numnet.estimators import MLPClassifier
    from numnet.tabular import presets

    params = dict(presets._MLP_PARAMS["best"])
    params.update(max_iter=epochs, n_iter_no_change=epochs, random_state=0,
                  label_smoothing=presets.LABEL_SMOOTHING)
    return MLPClassifier(**params)


def numnet_fit(X, y, epochs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        return _estimator(epochs).fit(X, y)


def torch_fit(X, y, epochs, model):
    """The same run in PyTorch; ``model``: a fitted estimator, for the split and the sizes."""
    import torch

    p = _estimator(epochs).get_params()
    rng = np.random.default_rng(0)
    n_val = math.ceil(p["validation_fraction"] * len(y))
    order = rng.permutation(len(y))
    train, val = order[n_val:], order[:n_val]
    torch.manual_seed(0)
    sizes = (X.shape[1], *p["hidden_layer_sizes"], len(model.classes_))
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=p["learning_rate_init"],
                                 betas=(p["beta_1"], p["beta_2"]), eps=p["epsilon"])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    X_t, y_t = torch.from_numpy(X[train]), torch.from_numpy(y[train])
    X_v, y_v = torch.from_numpy(X[val]), torch.from_numpy(y[val])
    generator = torch.Generator().manual_seed(0)
    batch = p["batch_size"]
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(train), generator=generator)
        for first in range(0, len(train), batch):
            index = perm[first:first + batch]
            optimizer.zero_grad()
            criterion(net(X_t[index]), y_t[index]).backward()
            optimizer.step()
        schedule.step()
        net.eval()
        with torch.no_grad():
            logits = net(X_v)
            float(criterion(logits, y_v))
            float((logits.argmax(1) == y_v).float().mean())
    return net


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("default_model_epoch: torch is not installed; skipped")
        return
    import numnet
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)

    numnet.kernels.load()  # numba's start-up out of the timing, as torch's import is
    X, y = _data(args.rows)
    model = numnet_fit(X, y, 1)  # imports and first calls out of the timing
    torch_fit(X, y, 1, model)
    best = {"numnet": math.inf, "pytorch": math.inf}
    for _ in range(args.rounds):
        for name, run in (("numnet", lambda: numnet_fit(X, y, args.epochs)),
                          ("pytorch", lambda: torch_fit(X, y, args.epochs, model))):
            start = time.perf_counter()
            run()
            best[name] = min(best[name], (time.perf_counter() - start) / args.epochs)
    ratio = best["pytorch"] / best["numnet"]
    threads = "default threads" if args.threads is None else f"{args.threads} thread(s) each"
    print(f"default tabular model (20-256-256-256-3, batch 256, Adam, label smoothing, 20% "
          f"validation), {args.rows} rows, best of {args.rounds}, {threads}:")
    print(f"  numnet   {best['numnet']:7.3f} s/epoch")
    print(f"  pytorch  {best['pytorch']:7.3f} s/epoch   numnet {ratio:4.2f}x faster "
          f"({'goal met' if ratio >= 2 else 'goal 2x MISSED'})")


if __name__ == "__main__":
    main()
