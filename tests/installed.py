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


def run_cli(capsys, *args):
    """(exit code, stdout, stderr) of ``numnet ARGS``, run in this process."""
    import pytest

    from numnet.cli import main

    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return stop.value.code, out, err

