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

import numpy as np

from .cluster import Merged, held_out, prepare, summarise
from .columns import MAX_LABEL_CHARS
from .evaluation import classification_metrics, regression_metrics
from .fitting import (
    MAX_CLASSES,
    _Callbacks,
    _fit_estimator,
    _too_large,
    _warn_about_result,
    estimator_class,
)
from .pipeline import TabularPipeline
from .preprocessing import TabularPreprocessor, _plain_value
from .reading import MAX_CLASSIFICATION_INTEGERS, DataError, select_features
from .statistics import exact_mean, exact_mean_std

_REFUSE_TEXT_NUMBERS = ("column {name!r} holds numbers written as text (e.g. {example!r}), which "
                        "the data-parallel path does not convert yet. Write them as plain "
                        "numbers, or train without --scheduler/--workers.")


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
    try:
        return _train_pipeline_dask(frame, **options)
    finally:
        context.__exit__(None, None, None)


def _train_pipeline_dask(frame, *, target, features=None, task="auto", model="mlp",
                        params=None, impute=None, sample_weight=None, validation_fraction=0.2,
                        dtype="float64", random_state=0, callbacks=(), source="data",
                        on_split=None, scale_target=True, drop_missing_target=False,
                        on_dropped=None, client=None, checkpoint=None, resume=False,
                        on_data_hash=None):
    """Fit preprocessing and an estimator on a dask DataFrame, on the active Dask client.

    The arguments are :func:`train_pipeline`'s, except: ``on_split(n_train, n_validation,
    estimator_name, task)`` is told the task too (it is known only after the pass);
    ``drop_missing_target`` drops the rows without a target and ``on_dropped(n)`` is told how
    many; ``on_data_hash(sha256)`` is given the table's hash, computed in the same pass (for
    the checkpoint's data check; the estimator's mini-batch and 'gd' training take
    ``checkpoint`` and ``resume``); ``impute="median"`` and privacy are not offered.
    Returns ``(pipeline, report)`` as :func:`train_pipeline` does.
    """
    import pandas as pd

    from ..distributed.data import get_client, scheduler_errors

    client = get_client(client)
    if dtype not in ("float32", "float64"):
        raise DataError(f"--dtype must be one of {{'float32', 'float64'}}, got {dtype!r}.")
    exclude = () if sample_weight is None else (sample_weight,)
    columns = select_features(frame, target, features, source, exclude=exclude)
    if sample_weight is not None:
        from .reading import check_columns

        check_columns(frame, [sample_weight], "--sample-weight", source)
    target_dtype = frame[target].dtype
    floats = pd.api.types.is_float_dtype(target_dtype)
    numeric = (pd.api.types.is_numeric_dtype(target_dtype)
               and not pd.api.types.is_bool_dtype(target_dtype))
    plan = {"target": target, "features": columns, "weight": sample_weight, "impute": impute,
            "fraction": validation_fraction, "seed": random_state,
            "drop_missing_target": drop_missing_target,
            "used": [*columns, target, *exclude], "digest": on_data_hash is not None,
            "labels": task == "classification" or model == "logistic"
            or (task == "auto" and model == "mlp" and not floats),
            "numbers": task == "regression" or model == "linear" or not (
                task == "classification" or model == "logistic" or not numeric)}
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
    kinds = _kinds(frame, columns)
    _refuse_text_numbers(merged, kinds, columns)
    task = _resolve_task(merged, target, target_dtype, task, model)
    cls = estimator_class(model, task)
    _check_target(merged, target, task)
    if task == "classification":
        _check_classes(merged, target)
    if sample_weight is not None:
        _check_weights(frame, merged, sample_weight)
    estimator = cls()
    estimator.set_params(**(params or {}))
    if hasattr(estimator, "_validate_params"):
        estimator._validate_params()
    for name in columns:
        _check_column(merged, name, kinds[name], frame[name].dtype, impute)
    _check_split(merged, target, task, validation_fraction)
    if on_split is not None:
        on_split(merged.n_train, merged.n_held, cls.__name__, task)
    preprocessor = _fit_preprocessor(merged, frame, columns, impute, plan, client)
    pipeline = TabularPipeline(preprocessor, estimator, target=target, task=task, dtype=dtype)
    if task == "regression" and scale_target:
        pipeline.target_scaler = _target_scaler(merged, target)
    X, y, w = _training_arrays(frame, merged, plan, pipeline)
    notify = _Callbacks(None, callbacks)
    with scheduler_errors(client):
        _fit_estimator(estimator, X, y, w, notify, checkpoint, resume, np.array([np.inf]),
                       target)
    pipeline.info = {
        "source": source, "model": model, "features": columns,
        "sample_weight": sample_weight, "validation_fraction": validation_fraction,
        "random_state": random_state, "n_train": int(merged.n_train),
        "n_validation": int(merged.n_held), "metrics": {}, "validation_curve": {},
    }
    history = getattr(estimator, "history_", None)
    kept = None
    if history is not None and getattr(history, "loss", None):
        kept = history.best_epoch if history.best_epoch is not None else len(history.loss)
        pipeline.info["metrics_epoch"] = int(kept)
    if merged.n_held:
        with scheduler_errors(client):
            pipeline.info["metrics"] = _held_out_metrics(frame, plan, pipeline)
        _warn_about_result(pipeline, {"val_loss": []}, kept, model)
    report = {"task": task, "model": model, "estimator": cls.__name__,
              "n_train": int(merged.n_train), "n_validation": int(merged.n_held),
              "n_features": len(preprocessor.feature_names_out_),
              "metrics": pipeline.info["metrics"]}
    return pipeline, report


