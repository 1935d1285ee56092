"""One training run from its :class:`TrainSpec`: :func:`fit`, in memory or on a Dask cluster.

:func:`fit` reads the data the spec names, builds the estimator's hyperparameters from the
spec, sets up the checkpoint, and trains: with :func:`train_pipeline` in memory, or with
:func:`train_pipeline_dask` on the cluster of ``spec.scheduler`` or ``spec.workers``. What
happens on the way is told to ``on_event``; the caller prints it (the CLI) or not (Python).
"""

import hashlib
import json
import math
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from .fitting import estimator_class, resolve_task, task_from_options, train_pipeline
from .presets import (
    MIN_FREQUENCY,
    components,
    fit_to_data,
    preset_params,
    preset_preprocessing,
    resolve_members,
    resolve_preset,
)
from .problems import collect, raise_problems
from .reading import DataError, check_columns
from .spec_checks import DASK_SOLVERS, check_environment
from .spec_errors import SpecError, problem, ref

OPTION_PARAMS = {  # spec field -> estimator hyperparameter (scikit-learn's names)
    "hidden": "hidden_layer_sizes", "activation": "activation", "solver": "solver",
    "epochs": "max_iter", "batch_size": "batch_size", "learning_rate": "learning_rate_init",
    "penalty": "penalty", "alpha": "alpha", "l1_ratio": "l1_ratio", "dropout": "dropout",
    "early_stopping": "early_stopping", "patience": "n_iter_no_change",
    "validation_batch_size": "validation_batch_size",
}


def fit(spec, *, callbacks=(), on_event=None):
    """Train the run ``spec`` describes; ``(pipeline, report)`` as :func:`train_pipeline`.

    In memory, or data-parallel on a Dask cluster when ``spec.scheduler`` or ``spec.workers``
    is set. ``callbacks`` are called after each epoch as ``callback(epoch, history,
    holdout)``. ``on_event(name, **details)`` is told ``"dropped"`` (``n``, the rows without a
    target dropped) and ``"split"`` (``n_train``, ``n_validation``, ``estimator``, ``task``,
    ``cluster`` and ``resumed``: ``(checkpoint, epoch, batch)`` or None) before training.
    The pipeline's ``info`` holds the spec (``info["spec"]``).
    """
    check_environment(spec)
    if spec.resume and spec.preset is None and spec.checkpoint_dir is not None:
        from .checkpoints import saved_preset

        if saved_preset(spec) == "classic":  # the same command goes on as it started
            spec = spec.replace(preset="classic")
    event = on_event or (lambda name, **details: None)
    run = _cluster_run if spec.on_cluster else _memory_run
    pipeline, report = run(spec, list(callbacks), event)
    pipeline.info["settings"] = settings(spec)
    pipeline.info["spec"] = spec.to_dict()
    return pipeline, report


def max_epochs(spec):
    """The most epochs the run can take (for a progress bar)."""
    if spec.epochs is not None:
        return spec.epochs
    task = task_from_options(spec.task, spec.model) or "classification"
    available = estimator_class(spec.model, task)().get_params()
    params = {**available, **preset_params(resolve_preset(spec), available, {})}
    return params.get("max_iter", 200)


def settings(spec):
    """The options given, as model files have stored them (``info["settings"]``)."""
    values = {name: getattr(spec, name) for name in (*OPTION_PARAMS, "dp_epsilon", "dp_delta",
                                                     "dp_max_grad_norm", "dp_noise_multiplier",
                                                     "dp_sampler")}
    from .spec_render import value_text

    values["hidden"] = None if spec.hidden is None else list(spec.hidden)
    for name in ("dp_bounds", "dp_categories"):  # as the command line's text
        value = getattr(spec, name)
        values[name] = None if value is None else value_text(name, value)
    values["exclude"] = None if not spec.exclude else list(spec.exclude)
    values["scale_target"] = None if spec.scale_target else False
    return {k: v for k, v in values.items() if v is not None}


# ---------------------------------------------------------------------------- in memory


