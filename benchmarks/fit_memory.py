"""Peak memory of an in-memory fit against the size of its data (issue 26 item 5).

Each case runs in a fresh process: it makes the data (``--rows`` x 20 float32 features, two
classes), reads its resident memory, fits, and reads the peak (``VmHWM``, reset just before the
fit through ``/proc/self/clear_refs``). Reported: the peak over the memory before the fit (the
fit's own copies and work arrays), and ``(data + that) / data``, the multiple of the data the
process needed (goal: at most 1.5, plus the model, which is under 0.1 MB here).

Cases: ``MLPClassifier(max_iter=2)`` on float32 X; the same with ``early_stopping=True`` (a 10%
stratified validation split), with the validation pass in one forward pass (the default) and
in blocks of 8,192 rows (``validation_batch_size=8192``: the validation figures to rounding,
not bit for bit); and the default on float64 X (the network then computes in float64, as
scikit-learn's does: X is not copied, and the data are twice as large).

Usage: python benchmarks/fit_memory.py [--rows 1280000] [--epochs 2]
Linux only (``/proc``).
"""

import argparse
import json
import subprocess
import sys
import time

CASES = {
    "default": ({}, "float32"),
    "early_stopping": ({"early_stopping": True}, "float32"),
    "early_stopping, validation_batch_size=8192": (
        {"early_stopping": True, "validation_batch_size": 8192}, "float32"),
    "float64 X": ({}, "float64"),
}


def _status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(rows, epochs, case):
    import warnings

    import numpy as np

    from numnet.estimators import MLPClassifier
    params, dtype = CASES[case]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20)).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the peak so far becomes the current size
    before = _status("VmRSS")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        model = MLPClassifier(max_iter=epochs, random_state=0, **params).fit(X, y)
    seconds = time.perf_counter() - start
    extra = _status("VmHWM") - before
    model_bytes = model.network_.params.nbytes
    print(json.dumps({"data": X.nbytes, "extra": extra, "model": model_bytes,
                      "seconds": seconds}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_280_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.rows, args.epochs, args.child)
    mb = 1e6
    print(f"MLPClassifier fit, {args.rows} x 20, hidden (100,), {args.epochs} epochs: peak "
          "memory over the data (each case in a fresh process)")
    width = max(len(case) for case in CASES)
    for case in CASES:
        out = subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--epochs",
                              str(args.epochs), "--child", case],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        ratio = (r["data"] + r["extra"]) / r["data"]
        limit = 1.5 + r["model"] / r["data"]
        print(f"  {case:{width}s} data {r['data'] / mb:6.0f} MB   fit's peak over it "
              f"{r['extra'] / mb:6.0f} MB   {ratio:4.2f}x the data "
              f"({'goal met' if ratio <= limit else 'goal 1.5x MISSED'})   {r['seconds']:.1f} s")


if __name__ == "__main__":
    main()
