"""Every row of docs/errors.md: the Python API raises the documented exception and message, the
command line exits 2 with the documented line on stderr, before any training starts.

The table is parsed from the docs, so a row that is added, changed or removed there must be
matched here (``test_every_documented_row_has_a_case``). The command-line rows run in process
(fast); a few also run through the installed ``numnet`` console script.
"""

import inspect
import os
import pickle
import re
import socket
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import numnet as nn
from installed import COMMAND, HANG_TIMEOUT
from installed import run_cli as cli
from numnet.cli import main
from numnet.io import OutputError
from numnet.io.checkpoint import Checkpoint
from numnet.playground import Settings, SettingsError, UploadError, parse_csv
from numnet.playground.server import HostError, PortInUseError, bind
from numnet.tabular import DataError, SpecError, TrainSpec, evaluate_pipeline, fit, read_table

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DOC = Path(__file__).parents[1] / "docs" / "errors.md"


def parse_catalogue():
    """{id: (exception name or None, API message or None, CLI line or None)} from the docs."""
    rows = {}
    for line in DOC.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        spans = [[s.replace("\\|", "|") for s in re.findall(r"`([^`]*)`", cell)]
                 for cell in cells]
        row_id, api, cli = spans[0][0], spans[2], spans[3]
        assert row_id not in rows, f"duplicate row {row_id}"
        rows[row_id] = (api[0] if api else None, api[1] if api else None,
                        cli[0] if cli else None)
    return rows


CATALOGUE = parse_catalogue()

EXCEPTIONS = {error.__name__: error for error in (
    ValueError, TypeError, FileNotFoundError, nn.ModelFileError, nn.DivergenceError, DataError,
    OutputError, PortInUseError, UploadError, SettingsError, HostError, SpecError)}

# --- data -----------------------------------------------------------------------------------------

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 2))
LABELS = np.where(X[:, 0] > 0, "up", "down")
Y_REG = 2 * X[:, 0] + 1


def with_value(array, index, value):
    array = np.array(array, dtype=object if isinstance(value, (str, type(None))) else float)
    array[index] = value
    return array


def classifier(**params):
    return nn.MLPClassifier((4,), max_iter=5, random_state=0, **params)


def regressor(**params):
    return nn.MLPRegressor((4,), max_iter=5, random_state=0, **params)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Files named as in the docs' messages."""
    folder = tmp_path_factory.mktemp("catalogue")
    frame = pd.DataFrame({"x": X[:, 0].round(3), "z": X[:, 1].round(3)})
    frame["label"] = np.where(frame["x"] > 0, "up", "down")
    frame["price"] = (2 * frame["x"] + 1).round(3)
    frame.to_csv(folder / "data.csv", index=False)
    frame.head(0).to_csv(folder / "header.csv", index=False)
    (folder / "empty.csv").write_text("")

    def variant(name, **columns):
        edited = frame.copy()
        for column, (row, value) in columns.items():
            if column not in edited:
                edited[column] = 1.0
            if row is None:
                edited[column] = value
            else:
                edited[column] = edited[column].astype(object)
                edited.loc[row, column] = value
        edited.to_csv(folder / name, index=False)

    variant("missing.csv", x=(5, np.nan))
    variant("infinite.csv", x=(3, np.inf))
    variant("missing-target.csv", price=(5, np.nan))
    variant("infinite-target.csv", price=(3, np.inf))
    variant("missing-label.csv", label=(5, np.nan))
    variant("one-class.csv", label=(None, "up"))
    variant("typo.csv", x=(5, "ten"))
    variant("weights.csv", w=(2, -1.0))
    variant("huge.csv", x=(None, np.where(frame["x"] > 0, 1e300, -1e300)))
    variant("huge-target.csv", price=(None, np.where(frame["x"] > 0, 1e200, -1e200)))
    frame.assign(label="sideways").to_csv(folder / "unseen.csv", index=False)
    frame.drop(columns=["z"]).to_csv(folder / "no-z.csv", index=False)
    frame[["x"]].to_csv(folder / "only-x.csv", index=False)
    typos = frame.astype({"x": object, "z": object})
    typos.loc[[5, 9], "x"], typos.loc[2, "z"] = "ten", "abc"
    typos.to_csv(folder / "typos.csv", index=False)
    (folder / "dup.csv").write_text("a,a,label\n1,2,up\n3,4,down\n")
    frame.assign(x=["3,75"] + ["1,234.5"] * 39).to_csv(folder / "mixed-marks.csv", index=False)
    frame.assign(name=[f"n{i}" for i in range(40)]).assign(x=np.arange(40.0)).to_csv(
        folder / "names.csv", index=False)
    frame.assign(when=["2021-01-05"] * 2 + ["2021-13-45"] + ["2021-02-05"] * 37).to_csv(
        folder / "dates.csv", index=False)
    frame.assign(c=1.0).to_csv(folder / "constant.csv", index=False)
    frame.assign(label=["up"] * 5 + ["x" * 20_000_000] + ["down"] * 34).to_csv(
        folder / "long-label.csv", index=False)
    (folder / "latin.csv").write_bytes("x,label\nZürich,up\n".encode("latin-1"))
    frame.assign(x=np.where(frame["x"] > 0, 1e39, -1e39)).to_csv(folder / "huge32.csv",
                                                                 index=False)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"tags": pa.array([["a"], ["b"]] * 20), "label": LABELS}),
                   folder / "tags.parquet")
    (folder / "parts").mkdir()
    frame.assign(label=LABELS).to_csv(folder / "parts" / "a.csv", index=False,
                                      columns=["x", "label"])
    frame.assign(label=LABELS).to_csv(folder / "parts" / "b.csv", index=False,
                                      columns=["x", "z", "label"])
    frame.assign(day="2024-01-31").to_csv(folder / "dated.csv", index=False,
                                          columns=["x", "day", "label"])
    frame.assign(cost=[f"${v:,.2f}" for v in 1000 + 1000 * frame["x"].abs()]).to_csv(
        folder / "money.csv", index=False, columns=["cost", "label"])
    (folder / "kinds").mkdir()  # 'x' numbers in one Parquet file, text in the other
    frame.iloc[:20].to_parquet(folder / "kinds" / "a.parquet", index=False)
    frame.iloc[20:].assign(x="t").to_parquet(folder / "kinds" / "b.parquet", index=False)
    (folder / "types").mkdir()
    counts = pd.Series(np.arange(len(frame)), dtype=float)
    frame.assign(n=counts.astype(int)).iloc[:20].to_csv(folder / "types" / "a.csv",
                                                        index=False, columns=["n", "label"])
    frame.assign(n=counts.where(counts != 30)).iloc[20:].to_csv(
        folder / "types" / "b.csv", index=False, columns=["n", "label"])
    return folder