# ----------------------------------------------------------------------------------- checks


def _refuse_text_numbers(merged, kinds, columns):
    """Refuse text columns of numbers with separators or signs (memory converts them)."""
    for name in columns:
        if kinds[name] != "text":
            continue
        part = [s["features"][name] for s in merged.parts if s["features"][name]["n_present"]]
        if not part or any(p["formats"] is None for p in part):
            continue
        union = set().union(*(p["formats"] for p in part))
        if {kind for kind, _ in union} != {"plain"} or {d for _, d in union} - {None}:
            raise DataError(_REFUSE_TEXT_NUMBERS.format(name=name, example=part[0]["example"]))


def _resolve_task(merged, target, dtype, task, model):
    import pandas as pd

    if task != "auto":
        return task
    if model == "linear":
        return "regression"
    if model == "logistic":
        return "classification"
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "classification"
    if pd.api.types.is_integer_dtype(dtype):
        counts = merged.counts(lambda s: s["target"]["counts"])
        if counts is not None and len(counts) <= MAX_CLASSIFICATION_INTEGERS:
            return "classification"
    return "regression"


def _check_target(merged, target, task):
    unusable = next((s["target"]["unusable"] for s in merged.parts
                     if s["target"]["unusable"]), None)
    if unusable:
        raise DataError(unusable)
    missing = merged.total(lambda s: s["target"]["missing"])
    if missing:
        row, = merged.first(lambda s: s["target"]["first_missing"])
        raise DataError(
            f"target column {target!r} has {missing} missing value(s), the first at row {row}. "
            "Drop those rows (--drop-missing-target); targets are never imputed."
        )
    if task == "regression":
        bad = merged.first(lambda s: s["target"]["first_text"])
        if bad is not None:
            raise DataError(
                f"target column {target!r} must be numeric for regression, got {bad[1]!r} at "
                f"row {bad[0]}. Use --task classification to predict categories."
            )
        bad = merged.first(lambda s: s["target"]["first_inf"])
        if bad is not None:
            raise DataError(f"target column {target!r} must hold finite numbers, got {bad[1]} "
                            f"at row {bad[0]}.")
        return
    long = merged.first(lambda s: s["target"]["long"])
    if long is not None:
        raise DataError(
            f"target column {target!r} must hold class labels of at most {MAX_LABEL_CHARS} "
            f"characters, got one of {long[1]} characters at row {long[0]}. Check that "
            "--target names the label column."
        )


def _check_classes(merged, target):
    counts = merged.counts(lambda s: s["target"]["counts"])
    if counts is not None and len(counts) < 2:
        raise DataError(
            f"target column {target!r} must have at least 2 classes for classification, got "
            f"only {next(iter(counts))!r}."
        )
    n_rows = merged.n_rows
    if counts is None or len(counts) > MAX_CLASSES or len(counts) > n_rows / 2:
        found = f"more than {MAX_CLASSES}" if counts is None else str(len(counts))
        raise DataError(
            f"target column {target!r} must have at most {MAX_CLASSES} classes, and at most "
            f"half as many as rows, got {found} classes in {n_rows} rows. If the target is "
            "a number, pass --task regression; if it is an identifier, choose another target."
        )
    for label in sorted(counts, key=str):
        if counts[label] == 1:
            warnings.warn(
                f"class {label!r} of target column {target!r} has only 1 row; it is kept for "
                "training, so the validation metrics cannot cover it.", UserWarning, stacklevel=3,
            )


