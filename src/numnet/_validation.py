"""Small checkers for hyperparameters that raise numnet's standard error message.

Every message has the form ``{name} must be {rule}, got {value!r}.`` (STYLE.md section 6).
"""

import numbers
import sys

import numpy as np


def _fail(name, rule, value, exc=ValueError, hint=""):
    if isinstance(value, np.generic):
        value = value.item()  # echo 0, not np.int64(0)
    message = f"{name} must be {rule}, got {value!r}."
    if hint:
        message += " " + hint
    raise exc(message)


def check_int(value, name, *, min_value=None, max_value=None):
    """Return ``value`` as an int, or raise if it is not an integer in the given range."""
    rule = _range_rule("an integer", min_value, max_value, ">=", "<=")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        _fail(name, rule, value, TypeError if not isinstance(value, numbers.Number) else ValueError)
    if (min_value is not None and value < min_value) or (
        max_value is not None and value > max_value
    ):
        _fail(name, rule, value)
    return int(value)


def check_float(value, name, *, min_value=None, max_value=None, include_min=True,
                include_max=True):
    """Return ``value`` as a float, or raise if it is not a finite real number in the range."""
    rule = _range_rule(
        "a float", min_value, max_value, ">=" if include_min else ">", "<=" if include_max else "<"
    )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(name, rule, value, TypeError if not isinstance(value, numbers.Number) else ValueError)
    value = float(value)
    if not np.isfinite(value):
        _fail(name, rule.replace("a float", "a finite float", 1), value)
    if min_value is not None and (value < min_value or (not include_min and value == min_value)):
        _fail(name, rule, value)
    if max_value is not None and (value > max_value or (not include_max and value == max_value)):
        _fail(name, rule, value)
    return value


def check_option(value, name, options):
    """Return ``value`` if it is one of ``options``, else raise listing them."""
    if not isinstance(value, str) or value not in options:
        rule = "one of {" + ", ".join(repr(o) for o in sorted(options)) + "}"
        _fail(name, rule, value)
    return value


def check_bool(value, name):
    """Return ``value`` if it is a bool (or numpy bool), else raise."""
    if not isinstance(value, (bool, np.bool_)):
        _fail(name, "a bool", value, TypeError)
    return bool(value)


def _range_rule(kind, min_value, max_value, min_op, max_op):
    if min_value is not None and max_value is not None:
        left = "[" if min_op == ">=" else "("
        right = "]" if max_op == "<=" else ")"
        return f"{kind} in {left}{min_value}, {max_value}{right}"
    if min_value is not None:
        return f"{kind} {min_op} {min_value}"
    if max_value is not None:
        return f"{kind} {max_op} {max_value}"
    return kind


def repeated_names(names):
    """The names that occur more than once, each listed once, in order of first repeat."""
    seen, repeated = set(), []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    return repeated


def issparse(x):
    """``scipy.sparse.issparse(x)`` without importing SciPy (about 0.15 s) when it is not loaded.

    A SciPy sparse array or matrix can only exist once ``scipy.sparse`` is imported, so until
    then nothing is sparse; ``import numnet`` and the command line's start stay free of SciPy.
    """
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)
