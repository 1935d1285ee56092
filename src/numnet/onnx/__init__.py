"""ONNX export: networks, estimators and the ``numnet train`` pipeline as ONNX graphs.

``onnx`` is an optional dependency (``pip install 'numnet[onnx]'``). See docs/onnx.md.

=============  ================================================================================
``_graph``     the graph builder (unique names, constants), opset and dtype checks
``network``    a Sequential's layers as nodes
``estimators`` the classifier and regressor heads (``label``, ``probabilities``, ``variable``)
``pipeline``   the tabular pipeline: one input per column, imputation, scaling, one-hot
``export``     :func:`to_onnx`, :func:`save_onnx`
``converters`` :func:`register_skl2onnx`: numnet's estimators inside skl2onnx pipelines
=============  ================================================================================
"""

from .converters import register_skl2onnx
from .export import save_onnx, to_onnx
from .pipeline import pipeline_inputs

__all__ = ["pipeline_inputs", "register_skl2onnx", "save_onnx", "to_onnx"]
