"""Fitting a pipeline on a table: the split, the preprocessing, the estimator, the warnings.

:func:`train_pipeline` splits a table, fits a :class:`TabularPreprocessor` and an estimator,
and scores the held-out rows; the result is a :class:`TabularPipeline`.
"""

import math
import warnings

import numpy as np

from .. import estimators
from ..functional import log_sigmoid, log_softmax
from .advice import constant_loss, recording_convergence, warn_about_result
from .columns import convert_numeric_text, infer_task, target_values
from .evaluation import BATCH_ROWS, _metrics, _plain
from .members import train_members
from .pipeline import TabularPipeline, _check_info
from .preprocessing import TabularPreprocessor, private_problems
from .problems import listed, problems_of, raise_problems
from .reading import MODELS, TASKS, DataError, check_columns, select_features
from .spec_errors import SpecError, problem, ref
from .statistics import mean_std

# --------------------------------------------------------------------------------- pipeline


def estimator_class(model, task):
    """The numnet estimator class for a ``--model`` and a resolved task."""
    if model not in MODELS:
        raise SpecError([problem("{model} must be one of {{'linear', 'logistic', 'mlp'}}, got "
                                 "{value!r}.", value=model)])
    if model == "linear" and task == "classification":
        raise SpecError([problem(
            "{model} linear is for regression, but the task is classification. Use {model} "
            "logistic or {model} mlp.")])
    if model == "logistic" and task == "regression":
        raise SpecError([problem(
            "{model} logistic is for classification, but the task is regression. Use {model} "
            "linear or {model} mlp.")])
    name = {"linear": "LinearRegression", "logistic": "LogisticRegression"}.get(model)
    if name is None:
        name = "MLPClassifier" if task == "classification" else "MLPRegressor"
    return getattr(estimators, name)


def resolve_task(frame, target, task, model):
    """The task: as given, implied by the model (linear, logistic), or inferred from the target."""
    if task not in TASKS:
        raise SpecError([problem("{task} must be one of {{'auto', 'classification', "
                                 "'regression'}}, got {value!r}.", value=task)])
    return task_from_options(task, model) or infer_task(frame[target])


def task_from_options(task, model):
    """The task ``--task`` or ``--model`` (linear, logistic) fixes; None to infer it."""
    if task != "auto":
        return task
    return {"linear": "regression", "logistic": "classification"}.get(model)



def split_rows(n_rows, fraction, labels, random_state):
    """Indices (train, validation); stratified by ``labels`` when every class can be split."""
    from sklearn.model_selection import train_test_split

    if fraction == 0:
        return np.arange(n_rows), np.arange(0)
    if not 0 < fraction < 1:
        raise SpecError([problem("{validation_fraction} must be a float in [0, 1), got "
                                 "{value!r}.", value=fraction)])
    n_val = math.ceil(fraction * n_rows)
    if n_val >= n_rows:
        raise SpecError([problem(
            "{validation_fraction} {fraction} leaves no rows for training out of {n_rows}. "
            "Use a smaller fraction, or 0 to train on every row.", fraction=fraction,
            n_rows=n_rows)])
    stratify = None
    if labels is not None:
        _, counts = np.unique(labels.astype(str), return_counts=True)
        if counts.min() >= 2 and n_val >= len(counts) and n_rows - n_val >= len(counts):
            stratify = labels.astype(str)
    train, val = train_test_split(np.arange(n_rows), test_size=n_val, stratify=stratify,
                                  random_state=random_state)
    if labels is not None:
        train, val = _every_class_in_training(train, val, labels.astype(str), random_state)
    return np.sort(train), np.sort(val)