def _memory_run(spec, callbacks, event):
    from .columns import convert_numeric_text
    from .reading import read_table
    from .sources import is_pattern, read_tables

    read = read_tables if is_pattern(spec.data) else read_table  # a folder or glob: joined
    frame = read(spec.data, sep=spec.sep, encoding=spec.encoding)
    source = "<stdin>" if spec.data == "-" else spec.data
    _check_named_columns(frame, spec, source)
    if spec.drop_missing_target:
        frame = _drop_missing_target(frame, spec.target, event)
    features = _feature_columns(frame, spec, source)
    frame = convert_numeric_text(frame, [spec.target])
    task = resolve_task(frame, spec.target, spec.task, spec.model)
    cls = estimator_class(spec.model, task)
    params = {**model_params(cls, spec), **_privacy_params(spec)}
    preset = resolve_preset(spec)
    impute, scaling = preset_preprocessing(preset, spec)
    frequency = MIN_FREQUENCY[preset]
    params = fit_to_data(params, spec, frame[spec.target], task)
    checkpoint = resumed = None
    if spec.checkpoint_dir is not None:
        checkpoint, resumed = open_checkpoint(spec, cls(**params).resolved_solver(), frame,
                                              source)
    limit = None if spec.time_limit is None else TimeLimit(spec.time_limit, event)
    if limit is not None:
        callbacks = [*callbacks, limit]

    def on_split(n_train, n_validation):
        event("split", n_train=n_train, n_validation=n_validation, estimator=cls.__name__,
              task=task, cluster=False, resumed=_resumed(checkpoint, resumed))

    privacy = None
    if spec.private:
        privacy = {"bounds": {c: (lo, hi) for c, lo, hi in spec.dp_bounds or ()},
                   "categories": {c: list(v) for c, v in spec.dp_categories or ()}}
    with warnings.catch_warnings():
        if params.get("early_stopping") and params.get("n_iter_no_change", 0) >= params.get(
                "max_iter", math.inf):
            # epoch selection, not early stopping: reaching the last epoch is the plan
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
        pipeline, report = _train_in_memory(frame, spec, callbacks, features, task, params,
                                            impute, scaling, source, on_split, checkpoint,
                                            privacy, None if privacy else frequency)
        if refits(spec, preset, params, checkpoint, limit):
            pipeline = _refit(pipeline, frame, spec, features, task, params, impute, scaling,
                              source, event, resolve_members(preset, spec.members),
                              frequency)
    pipeline.info["components"] = components(
        preset, {**pipeline.estimator.get_params(), **params}, impute, scaling,
        refit="refit" in pipeline.info,
        members=pipeline.info.get("refit", {}).get("members", 1),
        min_frequency=pipeline.preprocessor.min_frequency)
    return pipeline, report


def refits(spec, preset, params, checkpoint, limit):
    """Whether the run refits on every row after its epoch selection (``--refit``).

    The presets ``best`` and ``fast`` do, unless ``--no-refit``: their epoch selection holds out
    a fifth of the training rows, and ``--validation-fraction`` another share for the metrics,
    so the selected model saw 64% of the rows. Not with early stopping asked for explicitly,
    a checkpoint (one run, one state) or a time limit (a second run would overrun it).
    """
    if spec.refit is False or preset not in ("best", "fast") or checkpoint is not None:
        return False
    if limit is not None:
        return False
    return bool(params.get("early_stopping")) and not spec.early_stopping


