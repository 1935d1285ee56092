"""A :class:`numnet.tabular.TrainSpec` as the ``numnet train`` command and as Python.

Both are built from values: the command's words are quoted by :func:`shlex.join`, and the
Python holds each value as the ``repr`` of a plain literal (None, bool, int, finite float,
str, and tuples of them). No text of the user's (a column or file name) becomes code or an
option.
"""

import dataclasses
import math
import numbers

import numpy as np

from .spec_errors import escape_names


def value_text(name, value):
    """The text of option ``name``'s value, as :meth:`TrainSpec.from_cli` reads it back."""
    if name == "hidden":
        return ",".join(str(size) for size in value)
    if name in ("features", "exclude"):
        return escape_names(value)
    if name == "dp_bounds":
        return ",".join(f"{_dp_name(column)}={_number(low)}:{_number(high)}"
                        for column, low, high in value)
    if name == "dp_categories":
        return ",".join(f"{_dp_name(column)}=" + "|".join(c.replace(",", "\\,") for c in cats)
                        for column, cats in value)
    return _number(value) if isinstance(value, float) else str(value)


def _number(value):
    """A float as the shortest text that reads back to it: ``0`` for 0.0, ``1e-05``."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _dp_name(column):
    return column.replace(",", "\\,")


def command_args(spec, output):
    """The words of the ``numnet train`` command of ``spec``, writing ``output``."""
    words = ["numnet", "train"]
    for f in dataclasses.fields(spec):
        name, value = f.name, getattr(spec, f.name)
        if name == "data" or value == f.default:
            continue
        flag = spec.flag(name)
        if isinstance(value, bool):
            words.append(flag if value else "--no-" + flag[2:])
            continue
        text = value_text(name, value)
        # a value that starts with '-' would be read as an option: join it to its flag
        words += [f"{flag}={text}"] if text.startswith("-") else [flag, text]
        if name == "target":
            words += [f"--output={output}"] if output.startswith("-") else ["--output", output]
    if spec.data.startswith("-") and spec.data != "-":
        words.append("--")  # DATA named like an option: after '--' it is an argument
    words.append(spec.data)
    return words


def python_code(spec, output):
    """Python that trains ``spec`` through :func:`numnet.tabular.fit` and saves the model."""
    arguments = [f"    {f.name}={literal(getattr(spec, f.name))},"
                 for f in dataclasses.fields(spec)
                 if f.name in ("data", "target") or getattr(spec, f.name) != f.default]
    return "\n".join([
        '"""numnet train, as Python: the same run through the API."""',
        "import numnet",
        "from numnet.tabular import TrainSpec, fit",
        "",
        "spec = TrainSpec(",
        *arguments,
        ")",
        "pipeline, report = fit(spec)",
        f"numnet.save(pipeline, {literal(output)})",
        "print(report['metrics'])",
        "",
    ])


def literal(value):
    """``value`` as Python source that evaluates to it: the ``repr`` of a plain literal.

    The one writer of values as code: :meth:`TrainSpec.to_python` and the playground's
    "Copy code" script both use it. None, bool, int, a finite float, str, and tuples, lists
    and dicts of them (a dict's keys as strings). NumPy scalars become the built-in type
    first (the repr of ``np.float64(0.5)`` is a call); anything else, and a non-finite
    float, raise ValueError.
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"a value in the code must be a finite number, got {value!r}.")
        return repr(value)
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, tuple):
        items = [literal(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) \
            + "}"
    raise ValueError(f"a value in the code must be a plain literal, got "
                     f"{type(value).__name__}.")