@pytest.fixture
def here(folder, monkeypatch):
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture(scope="module")
def model(folder):
    """A small model file trained by the command line, and a finished run's checkpoint."""
    import os

    cwd = os.getcwd()
    os.chdir(folder)
    try:
        for args in (["-o", "model.numnet"],
                     ["-o", "f32.numnet", "--dtype", "float32", "--scaling", "standard"],
                     ["-o", "run.numnet", "--checkpoint-dir", "run",
                                              "--learning-rate", "0.01"]):
            with pytest.raises(SystemExit) as stop:
                main(["train", "data.csv", "-t", "label", "--hidden", "4", "--epochs", "3", "-q",
                      *args])
            assert stop.value.code == 0
    finally:
        os.chdir(cwd)
    raw = bytearray((folder / "model.numnet").read_bytes())
    raw[-3] ^= 0x01
    (folder / "damaged.numnet").write_bytes(bytes(raw))
    (folder / "bad-run").mkdir()
    (folder / "bad-run" / "checkpoint.numnet").write_bytes(
        (folder / "run" / "checkpoint.numnet").read_bytes()[:5])  # a crash of another tool
    return folder / "model.numnet"


def diverging_regressor():
    return nn.MLPRegressor((4,), solver="sgd", learning_rate_init=1e6, max_iter=5,
                           random_state=0)


def api_resume_other_run():
    net = nn.Sequential([nn.Dense(1)]).build(2, random_state=0)
    nn.train(net, nn.MeanSquaredError(), nn.SGD(0.1), X, Y_REG, max_epochs=2,
             checkpoint=Checkpoint("api-run"))
    wider = nn.Sequential([nn.Dense(3), nn.ReLU(), nn.Dense(1)]).build(2, random_state=0)
    nn.train(wider, nn.MeanSquaredError(), nn.SGD(0.1), X, Y_REG, max_epochs=2,
             checkpoint=Checkpoint("api-run"), resume=True)


def save_diverged(folder):
    net = nn.Sequential([nn.Dense(1)]).build(2, random_state=0)
    net.params[0] = np.nan
    nn.save(net, folder / "diverged.numnet")


def save_unregistered_layer(folder):
    swish = type("Swish", (nn.Layer,), {"__module__": "model"})  # a user's own, unregistered
    nn.save(nn.Sequential([nn.Dense(1), swish()]).build(2, random_state=0),
            folder / "swish.numnet")


def pickle_file(folder):
    (folder / "model.pkl").write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    nn.load("model.pkl")