def _refit(first, frame, spec, features, task, params, impute, scaling, source, event,
           members, min_frequency):
    """The model trained again on every row for the epoch count the selection chose.

    ``members`` networks are trained, each from its own seed, and averaged as one
    (:func:`numnet.tabular.members.train_members`).

    The metrics, the validation curve and the kept epoch stay those of ``first`` (the model
    they measured, trained without the held-out rows): an honest estimate for the refit model,
    which saw more rows for as many epochs.
    """
    epochs = int(first.info.get("metrics_epoch") or params["max_iter"])
    event("refit", epochs=epochs, rows=len(frame), members=members)
    refit_params = {**params, "early_stopping": False, "max_iter": epochs,
                    "n_iter_no_change": epochs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # told once, by the first fit
        pipeline, _ = train_pipeline(
            frame, target=spec.target, features=features, task=task, model=spec.model,
            params=refit_params, impute=impute, scaling=scaling,
            sample_weight=spec.sample_weight, validation_fraction=0.0, dtype=spec.dtype,
            random_state=spec.seed, source=source, scale_target=spec.scale_target,
            members=members, min_frequency=min_frequency)
    kept = ("source", "model", "features", "sample_weight", "validation_fraction",
            "random_state", "n_train", "n_validation", "metrics", "validation_curve",
            "metrics_epoch")
    pipeline.info.update({k: first.info[k] for k in kept if k in first.info})
    pipeline.info["refit"] = {"epochs": epochs, "rows": int(len(frame)), "members": members}
    return pipeline


def _train_in_memory(frame, spec, callbacks, features, task, params, impute, scaling, source,
                     on_split, checkpoint, privacy, min_frequency):
    return train_pipeline(
        frame, callbacks=callbacks, target=spec.target, features=features, task=task,
        model=spec.model, params=params, impute=impute, scaling=scaling,
        sample_weight=spec.sample_weight,
        validation_fraction=spec.validation_fraction, dtype=spec.dtype, random_state=spec.seed,
        source=source, on_split=on_split, checkpoint=checkpoint, resume=spec.resume,
        scale_target=spec.scale_target, privacy=privacy, min_frequency=min_frequency)


class TimeLimit:
    """Stops training after the epoch during which ``seconds`` have passed (``--time-limit``).

    The run then ends as after its last epoch: with epoch selection the best epoch so far is
    kept. ``event("time_limit", epoch=..., seconds=...)`` says so. How many epochs fit depends
    on the machine, so a time-limited run is not reproducible bit for bit.
    """

    def __init__(self, seconds, event):
        self.seconds, self.event, self.start = seconds, event, time.monotonic()
        self.reached = False

    def __call__(self, epoch, history, holdout):
        if time.monotonic() - self.start < self.seconds:
            return False
        self.reached = True
        self.event("time_limit", epoch=epoch, seconds=self.seconds)
        return True


def _drop_missing_target(frame, target, event):
    missing = frame[target].isna().to_numpy()
    if missing.any():
        if missing.all():
            raise DataError(f"target column {target!r} must have at least one value, got only "
                            "missing values.")
        event("dropped", n=int(missing.sum()), target=target)
        frame = frame.loc[~missing].reset_index(drop=True)
    return frame


def _resumed(checkpoint, resumed):
    return None if resumed is None else (str(checkpoint), resumed.epoch, resumed.batch)


def _check_named_columns(frame, spec, source):
    """Every column the options name must be one of the table's: all unknown names at once."""
    named = [("target", [spec.target]), ("features", list(spec.features or ())),
             ("exclude", list(spec.exclude or ())),
             ("sample_weight", [spec.sample_weight] if spec.sample_weight else [])]
    raise_problems([found for field, names in named if names
                    for found in collect(check_columns, frame, names, field, source)])


def _feature_columns(frame, spec, source):
    """The features, less the excluded columns (the columns of the frame when not given)."""
    features = None if spec.features is None else list(spec.features)
    excluded = list(spec.exclude or ())
    if excluded:
        check_columns(frame, excluded, "exclude", source)
        if spec.target in excluded:
            raise SpecError([problem("{exclude} must not include the target column "
                                     "{value!r}.", value=spec.target)])
        if features is None:
            features = [c for c in frame.columns if c not in (spec.target, spec.sample_weight)]
        features = [c for c in features if c not in excluded]
    return features


def model_params(cls, spec):
    """Estimator hyperparameters from the options the spec sets; refuse ones it lacks."""
    available = cls().get_params()
    params = {}
    for option, param in OPTION_PARAMS.items():
        value = getattr(spec, option)
        if value is None or option == "penalty":
            continue  # the penalty is spelled with l1_ratio and the strength below
        if param == "alpha" and param not in available and "C" in available:
            # LogisticRegression's penalty is P(W) / (C * sum(s)), the MLP's alpha * P(W) /
            # sum(s): the same objective when C = 1 / alpha.
            params["C"] = math.inf if value == 0 else 1.0 / value
            continue
        if param not in available:
            if option == "early_stopping" and not value:
                continue
            raise SpecError([problem(
                ref(option) + " does not apply to {model} {model_value} ({estimator} has no "
                "{param}).", model_value=spec.model, estimator=cls.__name__, param=param)])
        params[param] = value
    params.update(_penalty_params(spec.penalty, spec.l1_ratio, available))
    given = {**params, **({"alpha": None} if spec.penalty is not None else {})}
    params = {**preset_params(resolve_preset(spec), available, given), **params}
    if "random_state" in available:
        params["random_state"] = spec.seed
    return params


def _penalty_params(penalty, l1_ratio, available):
    """Estimator parameters for the penalty, spelled as scikit-learn >= 1.8 does.

    l1_ratio selects the penalty and "none" is a zero strength (alpha = 0, or C = inf), so the
    estimators' deprecated penalty is never set.
    """
    if penalty is None:
        return {}
    if l1_ratio is not None and penalty != "elasticnet":
        raise SpecError([problem("{l1_ratio} applies only with {penalty} elasticnet (or "
                                 "without {penalty}), got {penalty} {value}.", value=penalty)])
    if penalty == "none":
        return {"C": math.inf} if "C" in available else {"alpha": 0.0}
    ratios = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.5 if l1_ratio is None else l1_ratio}
    return {"l1_ratio": ratios[penalty]}