def _every_class_in_training(train, val, keys, random_state):
    """(train, val) with every class of ``val`` also in ``train``.

    One row of each class missing from ``train`` moves out of ``val``, and as many rows of the
    most frequent training classes move back, so that the sizes stay the same.
    """
    missing = sorted(set(keys[val]) - set(keys[train]))
    if not missing:
        return train, val
    rng = np.random.default_rng(random_state)
    train, val = list(train), list(val)
    for label in missing:
        candidates = [row for row in val if keys[row] == label]
        row = candidates[int(rng.integers(len(candidates)))]
        val.remove(row)
        train.append(row)
        labels, counts = np.unique(keys[train], return_counts=True)
        if counts.max() < 2:
            continue  # every training row is its class's only one: keep the extra row
        largest = labels[np.argmax(counts)]
        candidates = [r for r in train if keys[r] == largest]
        back = candidates[int(rng.integers(len(candidates)))]
        train.remove(back)
        val.append(back)
    return np.array(train, dtype=int), np.array(val, dtype=int)


MAX_CLASSES = 1000
"""``numnet train`` refuses a classification target with more classes than this, or with more
classes than half the rows: such a target is an identifier or a number."""


def _check_classes(y, target, n_rows):
    labels, counts = np.unique(y.astype(str), return_counts=True)
    n_classes = len(labels)
    if n_classes > MAX_CLASSES or n_classes > n_rows / 2:
        raise SpecError([problem(
            "target column {column!r} must have at most {most} classes, and at most half as "
            "many as rows, got {n_classes} classes in {n_rows} rows. If the target is a number, "
            "pass {task} regression; if it is an identifier, choose another target.",
            column=target, most=MAX_CLASSES, n_classes=n_classes, n_rows=n_rows)])
    originals = {str(v): v for v in y}
    for label, count in zip(labels, counts, strict=True):
        if count == 1:
            warnings.warn(
                f"class {_plain(originals[label])!r} of target column {target!r} has only 1 "
                "row; it is kept for training, so the validation metrics cannot cover it.",
                UserWarning, stacklevel=3,
            )


