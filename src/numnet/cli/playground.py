"""``numnet playground``: the local web page where a network learns in front of you."""

import json

import typer

from .common import _JSON, _QUIET, UserError, _check_choice, _silence_warnings


def playground(
    port: int = typer.Option(None, "--port", "-p", help="Port to listen on [default: 8765, or "
                             "the next free one]; 0 picks any free port.", show_default=False),
    host: str = typer.Option("127.0.0.1", "--host", help="Address (or host name) to listen "
                             "on. A loopback address (127.x, ::1, localhost) keeps the page on "
                             "this machine; any other makes it reachable from other machines "
                             "(a warning says so)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open the page in a "
                                    "browser; just print its address."),
    lang: str = typer.Option("en", "--lang", help="Language of the page: en or zh (Chinese).",
                             metavar="LANG"),
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Watch a network learn in the browser: data, layers, boundary, losses and traces, live.

    Starts a local web server (stop it with Ctrl-C) and opens its page. Training runs in
    numnet; the model downloads as a .numnet file and the run as Python code.

    Example:

        numnet playground

        numnet playground --port 9000 --no-browser --lang zh

    With --json, one line {"url": ...} once the server listens (for scripts); with --quiet,
    nothing but errors.
    """
    _silence_warnings(quiet)
    _check_choice(lang, "--lang", {"en", "zh"})
    if port is not None and not 0 <= port <= 65535:
        raise UserError(f"--port must be from 0 to 65535, got {port}.")
    try:
        from ..playground import server
    except ImportError as error:
        missing = (error.name or "a package").split(".")[0]
        raise UserError(f"numnet playground needs the playground extra ({missing} is not "
                        "installed). Install it with: pip install 'numnet[playground]'") from None
    try:
        server.serve(host=host, port=port, lang=lang, open_browser=not no_browser,
                     echo=_echo(quiet, as_json))
    except OSError as error:  # the port is taken, or the host is empty or cannot be used
        raise UserError(str(error)) from None


_LISTENING = "numnet playground: "


def _echo(quiet, as_json):
    """The server's ``echo(message, err=False)``, for --quiet and --json.

    --quiet prints nothing; --json prints the address as one JSON line on stdout instead of
    the server's lines (its warnings still go to stderr).
    """

    def echo(message, err=False):
        if quiet:
            return
        if as_json and message.startswith(_LISTENING):
            typer.echo(json.dumps({"url": message[len(_LISTENING):].split()[0]}))
        elif err or not as_json:
            typer.echo(message, err=err)

    return echo