# Each case: (API trigger or None, command-line arguments or None). API triggers run in the
# folder of the files; they may take it as an argument.
CASES = {
    "nan-x": (lambda: classifier().fit(with_value(X, (5, 0), np.nan), LABELS),
              ["train", "missing.csv", "-t", "label", "--impute", "none", "-o", "m.numnet"]),
    "inf-x": (lambda: classifier().fit(with_value(X, (3, 0), np.inf), LABELS),
              ["train", "infinite.csv", "-t", "label", "-o", "m.numnet"]),
    "nan-y": (lambda: regressor().fit(X, with_value(Y_REG, 5, np.nan)),
              ["train", "missing-target.csv", "-t", "price", "-o", "m.numnet"]),
    "inf-y": (lambda: regressor().fit(X, with_value(Y_REG, 3, np.inf)),
              ["train", "infinite-target.csv", "-t", "price", "-o", "m.numnet"]),
    "missing-label": (lambda: classifier().fit(X, with_value(LABELS, 5, None)),
                      ["train", "missing-label.csv", "-t", "label", "-o", "m.numnet"]),
    "empty": (lambda: classifier().fit(np.empty((0, 2)), np.empty(0)),
              ["train", "empty.csv", "-t", "label", "-o", "m.numnet"]),
    "header-only": (None, ["train", "header.csv", "-t", "label", "-o", "m.numnet"]),
    "1d-x": (lambda: classifier().fit(X[:, 0], LABELS), None),
    "n-features": (lambda: classifier().fit(X, LABELS).predict(X[:, :1]),
                   ["predict", "model.numnet", "no-z.csv"]),
    "one-class": (lambda: classifier().fit(X, np.full(40, "up")),
                  ["train", "one-class.csv", "-t", "label", "-o", "m.numnet"]),
    "unseen-label": (lambda: evaluate_pipeline(nn.load("model.numnet"),
                                               pd.read_csv("unseen.csv")),
                     ["evaluate", "model.numnet", "unseen.csv"]),
    "non-numeric": (lambda: classifier().fit(
        pd.DataFrame({"x": with_value(X[:, 0].round(1).astype(str), 5, "ten"), "z": X[:, 1]}),
        LABELS), ["train", "typo.csv", "-t", "label", "-o", "m.numnet"]),
    "missing-target-column": (None, ["train", "data.csv", "-t", "cost", "-o", "m.numnet"]),
    "unknown-feature": (None, ["train", "data.csv", "-t", "label", "--features", "x,area",
                               "-o", "m.numnet"]),
    "non-numeric-target": (None, ["train", "data.csv", "-t", "label", "--task", "regression",
                                  "-o", "m.numnet"]),
    "duplicate-columns": (lambda: classifier().fit(pd.DataFrame(X, columns=["a", "a"]), LABELS),
                          ["train", "dup.csv", "-t", "label", "-o", "m.numnet"]),
    "sample-weight-length": (lambda: classifier().fit(X, LABELS, sample_weight=np.ones(39)),
                             None),
    "sample-weight-negative": (
        lambda: classifier().fit(X, LABELS, sample_weight=with_value(np.ones(40), 2, -1.0)),
        ["train", "weights.csv", "-t", "label", "--sample-weight", "w", "-o", "m.numnet"]),
    "hidden-0": (lambda: nn.MLPClassifier((0,)).fit(X, LABELS),
                 ["train", "data.csv", "-t", "label", "--hidden", "0", "-o", "m.numnet"]),
    "dense-0": (lambda: nn.Dense(0), None),
    "learning-rate": (lambda: classifier(learning_rate_init=0).fit(X, LABELS),
                      ["train", "data.csv", "-t", "label", "--learning-rate", "0", "-o",
                       "m.numnet"]),
    "optimizer-learning-rate": (lambda: nn.SGD(learning_rate=-0.1), None),
    "batch-size": (lambda: classifier(batch_size=0).fit(X, LABELS),
                   ["train", "data.csv", "-t", "label", "--batch-size", "0", "-o", "m.numnet"]),
    "validation-batch-size": (lambda: classifier(validation_batch_size=0).fit(X, LABELS),
                              ["train", "data.csv", "-t", "label", "--validation-batch-size",
                               "0", "-o", "m.numnet"]),
    "overflow-x": (lambda: regressor().fit(np.column_stack([np.sign(X[:, 0]) * 1e300, X[:, 1]]),
                                           Y_REG),
                   ["train", "huge.csv", "-t", "label", "--scaling", "standard", "-o",
                    "m.numnet"]),
    "overflow-y": (lambda: regressor().fit(X, np.sign(X[:, 0]) * 1e200),
                   ["train", "huge-target.csv", "-t", "price", "-o", "m.numnet"]),
    "divergence": (lambda: diverging_regressor().fit(X, Y_REG),
                   ["train", "data.csv", "-t", "price", "--solver", "sgd", "--learning-rate",
                    "1e6", "--epochs", "5", "--hidden", "4", "--preset", "classic", "-o",
                    "diverged.numnet"]),
    "save-non-finite": (save_diverged, None),
    "save-unregistered-layer": (save_unregistered_layer, None),
    "damaged-file": (lambda: nn.load("damaged.numnet"),
                     ["evaluate", "damaged.numnet", "data.csv"]),
    "pickle-file": (pickle_file, None),
    "not-a-model": (lambda: nn.load("run/checkpoint.numnet"),
                    ["inspect", "run/checkpoint.numnet"]),
    "missing-file": (lambda: nn.load("nope.numnet"),
                     ["train", "nope.csv", "-t", "label", "-o", "m.numnet"]),
    "checkpoint-lbfgs": (None, ["train", "data.csv", "-t", "label", "--model", "logistic",
                                "--checkpoint-dir", "logistic-run", "-o", "m.numnet"]),
    "checkpoint-exact": (None, ["train", "data.csv", "-t", "price", "--model", "linear",
                                "--checkpoint-dir", "linear-run", "-o", "m.numnet"]),
    "resume-without-checkpoint": (
        lambda: nn.train(nn.Sequential([nn.Dense(1)]).build(2), nn.MeanSquaredError(),
                         nn.SGD(0.1), X, Y_REG, resume=True),
        ["train", "data.csv", "-t", "label", "--resume", "-o", "m.numnet"]),
    "train-rows": (lambda: nn.train(nn.Sequential([nn.Dense(1)]).build(2),
                                    nn.MeanSquaredError(), nn.SGD(0.1), X, Y_REG[:2],
                                    rows=[0, 40]), None),
    "train-rows-fraction": (lambda: nn.train(nn.Sequential([nn.Dense(1)]).build(2),
                                             nn.MeanSquaredError(), nn.SGD(0.1), X, Y_REG[:2],
                                             rows=[0, 1], validation_fraction=0.5), None),
    "resume-nothing-saved": (None, ["train", "data.csv", "-t", "label", "--checkpoint-dir",
                                    "empty-run", "--resume", "-o", "m.numnet"]),
    "checkpoint-exists": (None, ["train", "data.csv", "-t", "label", "--hidden", "4",
                                 "--epochs", "3", "--learning-rate", "0.01", "--checkpoint-dir",
                                 "run", "-o", "run.numnet"]),
    "resume-other-options": (
        api_resume_other_run,
        ["train", "data.csv", "-t", "label", "--hidden", "4", "--epochs", "3",
         "--learning-rate", "0.02", "--checkpoint-dir", "run", "--resume", "-o", "run.numnet"]),
    "damaged-checkpoint": (lambda: Checkpoint("bad-run").load(),
                           ["train", "data.csv", "-t", "label", "--checkpoint-dir", "bad-run",
                            "--resume", "-o", "m.numnet"]),
}

