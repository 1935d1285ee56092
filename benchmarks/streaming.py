"""Training from a Parquet dataset larger than the memory it uses (numnet.distributed.train_stream).

Writes a synthetic logistic-regression table (``--rows`` x ``--features`` float64 columns and
a 0/1 label, row groups of ``--group-rows``) to ``--dir``, then, in a fresh process so that
its peak resident memory (``ru_maxrss``) is the training's own:

- streamed:  ``ParquetStream(..., standardize=True)`` (one streaming pass for the means and
             scales) and ``train_stream`` (SGD with momentum, ``--epochs`` epochs, a shuffle
             buffer of ``--buffer-rows`` rows), a logistic regression on every row;
- memory:    ``numnet.train`` with the same model and settings on a sample of ``--sample``
             rows (the first row groups) read into memory, standardised with the same
             statistics: what one would do without streaming;

and reports the size on disk and in memory (float64) against the streamed run's peak RSS,
its time, and the accuracy and log-loss of both models on ``--test-rows`` fresh rows.

Usage: python benchmarks/streaming.py [--rows 9000000] [--features 50] [--group-rows 50000]
                                      [--buffer-rows 100000] [--batch-size 256] [--epochs 1]
                                      [--sample 250000] [--dir /tmp/numnet_stream_bench]
                                      [--keep]
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

# Run as a script, this file's folder comes first on sys.path, and its name would shadow
# nothing here, but keep the habit of benchmarks/distributed.py.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import numpy as np  # noqa: E402

SEED = 0


def _coef(n_features):
    return np.random.default_rng(SEED).normal(size=n_features) / np.sqrt(n_features) * 3


def _rows(rng, n, n_features):
    X = rng.normal(loc=1.0, scale=2.0, size=(n, n_features))
    score = (X - 1.0) / 2.0 @ _coef(n_features) + rng.logistic(size=n) * 0.5
    return X, (score > 0).astype(np.int8)


def write_dataset(args):
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, "data.parquet")
    rng = np.random.default_rng(SEED + 1)
    names = [f"x{j}" for j in range(args.features)]
    schema = pa.schema([(n, pa.float64()) for n in names] + [("y", pa.int8())])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for start in range(0, args.rows, args.group_rows):
            X, y = _rows(rng, min(args.group_rows, args.rows - start), args.features)
            columns = [pa.array(X[:, j]) for j in range(args.features)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema),
                               row_group_size=args.group_rows)
    return path


def _net(n_features):
    from numnet import Dense, Sequential

    return Sequential([Dense(1)]).build(n_features, random_state=SEED)


def _fit_settings(args):
    from numnet.losses import BinaryCrossEntropy
    from numnet.optimizers import SGD

    return BinaryCrossEntropy(), SGD(learning_rate=0.01, momentum=0.9)


def _scores(net, X, y):
    p = 1 / (1 + np.exp(-net.forward(X)[:, 0]))
    eps = 1e-15
    loss = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
    return float(np.mean((p > 0.5) == y)), float(loss)


def child_streamed(args, path):
    """Runs in its own process: only the streamed fit, then its peak RSS."""
    from numnet.distributed import ParquetStream, train_stream

    start = time.perf_counter()
    stream = ParquetStream(path, "y", classes=[0, 1], standardize=True)
    stats_s = time.perf_counter() - start
    net = _net(stream.n_features)
    loss, optimizer = _fit_settings(args)
    train_stream(net, loss, optimizer, stream, batch_size=args.batch_size,
                 buffer_rows=args.buffer_rows, max_epochs=args.epochs, random_state=SEED)
    fit_s = time.perf_counter() - start - stats_s
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    np.save(os.path.join(args.dir, "streamed_params.npy"), net.params)
    np.save(os.path.join(args.dir, "stats.npy"), np.stack([stream.mean_, stream.scale_]))
    print(json.dumps({"peak_rss": peak, "stats_s": stats_s, "fit_s": fit_s,
                      "n_samples": stream.n_samples, "groups": len(stream.units)}))


def in_memory_sample(args, path, stats):
    import pyarrow.parquet as pq

    from numnet.training import train

    file = pq.ParquetFile(path)
    tables, n = [], 0
    for g in range(file.num_row_groups):
        if n >= args.sample:
            break
        tables.append(file.read_row_group(g))
        n += tables[-1].num_rows
    X = np.column_stack([np.concatenate([t.column(f"x{j}").to_numpy() for t in tables])
                         for j in range(args.features)])[:args.sample]
    y = np.concatenate([t.column("y").to_numpy() for t in tables])[:args.sample]
    X = (X - stats[0]) / stats[1]
    net = _net(args.features)
    loss, optimizer = _fit_settings(args)
    start = time.perf_counter()
    train(net, loss, optimizer, X, y.reshape(-1, 1).astype(float), batch_size=args.batch_size,
          max_epochs=args.epochs, random_state=SEED)
    return net, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=9_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--group-rows", type=int, default=50_000)
    parser.add_argument("--buffer-rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--sample", type=int, default=250_000)
    parser.add_argument("--test-rows", type=int, default=100_000)
    parser.add_argument("--dir", default="/tmp/numnet_stream_bench")
    parser.add_argument("--keep", action="store_true", help="keep the dataset afterwards")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = os.path.join(args.dir, "data.parquet")
    if args.child:
        child_streamed(args, path)
        return

    start = time.perf_counter()
    write_dataset(args)
    write_s = time.perf_counter() - start
    try:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"]
                             + sys.argv[1:], check=True, capture_output=True, text=True)
        report = json.loads(out.stdout.strip().splitlines()[-1])
        disk = os.path.getsize(path)
        stats = np.load(os.path.join(args.dir, "stats.npy"))
        streamed = _net(args.features)
        streamed.params[:] = np.load(os.path.join(args.dir, "streamed_params.npy"))
        memory, memory_s = in_memory_sample(args, path, stats)
        X_test, y_test = _rows(np.random.default_rng(SEED + 2), args.test_rows, args.features)
        X_test = (X_test - stats[0]) / stats[1]
        acc_s, loss_s = _scores(streamed, X_test, y_test)
        acc_m, loss_m = _scores(memory, X_test, y_test)
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)

    in_memory = args.rows * (args.features + 1) * 8
    mib = 2 ** 20
    print(f"dataset: {args.rows:,} rows x {args.features} features in {report['groups']} row "
          f"groups, {disk / mib:,.0f} MiB on disk ({in_memory / mib:,.0f} MiB as float64), "
          f"written in {write_s:.1f} s")
    print(f"streamed run: peak RSS {report['peak_rss'] / mib:,.0f} MiB (dataset on disk "
          f"{disk / report['peak_rss']:.1f}x that), statistics pass {report['stats_s']:.1f} s, "
          f"{args.epochs} epoch(s) {report['fit_s']:.1f} s, buffer {args.buffer_rows:,} rows")
    print()
    print(f"| model ({args.epochs} epoch(s), SGD momentum 0.9, batch {args.batch_size}) "
          "| rows trained on | test accuracy | test log-loss | fit time (s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| streamed, all rows | {args.rows:,} | {acc_s:.4f} | {loss_s:.4f} | "
          f"{report['fit_s']:.1f} |")
    print(f"| in memory, sample | {args.sample:,} | {acc_m:.4f} | {loss_m:.4f} | "
          f"{memory_s:.1f} |")


if __name__ == "__main__":
    main()
