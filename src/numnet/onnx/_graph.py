"""A small graph builder over ``onnx.helper``: unique names, constants, typed inputs and outputs.

``onnx`` is an optional dependency (``pip install numnet[onnx]``); :func:`onnx_modules` imports
it on first use, so that importing numnet never needs it.
"""

import numpy as np

DEFAULT_OPSET = 17  # ai.onnx; onnxruntime 1.14 and later run every operator numnet uses
ML_OPSET = 3  # ai.onnx.ml: LabelEncoder with string keys and int64 values
MIN_OPSET = 13  # Softmax over one axis, Squeeze and ReduceSum with axes as inputs


def onnx_modules():
    """``(onnx, helper, TensorProto, numpy_helper)``, or ImportError naming the extra."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError(
            "ONNX export needs the onnx package; install it with pip install 'numnet[onnx]'."
        ) from None
    return onnx, helper, TensorProto, numpy_helper


def check_opset(opset):
    """The ai.onnx opset to write: ``DEFAULT_OPSET`` for None, else an int in [13, latest]."""
    onnx, *_ = onnx_modules()
    latest = onnx.defs.onnx_opset_version()
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not (
            MIN_OPSET <= opset <= latest):
        raise ValueError(f"opset must be an integer in [{MIN_OPSET}, {latest}], got {opset!r}.")
    return int(opset)


def check_dtype(dtype, default):
    """The float dtype of a graph: ``default`` for None, else float32 or float64."""
    if dtype is None:
        return np.dtype(default)
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype must be one of {{'float32', 'float64'}}, got {dtype!r}.")
    return resolved


class GraphBuilder:
    """Collects nodes, initializers, inputs and outputs; every name it hands out is unique."""

    def __init__(self, opset, name="numnet", *, namer=None):
        _, self.helper, self.TensorProto, self.numpy_helper = onnx_modules()
        self.opset, self.name = opset, name
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self._used = set()
        self._namer = namer  # e.g. skl2onnx's scope.get_unique_variable_name
        self.uses_ml = False

    def unique(self, base):
        if self._namer is not None:
            return self._namer(base)
        name, i = base, 1
        while name in self._used:
            name, i = f"{base}_{i}", i + 1
        self._used.add(name)
        return name

    def reserve(self, name):
        """Claim an exact name (a graph input or output); ValueError if it is taken."""
        if name in self._used:
            raise ValueError(f"the name {name!r} is used twice in the graph.")
        self._used.add(name)
        return name

    def free_name(self, name, suffix):
        """``name`` if nothing in the graph holds it yet, else ``name + suffix`` (then _1, ...).

        Claims nothing: :meth:`add_output` does.
        """
        if name not in self._used:
            return name
        candidate, i = name + suffix, 1
        while candidate in self._used:
            candidate, i = f"{name}{suffix}_{i}", i + 1
        return candidate

    def const(self, value, name, dtype=None):
        """An initializer holding ``value`` (cast to ``dtype`` unless it holds strings)."""
        array = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
        if array.dtype.kind in "UO":
            array = array.astype(object)
        tensor = self.numpy_helper.from_array(array, self.unique(name))
        self.initializers.append(tensor)
        return tensor.name

    def op(self, op_type, inputs, name, *, domain="", outputs=None, **attributes):
        """Add a node; returns its output name (a list of names when ``outputs`` is a list)."""
        outs = [self.unique(name)] if outputs is None else outputs
        if domain == "ai.onnx.ml":
            self.uses_ml = True
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs,
                                                name=self.unique(f"{name}_node"),
                                                domain=domain, **attributes))
        return outs[0] if outputs is None else outs

    def elem_type(self, dtype):
        dtype = np.dtype(dtype)
        if dtype.kind in "UO":
            return self.TensorProto.STRING
        return self.helper.np_dtype_to_tensor_dtype(dtype)

    def add_input(self, name, dtype, shape):
        self.inputs.append(self.helper.make_tensor_value_info(
            self.reserve(name), self.elem_type(dtype), shape))
        return name

    def add_output(self, name, source, dtype, shape):
        """Expose ``source`` as the graph output ``name`` (through an Identity node)."""
        self.reserve(name)
        self.nodes.append(self.helper.make_node("Identity", [source], [name],
                                                name=self.unique(f"{name}_node")))
        self.outputs.append(self.helper.make_tensor_value_info(
            name, self.elem_type(dtype), shape))

    def model(self, doc_string=""):
        onnx, helper, *_ = onnx_modules()
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs,
                                  self.initializers)
        opsets = [helper.make_opsetid("", self.opset)]
        if self.uses_ml:
            opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
        from .._version import __version__

        model = helper.make_model(graph, opset_imports=opsets, producer_name="numnet",
                                  producer_version=__version__, doc_string=doc_string)
        # the IR version of the opset, not the newest the onnx package knows: older runtimes
        # refuse files whose IR version they do not know
        model.ir_version = min(onnx.IR_VERSION, _IR_FOR_OPSET.get(self.opset, onnx.IR_VERSION))
        return model


# ai.onnx opset -> the IR version released with it (onnx/helper.py VERSION_TABLE)
_IR_FOR_OPSET = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10,
                 23: 11, 24: 11}
