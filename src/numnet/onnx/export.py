"""``to_onnx`` and ``save_onnx``: the entry points, one per kind of object."""

import numpy as np

from ..io.files import atomic_write
from ..network import Sequential
from ._graph import GraphBuilder, check_dtype, check_opset, onnx_modules
from .estimators import add_estimator, is_numnet_estimator
from .network import add_network
from .pipeline import add_pipeline, fitted_pipeline, is_pipeline, is_tabular_estimator


def to_onnx(obj, *, opset=None, dtype=None):
    """An ONNX model (``onnx.ModelProto``) computing what ``obj`` predicts.

    Parameters
    ----------
    obj : Sequential, numnet estimator, TabularPipeline, TabularClassifier or TabularRegressor
        A built network (input ``X``, output ``Y``: the network's output, as ``forward``), a
        fitted estimator (input ``X``; outputs ``label`` and ``probabilities`` for classifiers,
        ``variable`` for regressors, as skl2onnx names them), or the pipeline ``numnet train``
        saves (one input per original column; see docs/onnx.md), also as the
        ``pipeline_`` of a fitted ``TabularClassifier`` or ``TabularRegressor``.
    opset : int, default=None
        The ai.onnx opset version, from 13 to the newest the onnx package knows; None means 17.
    dtype : {"float32", "float64"}, default=None
        Floating-point type of the graph; None means the network's own dtype. Weights are cast
        to it.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model(model, full_check=True)``.

    Raises
    ------
    TypeError
        For an object or a layer that cannot be exported.
    ValueError
        For a non-finite weight, a bad ``opset`` or ``dtype``, a date column or class labels
        that are neither integers nor text.
    """
    opset = check_opset(opset)
    g = GraphBuilder(opset)
    if isinstance(obj, Sequential):
        if getattr(obj, "params", None) is None:
            raise RuntimeError("Sequential is not built yet; call build(n_in) first (fit() "
                               "does this for you).")
        dtype = check_dtype(dtype, obj.dtype)
        X = g.add_input("X", dtype, [None, obj.n_in])
        g.add_output("Y", add_network(g, obj, X, dtype), dtype, [None, obj.n_out])
    elif is_numnet_estimator(obj):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(obj)
        dtype = check_dtype(dtype, obj.network_.dtype)
        X = g.add_input("X", dtype, [None, obj.n_features_in_])
        for name, node, kind, shape in add_estimator(g, obj, X, dtype):
            g.add_output(name, node, kind, shape)
    elif is_pipeline(obj) or is_tabular_estimator(obj):
        pipe = fitted_pipeline(obj)  # a TabularClassifier or TabularRegressor: its pipeline
        dtype = check_dtype(dtype, pipe.dtype)
        add_pipeline(g, pipe, dtype)
    else:
        raise TypeError(f"obj must be a numnet Sequential, estimator or TabularPipeline to "
                        f"export to ONNX, got {type(obj).__name__}.")
    onnx, *_ = onnx_modules()
    model = g.model(doc_string=f"numnet {type(obj).__name__}, {np.dtype(dtype).name}")
    onnx.checker.check_model(model, full_check=True)
    return model


def save_onnx(obj, path, *, opset=None, dtype=None):
    """Write ``to_onnx(obj, opset=opset, dtype=dtype)`` to ``path`` (atomically); returns it."""
    model = to_onnx(obj, opset=opset, dtype=dtype)
    atomic_write(path, model.SerializeToString())
    return model
