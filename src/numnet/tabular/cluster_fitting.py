"""``numnet train`` on a Dask cluster: the pipeline of :func:`train_pipeline`, data-parallel.

:func:`train_pipeline_dask` takes a dask DataFrame and gives the same
:class:`TabularPipeline` (and report) that :func:`train_pipeline` gives in memory:

1. one distributed pass summarises every partition on its worker
   (:func:`numnet.tabular.cluster.summarise`); the client merges the summaries and runs the
   in-memory checks on them, in the same order and with the same messages, and fits the
   preprocessing from them (exact sums: the state equals the in-memory fit's on the same
   training rows, bit for bit);
2. the features of the training rows are transformed block by block on the workers with the
   fitted preprocessing, and the estimator trains data-parallel on the resulting dask arrays;
3. the held-out rows are transformed and predicted on the workers; only their labels and
   predictions come to the client, for the metrics.

What differs from memory: the split is a seeded hash of each row (:func:`held_out`), not a
stratified ``train_test_split``; there is no validation curve per epoch (the metrics of the
final model are computed); some options are refused (the command line says which).
"""

import math
import warnings
from fractions import Fraction

import numpy as np

from .advice import recording_convergence, warn_about_result
from .cluster import Merged, held_out, prepare, summarise
from .cluster_checks import (
    _check_classes,
    _check_column,
    _check_split,
    _check_target,
    _check_weights,
    _refuse_text_numbers,
    _resolve_task,
)
from .evaluation import classification_metrics, regression_metrics, warn_if_one_class
from .fitting import (
    _Callbacks,
    _fit_estimator,
    _too_large,
    estimator_class,
)
from .identifiers import identifier_warning
from .pipeline import TabularPipeline
from .preprocessing import TabularPreprocessor, report_constant_columns
from .problems import collect, raise_problems
from .reading import DataError, select_features
from .spec_errors import CLUSTER, SpecError, problem
from .statistics import exact_mean, exact_mean_std


def _compute(frame, plan, source, client):
    """The partitions' summaries: one ``dask.compute`` over the table."""
    import dask

    from ..distributed.data import scheduler_errors

    tasks = [dask.delayed(summarise, pure=True)(part, plan) for part in frame.to_delayed()]
    try:
        with scheduler_errors(client):
            return list(dask.compute(*tasks))
    except ValueError as error:
        if "Mismatched dtypes" not in str(error):
            raise
        columns = [line.split("|")[1].strip() for line in str(error).splitlines()
                   if line.startswith("|") and "Column" not in line and "---" not in line]
        named = ", ".join(repr(c) for c in columns if c) or "some columns"
        raise DataError(
            f"Cannot read {source!r} as CSV on the cluster: the column types dask inferred from "
            f"the first rows do not fit later rows ({named}). Give every file the same column "
            "types (e.g. no missing value in an integer column), or train without "
            "--scheduler/--workers."
        ) from None


def _kinds(frame, columns):
    """Each column's dtype family, from the dask DataFrame's metadata."""
    import pandas as pd

    kinds = {}
    for name in columns:
        dtype = frame[name].dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            kinds[name] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kinds[name] = "date"
        else:
            kinds[name] = "text"
    return kinds


def _dask_deprecations():
    """A context that hides dask's own deprecation warnings (about pandas calls it makes)."""
    context = warnings.catch_warnings()
    context.__enter__()
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=r"(dask|distributed)\b")
        warnings.filterwarnings("ignore", category=category, message=r".*inplace keyword")
    return context


def train_pipeline_dask(frame, **options):
    """Fit preprocessing and an estimator on a dask DataFrame, on the active Dask client.

    See :func:`_train_pipeline_dask` (this wrapper hides dask's deprecation warnings).
    """
    context = _dask_deprecations()
    checkpoint = options.get("checkpoint")
    before = _saved_at(checkpoint)
    try:
        return _train_pipeline_dask(frame, **options)
    except FileNotFoundError as error:
        # a data file deleted or moved during the run: the workers read the files in every pass
        saved = checkpoint is not None and (_saved_at(checkpoint) or before) != before
        raise DataError(_vanished(error, options.get("source", "data"), checkpoint,
                                  saved or (bool(options.get("resume")) and before))) from None
    finally:
        context.__exit__(None, None, None)


def _saved_at(checkpoint):
    """When the checkpoint's file was last written (None without one)."""
    import os

    try:
        return None if checkpoint is None else os.stat(checkpoint.path).st_mtime_ns
    except OSError:
        return None


