"""``numnet train``: fit a model on a table and save it, with progress and a metrics table.

The command reads its options into a :class:`numnet.tabular.TrainSpec` (which checks them
all), trains it with :func:`numnet.tabular.fit` (in memory or on a Dask cluster, as the spec
says), then saves the model and reports. Messages name the spec's fields by their flags
(:meth:`TrainSpec.flag`).
"""

import json
import os
import warnings

import typer

from .common import (
    _DROP_MISSING,
    _ENCODING,
    _JSON,
    _QUIET,
    _SEP,
    TABLES_HELP,
    UserError,
    _check_output,
    _echo_metrics,
    _history_summary,
    _Interrupted,
    _kept,
    _silence_warnings,
)
from .progress import _Progress

_DATA, _MODEL, _TRAINING, _CHECKPOINT = "Data", "Model", "Training", "Checkpoints"
_CLUSTER = "Dask cluster (docs/distributed.md)"
_PRIVACY = "Differential privacy (docs/privacy.md)"


_DATA_OPTION = typer.Argument(..., help=TABLES_HELP, show_default=False, metavar="DATA")
_TARGET_OPTION = typer.Option(..., "--target", "-t", help="Column to predict.",
                              rich_help_panel=_DATA, show_default=False, metavar="COL")
_OUTPUT_OPTION = typer.Option(..., "--output", "-o", help="Model file to write.",
                              rich_help_panel=_DATA, show_default=False, metavar="MODEL")
_FEATURES_OPTION = typer.Option(None, help="Comma-separated feature columns [default: every "
                                "column but the target and the sample weight].",
                                rich_help_panel=_DATA, show_default=False, metavar="A,B,C")
_IMPUTE_OPTION = typer.Option(None, help="How missing values are filled: indicator (the "
                              "median plus a 0/1 'was missing' feature; missing text is a "
                              "category of its own), mean, median, most_frequent, or none "
                              "(missing values are an error) [default: indicator; none on a "
                              "cluster, under --dp-epsilon and with --preset classic].",
                              rich_help_panel=_DATA, show_default=False, metavar="HOW")
_SCALING_OPTION = typer.Option(None, help="How numeric columns are scaled: robust (median and "
                               "quartile spread, then smoothly clipped to (-3, 3)) or standard "
                               "(mean and standard deviation) [default: robust; standard with "
                               "--preset classic].", rich_help_panel=_DATA, show_default=False,
                               metavar="HOW")
_PRESET_OPTION = typer.Option(None, help="The model's recipe: best (3x256 ReLU layers, 64 "
                              "epochs, cosine schedule, label smoothing, best epoch kept), fast "
                              "(2x128, 32 epochs) or classic (scikit-learn's MLP defaults) "
                              "[default: best for --model mlp in memory, else classic]. "
                              "Options given explicitly win.", rich_help_panel=_MODEL,
                              show_default=False, metavar="NAME")
_REFIT_OPTION = typer.Option(None, "--refit/--no-refit", help="After the best preset's epoch "
                             "selection, train again on every row for the selected number of "
                             "epochs (the metrics stay those of the selected model) [default: "
                             "refit with --preset best or fast].", rich_help_panel=_TRAINING,
                             show_default=False)
_MEMBERS_OPTION = typer.Option(None, "--members", help="Networks the refit trains on every "
                               "row, each from its own seed, averaged as one network [default: "
                               "3 with --preset best, else 1].", rich_help_panel=_TRAINING,
                               show_default=False, metavar="K")
_TIME_LIMIT_OPTION = typer.Option(None, "--time-limit", help="Stop training after the epoch "
                                  "in which this many seconds have passed, keeping the best "
                                  "epoch so far.", rich_help_panel=_TRAINING,
                                  show_default=False, metavar="SECONDS")
_SAMPLE_WEIGHT_OPTION = typer.Option(None, "--sample-weight", help="Column of sample weights.",
                                     rich_help_panel=_DATA, show_default=False,
                                     metavar="COL")
