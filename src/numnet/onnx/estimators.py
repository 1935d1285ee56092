"""The four estimators as ONNX graphs, with skl2onnx's output names.

=================  =======================================================================
classifier         ``label`` (n_samples,) of the classes' type (int64 or string) and
                   ``probabilities`` (n_samples, n_classes) of the graph's float type
multilabel         ``label`` (n_samples, n_labels) int64 indicators, ``probabilities``
                   (n_samples, n_labels)
regressor          ``variable`` (n_samples, n_outputs) of the graph's float type
=================  =======================================================================

The heads follow the estimators' own decoding (``estimators/_targets.py``): binary
``p = [sigmoid(-z), sigmoid(z)]`` and ``label = classes_[z > 0]``; multiclass ``softmax(z)``
and ``classes_[argmax z]`` (the first maximum, as NumPy); multilabel ``sigmoid(z)`` and
``z > 0``; a Poisson regressor ``exp(z)``.

A row the network cannot score (a NaN among its outputs: a missing value fed to a model that
does not impute) gets NaN probabilities and a label that says so, never a class:
:data:`UNSCORED_TEXT` for text classes, :data:`UNSCORED_INT` for integer classes, and -1 in
every multilabel indicator.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from .network import add_network

UNSCORED_TEXT = ""
"""The label of a row that cannot be scored, for text classes (never a class: an empty cell
is a missing label, which training refuses)."""
UNSCORED_INT = int(np.iinfo(np.int64).min)
"""The label of a row that cannot be scored, for integer classes."""


def is_numnet_estimator(obj):
    """Whether ``obj`` is one of numnet's estimators (duck-typed on the fitted network)."""
    from ..estimators import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor

    return isinstance(obj, (LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor))


def label_array(classes):
    """``classes_`` as what a graph can hold: int64 for integers, str for text."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64)
    if classes.dtype.kind in "UO" and all(isinstance(c, str) for c in classes.tolist()):
        return classes.astype(object)
    if classes.dtype.kind == "f" and np.all(classes == np.round(classes)):
        return classes.astype(np.int64)
    raise ValueError(f"classes_ must be integers or strings to export to ONNX, got "
                     f"{classes.tolist()!r:.100}. Encode the labels as integers or text.")


def add_estimator_head(g, est, raw, dtype):
    """Nodes from the raw network output to the outputs; returns ``[(name, node, type, shape)]``.

    The caller exposes them as graph outputs (or renames them, as skl2onnx does).
    """
    if not is_classifier(est):
        out = g.op("Exp", [raw], "exp") if getattr(est, "out_activation_", "") == "exp" else raw
        return [("variable", out, dtype, [None, est.n_outputs_])]
    n = est.n_outputs_
    if est.out_activation_ == "softmax":
        proba = g.op("Softmax", [raw], "softmax", axis=1)
        index = g.op("ArgMax", [raw], "argmax", axis=1, keepdims=0)
    elif n > 1:  # multilabel
        proba = g.op("Sigmoid", [raw], "sigmoid")
        positive = g.op("Greater", [raw, g.const(0, "zero", dtype)], "positive")
        label = g.op("Cast", [positive], "label_int", to=g.TensorProto.INT64)
        label = g.op("Where", [g.op("IsNaN", [raw], "unscored_value"),
                               g.const(-1, "unscored_indicator", np.int64), label],
                     "label_marked")
        return [("label", label, np.int64, [None, n]),
                ("probabilities", proba, dtype, [None, n])]
    else:  # binary: one logit column
        p1 = g.op("Sigmoid", [raw], "p1")
        p0 = g.op("Sigmoid", [g.op("Neg", [raw], "neg")], "p0")
        proba = g.op("Concat", [p0, p1], "proba", axis=1)
        positive = g.op("Greater", [raw, g.const(0, "zero", dtype)], "positive")
        column = g.op("Cast", [positive], "index_column", to=g.TensorProto.INT64)
        index = g.op("Squeeze", [column, g.const([1], "axis1", np.int64)], "index")
        n = 2
    classes = label_array(est.classes_)
    label = g.op("Gather", [g.const(classes, "classes"), index], "label_lookup", axis=0)
    mark = UNSCORED_TEXT if classes.dtype == object else UNSCORED_INT
    label = g.op("Where", [_unscored_rows(g, raw, dtype),
                           g.const(np.array(mark, dtype=classes.dtype), "unscored_label"),
                           label], "label_marked")
    return [("label", label, classes.dtype, [None]),
            ("probabilities", proba, dtype, [None, n])]


def _unscored_rows(g, raw, dtype):
    """(n,) booleans: the rows with a NaN among the network's outputs."""
    nan = g.op("Cast", [g.op("IsNaN", [raw], "nan_output")], "nan_count_terms",
               to=g.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    count = g.op("ReduceSum", [nan, g.const([1], "class_axis", np.int64)], "nan_count",
                 keepdims=0)
    return g.op("Greater", [count, g.const(0, "none", dtype)], "unscored")


def add_estimator(g, est, X, dtype):
    """Network and head of a fitted estimator on the input ``X``."""
    check_is_fitted(est)
    raw = add_network(g, est.network_, X, dtype)
    return add_estimator_head(g, est, raw, dtype)
