"""Checks of training's inputs at the boundary, before any work starts.

Types of the collaborators, shapes, dtypes and finiteness of the data, and a first forward pass
on the most extreme rows, so that data too large for the network fails with a clear message
instead of a "divergence" in epoch 1.
"""

import numbers

import numpy as np

from .._validation import check_bool, issparse
from ..losses import Loss, check_sample_weight
from ..network import Sequential
from ..optimizers import Optimizer
from ..regularizers import Regularizer
from ..schedules import Schedule


def _check_fingerprint(saved, current, checkpoint):
    for key, value in current.items():
        if saved.get(key) != value:
            raise ValueError(
                f"The checkpoint in {checkpoint} was written for {key}={saved.get(key)!r}, but "
                f"this run has {key}={value!r}. Resume with the same data and settings, or "
                "start afresh without resume."
            )


def _check_resume(resume, checkpoint):
    """``resume`` as a bool; True without a checkpoint is an error."""
    if check_bool(resume, "resume") and checkpoint is None:
        raise ValueError(
            "resume must be False without a checkpoint, got True. Pass checkpoint=... to resume "
            "from."
        )
    return bool(resume)


def check_validation_batch_size(value, name="validation_batch_size"):
    """``value`` as None or an int >= 1: the rows per block of the validation pass.

    A bool, a float or a number below 1 is a ValueError, anything else not a number a
    TypeError (as :func:`numnet._validation.check_int`).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        if isinstance(value, np.generic):
            value = value.item()  # echo 0, not np.int64(0)
        raise (ValueError if isinstance(value, numbers.Number) else TypeError)(
            f"{name} must be None or an integer >= 1, got {value!r}. None evaluates the "
            "validation data in one pass; an integer, in blocks of that many rows."
        )
    return int(value)


def check_components(net, loss, optimizer, regularizer, lr_schedule, callbacks, checkpoint):
    """Type checks of train()'s collaborators, before any work starts."""
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a numnet Sequential, got {type(net).__name__}.")
    net._check_built()
    if net.params.size == 0:
        raise ValueError(
            "net must have trainable parameters, got 0. Add a Dense layer to the network."
        )
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a numnet Loss, got {type(loss).__name__}.")
    expected = [("optimizer", optimizer, Optimizer, "Adam()"),
                ("regularizer", regularizer, Regularizer, "L2(0.01)"),
                ("lr_schedule", lr_schedule, Schedule, "StepDecay(10)")]
    for name, value, cls, example in expected:
        if value is not None and not isinstance(value, cls):
            raise TypeError(
                f"{name} must be a numnet {cls.__name__} (e.g. {example}), got "
                f"{type(value).__name__}."
            )
    if optimizer is None:
        raise TypeError("optimizer must be a numnet Optimizer (e.g. Adam()), got NoneType.")
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(
                f"callbacks must hold callables callback(epoch, history), got "
                f"{type(callback).__name__}."
            )
    if checkpoint is not None and not (hasattr(checkpoint, "save") and
                                       hasattr(checkpoint, "load")):
        raise TypeError(
            f"checkpoint must be a numnet Checkpoint, got {type(checkpoint).__name__}."
        )


