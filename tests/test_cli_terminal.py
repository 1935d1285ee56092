"""What ``numnet`` prints cannot command the terminal: names and values from a file or the
command line lose their escape sequences (colours, OSC titles), and other control characters
and bidi overrides are shown escaped; through the installed command."""

import subprocess

import numpy as np
import pandas as pd
import pytest

from installed import COMMAND, HANG_TIMEOUT
from numnet.cli import main
from numnet.cli.common import _escaped, _printable

TITLE = "\x1b]0;owned\x07"  # OSC 0: sets the terminal's title
RED = "\x1b[31m"  # CSI: a colour
C1_CSI = "\x9b2J"  # CSI in its one-byte C1 form: clears the screen
RTL = "\u202e"  # right-to-left override


@pytest.mark.parametrize(("text", "escaped", "printable"), [
    (f"price{TITLE}", "price", "price"),
    (f"{RED}price\x1b[0m", "price", "price"),
    (f"a{C1_CSI}b", "ab", "ab"),
    ("a\x1b]2;t\x1b\\b", "ab", "ab"),  # OSC ended by ST
    ("a\x1b]0;unterminated", "a", "a"),
    ("a\x1bcb", "ab", "ab"),  # ESC c resets the terminal
    (f"ab{RTL}cd", "ab\\u202ecd", "ab\\u202ecd"),
    ("a\x07b\x7fc\x85d", "a\\x07b\\x7fc\\x85d", "a\\x07b\\x7fc\\x85d"),
    ("a\tb\nc\\d", "a\\tb\\nc\\\\d", "a\tb\nc\\d"),
    ("prix é 价格", "prix é 价格", "prix é 价格"),
])
def test_one_helper_strips_sequences_and_escapes_controls(text, escaped, printable):
    assert _escaped(text) == escaped
    assert _printable(text) == printable


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("terminal")
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({f"size{TITLE}": rng.normal(size=n),
                          f"{RED}city": rng.choice([f"oslo{RTL}", "rome\x1b[2J"], size=n)})
    frame[f"price{C1_CSI}"] = 2 * frame[f"size{TITLE}"] + rng.normal(0, 0.1, n)
    frame.to_csv(folder / "data.csv", index=False)
    with pytest.raises(SystemExit) as stop:
        main(["train", str(folder / "data.csv"), "-t", f"price{C1_CSI}", "--hidden", "4",
              "--epochs", "5", "-q", "-o", str(folder / "model.numnet")])
    assert stop.value.code in (0, None)
    return folder


def _no_control(text):
    return not any(ord(c) < 0x20 and c != "\n" or 0x7f <= ord(c) < 0xa0 or c == RTL
                   for c in text)


def test_inspect_prints_no_escape_sequence_of_a_column_name(folder):
    # Issue: inspect printed a column name's OSC sequence (it retitled the terminal).
    done = subprocess.run([*COMMAND, "inspect", str(folder / "model.numnet")],
                          capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert (done.returncode, done.stderr) == (0, "")
    assert _no_control(done.stdout), repr(done.stdout)
    assert "target: price\n" in done.stdout
    assert "  size: numeric, robust: median" in done.stdout
    assert "  city: categorical, 2 categories (oslo\\u202e, rome)" in done.stdout


def test_explain_and_errors_print_no_control(folder):
    done = subprocess.run([*COMMAND, "explain", str(folder / "model.numnet"),
                           str(folder / "data.csv"), "--rows", "1"], capture_output=True,
                          text=True, timeout=HANG_TIMEOUT)
    assert done.returncode == 0 and _no_control(done.stdout + done.stderr), repr(done.stdout)
    assert "  size  " in done.stdout
    done = subprocess.run([*COMMAND, "explain", str(folder / "model.numnet"),
                           str(folder / "data.csv"), "--method", f"ig{TITLE}"],
                          capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: --method must be one of") and _no_control(done.stderr)
    assert done.stderr.endswith("got 'ig\\x1b]0;owned\\x07'.\n")
