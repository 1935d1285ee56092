"""A traced row of a table: its preprocessing, then every number of the network's passes."""

import math

import numpy as np

from ..trace import trace
from .columns import FILLED_FIX, FIX, _numeric_values, convert_numeric_text, target_values
from .problems import problems_of, raise_problems
from .reading import DataError


def preprocessing_steps(pipeline, row, *, encoded=None, numbers=None):
    """Each column of a one-row frame: raw value -> imputed -> standardised or one-hot.

    Returns a list of plain dicts (``column``, ``kind``, ``raw``, ``missing``, ``impute``,
    ``filled``, ``features``, ``encoded``, and ``mean``/``scale`` for numbers), in the order of
    the model's features; ``encoded`` is read from ``pipeline.transform(row)``, the vector
    ``predict`` uses, unless it is given. ``numbers`` maps a numeric column written as text
    (``"57,690"``, ``12%``) to the number its value was read as.

    With ``impute="indicator"`` a number is filled with its median (``impute`` is
    ``"median"``) and a column with an indicator adds ``indicator`` (its 0/1 value, the
    block's last feature); a missing text value is a category of its own (``impute`` is
    ``"indicator"``, ``filled`` None). A robustly scaled number adds ``clip`` (3) and
    ``scaled``, the value ``z = (x - median) / spread`` before the smooth clip
    ``z / sqrt(1 + (z / clip)**2)`` gives the encoded one.
    """
    if encoded is None:
        encoded = pipeline.transform(row)[0]
    numbers = numbers or {}
    pre = pipeline.preprocessor
    names = pre.feature_names_out_
    steps = []
    for column, (name, start, stop) in zip(pre.columns_, pre.feature_groups_, strict=True):
        raw = row[name].iloc[0]
        missing = _is_missing(raw)
        impute = pre.impute or ("most_frequent" if column["kind"] == "categorical" else None)
        if impute == "indicator" and column["kind"] != "categorical":
            impute = "median"  # then the indicator; a text value is a category of its own
        step = {"column": name, "kind": column["kind"], "raw": None if missing else _plain(raw),
                "missing": missing, "impute": impute,
                "filled": column["fill"] if missing else _plain(raw),
                "features": names[start:stop],
                "encoded": [float(v) for v in encoded[start:stop]]}
        if column["kind"] == "categorical" and missing and impute == "indicator":
            step["filled"] = None
        if column["kind"] == "numeric":
            step["filled"] = float(numbers.get(name, raw)) if not missing else column["fill"]
            step["mean"], step["scale"] = column["mean"], column["scale"]
            if "clip" in column:
                step["clip"] = column["clip"]
                step["scaled"] = (step["filled"] - column["mean"]) / column["scale"]
            if column.get("indicator"):
                step["indicator"] = float(encoded[stop - 1])
        steps.append(step)
    return steps


_MISSING_TARGET_FIX = ("Fill it in, trace another {row}, or leave the target column out of "
                       "DATA to trace the forward pass only.")


_NUMERIC_TARGET_FIX = ("The model does regression: fix that value, or leave the target column "
                       "out of DATA to trace the forward pass only.")


def trace_row(pipeline, frame, row):
    """The :class:`numnet.trace.Trace` of ``frame``'s row ``row`` (0-based) for a pipeline.

    The table is read as ``predict`` and ``evaluate`` read it: numeric columns written as text
    (``"57,690"``, ``12%``) are read as numbers over the whole column, and so is a regression
    target. The row's target is used when the frame holds the target column (then the loss and
    the backward pass are traced, with the target standardised as in training for a
    regression); the preprocessing of the row is attached as ``trace.preprocessing``.
    """
    numbers = _numbers_as_read(pipeline, frame)
    one = frame.iloc[[row]]
    read = one.copy() if numbers else one
    for name, values in numbers.items():
        read[name] = values[row:row + 1]
    X = pipeline.transform(read)
    y = None
    if pipeline.target in frame.columns:
        target = frame.iloc[[row]]
        if pipeline.task == "regression":
            target = convert_numeric_text(frame, [pipeline.target]).iloc[[row]]
        y = target_values(target, pipeline.target, pipeline.task,
                          missing_fix=_MISSING_TARGET_FIX, numeric_fix=_NUMERIC_TARGET_FIX)
        if pipeline.task == "classification":
            lookup = {str(c): c for c in pipeline.classes_.tolist()}
            if str(y[0]) not in lookup:
                raise DataError(f"target column {pipeline.target!r} has a label the model "
                                f"never saw at row {row + 1}: {_plain(y[0])!r}.")
            y = np.array([lookup[str(y[0])]], dtype=object)
        elif pipeline.target_scaler is not None:
            y = (y - pipeline.target_scaler["mean"]) / pipeline.target_scaler["scale"]
    result = trace(pipeline.estimator, X, y)
    result.preprocessing = preprocessing_steps(
        pipeline, one, encoded=X[0], numbers={name: values[row] for name, values in
                                              numbers.items()})
    return result


def _numbers_as_read(pipeline, frame):
    """{column: float64 values} of the numeric columns that ``frame`` holds as text."""
    import pandas as pd

    numbers, found = {}, []
    for column in pipeline.preprocessor.columns_:
        name = column["name"]
        if column["kind"] != "numeric" or name not in frame.columns:
            continue
        series = frame[name]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            continue
        try:
            numbers[name] = _numeric_values(
                series, name, trained=True, fix=FILLED_FIX if pipeline.preprocessor.impute else FIX)
        except DataError as error:  # every column's problem at once
            found += problems_of(error)
    raise_problems(found)
    return numbers


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NA raises TypeError on bool()
    except TypeError:
        return True


def _plain(value):
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, (int, float, str, bool)) else str(value)
