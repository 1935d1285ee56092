"""What the commands share: options, one-line user errors, checks, loading a model file."""

import re
import warnings
from pathlib import Path

import typer

from .report import number

DATA_HELP = ("Table file, by suffix: CSV (.csv, .txt), TSV (.tsv, .tab) or Parquet (.parquet, "
             ".pq); text may be compressed (.gz, .zip, ...); - reads CSV from stdin.")
TABLES_HELP = ("Table file, by suffix: CSV (.csv, .txt), TSV (.tsv, .tab) or Parquet (.parquet, "
               ".pq), text maybe compressed (.gz, .zip, ...); or a folder or quoted glob of "
               "such files with the same columns ('data/*.parquet'); - reads CSV from stdin.")
_QUIET = typer.Option(False, "--quiet", "-q", help="Print nothing but errors (and --json output).")
_JSON = typer.Option(False, "--json", help="Print machine-readable JSON to stdout.")
_SEP = typer.Option(None, "--sep", help="Field separator of a text file, e.g. ';' or \\t "
                    "[default: tab for .tsv, else comma; ';' when the header line has more ';' "
                    "than ','].", show_default=False, metavar="CHAR")
_ENCODING = typer.Option(None, "--encoding", help="Text encoding of the data, e.g. latin-1 "
                         "[default: utf-8].", show_default=False, metavar="NAME")
_DROP_MISSING = typer.Option(False, "--drop-missing-target", help="Drop the rows whose target "
                             "is missing (and say how many) instead of stopping.")
_KEEP = typer.Option(None, "--keep", help="Copy this input column to the output (repeatable, "
                     "or comma-separated).", show_default=False, metavar="COL")


class _Command(typer.core.TyperCommand):
    """Usage lines name the arguments as their metavars, ``MODEL DATA`` (typer adds braces)."""

    def collect_usage_pieces(self, ctx):
        return [piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece
                for piece in super().collect_usage_pieces(ctx)]


class UserError(Exception):
    """An error in the user's input: reported as one line on stderr, exit code 2."""



class _Interrupted(BaseException):
    """Carries a TrainingInterrupted from ``train`` to :func:`numnet.cli.app.main`, past typer."""


def _silence_warnings(quiet):
    """--quiet: warnings (convergence, unseen categories) are not printed either."""
    if quiet:
        warnings.simplefilter("ignore")


def _check_choice(value, flag, options):
    if value is not None and value not in options:
        listed = ", ".join(repr(o) for o in sorted(options))
        raise UserError(f"{flag} must be one of {{{listed}}}, got {value!r}.")
    return value


def _check_range(value, flag, rule, ok):
    if value is not None and not ok(value):
        raise UserError(f"{flag} must be {rule}, got {value!r}.")
    return value


_DATA, _MODEL, _TRAINING, _CHECKPOINT = "Data", "Model", "Training", "Checkpoints"



def _drop_missing_target(frame, target, drop, quiet):
    """``frame`` without the rows whose target is missing, for --drop-missing-target."""
    if not drop:
        return frame
    missing = frame[target].isna().to_numpy()
    if missing.any():
        if missing.all():
            raise UserError(f"target column {target!r} must have at least one value, got only "
                            "missing values.")
        if not quiet:
            typer.echo(f"Dropped {int(missing.sum())} row(s) with a missing {target!r}.",
                       err=True)
        frame = frame.loc[~missing].reset_index(drop=True)
    return frame


def _kept(info):
    """', kept epoch 12 of 30' when the saved parameters are not the last epoch's, else ''.

    After a refit on every row (the best preset), the metrics are those of the selected epoch
    of the first fit: ', epoch 12 of 64, before the refit on all 1500 rows'.
    """
    refit = info.get("refit")
    if refit:
        curve = info.get("validation_curve") or {}
        epochs = len(curve.get("val_loss") or ()) or refit["epochs"]
        return (f", epoch {refit['epochs']} of {epochs}, before the refit on all "
                f"{refit['rows']} rows")
    kept, epochs = info.get("metrics_epoch"), (info.get("history") or {}).get("epochs")
    if kept is None or not epochs or kept == epochs:
        return ""
    return f", kept epoch {kept} of {epochs}"



