"""The ``numnet`` command for the tests: installed (end to end) or in process (not collected:
no test_ prefix)."""

import shutil
import sys
from pathlib import Path


def installed_command():
    """The console script of this interpreter's environment, else ``python -m numnet``."""
    script = Path(sys.executable).with_name("numnet")
    if script.exists():
        return [str(script)]
    found = shutil.which("numnet")
    return [found] if found else [sys.executable, "-m", "numnet"]


COMMAND = installed_command()

HANG_TIMEOUT = 900
"""Seconds after which a test stops waiting for a process or an event, to end a hang.

Tests wait for events (a process's exit, a line, a page state), never for an amount of time; the
bound exists only so that a hung test fails instead of blocking CI. It is generous because a
loaded machine runs everything many times slower: the suite, about 5 minutes idle, once took 28,
and a 30 s bound in the browser test failed there.
"""


def run_cli(capsys, *args):
    """(exit code, stdout, stderr) of ``numnet ARGS``, run in this process."""
    import pytest

    from numnet.cli import main

    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return stop.value.code, out, err

