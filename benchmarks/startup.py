"""Start-up time of the numnet command: what a user waits for before any data is read.

Times, in fresh processes, the wall-clock time of

- ``numnet --help``,
- ``numnet predict`` on a 1,000-row CSV with a model trained (untimed) in the set-up,
- ``python -c "import numnet"``,

interleaved over RUNS rounds, and prints the minimum (the least disturbed run on a shared
machine) and the median of each against its target, and the least CPU time (user + system) of
the process, which other work on the machine disturbs less. The commands run as
``python -m numnet`` with this interpreter, the console script's own code path. A last,
untimed run of each under ``python -X importtime`` lists the heavy packages it imported.

Usage: python benchmarks/startup.py [--runs 10] [--src DIR]

``--src DIR`` times another checkout's ``src`` folder (put first on PYTHONPATH), for example
the commit before a change: ``git archive HEAD~1 src | tar -x -C /tmp/old`` and
``--src /tmp/old/src``.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGETS = {"numnet --help": 0.3, "numnet predict (1,000 rows)": 0.8, "import numnet": None}
HEAVY = ("sklearn", "scipy", "pandas", "pyarrow", "matplotlib", "dask", "distributed", "onnx",
         "onnxruntime", "safetensors", "tqdm", "numba", "pydantic", "rich", "typer", "numpy")
ROWS = 1000


def write_table(path, rows=ROWS, seed=0):
    """A small mixed table: two numbers, one category, a binary target."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    y = (x1 + x2 + (colour == "red") > 0.5).astype(int)
    lines = ["x1,x2,colour,y"] + [f"{a:.4f},{b:.4f},{c},{t}"
                                  for a, b, c, t in zip(x1, x2, colour, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def commands(folder):
    numnet = [sys.executable, "-m", "numnet"]
    return {
        "numnet --help": numnet + ["--help"],
        "numnet predict (1,000 rows)": numnet + ["predict", str(folder / "model.numnet"),
                                                 str(folder / "data.csv"), "-o",
                                                 str(folder / "predictions.csv"), "-q"],
        "import numnet": [sys.executable, "-c", "import numnet"],
    }


def run(command, env):
    """(wall-clock seconds, CPU seconds: user + system) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_imports(command, env):
    """The heavy top-level packages ``command`` imports (one run under -X importtime)."""
    traced = [command[0], "-X", "importtime", *command[1:]]
    result = subprocess.run(traced, env=env, check=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0]
             for line in result.stderr.splitlines() if line.startswith("import time:")}
    return [name for name in HEAVY if name in names]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="rounds (default 10)")
    parser.add_argument("--src", help="time this src folder instead of the installed numnet")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(args.src).resolve()), *filter(None, [env.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_table(folder / "data.csv")
        subprocess.run([sys.executable, "-m", "numnet", "train", str(folder / "data.csv"),
                        "--target", "y", "--epochs", "3", "-o", str(folder / "model.numnet"),
                        "-q"], env=env, check=True)
        todo = commands(folder)
        times = {name: [] for name in todo}
        for command in todo.values():  # warm the file cache and .pyc files: not timed
            run(command, env)
        for _ in range(args.runs):
            for name, command in todo.items():
                times[name].append(run(command, env))
        heavy = {name: heavy_imports(command, env) for name, command in todo.items()}

    source = args.src or "installed numnet"
    print(f"start-up of numnet ({source}), seconds over {args.runs} runs (wall-clock time; "
          "CPU: user + system, less disturbed by other work on a shared machine)")
    print(f"{'command':<30} {'min':>7} {'median':>7} {'CPU min':>7} {'target':>7}  verdict")
    for name, values in times.items():
        target = TARGETS[name]
        walls, cpus = [wall for wall, _ in values], [cpu for _, cpu in values]
        best = min(walls)
        verdict = "-" if target is None else ("met" if best < target else "MISSED")
        shown = "-" if target is None else f"{target:.2f}"
        print(f"{name:<30} {best:7.3f} {statistics.median(walls):7.3f} {min(cpus):7.3f} "
              f"{shown:>7}  {verdict}")
    print("heavy packages imported:")
    for name, packages in heavy.items():
        print(f"  {name:<28} {', '.join(packages) or 'none'}")


if __name__ == "__main__":
    main()