def float32_api():
    X32 = X.astype(np.float32)
    classifier().fit(X32, LABELS).predict_proba(np.full((1, 2), 1e39))


CASES.update({
    "float32-overflow": (float32_api, ["predict", "f32.numnet", "huge32.csv"]),
    "mixed-decimal-marks": (None, ["train", "mixed-marks.csv", "-t", "label", "-o",
                                   "m.numnet"]),
    "too-many-classes": (None, ["train", "names.csv", "-t", "name", "-o", "m.numnet"]),
    "long-label": (None, ["train", "long-label.csv", "-t", "label", "-o", "m.numnet"]),
    "nested-column": (None, ["train", "tags.parquet", "-t", "label", "-o", "m.numnet"]),
    "bad-date": (None, ["train", "dates.csv", "-t", "label", "-o", "m.numnet"]),
    "constant-features": (None, ["train", "constant.csv", "-t", "label", "--features", "c",
                                 "-o", "m.numnet"]),
    "unknown-exclude": (None, ["train", "data.csv", "-t", "label", "--exclude", "id", "-o",
                               "m.numnet"]),
    "exclude-target": (None, ["train", "data.csv", "-t", "label", "--exclude", "label", "-o",
                              "m.numnet"]),
    "wrong-encoding": (None, ["train", "latin.csv", "-t", "label", "-o", "m.numnet"]),
    "unknown-encoding": (None, ["train", "data.csv", "-t", "label", "--encoding", "klingon",
                                "-o", "m.numnet"]),
    "bad-sep": (None, ["train", "data.csv", "-t", "label", "--sep", ";;", "-o", "m.numnet"]),
    "missing-columns": (lambda: nn.load("model.numnet").predict(pd.read_csv("only-x.csv")),
                        ["predict", "model.numnet", "only-x.csv"]),
    "evaluate-missing-target": (
        lambda: evaluate_pipeline(nn.load("price.numnet"), pd.read_csv("only-x.csv")),
        ["evaluate", "price.numnet", "only-x.csv"]),
    "evaluate-text-target": (None, ["evaluate", "price.numnet", "data.csv", "-t", "label"]),
    "unknown-column-close-match": (None, ["train", "data.csv", "-t", "Label", "-o",
                                          "m.numnet"]),
    "wrong-separator": (None, ["train", "data.csv", "-t", "label", "--sep", ";", "-o",
                               "m.numnet"]),
    "several-column-problems": (None, ["train", "typos.csv", "-t", "label", "-o", "m.numnet"]),
})

