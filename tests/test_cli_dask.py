"""``numnet train DATA --scheduler ADDRESS | --workers N``: the same model file as in memory.

A folder of Parquet files and a glob of CSV files, trained on a small LocalCluster: the
preprocessing state equals the in-memory fit's on the same training rows exactly, the
coefficients of an L-BFGS fit equal the in-memory ones to 1e-8, and ``numnet predict`` with the
two models gives the same predictions. Then every refusal, with its exact line.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import numnet as nn
from installed import COMMAND, HANG_TIMEOUT
from installed import run_cli as cli
from numnet.tabular import TabularPreprocessor, read_tables, regression_metrics
from numnet.tabular.cluster import held_out
from numnet.tabular.fitting import _target_scaler

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")
pytest.importorskip("pyarrow")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SIZES = (100, 230, 150)  # uneven files on purpose


def table(seed=0):
    n = sum(SIZES)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x": rng.normal(size=n).round(6),
        "count": rng.integers(0, 7, n),
        "city": rng.choice(["oslo", "rome", "paris", "lima"], n),
        "member": rng.random(n) > 0.4,
        "const": np.full(n, 3),
        "w": rng.uniform(0.5, 2.0, n).round(4),
    })
    frame.loc[[7, 250], "x"] = np.nan
    frame.loc[300, "city"] = None
    signal = frame["x"].fillna(0) + (frame["city"] == "rome") - 0.3 * frame["count"]
    frame["price"] = (10 + 3 * signal + rng.normal(0, 0.5, n)).round(3)
    frame["label"] = np.where(signal + rng.normal(0, 0.7, n) > -0.5, "up", "down")
    return frame


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    frame = table()
    (folder / "pq").mkdir()
    (folder / "csv").mkdir()
    start = 0
    for index, size in enumerate(SIZES):
        part = frame.iloc[start:start + size]
        part.to_parquet(folder / "pq" / f"part-{index}.parquet", index=False)
        part.to_csv(folder / "csv" / f"part-{index}.csv", index=False)
        start += size
    (folder / "odd").mkdir()
    frame[["x", "label"]].to_csv(folder / "odd" / "a.csv", index=False)
    frame[["x", "count", "label"]].to_csv(folder / "odd" / "b.csv", index=False)
    (folder / "types").mkdir()
    frame[["count", "label"]].iloc[:100].to_csv(folder / "types" / "a.csv", index=False)
    frame[["count", "label"]].iloc[100:].assign(count=lambda f: f["count"].where(
        f.index != 120)).to_csv(folder / "types" / "b.csv", index=False)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"tags": pa.array([["a"], ["b"]] * 20), "x": np.arange(40.0),
                             "label": ["u", "d"] * 20}), folder / "tags.parquet")
    (folder / "mixed").mkdir()  # 'x' numbers in one Parquet file, text in the other
    frame[["x", "label"]].iloc[:240].to_parquet(folder / "mixed" / "a.parquet", index=False)
    frame[["x", "label"]].iloc[240:].assign(x=lambda f: [f"t{i}" for i in range(len(f))]) \
        .to_parquet(folder / "mixed" / "b.parquet", index=False)
    (folder / "ids").mkdir()
    rng = np.random.default_rng(1)
    shuffled = rng.permutation(len(frame))
    ids = frame.assign(id=np.arange(1, len(frame) + 1), ticket=shuffled,
                       code=[f"c{i:04d}" for i in shuffled])[
        ["id", "ticket", "code", "x", "label"]]
    ids.loc[[3, 200], "label"] = None
    start = 0
    for index, size in enumerate(SIZES):
        ids.iloc[start:start + size].to_parquet(folder / "ids" / f"{index}.parquet",
                                                index=False)
        start += size
    (folder / "money").mkdir()
    frame.assign(cost=[f"${v:,.2f}" for v in frame["count"] * 1000.5])[
        ["cost", "label"]].to_csv(folder / "money" / "a.csv", index=False)
    (folder / "dates").mkdir()
    frame.assign(day="2024-01-31")[["x", "day", "label"]].to_csv(folder / "dates" / "a.csv",
                                                                 index=False)
    return folder


@pytest.fixture(scope="module")
def scheduler():
    """The address of a small LocalCluster (threads: fast to start), shared by the module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False):
        yield cluster.scheduler_address


