"""The pipeline ``numnet train`` saves, from raw columns to labels or values.

One graph input per original column, named as the column, shape (n_samples, 1):

- a numeric column is ``tensor(double)``; NaN marks a missing value, filled with the training
  fill value (``--impute``), then ``(x - mean) / scale`` in float64, as numnet computes it;
  with robust scaling the smooth clip follows, ``z / sqrt(1 + (z / clip)**2)``, and with
  ``--impute indicator`` a column that had missing values in training adds its 0/1 indicator
  (``IsNaN`` cast to double) right after it;
- a categorical column is ``tensor(string)``; the empty string marks a missing value (what
  pandas reads an empty cell as), filled with the most frequent training category (without
  ``--impute``, the block is NaN: the row cannot be scored, as ``numnet predict`` refuses it;
  with ``--impute indicator``, missing is a category of its own: zeros in the block, and a 1
  in the ``(missing)`` column that ends the block when the column had missing values in
  training). An ``ai.onnx.ml`` ``LabelEncoder`` maps each category to its index (an unseen one
  to -1), and ``Equal`` against ``0..k-1`` gives the one-hot block (all zeros for an unseen
  category);
- a date column is refused: its four features come from calendar arithmetic on parsed dates,
  which ONNX has no operator for.

The blocks are concatenated in float64, cast to the model's dtype and fed to the estimator's
graph; a standardised regression target is mapped back (``mean + scale * prediction``).
A row with a missing value the model does not impute gets NaN outputs and the label
:data:`numnet.onnx.estimators.UNSCORED_TEXT` or ``UNSCORED_INT``, never a class. The outputs
are named ``label`` and ``probabilities`` (or ``variable``); where a column already has that
name (it keeps it as its input's), the output is ``label_output`` and so on.
"""

import numpy as np

from ..tabular.estimators import TabularClassifier, TabularRegressor
from ..tabular.pipeline import TabularPipeline
from .estimators import add_estimator

MISSING_TEXT = ""
MISSING_CODE = -2  # a missing category without --impute: the block becomes NaN


def is_pipeline(obj):
    """Whether ``obj`` is the pipeline ``numnet train`` saves."""
    return isinstance(obj, TabularPipeline)


def is_tabular_estimator(obj):
    """Whether ``obj`` is a :class:`numnet.TabularClassifier` or ``TabularRegressor``."""
    return isinstance(obj, (TabularClassifier, TabularRegressor))


def fitted_pipeline(obj):
    """The pipeline of a tabular estimator (NotFittedError before ``fit``), or ``obj``."""
    if not is_tabular_estimator(obj):
        return obj
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(obj, "pipeline_")
    return obj.pipeline_