# --- model files and outputs (issue 10, sections 1-4) ------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def model_file_cases(folder, model):
    """A FIFO, a pipeline whose task was edited, a checkpoint with an impossible step count."""
    from test_io import forge, join_file, split_file

    os.mkfifo(folder / "fifo.numnet")
    (folder / "zero.csv").symlink_to("/dev/zero")
    (folder / "edited.numnet").write_bytes(forge(
        (folder / "model.numnet").read_bytes(),
        lambda header, metadata: metadata["object"]["state"].update(task="regression")))
    header, metadata, body = split_file((folder / "run" / "checkpoint.numnet").read_bytes())
    metadata["object"]["state"]["optimizer"]["t"] = -1
    (folder / "bad-step").mkdir()
    (folder / "bad-step" / "checkpoint.numnet").write_bytes(join_file(header, metadata, body))
    header, metadata, body = split_file((folder / "run" / "checkpoint.numnet").read_bytes())
    metadata["object"]["state"]["callbacks"]["1"]["curve"]["val_loss"].extend([0.5] * 4)
    (folder / "bad-curve").mkdir()
    (folder / "bad-curve" / "checkpoint.numnet").write_bytes(join_file(header, metadata, body))
    header, metadata, body = split_file((folder / "run" / "checkpoint.numnet").read_bytes())
    metadata["object"]["info"]["run"] = "--epochs 3"
    (folder / "bad-record").mkdir()
    (folder / "bad-record" / "checkpoint.numnet").write_bytes(join_file(header, metadata, body))
    header, metadata, body = split_file((folder / "run" / "checkpoint.numnet").read_bytes())
    start, end = header[metadata["object"]["state"]["optimizer"]["v_sum"]["key"]]["data_offsets"]
    moments = np.frombuffer(body[start:end], dtype="<f8").copy()
    moments[0] = -1.0
    body = body[:start] + moments.tobytes() + body[end:]
    (folder / "bad-moment").mkdir()
    (folder / "bad-moment" / "checkpoint.numnet").write_bytes(join_file(header, metadata, body))
    header, metadata, body = split_file((folder / "run" / "checkpoint.numnet").read_bytes())
    metadata["object"]["info"]["spec"]["epochs"] = "3"  # a stored spec that is not valid
    (folder / "bad-spec").mkdir()
    (folder / "bad-spec" / "checkpoint.numnet").write_bytes(join_file(header, metadata, body))
    (folder / "bad-spec.numnet").write_bytes(forge(
        (folder / "model.numnet").read_bytes(),
        lambda header, metadata: metadata["object"]["state"]["info"]["spec"].update(seed=-1)))


def tiny_network():
    return nn.Sequential([nn.Dense(1)]).build(2, random_state=0)


def save_on_a_full_disk():
    from unittest import mock

    with mock.patch("os.fsync", side_effect=OSError(28, "No space left on device")):
        nn.save(tiny_network(), "full.numnet")


def save_huge_labels():
    labels = np.where(LABELS == "up", "u" * 9_000_000, "d" * 9_000_000).astype(object)
    nn.save(classifier().fit(X, labels), "keep.numnet")