def train_pipeline(frame, *, target, features=None, task="auto", model="mlp", params=None,
                   impute=None, scaling="standard", sample_weight=None,
                   validation_fraction=0.2, dtype="float64",
                   random_state=0, callbacks=(), source="data", on_split=None, checkpoint=None,
                   resume=False, scale_target=True, privacy=None, members=1,
                   min_frequency=None):
    """Fit preprocessing and an estimator on a table; score it on a held-out split.

    The rows are split into training and validation parts (stratified for classification,
    seeded by ``random_state``); preprocessing and estimator see only the training part, and
    the metrics come from the validation part. With a ``checkpoint`` (a
    :class:`numnet.Checkpoint`), the estimator's training state is saved as it trains, and
    ``resume=True`` continues from it; the split and the preprocessing are seeded, so they are
    the same again, and the validation curve so far is part of the saved state.

    Columns that hold numbers written as text (``"3,750"``, ``"12%"``) are read as numbers,
    with a warning. With ``scale_target`` (the default), a regression target is standardised
    with the training rows' mean and standard deviation, and the pipeline maps predictions
    back. A warning says what the curves show (divergence, overfitting, training cut short, a
    validation R² below 0) with one piece of advice (:func:`.advice.warn_about_result`).

    ``privacy`` (for an estimator with ``dp_epsilon`` or ``dp_noise_multiplier`` set) is
    ``{"bounds": {column: (lo, hi)}, "categories": {column: [str, ...]}}``: the preprocessing
    then comes from these alone (:meth:`TabularPreprocessor.fit_private`), a regression
    target is scaled with its bounds (or not at all), a classification target's classes are
    its given categories, the split is not stratified (which rows train would depend on the
    labels) and no data-dependent warning is given. See docs/privacy.md.

    ``min_frequency`` groups a text column's rare values (:class:`TabularPreprocessor`).
    ``members`` > 1 (an MLP without a validation split, the refit of ``numnet train``) trains
    that many networks on the same preprocessed rows, each from its own seed, and keeps their
    average as one network (:func:`numnet.tabular.members.train_members`).

    Returns
    -------
    pipeline : TabularPipeline
    report : dict
        ``{"task", "model", "estimator", "n_train", "n_validation", "n_features", "metrics"}``
        (metrics is empty when ``validation_fraction`` is 0).
    """
    if dtype not in ("float32", "float64"):
        raise SpecError([problem("{dtype} must be one of {{'float32', 'float64'}}, got "
                                 "{value!r}.", value=dtype)])
    exclude = () if sample_weight is None else (sample_weight,)
    columns = select_features(frame, target, features, source, exclude=exclude)
    frame = convert_numeric_text(frame, [target, *columns])
    task = resolve_task(frame, target, task, model)
    cls = estimator_class(model, task)
    y = _checked_table(frame, target, task, columns, impute)
    if privacy is not None:
        return _train_private(frame, y, columns, target=target, task=task, model=model,
                              cls=cls, params=params, impute=impute,
                              sample_weight=sample_weight, validation_fraction=validation_fraction,
                              dtype=dtype, random_state=random_state, callbacks=callbacks,
                              source=source, on_split=on_split, checkpoint=checkpoint,
                              resume=resume, scale_target=scale_target, privacy=privacy)
    if task == "classification" and len(np.unique(y.astype(str))) < 2:
        raise DataError(
            f"target column {target!r} must have at least 2 classes for classification, got "
            f"only {y[0]!r}."
        )
    if task == "classification":
        _check_classes(y, target, len(frame))
    weights = _sample_weights(frame, sample_weight, source)
    preprocessor = TabularPreprocessor(impute=impute, scaling=scaling,
                                       min_frequency=min_frequency)
    estimator = cls()
    estimator.set_params(**(params or {}))
    if hasattr(estimator, "_validate_params"):
        estimator._validate_params()  # bad hyperparameters fail before any work, as in fit

    train_rows, val_rows = split_rows(
        len(frame), validation_fraction, y if task == "classification" else None, random_state
    )
    if on_split is not None:
        on_split(len(train_rows), len(val_rows))
    preprocessor.fit(frame.iloc[train_rows], columns)
    X_train = preprocessor.transform(frame.iloc[train_rows], dtype=np.dtype(dtype))
    pipeline = TabularPipeline(preprocessor, estimator, target=target, task=task, dtype=dtype)
    y_fit = y
    if task == "regression" and scale_target:
        pipeline.target_scaler = _target_scaler(y[train_rows], target)
        y_fit = (y - pipeline.target_scaler["mean"]) / pipeline.target_scaler["scale"]
    tracker = None
    if len(val_rows):
        X_val = pipeline.transform(frame.iloc[val_rows], warn_unknown=False)
        tracker = _HoldoutTracker(estimator, X_val, y_fit[val_rows], task)
    with recording_convergence() as convergence:
        _fit_estimator(estimator, X_train, y_fit[train_rows],
                       None if weights is None else weights[train_rows],
                       _Callbacks(tracker, callbacks), checkpoint, resume, y[train_rows], target)
    if members > 1:
        member_weights = None if weights is None else weights[train_rows]
        train_members(estimator, members, lambda other: _fit_estimator(
            other, X_train, y_fit[train_rows], member_weights, _Callbacks(None, ()), None,
            False, y[train_rows], target))
    pipeline.info = {
        "source": source, "model": model, "features": columns,
        "sample_weight": sample_weight, "validation_fraction": validation_fraction,
        "random_state": random_state, "n_train": int(len(train_rows)),
        "n_validation": int(len(val_rows)), "metrics": {},
        "validation_curve": {} if tracker is None else tracker.curve,
    }
    history = getattr(estimator, "history_", None)
    kept = None
    if history is not None and getattr(history, "loss", None):
        kept = history.best_epoch if history.best_epoch is not None else len(history.loss)
        pipeline.info["metrics_epoch"] = int(kept)
    scoring = []
    if tracker is not None:
        with warnings.catch_warnings(record=True) as scoring:
            pipeline.info["metrics"] = _metrics(pipeline, tracker.X, y[val_rows])
    diverged = warn_about_result(pipeline, {} if tracker is None else tracker.curve, kept,
                                 model, convergence=convergence, history=history,
                                 baseline=constant_loss(y_fit[train_rows], task))
    for item in scoring:
        # a diverged model predicts one class: the advice above covers it
        if not (diverged and "collapsed to one class" in str(item.message)):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    report = {"task": task, "model": model, "estimator": cls.__name__,
              "n_train": int(len(train_rows)), "n_validation": int(len(val_rows)),
              "n_features": X_train.shape[1], "metrics": pipeline.info["metrics"]}
    return pipeline, report


