"""``numnet train``: fit a model on a table and save it, with progress and a metrics table."""

import json
import math
import os
import re

import typer

from .common import (
    _DROP_MISSING,
    _ENCODING,
    _JSON,
    _QUIET,
    _SEP,
    TABLES_HELP,
    UserError,
    _check_choice,
    _check_output,
    _check_range,
    _drop_missing_target,
    _echo_metrics,
    _history_summary,
    _Interrupted,
    _kept,
    _silence_warnings,
)
from .progress import _Progress

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



_DATA, _MODEL, _TRAINING, _CHECKPOINT = "Data", "Model", "Training", "Checkpoints"
_CLUSTER = "Dask cluster (docs/distributed.md)"
_PRIVACY = "Differential privacy (docs/privacy.md)"


def _parse_bounds(text):
    """``{column: (lo, hi)}`` from ``--dp-bounds COL=LO:HI,...``."""
    bounds = {}
    for part in _dp_parts(text):
        name, _, spec = part.rpartition("=")
        low, _, high = spec.partition(":")
        try:
            low, high = float(low), float(high)
        except ValueError:
            low = high = math.nan
        if not name or not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise UserError(f"--dp-bounds must be COL=LO:HI pairs with finite LO < HI, such as "
                            f"age=0:100,income=0:2e5, got {part!r}.")
        bounds[name] = (low, high)
    return bounds


def _parse_categories(text):
    """``{column: [category, ...]}`` from ``--dp-categories COL=a|b|c,...``."""
    categories = {}
    for part in _dp_parts(text):
        name, _, spec = part.rpartition("=")
        values = spec.split("|")
        if not name or not all(values):
            raise UserError(f"--dp-categories must be COL=A|B|C entries with non-empty "
                            f"categories, such as city=Paris|Rome,sex=f|m, got {part!r}.")
        categories[name] = values
    return categories


def _dp_parts(text):
    if text is None:
        return []
    return [part.replace("\\,", ",") for part in re.split(r"(?<!\\),", text)]


def _check_privacy_ranges(dp_epsilon, dp_delta, dp_max_grad_norm, dp_noise_multiplier):
    """The ranges of the --dp-* numbers, with the accountant's own rules and messages."""
    from ..privacy.accounting import check_noise_multiplier, check_target_epsilon

    try:
        if dp_epsilon is not None:
            check_target_epsilon(dp_epsilon, "--dp-epsilon")
        if dp_noise_multiplier is not None:
            check_noise_multiplier(dp_noise_multiplier, "--dp-noise-multiplier",
                                   allow_zero=False)
    except ValueError as error:
        raise UserError(str(error)) from None
    _check_range(dp_delta, "--dp-delta", "a float in (0, 1)", lambda v: 0 < v < 1)
    if dp_max_grad_norm is not None and not math.isfinite(dp_max_grad_norm):
        raise UserError(f"--dp-max-grad-norm must be a finite float > 0, got "
                        f"{dp_max_grad_norm!r}. An infinite bound clips nothing, so no noise "
                        "can hide a row; typical bounds are 0.1 to 10.")
    _check_range(dp_max_grad_norm, "--dp-max-grad-norm", "a float > 0", lambda v: v > 0)