def _vanished(error, source, checkpoint, saved):
    """The line for a data file that is gone, named as DATA named it."""
    import os

    from .sources import source_files

    name = error.filename or str(error)
    try:
        given = {os.path.abspath(f): f for f in source_files(source)}
        name = given.get(os.path.abspath(str(name)), name)
    except (DataError, OSError):
        pass  # DATA itself is gone
    if name == error.filename and os.path.isabs(name):
        relative = os.path.relpath(name)
        name = name if relative.startswith("..") else relative
    line = f"Cannot read {name!r}: no such file (it was deleted or moved during the run). "
    if saved:
        return line + (f"The training state is saved in {checkpoint}: put the file back and "
                       "run the same command with --resume.")
    return line + "Put it back and train again."


def _train_pipeline_dask(frame, *, target, features=None, task="auto", model="mlp",
                        params=None, impute=None, sample_weight=None, validation_fraction=0.2,
                        dtype="float64", random_state=0, callbacks=(), source="data",
                        on_split=None, scale_target=True, drop_missing_target=False,
                        on_dropped=None, client=None, checkpoint=None, resume=False,
                        on_data_hash=None, scaling="standard"):
    """Fit preprocessing and an estimator on a dask DataFrame, on the active Dask client.

    The arguments are :func:`train_pipeline`'s, except: ``on_split(n_train, n_validation,
    estimator_name, task)`` is told the task too (it is known only after the pass);
    ``drop_missing_target`` drops the rows without a target and ``on_dropped(n)`` is told how
    many; ``on_data_hash(sha256)`` is given the table's hash, computed in the same pass (for
    the checkpoint's data check; the estimator's mini-batch and 'gd' training take
    ``checkpoint`` and ``resume``); ``impute="median"`` and privacy are not offered, nor
    ``impute="indicator"`` and ``scaling="robust"`` (medians and quartiles: refused before
    any work). Returns ``(pipeline, report)`` as :func:`train_pipeline` does.
    """
    from ..distributed.data import get_client, scheduler_errors

    _refuse_order_statistics(impute, scaling)
    client = get_client(client)
    if dtype not in ("float32", "float64"):
        raise SpecError([problem("{dtype} must be one of {{'float32', 'float64'}}, got "
                                 "{value!r}.", value=dtype)])
    exclude = () if sample_weight is None else (sample_weight,)
    columns = select_features(frame, target, features, source, exclude=exclude)
    if sample_weight is not None:
        from .reading import check_columns

        check_columns(frame, [sample_weight], "sample_weight", source)
    plan = _plan(frame, target, columns, sample_weight, impute, validation_fraction,
                 random_state, drop_missing_target, task, model)
    plan["digest"] = on_data_hash is not None
    merged = Merged(_compute(frame, plan, source, client))
    if on_data_hash is not None:
        on_data_hash(merged.data_sha256(frame))
    if drop_missing_target:
        if merged.n_rows == 0 and merged.dropped:
            raise DataError(f"target column {target!r} must have at least one value, got only "
                            "missing values.")
        if merged.dropped and on_dropped is not None:
            on_dropped(merged.dropped)
    if merged.n_rows == 0:
        raise DataError(f"{source!r} has no data rows, only a header.")
    task, estimator = _checked(merged, frame, plan, task, model, params, validation_fraction)
    cls = type(estimator)
    if on_split is not None:
        on_split(merged.n_train, merged.n_held, cls.__name__, task)
    preprocessor = _fit_preprocessor(merged, frame, columns, impute, plan, client)
    pipeline = TabularPipeline(preprocessor, estimator, target=target, task=task, dtype=dtype)
    if task == "regression" and scale_target:
        pipeline.target_scaler = _target_scaler(merged, target)
    X, y, w = _training_arrays(frame, merged, plan, pipeline)
    # Persisted once: the fit reads y's labels (a distributed unique) and then builds its
    # partitions from the same blocks, which would otherwise read and transform the files twice.
    with scheduler_errors(client):
        X, y, w = client.persist([X, y, w]) if w is not None else (*client.persist([X, y]), None)
    notify = _Callbacks(None, callbacks)
    estimator._overhead_warning = True  # one line when the cluster is slower than memory
    try:
        with scheduler_errors(client), recording_convergence() as convergence:
            _fit_estimator(estimator, X, y, w, notify, checkpoint, resume, np.array([np.inf]),
                           target)
    finally:
        del estimator._overhead_warning
        del X, y, w  # the persisted blocks leave the workers' memory
    pipeline.info = {
        "source": source, "model": model, "features": columns,
        "sample_weight": sample_weight, "validation_fraction": validation_fraction,
        "random_state": random_state, "n_train": int(merged.n_train),
        "n_validation": int(merged.n_held), "metrics": {}, "validation_curve": {},
    }
    with scheduler_errors(client):
        _score(pipeline, frame, plan, merged, model, convergence)
    report = {"task": task, "model": model, "estimator": cls.__name__,
              "n_train": int(merged.n_train), "n_validation": int(merged.n_held),
              "n_features": len(preprocessor.feature_names_out_),
              "metrics": pipeline.info["metrics"]}
    return pipeline, report


