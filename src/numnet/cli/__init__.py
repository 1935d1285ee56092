"""The ``numnet`` command line, one module per command.

=============  ================================================================================
``app``        the typer app, the registration of the commands, :func:`main`: error mapping
               (one line and exit 2 for the user's mistakes), signals and exit codes
``common``     options, one-line user errors, checks and model loading the commands share
``train``      ``numnet train`` (``progress``: its progress bar or lines)
``predict``    ``numnet predict`` and ``numnet evaluate``
``explain``    ``numnet explain``
``inspect``    ``numnet inspect``
``plot``       ``numnet plot``
``demo``       ``numnet demo``
=============  ================================================================================
"""

from .app import app, main

__all__ = ["app", "main"]