_EXCLUDE_OPTION = typer.Option(None, "--exclude", help="Comma-separated columns to leave out "
                               "of the features (write \\, for a comma inside a name).",
                               rich_help_panel=_DATA, show_default=False, metavar="A,B")
_SCALE_TARGET_OPTION = typer.Option(True, "--scale-target/--no-scale-target",
                                    help="Standardise a regression target for training "
                                    "(predictions are mapped back).",
                                    rich_help_panel=_MODEL)
_MODEL_OPTION = typer.Option("mlp", help="linear (regression), logistic (classification) or "
                             "mlp (either).", rich_help_panel=_MODEL, metavar="NAME")
_TASK_OPTION = typer.Option("auto", help="classification, regression or auto: "
                            "classification for string, bool or integer targets with at most "
                            "20 values.", rich_help_panel=_MODEL, metavar="TASK")
_HIDDEN_OPTION = typer.Option(None, help="Hidden layer sizes, e.g. 64,32 [default: the "
                              "preset's: 256,256,256 best, 128,128 fast, 100 classic].",
                              rich_help_panel=_MODEL, show_default=False, metavar="N,N")
_ACTIVATION_OPTION = typer.Option(None, help="Hidden activation: identity, logistic, tanh, "
                                  "relu or leaky_relu [default: relu].", rich_help_panel=_MODEL,
                                  show_default=False, metavar="NAME")
_DROPOUT_OPTION = typer.Option(None, help="Dropout rate after each hidden layer, in [0, 1) "
                               "[default: 0].", rich_help_panel=_MODEL, show_default=False,
                               metavar="RATE")
_PENALTY_OPTION = typer.Option(None, help="Weight penalty: none, l2, l1 or elasticnet "
                               "[default: l2].", rich_help_panel=_MODEL, show_default=False,
                               metavar="NAME")
_ALPHA_OPTION = typer.Option(None, help="Penalty strength, >= 0.", rich_help_panel=_MODEL,
                             show_default=False, metavar="X")
_L1_RATIO_OPTION = typer.Option(None, "--l1-ratio", help="Share of L1 in the elastic-net "
                                "penalty, in [0, 1].", rich_help_panel=_MODEL,
                                show_default=False, metavar="X")
_SOLVER_OPTION = typer.Option(None, help="Optimiser: gd, sgd, adam or lbfgs [default: adam "
                              "for mlp, lbfgs otherwise].", rich_help_panel=_TRAINING,
                              show_default=False, metavar="NAME")
_EPOCHS_OPTION = typer.Option(None, help="Maximum number of epochs (iterations for lbfgs) "
                              "[default: 64 best, 32 fast, 200 classic].",
                              rich_help_panel=_TRAINING, show_default=False, metavar="N")
_BATCH_SIZE_OPTION = typer.Option(None, "--batch-size", help="Mini-batch size [default: "
                                  "256 best and fast, min(200, rows) classic].",
                                  rich_help_panel=_TRAINING, show_default=False, metavar="N")
_LEARNING_RATE_OPTION = typer.Option(None, "--learning-rate", help="Initial learning rate, "
                                     "> 0 [default: 0.002 best and fast, 0.001 classic].",
                                     rich_help_panel=_TRAINING, show_default=False,
                                     metavar="X")
_EARLY_STOPPING_OPTION = typer.Option(None, "--early-stopping/--no-early-stopping",
                                      help="Stop when the score on a validation share of "
                                      "the training rows stops improving.",
                                      rich_help_panel=_TRAINING, show_default=False)
_PATIENCE_OPTION = typer.Option(None, help="Epochs without improvement before stopping "
                                "[default: 10].", rich_help_panel=_TRAINING, show_default=False,
                                metavar="N")
_VALIDATION_FRACTION_OPTION = typer.Option(
        0.2, "--validation-fraction", help="Share of rows held out for the validation "
        "metrics, in [0, 1); 0 trains on every row.", rich_help_panel=_TRAINING, metavar="X")
_VALIDATION_BATCH_SIZE_OPTION = typer.Option(
        None, "--validation-batch-size", help="Rows per forward pass when the epoch selection "
        "or --early-stopping scores its held-out rows after each epoch: less memory, the same "
        "scores to rounding [default: all at once].", rich_help_panel=_TRAINING,
        show_default=False, metavar="N")