def _plan(frame, target, columns, sample_weight, impute, fraction, seed, drop_missing_target,
          task, model):
    """What the workers summarise: the columns, the split, and how the target may be read."""
    import pandas as pd

    dtype = frame[target].dtype
    numbers = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    auto_mlp = task == "auto" and model == "mlp"
    weight = () if sample_weight is None else (sample_weight,)
    return {"target": target, "features": columns, "weight": sample_weight, "impute": impute,
            "fraction": fraction, "seed": seed, "drop_missing_target": drop_missing_target,
            "used": [*columns, target, *weight],
            # count the labels when the task may be classification, sum when regression
            "labels": task == "classification" or model == "logistic"
            or (auto_mlp and not pd.api.types.is_float_dtype(dtype)),
            "numbers": task == "regression" or model == "linear" or (auto_mlp and numbers)}


def _checked(merged, frame, plan, task, model, params, fraction):
    """(task, estimator) after the in-memory checks, in their order, on the merged summaries."""
    target, columns, weight = plan["target"], plan["features"], plan["weight"]
    kinds = _kinds(frame, columns)
    _refuse_text_numbers(merged, kinds, columns)
    task = _resolve_task(merged, target, frame[target].dtype, task, model)
    cls = estimator_class(model, task)
    found = collect(_check_target, merged, target, task)  # and every column's, at once
    for name in columns:
        found += collect(_check_column, merged, name, kinds[name], frame[name].dtype,
                         plan["impute"])
    raise_problems(found)
    if task == "classification":
        _check_classes(merged, target)
    if weight is not None:
        _check_weights(frame, merged, weight)
    estimator = cls()
    estimator.set_params(**(params or {}))
    if hasattr(estimator, "_validate_params"):
        estimator._validate_params()  # bad hyperparameters fail before any work, as in fit
    _check_split(merged, target, task, fraction)
    return task, estimator


def _score(pipeline, frame, plan, merged, model, convergence=()):
    """The kept epoch, the metrics on the held-out rows (predicted on the workers), the advice.

    The advice says the estimator's ``convergence`` warnings with the command line's options.
    """
    history = getattr(pipeline.estimator, "history_", None)
    kept = None
    if history is not None and getattr(history, "loss", None):
        kept = history.best_epoch if history.best_epoch is not None else len(history.loss)
        pipeline.info["metrics_epoch"] = int(kept)
    if merged.n_held:
        pipeline.info["metrics"] = _held_out_metrics(frame, plan, pipeline)
    warn_about_result(pipeline, {"val_loss": []}, kept, model, convergence=convergence,
                      history=history)


def _refuse_order_statistics(impute, scaling):
    """Refuse what needs a column's median or quartiles: the merged sums do not give them."""
    refused = []
    if impute == "indicator":
        refused.append(("{impute} indicator", "its fill is an exact median, which needs the "
                        "whole column in one place", "Pass {impute} mean or most_frequent"))
    if scaling == "robust":
        refused.append(("{scaling} robust", "its quartiles need the whole column in one place",
                        "Leave out {scaling}"))
    if refused:
        raise SpecError([problem(f"{shown} does not work with {CLUSTER} yet: {why}. {fix}, or "
                                 f"train in memory (without {CLUSTER}).")
                         for shown, why, fix in refused])


# ------------------------------------------------------------------------------ the fit


def _fit_preprocessor(merged, frame, columns, impute, plan, client):
    """:meth:`TabularPreprocessor.fit` from the merged summaries (its warnings included)."""
    pre = TabularPreprocessor(impute=impute)
    pre.columns_ = []
    dropped = []
    for name in columns:
        numeric = "sums" in merged.parts[0]["features"][name]
        fit = _numeric_column if numeric else _categorical_column
        state, constant = fit(merged, frame, name, impute, plan, client)
        if state is None:
            dropped.append((name, constant))
        else:
            pre.columns_.append(state)
    report_constant_columns(pre.columns_, dropped, stacklevel=4)
    return pre


