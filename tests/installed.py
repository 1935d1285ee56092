"""The installed ``numnet`` command, for the end-to-end tests (not collected: no test_ prefix)."""

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
