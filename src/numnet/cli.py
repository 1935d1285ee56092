"""The ``numnet`` command line: train, predict, evaluate, inspect, plot and demo.

Exit codes: 0 on success; 2 for a usage or data error, reported as one line on stderr with no
traceback; 1 for an internal error (the traceback is kept, so that it can be reported).
Heavy imports (pandas, scikit-learn, matplotlib) happen inside the commands, so that
``numnet --version`` and ``numnet --help`` stay fast.
"""

import json
import math
import shlex
import signal
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import typer

from . import __version__

app = typer.Typer(
    name="numnet",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no boxes, and [default: x] is not read as markup
)

DATA_HELP = "CSV, TSV or Parquet file (by suffix); - reads CSV from stdin."
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


# ------------------------------------------------------------------------------------ train


def _parse_hidden(text):
    if text is None:
        return None
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise UserError(
            f"--hidden must be comma-separated integers >= 1 such as 64,32, got {text!r}."
        )
    return sizes


ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
PENALTIES = ("none", "l2", "l1", "elasticnet")
SOLVERS = ("gd", "sgd", "adam", "lbfgs")

# CLI option -> estimator hyperparameter (scikit-learn's names).
OPTION_PARAMS = {
    "hidden": "hidden_layer_sizes", "activation": "activation", "solver": "solver",
    "epochs": "max_iter", "batch_size": "batch_size", "learning_rate": "learning_rate_init",
    "penalty": "penalty", "alpha": "alpha", "l1_ratio": "l1_ratio", "dropout": "dropout",
    "early_stopping": "early_stopping", "patience": "n_iter_no_change",
}


def _model_params(cls, model, options, seed):
    """Estimator hyperparameters from the options the user set; refuse ones it does not have."""
    available = cls().get_params()
    params = {}
    for option, value in options.items():
        if value is None:
            continue
        param = OPTION_PARAMS[option]
        if option == "penalty":
            continue  # spelled with l1_ratio and the strength below (scikit-learn >= 1.8)
        if param == "alpha" and param not in available and "C" in available:
            # LogisticRegression's penalty is P(W) / (C * sum(s)), the MLP's alpha * P(W) /
            # sum(s): the same objective when C = 1 / alpha.
            params["C"] = math.inf if value == 0 else 1.0 / value
            continue
        if param not in available:
            flag = "--" + option.replace("_", "-")
            if option == "early_stopping" and not value:
                continue
            raise UserError(
                f"{flag} does not apply to --model {model} ({cls.__name__} has no {param})."
            )
        params[param] = value
    params.update(_penalty_params(options.get("penalty"), options.get("l1_ratio"), available))
    if "random_state" in available:
        params["random_state"] = seed
    return params


def _penalty_params(penalty, l1_ratio, available):
    """Estimator parameters for --penalty, spelled as scikit-learn >= 1.8 does.

    l1_ratio selects the penalty and "none" is a zero strength (alpha = 0, or C = inf), so the
    estimators' deprecated penalty is never set.
    """
    if penalty is None:
        return {}
    if l1_ratio is not None and penalty != "elasticnet":
        raise UserError(f"--l1-ratio applies only with --penalty elasticnet (or without "
                        f"--penalty), got --penalty {penalty}.")
    if penalty == "none":
        return {"C": math.inf} if "C" in available else {"alpha": 0.0}
    ratios = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.5 if l1_ratio is None else l1_ratio}
    return {"l1_ratio": ratios[penalty]}


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


