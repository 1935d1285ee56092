"""The ``numnet`` command line: the typer app, its commands, error mapping and exit codes.

Exit codes: 0 on success; 2 for a usage or data error, reported as one line on stderr with no
traceback; 1 for an internal error (the traceback is kept, so that it can be reported).
Heavy imports (pandas, scikit-learn, matplotlib) happen inside the commands, so that
``numnet --version`` and ``numnet --help`` stay fast.
"""

import shlex
import signal
import sys
import threading
import warnings

import typer

from .._version import __version__
from . import demo, explain, export, inspect, playground, plot, predict, trace, train
from .common import UserError, _Command, _Interrupted, _printable
from .progress import _Progress

app = typer.Typer(
    name="numnet",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no boxes, and [default: x] is not read as markup
)


def _version(value: bool):
    if value:
        typer.echo(f"numnet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
):
    """Neural networks from first principles on NumPy.

    Train a model on a table, then predict, evaluate, inspect and plot it:

        numnet train houses.csv --target price -o houses.numnet

        numnet evaluate houses.numnet test.csv

    Run 'numnet COMMAND --help' for the options and an example of each command.
    """




# ---------------------------------------------------------------------------------- commands

# Each command lives in its own module; typer reads its options from the function signature.
app.command(no_args_is_help=True, cls=_Command)(train.train)
app.command(no_args_is_help=True, cls=_Command)(predict.predict)
app.command(no_args_is_help=True, cls=_Command)(predict.evaluate)
app.command(no_args_is_help=True, cls=_Command)(explain.explain)
app.command(no_args_is_help=True, cls=_Command)(inspect.inspect)
app.command(no_args_is_help=True, cls=_Command)(plot.plot)
app.command(no_args_is_help=True, cls=_Command)(export.export)
app.command()(demo.demo)
app.command(cls=_Command)(trace.trace)
app.command(cls=_Command)(playground.playground)


# -------------------------------------------------------------------------------- entry point


def _user_errors():
    """Exception types that mean the user's input was wrong (exit 2, one line)."""
    from ..exceptions import DivergenceError, SchedulerLostError
    from ..io import ModelFileError, OutputError
    from ..tabular import DataError

    return (UserError, DataError, ModelFileError, DivergenceError, OutputError,
            SchedulerLostError)


def _flags(error):
    """A spec's problems name its fields: on the command line, by their flags."""
    from ..tabular import SpecError, TrainSpec

    return error.render(TrainSpec.flag) if isinstance(error, SpecError) else error


def _one_line(message):
    """An error or warning as one line, with nothing in it that commands the terminal."""
    return " ".join(_printable(message).split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    progress = _Progress.active
    if progress is not None:
        progress.clear()  # not on the progress bar's line
    sys.stderr.write(f"warning: {_one_line(message)}\n")
    if progress is not None:
        progress.refresh()


class _Stopped(BaseException):
    """Ctrl-C (SIGINT) or SIGTERM, outside training's checkpointed stop (which saves first).

    Raised by the handler wherever the command is (every long loop of numnet runs Python
    between short NumPy calls, so that is within a second or two); the command's ``finally``
    blocks close its bars, files and clusters. Not a KeyboardInterrupt: typer turns those into
    a silent exit code 130, and the playground catches them to stop its server quietly.
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


_STOPPED = {signal.SIGINT: "error: interrupted.", signal.SIGTERM: "error: terminated."}


def _stop(signum, frame):
    raise _Stopped(signum)


def _install_stop_handlers():
    """Our handler for SIGINT and SIGTERM, where their handling is not ignored; the previous ones.

    A signal its parent set to be ignored (a job started in the background with '&' ignores
    SIGINT; nohup, SIGHUP only) stays ignored, as Python itself leaves it.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, _stop)
    return previous


def main(argv=None):
    """Entry point of the ``numnet`` console script; returns through ``sys.exit``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = typer.main.get_command(app)
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    handlers = _install_stop_handlers()
    try:
        with warnings.catch_warnings():  # --quiet's filter ends with the command
            result = command.main(args=argv, prog_name="numnet", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except _Interrupted as interrupted:
        stop = interrupted.args[0]
        again = argv if "--resume" in argv else [*argv, "--resume"]
        sys.stderr.write(
            f"interrupted by {signal.Signals(stop.signal).name} in epoch {stop.epoch}: the "
            f"training state is saved in {stop.checkpoint}. Resume with: "
            f"{shlex.join(['numnet', *again])}\n"
        )
        code = 128 + stop.signal
    except _Stopped as stop:
        _close_progress()
        sys.stderr.write(f"{_STOPPED[stop.signum]}\n")
        code = 128 + stop.signum
    except typer.TyperException as error:  # usage errors (typer vendors click's)
        if type(error).__name__ == "NoArgsIsHelpError":  # no arguments: show the help
            error.show()
            sys.exit(2)
        hint = ""
        ctx = getattr(error, "ctx", None)
        if ctx is not None:
            hint = f" See '{ctx.command_path} --help'."
        message = _one_line(error.format_message())
        if not message.endswith("."):
            message += "."
        sys.stderr.write(f"error: {message}{hint}\n")
        code = 2
    except (typer.Abort, KeyboardInterrupt):
        _close_progress()
        sys.stderr.write("error: interrupted.\n")
        code = 130
    except BrokenPipeError:
        # the reader of our stdout went away (e.g. | head): not an error of ours
        sys.stderr.close()
        code = 0
    except Exception as error:
        if isinstance(error, _user_errors()) or (
            isinstance(error, ValueError) and _from_estimator(error)
        ):
            sys.stderr.write(f"error: {_one_line(_flags(error))}\n")
            code = 2
        else:
            raise
    finally:
        warnings.showwarning = previous
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    sys.exit(code)


def _close_progress():
    """Clear a progress line still on the terminal, so that the message is one line."""
    progress = _Progress.active
    if progress is not None:
        progress.clear()


def _from_estimator(error):
    """True when a ValueError was raised by a numnet estimator validating hyperparameters."""
    tb = error.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("numnet.estimators", "numnet._validation")):
            return True
        tb = tb.tb_next
    return False