def _train_private(frame, y, columns, *, target, task, model, cls, params, impute,
                   sample_weight, validation_fraction, dtype, random_state, callbacks, source,
                   on_split, checkpoint, resume, scale_target, privacy):
    """:func:`train_pipeline` under differential privacy (its ``privacy`` argument)."""
    bounds, categories = privacy["bounds"], privacy["categories"]
    raise_problems(_private_option_problems(frame, columns, target, task, bounds, categories,
                                            scale_target))
    weights = _sample_weights(frame, sample_weight, source)
    preprocessor = TabularPreprocessor(impute=impute)
    classes = None
    if task == "classification":
        classes = _private_classes(y, target, categories)
    scaler = None
    if task == "regression" and scale_target:
        low, high = bounds[target]
        scaler = {"mean": (low + high) / 2, "scale": (high - low) / 2}
    estimator = cls()
    estimator.set_params(**(params or {}))
    estimator._validate_params()
    train_rows, val_rows = split_rows(len(frame), validation_fraction, None, random_state)
    delta = (params or {}).get("dp_delta")
    if delta is not None and delta >= 1 / len(train_rows):
        n = len(train_rows)
        raise DataError(f"--dp-delta must be below 1/n = {1 / n:.3g} for the n = {n} training "
                        f"rows, got {delta!r}: with a delta of 1/n or more a mechanism that "
                        f"publishes a whole row meets the guarantee. Use at most 1/(10 n) = "
                        f"{1 / (10 * n):.3g}, or leave --dp-delta out for min(1e-5, 1/(10 n)).")
    if on_split is not None:
        on_split(len(train_rows), len(val_rows))
    preprocessor.fit_private(frame.iloc[train_rows], columns, bounds, categories)
    X_train = preprocessor.transform(frame.iloc[train_rows], dtype=np.dtype(dtype),
                                     warn_unknown=False)
    pipeline = TabularPipeline(preprocessor, estimator, target=target, task=task, dtype=dtype)
    y_fit = y
    if scaler is not None:
        pipeline.target_scaler = scaler
        y_fit = (y - scaler["mean"]) / scaler["scale"]
    tracker = None
    if len(val_rows):
        X_val = pipeline.transform(frame.iloc[val_rows], warn_unknown=False)
        tracker = _HoldoutTracker(estimator, X_val, y_fit[val_rows], task)
    _fit_estimator(estimator, X_train, y_fit[train_rows],
                   None if weights is None else weights[train_rows],
                   _Callbacks(tracker, callbacks), checkpoint, resume, y[train_rows], target,
                   classes=classes)
    pipeline.info = {
        "source": source, "model": model, "features": columns,
        "sample_weight": sample_weight, "validation_fraction": validation_fraction,
        "random_state": random_state, "n_train": int(len(train_rows)),
        "n_validation": int(len(val_rows)), "metrics": {},
        "validation_curve": {} if tracker is None else tracker.curve,
        "metrics_epoch": int(len(estimator.history_.loss)),
    }
    if tracker is not None:
        pipeline.info["metrics"] = _metrics(pipeline, tracker.X, y[val_rows])
    report = {"task": task, "model": model, "estimator": cls.__name__,
              "n_train": int(len(train_rows)), "n_validation": int(len(val_rows)),
              "n_features": X_train.shape[1], "metrics": pipeline.info["metrics"]}
    return pipeline, report