def _privacy(dp_epsilon, dp_delta, dp_max_grad_norm, dp_noise_multiplier, dp_bounds,
             dp_categories, model, solver, early_stopping, learning_rate):
    """(estimator DP parameters, train_pipeline's privacy argument), or ({}, None) without DP."""
    private = dp_epsilon is not None or dp_noise_multiplier is not None
    if not private:
        for flag, value in (("--dp-delta", dp_delta), ("--dp-max-grad-norm", dp_max_grad_norm),
                            ("--dp-bounds", dp_bounds), ("--dp-categories", dp_categories)):
            if value is not None:
                raise UserError(f"{flag} applies only to private training: pass --dp-epsilon "
                                "EPS (or --dp-noise-multiplier SIGMA).")
        return {}, None
    if dp_epsilon is not None and dp_noise_multiplier is not None:
        raise UserError("--dp-epsilon and --dp-noise-multiplier exclude each other: give the "
                        "budget (the noise is calibrated to it) or the noise, not both.")
    _check_privacy_ranges(dp_epsilon, dp_delta, dp_max_grad_norm, dp_noise_multiplier)
    if solver is None and model in ("linear", "logistic"):
        raise UserError(f"--dp-epsilon needs --solver sgd or adam with --model {model}: its "
                        "default solver cannot train privately.")
    if solver in ("lbfgs", "gd"):
        raise UserError(f"--solver {solver} cannot train privately: pass --solver sgd or adam "
                        "with --dp-epsilon.")
    if learning_rate is None and model in ("linear", "logistic"):
        raise UserError(f"--dp-epsilon needs --learning-rate with --model {model}: its default "
                        "step size is computed from the data, outside the guarantee.")
    if early_stopping:
        raise UserError("--early-stopping watches the loss of private rows, outside the "
                        "guarantee of --dp-epsilon: train for a fixed --epochs instead.")
    import logging

    # dp-accounting's RDP orders that do not converge are excluded with an absl warning each
    logging.getLogger("absl").setLevel(logging.ERROR)
    params = {"dp_epsilon": dp_epsilon, "dp_delta": dp_delta,
              "dp_noise_multiplier": dp_noise_multiplier}
    if dp_max_grad_norm is not None:
        params["dp_max_grad_norm"] = dp_max_grad_norm
    return params, {"bounds": _parse_bounds(dp_bounds),
                    "categories": _parse_categories(dp_categories)}


