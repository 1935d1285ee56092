"""The held-out part of a training run: a stratified, seeded split, and its loss and metric."""

import numpy as np

from .._validation import check_float
from ..losses import BinaryCrossEntropy, SoftmaxCrossEntropy


def validation_split_indices(y, loss, fraction, n_samples, rng):
    """(train_indices, validation_indices): stratified by class for classification losses."""
    fraction = check_float(fraction, "validation_fraction", min_value=0, max_value=1,
                           include_min=False, include_max=False)
    stratify = None
    if isinstance(loss, SoftmaxCrossEntropy):
        stratify = y.argmax(axis=1)
    elif isinstance(loss, BinaryCrossEntropy) and y.shape[1] == 1:
        stratify = y[:, 0]
    n_val = int(np.ceil(fraction * n_samples))
    if n_val < 1 or n_val >= n_samples:
        raise ValueError(
            f"validation_fraction={fraction} leaves {n_val} of {n_samples} samples for "
            "validation; both parts need at least one sample."
        )
    try:
        seed = int(rng.integers(2**31 - 1))
        if stratify is None:
            # imported here only: the module costs a classifier's fit about 6 MB (issue 26
            # item 5)
            from sklearn.model_selection import train_test_split

            train_idx, val_idx = train_test_split(np.arange(n_samples), test_size=fraction,
                                                  random_state=seed)
        else:
            train_idx, val_idx = _stratified_split(stratify, n_samples - n_val, n_val, seed)
    except ValueError as error:
        raise ValueError(
            f"validation_fraction={fraction} cannot split the data stratified by class: "
            f"{error} Use more samples per class or a larger validation_fraction."
        ) from None
    return train_idx, val_idx