def _checked_table(frame, target, task, columns, impute):
    """The target's values, once the target and every feature column are checked.

    The problems of all of them are reported at once (:class:`SpecError`).
    """
    found, y = [], None
    try:
        y = target_values(frame, target, task)
    except DataError as error:
        found += problems_of(error)
    found += TabularPreprocessor(impute=impute).problems(frame, columns)
    raise_problems(found)
    return y


def _private_option_problems(frame, columns, target, task, bounds, categories, scale_target):
    """Every problem of --dp-bounds and --dp-categories for this table, by kind."""
    found = []
    for option, given in (("dp_bounds", bounds), ("dp_categories", categories)):
        unknown = [name for name in given if name != target and name not in columns]
        if unknown:
            found.append(problem(
                ref(option) + (" names column {names}, which is neither a feature nor the "
                               "target" if len(unknown) == 1 else " names columns {names}, "
                               "which are neither features nor the target") +
                "; features: {features}.", names=listed(unknown),
                features=", ".join(map(repr, columns[:20]))))
    if task == "classification" and target not in categories:
        found.append(problem(
            "the classification target {name!r} needs its classes under {dp_epsilon}: pass "
            "{dp_categories} '{bare}=A|B' (the class list must not come from the data).",
            name=target, bare=target))
    if task == "regression" and target in categories:
        found.append(problem(
            "{dp_categories} names the target {name!r} of a regression; give its bounds with "
            "{dp_bounds} {bare}=LO:HI instead.", name=target, bare=target))
    if task == "regression" and scale_target and target not in bounds:
        found.append(problem(
            "the regression target {name!r} needs bounds under {dp_epsilon} to be scaled: pass "
            "{dp_bounds} {bare}=LO:HI, or --no-scale-target.", name=target, bare=target))
    return found + private_problems(frame, columns, bounds, categories)


def _private_classes(y, target, categories):
    """The classes of a private classification: the target's --dp-categories, as labels."""
    if target not in categories:
        raise DataError(
            f"the classification target {target!r} needs its classes under --dp-epsilon: pass "
            f"--dp-categories '{target}=A|B' (the class list must not come from the data)."
        )
    given = list(dict.fromkeys(categories[target]))
    if len(given) < 2:
        raise DataError(f"--dp-categories must give the target {target!r} at least 2 classes, "
                        f"got {len(given)}.")
    if y.dtype.kind in "iub":
        try:
            labels = np.array([{"True": True, "False": False}[v] if y.dtype.kind == "b"
                               else int(v) for v in given], dtype=y.dtype)
        except (KeyError, ValueError):
            raise DataError(f"--dp-categories for the target {target!r} must be "
                            f"{'True or False' if y.dtype.kind == 'b' else 'integers'}, like "
                            f"its values, got {given!r}.") from None
    else:
        labels = np.array(given, dtype=object)
    known = set(labels.tolist())
    outside = [i for i, v in enumerate(y.tolist()) if v not in known]
    if outside:
        raise DataError(f"target column {target!r} has the value {y[outside[0]]!r} at row "
                        f"{outside[0] + 1}, which is not among its --dp-categories.")
    return labels


def _sample_weights(frame, sample_weight, source):
    """The sample_weight column as float64 weights (finite, >= 0), or None."""
    import pandas as pd

    if sample_weight is None:
        return None
    check_columns(frame, [sample_weight], "sample_weight", source)
    if not pd.api.types.is_numeric_dtype(frame[sample_weight]) or pd.api.types.is_bool_dtype(
        frame[sample_weight]
    ):
        raise SpecError([problem("{sample_weight} column {name!r} must be numeric.",
                                 name=sample_weight)])
    weights = frame[sample_weight].to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        bad = int(np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))[0])
        raise SpecError([problem(
            "{sample_weight} column {name!r} must hold finite values >= 0, got {value} at row "
            "{row}.", name=sample_weight, value=weights[bad], row=bad + 1)])
    return weights


