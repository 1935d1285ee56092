"""numnet's estimators inside skl2onnx: converters for pipelines that mix both libraries.

After :func:`register_skl2onnx`, ``skl2onnx.to_onnx(make_pipeline(StandardScaler(),
numnet.MLPClassifier()), X[:1])`` converts: skl2onnx writes the scaler, numnet the network and
its head (the same nodes as :func:`numnet.onnx.to_onnx`), in the float type skl2onnx chose
(float32 unless the input is float64).
"""

import numpy as np

from ._graph import GraphBuilder
from .estimators import add_estimator


def register_skl2onnx():
    """Register converters for numnet's four estimators with skl2onnx (idempotent).

    Classifiers get skl2onnx's options ``zipmap`` and ``nocl``, as its own classifiers do.
    Multilabel classifiers are not supported inside skl2onnx pipelines (its classifier shape
    calculator expects one label per row); export them with :func:`numnet.onnx.to_onnx`.
    """
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
            calculate_linear_regressor_output_shapes,
        )
    except ImportError:
        raise ImportError("register_skl2onnx needs skl2onnx; install it with pip install "
                          "'numnet[onnx]'.") from None
    from ..estimators import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor

    for cls in (LogisticRegression, MLPClassifier):
        update_registered_converter(
            cls, f"Numnet{cls.__name__}", calculate_linear_classifier_output_shapes,
            _convert, options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
    for cls in (LinearRegression, MLPRegressor):
        update_registered_converter(cls, f"Numnet{cls.__name__}",
                                    calculate_linear_regressor_output_shapes, _convert)


def _convert(scope, operator, container):
    """skl2onnx converter: numnet's nodes between skl2onnx's input and output variables."""
    est = operator.raw_operator
    if getattr(est, "n_outputs_", 1) > 1 and getattr(est, "out_activation_", "") == "logistic":
        raise ValueError(f"a multilabel {type(est).__name__} cannot be converted inside a "
                         "skl2onnx pipeline; export it alone with numnet.to_onnx.")
    source = operator.inputs[0]
    dtype = np.float64 if type(source.type).__name__ == "DoubleTensorType" else np.float32
    g = GraphBuilder(container.target_opset, namer=scope.get_unique_variable_name)
    heads = add_estimator(g, est, source.full_name, dtype)
    for (_, node, _, _), variable in zip(heads, operator.outputs, strict=False):
        g.nodes.append(g.helper.make_node("Identity", [node], [variable.full_name],
                                          name=g.unique("numnet_output")))
    container.initializers.extend(g.initializers)
    for node in g.nodes:
        attributes = {a.name: g.helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, list(node.input), list(node.output),
                           op_domain=node.domain, name=node.name, **attributes)