def _numeric_column(merged, frame, name, impute, plan, client):
    """(state, None), or (None, its value) for a constant column: ``fit``'s numeric branch."""
    import pandas as pd

    part = [s["features"][name] for s in merged.parts]
    n_train = merged.n_train
    train_missing = sum(p["train_missing"] for p in part)
    present = [p for p in part if p["min"] is not None]
    low = min((p["min"] for p in present), default=None)
    high = max((p["max"] for p in present), default=None)
    if n_train > 1 and (train_missing == n_train or (train_missing == 0 and low == high)):
        return None, math.nan if train_missing else low
    if low is None:  # a single training row, missing
        low = high = 0
    if (n_train >= 10 and pd.api.types.is_integer_dtype(frame[name].dtype)
            and high - low + 1 <= 20 * n_train):  # else too sparse for identifier_warning
        message = identifier_warning(_gathered_values(frame, name, plan), name)
        if message is not None:
            warnings.warn(message, UserWarning, stacklevel=5)
    total, squares = merged.sums(lambda s: s["features"][name]["sums"])
    n_present = sum(p["n_present"] for p in part)
    if impute == "most_frequent":
        counts = merged.counts(lambda s: s["features"][name]["counts"])
        top = max(counts.values())
        fill = float(min(v for v, c in counts.items() if c == top))  # ties: the smallest
    else:
        fill = exact_mean(n_present, total)
    filled = (n_train - n_present) * Fraction(fill)  # the missing values, filled
    total, squares = total + filled, squares + filled * Fraction(fill)
    try:
        mean, std = exact_mean_std(n_train, total, squares)
    except OverflowError:
        mean = std = math.inf
    if not (math.isfinite(mean) and math.isfinite(std)):
        raise DataError(
            f"column {name!r} must have values small enough to standardise, got values up to "
            f"{max(abs(float(low)), abs(float(high))):.3g}. Rescale the column (e.g. divide it "
            "by a power of 10)."
        )
    return {"name": name, "kind": "numeric", "fill": fill, "mean": mean,
            "scale": std if std > 0 else 1.0}, None


def _categorical_column(merged, frame, name, impute, plan, client):
    """(state, None), or (None, its value) for a constant column: ``fit``'s text branch."""
    n_train = merged.n_train
    train_missing = sum(s["features"][name]["train_missing"] for s in merged.parts)
    counts = merged.counts(lambda s: s["features"][name]["counts"])
    if n_train > 1 and (train_missing == n_train or (train_missing == 0 and len(counts) == 1)):
        return None, math.nan if train_missing else next(iter(counts))
    n_present = sum(counts.values())
    top = max(counts.values())
    fill = min(v for v, c in counts.items() if c == top)
    categories = sorted(counts)
    if n_present >= 10 and len(categories) == n_present:
        warnings.warn(
            f"column {name!r} looks like an identifier (its {n_present} values are all "
            f"different text); it is used as {len(categories)} one-hot features. If it is an "
            f"identifier, leave it out with --exclude {name}.", UserWarning, stacklevel=5,
        )
    elif len(categories) > 50 and len(categories) > 0.5 * n_present:
        warnings.warn(
            f"column {name!r} has {len(categories)} distinct values in {n_present} rows, so "
            f"one-hot encoding adds {len(categories)} features. If it is an identifier, leave "
            f"it out with --exclude {name}.", UserWarning, stacklevel=5,
        )
    return {"name": name, "kind": "categorical", "fill": fill, "categories": categories}, None


def _gathered_values(frame, name, plan):
    """An integer column's training values, gathered in a second, small pass.

    For :func:`identifier_warning`, the rule of the in-memory preprocessing.
    """
    import dask

    tasks = [dask.delayed(_training_values, pure=True)(d, plan, name)
             for d in frame.to_delayed()]
    return np.concatenate(dask.compute(*tasks))


def _training_values(part, plan, name):
    part, _ = prepare(part, plan)
    held = held_out(part, plan["used"], plan["fraction"], plan["seed"])
    return part.loc[~held, name].dropna().to_numpy(dtype=np.float64)


def _target_scaler(merged, target):
    total, squares = merged.sums(lambda s: s["target"]["sums"])
    try:
        mean, std = exact_mean_std(merged.n_train, total, squares)
    except OverflowError:
        mean = std = math.inf
    if not (math.isfinite(mean) and math.isfinite(std)):
        raise _too_large(target, np.array([math.inf]))
    return {"mean": mean, "scale": std if std > 0 else 1.0}