@pytest.fixture
def here(folder, monkeypatch):
    monkeypatch.chdir(folder)
    return folder


def relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# --- the same model as in memory --------------------------------------------------------------


def test_workers_on_a_parquet_folder_write_the_in_memory_model(here, capsys):
    # --validation-fraction 0: both runs fit on every row, so the files must agree in full.
    args = ["pq", "-t", "label", "--model", "logistic", "--impute", "mean",
            "--sample-weight", "w", "--exclude", "price", "--validation-fraction", "0", "-q"]
    assert cli(capsys, "train", *args, "-o", "cluster.numnet", "--workers", 2)[0] == 0
    assert cli(capsys, "train", *args, "-o", "memory.numnet")[0] == 0
    cluster, memory = nn.load("cluster.numnet"), nn.load("memory.numnet")
    state, expected = cluster.get_state(), memory.get_state()
    assert state["preprocessor"] == expected["preprocessor"]  # bit for bit
    assert [c["name"] for c in state["preprocessor"]["columns"]] == [
        "x", "count", "city", "member"]  # const dropped, as in memory
    history, expected_history = state["info"].pop("history"), expected["info"].pop("history")
    spec, expected_spec = state["info"].pop("spec"), expected["info"].pop("spec")
    assert state == expected
    assert history["epochs"] == expected_history["epochs"]
    assert {**expected_spec, "workers": 2} == spec  # the runs differ only in their cluster
    assert relative(cluster.estimator.coef_, memory.estimator.coef_) < 1e-8
    assert relative(cluster.estimator.intercept_, memory.estimator.intercept_) < 1e-8

    assert cli(capsys, "predict", "cluster.numnet", "pq", "--proba", "-o", "c.csv")[0] == 0
    assert cli(capsys, "predict", "memory.numnet", "pq", "--proba", "-o", "m.csv")[0] == 0
    ours, theirs = pd.read_csv("c.csv"), pd.read_csv("m.csv")
    assert ours["prediction"].tolist() == theirs["prediction"].tolist()
    np.testing.assert_allclose(ours["proba_up"], theirs["proba_up"], rtol=0, atol=1e-8)


def test_a_csv_glob_with_a_held_out_split(here, scheduler, capsys):
    # The split is the documented row hash: the state equals the in-memory fit on those rows.
    code, _, err = cli(capsys, "train", "csv/part-*.csv", "-t", "price", "--model", "linear",
                       "--solver", "lbfgs", "--exclude", "label", "--impute", "most_frequent",
                       "--validation-fraction", "0.25", "--seed", "3", "-o", "linear.numnet",
                       "--scheduler", scheduler)
    assert code == 0, err
    frame = read_tables("csv/part-*.csv")
    columns = ["x", "count", "city", "member", "const", "w"]
    held = held_out(frame, [*columns, "price"], 0.25, 3)
    assert 0.15 < held.mean() < 0.35
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = TabularPreprocessor(impute="most_frequent").fit(frame[~held], columns)
    model = nn.load("linear.numnet")
    assert model.preprocessor.get_state() == expected.get_state()
    assert model.target_scaler == _target_scaler(frame["price"].to_numpy()[~held], "price")
    assert (model.info["n_train"], model.info["n_validation"]) == (
        int((~held).sum()), int(held.sum()))
    metrics = regression_metrics(frame["price"].to_numpy()[held], model.predict(frame[held]))
    assert model.info["metrics"] == pytest.approx(metrics, rel=1e-12)
    shown = [line for line in err.splitlines() if line.startswith("warning: column")]
    assert shown == [f"warning: {w.message}" for w in caught]
    assert f"Training LinearRegression (regression) on {(~held).sum()} rows, {held.sum()} " \
           "held out for validation, data-parallel on the Dask cluster." in err


