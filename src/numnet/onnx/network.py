"""A :class:`numnet.Sequential` as ONNX nodes: one or two nodes per layer.

=============  ===============================================================================
Dense          ``MatMul(X, W)`` then ``Add(b)`` (``X @ W + b``, as numnet computes it)
ReLU           ``Relu``
LeakyReLU      ``Max(X, a*X)`` (``Min`` for a > 1): numnet's own formula, so identical results
Sigmoid        ``Sigmoid``
Tanh           ``Tanh``
Softmax        ``Softmax(axis=1)``
Identity       nothing
Dropout        nothing (inference)
=============  ===============================================================================
"""

import numpy as np

from ..layers import Dense, Dropout, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from ..network import Sequential

SUPPORTED = (Dense, Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, Dropout)


def check_network(net):
    """Refuse what ONNX export cannot represent: an unbuilt network, an unknown layer, NaN."""
    if not isinstance(net, Sequential):
        raise TypeError(f"network must be a numnet.Sequential, got {type(net).__name__}.")
    if getattr(net, "params", None) is None:
        raise RuntimeError("Sequential is not built yet; call build(n_in) first (fit() does "
                           "this for you).")
    for i, layer in enumerate(net.layers):
        if type(layer) not in SUPPORTED:
            names = ", ".join(cls.__name__ for cls in SUPPORTED)
            raise TypeError(f"layer {i} ({type(layer).__name__}) cannot be exported to ONNX; "
                            f"the layers that can are {names}.")
    for name, value in net.named_parameters().items():
        bad = ~np.isfinite(value)
        if bad.any():
            raise ValueError(f"parameter {name!r} must hold finite values to export to ONNX, "
                             f"got {value[bad].ravel()[0]!r}. Retrain the model.")


def add_network(g, net, X, dtype):
    """Append the nodes of ``net`` to the builder ``g``; returns the name of its raw output."""
    check_network(net)
    params = net.named_parameters()
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            X = g.op("MatMul", [X, g.const(params[f"{i}.W"], f"{i}.W", dtype)], f"dense{i}")
            if layer.bias:
                X = g.op("Add", [X, g.const(params[f"{i}.b"], f"{i}.b", dtype)],
                         f"dense{i}_bias")
        elif isinstance(layer, LeakyReLU):
            scaled = g.op("Mul", [X, g.const(layer.negative_slope, f"{i}.slope", dtype)],
                          f"leaky{i}_scaled")
            X = g.op("Max" if layer.negative_slope <= 1 else "Min", [X, scaled], f"leaky{i}")
        elif isinstance(layer, ReLU):
            X = g.op("Relu", [X], f"relu{i}")
        elif isinstance(layer, Sigmoid):
            X = g.op("Sigmoid", [X], f"sigmoid{i}")
        elif isinstance(layer, Tanh):
            X = g.op("Tanh", [X], f"tanh{i}")
        elif isinstance(layer, Softmax):
            X = g.op("Softmax", [X], f"softmax{i}", axis=1)
        # Identity and Dropout (at inference): nothing
    return X

