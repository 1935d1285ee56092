"""Every number of a forward and backward pass, layer by layer, with the formulas beside.

:func:`trace` records, for one sample (or a few), each layer's input a, output (the
pre-activation z of a Dense layer, f(z) of an activation), parameters and, given the target,
δ = ∂L/∂z, ∂L/∂W, ∂L/∂b, ∂L/∂a and the loss; :meth:`Trace.step` shows one optimizer update.
``str(trace)`` is a compact table, ``trace.to_dict()`` plain data. The formulas are read from
the layers' and losses' docstrings (:mod:`numnet.trace.formulas`).
"""

from .formulas import formulas
from .record import LayerTrace, Step, Trace, trace
from .render import LANGS, vector

__all__ = ["LANGS", "LayerTrace", "Step", "Trace", "formulas", "trace", "vector"]
