"""Mutation testing of numnet's math (``make mutate``): each module against its own tests.

For every module in MODULES, mutmut (the ``mutate`` extra) changes one operator, constant or
argument at a time and runs the tests that cover the changed function; a mutant that no test
fails on "survives". Each module runs in its own copy of the tree, build/mutate/<name>/, with
the shared settings of ``[tool.mutmut]`` in pyproject.toml plus that module's own test files
(and its doctests), so a module's score says what its own tests pin down, not what a distant
end-to-end test happens to notice. Modules run one after another, never two at once.

Survivors that change nothing observable are listed, with the reason, in
tests/mutants_equivalent.md; the table printed at the end counts them apart, and every other
survivor is printed with its diff. The exit status is 1 if any mutant is neither killed nor
listed there (a survivor, or a mutant no test ran).

Usage::

    python tools/mutate.py                       # every module (about half an hour on 2 cores)
    python tools/mutate.py losses optimizers     # some of them
    python tools/mutate.py --max-children 1 functional
    python tools/mutate.py --rev HEAD losses     # the last commit, not the working tree

Run it under ``nice`` on a shared machine: ``make mutate`` does.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutate"
EQUIVALENT = ROOT / "tests" / "mutants_equivalent.md"

#: module (under src/numnet) -> the test files that exercise it; its doctests run too.
MODULES = {
    "functional": ["tests/test_functional.py"],
    "layers": ["tests/test_layers.py"],
    "losses": ["tests/test_losses.py"],
    "regularizers": ["tests/test_regularizers.py"],
    "network": ["tests/test_network.py"],
    "optimizers": ["tests/test_optimizers.py"],
    "schedules": ["tests/test_optimizers.py"],
    "objective": ["tests/test_network.py", "tests/test_regularizers.py",
                  "tests/test_gradcheck.py"],
    "gradcheck": ["tests/test_gradcheck.py"],
    "privacy/gradients": ["tests/test_privacy.py"],
    "privacy/accounting": ["tests/test_privacy_accounting.py", "tests/test_refusals.py"],
    "explain/methods": ["tests/test_explain.py"],
}
#: copied into each work tree beside src/ (mutmut itself copies tests/ and pyproject.toml)
COPIED = ["src", "tests", "conftest.py", "pyproject.toml"]


def _module_settings(module):
    """The keys one module adds to ``[tool.mutmut]``: what to mutate, which tests to run."""
    source = f"src/numnet/{module}.py"
    tests = ", ".join(json.dumps(path) for path in MODULES[module] + [source])
    return (f"only_mutate = [{json.dumps(source)}]\n"
            f"pytest_add_cli_args_test_selection = [{tests}]\n")


def _work_tree(module, rev=None):
    """A fresh copy of the tree for one module, its pyproject.toml carrying that module's table.

    The working tree's files, or with ``rev`` those of that commit (``git archive``): a
    commit stays the same while others edit the working tree.
    """
    work = WORK / module.replace("/", ".")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if rev is not None:
        archive = subprocess.run(["git", "archive", rev, *COPIED], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    for name in COPIED if rev is None else []:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, work / name)
    pyproject = work / "pyproject.toml"
    text, n = re.subn(r"(?m)^\[tool\.mutmut\]\n", lambda m: m.group(0) + _module_settings(module),
                      pyproject.read_text())
    if n != 1:
        raise SystemExit("pyproject.toml needs one [tool.mutmut] table (the shared settings).")
    pyproject.write_text(text)
    return work


def _mutmut(work, *args, capture=False):
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    return subprocess.run(command, cwd=work, check=False, text=True,
                          capture_output=capture)


def equivalent_mutants():
    """Mutant names listed in tests/mutants_equivalent.md (first column, in backticks)."""
    if not EQUIVALENT.exists():
        return set()
    return set(re.findall(r"^\| `([\w.]+__mutmut_\d+)`", EQUIVALENT.read_text(), re.M))


def run_module(module, max_children, rev=None):
    """Run mutmut on one module; return its row of the table and the mutants left unexplained.

    Unexplained: survivors not listed as equivalent, and mutants that no test ran or that
    timed out (all of them when the module's tests fail without any mutant).
    """
    work = _work_tree(module, rev)
    print(f"\n=== {module}: mutmut against {' '.join(MODULES[module])} + doctests", flush=True)
    _mutmut(work, "run", "--max-children", str(max_children))
    _mutmut(work, "export-cicd-stats", capture=True)
    stats_file = work / "mutants" / "mutmut-cicd-stats.json"
    if not stats_file.exists():
        return {"module": module, "error": "mutmut did not finish"}, []
    stats = json.loads(stats_file.read_text())
    listing = _mutmut(work, "results", capture=True).stdout
    survivors = re.findall(r"^\s*([\w.]+__mutmut_\d+): survived", listing, re.M)
    others = re.findall(r"^\s*([\w.]+__mutmut_\d+): (?!survived)(.+)$", listing, re.M)
    listed = equivalent_mutants()
    unexplained = [name for name in survivors if name not in listed]
    for name in unexplained:
        print(_mutmut(work, "show", name, capture=True).stdout, flush=True)
    for name, status in others:
        print(f"    {name}: {status}")
        unexplained.append(name)
    (work / "survivors.txt").write_text("".join(f"{name}\n" for name in survivors))
    row = {
        "module": module, "mutants": stats["total"], "killed": stats["killed"],
        "survived": stats["survived"], "equivalent": len(set(survivors) & listed),
        "other": stats["total"] - stats["killed"] - stats["survived"],
    }
    return row, unexplained


def print_table(rows):
    """Per module: mutants, killed, survived (of which listed as equivalent), score."""
    print(f"\n{'module':<20} {'mutants':>7} {'killed':>7} {'survived':>8} {'equiv.':>6} "
          f"{'other':>5} {'score':>7} {'score*':>7}")
    for row in rows:
        if "error" in row:
            print(f"{row['module']:<20} {row['error']}")
            continue
        total = row["mutants"] or 1
        score = 100 * row["killed"] / total
        # score*: killed out of the mutants that are not equivalent
        adjusted = 100 * row["killed"] / max(total - row["equivalent"], 1)
        print(f"{row['module']:<20} {row['mutants']:>7} {row['killed']:>7} "
              f"{row['survived']:>8} {row['equivalent']:>6} {row['other']:>5} "
              f"{score:>6.1f}% {adjusted:>6.1f}%")
    print("score = killed / mutants; score* leaves out the survivors listed as equivalent in "
          "tests/mutants_equivalent.md; other = timeouts, no tests, suspicious, segfaults.")


def main(argv=None):
    """Run the modules named on the command line (default: all), print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"modules to mutate (default: all of {', '.join(MODULES)})")
    parser.add_argument("--max-children", type=int, default=2,
                        help="parallel test processes of mutmut (default: 2)")
    parser.add_argument("--rev", help="mutate and test this commit's files instead of the "
                        "working tree's (e.g. HEAD, where others edit the same tree)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.modules if name not in MODULES]
    if unknown:
        parser.error(f"MODULE must be one of {', '.join(MODULES)}, got {unknown[0]!r}.")
    rows, unexplained = [], []
    for module in args.modules or list(MODULES):
        row, names = run_module(module, args.max_children, args.rev)
        rows.append(row)
        unexplained += names
        print_table(rows)
    if unexplained:
        print(f"\n{len(unexplained)} mutant(s) neither killed nor listed in "
              "tests/mutants_equivalent.md: " + ", ".join(unexplained))
    return 1 if unexplained or any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
