"""A real ``numnet train --checkpoint-dir`` process, killed twice and resumed, ends with the model
an uninterrupted run writes, bit for bit.

The run is made long enough to interrupt by its size (epochs), never by sleeping; every wait
is bounded by a timeout.
"""

import re
import shlex
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

import numnet as nn
from installed import HANG_TIMEOUT
from numnet.cli import main
from test_errors_catalogue import COMMAND

ARGS = ["train", "data.csv", "-t", "label", "--hidden", "32,32", "--epochs", "200",
        "--patience", "100000", "--batch-size", "16", "--learning-rate", "0.01", "--dropout",
        "0.1", "--early-stopping", "--seed", "3", "-o", "model.numnet"]
TIMEOUT = HANG_TIMEOUT  # only against a hang: each wait is for an event


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    X = rng.normal(size=(n, 4))
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["city"] = rng.choice(["oslo", "rome", "lima"], size=n)
    frame["label"] = np.where(X[:, 0] + X[:, 1] ** 2 + (frame["city"] == "rome") > 1, "hi", "lo")
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path


def wait_for(condition, what):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {TIMEOUT} s waiting for {what}")
        time.sleep(0.01)


def saved_epoch(folder):
    state = nn.Checkpoint(folder / "run").load()
    return -1 if state is None else state.epoch


def interrupt(process, signum, folder, after_epoch):
    """Send ``signum`` once the checkpoint is past ``after_epoch``; return (epoch, command)."""
    wait_for(lambda: saved_epoch(folder) > after_epoch or process.poll() is not None,
             f"a checkpoint after epoch {after_epoch}")
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signum)
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and out == ""
    name = signal.Signals(signum).name
    match = re.fullmatch(
        rf"interrupted by {name} in epoch (\d+): the training state is saved in "
        r"run/checkpoint.numnet. Resume with: (.*)", err.splitlines()[-1])
    assert match, err
    epoch = int(match.group(1))
    state = nn.Checkpoint(folder / "run").load()
    assert not state.finished and state.epoch + 1 == epoch  # the epoch a resume continues
    return epoch, match.group(2)


def start(arguments, folder):
    return subprocess.Popen([*COMMAND, *arguments], cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_killed_training_resumes_to_the_uninterrupted_model(folder, monkeypatch):
    # The reference run, uninterrupted and without a checkpoint, in process.
    monkeypatch.chdir(folder)
    with pytest.raises(SystemExit) as stop:
        main([*ARGS[:-1], "reference.numnet", "-q"])
    assert stop.value.code == 0

    first = start([*ARGS, "--checkpoint-dir", "run", "-q"], folder)
    epoch, command = interrupt(first, signal.SIGTERM, folder, after_epoch=0)
    assert command == shlex.join(["numnet", *ARGS, "--checkpoint-dir", "run", "-q", "--resume"])
    assert not (folder / "model.numnet").exists()

    resume = shlex.split(command)[1:]
    second = start(resume, folder)
    later, again = interrupt(second, signal.SIGINT, folder, after_epoch=epoch)
    assert later > epoch and again == command  # --resume is not added twice

    done = subprocess.run([*COMMAND, *resume], cwd=folder, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr

    model, reference = nn.load(folder / "model.numnet"), nn.load(folder / "reference.numnet")
    assert model.estimator.network_.params.tobytes() == \
        reference.estimator.network_.params.tobytes()
    assert model.estimator.n_iter_ == reference.estimator.n_iter_ == 200
    assert model.info["validation_curve"] == reference.info["validation_curve"]
    assert model.info["metrics"] == reference.info["metrics"]
    assert model.estimator.history_.loss == reference.estimator.history_.loss
    assert nn.Checkpoint(folder / "run").load().finished