def _checkpoint(directory, every, resume, run, frame, source, solver, solver_option,
                solvers="adam, sgd or gd"):
    """(Checkpoint, loaded state or None) for ``train --checkpoint-dir``, checked against the run.

    ``run`` holds the options that decide the result; with the data's hash it is stored in the
    checkpoint, and --resume refuses to continue with other options or other data. ``frame``
    None (a table on a cluster) leaves the data's hash to :func:`_check_data_hash`, once the
    distributed pass has computed it.
    """
    import hashlib

    import pandas as pd

    from ..io import Checkpoint

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
            f"resumed mid-run. Pass --solver {solvers}."
        )
    data_sha256 = None
    if frame is not None:
        digest = hashlib.sha256(json.dumps([list(frame.columns),
                                            [str(t) for t in frame.dtypes]]).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        data_sha256 = digest.hexdigest()
    info = {"run": {k: list(v) if isinstance(v, tuple) else v for k, v in run.items()},
            "data_sha256": data_sha256}
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
    if not isinstance(saved_run, dict) or not isinstance(saved.get("data_sha256"),
                                                         (str, type(None))):
        raise UserError(f"Cannot resume from {str(checkpoint)!r}: its record of the run's "
                        "options must be an object of option values and the data's hash a "
                        "string; the file was altered. Start afresh without --resume.")
    for key, value in info["run"].items():
        if saved_run.get(key) != value:
            flag = {"hidden": "--hidden", "seed": "--seed",
                    "data_parallel": "--scheduler/--workers"}.get(
                key, "--" + key.replace("_", "-"))
            raise UserError(
                f"--resume needs the options of the interrupted run, but {flag} was "
                f"{_shown(saved_run.get(key))} there and is {_shown(value)} here."
            )
    if frame is not None:
        _check_data_hash(checkpoint, data_sha256, source, resume)
    return checkpoint, state


def _check_data_hash(checkpoint, data_sha256, source, resume):
    """Store the data's hash in the checkpoint; with --resume, refuse other data."""
    checkpoint.info["data_sha256"] = data_sha256
    saved = checkpoint.loaded_info or {}
    if resume and saved.get("data_sha256") != data_sha256:
        raise UserError(f"--resume needs the data of the interrupted run, but {source!r} has "
                        "changed since the checkpoint was written.")



def _shown(value):
    if value is None:
        return "not given"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


def train(
    data: str = typer.Argument(..., help=TABLES_HELP, show_default=False, metavar="DATA"),
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
    dp_epsilon: float = typer.Option(None, "--dp-epsilon", help="Train with differential "
                                     "privacy (DP-SGD) spending at most this epsilon; needs "
                                     "--dp-bounds for numeric columns and --dp-categories for "
                                     "text columns and a classification target.",
                                     rich_help_panel=_PRIVACY, show_default=False,
                                     metavar="EPS"),
    dp_delta: float = typer.Option(None, "--dp-delta", help="The guarantee's delta [default: "
                                   "min(1e-5, 1 / (10 training rows))].",
                                   rich_help_panel=_PRIVACY, show_default=False, metavar="X"),
    dp_max_grad_norm: float = typer.Option(None, "--dp-max-grad-norm", help="C, the clipping "
                                           "norm of each row's gradient [default: 1].",
                                           rich_help_panel=_PRIVACY, show_default=False,
                                           metavar="C"),
    dp_noise_multiplier: float = typer.Option(None, "--dp-noise-multiplier", help="sigma, "
                                              "the noise in units of C, instead of "
                                              "--dp-epsilon (epsilon is then reported).",
                                              rich_help_panel=_PRIVACY, show_default=False,
                                              metavar="S"),
    dp_bounds: str = typer.Option(None, "--dp-bounds", help="Bounds of numeric columns (and a "
                                  "regression target): standardised with the midpoint and "
                                  "half-range, not the data's mean and deviation.",
                                  rich_help_panel=_PRIVACY, show_default=False,
                                  metavar="COL=LO:HI,..."),
    dp_categories: str = typer.Option(None, "--dp-categories", help="Categories of text "
                                      "columns (and a classification target's classes), "
                                      "instead of those found in the data.",
                                      rich_help_panel=_PRIVACY, show_default=False,
                                      metavar="COL=A|B,..."),
    scheduler: str = typer.Option(None, "--scheduler", help="Train data-parallel on the Dask "
                                  "cluster of this scheduler (tcp://host:8786); DATA is read "
                                  "by the workers.", rich_help_panel=_CLUSTER,
                                  show_default=False, metavar="ADDRESS"),
    workers: int = typer.Option(None, "--workers", help="Train data-parallel on a local Dask "
                                "cluster of N worker processes, started for this run.",
                                rich_help_panel=_CLUSTER, show_default=False, metavar="N"),
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

    DATA may be a folder or a glob of files with the same columns. With --workers N (a local
    cluster) or --scheduler ADDRESS, the workers read it and training is data-parallel:

        numnet train 'data/*.parquet' -t price -o houses.numnet --workers 4
    """
    _silence_warnings(quiet)
    from ..tabular import (
        check_columns,
        convert_numeric_text,
        estimator_class,
        is_pattern,
        read_table,
        read_tables,
        resolve_task,
        source_files,
    )

    _check_options(impute=impute, model=model, task=task, activation=activation,
                   penalty=penalty, solver=solver, dtype=dtype, dropout=dropout, alpha=alpha,
                   l1_ratio=l1_ratio, epochs=epochs, batch_size=batch_size,
                   learning_rate=learning_rate, patience=patience,
                   validation_fraction=validation_fraction, seed=seed,
                   checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
                   resume=resume)
    hidden_sizes = _parse_hidden(hidden)
    on_cluster = scheduler is not None or workers is not None
    if on_cluster:
        from .cluster import check_cluster_options

        check_cluster_options(scheduler=scheduler, workers=workers, data=data, options={
            "--dp-epsilon": dp_epsilon is not None,
            "--dp-noise-multiplier": dp_noise_multiplier is not None,
            "--early-stopping": early_stopping, "--dropout": bool(dropout),
            "--impute median": impute == "median", "--model": model, "--solver": solver})
    dp_params, privacy = _privacy(dp_epsilon, dp_delta, dp_max_grad_norm, dp_noise_multiplier,
                                  dp_bounds, dp_categories, model, solver,
                                  early_stopping, learning_rate)
    dp_options = {"dp_epsilon": dp_epsilon, "dp_delta": dp_delta,
                  "dp_max_grad_norm": dp_max_grad_norm,
                  "dp_noise_multiplier": dp_noise_multiplier, "dp_bounds": dp_bounds,
                  "dp_categories": dp_categories}
    # Before any work: an output that cannot be written must not cost a training run.
    checkpoint_file = None
    if checkpoint_dir is not None:
        from ..io import Checkpoint

        Checkpoint(checkpoint_dir).check_writable()
        checkpoint_file = str(Checkpoint(checkpoint_dir).path)
        if output is not None and _same_path(output, checkpoint_file):
            raise UserError(f"Cannot write {output!r}: it is the checkpoint file of "
                            f"--checkpoint-dir {checkpoint_dir!r}, which training writes. "
                            "Choose another output path.")
    _check_output(output, inputs=[*source_files(data), checkpoint_file])
    options = {"hidden": hidden_sizes, "activation": activation, "solver": solver,
               "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
               "penalty": penalty, "alpha": alpha, "l1_ratio": l1_ratio, "dropout": dropout,
               "early_stopping": early_stopping, "patience": patience}
    if on_cluster:
        _train_on_cluster(data, target=target, output=output, features=features,
                          exclude=exclude, impute=impute, sample_weight=sample_weight,
                          drop_missing_target=drop_missing_target, sep=sep, encoding=encoding,
                          scale_target=scale_target, model=model, task=task, options=options,
                          validation_fraction=validation_fraction, seed=seed, dtype=dtype,
                          scheduler=scheduler, workers=workers, quiet=quiet, as_json=as_json,
                          checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
                          resume=resume)
        return
    read = read_tables if is_pattern(data) else read_table  # a folder or glob: concatenated
    frame = read(data, sep=sep, encoding=encoding)
    source = "<stdin>" if data == "-" else data
    check_columns(frame, [target], "--target", source)
    frame = _drop_missing_target(frame, target, drop_missing_target, quiet)
    feature_list, excluded = _feature_columns(frame, target, features, exclude, sample_weight,
                                              source)
    frame = convert_numeric_text(frame, [target])
    resolved = resolve_task(frame, target, task, model)
    cls = estimator_class(model, resolved)
    params = {**_model_params(cls, model, options, seed), **dp_params}
    max_epochs = params.get("max_iter", cls().get_params().get("max_iter", 200))
    checkpoint = resumed = None
    if checkpoint_dir is not None:
        run = {"target": target, "features": features, "exclude": exclude,
               "impute": impute, "model": model, "scale_target": scale_target,
               "task": task, "sample_weight": sample_weight, "seed": seed, "dtype": dtype,
               "validation_fraction": validation_fraction, **options,
               **{k: v for k, v in dp_options.items() if v is not None}}
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
        if not quiet:
            held = f", {n_validation} held out for validation" if n_validation else ""
            typer.echo(f"Training {cls.__name__} ({resolved}) on {n_train} rows{held}.",
                       err=True)
            if resumed is not None:
                typer.echo(f"Resuming from {checkpoint} after {resumed.epoch} epoch(s)"
                           + (f" and {resumed.batch} batch(es)." if resumed.batch else "."),
                           err=True)
        progress.start()  # after the lines above: on a terminal the bar appears now

    pipeline, report = _fit(progress, learning_rate, frame, target=target,
                            features=feature_list, task=resolved, model=model, params=params,
                            impute=impute, sample_weight=sample_weight,
                            validation_fraction=validation_fraction, dtype=dtype,
                            random_state=seed, source=source, on_split=announce,
                            checkpoint=checkpoint, resume=resume, scale_target=scale_target,
                            privacy=privacy)
    settings = {**options, **dp_options, "exclude": excluded or None,
                "scale_target": None if scale_target else False}
    pipeline.info["settings"] = {k: v for k, v in settings.items() if v is not None}
    pipeline.info["history"] = _history_summary(getattr(pipeline.estimator, "history_", None))
    _save(pipeline, report, output, quiet, as_json)


def _same_path(a, b):
    """True when two paths name one file: the same resolved path, or the same existing file."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_options(*, impute, model, task, activation, penalty, solver, dtype, dropout, alpha,
                   l1_ratio, epochs, batch_size, learning_rate, patience, validation_fraction,
                   seed, checkpoint_dir, checkpoint_every, resume):
    """Every option's value, before anything is read."""
    from ..tabular import IMPUTE, MODELS, TASKS

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


def _feature_columns(frame, target, features, exclude, sample_weight, source):
    """(the --features, less the --exclude columns; the excluded columns)."""
    from ..tabular import check_columns, parse_columns

    feature_list = parse_columns(features)
    excluded = parse_columns(exclude) or []
    if excluded:
        check_columns(frame, excluded, "--exclude", source)
        if target in excluded:
            raise UserError(f"--exclude must not include the target column {target!r}.")
        if feature_list is None:
            feature_list = [c for c in frame.columns if c not in (target, sample_weight)]
        feature_list = [c for c in feature_list if c not in excluded]
    return feature_list, excluded


def _fit(progress, learning_rate, frame, fitter=None, **options):
    """``train_pipeline`` (or ``fitter``) with the progress line; errors as one line."""
    from ..exceptions import DivergenceError, TrainingInterrupted
    from ..tabular import train_pipeline

    try:
        pipeline, report = (fitter or train_pipeline)(frame, callbacks=[progress], **options)
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


def _train_on_cluster(data, *, target, output, features, exclude, impute, sample_weight,
                      drop_missing_target, sep, encoding, scale_target, model, task, options,
                      validation_fraction, seed, dtype, scheduler, workers, quiet, as_json,
                      checkpoint_dir, checkpoint_every, resume):
    """``train`` with --scheduler or --workers: read, fit and score on the Dask cluster."""
    from ..exceptions import SchedulerLostError
    from ..tabular import check_columns, estimator_class
    from ..tabular.cluster_fitting import train_pipeline_dask
    from ..tabular.sources import read_dask_table
    from .cluster import DASK_SOLVERS, cluster_client

    # MLPClassifier and MLPRegressor take the same options: the task may wait for the data.
    guess = task if task != "auto" else ("regression" if model == "linear" else "classification")
    cls = estimator_class(model, guess)
    params = _model_params(cls, model, options, seed)
    max_epochs = params.get("max_iter", cls().get_params().get("max_iter", 200))
    checkpoint = resumed = None
    if checkpoint_dir is not None:
        run = {"target": target, "features": features, "exclude": exclude, "impute": impute,
               "model": model, "scale_target": scale_target, "task": task,
               "sample_weight": sample_weight, "seed": seed, "dtype": dtype,
               "validation_fraction": validation_fraction, **options, "data_parallel": True}
        chosen = {**cls().get_params(), **params}
        if chosen["solver"] == "auto":  # on dask input: gd with an L1 part, else lbfgs
            l1_part = chosen["alpha"] > 0 and chosen["l1_ratio"] > 0
            chosen["solver"] = "gd" if l1_part else "lbfgs"
        resumable = [s for s in DASK_SOLVERS[model] if s != "lbfgs"]
        checkpoint, resumed = _checkpoint(
            checkpoint_dir, checkpoint_every, resume, run, None, data, chosen["solver"],
            options["solver"], solvers=" or ".join(resumable) if len(resumable) < 3
            else "adam, sgd or gd")
    progress = _Progress(max_epochs, enabled=not quiet)

    def dropped(n):
        if not quiet:
            typer.echo(f"Dropped {n} row(s) with a missing {target!r}.", err=True)

    def announce(n_train, n_validation, name, resolved):
        if not quiet:
            held = f", {n_validation} held out for validation" if n_validation else ""
            typer.echo(f"Training {name} ({resolved}) on {n_train} rows{held}, data-parallel "
                       "on the Dask cluster.", err=True)
            if resumed is not None:
                typer.echo(f"Resuming from {checkpoint} after {resumed.epoch} epoch(s)"
                           + (f" and {resumed.batch} batch(es)." if resumed.batch else "."),
                           err=True)
        progress.start()

    def data_hash(digest):
        if checkpoint is not None:
            _check_data_hash(checkpoint, digest, data, resume)

    # Lazy: the files' columns are checked here, before a cluster is started or reached.
    frame, _ = read_dask_table(data, sep=sep, encoding=encoding)
    check_columns(frame, [target], "--target", data)
    feature_list, excluded = _feature_columns(frame, target, features, exclude, sample_weight,
                                              data)
    try:
        with cluster_client(scheduler, workers) as client:
            pipeline, report = _fit(
                progress, options["learning_rate"], frame, fitter=train_pipeline_dask,
                target=target, features=feature_list, task=task, model=model, params=params,
                impute=impute, sample_weight=sample_weight,
                validation_fraction=validation_fraction, dtype=dtype, random_state=seed,
                source=data, on_split=announce, scale_target=scale_target,
                drop_missing_target=drop_missing_target, on_dropped=dropped, client=client,
                checkpoint=checkpoint, resume=resume,
                on_data_hash=None if checkpoint is None else data_hash)
    except SchedulerLostError as error:
        python = "once a scheduler is back, call again with resume=True."
        if checkpoint is None or python not in str(error):
            raise
        # the state from before the failed step is saved: say how to resume here
        raise UserError(str(error).replace(python, "once a scheduler is back, run the same "
                                                   "command with --resume.")) from None
    settings = {**options, "exclude": excluded or None,
                "scale_target": None if scale_target else False}
    pipeline.info["settings"] = {k: v for k, v in settings.items() if v is not None}
    pipeline.info["history"] = _history_summary(getattr(pipeline.estimator, "history_", None))
    _save(pipeline, report, output, quiet, as_json)