def _checkpoint(directory, every, resume, run, frame, source, solver, solver_option):
    """(Checkpoint, loaded state or None) for ``train --checkpoint-dir``, checked against the run.

    ``run`` holds the options that decide the result; with the data's hash it is stored in the
    checkpoint, and --resume refuses to continue with other options or other data.
    """
    import hashlib

    import pandas as pd

    from .io import Checkpoint

    if solver in ("lstsq", "cholesky"):
        raise UserError(
            "--checkpoint-dir does not work with the exact least-squares solver of --model "
            "linear (its default without an L1 penalty): it finishes in one step, with nothing "
            "to resume. Train without --checkpoint-dir, or pass --solver adam, sgd or gd."
        )
    if solver == "lbfgs":
        default = "" if solver_option is not None else f" (the default of --model {run['model']})"
        raise UserError(
            f"--checkpoint-dir does not work with --solver lbfgs{default}: L-BFGS cannot be "
            "resumed mid-run. Pass --solver adam, sgd or gd."
        )
    digest = hashlib.sha256(json.dumps([list(frame.columns), [str(t) for t in frame.dtypes]])
                            .encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    info = {"run": {k: list(v) if isinstance(v, tuple) else v for k, v in run.items()},
            "data_sha256": digest.hexdigest()}
    checkpoint = Checkpoint(directory, every=1 if every is None else every, info=info)
    if not resume:
        if checkpoint.exists():
            raise UserError(
                f"--checkpoint-dir {directory!r} already holds a checkpoint ({checkpoint}). Pass "
                "--resume to continue that run, or choose another folder."
            )
        return checkpoint, None
    state = checkpoint.load()
    if state is None:
        raise UserError(f"--resume found no checkpoint in {directory!r}. Run the command "
                        "without --resume to start training.")
    saved = checkpoint.loaded_info or {}
    saved_run = saved.get("run", {})
    for key, value in info["run"].items():
        if saved_run.get(key) != value:
            flag = {"hidden": "--hidden", "seed": "--seed"}.get(key, "--" + key.replace("_", "-"))
            raise UserError(
                f"--resume needs the options of the interrupted run, but {flag} was "
                f"{_shown(saved_run.get(key))} there and is {_shown(value)} here."
            )
    if saved.get("data_sha256") != info["data_sha256"]:
        raise UserError(f"--resume needs the data of the interrupted run, but {source!r} has "
                        "changed since the checkpoint was written.")
    return checkpoint, state


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
    """', kept epoch 12 of 30' when the saved parameters are not the last epoch's, else ''."""
    kept, epochs = info.get("metrics_epoch"), (info.get("history") or {}).get("epochs")
    if kept is None or not epochs or kept == epochs:
        return ""
    return f", kept epoch {kept} of {epochs}"


def _shown(value):
    if value is None:
        return "not given"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


@app.command(no_args_is_help=True, cls=_Command)
def train(
    data: str = typer.Argument(..., help=DATA_HELP, show_default=False, metavar="DATA"),
    target: str = typer.Option(..., "--target", "-t", help="Column to predict.",
                               rich_help_panel=_DATA, show_default=False, metavar="COL"),
    output: str = typer.Option(..., "--output", "-o", help="Model file to write.",
                               rich_help_panel=_DATA, show_default=False, metavar="MODEL"),
    features: str = typer.Option(None, help="Comma-separated feature columns [default: every "
                                 "column but the target and the sample weight].",
                                 rich_help_panel=_DATA, show_default=False, metavar="A,B,C"),
    impute: str = typer.Option(None, help="Fill missing numeric values with the column's "
                               "mean, median or most_frequent value (strings: most frequent); "
                               "without it, missing values are an error.",
                               rich_help_panel=_DATA, show_default=False, metavar="HOW"),
    sample_weight: str = typer.Option(None, "--sample-weight", help="Column of sample weights.",
                                      rich_help_panel=_DATA, show_default=False,
                                      metavar="COL"),
    exclude: str = typer.Option(None, "--exclude", help="Comma-separated columns to leave out "
                                "of the features (write \\, for a comma inside a name).",
                                rich_help_panel=_DATA, show_default=False, metavar="A,B"),
    drop_missing_target: bool = _DROP_MISSING,
    sep: str = _SEP,
    encoding: str = _ENCODING,
    scale_target: bool = typer.Option(True, "--scale-target/--no-scale-target",
                                      help="Standardise a regression target for training "
                                      "(predictions are mapped back).",
                                      rich_help_panel=_MODEL),
    model: str = typer.Option("mlp", help="linear (regression), logistic (classification) or "
                              "mlp (either).", rich_help_panel=_MODEL, metavar="NAME"),
    task: str = typer.Option("auto", help="classification, regression or auto: "
                             "classification for string, bool or integer targets with at most "
                             "20 values.", rich_help_panel=_MODEL, metavar="TASK"),
    hidden: str = typer.Option(None, help="Hidden layer sizes, e.g. 64,32 [default: 100].",
                               rich_help_panel=_MODEL, show_default=False, metavar="N,N"),
    activation: str = typer.Option(None, help="Hidden activation: identity, logistic, tanh, "
                                   "relu or leaky_relu [default: relu].", rich_help_panel=_MODEL,
                                   show_default=False, metavar="NAME"),
    dropout: float = typer.Option(None, help="Dropout rate after each hidden layer, in [0, 1) "
                                  "[default: 0].", rich_help_panel=_MODEL, show_default=False,
                                  metavar="RATE"),
    penalty: str = typer.Option(None, help="Weight penalty: none, l2, l1 or elasticnet "
                                "[default: l2].", rich_help_panel=_MODEL, show_default=False,
                                metavar="NAME"),
    alpha: float = typer.Option(None, help="Penalty strength, >= 0.", rich_help_panel=_MODEL,
                                show_default=False, metavar="X"),
    l1_ratio: float = typer.Option(None, "--l1-ratio", help="Share of L1 in the elastic-net "
                                   "penalty, in [0, 1].", rich_help_panel=_MODEL,
                                   show_default=False, metavar="X"),
    solver: str = typer.Option(None, help="Optimiser: gd, sgd, adam or lbfgs [default: adam "
                               "for mlp, lbfgs otherwise].", rich_help_panel=_TRAINING,
                               show_default=False, metavar="NAME"),
    epochs: int = typer.Option(None, help="Maximum number of epochs (iterations for lbfgs) "
                               "[default: 200].", rich_help_panel=_TRAINING, show_default=False,
                               metavar="N"),
    batch_size: int = typer.Option(None, "--batch-size", help="Mini-batch size [default: "
                                   "min(200, rows)].", rich_help_panel=_TRAINING,
                                   show_default=False, metavar="N"),
    learning_rate: float = typer.Option(None, "--learning-rate", help="Initial learning rate, "
                                        "> 0 [default: 0.001].", rich_help_panel=_TRAINING,
                                        show_default=False, metavar="X"),
    early_stopping: bool = typer.Option(None, "--early-stopping/--no-early-stopping",
                                        help="Stop when the score on a validation share of "
                                        "the training rows stops improving.",
                                        rich_help_panel=_TRAINING, show_default=False),
    patience: int = typer.Option(None, help="Epochs without improvement before stopping "
                                 "[default: 10].", rich_help_panel=_TRAINING, show_default=False,
                                 metavar="N"),
    validation_fraction: float = typer.Option(
        0.2, "--validation-fraction", help="Share of rows held out for the validation "
        "metrics, in [0, 1); 0 trains on every row.", rich_help_panel=_TRAINING, metavar="X"),
    seed: int = typer.Option(0, help="Seed for the split, the initial weights and shuffling.",
                             rich_help_panel=_TRAINING, metavar="N"),
    dtype: str = typer.Option("float64", help="Floating-point type: float32 or float64.",
                              rich_help_panel=_TRAINING, metavar="TYPE"),
    checkpoint_dir: str = typer.Option(None, "--checkpoint-dir", help="Folder for a checkpoint "
                                       "of the training state, written every --checkpoint-every "
                                       "epochs and on Ctrl-C or SIGTERM (then the command exits "
                                       "and prints how to resume).", rich_help_panel=_CHECKPOINT,
                                       show_default=False, metavar="DIR"),
    checkpoint_every: int = typer.Option(None, "--checkpoint-every", help="Epochs between "
                                         "checkpoints [default: 1].",
                                         rich_help_panel=_CHECKPOINT, show_default=False,
                                         metavar="N"),
    resume: bool = typer.Option(False, "--resume", help="Continue the run saved in "
                                "--checkpoint-dir; with the same data and options the model is "
                                "bit for bit that of an uninterrupted run.",
                                rich_help_panel=_CHECKPOINT),
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Train a model on a table and save it with its preprocessing.

    Numeric columns are standardised and string columns one-hot encoded; the model file keeps
    this preprocessing, so predict and evaluate take raw data. A share of the rows
    (--validation-fraction) is held out, and the command ends with the metrics on it.

    Example:

        numnet train houses.csv --target price --hidden 64,32 -o houses.numnet

    With --checkpoint-dir, Ctrl-C (or SIGTERM) saves the training state and exits; the same
    command with --resume continues:

        numnet train houses.csv -t price -o houses.numnet --checkpoint-dir run --resume
    """
    _silence_warnings(quiet)
    from .exceptions import DivergenceError, TrainingInterrupted
    from .io import save
    from .tabular import (
        IMPUTE,
        MODELS,
        TASKS,
        check_columns,
        convert_numeric_text,
        estimator_class,
        parse_columns,
        read_table,
        resolve_task,
        train_pipeline,
    )

    _check_choice(impute, "--impute", IMPUTE)
    _check_choice(model, "--model", MODELS)
    _check_choice(task, "--task", TASKS)
    _check_choice(activation, "--activation", ACTIVATIONS)
    _check_choice(penalty, "--penalty", PENALTIES)
    _check_choice(solver, "--solver", SOLVERS)
    _check_choice(dtype, "--dtype", ("float32", "float64"))
    _check_range(dropout, "--dropout", "a float in [0, 1)", lambda v: 0 <= v < 1)
    _check_range(alpha, "--alpha", "a float >= 0", lambda v: v >= 0)
    _check_range(l1_ratio, "--l1-ratio", "a float in [0, 1]", lambda v: 0 <= v <= 1)
    _check_range(epochs, "--epochs", "an integer >= 1", lambda v: v >= 1)
    _check_range(batch_size, "--batch-size", "an integer >= 1", lambda v: v >= 1)
    _check_range(learning_rate, "--learning-rate", "a float > 0", lambda v: v > 0)
    _check_range(patience, "--patience", "an integer >= 1", lambda v: v >= 1)
    _check_range(validation_fraction, "--validation-fraction", "a float in [0, 1)",
                 lambda v: 0 <= v < 1)
    _check_range(seed, "--seed", "an integer >= 0", lambda v: v >= 0)
    _check_range(checkpoint_every, "--checkpoint-every", "an integer >= 1", lambda v: v >= 1)
    if checkpoint_dir is None and (resume or checkpoint_every is not None):
        flag = "--resume" if resume else "--checkpoint-every"
        raise UserError(f"{flag} needs --checkpoint-dir DIR, the folder of the checkpoint.")
    hidden_sizes = _parse_hidden(hidden)
    # Before any work: an output that cannot be written must not cost a training run.
    checkpoint_file = None
    if checkpoint_dir is not None:
        from .io import Checkpoint

        Checkpoint(checkpoint_dir).check_writable()
        checkpoint_file = str(Checkpoint(checkpoint_dir).path)
    _check_output(output, inputs=[data, checkpoint_file])
    frame = read_table(data, sep=sep, encoding=encoding)
    source = "<stdin>" if data == "-" else data
    check_columns(frame, [target], "--target", source)
    frame = _drop_missing_target(frame, target, drop_missing_target, quiet)
    feature_list = parse_columns(features)
    excluded = parse_columns(exclude) or []
    if excluded:
        check_columns(frame, excluded, "--exclude", source)
        if target in excluded:
            raise UserError(f"--exclude must not include the target column {target!r}.")
        if feature_list is None:
            feature_list = [c for c in frame.columns if c not in (target, sample_weight)]
        feature_list = [c for c in feature_list if c not in excluded]
    frame = convert_numeric_text(frame, [target])
    resolved = resolve_task(frame, target, task, model)
    cls = estimator_class(model, resolved)
    options = {"hidden": hidden_sizes, "activation": activation, "solver": solver,
               "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
               "penalty": penalty, "alpha": alpha, "l1_ratio": l1_ratio, "dropout": dropout,
               "early_stopping": early_stopping, "patience": patience}
    params = _model_params(cls, model, options, seed)
    max_epochs = params.get("max_iter", cls().get_params().get("max_iter", 200))
    checkpoint = resumed = None
    if checkpoint_dir is not None:
        run = {"target": target, "features": features, "exclude": exclude,
               "impute": impute, "model": model, "scale_target": scale_target,
               "task": task, "sample_weight": sample_weight, "seed": seed, "dtype": dtype,
               "validation_fraction": validation_fraction, **options}
        chosen = {**cls().get_params(), **params}
        if chosen["solver"] == "auto":
            # LinearRegression's 'auto' (its _resolve_solver): proximal gd with an L1 part,
            # otherwise an exact solver.
            l1_part = chosen["alpha"] > 0 and chosen["l1_ratio"] > 0
            chosen["solver"] = "gd" if l1_part else "lstsq"
        checkpoint, resumed = _checkpoint(checkpoint_dir, checkpoint_every, resume, run, frame,
                                          source, chosen["solver"], solver)
    progress = _Progress(max_epochs, enabled=not quiet)

    def announce(n_train, n_validation):
        progress.start()
        if not quiet:
            held = f", {n_validation} held out for validation" if n_validation else ""
            typer.echo(f"Training {cls.__name__} ({resolved}) on {n_train} rows{held}.",
                       err=True)
            if resumed is not None:
                typer.echo(f"Resuming from {checkpoint} after {resumed.epoch} epoch(s)"
                           + (f" and {resumed.batch} batch(es)." if resumed.batch else "."),
                           err=True)

    try:
        pipeline, report = train_pipeline(
            frame, target=target, features=feature_list, task=resolved,
            model=model, params=params, impute=impute, sample_weight=sample_weight,
            validation_fraction=validation_fraction, dtype=dtype, random_state=seed,
            callbacks=[progress], source=source, on_split=announce, checkpoint=checkpoint,
            resume=resume, scale_target=scale_target,
        )
    except TrainingInterrupted as stop:
        progress.close(done=False)
        raise _Interrupted(stop) from None
    except DivergenceError as error:
        progress.close(done=False)
        hint = f" (it was {learning_rate:g})" if learning_rate is not None else ""
        raise UserError(
            f"training diverged: the loss became NaN or infinite in epoch {error.epoch}, so no "
            f"model was saved. Lower --learning-rate{hint}, or look for extreme values in the "
            "data."
        ) from None
    except BaseException:
        progress.close(done=False)
        raise
    progress.close(kept=pipeline.info.get("metrics_epoch"))
    settings = {**options, "exclude": excluded or None,
                "scale_target": None if scale_target else False}
    pipeline.info["settings"] = {k: v for k, v in settings.items() if v is not None}
    pipeline.info["history"] = _history_summary(getattr(pipeline.estimator, "history_", None))
    try:
        save(pipeline, output)
    except ValueError as error:  # what the file would hold breaks a limit: nothing is written
        raise UserError(f"Cannot write {output!r}: {error}") from None
    report["output"] = output
    report["epochs"] = pipeline.info["history"].get("epochs")
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    elif not quiet:
        if report["metrics"]:
            typer.echo(f"Validation metrics ({report['n_validation']} rows"
                       f"{_kept(pipeline.info)}):")
            _echo_metrics(report["metrics"])
        typer.echo(f"Saved {output}")


class _Progress:
    """Epoch progress for ``est._fit_callbacks``: tqdm on a terminal, plain lines otherwise.

    ``elapsed`` counts from :meth:`start` (called when training starts), so it includes the
    first epoch. Warnings printed while the bar is shown go on their own line
    (:func:`_show_warning` asks :attr:`active` to clear the bar first).
    """

    active = None

    def __init__(self, max_epochs, *, enabled, stream=None):
        self.max_epochs = max_epochs
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.tty = enabled and self.stream.isatty()
        self.every = max(1, math.ceil(max_epochs / 10))
        self.bar = None
        self.started = None
        self.last_printed = 0
        self.last = None
        self.first_epoch = None

    def start(self):
        """Training starts now (elapsed counts from here)."""
        self.started = time.perf_counter()
        _Progress.active = self

    def __call__(self, epoch, history, holdout=None):
        if not self.enabled:
            return
        if self.started is None:
            self.start()
        if self.first_epoch is None:
            # a resumed run starts at a later epoch: the rate counts this process's epochs
            self.first_epoch = epoch - 1
        fields = self._fields(history, holdout)
        self.last = (epoch, fields)
        if self.tty:
            if self.bar is None:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=self.max_epochs, unit="epoch", file=self.stream,
                                leave=False, dynamic_ncols=True)
                _Progress.active = self
            self.bar.set_postfix(fields, refresh=False)
            self.bar.update(epoch - self.bar.n)
        elif epoch % self.every == 0 or epoch == self.max_epochs:
            self._line(epoch, fields)

    @staticmethod
    def _fields(history, holdout):
        fields = {"loss": f"{history.loss[-1]:.4g}"}
        if holdout is not None:
            fields["val_loss"] = f"{holdout['val_loss']:.4g}"
            fields[f"val_{holdout['metric_name']}"] = f"{holdout['val_metric']:.4g}"
        elif history.val_loss:
            fields["val_loss"] = f"{history.val_loss[-1]:.4g}"
            fields[f"val_{history.metric_name or 'metric'}"] = f"{history.val_metric[-1]:.4g}"
        return fields

    def _line(self, epoch, fields, *, final=False, kept=None):
        elapsed = time.perf_counter() - self.started
        eta = elapsed / max(epoch - (self.first_epoch or 0), 1) * max(self.max_epochs - epoch, 0)
        text = "  ".join(f"{k} {v}" for k, v in fields.items())
        end = "done" if final else f"eta {eta:.1f}s"
        if final and kept is not None and kept != epoch:
            end += f" (the model of epoch {kept} is kept)"
        print(f"epoch {epoch}/{self.max_epochs}  {text}  elapsed {elapsed:.1f}s  {end}",
              file=self.stream, flush=True)
        self.last_printed = epoch

    def clear(self):
        """Clear the bar's line, so that the next write starts a fresh line."""
        if self.bar is not None:
            self.bar.clear()

    def refresh(self):
        if self.bar is not None:
            self.bar.refresh()

    def close(self, *, done=True, kept=None):
        """End the display; ``done=False`` (interrupted, diverged) prints no summary line.

        ``kept`` is the epoch whose parameters were kept (early stopping), named on the last
        line when it is not the last epoch.
        """
        if _Progress.active is self:
            _Progress.active = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            if done and self.last is not None:  # the bar vanishes (leave=False): keep a line
                self._line(*self.last, final=True, kept=kept)
        elif done and self.enabled and self.last is not None and (
                self.last[0] != self.last_printed or (kept is not None
                                                      and kept != self.last[0])):
            self._line(*self.last, final=True, kept=kept)


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
        typer.echo(f"  {_METRIC_LABELS.get(key, key):<18} {value:.4f}{note}")


def _escaped(value):
    """A label or category for one line of output: newlines, tabs and backslashes escaped."""
    return (str(value).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
            .replace("\t", "\\t"))


# ---------------------------------------------------------------------- predict and evaluate


def _check_output(output, *, inputs=(), suffixes=None):
    """Refuse an --output that cannot be written, before the command does any work."""
    from .io import check_output

    if output is None:
        return
    if suffixes is not None and Path(output).suffix.lower() not in suffixes:
        listed = ", ".join(suffixes[:-1]) + " or " + suffixes[-1]
        raise UserError(f"--output must end in {listed}, got {output!r}.")
    try:
        check_output(output, inputs=inputs)
    except ValueError:
        raise UserError(f"--output must name a file to write, got {output!r}.") from None


def _load_model(path):
    """numnet.load, with a missing or unreadable file reported as one line (as data files are)."""
    from ._loading import load

    try:
        return load(path)
    except FileNotFoundError:
        raise UserError(f"Cannot read {path!r}: no such file.") from None
    except PermissionError:
        raise UserError(f"Cannot read {path!r}: permission denied.") from None
    except OSError as error:
        raise UserError(f"Cannot read {path!r}: {error.strerror or error}.") from None


def _load_pipeline(path, command):
    from .tabular import TabularPipeline

    model = _load_model(path)
    if not isinstance(model, TabularPipeline):
        raise UserError(
            f"{command} needs a model trained with 'numnet train', but {path!r} holds a "
            f"{type(model).__name__}. Use the Python API (numnet.load) for it."
        )
    return model


@app.command(no_args_is_help=True, cls=_Command)
def predict(
    model: str = typer.Argument(..., help="Model file written by 'numnet train'.",
                                show_default=False, metavar="MODEL"),
    data: str = typer.Argument(..., help=DATA_HELP, show_default=False, metavar="DATA"),
    output: str = typer.Option(None, "--output", "-o", help="File to write (CSV, TSV or "
                               "Parquet by suffix) [default: CSV to stdout].",
                               show_default=False),
    proba: bool = typer.Option(False, "--proba", help="Add a proba_<label> column per class."),
    keep: list[str] = _KEEP,
    sep: str = _SEP,
    encoding: str = _ENCODING,
    quiet: bool = _QUIET,
):
    """Predict a label or value for each row of a table.

    The output has the --keep columns, then 'prediction' (and, with --proba, one
    'proba_<label>' column per class), one row per input row, in order.

    Example:

        numnet predict houses.numnet new.csv --keep id -o predictions.csv
    """
    _silence_warnings(quiet)
    from .tabular import parse_columns, prediction_frame, read_table, write_table

    if output is not None:
        from .tabular import DataError, table_format

        try:
            table_format(output)
        except DataError:
            raise UserError(f"--output must be a .csv, .tsv or .parquet file (or leave it out "
                            f"for CSV on stdout), got {output!r}.") from None
    _check_output(output, inputs=[model, data])
    pipeline = _load_pipeline(model, "predict")
    frame = read_table(data, sep=sep, encoding=encoding)
    kept = [name for item in keep or [] for name in parse_columns(item)]
    source = "<stdin>" if data == "-" else data
    out = prediction_frame(pipeline, frame, proba=proba, keep=kept, source=source)
    if output is None:
        sys.stdout.write(out.to_csv(index=False))
    else:
        write_table(out, output)
        if not quiet:
            typer.echo(f"Wrote {len(out)} predictions to {output}", err=True)


@app.command(no_args_is_help=True, cls=_Command)
def evaluate(
    model: str = typer.Argument(..., help="Model file written by 'numnet train'.",
                                show_default=False, metavar="MODEL"),
    data: str = typer.Argument(..., help=DATA_HELP + " Must hold the target column.",
                               show_default=False, metavar="DATA"),
    target: str = typer.Option(None, "--target", "-t", help="Target column [default: the one "
                               "the model was trained on].", show_default=False),
    drop_missing_target: bool = _DROP_MISSING,
    sep: str = _SEP,
    encoding: str = _ENCODING,
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Score a model on a labelled table: metrics, and a confusion matrix for classifiers.

    Classification: accuracy, balanced accuracy, F1 (of the second class for two classes,
    macro-averaged otherwise) and log-loss. Regression: R², RMSE and MAE.

    Example:

        numnet evaluate houses.numnet test.csv --json
    """
    _silence_warnings(quiet)
    from .tabular import evaluate_pipeline, read_table

    pipeline = _load_pipeline(model, "evaluate")
    frame = read_table(data, sep=sep, encoding=encoding)
    source = "<stdin>" if data == "-" else data
    target = pipeline.target if target is None else target
    if drop_missing_target:
        from .tabular import check_columns

        check_columns(frame, [target], "--target", source)
        frame = _drop_missing_target(frame, target, True, quiet or as_json)
    result = evaluate_pipeline(pipeline, frame, source=source, target=target)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    if quiet:
        return
    typer.echo(f"Evaluated on {result['n_samples']} rows of {source} ({result['task']}):")
    labels = result.get("f1_labels")
    note = None
    if labels is not None and len(labels) < len(result["labels"]):
        note = (f"macro over the {len(labels)} of {len(result['labels'])} classes present: "
                + ", ".join(_escaped(label) for label in labels))
    _echo_metrics(result["metrics"], f1_note=note)
    if "confusion_matrix" in result:
        labels = [str(label) for label in result["labels"]]
        matrix = result["confusion_matrix"]
        width = max(6, *(len(label) for label in labels),
                    *(len(str(n)) for row in matrix for n in row))
        typer.echo("Confusion matrix (rows: true label, columns: predicted):")
        typer.echo(" " * (width + 2) + " ".join(f"{label:>{width}}" for label in labels))
        for label, row in zip(labels, matrix, strict=True):
            typer.echo(f"  {label:>{width}}" + "".join(f" {n:>{width}}" for n in row))


# ------------------------------------------------------------------------------------ explain

_EXPLAIN_METHODS = {"ig": "integrated-gradients", "saliency": "saliency",
                    "expected": "expected-gradients", "smoothgrad": "smoothgrad",
                    "gradient-x-input": "gradient-x-input", "permutation": "permutation"}
_EXPLAIN_CHUNK = 256  # rows per call: bounds memory and paces the progress bar


@app.command(no_args_is_help=True, cls=_Command)
def explain(
    model: str = typer.Argument(..., help="Model file written by 'numnet train'.",
                                show_default=False, metavar="MODEL"),
    data: str = typer.Argument(..., help=DATA_HELP, show_default=False, metavar="DATA"),
    method: str = typer.Option("ig", "--method", "-m", help="ig (integrated gradients), "
                               "saliency, expected (expected gradients), smoothgrad, "
                               "gradient-x-input or permutation (global, needs the target).",
                               metavar="METHOD"),
    target: str = typer.Option(None, "--target", "-t", help="Class to explain [default: the "
                               "predicted class of each row].", show_default=False),
    probability: bool = typer.Option(False, "--probability", help="Explain the class "
                                     "probability instead of its logit."),
    rows: str = typer.Option(None, "--rows", help="Explain only these rows, numbered from 1 "
                             "(e.g. 1,5,9); --plot then draws one waterfall per row.",
                             show_default=False),
    steps: int = typer.Option(None, "--steps", help="Integration steps (ig, default 50) or "
                              "samples (expected 200, smoothgrad 50, permutation repeats 5).",
                              show_default=False),
    seed: int = typer.Option(0, "--seed", help="Seed for expected, smoothgrad, permutation."),
    output: str = typer.Option(None, "--output", "-o", help="CSV of the attributions: one row "
                               "per explained row, one column per feature, then output, "
                               "baseline_output and delta.", show_default=False),
    plot: str = typer.Option(None, "--plot", help="Image (PNG, SVG, PDF): mean |attribution| "
                             "per column, or per-row waterfalls with --rows.", show_default=False),
    sep: str = _SEP,
    encoding: str = _ENCODING,
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Explain predictions: how much each column moved the model's output.

    Integrated gradients (the default) add up per row: the attributions sum to
    F(x) - F(x'), the change from the baseline (the training mean, no category) to the
    row; 'delta' reports how far they are from it. Categorical and date columns get one
    attribution each. See docs/explain.md.

    Example:

        numnet explain penguins.numnet penguins.csv --rows 1,2 -o why.csv --plot why.png
    """
    _silence_warnings(quiet)
    from .tabular import explain_table, permutation_table, read_table

    _check_choice(method, "--method", sorted(_EXPLAIN_METHODS))
    if steps is not None:
        _check_range(steps, "--steps", "an integer >= 1", lambda v: v >= 1)
    if output is not None and Path(output).suffix.lower() != ".csv":
        raise UserError(f"--output must end in .csv, got {output!r}.")
    _check_output(output, inputs=[model, data])
    if plot is not None:
        if Path(plot).suffix.lower() not in (".png", ".svg", ".pdf"):
            raise UserError(f"--plot must end in .png, .svg or .pdf, got {plot!r}.")
        from .io import check_output

        try:
            check_output(plot, inputs=[model, data, output])
        except ValueError:
            raise UserError(f"--plot must name a file to write, got {plot!r}.") from None
    pipeline = _load_pipeline(model, "explain")
    table = read_table(data, sep=sep, encoding=encoding)
    positions = _explain_rows(rows, len(table))
    frame = table if positions is None else table.iloc[positions]
    kind = _EXPLAIN_METHODS[method]
    if kind == "permutation":
        if rows is not None or plot is not None or target is not None or probability:
            raise UserError("--method permutation ranks the columns over the whole table: it "
                            "takes no --rows, --plot, --target or --probability.")
        result = permutation_table(pipeline, frame, n_repeats=steps or 5, random_state=seed)
        _report_permutation(result, output, quiet, as_json)
        return
    if probability and pipeline.task != "classification":
        raise UserError("--probability needs a classifier, but this model does regression.")
    options = {}
    if steps is not None:
        options["n_steps" if kind == "integrated-gradients" else "n_samples"] = steps
    # The baseline (average row) and expected gradients' draws come from every row of the
    # table, not just one chunk's or the --rows.
    options["background"] = table
    result = _explain_in_chunks(explain_table, pipeline, frame, kind, target,
                                "probability" if probability else "logit", seed, options,
                                enabled=not (quiet or as_json))
    numbers = np.arange(1, len(frame) + 1) if positions is None else np.asarray(positions) + 1
    if output is not None:
        from .tabular import write_table

        write_table(_attribution_frame(result, numbers), output)
    if plot is not None:
        from .tabular.plotting import plot_attributions

        plot_attributions(result, plot, rows=None if positions is None else dict(
            zip(range(len(numbers)), numbers.tolist(), strict=True)))
    _report_attributions(result, numbers, output, plot, quiet, as_json)


def _explain_rows(rows, n_rows):
    """0-based positions of the --rows (numbered from 1), or None for all rows."""
    if rows is None:
        return None
    try:
        numbers = [int(part) for part in rows.split(",") if part.strip()]
    except ValueError:
        numbers = []
    if not numbers or any(not 1 <= n <= n_rows for n in numbers):
        raise UserError(f"--rows must be comma-separated row numbers from 1 to {n_rows} "
                        f"(1 is the first line after the header), got {rows!r}.")
    return [n - 1 for n in numbers]


def _explain_in_chunks(explain_table, pipeline, frame, kind, target, output, seed, options, *,
                       enabled):
    """explain_table over chunks of rows, with a progress bar on a terminal for long runs."""
    from .explain import Attributions

    rng = np.random.default_rng(seed)
    starts = range(0, len(frame), _EXPLAIN_CHUNK)
    bar = None
    if enabled and len(starts) > 1 and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(frame), unit="row", file=sys.stderr, leave=False)
    parts = []
    try:
        for start in starts:
            parts.append(explain_table(pipeline, frame.iloc[start:start + _EXPLAIN_CHUNK],
                                       method=kind, target=target, output=output,
                                       random_state=rng, **options))
            if bar is not None:
                bar.update(len(parts[-1].values))
    finally:
        if bar is not None:
            bar.close()

    def joined(name):
        values = [getattr(part, name) for part in parts]
        return None if values[0] is None else np.concatenate(values)

    return Attributions(values=joined("values"), output=joined("output"),
                        baseline_output=joined("baseline_output"), delta=joined("delta"),
                        target=joined("target"), method=parts[0].method,
                        feature_names=parts[0].feature_names)


def _attribution_frame(result, numbers):
    import pandas as pd

    table = pd.DataFrame(result.values, columns=result.feature_names)
    table.insert(0, "target", result.target)
    table.insert(0, "row", numbers)
    table["output"] = result.output
    if result.baseline_output is not None:
        table["baseline_output"] = result.baseline_output
        table["delta"] = result.delta
    return table


def _report_attributions(result, numbers, output, plot, quiet, as_json):
    mean = np.abs(result.values).mean(axis=0)
    order = np.argsort(-mean)
    summary = {"method": result.method, "n_rows": len(numbers),
               "mean_abs_attribution": {result.feature_names[i]: float(mean[i]) for i in order},
               "max_abs_delta": None if result.delta is None else float(np.max(np.abs(
                   result.delta)))}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    if quiet:
        return
    width = max(len(str(name)) for name in result.feature_names)
    typer.echo(f"{result.method.replace('_', ' ')} over {len(numbers)} row(s), "
               f"mean |attribution| per {'column' if result.delta is not None else 'feature'}:")
    for i in order[:20]:
        typer.echo(f"  {_escaped(result.feature_names[i]):<{width}}  {mean[i]:.4g}")
    if len(order) > 20:
        typer.echo(f"  ... and {len(order) - 20} more")
    if result.delta is not None:
        typer.echo(f"Completeness: the attributions add up to F(x) - F(x') within "
                   f"{summary['max_abs_delta']:.2g} (largest |delta|).")
    for path, what in ((output, "attributions"), (plot, "chart")):
        if path is not None:
            typer.echo(f"Wrote the {what} to {path}", err=True)


def _report_permutation(result, output, quiet, as_json):
    import pandas as pd

    table = pd.DataFrame({"column": result.feature_names,
                          "importance_mean": result.importances_mean,
                          "importance_std": result.importances_std})
    table = table.sort_values("importance_mean", ascending=False, kind="stable")
    if output is not None:
        from .tabular import write_table

        write_table(table, output)
    if as_json:
        typer.echo(table.to_json(orient="records", indent=2))
        return
    if quiet:
        return
    typer.echo("Permutation importance: the drop in the score when a column is shuffled")
    width = max(len(str(name)) for name in table["column"])
    for row in table.itertuples(index=False):
        typer.echo(f"  {_escaped(row.column):<{width}}  {row.importance_mean:.4g} "
                   f"+- {row.importance_std:.2g}")
    if output is not None:
        typer.echo(f"Wrote the importances to {output}", err=True)


# -------------------------------------------------------------------------- inspect and plot


@app.command(no_args_is_help=True, cls=_Command)
def inspect(
    model: str = typer.Argument(..., help="Model file.", show_default=False, metavar="MODEL"),
    as_json: bool = _JSON,
):
    """Describe a model file: layers, preprocessing, settings, version and history.

    The file is fully validated on the way; nothing in it is executed.

    Example:

        numnet inspect houses.numnet
    """
    from .io import read_metadata

    obj = _load_model(model)
    metadata = read_metadata(model)
    description = _describe(obj, metadata)
    if as_json:
        typer.echo(json.dumps(description, indent=2, default=str))
        return
    typer.echo(f"{model}: numnet {description['kind']} (written by numnet "
               f"{description['numnet_version']}, file format {description['format_version']})")
    for key in ("target", "task", "estimator"):
        if key in description:
            typer.echo(f"{key}: {description[key]}")
    if description.get("classes") is not None:
        typer.echo(f"classes: {', '.join(_escaped(c) for c in description['classes'])}")
    if "params" in description:
        typer.echo(textwrap.fill("hyperparameters: " + ", ".join(
            f"{k}={v!r}" for k, v in description["params"].items()), width=88,
            subsequent_indent="  ", break_on_hyphens=False))
    if "settings" in description and description["settings"]:
        typer.echo("training options: " + " ".join(
            _flag(k, v) for k, v in description["settings"].items()))
    if "preprocessing" in description:
        pre = description["preprocessing"]
        typer.echo(f"preprocessing ({len(pre['columns'])} columns -> {pre['n_features']} "
                   f"features, impute={pre['impute']}):")
        for column in pre["columns"]:
            typer.echo(f"  {column}")
    net = description.get("network")
    if net:
        typer.echo(f"network ({net['n_in']} inputs, {net['dtype']}, "
                   f"{net['n_params']} parameters):")
        width = max(len(layer["layer"]) for layer in net["layers"])
        for layer in net["layers"]:
            typer.echo(f"  {layer['index']:>2}  {layer['layer']:<{width}}  "
                       f"{layer['params']:>8} params")
    history = description.get("history")
    if history:
        typer.echo("history: " + ", ".join(f"{k}={_fmt(v)}" for k, v in history.items()))
    if description.get("metrics"):
        typer.echo(f"validation metrics at training time{description.get('kept', '')}:")
        _echo_metrics(description["metrics"])


def _flag(option, value):
    flag = "--" + option.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else f"--no-{flag[2:]}"
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return f"{flag} {value}"


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _describe(obj, metadata):
    from .network import Sequential
    from .tabular import TabularPipeline

    description = {"kind": metadata["kind"], "numnet_version": metadata["numnet_version"],
                   "format_version": metadata["format_version"]}
    estimator = obj.estimator if isinstance(obj, TabularPipeline) else obj
    if isinstance(obj, TabularPipeline):
        description.update(target=obj.target, task=obj.task)
        pre = obj.preprocessor
        columns = []
        for column in pre.columns_:
            if column["kind"] == "numeric":
                columns.append(f"{column['name']}: numeric, mean {column['mean']:.4g}, scale "
                               f"{column['scale']:.4g}, fill {column['fill']:.4g}")
            else:
                cats = column["categories"]
                shown = ", ".join(_escaped(c) for c in cats[:8]) + (
                    ", ..." if len(cats) > 8 else "")
                columns.append(f"{column['name']}: categorical, {len(cats)} categories "
                               f"({shown})")
        description["preprocessing"] = {"impute": pre.impute, "columns": columns,
                                        "n_features": len(pre.feature_names_out_)}
        description["settings"] = obj.info.get("settings", {})
        description["metrics"] = obj.info.get("metrics", {})
        description["kept"] = _kept({**obj.info, "history": _history_summary(
            getattr(obj.estimator, "history_", None))}) if isinstance(
            obj.info.get("metrics_epoch"), int) else ""
    if not isinstance(estimator, Sequential):
        description["estimator"] = type(estimator).__name__
        description["params"] = estimator.get_params()
        classes = getattr(estimator, "classes_", None)
        description["classes"] = None if classes is None else [
            c.item() if hasattr(c, "item") else c for c in classes
        ]
        description["history"] = _history_summary(getattr(estimator, "history_", None))
        net = getattr(estimator, "network_", None)
    else:
        net = estimator
    if isinstance(net, Sequential):
        layers, width = [], net.n_in
        for index, layer in enumerate(net.layers):
            count = sum(math.prod(s) for s in layer.param_shapes(width).values())
            width = layer.output_dim(width)
            layers.append({"index": index, "layer": repr(layer), "params": count,
                           "n_out": width})
        description["network"] = {"n_in": net.n_in, "dtype": net.dtype.name,
                                  "n_params": int(net.params.size), "layers": layers}
    return description


@app.command(no_args_is_help=True, cls=_Command)
def plot(
    model: str = typer.Argument(..., help="Model file.", show_default=False, metavar="MODEL"),
    output: str = typer.Option(..., "--output", "-o", help="Image to write (PNG, SVG, PDF by "
                               "suffix).", show_default=False),
    data: str = typer.Option(None, "--data", help="Table to draw the decision regions of a "
                             "classifier with two numeric features over.", show_default=False),
    width: int = typer.Option(900, help="Image width in pixels.", metavar="PX"),
    height: int = typer.Option(450, help="Image height in pixels.", metavar="PX"),
    quiet: bool = _QUIET,
):
    """Plot the training and validation loss curves (and decision regions with --data).

    Needs matplotlib: pip install 'numnet[plot]'.

    Example:

        numnet plot iris.numnet -o curves.png --data iris.csv
    """
    _silence_warnings(quiet)
    from .tabular.plotting import plot_model

    _check_range(width, "--width", "an integer in [100, 10000]", lambda v: 100 <= v <= 10000)
    _check_range(height, "--height", "an integer in [100, 10000]", lambda v: 100 <= v <= 10000)
    _check_output(output, inputs=[model, data], suffixes=(".png", ".svg", ".pdf"))
    obj = _load_model(model)
    frame = None
    if data is not None:
        from .tabular import TabularPipeline, read_table

        if not isinstance(obj, TabularPipeline):
            raise UserError("--data needs a model trained with 'numnet train'.")
        frame = read_table(data)
    plot_model(obj, output, frame=frame, width=width, height=height)
    if not quiet:
        typer.echo(f"Wrote {output} ({width}x{height} pixels)", err=True)


# -------------------------------------------------------------------------------------- demo


@app.command()
def demo(seed: int = typer.Option(0, help="Seed for the synthetic data.")):
    """Train linear regression, logistic regression and a 2-4-1 ReLU network, showing the math.

    Example:

        numnet demo
    """
    from .demo import run

    run(echo=typer.echo, seed=seed)


# -------------------------------------------------------------------------------- entry point


def _user_errors():
    """Exception types that mean the user's input was wrong (exit 2, one line)."""
    from .exceptions import DivergenceError
    from .io import ModelFileError, OutputError
    from .tabular import DataError

    return (UserError, DataError, ModelFileError, DivergenceError, OutputError)


def _one_line(message):
    return " ".join(str(message).split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    progress = _Progress.active
    if progress is not None:
        progress.clear()  # not on the progress bar's line
    sys.stderr.write(f"warning: {_one_line(message)}\n")
    if progress is not None:
        progress.refresh()


class _Terminated(BaseException):
    """SIGTERM outside training (training itself saves a checkpoint first).

    Not a KeyboardInterrupt: typer turns those into a silent exit code 130.
    """


class _Interrupted(BaseException):
    """Carries a TrainingInterrupted from ``train`` to :func:`main`, past typer."""


def _terminate(signum, frame):
    raise _Terminated


def main(argv=None):
    """Entry point of the ``numnet`` console script; returns through ``sys.exit``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = typer.main.get_command(app)
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    handler = None
    if threading.current_thread() is threading.main_thread():
        handler = signal.signal(signal.SIGTERM, _terminate)
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
    except _Terminated:
        sys.stderr.write("error: terminated.\n")
        code = 128 + signal.SIGTERM
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
            sys.stderr.write(f"error: {_one_line(error)}\n")
            code = 2
        else:
            raise
    finally:
        warnings.showwarning = previous
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)
    sys.exit(code)


def _from_estimator(error):
    """True when a ValueError was raised by a numnet estimator validating hyperparameters."""
    tb = error.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("numnet.estimators", "numnet._validation")):
            return True
        tb = tb.tb_next
    return False