CASES.update({
    "output-is-input": (None, ["train", "data.csv", "-t", "label", "-o", "data.csv"]),
    "output-is-checkpoint": (None, ["train", "data.csv", "-t", "label", "-o",
                                    "ckx/checkpoint.numnet", "--checkpoint-dir", "ckx"]),
    "output-folder-missing": (lambda: nn.save(tiny_network(), "nope/m.numnet"),
                              ["train", "data.csv", "-t", "label", "-o", "nope/m.numnet"]),
    "output-not-a-file": (lambda: nn.save(tiny_network(), "/dev/null"),
                          ["train", "data.csv", "-t", "label", "-o", "/dev/null"]),
    "save-empty-path": (lambda: nn.save(tiny_network(), ""),
                        ["train", "data.csv", "-t", "label", "-o", ""]),
    "write-failed": (save_on_a_full_disk, None),
    "save-too-large": (save_huge_labels, None),
    "model-not-regular": (lambda: nn.load("fifo.numnet"), ["inspect", "fifo.numnet"]),
    "data-not-regular": (None, ["train", "zero.csv", "-t", "label", "-o", "m.numnet"]),
    "text-as-model": (lambda: nn.load("data.csv"), ["predict", "data.csv", "data.csv"]),
    "missing-model": (None, ["predict", "nope.numnet", "data.csv"]),
    "predict-output-suffix": (None, ["predict", "model.numnet", "data.csv", "-o",
                                     "preds.json"]),
    "data-suffix": (lambda: read_table("data.xlsx"),
                    ["train", "data.xlsx", "-t", "label", "-o", "m.numnet"]),
    "checkpoint-dir-not-folder": (None, ["train", "data.csv", "-t", "label",
                                         "--checkpoint-dir", "data.csv", "-o", "m.numnet"]),
    "checkpoint-out-of-range": (lambda: Checkpoint("bad-step").load(),
                                ["train", "data.csv", "-t", "label", "--checkpoint-dir",
                                 "bad-step", "--resume", "-o", "m.numnet"]),
    "checkpoint-run-record": (None, ["train", "data.csv", "-t", "label", "--hidden", "4",
                                     "--epochs", "3", "--learning-rate", "0.01",
                                     "--checkpoint-dir", "bad-record", "--resume", "-o",
                                     "run.numnet"]),
    "checkpoint-optimizer-forged": (None, ["train", "data.csv", "-t", "label", "--hidden", "4",
                                           "--epochs", "3", "--learning-rate", "0.01",
                                           "--checkpoint-dir", "bad-moment", "--resume", "-o",
                                           "run.numnet"]),
    "checkpoint-curve-out-of-range": (None, ["train", "data.csv", "-t", "label", "--hidden",
                                             "4", "--epochs", "3", "--learning-rate", "0.01",
                                             "--checkpoint-dir", "bad-curve", "--resume", "-o",
                                             "run.numnet"]),
    "pipeline-inconsistent": (lambda: nn.load("edited.numnet"),
                              ["predict", "edited.numnet", "data.csv"]),
    "model-spec-invalid": (lambda: nn.load("bad-spec.numnet"), ["inspect", "bad-spec.numnet"]),
    "checkpoint-spec-invalid": (
        lambda: fit(TrainSpec(data="data.csv", target="label", hidden=(4,), epochs=3,
                              learning_rate=0.01, checkpoint_dir="bad-spec", resume=True)),
        ["train", "data.csv", "-t", "label", "--hidden", "4", "--epochs", "3",
         "--learning-rate", "0.01", "--checkpoint-dir", "bad-spec", "--resume", "-o",
         "run.numnet"]),
})

