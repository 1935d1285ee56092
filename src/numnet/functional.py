"""Pure, numerically stable array functions, and RealMLP's robust scaling and smooth clipping.

Sigmoid, log-sigmoid, softmax, log-softmax and logsumexp; ``smooth_clip``,
``robust_scale_statistics`` and ``robust_scale`` for numeric table columns.

All functions keep the dtype of a floating-point input and stay finite for inputs of +-1000 in
float32 and float64. Where it matters, an ``out=`` array receives the result in place.
"""

import numpy as np


def sigmoid(x, *, out=None):
    """Logistic sigmoid, ``1 / (1 + exp(-x))``, computed without overflow.

    Parameters
    ----------
    x : ndarray
    out : ndarray of the same shape, default=None
        Where to write the result; may be ``x`` itself.

    Returns
    -------
    ndarray
        Values in [0, 1]; exactly 0 or 1 only where the true value rounds to it.

    Examples
    --------
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    # scipy's expit evaluates exp(-|x|) branch-wise, so neither tail overflows. Imported here:
    # scipy.special takes about 0.1 s to import, which `import numnet` and the CLI's start skip.
    from scipy.special import expit

    return expit(x, out=out) if out is not None else expit(x)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -log(1 + exp(-x))``, stable for large ``|x|``.

    Examples
    --------
    >>> log_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([-1.00000000e+03, -6.93147181e-01, -0.00000000e+00])
    """
    # -logaddexp(0, -x) is -log(1 + exp(-x)) evaluated as max + log1p(exp(-|x|)).
    return -np.logaddexp(0, -x)


def softplus(x):
    """``log(1 + exp(x))``, stable for large ``|x|``.

    Examples
    --------
    >>> softplus(np.array([-1000.0, 0.0, 1000.0]))
    array([0.00000000e+00, 6.93147181e-01, 1.00000000e+03])
    """
    return np.logaddexp(0, x)


def logsumexp(x, *, axis=-1, keepdims=False):
    """``log(sum(exp(x), axis))`` computed as ``m + log(sum(exp(x - m)))`` with ``m = max(x)``.

    Subtracting the maximum keeps every exponent <= 0, so nothing overflows.

    Examples
    --------
    >>> logsumexp(np.array([[1000.0, 1000.0], [-1000.0, -1000.0]]))
    array([1000.69314718, -999.30685282])
    """
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    result = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return result if keepdims else np.squeeze(result, axis=axis)


def softmax(x, *, axis=-1, out=None):
    """``exp(x) / sum(exp(x), axis)``, shifted by the row maximum for stability.

    Parameters
    ----------
    x : ndarray
    axis : int, default=-1
    out : ndarray of the same shape, default=None
        Where to write the result; may be ``x`` itself (the input is then overwritten).

    Examples
    --------
    >>> softmax(np.array([[1000.0, 0.0, -1000.0]]))
    array([[1., 0., 0.]])
    """
    if out is None:
        out = np.empty_like(x)
    m = np.max(x, axis=axis, keepdims=True)
    np.subtract(x, m, out=out)
    np.exp(out, out=out)
    out /= np.sum(out, axis=axis, keepdims=True)
    return out


def class_probabilities(raw, out_activation):
    """A classifier's class probabilities from its raw output ``raw`` (n_samples, n_outputs).

    ``"softmax"``: ``softmax(raw, axis=1)``. ``"logistic"`` with one output z (binary):
    ``[sigmoid(-z), sigmoid(z)]``, not ``1 - sigmoid(z)``, so no cancellation when p is close
    to 1. ``"logistic"`` with several outputs (multilabel): ``sigmoid(raw)``, one per label.

    Examples
    --------
    >>> class_probabilities(np.array([[0.0], [50.0]]), "logistic")
    array([[5.00000000e-01, 5.00000000e-01],
           [1.92874985e-22, 1.00000000e+00]])
    """
    if out_activation == "softmax":
        return softmax(raw, axis=1)
    if raw.shape[1] > 1:
        return sigmoid(raw)
    return np.hstack([sigmoid(-raw), sigmoid(raw)])


def class_labels(raw, out_activation, classes):
    """A classifier's predicted labels from its raw output ``raw`` (n_samples, n_outputs).

    ``"softmax"``: ``classes[argmax(raw, axis=1)]``. ``"logistic"`` with one output z:
    ``classes[1]`` where z > 0 (p > 1/2), else ``classes[0]``. ``"logistic"`` with several
    outputs (multilabel): the indicator matrix ``raw > 0`` of ints.

    Examples
    --------
    >>> class_labels(np.array([[-1.0], [2.0]]), "logistic", np.array(["no", "yes"])).tolist()
    ['no', 'yes']
    """
    if out_activation == "softmax":
        return classes[np.argmax(raw, axis=1)]
    if raw.shape[1] > 1:
        return (raw > 0).astype(int)
    return classes[(raw[:, 0] > 0).astype(int)]