def _check_weights(frame, merged, name):
    import pandas as pd

    dtype = frame[name].dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise DataError(f"--sample-weight column {name!r} must be numeric.")
    bad = merged.first(lambda s: s["weight"])
    if bad is not None:
        raise DataError(f"--sample-weight column {name!r} must hold finite values >= 0, got "
                        f"{bad[1]} at row {bad[0]}.")


def _check_column(merged, name, kind, dtype, impute):
    """:meth:`TabularPreprocessor.check` on the merged summaries of one column."""
    import pandas as pd

    part = [s["features"][name] for s in merged.parts]
    n_present = sum(p.get("n_present", 0) for p in part)
    dates = kind == "date" or (kind == "text" and n_present
                               and sum(p["n_date"] for p in part) == n_present)
    if dates:
        raise DataError(
            f"column {name!r} holds dates, which the data-parallel path (--scheduler, "
            f"--workers) does not preprocess yet. Leave it out with --exclude {name}, or train "
            "without --scheduler/--workers."
        )
    if kind == "text":
        unusable = next((p["unusable"] for p in part if p["unusable"]), None)
        if unusable:
            raise DataError(unusable)
        if not (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
                or isinstance(dtype, pd.CategoricalDtype)):
            raise DataError(
                f"column {name!r} has dtype {dtype}, which numnet cannot use. Convert it to "
                "numbers or strings, or leave it out with --features."
            )
        share = sum(p["n_numeric"] for p in part) / n_present if n_present else 0.0
        if 0.9 <= share < 1.0:
            row, value = merged.first(lambda s: s["features"][name]["first_text"])
            raise DataError(
                f"column {name!r} must be numeric, got {value!r} at row {row}. Fix that value, "
                "or leave it empty and use --impute."
            )
    missing = sum(p["missing"] for p in part)
    if missing == merged.n_rows:
        raise DataError(
            f"column {name!r} must have at least one value, got only missing values. Leave it "
            "out with --features."
        )
    if missing and impute is None:
        row, = merged.first(lambda s: s["features"][name]["first_missing"])
        raise DataError(
            f"column {name!r} has {missing} missing value(s), the first at row {row}. Fill or "
            "drop them, or pass --impute mean|median|most_frequent."
        )
    if kind == "numeric":
        bad = merged.first(lambda s: s["features"][name]["first_inf"])
        if bad is not None:
            raise DataError(f"column {name!r} must hold finite numbers, got {bad[1]} at row "
                            f"{bad[0]}.")


def _check_split(merged, target, task, fraction):
    if fraction and merged.n_train == 0:
        raise DataError(
            f"--validation-fraction {fraction} leaves no rows for training out of "
            f"{merged.n_rows}. Use a smaller fraction, or 0 to train on every row."
        )
    if task != "classification":
        return
    counts = merged.counts(lambda s: s["target"]["counts"])
    trained = merged.counts(lambda s: s["target"]["train_counts"]) or {}
    for label in sorted(counts, key=str):
        if not trained.get(label):
            raise DataError(
                f"class {label!r} of target column {target!r} has all its {counts[label]} "
                "row(s) in the held-out split (a hash of each row), so the model could not "
                "learn it. Pass another --seed, a smaller --validation-fraction, or 0."
            )


# ------------------------------------------------------------------------------ the fit