def _too_large(target, y):
    return DataError(
        f"target column {target!r} must have values small enough for the loss to stay "
        f"finite, got values up to {float(np.max(np.abs(y))):.3g}. Divide the target by a "
        "constant (e.g. its standard deviation) before training."
    )


def _target_scaler(y, target):
    """``{"mean", "scale"}`` of the training targets: the estimator fits ``(y - mean) / scale``."""
    try:  # exact sums, as the features' (the same bits on a cluster)
        mean, std = mean_std(y)
    except OverflowError:
        raise _too_large(target, y) from None
    if not (math.isfinite(mean) and math.isfinite(std)):
        raise _too_large(target, y)
    return {"mean": mean, "scale": std if std > 0 else 1.0}


def _fit_estimator(estimator, X, y, weights, notify, checkpoint, resume, y_raw, target,
                   classes=None):
    """Fit with the per-epoch callback and the checkpoint handed over as private attributes.

    ``classes`` (a classifier's labels, given rather than taken from ``y``) goes to the
    estimator's ``_fit``, as ``partial_fit``'s classes do.
    """
    estimator._fit_callbacks = [notify]
    estimator._checkpoint, estimator._resume = checkpoint, resume
    try:
        if classes is not None:
            estimator._fit(X, y, weights, classes=classes)
        elif weights is None:
            estimator.fit(X, y)
        else:
            estimator.fit(X, y, sample_weight=weights)
        history = getattr(estimator, "history_", None)
        if not notify.called and history is not None and getattr(history, "loss", None):
            # an exact solver (no epochs to call back from): one point for the whole fit
            notify(len(history.loss), history)
    except ValueError as error:
        if not str(error).startswith("y must have values small enough"):
            raise
        raise _too_large(target, y_raw) from None
    finally:
        del estimator._fit_callbacks, estimator._checkpoint, estimator._resume


class _Callbacks:
    """The estimator's per-epoch callback: track the held-out split, then notify the caller.

    Each caller callback is called as ``callback(epoch, history, holdout)``, where holdout is
    ``{"val_loss": ..., "val_metric": ..., "metric_name": ...}`` for this epoch, or None.
    """

    def __init__(self, tracker, callbacks):
        self.tracker, self.callbacks = tracker, list(callbacks)
        self.called = False

    def state_dict(self):
        """The validation curve so far, for checkpoints."""
        return {} if self.tracker is None else {"curve": self.tracker.curve}

    def load_state_dict(self, state):
        """Restore :meth:`state_dict`; ValueError if it does not fit this run."""
        if self.tracker is None:
            if state != {}:
                raise ValueError("this run holds out no rows, the checkpointed run did")
            return
        curve = state.get("curve") if isinstance(state, dict) else None
        if not isinstance(curve, dict) or set(curve) != set(self.tracker.curve):
            raise ValueError("the validation curve has other fields")
        _check_info({"validation_curve": curve})
        self.tracker.curve = {key: list(value) if isinstance(value, list) else value
                              for key, value in curve.items()}

    def check_restored(self, history):
        """ValueError unless the restored curve has one point per completed epoch, in range."""
        if self.tracker is None:
            return
        curve, epochs = self.tracker.curve, len(history.loss)
        if curve["metric_name"] != self.tracker.metric_name:
            raise ValueError(f"the validation curve's metric must be "
                             f"{self.tracker.metric_name!r}, got {curve['metric_name']!r:.50}; "
                             "the file was altered")
        for key in ("val_loss", "val_metric"):
            if len(curve[key]) != epochs:
                raise ValueError(f"the validation curve must have one entry per completed epoch "
                                 f"({epochs}), got {len(curve[key])} {key} entries; the file "
                                 "was altered")
        low, high = (0.0, 1.0) if self.tracker.task == "classification" else (-math.inf, 1.0)
        for key, (lowest, highest) in (("val_loss", (0.0, math.inf)), ("val_metric", (low, high))):
            bad = [v for v in curve[key] if not (math.isfinite(v) and lowest <= v <= highest)]
            if bad:
                raise ValueError(f"the validation curve's {key} must hold finite values in "
                                 f"[{lowest}, {highest}], got {bad[0]!r}; the file was altered")

    def __call__(self, epoch, history):
        self.called = True
        holdout = None if self.tracker is None else self.tracker(epoch, history)
        stop = False
        for callback in self.callbacks:
            stop = callback(epoch, history, holdout) is True or stop
        return stop  # a caller's callback returning True stops training (--time-limit)


