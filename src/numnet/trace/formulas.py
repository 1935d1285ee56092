"""Each layer's and loss's formulas, read from its own docstring."""

import inspect
import re

_PARTS = re.compile(r"\s{2,}")
_INLINE = re.compile(r"``([^`]*=[^`]*)``")


def _literal_lines(doc):
    """The non-blank lines of the ``::`` literal blocks of a docstring, dedented."""
    lines, inside, indent = [], False, None
    for line in doc.splitlines():
        if inside:
            if not line.strip():
                continue
            current = len(line) - len(line.lstrip())
            if indent is None:
                indent = current
            if current < indent:
                inside = False
            else:
                lines.append(line.strip())
                continue
        if line.rstrip().endswith("::"):
            inside, indent = True, None
    return lines


def _equations(line):
    """The equations of one docstring line: the parts holding '=', without notes or shapes."""
    parts = [part.strip() for part in _PARTS.split(re.sub(r"\s{2,}=", " =", line))]
    return [part.split(":", 1)[1].strip() if re.match(r"^\w+:\s", part) else part
            for part in parts if "=" in part and not part.startswith("(")]


def formulas(obj):
    """(forward, backward) formula lines of a layer or loss, from its class docstring.

    Forward lines compute a value (``Z = X @ W + b``, ``L = ...``); backward lines start with
    a gradient (``dW = ...``, ``dL/draw = ...``). A docstring without a ``::`` block gives
    its inline ````Y = X```` equations.

    Examples
    --------
    >>> from numnet.layers import ReLU
    >>> formulas(ReLU())
    (['Y = max(X, 0)'], ['dX = dY * (Y > 0)'])
    """
    doc = inspect.getdoc(type(obj)) or ""
    equations = []
    for line in _literal_lines(doc):
        for eq in _equations(line):
            if eq.startswith("=") and equations:  # a continuation: l_i = ... = ...
                equations[-1] += " " + eq
            else:
                equations.append(eq)
    if not equations:
        equations = _INLINE.findall(doc)
    backward = [eq for eq in equations if re.match(r"^d[A-Za-z]", eq)]
    forward = [eq for eq in equations if eq not in backward]
    return forward, backward