_SEED_OPTION = typer.Option(0, help="Seed for the split, the initial weights and shuffling.",
                            rich_help_panel=_TRAINING, metavar="N")
_DTYPE_OPTION = typer.Option("float64", help="Floating-point type: float32 or float64.",
                             rich_help_panel=_TRAINING, metavar="TYPE")
_CHECKPOINT_DIR_OPTION = typer.Option(None, "--checkpoint-dir", help="Folder for a checkpoint "
                                      "of the training state, written every --checkpoint-every "
                                      "epochs and on Ctrl-C or SIGTERM (then the command exits "
                                      "and prints how to resume).", rich_help_panel=_CHECKPOINT,
                                      show_default=False, metavar="DIR")
_CHECKPOINT_EVERY_OPTION = typer.Option(None, "--checkpoint-every", help="Epochs between "
                                        "checkpoints [default: 1].",
                                        rich_help_panel=_CHECKPOINT, show_default=False,
                                        metavar="N")
_RESUME_OPTION = typer.Option(False, "--resume", help="Continue the run saved in "
                              "--checkpoint-dir; with the same data and options the model is "
                              "bit for bit that of an uninterrupted run.",
                              rich_help_panel=_CHECKPOINT)
_DP_EPSILON_OPTION = typer.Option(None, "--dp-epsilon", help="Train with differential "
                                  "privacy (DP-SGD) spending at most this epsilon; needs "
                                  "--dp-bounds for numeric columns and --dp-categories for "
                                  "text columns and a classification target.",
                                  rich_help_panel=_PRIVACY, show_default=False,
                                  metavar="EPS")
_DP_DELTA_OPTION = typer.Option(None, "--dp-delta", help="The guarantee's delta [default: "
                                "min(1e-5, 1 / (10 training rows))].",
                                rich_help_panel=_PRIVACY, show_default=False, metavar="X")
_DP_MAX_GRAD_NORM_OPTION = typer.Option(None, "--dp-max-grad-norm", help="C, the clipping "
                                        "norm of each row's gradient [default: 1].",
                                        rich_help_panel=_PRIVACY, show_default=False,
                                        metavar="C")
_DP_NOISE_MULTIPLIER_OPTION = typer.Option(None, "--dp-noise-multiplier", help="sigma, "
                                           "the noise in units of C, instead of "
                                           "--dp-epsilon (epsilon is then reported).",
                                           rich_help_panel=_PRIVACY, show_default=False,
                                           metavar="S")
_DP_SAMPLER_OPTION = typer.Option(None, "--dp-sampler", help="How each Poisson batch is "
                                  "drawn: uniform (one number per row) or geometric (the gaps "
                                  "between its rows, faster for small batches); the same "
                                  "guarantee, other draws [default: uniform].",
                                  rich_help_panel=_PRIVACY, show_default=False,
                                  metavar="NAME")
_DP_BOUNDS_OPTION = typer.Option(None, "--dp-bounds", help="Bounds of numeric columns (and a "
                                 "regression target): standardised with the midpoint and "
                                 "half-range, not the data's mean and deviation.",
                                 rich_help_panel=_PRIVACY, show_default=False,
                                 metavar="COL=LO:HI,...")
_DP_CATEGORIES_OPTION = typer.Option(None, "--dp-categories", help="Categories of text "
                                     "columns (and a classification target's classes), "
                                     "instead of those found in the data.",
                                     rich_help_panel=_PRIVACY, show_default=False,
                                     metavar="COL=A|B,...")
_SCHEDULER_OPTION = typer.Option(None, "--scheduler", help="Train data-parallel on the Dask "
                                 "cluster of this scheduler (tcp://host:8786); DATA is read "
                                 "by the workers.", rich_help_panel=_CLUSTER,
                                 show_default=False, metavar="ADDRESS")
_WORKERS_OPTION = typer.Option(None, "--workers", help="Train data-parallel on a local Dask "
                               "cluster of N worker processes, started for this run.",
                               rich_help_panel=_CLUSTER, show_default=False, metavar="N")