DP = ["--dp-epsilon", "3", "--hidden", "4", "-o", "m.numnet"]
CASES.update({
    "dp-bounds-missing": (None, ["train", "data.csv", "-t", "label", "--dp-categories",
                                 "label=down|up", *DP]),
    "dp-classes-missing": (None, ["train", "data.csv", "-t", "label", "--exclude", "price",
                                  "--dp-bounds", "x=-3:3,z=-3:3", *DP]),
    "dp-target-bounds": (None, ["train", "data.csv", "-t", "price", "--exclude", "label",
                                "--dp-bounds", "x=-3:3,z=-3:3", *DP]),
    "dp-bounds-syntax": (None, ["train", "data.csv", "-t", "label", "--dp-bounds", "x=3:1",
                                *DP]),
    "dp-noise-range": (lambda: classifier(dp_noise_multiplier=1e-300).fit(X, LABELS),
                       ["train", "data.csv", "-t", "label", "--dp-noise-multiplier", "1e-300",
                        "-o", "m.numnet"]),
    "dp-epsilon-range": (lambda: classifier(dp_epsilon=float("inf")).fit(X, LABELS),
                         ["train", "data.csv", "-t", "label", "--dp-epsilon", "inf", "-o",
                          "m.numnet"]),
    "dp-max-grad-norm-range": (
        lambda: classifier(dp_epsilon=3.0, dp_max_grad_norm=float("inf")).fit(X, LABELS),
        ["train", "data.csv", "-t", "label", "--dp-max-grad-norm", "inf", *DP]),
    "dp-delta-range": (lambda: classifier(dp_epsilon=3.0, dp_delta=0.5).fit(X, LABELS),
                       ["train", "data.csv", "-t", "label", "--exclude", "price", "--dp-bounds",
                        "x=-3:3,z=-3:3", "--dp-categories", "label=down|up", "--dp-delta",
                        "0.5", *DP]),
    "dp-sampler": (lambda: classifier(dp_epsilon=3.0, dp_sampler="gaps").fit(X, LABELS),
                   ["train", "data.csv", "-t", "label", "--exclude", "price", "--dp-bounds",
                    "x=-3:3,z=-3:3", "--dp-categories", "label=down|up", "--dp-sampler",
                    "gaps", *DP]),
    "dp-without-epsilon": (None, ["train", "data.csv", "-t", "label", "--dp-bounds", "x=0:1",
                                  "-o", "m.numnet"]),
    "no-files": (None, ["train", "nothing/*.csv", "-t", "label", "-o", "m.numnet"]),
    "different-columns": (None, ["train", "parts", "-t", "label", "-o", "m.numnet"]),
    "cluster-both": (None, ["train", "data.csv", "-t", "label", "-o", "m.numnet",
                            "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"]),
    "cluster-address": (None, ["train", "data.csv", "-t", "label", "-o", "m.numnet",
                               "--scheduler", "nowhere:abc"]),
    "cluster-stdin": (None, ["train", "-", "-t", "label", "-o", "m.numnet", "--workers", "2"]),
    "cluster-checkpoint": (None, ["train", "data.csv", "-t", "label", "-o", "m.numnet",
                                  "--workers", "2", "--checkpoint-dir", "run-cluster",
                                  "--model", "logistic"]),
    "cluster-option": (None, ["train", "data.csv", "-t", "label", "-o", "m.numnet",
                              "--workers", "2", "--dropout", "0.1"]),
    "cluster-impute-indicator": (None, ["train", "data.csv", "-t", "label", "-o", "m.numnet",
                                        "--workers", "1", "--impute", "indicator"]),
    "cluster-solver": (None, ["train", "data.csv", "-t", "label", "-o", "m.numnet",
                              "--workers", "2", "--model", "logistic", "--solver", "adam"]),
    "cluster-dates": (None, ["train", "dated.csv", "-t", "label", "-o", "m.numnet",
                             "--workers", "1"]),
    "cluster-text-numbers": (None, ["train", "money.csv", "-t", "label", "-o", "m.numnet",
                                    "--workers", "1"]),
    "cluster-not-dask": (None, ["train", "data.csv", "-t", "label", "-o", "m.numnet",
                                "--scheduler", "tcp://127.0.0.1:8788"]),
    "cluster-workers": (None, ["train", "data.csv", "-t", "label", "-o", "m.numnet",
                               "--workers", "1000"]),
    "parquet-types": (None, ["train", "kinds", "-t", "label", "-o", "m.numnet"]),
    "cluster-csv-types": (None, ["train", "types", "-t", "label", "-o", "m.numnet",
                                 "--impute", "mean", "--workers", "1"]),
    "demo-seed": (None, ["demo", "--seed", "-1"]),
    "dp-solver": (None, ["train", "data.csv", "-t", "label", "--model", "logistic",
                         "--dp-epsilon", "3", "-o", "m.numnet"]),
    "members-no-refit": (
        lambda: TrainSpec(data="data.csv", target="label", members=3, refit=False),
        ["train", "data.csv", "-t", "label", "--members", "3", "--no-refit", "-o",
         "m.numnet"]),
})

# The playground's default port, held for this module (or already held by another program):
# either way `numnet playground --port 8765` finds it busy.
_PORT_8765 = socket.socket()
try:
    _PORT_8765.bind(("127.0.0.1", 8765))
    _PORT_8765.listen()
except OSError:
    pass




def _answer_http(sock):
    """A server that is not a Dask scheduler: HTTP 400 to whatever it is sent."""
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


_PORT_8788 = socket.socket()  # `cluster-not-dask`: an HTTP server at 127.0.0.1:8788
try:
    _PORT_8788.bind(("127.0.0.1", 8788))
    _PORT_8788.listen()
    import threading

    threading.Thread(target=_answer_http, args=(_PORT_8788,), daemon=True).start()
except OSError:
    pass


@pytest.fixture(autouse=True)
def _two_cores(monkeypatch):
    """`cluster-workers` names the machine's core count: 2 here, wherever the tests run."""
    monkeypatch.setattr("numnet.tabular.dask_client.available_cores", lambda: 2)