def test_an_mlp_classifier_on_the_cluster(here, scheduler, capsys):
    code, out, _ = cli(capsys, "train", "pq", "-t", "label", "--impute", "mean", "--hidden",
                       "4", "--epochs", "3", "--batch-size", "64", "--json", "-o", "mlp.numnet",
                       "--scheduler", scheduler)
    assert code == 0
    import json

    report = json.loads(out)
    assert report["estimator"] == "MLPClassifier"
    assert report["n_train"] + report["n_validation"] == sum(SIZES)
    assert set(report["metrics"]) == {"accuracy", "balanced_accuracy", "f1", "log_loss"}
    model = nn.load("mlp.numnet")
    assert len(model.estimator.history_.loss) == 3
    assert list(model.classes_) == ["down", "up"]


def test_a_run_cut_short_on_the_cluster_names_epochs_not_max_iter(here, scheduler, capsys):
    """Issue 24: the advice names the command line's options on a cluster too."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("always", ConvergenceWarning)  # over the module's "ignore"
    code, _, err = cli(capsys, "train", "pq", "-t", "label", "--impute", "mean", "--hidden",
                       "4", "--epochs", "3", "--batch-size", "64", "-o", "short.numnet",
                       "--scheduler", scheduler)
    assert code == 0
    assert ("warning: training reached --epochs 3 while the loss was still improving. Pass "
            "more --epochs (e.g. --epochs 6).\n") in err
    assert "max_iter" not in err


def test_warnings_and_dropped_rows_as_in_memory(here, scheduler, capsys):
    # Row numbers (files in order: settled from the ranges), shuffled ids (a second small
    # pass), text ids, rows without a label dropped: the same lines and the same file.
    args = ["train", "ids", "-t", "label", "--model", "logistic", "--impute", "mean",
            "--drop-missing-target", "--validation-fraction", "0"]
    code, _, err = cli(capsys, *args, "-o", "ids-cluster.numnet", "--scheduler", scheduler)
    assert code == 0, err
    code, _, memory = cli(capsys, *args, "-o", "ids-memory.numnet")
    assert code == 0

    def lines(text):
        return [line for line in text.splitlines()
                if line.startswith(("warning:", "Dropped"))]

    assert lines(err) == lines(memory)
    assert [line.split(" (its")[0] for line in lines(err)] == [
        "Dropped 2 row(s) with a missing 'label'.", "warning: column 'id' looks like a row number",
        "warning: column 'ticket' looks like a row number",
        "warning: column 'code' looks like an identifier"]
    assert (nn.load("ids-cluster.numnet").preprocessor.get_state()
            == nn.load("ids-memory.numnet").preprocessor.get_state())


def test_numbers_written_as_text_are_refused_on_the_cluster(here, scheduler, capsys):
    code, _, err = cli(capsys, "train", "money", "-t", "label", "-o", "m.numnet",
                       "--scheduler", scheduler)
    assert (code, err) == (2, "error: column 'cost' holds numbers written as text (e.g. "
                              "'$1,000.50'), which the data-parallel path does not convert yet. "
                              "Write them as plain numbers, or train without "
                              "--scheduler/--workers.\n")


def test_a_class_held_out_entirely_is_an_error(here, scheduler, capsys):
    # 'up' is rare here; with a large held-out share one seed puts all its rows there
    for seed in range(200):
        frame = pd.DataFrame({"x": np.arange(40.0), "label": ["up"] + ["down"] * 39})
        held = held_out(frame, ["x", "label"], 0.5, seed)
        if held[0]:
            break
    frame.to_csv("rare.csv", index=False)
    code, _, err = cli(capsys, "train", "rare.csv", "-t", "label", "-o", "m.numnet",
                       "--validation-fraction", "0.5", "--seed", seed, "--scheduler", scheduler)
    assert (code, err) == (2, "warning: class 'up' of target column 'label' has only 1 row; it "
                              "is kept for training, so the validation metrics cannot cover "
                              "it.\nerror: class 'up' of target column 'label' has all its "
                              "1 row(s) in the held-out split (a hash of each row), so the "
                              "model could not learn it. Pass another --seed, a smaller "
                              "--validation-fraction, or 0.\n")


# --- refusals ---------------------------------------------------------------------------------


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REFUSALS = {
    "both flags": (["pq", "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"],
                   "--scheduler and --workers exclude each other: connect to a running cluster "
                   "(--scheduler ADDRESS) or start one on this machine (--workers N), not both."),
    "no workers": (["pq", "--workers", "0"], "--workers must be an integer >= 1, got 0."),
    "bad address": (["pq", "--scheduler", "nowhere:abc"],
                    "--scheduler must be an address such as tcp://host:8786, got 'nowhere:abc' "
                    "(invalid literal for int() with base 10: 'abc')."),
    "empty glob": (["nothing/*.parquet", "--workers", "2"],
                   "DATA matched no files: 'nothing/*.parquet'. Check the folder and the pattern "
                   "(quote it, so that the shell does not expand it)."),
    "different columns": (["odd", "--workers", "2"],
                          "the files of 'odd' must have the same columns, got 'x', 'count', "
                          "'label' in 'b.csv' but 'x', 'label' in 'a.csv'. Give every file the "
                          "same header, or pass one file."),
    "different columns in memory": (["odd/*.csv"],
                                    "the files of 'odd/*.csv' must have the same columns, got "
                                    "'x', 'count', 'label' in 'b.csv' but 'x', 'label' in "
                                    "'a.csv'. Give every file the same header, or pass one "
                                    "file."),
    "parquet types": (["mixed", "--workers", "1", "--impute", "mean"],
                      "the files of 'mixed' must give each column one type, got text for 'x' in "
                      "'b.parquet' but numbers in 'a.parquet'. Write 'x' with the same type in "
                      "every file, or pass one file."),
    "parquet types in memory": (["mixed/*.parquet", "--impute", "mean"],
                                "the files of 'mixed/*.parquet' must give each column one type, "
                                "got text for 'x' in 'b.parquet' but numbers in 'a.parquet'. "
                                "Write 'x' with the same type in every file, or pass one file."),
    "list column": (["tags.parquet", "--workers", "1"],  # was a traceback from the row hash
                    "column 'tags' must hold numbers or strings, got list values (e.g. "
                    "array(['a'], dtype=object)). Leave it out with --exclude, or flatten it into "
                    "plain columns."),
    "stdin": (["-", "--workers", "2"],
              "DATA must be a file, folder or glob with --scheduler or --workers, got - (the "
              "workers cannot read stdin). Save the table to a file."),
    "checkpoint lbfgs": (["pq", "--workers", "2", "--checkpoint-dir", "run", "--model",
                          "logistic"],
                         "--checkpoint-dir does not work with --solver lbfgs (the default of "
                         "--model logistic): L-BFGS cannot be resumed mid-run. Pass --solver "
                         "gd."),
    "dropout": (["pq", "--workers", "2", "--dropout", "0.1"],
                "--dropout does not work with --scheduler or --workers yet: each worker's copy "
                "of the network would draw the same mask. Leave out --dropout, or train in "
                "memory (without --scheduler or --workers)."),
    "early stopping": (["pq", "--workers", "2", "--early-stopping"],
                       "--early-stopping does not work with --scheduler or --workers yet: the "
                       "stopping split would be drawn from rows on the workers. Train for a "
                       "fixed --epochs, or in memory (without --scheduler or --workers)."),
    "median": (["pq", "--workers", "2", "--impute", "median"],
               "--impute median does not work with --scheduler or --workers yet: an exact "
               "median needs the whole column in one place. Pass --impute mean or "
               "most_frequent, or train in memory (without --scheduler or --workers)."),
    "private": (["pq", "--workers", "2", "--dp-epsilon", "1"],
                "--dp-epsilon does not work with --scheduler or --workers yet: private training "
                "runs in one process. Train in memory (without --scheduler or --workers)."),
    "solver": (["pq", "--workers", "2", "--model", "logistic", "--solver", "adam"],
               "--solver adam does not work with --scheduler or --workers and --model logistic "
               "yet: pass one of gd, lbfgs, or train in memory."),
}


# Refusals that the workers find reading the files (a list column, found by the row hash): the
# cluster starts, but no training.
FOUND_BY_THE_WORKERS = {"list column"}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_before_any_work(case, here, capsys, monkeypatch):
    args, line = REFUSALS[case]
    started = []  # no cluster is started or contacted (was: the refusal came within 5 s)
    if case not in FOUND_BY_THE_WORKERS:
        for name in ("LocalCluster", "Client", "comm.connect"):
            monkeypatch.setattr(f"distributed.{name}",
                                lambda *a, name=name, **k: started.append(name))
    code, out, err = cli(capsys, "train", *args, "-t", "label", "-o", "m.numnet")
    assert (code, out, err) == (2, "", f"error: {line}\n")
    assert started == []
    assert not (here / "m.numnet").exists()


def test_missing_indicators_and_robust_scaling_are_refused_on_a_cluster(here, capsys):
    # medians and quartiles: the cluster's exact sums do not give them
    import dask.dataframe as dd

    from numnet.tabular import SpecError
    from numnet.tabular.cluster_fitting import train_pipeline_dask

    frame = dd.from_pandas(table(), npartitions=2)
    with pytest.raises(SpecError) as caught:  # refused before a client is looked for
        train_pipeline_dask(frame, target="label", impute="indicator", scaling="robust")
    flags = caught.value.render(lambda name: "--" + name.replace("_", "-"))
    assert flags == (
        "2 problems: (1) --impute indicator does not work with --scheduler or --workers yet: "
        "its fill is an exact median, which needs the whole column in one place. Pass "
        "--impute mean or most_frequent, or train in memory (without --scheduler or "
        "--workers). (2) --scaling robust does not work with --scheduler or --workers yet: "
        "its quartiles need the whole column in one place. Leave out --scaling, or train in "
        "memory (without --scheduler or --workers).")
    code, out, err = cli(capsys, "train", "pq", "-t", "label", "-o", "m.numnet", "--workers",
                         1, "--impute", "indicator", "-q")
    assert (code, out) == (2, "")
    assert err == ("error: --impute indicator does not work with --scheduler or --workers "
                   "yet: its fill is an exact median, which needs the whole column in one "
                   "place. Pass --impute mean or most_frequent, or train in memory (without "
                   "--scheduler or --workers).\n")
    assert not (here / "m.numnet").exists()


def test_without_the_dask_extra_one_line_says_what_to_install(here, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    code, out, err = cli(capsys, "train", "pq", "-t", "label", "-o", "m.numnet", "--workers", 2)
    assert (code, out, err) == (2, "", "error: --scheduler or --workers needs Dask: pip install "
                                       "'numnet[dask]'.\n")


def test_an_unreachable_scheduler_is_one_line(here, capsys):
    import dask

    address = f"tcp://127.0.0.1:{_free_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}):
        code, out, err = cli(capsys, "train", "pq", "-t", "label", "-o", "m.numnet",
                             "--scheduler", address)
    assert (code, out) == (2, "")
    assert err == (f"error: Cannot reach the Dask scheduler at {address!r}: no Dask scheduler "
                   "answered within 0.5 s. Check the address, and that the scheduler is "
                   "running (dask scheduler).\n")


class _Server:
    """A TCP server on 127.0.0.1 that is not a Dask scheduler: it answers every request with
    an HTTP 400 (as a web server does to bytes it cannot parse), or accepts and never answers.
    """

    def __init__(self, answer):
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.answer, self.held = answer, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            self.held.append(conn)
            if self.answer:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                conn.close()

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("answer", [True, False], ids=["http", "silent"])
def test_a_server_that_is_not_a_dask_scheduler_is_one_line(here, answer):
    # Dask reads an HTTP reply's first bytes as a frame length (3 EiB: MemoryError), and waits
    # forever for a handshake from a server that never answers; both end with one line, the
    # silent one after the connect timeout (set low here through Dask's environment variable).
    server = _Server(answer)
    try:
        done = subprocess.run(
            [*COMMAND, "train", "pq", "-t", "label", "-o", "m.numnet", "--scheduler",
             server.address], cwd=here, capture_output=True, text=True, timeout=HANG_TIMEOUT,
            env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    finally:
        server.close()
    if answer:
        line = (f"error: --scheduler must be the address of a Dask scheduler, got "
                f"{server.address!r}: the server there answered, but not in Dask's protocol. "
                "Check the host and port (dask scheduler prints its address).\n")
    else:
        line = (f"error: Cannot reach the Dask scheduler at {server.address!r}: no Dask "
                "scheduler answered within 2 s. Check the address, and that the scheduler is "
                "running (dask scheduler).\n")
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line)
    assert not (here / "m.numnet").exists()


def test_too_many_workers_are_refused_before_any_starts(here):
    from numnet.tabular.dask_client import available_cores

    cores = available_cores()
    done = subprocess.run([*COMMAND, "train", "pq", "-t", "label", "-o", "m.numnet",
                           "--workers", "1000"], cwd=here, capture_output=True, text=True,
                          timeout=HANG_TIMEOUT)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", f"error: --workers must be at most the number of CPU cores of this machine "
               f"({cores}), got 1000. Pass --workers {cores} or fewer, or start a cluster on "
               "several machines and pass --scheduler ADDRESS.\n")
    assert not (here / "m.numnet").exists()


def test_dates_are_refused_on_the_cluster(here, scheduler, capsys):
    code, out, err = cli(capsys, "train", "dates", "-t", "label", "-o", "m.numnet",
                         "--exclude", "x", "--scheduler", scheduler)
    assert (code, out, err) == (
        2, "", "error: column 'day' holds dates, which the data-parallel path (--scheduler, "
               "--workers) does not preprocess yet. Leave it out with --exclude day, or train "
               "without --scheduler/--workers.\n")


def test_csv_files_whose_types_differ(here, scheduler, capsys):
    # dask reads the column types from the first file's first rows; b.csv has a missing count
    code, out, err = cli(capsys, "train", "types", "-t", "label", "-o", "m.numnet",
                         "--impute", "mean", "--scheduler", scheduler)
    assert (code, out, err) == (
        2, "", "error: Cannot read 'types' as CSV on the cluster: the column types dask inferred "
               "from the first rows do not fit later rows ('count'). Give every file the same "
               "column types (e.g. no missing value in an integer column), or train without "
               "--scheduler/--workers.\n")


def test_missing_values_are_named_with_their_row_through_the_files(here, scheduler, capsys):
    # Row 251 is in the second file: rows are numbered as in the files concatenated.
    code, _, err = cli(capsys, "train", "pq", "-t", "label", "-o", "m.numnet", "--scheduler",
                       scheduler)
    fix = "Fill or drop them, or pass --impute mean|median|most_frequent."
    assert (code, err) == (2, f"error: 2 problems: (1) column 'x' has 2 missing value(s), the "
                              f"first at row 8. {fix} (2) column 'city' has 1 missing value(s), "
                              f"the first at row 301. {fix}\n")  # every column at once
    code, _, err = cli(capsys, "train", "pq", "-t", "label", "-o", "m.numnet", "--features",
                       "city", "--scheduler", scheduler)
    assert err == ("error: column 'city' has 1 missing value(s), the first at row 301. Fill or "
                   "drop them, or pass --impute mean|median|most_frequent.\n")
    # in memory the same refusal comes with --impute none, and offers the indicator too
    code, _, memory = cli(capsys, "train", "pq", "-t", "label", "-o", "m.numnet", "--features",
                          "city", "--impute", "none")
    assert memory == err.replace("--impute mean|", "--impute indicator|mean|")


# --- checkpoints ---------------------------------------------------------------------------------


def test_an_interrupted_cluster_run_resumes_bit_for_bit(here, scheduler, capsys, monkeypatch):
    from numnet.cli.progress import _Progress

    args = ["train", "pq", "-t", "label", "--impute", "mean", "--hidden", "4", "--epochs", "4",
            "--batch-size", "64", "--learning-rate", "0.01", "-q", "--scheduler", scheduler]
    assert cli(capsys, *args, "-o", "whole.numnet")[0] == 0
    original = _Progress.__call__

    def interrupt(self, epoch, history, holdout):
        original(self, epoch, history, holdout)
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the step ends, the state is saved

    monkeypatch.setattr(_Progress, "__call__", interrupt)
    code, out, err = cli(capsys, *args, "-o", "resumed.numnet", "--checkpoint-dir", "ckpt")
    assert (code, out) == (130, "")
    assert err.startswith("interrupted by SIGINT in epoch 3: the training state is saved in "
                          "ckpt/checkpoint.numnet. Resume with: numnet train pq")
    assert not (here / "resumed.numnet").exists()
    monkeypatch.setattr(_Progress, "__call__", original)
    code, _, err = cli(capsys, *args, "-o", "resumed.numnet", "--checkpoint-dir", "ckpt",
                       "--resume")
    assert code == 0, err
    whole, resumed = nn.load("whole.numnet"), nn.load("resumed.numnet")
    np.testing.assert_array_equal(resumed.estimator.network_.params,
                                  whole.estimator.network_.params)
    assert resumed.info["metrics"] == whole.info["metrics"]
    # other data: refused after the pass, before any training
    code, _, err = cli(capsys, *args[:1], "csv/part-0.csv", *args[2:], "-o", "other.numnet",
                       "--checkpoint-dir", "ckpt", "--resume")
    assert (code, err) == (2, "error: --resume needs the data of the interrupted run, but "
                              "'csv/part-0.csv' has changed since the checkpoint was written.\n")


def test_a_data_file_deleted_during_the_run_is_one_line_and_the_run_resumes(here, scheduler,
                                                                           capsys, monkeypatch):
    # The workers read the files in every pass: one deleted in epoch 1 is missed when the
    # held-out rows are scored. One line, no model; the training state is in the checkpoint,
    # and with the file back, --resume ends as an uninterrupted run.
    import shutil

    from numnet.cli.progress import _Progress

    shutil.copytree("pq", "gone", dirs_exist_ok=True)
    args = ["train", "gone", "-t", "label", "--impute", "mean", "--hidden", "4", "--epochs", "3",
            "--batch-size", "64", "-q", "--scheduler", scheduler]
    assert cli(capsys, *args, "-o", "whole.numnet")[0] == 0
    original = _Progress.__call__
    kept = (here / "gone" / "part-1.parquet").read_bytes()

    def delete(self, epoch, history, holdout):
        original(self, epoch, history, holdout)
        if epoch == 1:
            os.remove(os.path.join("gone", "part-1.parquet"))

    monkeypatch.setattr(_Progress, "__call__", delete)
    code, out, err = cli(capsys, *args, "-o", "m.numnet", "--checkpoint-dir", "deleted")
    monkeypatch.setattr(_Progress, "__call__", original)
    assert (code, out, err) == (
        2, "", "error: Cannot read 'gone/part-1.parquet': no such file (it was deleted or moved "
               "during the run). The training state is saved in deleted/checkpoint.numnet: put "
               "the file back and run the same command with --resume.\n")
    assert not (here / "m.numnet").exists()
    (here / "gone" / "part-1.parquet").write_bytes(kept)
    code, _, err = cli(capsys, *args, "-o", "m.numnet", "--checkpoint-dir", "deleted",
                       "--resume")
    assert code == 0, err
    np.testing.assert_array_equal(nn.load("m.numnet").estimator.network_.params,
                                  nn.load("whole.numnet").estimator.network_.params)
    # without a checkpoint: the same line, without one to resume from
    monkeypatch.setattr(_Progress, "__call__", delete)
    code, out, err = cli(capsys, *args, "-o", "m2.numnet")
    assert (code, out, err) == (
        2, "", "error: Cannot read 'gone/part-1.parquet': no such file (it was deleted or moved "
               "during the run). Put it back and train again.\n")


# --- a scheduler that goes away ----------------------------------------------------------------


def test_a_scheduler_that_goes_away_is_one_line_and_the_run_resumes(here, scheduler, capsys,
                                                                     monkeypatch):
    # A real scheduler process (one worker process) killed in epoch 2: one line, exit 2, the
    # state from before the failed step saved; the same command with --resume, on another
    # cluster, ends with the parameters of an uninterrupted run.
    import dask

    from numnet.cli.progress import _Progress

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--dashboard-address", ":0", "--no-show"], **quiet)
    worker = None
    (here / "m.numnet").unlink(missing_ok=True)  # an earlier test's model in the shared folder
    args = ["train", "pq", "-t", "label", "--impute", "mean", "--hidden", "4", "--epochs", "3",
            "--batch-size", "64", "-q", "-o", "m.numnet", "--checkpoint-dir", "lost"]
    try:
        deadline = time.monotonic() + HANG_TIMEOUT  # only against a hang
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
             "--no-dashboard", "--no-nanny"], **quiet)
        original = _Progress.__call__

        def kill(self, epoch, history, holdout):
            original(self, epoch, history, holdout)
            if epoch == 1:
                process.kill()
                process.wait()

        monkeypatch.setattr(_Progress, "__call__", kill)
        with dask.config.set({"distributed.comm.timeouts.connect": "3s"}):
            code, out, err = cli(capsys, *args, "--scheduler", address)
        monkeypatch.setattr(_Progress, "__call__", original)
        assert (code, out) == (2, "")
        assert re.fullmatch(
            re.escape(f"error: The Dask scheduler at {address} went away during data-parallel "
                      "training (") + r"\w+" + re.escape(
                "); the fit stopped. Start the scheduler (and its workers) again and rerun the "
                "fit. The training state from before the failed step is saved in "
                "lost/checkpoint.numnet: once a scheduler is back, run the same command with "
                "--resume.") + "\n", err), err
        assert not (here / "m.numnet").exists()
    finally:
        for running in (process, worker):
            if running is not None and running.poll() is None:
                running.kill()
                running.wait()
    code, _, err = cli(capsys, *args, "--resume", "--scheduler", scheduler)
    assert code == 0, err
    code, _, err = cli(capsys, *args[:-2], "-o", "whole.numnet", "--scheduler", scheduler)
    assert code == 0, err
    np.testing.assert_array_equal(nn.load("m.numnet").estimator.network_.params,
                                  nn.load("whole.numnet").estimator.network_.params)


# --- a cluster slower than memory --------------------------------------------------------------


def test_a_cluster_slower_than_memory_says_so_in_one_line_and_trains(here, scheduler, capsys,
                                                                     monkeypatch):
    # What the workers report computing is set to 0 (no timing in a test): every step is then
    # all communication, and the run says so once, after its first epoch, and goes on.
    from numnet.distributed.channels import WorkerChannels

    original, original_record = WorkerChannels._direct, WorkerChannels.record

    def no_compute(self, theta, rows):
        results = original(self, theta, rows)
        self.compute_seconds = 0.0
        return results

    def no_compute_in_peer_epochs(self, steps, seconds, compute_seconds):
        original_record(self, steps, seconds, 0.0)

    monkeypatch.setattr(WorkerChannels, "_direct", no_compute)
    monkeypatch.setattr(WorkerChannels, "record", no_compute_in_peer_epochs)
    code, out, err = cli(capsys, "train", "pq", "-t", "label", "--impute", "mean", "--hidden",
                         "4", "--epochs", "3", "--batch-size", "64", "-o", "slow.numnet",
                         "--scheduler", scheduler)
    assert code == 0, err
    lines = [line for line in err.splitlines() if "slower than memory" in line]
    assert len(lines) == 1
    assert re.fullmatch(
        r"warning: the cluster is slower than memory on this data: a step of 64 rows takes "
        r"\d+\.\d\d ms on the cluster, but the workers compute for only 0\.00 ms of it in all "
        r"\(measured in epoch 1; the rest is communication\)\. Train in memory \(without "
        r"--workers/--scheduler\), or with larger batches\.", lines[0]), lines[0]
    assert len(nn.load("slow.numnet").estimator.history_.loss) == 3