def _check_data(net, X, y, sample_weight, loss=None, *, with_magnitudes=False, rows=None):
    """Validate training data at the boundary, before any work starts.

    With ``with_magnitudes=True`` also returns ``max |x|`` of every row of X, which the
    first-pass check reuses: one pass over X answers both questions. With ``rows`` the
    training rows are ``X[rows]`` (y and the weights hold theirs; the magnitudes are theirs).
    """
    net.check_input(X)
    y = np.asarray(y)
    given_shape = y.shape
    if y.ndim == 1 and net.n_out == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != net.n_out:
        hint = getattr(loss, "_shape_hint", "") if y.ndim == 1 else ""
        raise ValueError(
            f"y must have shape (n_samples, {net.n_out}) to match the network's output, "
            f"got {given_shape}.{hint}"
        )
    n_samples = X.shape[0] if rows is None else rows.shape[0]
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X and y must have the same number of samples, got {n_samples} and {y.shape[0]}."
        )
    if n_samples == 0:
        raise ValueError("X must contain at least one sample, got 0.")
    magnitudes = _row_magnitudes(X)
    if not np.all(np.isfinite(magnitudes)):
        raise ValueError("X contains NaN or infinity. Remove or impute those values first.")
    if rows is not None:
        magnitudes = magnitudes[rows]
    y = y.astype(net.dtype, copy=False)
    if not _all_finite(y):
        raise ValueError("y contains NaN or infinity. Remove those samples first.")
    if loss is not None:
        loss.check_targets(y)
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, n_samples, net.dtype)
    if with_magnitudes:
        return X, y, sample_weight, magnitudes
    return X, y, sample_weight


def row_major(X):
    """X in a layout whose rows are cheap to gather: C order, or CSR for sparse X.

    Gathering mini-batch rows from a column-major (Fortran-ordered) array reads one element per
    cache line and is 14-48x slower than from a C-ordered one; one copy up front costs about
    one epoch's gather. Full-batch training never gathers and keeps X as it is.
    """
    if issparse(X):
        return X.tocsr()
    return np.ascontiguousarray(X)