def _stratified_split(y, n_train, n_test, seed):
    """``train_test_split(arange(n), test_size=fraction, stratify=y, random_state=seed)``.

    scikit-learn's StratifiedShuffleSplit (1.9), step for step and draw for draw, the same
    indices (tested against it), with fewer copies of a long y (issue 26 item 5): its lists of
    one NumPy integer per row held about 40 bytes a row; each class's rows are arrays here.
    The rows of each class, in order, come from one stable argsort of y itself (the labels'
    codes ``np.unique`` would give sort the same way), each class's share is written
    straight into the two results, and those are shuffled in place (``permutation`` of an
    array shuffles a copy of it: the same draws).
    """
    from sklearn.utils import check_random_state
    from sklearn.utils.extmath import _approximate_mode

    classes, class_counts = np.unique(y, return_counts=True)
    n_classes = classes.shape[0]
    if np.min(class_counts) < 2:
        too_few_classes = classes[class_counts < 2].tolist()
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too few. The "
            "minimum number of groups for any class cannot be less than 2. Classes with too "
            f"few members are: {too_few_classes}"
        )
    if n_train < n_classes:
        raise ValueError(f"The train_size = {n_train} should be greater or equal to the "
                         f"number of classes = {n_classes}")
    if n_test < n_classes:
        raise ValueError(f"The test_size = {n_test} should be greater or equal to the number "
                         f"of classes = {n_classes}")
    rng = check_random_state(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    by_class = np.argsort(y, kind="stable")
    train = np.empty(int(n_i.sum()), dtype=by_class.dtype)
    test = np.empty(int(t_i.sum()), dtype=by_class.dtype)
    start = to_train = to_test = 0
    for i in range(n_classes):
        rows = by_class[start:start + class_counts[i]]
        start += class_counts[i]
        permutation = rng.permutation(class_counts[i])
        rows.take(permutation[:n_i[i]], out=train[to_train:to_train + n_i[i]], mode="clip")
        rows.take(permutation[n_i[i]:n_i[i] + t_i[i]], out=test[to_test:to_test + t_i[i]],
                  mode="clip")
        to_train, to_test = to_train + n_i[i], to_test + t_i[i]
    del by_class
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def apply_split(X, y, sample_weight, split):
    """``(X, y, w, (X_val, y_val, w_val))``: the rows of ``split = (train, validation)``."""
    train_idx, val_idx = split
    w_train, w_val = (None, None) if sample_weight is None else (sample_weight[train_idx],
                                                                 sample_weight[val_idx])
    return X[train_idx], y[train_idx], w_train, (X[val_idx], y[val_idx], w_val)


def split_rows(X, y, sample_weight, split):
    """``(rows, y, w, (X_val, y_val, w_val))``: :func:`apply_split` without copying X's rows.

    The training rows of X stay in X, named by ``rows = split[0]`` (for
    :class:`~numnet.training.sampling.TrainingData`); y and the weights, a few columns, are
    gathered as by :func:`apply_split`, and so are the validation rows of X.
    """
    train_idx, val_idx = split
    w_train, w_val = (None, None) if sample_weight is None else (sample_weight[train_idx],
                                                                 sample_weight[val_idx])
    return train_idx, y[train_idx], w_train, (X[val_idx], y[val_idx], w_val)


def split_validation(X, y, sample_weight, loss, fraction, rng):
    """Hold out a stratified, seeded share of the data: (X, y, w, (X_val, y_val, w_val))."""
    split = validation_split_indices(y, loss, fraction, X.shape[0], rng)
    return apply_split(X, y, sample_weight, split)


def metric_name(loss):
    """``"accuracy"`` for the classification losses, else ``"r2"``."""
    return "r2" if not isinstance(loss, (BinaryCrossEntropy, SoftmaxCrossEntropy)) else "accuracy"


def evaluate(net, loss, X, y, sample_weight=None, *, batch_size=None):
    """Validation loss and metric (accuracy or R^2) of the current parameters.

    ``batch_size=None`` forwards all rows at once. An int forwards them in blocks of that many
    rows, dropping each block's activations before the next (:func:`evaluate_in_blocks`): the
    same figures to rounding, as BLAS may round a block's outputs differently in the last bit.
    """
    if batch_size is not None:
        return evaluate_in_blocks(net, loss, X, y, sample_weight, batch_size)
    raw = net.forward(X)
    value = loss.loss(y, raw, sample_weight)
    if isinstance(loss, SoftmaxCrossEntropy):
        correct = (raw.argmax(axis=1) == y.argmax(axis=1)).astype(float)
    elif isinstance(loss, BinaryCrossEntropy):
        correct = np.all((raw > 0) == (y > 0.5), axis=1).astype(float)
    else:
        # R^2 of the predictions: link(raw) is raw itself for the squared error, exp for Poisson.
        residual = np.average((y - loss.link(raw)) ** 2, axis=0, weights=sample_weight)
        total = _total_squares(y, sample_weight)
        return value, _r2(residual, total)
    return value, float(np.average(correct, weights=sample_weight))


def _total_squares(y, sample_weight):
    """The weighted mean squared deviation of each target column from its weighted mean."""
    return np.average((y - np.average(y, axis=0, weights=sample_weight)) ** 2, axis=0,
                      weights=sample_weight)


def _r2(residual, total):
    """Mean R^2 over the target columns from their residual and total mean squares."""
    # As sklearn.metrics.r2_score: a constant target scores 1 if predicted exactly, else 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                      np.where(residual == 0, 1.0, 0.0))
    return float(np.mean(r2))


def evaluate_in_blocks(net, loss, X, y, sample_weight, batch_size):
    """:func:`evaluate` over blocks of ``batch_size`` rows (the last one holds the remainder).

    Each block's loss, correct predictions and squared residuals are summed with its weight
    (its rows, or the sum of its sample weights)::

        loss   = sum_b W_b * loss_b / sum_b W_b
        metric = sum_b sum_{i in b} w_i * correct_i / sum_i w_i       (accuracy)
        R^2    = from sum_b sum_{i in b} w_i * (y_i - link(raw_i))**2 / sum_i w_i

    the one-pass figures to rounding (the sums of squares and of weights in float64, which
    makes a float32 R^2 closer to its exact value than the one pass's float32 sums down the
    rows). The network's caches are cleared after each block's forward pass, so no block's
    hidden activations outlive it. A block whose weights sum to 0 adds nothing (the weights'
    sum is positive: checked with the data).
    """
    n_rows = X.shape[0]
    loss_sum = weight_sum = correct_sum = 0.0
    regression = not isinstance(loss, (SoftmaxCrossEntropy, BinaryCrossEntropy))
    residual_sum = np.zeros(y.shape[1]) if regression else None
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        y_b = y[start:stop]
        w_b = None if sample_weight is None else sample_weight[start:stop]
        weight = float(stop - start) if w_b is None else float(w_b.sum(dtype=np.float64))
        if weight == 0:
            continue
        raw = net.forward(X[start:stop])
        net.clear_cache()  # this block's activations go now, not with the next block
        loss_sum += loss.loss(y_b, raw, w_b) * weight
        weight_sum += weight
        if regression:
            # float64 sums of the squares: float32 sums down a block's rows would lose digits
            squares = ((y_b - loss.link(raw)) ** 2).astype(np.float64, copy=False)
            residual_sum += (squares.sum(axis=0) if w_b is None
                             else np.dot(w_b.astype(np.float64, copy=False), squares))
            continue
        if isinstance(loss, SoftmaxCrossEntropy):
            correct = raw.argmax(axis=1) == y_b.argmax(axis=1)
        else:
            correct = np.all((raw > 0) == (y_b > 0.5), axis=1)
        correct_sum += float(np.count_nonzero(correct) if w_b is None
                             else np.dot(w_b.astype(np.float64, copy=False), correct))
    value = loss_sum / weight_sum
    if regression:
        # in float64 too (a copy of float32 targets, a few columns): as the squares' sums
        total = _total_squares(y.astype(np.float64, copy=False), None if sample_weight is None
                               else sample_weight.astype(np.float64, copy=False))
        return value, _r2(residual_sum / weight_sum, total)
    return value, correct_sum / weight_sum