def _history_summary(history):
    if history is None or not getattr(history, "loss", None):
        return {}
    summary = {"epochs": len(history.loss), "final_loss": history.loss[-1],
               "best_epoch": history.best_epoch, "converged": history.converged}
    # early stopping's own validation share of the training rows (not the held-out rows of the
    # validation metrics), at the last epoch
    if history.val_loss:
        summary["stopping_split_last_loss"] = history.val_loss[-1]
    if history.val_metric:
        summary[f"stopping_split_last_{history.metric_name or 'metric'}"] = history.val_metric[-1]
    return summary


_METRIC_LABELS = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy",
                  "f1": "F1", "log_loss": "log-loss", "r2": "R²", "rmse": "RMSE",
                  "mae": "MAE"}


def _echo_metrics(metrics, *, f1_note=None):
    for key, value in metrics.items():
        note = f"  ({f1_note})" if key == "f1" and f1_note else ""
        typer.echo(f"  {_METRIC_LABELS.get(key, key):<18} {number(value)}{note}")


# Terminal escape sequences: CSI (ESC [ or C1 0x9b ... final byte), OSC, DCS, SOS, PM and APC
# (ESC ] P X ^ _ or their C1 forms, up to BEL or ST, or the end), and two-character ones (ESC c).
_SEQUENCE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
                       r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"
                       r"|\x1b[ -/]*[0-~]?", re.DOTALL)
# Other C0 and C1 controls, DEL, and the bidirectional marks that reorder what follows them.
_CONTROLS = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7f, 0xa0)]} | {
    code: f"\\u{code:04x}" for code in (0x61c, 0x200e, 0x200f, *range(0x202a, 0x202f),
                                         *range(0x2066, 0x206a))}
_KEEP_SPACE = {code: text for code, text in _CONTROLS.items() if chr(code) not in "\t\n\r"}
_IN_LINE = _CONTROLS | {ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def _printable(text):
    r"""``text`` that cannot command the terminal.

    Escape sequences (colours, OSC titles, cursor moves) are removed, other control characters
    and bidi overrides shown escaped (``\x07``, ``\u202e``). Newlines and tabs are kept (an
    error's message collapses them itself).
    """
    return _SEQUENCE.sub("", str(text)).translate(_KEEP_SPACE)


def _escaped(value):
    """A user's string (label, category, column name) for one line of output.

    As :func:`_printable`, with backslashes, newlines and tabs escaped too.
    """
    return _SEQUENCE.sub("", str(value)).translate(_IN_LINE)



def _check_output(output, *, inputs=(), suffixes=None, example="model.numnet"):
    """Refuse an --output that cannot be written, before the command does any work.

    ``example`` is the file name suggested inside an --output that is a folder.
    """
    from ..io import check_output

    if output is None:
        return
    if suffixes is not None and Path(output).suffix.lower() not in suffixes:
        listed = suffixes[0] if len(suffixes) == 1 else (", ".join(suffixes[:-1]) + " or "
                                                          + suffixes[-1])
        raise UserError(f"--output must end in {listed}, got {output!r}.")
    try:
        check_output(output, inputs=inputs, example=example)
    except ValueError:
        raise UserError(f"--output must name a file to write, got {output!r}.") from None


def _load_model(path, load=None):
    """numnet.load (or ``load``): a missing or unreadable file is one line, as data files are."""
    if load is None:
        from .._loading import load

    try:
        return load(path)
    except FileNotFoundError:
        raise UserError(f"Cannot read {path!r}: no such file.") from None
    except PermissionError:
        raise UserError(f"Cannot read {path!r}: permission denied.") from None
    except OSError as error:
        raise UserError(f"Cannot read {path!r}: {error.strerror or error}.") from None


def _load_pipeline(path, command):
    from ..tabular import TabularPipeline
    from ..tabular.predictor import load_for_prediction

    # predict needs the network only: its estimator is read without scikit-learn (half a second)
    model = _load_model(path, load_for_prediction if command == "predict" else None)
    inner = getattr(model, "pipeline_", None)  # a saved numnet.TabularClassifier / Regressor
    if isinstance(inner, TabularPipeline):
        return inner
    if not isinstance(model, TabularPipeline):
        raise UserError(
            f"{command} needs a model trained with 'numnet train', but {path!r} holds a "
            f"{type(model).__name__}. Use the Python API (numnet.load) for it."
        )
    return model