def _all_finite(array):
    """True when no entry is NaN or infinite, without a boolean copy of a large array.

    The sum of finite values is finite unless it overflows, so the sum answers almost always;
    only then are the entries checked one by one (scikit-learn's fast path).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(array, axis=None)):
            return True
    return bool(np.isfinite(array).all())


def _row_magnitudes(array):
    """``max |x|`` of every row of a 2-D array (NaN or inf where the row holds one).

    One pass over the data: blocks of rows go through a small reusable buffer (abs, then the
    row-wise max while the block is in cache), so no copy of the data is made. A NaN propagates
    through the max, so the result also tells whether the data are finite.
    """
    n_rows, n_columns = array.shape
    out = np.zeros(n_rows, dtype=np.result_type(array.dtype, np.float32))
    if n_columns == 0:
        return out
    if issparse(array):
        return _sparse_row_magnitudes(array, out)
    block = max(1, (1 << 16) // n_columns)
    buffer = np.empty((min(block, n_rows), n_columns), dtype=out.dtype)
    for start in range(0, n_rows, block):
        part = array[start:start + block]
        scratch = buffer[:part.shape[0]]
        np.abs(part, out=scratch)
        np.maximum.reduce(scratch, axis=1, out=out[start:start + block])
    return out


def _sparse_row_magnitudes(array, out, block=1 << 16):
    """``_row_magnitudes`` of sparse X from its stored values, never densified or copied.

    CSR: blocks of about ``block`` stored values go through one small buffer (abs, then a
    ``maximum.reduceat`` over the rows' starts); rows without stored values keep 0. Building
    ``abs(X)`` instead copied the whole matrix and took twice as long (3.1 against 1.5 ms for
    2 million stored values). Other formats take scipy's path.
    """
    if array.format != "csr":
        return abs(array).max(axis=1).toarray().ravel().astype(out.dtype, copy=False)
    data, indptr = array.data, array.indptr
    n_rows = array.shape[0]
    rows_per_block = max(1, block * n_rows // max(data.shape[0], 1))
    buffer = np.empty(0, dtype=out.dtype)
    for start in range(0, n_rows, rows_per_block):
        stop = min(start + rows_per_block, n_rows)
        low, high = indptr[start], indptr[stop]
        if high == low:
            continue
        if buffer.shape[0] < high - low:
            buffer = np.empty(high - low, dtype=out.dtype)
        values = np.abs(data[low:high], out=buffer[:high - low])
        starts = indptr[start:stop] - low
        stored = indptr[start + 1:stop + 1] > indptr[start:stop]
        # Each reduction runs to the next non-empty row's start; empty rows hold no values.
        out[start:stop][stored] = np.maximum.reduceat(values, starts[stored])
    return out


def _extreme_rows(array, n_rows=64, magnitude=None, block=1 << 16):
    """The rows holding the largest absolute values (up to n_rows of them).

    ``magnitude`` is ``_row_magnitudes(array)`` when the caller has it already. The rows are
    picked block by block (the best so far and the next ``block`` rows), so no temporary is
    as long as the data: an ``argpartition`` of all rows made an integer and a copy of the
    magnitude per row, 14 MB for a million rows, for X and again for y (issue 26 item 5).
    Among rows of equal magnitude at the cut, which are picked is arbitrary, as it was.
    """
    if magnitude is None and issparse(array):
        magnitude = _row_magnitudes(array)  # a sparse matrix's row blocks are not views
    n_samples = array.shape[0] if magnitude is None else magnitude.shape[0]
    if n_samples <= n_rows:
        return np.arange(n_samples)
    best_rows = np.empty(0, dtype=np.intp)
    best = np.empty(0, dtype=np.float64)
    for start in range(0, n_samples, block):
        stop = min(start + block, n_samples)
        part = (_row_magnitudes(array[start:stop]) if magnitude is None
                else magnitude[start:stop])
        values = np.concatenate([best, part])
        rows = np.concatenate([best_rows, np.arange(start, stop)])
        keep = np.argpartition(values, -n_rows)[-n_rows:]
        best, best_rows = values[keep], rows[keep]
    return best_rows


def _check_first_pass(net, loss, X, y, sample_weight, magnitudes=None, n_first=256, *,
                      rows=None):
    """A forward pass on the most extreme rows: data too large for the network fails clearly.

    Finite but huge values (say 1e300) pass the NaN/infinity checks and would only show up as a
    "divergence" in epoch 1, with a misleading hint to lower the learning rate. Checking every
    row would cost a third of an epoch; the first rows plus the rows with the largest absolute
    values in X and in y catch such data at a tiny cost. The loss of a zero output tells
    whether y itself is too large for the loss. ``rows``: the training rows are ``X[rows]``
    (:class:`~numnet.training.sampling.TrainingData`'s), magnitudes and y are theirs.
    """
    n_samples = y.shape[0]
    if rows is not None and magnitudes is None:
        magnitudes = _row_magnitudes(X)[rows]
    picked = np.unique(np.concatenate([np.arange(min(n_first, n_samples)),
                                       _extreme_rows(X, magnitude=magnitudes),
                                       _extreme_rows(y)]))
    weights = None if sample_weight is None else sample_weight[picked]
    if weights is not None and not weights.sum() > 0:
        weights = None  # zero-weight rows still must not overflow
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        raw = net.forward(X[picked if rows is None else rows[picked]])
        if np.all(np.isfinite(raw)) and np.isfinite(loss.loss(y[picked], raw, weights)):
            return
        if rows is not None:
            X = X[rows]
        if not np.isfinite(loss.loss(y[picked], np.zeros_like(raw), weights)):
            raise ValueError(
                f"y must have values small enough for the loss to stay finite, got values up "
                f"to {float(np.max(np.abs(y))):.3g}: the loss of the first forward pass "
                "overflows. Scale the targets (e.g. divide them by their standard deviation)."
            )
    raise ValueError(
        f"X must have values small enough for the network's output to stay finite, got values "
        f"up to {float(np.max(np.abs(X))):.3g}: the first forward pass overflows. Scale the "
        "features (e.g. with sklearn.preprocessing.StandardScaler)."
    )


def _check_validation(net, validation_data, loss=None):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError(
            "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, sample_weight), "
            f"got {type(validation_data).__name__}"
            + (f" of length {len(validation_data)}." if isinstance(validation_data,
                                                                   (tuple, list)) else ".")
        )
    X_val, y_val, w_val = (*validation_data, None)[:3]
    return _check_data(net, X_val, y_val, w_val, loss)