def log_softmax(x, *, axis=-1):
    """``x - logsumexp(x, axis)``: log-probabilities without forming tiny probabilities.

    Computed as ``s - log(sum(exp(s)))`` with ``s = x - max(x)``.

    Examples
    --------
    >>> log_softmax(np.array([[1000.0, 0.0]]))
    array([[    0., -1000.]])
    """
    # s - log(sum(exp(s))) with s = x - max: subtracting the large max first keeps the small
    # log-probabilities of confident rows accurate in float32 (x - logsumexp(x) would cancel).
    # The max terms are exactly exp(0) = 1; the others are summed apart and enter through
    # log1p, so they are not rounded away against 1.
    shifted = x - np.max(x, axis=axis, keepdims=True)
    is_top = shifted == 0
    n_top = np.sum(is_top, axis=axis, keepdims=True).astype(shifted.dtype)
    others = np.sum(np.where(is_top, 0, np.exp(shifted)), axis=axis, keepdims=True)
    return shifted - (np.log(n_top) + np.log1p(others / n_top))


def smooth_clip(x, max_abs=3.0, *, out=None):
    """RealMLP's smooth clipping: ``x / sqrt(1 + (x / max_abs)**2)``, into (-max_abs, max_abs).

    ::

        y  = x / sqrt(1 + (x / a)**2)            a = max_abs, |y| < a, y ~ x for |x| << a
        dy/dx = (1 + (x / a)**2) ** -1.5

    Element-wise on any shape; keeps the dtype of a floating-point x.

    Parameters
    ----------
    x : ndarray
    max_abs : float, default=3.0
        The bound a. RealMLP's default is 3.
    out : ndarray of the same shape, default=None
        Where to write the result; may be ``x`` itself.

    References
    ----------
    D. Holzmueller, L. Grinsztajn, I. Steinwart. Better by Default: Strong Pre-Tuned MLPs and
    Boosted Trees on Tabular Data. NeurIPS 2024, arXiv:2407.04491 (section 3, "smooth clipping").

    Examples
    --------
    >>> smooth_clip(np.array([0.0, 4.0, -1e6]))
    array([ 0. ,  2.4, -3. ])
    """
    x = np.asarray(x)
    if out is None:
        out = np.empty_like(x, dtype=np.result_type(x, np.float32))
    ratio = np.divide(x, max_abs)
    ratio *= ratio
    ratio += 1
    np.sqrt(ratio, out=ratio)
    return np.divide(x, ratio, out=out)


def robust_scale_statistics(X):
    """Per-column centre and factor of RealMLP's robust scaling, as pytabkit computes them.

    For each column x of X (shape (n_samples, n_features))::

        centre = median(x)
        spread = q75(x) - q25(x)                   (numpy's linear quantiles)
        spread = (max(x) - min(x)) / 2             if the quartiles coincide
        factor = 1 / spread,  or 0 if the column is constant

    so ``(X - centre) * factor`` has interquartile range 1, and a constant column becomes 0.
    No 1/1.349 normal-consistency factor: pytabkit (``RobustScaleFactory`` in
    ``pytabkit/models/nn_models/pipeline.py``) uses the plain quartile distance, and the smooth
    clip that follows (:func:`smooth_clip`, bound 3) was tuned for it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite values; at least one row.

    Returns
    -------
    centre : ndarray of shape (n_features,)
    factor : ndarray of shape (n_features,)
        Both float64 (statistics are kept at full precision; cast when applying).

    Examples
    --------
    >>> robust_scale_statistics(np.array([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0], [10.0, 5.0]]))
    (array([1.5, 5. ]), array([0.30769231, 0.        ]))
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be 2-D with at least one row, got shape {X.shape}.")
    q25, centre, q75 = np.quantile(X, [0.25, 0.5, 0.75], axis=0)
    spread = q75 - q25
    tied = spread == 0
    spread[tied] = 0.5 * (X.max(axis=0) - X.min(axis=0))[tied]
    factor = np.zeros_like(spread)
    np.divide(1.0, spread, out=factor, where=spread > 0)
    return centre, factor


def robust_scale(X, centre, factor, *, max_abs=3.0):
    """RealMLP's numeric preprocessing: ``smooth_clip((X - centre) * factor, max_abs)``.

    ``centre`` and ``factor`` come from :func:`robust_scale_statistics` on the training rows;
    the result keeps X's floating dtype (float64 for integer X). ``max_abs=None`` skips the
    clipping.

    Examples
    --------
    >>> robust_scale(np.array([[1.5], [9.5]]), np.array([1.5]), np.array([0.5]))
    array([[0. ],
           [2.4]])
    """
    X = np.asarray(X)
    dtype = X.dtype if X.dtype.kind == "f" else np.float64
    Z = (X - centre.astype(dtype)) * factor.astype(dtype)
    return Z if max_abs is None else smooth_clip(Z, max_abs, out=Z)