class _HoldoutTracker:
    """Loss and metric of the network on the held-out rows after each epoch.

    The loss is in the units the estimators report: the mean log-loss for classifiers and
    half the mean squared error for regressors (scikit-learn's convention)::

        classification   val_loss = -mean(log p[i, y_i]),       val_metric = accuracy
        regression       val_loss = mean((y - y_hat)**2) / 2,   val_metric = R^2

    with p clipped to [eps, 1 - eps] of the network's dtype, as ``sklearn.metrics.log_loss``
    clips: the curve at the kept epoch is the metrics' log-loss (a diverged model's is at most
    -log(eps), about 36 in float64).
    """

    batch_size = BATCH_ROWS
    """Rows per forward pass: the memory of evaluation does not grow with the held-out rows."""

    def __init__(self, estimator, X, y, task):
        self.estimator, self.X, self.y, self.task = estimator, X, y, task
        self.metric_name = "accuracy" if task == "classification" else "r2"
        self.curve = {"val_loss": [], "val_metric": [], "metric_name": self.metric_name}

    def __call__(self, epoch, history):
        # The network itself, not est.predict: the estimator sets its public attributes only
        # at the end of fit, but network_ and classes_ exist from the first epoch.
        est = self.estimator
        net = est.network_
        self.eps = float(np.finfo(net.dtype).eps)
        self.log_eps = math.log(self.eps)
        total_log_p = total_correct = total_squares = 0.0
        if self.task == "classification":
            index = np.searchsorted(est.classes_, self.y)
        for start in range(0, len(self.y), self.batch_size):
            part = slice(start, start + self.batch_size)
            raw = net.forward(self.X[part].astype(net.dtype, copy=False)).astype(np.float64)
            net.clear_cache()
            if self.task == "classification":
                target = index[part]
                if raw.shape[1] == 1:  # binary: p(class 1) = sigmoid(z)
                    z = raw[:, 0]
                    log_p = np.where(target == 1, log_sigmoid(z), log_sigmoid(-z))
                    predicted = (z > 0).astype(int)
                else:
                    log_p = log_softmax(raw, axis=1)[np.arange(len(target)), target]
                    predicted = raw.argmax(axis=1)
                # probabilities clipped to [eps, 1 - eps], as sklearn.metrics.log_loss does:
                # the curve at the kept epoch is the metrics table's log-loss
                log_p = np.clip(log_p, self.log_eps, np.log1p(-self.eps))
                total_log_p += float(np.sum(log_p))
                total_correct += float(np.sum(predicted == target))
            else:
                total_squares += float(np.sum((self.y[part] - raw[:, 0]) ** 2))
        if self.task == "classification":
            loss = -total_log_p / len(self.y)
            metric = total_correct / len(self.y)
        else:
            residual = total_squares / len(self.y)
            loss = residual / 2
            total = float(np.var(self.y))
            metric = 1 - residual / total if total > 0 else 0.0
        self.curve["val_loss"].append(loss)
        self.curve["val_metric"].append(metric)
        return {"val_loss": loss, "val_metric": metric, "metric_name": self.curve["metric_name"]}
