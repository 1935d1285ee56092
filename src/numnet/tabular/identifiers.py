"""The identifier rule: an integer column that looks like row numbers or keys, not a feature.

Used by the in-memory preprocessing (:class:`TabularPreprocessor`) and, on the values gathered
from the workers, by the cluster path, so both warn for the same columns.
"""

import warnings

import numpy as np

IDENTIFIER_SPREAD = 0.1
"""An integer column whose values are spread this evenly (a Kolmogorov-Smirnov distance from
the uniform spread over their range) can be an identifier: see :func:`identifier_warning`."""


def identifier_warning(values, name):
    """The warning for an integer column that looks like row numbers or keys, else None.

    The rule, whatever the order of the rows: at least 10 values, at least half of them
    different, covering at least 5% of the integers from the smallest to the largest, and
    spread evenly over that range (the Kolmogorov-Smirnov distance of their distribution from
    the uniform one is at most :data:`IDENTIFIER_SPREAD`). Row numbers and keys handed out
    in sequence (with gaps, or repeated over a few rows each) are such columns; measured
    integers are not: years and counts repeat a few values, prices in cents or ages in days
    are spread thinly over a wide range, and sizes, weights or incomes bunch around their
    typical values.
    """
    values = np.sort(np.asarray(values, dtype=np.float64))
    n = len(values)
    if n < 10:
        return None
    n_distinct = int(np.count_nonzero(np.diff(values)) + 1)
    low, high = values[0], values[-1]
    span = high - low + 1
    if n_distinct < n / 2 or n_distinct < 0.05 * span:
        return None
    spread = (values - low + 0.5) / span
    steps = np.arange(1, n + 1) / n
    if max(np.max(steps - spread), np.max(spread - steps + 1 / n)) > IDENTIFIER_SPREAD:
        return None
    low, high = int(low), int(high)
    advice = (f"; it is used as a feature. If it is an identifier, leave it out with "
              f"--exclude {name}.")
    if n_distinct == n and span < 2 * n:
        return (f"column {name!r} looks like a row number (its {n} values are all different "
                f"integers from {low} to {high})" + advice)
    which = "all different" if n_distinct == n else f"{n_distinct} different"
    return (f"column {name!r} looks like an identifier (its {n} values are {which} integers "
            f"spread evenly from {low} to {high})" + advice)


def warn_identifier(series, name):
    """Warn for an integer column of row numbers or keys (:func:`identifier_warning`)."""
    import pandas as pd

    if not pd.api.types.is_integer_dtype(series):
        return
    message = identifier_warning(series.dropna().to_numpy(dtype=np.float64), name)
    if message is not None:
        warnings.warn(message, UserWarning, stacklevel=3)