def _privacy_params(spec):
    """The estimator's DP parameters ({} without privacy)."""
    if not spec.private:
        return {}
    import logging

    # dp-accounting's RDP orders that do not converge are excluded with an absl warning each
    logging.getLogger("absl").setLevel(logging.ERROR)
    params = {"dp_epsilon": spec.dp_epsilon, "dp_delta": spec.dp_delta,
              "dp_noise_multiplier": spec.dp_noise_multiplier}
    if spec.dp_max_grad_norm is not None:
        params["dp_max_grad_norm"] = spec.dp_max_grad_norm
    if spec.dp_sampler is not None:
        params["dp_sampler"] = spec.dp_sampler
    return params


# ------------------------------------------------------------------------------ on a cluster


def _cluster_run(spec, callbacks, event):
    """Read, fit and score on the Dask cluster (the workers read the files)."""
    from .cluster_fitting import train_pipeline_dask
    from .dask_client import cluster_client
    from .sources import read_dask_table

    # MLPClassifier and MLPRegressor take the same options: the task may wait for the data.
    cls = estimator_class(spec.model, task_from_options(spec.task, spec.model)
                          or "classification")
    params = model_params(cls, spec)
    checkpoint = resumed = None
    if spec.checkpoint_dir is not None:
        resumable = [s for s in DASK_SOLVERS[spec.model] if s != "lbfgs"]
        checkpoint, resumed = open_checkpoint(
            spec, cls(**params).resolved_solver(dask=True), None, spec.data,
            solvers=" or ".join(resumable)
            if len(resumable) < 3 else "adam, sgd or gd")

    def on_split(n_train, n_validation, name, task):
        event("split", n_train=n_train, n_validation=n_validation, estimator=name, task=task,
              cluster=True, resumed=_resumed(checkpoint, resumed))

    def data_hash(digest):
        _check_data_hash(checkpoint, digest, spec.data, spec.resume)

    # Lazy: the files' columns are checked here, before a cluster is started or reached.
    frame, _ = read_dask_table(spec.data, sep=spec.sep, encoding=spec.encoding)
    _check_named_columns(frame, spec, spec.data)
    features = _feature_columns(frame, spec, spec.data)
    with cluster_client(spec.scheduler, spec.workers) as client:
        pipeline, report = train_pipeline_dask(
            frame, callbacks=callbacks, target=spec.target, features=features, task=spec.task,
            model=spec.model, params=params, impute=preset_preprocessing("classic", spec)[0],
            sample_weight=spec.sample_weight, validation_fraction=spec.validation_fraction,
            dtype=spec.dtype, random_state=spec.seed, source=spec.data, on_split=on_split,
            scale_target=spec.scale_target, drop_missing_target=spec.drop_missing_target,
            on_dropped=lambda n: event("dropped", n=n, target=spec.target), client=client,
            checkpoint=checkpoint, resume=spec.resume,
            on_data_hash=None if checkpoint is None else data_hash)
    impute = preset_preprocessing("classic", spec)[0]
    pipeline.info["components"] = components("classic", pipeline.estimator.get_params(), impute,
                                             "standard")
    return pipeline, report


# ------------------------------------------------------------------------------ checkpoints


def open_checkpoint(spec, solver, frame, source, solvers="adam, sgd or gd"):
    """(Checkpoint, loaded state or None) for ``spec.checkpoint_dir``, checked against the run.

    The spec and the data's hash are stored in the checkpoint; ``spec.resume`` refuses to
    continue with other options or other data. ``frame`` None (a table on a cluster) leaves
    the data's hash to :func:`_check_data_hash`, once the distributed pass has computed it.
    """
    from .checkpoints import check_resumable, checkpoint_info, load_checked

    check_resumable(spec, solver, solvers)
    data_sha256 = None if frame is None else _frame_hash(frame)
    checkpoint, state = load_checked(spec, checkpoint_info(spec, data_sha256))
    if frame is not None and state is not None:
        _check_data_hash(checkpoint, data_sha256, source, spec.resume)
    return checkpoint, state


def _frame_hash(frame):
    import pandas as pd

    digest = hashlib.sha256(json.dumps([list(frame.columns),
                                        [str(t) for t in frame.dtypes]]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _check_data_hash(checkpoint, data_sha256, source, resume):
    """Store the data's hash in the checkpoint; with resume, refuse other data."""
    checkpoint.info["data_sha256"] = data_sha256
    saved = checkpoint.loaded_info or {}
    if resume and saved.get("data_sha256") != data_sha256:
        raise SpecError([problem("{resume} needs the data of the interrupted run, but "
                                 "{value!r} has changed since the checkpoint was written.",
                                 value=source)])
