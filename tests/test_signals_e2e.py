"""Ctrl-C (SIGINT) and SIGTERM stop a long-running ``numnet`` command within a deadline, with
exit code 130 or 143 and one line on stderr (no traceback), through the installed command.

The work is made long by its size, never by sleeping. The data goes in on stdin: once more
than a pipe's buffer of it has been written, the command is reading it, so its signal
handling is in place (that is the event waited for); every wait has a generous deadline.
"""

import signal
import subprocess

import numpy as np
import pandas as pd
import pytest

from installed import COMMAND, HANG_TIMEOUT
from numnet.cli import main

TIMEOUT = HANG_TIMEOUT  # only against a hang: each wait is for an event
LINES = {signal.SIGINT: "error: interrupted.\n", signal.SIGTERM: "error: terminated.\n"}
SIGNALS = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM],
                                  ids=["SIGINT", "SIGTERM"])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(0)
    n = 20_000  # about 1 MB of CSV: more than a pipe holds
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "city": rng.choice(["oslo", "rome", "lima"], size=n)})
    frame["price"] = 3 * frame["x1"] + (frame["city"] == "rome") + rng.normal(0, 0.1, n)
    frame.to_csv(folder / "data.csv", index=False)
    frame.iloc[:300].to_csv(folder / "small.csv", index=False)
    with pytest.raises(SystemExit) as stop:
        main(["train", str(folder / "small.csv"), "-t", "price", "--hidden", "8",
              "--epochs", "5", "-q", "-o", str(folder / "model.numnet")])
    assert stop.value.code in (0, None)
    return folder


def _stopped(folder, arguments, signum, *, close_stdin=True):
    """Start ``numnet ARGUMENTS`` reading data.csv on stdin, signal it; (code, out, err)."""
    process = subprocess.Popen([*COMMAND, *arguments], cwd=folder, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Blocks until the command has read all but a pipe's buffer of it: it is running.
        process.stdin.write((folder / "data.csv").read_bytes())
        process.stdin.flush()
        if close_stdin:
            process.stdin.close()
        assert process.poll() is None, "the command ended before it could be interrupted"
        process.send_signal(signum)
        process.wait(timeout=TIMEOUT)  # its output is a line or two: no pipe fills up
        out, err = process.stdout.read(), process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            stream.close()
    return process.returncode, out.decode(), err.decode()


@SIGNALS
def test_a_long_explain_stops_on_ctrl_c_and_sigterm(folder, signum):
    # Issue: a long explain ignored both (only SIGKILL ended it): its work was one long
    # NumPy call per row (the quadrature nodes of 20,000 steps, or all the samples at once).
    code, out, err = _stopped(folder, ["explain", "model.numnet", "-", "--method", "expected",
                                       "--steps", "5000", "-q"], signum)
    assert (code, out, err) == (128 + signum, "", LINES[signum])


@SIGNALS
def test_predict_stops_while_reading_a_big_input(folder, signum):
    # stdin stays open: the command waits for the rest of the table when the signal comes.
    code, out, err = _stopped(folder, ["predict", "model.numnet", "-"], signum,
                              close_stdin=False)
    assert (code, out, err) == (128 + signum, "", LINES[signum])


@SIGNALS
def test_training_without_checkpoints_stops_on_ctrl_c_and_sigterm(folder, signum):
    code, out, err = _stopped(folder, ["train", "-", "-t", "price", "--hidden", "32,32",
                                       "--epochs", "100000", "--patience", "100000", "-q",
                                       "-o", "never.numnet"], signum)
    assert (code, out, err) == (128 + signum, "", LINES[signum])
    assert not (folder / "never.numnet").exists()