def _labels(series, task, scaler=None):
    """The target as the in-memory path holds it: labels, or float values (scaled)."""
    import pandas as pd

    if task == "regression":
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            values = series.to_numpy(dtype=np.float64)
        else:
            values = pd.to_numeric(series.astype(object)).to_numpy(dtype=np.float64)
        if scaler is not None:
            values = (values - scaler["mean"]) / scaler["scale"]
        return values
    labels = series.to_numpy()
    if labels.dtype.kind in "OUS":
        labels = np.array([str(v) for v in labels], dtype=object)
    return labels


def _rows(part, plan, held):
    part, _ = prepare(part, plan)
    mask = held_out(part, plan["used"], plan["fraction"], plan["seed"])
    return part.loc[mask if held else ~mask]


def _training_block(part, plan, pipeline):
    """On a worker: (X, y, w) of a partition's training rows."""
    rows = _rows(part, plan, held=False)
    X = pipeline.transform(rows, warn_unknown=False)
    y = _labels(rows[plan["target"]], pipeline.task, pipeline.target_scaler)
    w = None
    if plan["weight"] is not None:
        w = rows[plan["weight"]].to_numpy(dtype=np.float64)
    return X, y, w


def _training_arrays(frame, merged, plan, pipeline):
    """Dask arrays of the transformed training rows (chunks: the partitions' training rows)."""
    import dask
    import dask.array as da
    import pandas as pd

    width = len(pipeline.preprocessor.feature_names_out_)
    target_dtype = frame[plan["target"]].dtype
    if pipeline.task == "regression":
        y_dtype = np.dtype(np.float64)
    elif pd.api.types.is_numeric_dtype(target_dtype) or pd.api.types.is_bool_dtype(
            target_dtype):
        y_dtype = np.dtype(target_dtype)
    else:
        y_dtype = np.dtype(object)
    # The preprocessing alone goes to the workers (the estimator is being fitted: its
    # callbacks hold the progress display).
    pipeline = TabularPipeline(pipeline.preprocessor, None, target=pipeline.target,
                               task=pipeline.task, dtype=pipeline.dtype,
                               target_scaler=pipeline.target_scaler)
    xs, ys, ws = [], [], []
    for part, summary in zip(frame.to_delayed(), merged.parts, strict=True):
        n = summary["rows"] - summary["held"]
        if n == 0:
            continue
        block = dask.delayed(_training_block, pure=True, nout=3)(part, plan, pipeline)
        xs.append(da.from_delayed(block[0], shape=(n, width), dtype=np.dtype(pipeline.dtype)))
        ys.append(da.from_delayed(block[1], shape=(n,), dtype=y_dtype))
        ws.append(da.from_delayed(block[2], shape=(n,), dtype=np.float64))
    w = None if plan["weight"] is None else da.concatenate(ws)
    return da.concatenate(xs), da.concatenate(ys), w


def _held_block(part, plan, pipeline):
    """On a worker: labels (or values) and the pipeline's predictions of the held-out rows."""
    rows = _rows(part, plan, held=True)
    y = _labels(rows[plan["target"]], pipeline.task)
    if not len(rows):
        return y, None, None
    X = pipeline.transform(rows, warn_unknown=False)
    if pipeline.task == "classification":
        from .evaluation import _in_batches

        est = pipeline.estimator
        return y, _in_batches(est.predict, X), _in_batches(est.predict_proba, X)
    return y, _in_batches_features(pipeline, X), None


def _in_batches_features(pipeline, X):
    from .evaluation import _in_batches

    return _in_batches(pipeline._predict_features, X)


def _held_out_metrics(frame, plan, pipeline):
    """The metrics of :func:`train_pipeline` on the held-out rows, predicted on the workers."""
    import dask

    tasks = [dask.delayed(_held_block, pure=True)(part, plan, pipeline)
             for part in frame.to_delayed()]
    blocks = [b for b in dask.compute(*tasks) if b[1] is not None]
    y = np.concatenate([b[0] for b in blocks])
    predicted = np.concatenate([b[1] for b in blocks])
    if pipeline.task == "classification":
        proba = np.concatenate([b[2] for b in blocks])
        warn_if_one_class(y, predicted)
        return classification_metrics(y, predicted, proba, pipeline.estimator.classes_)
    return regression_metrics(y, predicted)