def add_pipeline(g, pipe, dtype):
    """Inputs, preprocessing, estimator and outputs of ``pipe`` in the builder ``g``."""
    columns = pipe.preprocessor.columns_
    for column in columns:
        if column["kind"] == "date":
            raise ValueError(
                f"column {column['name']!r} holds dates, which ONNX export cannot represent "
                f"(calendar parts of parsed dates); retrain without it (--exclude "
                f"{column['name']}) to export the model."
            )
    for column in columns:  # the inputs first: they keep the columns' exact names
        g.add_input(column["name"], np.float64 if column["kind"] == "numeric" else object,
                    [None, 1])
    impute = pipe.preprocessor.impute
    blocks = []
    for column in columns:
        blocks.extend((_numeric if column["kind"] == "numeric" else _categorical)(
            g, column, impute))
    features = blocks[0] if len(blocks) == 1 else g.op("Concat", blocks, "features", axis=1)
    if np.dtype(dtype) != np.float64:
        features = g.op("Cast", [features], "features_cast",
                        to=g.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    outputs = add_estimator(g, pipe.estimator, features, dtype)
    if pipe.task == "regression":
        (_, value, kind, _), = outputs
        if pipe.estimator.n_outputs_ > 1:
            value = g.op("Gather", [value, g.const([0], "first", np.int64)], "first_output",
                         axis=1)
        if pipe.target_scaler is not None:
            scaled = g.op("Mul", [value, g.const(pipe.target_scaler["scale"], "target_scale",
                                                 dtype)], "target_scaled")
            value = g.op("Add", [scaled, g.const(pipe.target_scaler["mean"], "target_mean",
                                                 dtype)], "target")
        outputs = [("variable", value, kind, [None, 1])]
    for name, node, kind, shape in outputs:  # a column may hold an output's name
        g.add_output(g.free_name(name, "_output"), node, kind, shape)


def _numeric(g, column, impute):
    """The column's features: the scaled value, then its missing indicator if it has one."""
    x = column["name"]
    missing = None
    if impute is not None:
        missing = g.op("IsNaN", [x], f"{x}_missing")
        x = g.op("Where", [missing, g.const([column["fill"]], f"{x}_fill", np.float64), x],
                 f"{x}_filled")
    centred = g.op("Sub", [x, g.const([column["mean"]], f"{x}_mean", np.float64)],
                   f"{x}_centred")
    scaled = g.op("Div", [centred, g.const([column["scale"]], f"{x}_scale", np.float64)],
                  f"{x}_scaled")
    if "clip" in column:  # z / sqrt(1 + (z / clip)**2), in numnet.functional.smooth_clip's order
        ratio = g.op("Div", [scaled, g.const([column["clip"]], f"{x}_clip", np.float64)],
                     f"{x}_ratio")
        squared = g.op("Mul", [ratio, ratio], f"{x}_ratio_squared")
        plus_one = g.op("Add", [squared, g.const([1.0], f"{x}_one", np.float64)],
                        f"{x}_ratio_plus_one")
        root = g.op("Sqrt", [plus_one], f"{x}_root")
        scaled = g.op("Div", [scaled, root], f"{x}_clipped")
    if not column.get("indicator"):
        return [scaled]
    return [scaled, g.op("Cast", [missing], f"{x}_indicator", to=g.TensorProto.DOUBLE)]


def _categorical(g, column, impute):
    """The one-hot block, the ``(other)`` column, then the ``(missing)`` column (if any)."""
    name, categories = column["name"], column["categories"]
    own = impute == "indicator"  # missing: a category of its own (zeros here), not the fill
    keys, values = list(categories), list(range(len(categories)))
    missing = MISSING_TEXT not in categories
    if missing:  # filled (--impute), its own category, or NaN: a row the model cannot score
        keys.append(MISSING_TEXT)
        fill = categories.index(column["fill"]) if column["fill"] in categories else -1
        values.append(fill if impute is not None and not own else MISSING_CODE)
    codes = g.op("LabelEncoder", [name], f"{name}_code", domain="ai.onnx.ml",
                 keys_strings=keys, values_int64s=values, default_int64=-1)
    hot = g.op("Equal", [codes, g.const(np.arange(len(categories)), f"{name}_codes",
                                        np.int64)], f"{name}_equal")
    hot = g.op("Cast", [hot], f"{name}_onehot", to=g.TensorProto.DOUBLE)
    if missing and impute is None:
        absent = g.op("Equal", [codes, g.const([MISSING_CODE], f"{name}_missing_code",
                                               np.int64)], f"{name}_missing")
        hot = g.op("Where", [absent, g.const([np.nan], f"{name}_nan", np.float64), hot],
                   f"{name}_onehot_or_nan")
    blocks = [hot]
    if column.get("other"):  # rare in training or never seen (code -1): the (other) feature
        other = g.op("Equal", [codes, g.const([-1], f"{name}_other_code", np.int64)],
                     f"{name}_is_other")
        blocks.append(g.op("Cast", [other], f"{name}_other", to=g.TensorProto.DOUBLE))
    if not column.get("indicator"):
        return blocks
    absent = g.op("Equal", [codes, g.const([MISSING_CODE], f"{name}_missing_code", np.int64)],
                  f"{name}_missing")
    return [*blocks, g.op("Cast", [absent], f"{name}_indicator", to=g.TensorProto.DOUBLE)]


def pipeline_inputs(pipe, frame):
    """The graph's inputs for the raw table ``frame``: ``{column: array of shape (n, 1)}``.

    ``pipe`` is a :class:`TabularPipeline` or a fitted tabular estimator (whose columns, when
    it was fitted on an array, are named ``x0``, ``x1``...).

    Numbers are read as ``numnet predict`` reads them (numbers written as text included) into
    float64 with NaN for missing values; categories as strings with ``""`` for missing ones.
    """
    from ..tabular.columns import _numeric_values

    pipe = fitted_pipeline(pipe)
    feed = {}
    for column in pipe.preprocessor.columns_:
        name, series = column["name"], frame[column["name"]]
        if column["kind"] == "numeric":
            values = _numeric_values(series, name, trained=True)
        else:
            values = (series.astype(object).where(series.notna(), MISSING_TEXT).astype(str)
                      .to_numpy(dtype=object))
        feed[name] = values.reshape(-1, 1)
    return feed