CASES.update({
    "playground-port-busy": (lambda: bind("127.0.0.1", 8765),
                             ["playground", "--port", "8765", "--no-browser"]),
    "playground-upload": (lambda: parse_csv("x1,x2,label\n1,2,a\n3,4\n5,6,b\n7,8,a\n"), None),
    "playground-setting": (lambda: Settings.from_dict({"hidden": [8, 9]}), None),
    "playground-upload-field": (
        lambda: parse_csv('1,2,a\n3,4,"' + "b" * 131_073 + '"\n5,6,a\n7,8,b\n'), None),
    "playground-host": (lambda: bind(""), ["playground", "--host", "", "--no-browser"]),
})


@pytest.fixture(scope="module", autouse=True)
def regression_model(folder):
    """price.numnet: a regression model of data.csv, for explain's and trace's rows."""
    with pytest.raises(SystemExit) as stop:
        main(["train", str(folder / "data.csv"), "-t", "price", "--features", "x,z",
              "--hidden", "4", "--epochs", "3", "-q", "-o", str(folder / "price.numnet")])
    assert stop.value.code == 0
    return folder / "price.numnet"


def _explain_regression(**options):
    from numnet.tabular import explain_table, permutation_table

    frame = pd.read_csv(options.pop("data", "data.csv"))
    if options.pop("permutation", False):
        return permutation_table(nn.load("price.numnet"), frame)
    return explain_table(nn.load("price.numnet"), frame, **options)


CASES.update({
    "explain-steps": (lambda: nn.explain.integrated_gradients(tiny_network(), X, n_steps=20_000),
                      ["explain", "model.numnet", "data.csv", "--steps", "20000"]),
    "explain-target-regression": (lambda: _explain_regression(target="abc"),
                                  ["explain", "price.numnet", "data.csv", "--target", "abc"]),
    "baseline-not-finite": (lambda: nn.explain.integrated_gradients(
        tiny_network(), X, baseline=[np.nan, 0.0]), None),
    "trace-missing-target": (None, ["trace", "price.numnet", "missing-target.csv", "--row",
                                    "6"]),
    "permutation-missing-target": (
        lambda: _explain_regression(data="missing-target.csv", permutation=True),
        ["explain", "price.numnet", "missing-target.csv", "-m", "permutation"]),
})


def test_write_failures_leave_nothing_behind(here, model):
    with pytest.raises(OutputError):
        save_on_a_full_disk()
    with pytest.raises(ValueError):
        save_huge_labels()
    assert not list(here.glob("full.numnet*")) + list(here.glob(".full.numnet*"))
    assert not list(here.glob("keep.numnet*")) + list(here.glob(".keep.numnet*"))


# Rows run a second time through the installed console script (a subprocess each).
CONSOLE_SCRIPT = ["output-is-input", "model-not-regular", "missing-model",
                  "nan-x", "duplicate-columns", "damaged-file", "divergence",
                  "float32-overflow", "mixed-decimal-marks", "evaluate-missing-target",
                  "wrong-separator", "dp-bounds-missing"]


def test_every_documented_row_has_a_case():
    assert sorted(CATALOGUE) == sorted(CASES)
    for row_id, (api, cli_args) in CASES.items():
        error, message, line = CATALOGUE[row_id]
        assert (api is None) == (message is None), row_id
        assert (cli_args is None) == (line is None), row_id


def run_api(trigger, folder):
    return trigger(folder) if inspect.signature(trigger).parameters else trigger()


@pytest.mark.parametrize("row_id", [r for r, (api, _) in CASES.items() if api is not None])
def test_python_api_row(row_id, here, model):
    name, message, _ = CATALOGUE[row_id]
    with pytest.raises(EXCEPTIONS[name], match=re.escape(message)) as caught:
        run_api(CASES[row_id][0], here)
    assert type(caught.value).__name__ == name
    # The message starts with the documented text (some are scikit-learn's longer advice).
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("row_id", [r for r, (_, args) in CASES.items() if args is not None])
def test_command_line_row(row_id, here, model, capsys):
    _, _, line = CATALOGUE[row_id]
    args = CASES[row_id][1]
    code, out, err = cli(capsys, *args, *(["-q"] if args[0] == "train" else []))
    assert (code, out, err) == (2, "", f"error: {line}\n")


def test_divergence_never_saves_a_model(here, model, capsys):
    cli(capsys, *CASES["divergence"][1])
    assert not (here / "diverged.numnet").exists()


@pytest.mark.parametrize("row_id", CONSOLE_SCRIPT)
def test_console_script_row(row_id, here, model):
    _, _, line = CATALOGUE[row_id]
    done = subprocess.run([*COMMAND, *CASES[row_id][1]], cwd=here, capture_output=True,
                          text=True, timeout=HANG_TIMEOUT)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1] == f"error: {line}"
    assert "Traceback" not in done.stderr