def train(
    data: str = _DATA_OPTION,
    target: str = _TARGET_OPTION,
    output: str = _OUTPUT_OPTION,
    features: str = _FEATURES_OPTION,
    impute: str = _IMPUTE_OPTION,
    sample_weight: str = _SAMPLE_WEIGHT_OPTION,
    exclude: str = _EXCLUDE_OPTION,
    drop_missing_target: bool = _DROP_MISSING,
    sep: str = _SEP,
    encoding: str = _ENCODING,
    scaling: str = _SCALING_OPTION,
    scale_target: bool = _SCALE_TARGET_OPTION,
    model: str = _MODEL_OPTION,
    preset: str = _PRESET_OPTION,
    task: str = _TASK_OPTION,
    hidden: str = _HIDDEN_OPTION,
    activation: str = _ACTIVATION_OPTION,
    dropout: float = _DROPOUT_OPTION,
    penalty: str = _PENALTY_OPTION,
    alpha: float = _ALPHA_OPTION,
    l1_ratio: float = _L1_RATIO_OPTION,
    solver: str = _SOLVER_OPTION,
    epochs: int = _EPOCHS_OPTION,
    batch_size: int = _BATCH_SIZE_OPTION,
    learning_rate: float = _LEARNING_RATE_OPTION,
    early_stopping: bool = _EARLY_STOPPING_OPTION,
    patience: int = _PATIENCE_OPTION,
    time_limit: float = _TIME_LIMIT_OPTION,
    refit: bool = _REFIT_OPTION,
    members: int = _MEMBERS_OPTION,
    validation_fraction: float = _VALIDATION_FRACTION_OPTION,
    validation_batch_size: int = _VALIDATION_BATCH_SIZE_OPTION,
    seed: int = _SEED_OPTION,
    dtype: str = _DTYPE_OPTION,
    checkpoint_dir: str = _CHECKPOINT_DIR_OPTION,
    checkpoint_every: int = _CHECKPOINT_EVERY_OPTION,
    resume: bool = _RESUME_OPTION,
    dp_epsilon: float = _DP_EPSILON_OPTION,
    dp_delta: float = _DP_DELTA_OPTION,
    dp_max_grad_norm: float = _DP_MAX_GRAD_NORM_OPTION,
    dp_noise_multiplier: float = _DP_NOISE_MULTIPLIER_OPTION,
    dp_sampler: str = _DP_SAMPLER_OPTION,
    dp_bounds: str = _DP_BOUNDS_OPTION,
    dp_categories: str = _DP_CATEGORIES_OPTION,
    scheduler: str = _SCHEDULER_OPTION,
    workers: int = _WORKERS_OPTION,
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Train a model on a table and save it with its preprocessing.

    Numeric columns are scaled, string columns one-hot encoded and missing values filled (with
    an indicator); the model file keeps this preprocessing, so predict and evaluate take raw
    data. The default model is the 'best' preset, measured on real tables (docs/cli.md). A
    share of the rows (--validation-fraction) is held out, and the command ends with the
    metrics on it.

    Example:

        numnet train houses.csv --target price --hidden 64,32 -o houses.numnet

    With --checkpoint-dir, Ctrl-C (or SIGTERM) saves the training state and exits; the same
    command with --resume continues:

        numnet train houses.csv -t price -o houses.numnet --checkpoint-dir run --resume

    DATA may be a folder or a glob of files with the same columns. With --workers N (a local
    cluster) or --scheduler ADDRESS, the workers read it and training is data-parallel:

        numnet train 'data/*.parquet' -t price -o houses.numnet --workers 4
    """
    options = {k: v for k, v in locals().items() if k not in ("output", "quiet", "as_json")}
    _silence_warnings(quiet)
    from ..tabular import TrainSpec, fit, max_epochs

    spec = TrainSpec.from_cli(**options)
    _check_outputs(spec, output)
    progress = _Progress(max_epochs(spec), enabled=not quiet)
    pipeline, report = _fit(spec, progress, quiet, fit)
    pipeline.info["history"] = _history_summary(getattr(pipeline.estimator, "history_", None))
    _save(pipeline, report, output, quiet, as_json)


def _check_outputs(spec, output):
    """Before any work: an output that cannot be written must not cost a training run."""
    from ..io import Checkpoint
    from ..tabular import source_files

    checkpoint_file = None
    if spec.checkpoint_dir is not None:
        Checkpoint(spec.checkpoint_dir).check_writable()
        checkpoint_file = str(Checkpoint(spec.checkpoint_dir).path)
        if _same_path(output, checkpoint_file):
            raise UserError(f"Cannot write {output!r}: it is the checkpoint file of "
                            f"--checkpoint-dir {spec.checkpoint_dir!r}, which training writes. "
                            "Choose another output path.")
    _check_output(output, inputs=[*source_files(spec.data), checkpoint_file])


def _same_path(a, b):
    """True when two paths name one file: the same resolved path, or the same existing file."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _announcer(progress, quiet):
    """``fit``'s on_event: what the run does, on stderr (unless --quiet), then the bar."""

    def on_event(name, **details):
        if name == "time_limit":
            progress.clear()
            warnings.warn(f"training stopped at --time-limit {details['seconds']:g} s after "
                          f"epoch {details['epoch']}; the best epoch so far is kept.",
                          UserWarning, stacklevel=2)
            return
        if name == "refit":
            if not quiet:
                progress.clear()
                count = details.get("members", 1)
                networks = f"{count} networks" if count > 1 else "the network"
                typer.echo(f"Refitting {networks} on all {details['rows']} rows for "
                           f"{details['epochs']} epochs (the selected epoch count).", err=True)
            return
        if name == "dropped" and not quiet:
            typer.echo(f"Dropped {details['n']} row(s) with a missing {details['target']!r}.",
                       err=True)
        if name != "split":
            return
        if not quiet:
            n_validation = details["n_validation"]
            held = f", {n_validation} held out for validation" if n_validation else ""
            where = ", data-parallel on the Dask cluster" if details["cluster"] else ""
            typer.echo(f"Training {details['estimator']} ({details['task']}) on "
                       f"{details['n_train']} rows{held}{where}.", err=True)
            if details["resumed"] is not None:
                checkpoint, epoch, batch = details["resumed"]
                typer.echo(f"Resuming from {checkpoint} after {epoch} epoch(s)"
                           + (f" and {batch} batch(es)." if batch else "."), err=True)
        progress.start()  # after the lines above: on a terminal the bar appears now

    return on_event


def _fit(spec, progress, quiet, fit):
    """``fit(spec)`` with the progress line; errors as one line."""
    from ..exceptions import DivergenceError, SchedulerLostError, TrainingInterrupted

    try:
        pipeline, report = fit(spec, callbacks=[progress],
                               on_event=_announcer(progress, quiet))
    except TrainingInterrupted as stop:
        progress.close(done=False)
        raise _Interrupted(stop) from None
    except DivergenceError as error:
        progress.close(done=False)
        rate = spec.learning_rate
        hint = f" (it was {rate:g})" if rate is not None else ""
        raise UserError(
            f"training diverged: the loss became NaN or infinite in epoch {error.epoch}, so no "
            f"model was saved. Lower --learning-rate{hint}, or look for extreme values in the "
            "data."
        ) from None
    except SchedulerLostError as error:
        progress.close(done=False)
        python = "once a scheduler is back, call again with resume=True."
        if spec.checkpoint_dir is None or python not in str(error):
            raise
        # the state from before the failed step is saved: say how to resume here
        raise UserError(str(error).replace(python, "once a scheduler is back, run the same "
                                                   "command with --resume.")) from None
    except BaseException:
        progress.close(done=False)
        raise
    progress.close(kept=pipeline.info.get("metrics_epoch"), selected="refit" in pipeline.info)
    return pipeline, report


def _save(pipeline, report, output, quiet, as_json):
    """Write the model file, then the metrics table (or the JSON report)."""
    from ..io import save

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