def _fit_preprocessor(merged, frame, columns, impute, plan, client):
    """:meth:`TabularPreprocessor.fit` from the merged summaries (its warnings included)."""
    import pandas as pd

    pre = TabularPreprocessor(impute=impute)
    pre.columns_ = []
    dropped = []
    n_train = merged.n_train
    for name in columns:
        part = [s["features"][name] for s in merged.parts]
        train_missing = sum(p["train_missing"] for p in part)
        if "sums" in part[0]:  # numeric
            present = [p for p in part if p["min"] is not None]
            low = min((p["min"] for p in present), default=None)
            high = max((p["max"] for p in present), default=None)
            if n_train > 1 and (train_missing == n_train
                                or (train_missing == 0 and low == high)):
                dropped.append((name, math.nan if train_missing else low))
                continue
            dtype = frame[name].dtype
            if (n_train >= 10 and pd.api.types.is_integer_dtype(dtype)
                    and high - low < 2 * n_train
                    and _all_different(merged, frame, name, plan, client)):
                warnings.warn(
                    f"column {name!r} looks like a row number (its {n_train} values are all "
                    f"different integers from {low} to {high}); it is used as a feature. If it "
                    f"is an identifier, leave it out with --exclude {name}.", UserWarning,
                    stacklevel=3,
                )
            total, squares = merged.sums(lambda s, n=name: s["features"][n]["sums"])
            n_present = sum(p["n_present"] for p in part)
            if impute == "most_frequent":
                counts = merged.counts(lambda s, n=name: s["features"][n]["counts"])
                top = max(counts.values())
                fill = float(min(v for v, c in counts.items() if c == top))
            else:
                fill = exact_mean(n_present, total)
            from fractions import Fraction

            extra = n_train - n_present
            total += extra * Fraction(fill)
            squares += extra * Fraction(fill) ** 2
            try:
                mean, std = exact_mean_std(n_train, total, squares)
            except OverflowError:
                mean = std = math.inf
            if not (math.isfinite(mean) and math.isfinite(std)):
                largest = max(abs(float(low)), abs(float(high)))
                raise DataError(
                    f"column {name!r} must have values small enough to standardise, got values "
                    f"up to {largest:.3g}. Rescale the column (e.g. divide it by a power of 10)."
                )
            pre.columns_.append({"name": name, "kind": "numeric", "fill": fill, "mean": mean,
                                 "scale": std if std > 0 else 1.0})
            continue
        counts = merged.counts(lambda s, n=name: s["features"][n]["counts"])
        if n_train > 1 and (train_missing == n_train
                            or (train_missing == 0 and len(counts) == 1)):
            dropped.append((name, math.nan if train_missing else next(iter(counts))))
            continue
        n_present = sum(counts.values())
        top = max(counts.values())
        fill = min(v for v, c in counts.items() if c == top)
        categories = sorted(counts)
        if n_present >= 10 and len(categories) == n_present:
            warnings.warn(
                f"column {name!r} looks like an identifier (its {n_present} values are all "
                f"different text); it is used as {len(categories)} one-hot features. If it is "
                f"an identifier, leave it out with --exclude {name}.", UserWarning, stacklevel=3,
            )
        elif len(categories) > 50 and len(categories) > 0.5 * n_present:
            warnings.warn(
                f"column {name!r} has {len(categories)} distinct values in {n_present} rows, so "
                f"one-hot encoding adds {len(categories)} features. If it is an identifier, "
                f"leave it out with --exclude {name}.", UserWarning, stacklevel=3,
            )
        pre.columns_.append({"name": name, "kind": "categorical", "fill": fill,
                             "categories": categories})
    for name, value in dropped:
        warnings.warn(
            f"column {name!r} has the same value ({_plain_value(value)!r}) in every training "
            "row, so it cannot help; it is left out.", UserWarning, stacklevel=3,
        )
    if not pre.columns_:
        raise DataError(
            f"data must have at least one feature column that varies, got only constant ones: "
            f"{', '.join(repr(n) for n, _ in dropped)}."
        )
    return pre


def _all_different(merged, frame, name, plan, client):
    """Whether an integer column's training values are all different.

    Each partition says whether its own are; when the partitions' ranges do not overlap (row
    numbers, ids in file order) that settles it. Otherwise the distinct values are counted in
    a second, small pass.
    """
    part = [s["features"][name] for s in merged.parts]
    if not all(p["distinct"] for p in part):
        return False
    ranges = sorted((p["min"], p["max"]) for p in part if p["min"] is not None)
    if all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False)):
        return True
    import dask

    tasks = [dask.delayed(_training_values, pure=True)(d, plan, name)
             for d in frame.to_delayed()]
    values = np.concatenate(dask.compute(*tasks))
    return len(np.unique(values)) == len(values)


def _training_values(part, plan, name):
    part, _ = prepare(part, plan)
    held = held_out(part, plan["used"], plan["fraction"], plan["seed"])
    return part.loc[~held, name].to_numpy()


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
        return classification_metrics(y, predicted, proba, pipeline.estimator.classes_)
    return regression_metrics(y, predicted)


