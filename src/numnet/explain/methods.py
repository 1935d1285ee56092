"""The attribution methods and their result, :class:`Attributions`.

Saliency, gradient x input, integrated and expected gradients, SmoothGrad, and scikit-learn's
permutation importance; the formulas are in :mod:`numnet.explain`.
"""

from dataclasses import dataclass, field

import numpy as np

from .target import _background, _baselines, resolve

RULES = ("gausslegendre", "riemann_trapezoid")


@dataclass
class Attributions:
    """Attributions of a batch of rows, with the quantities that check them.

    Attributes
    ----------
    values : ndarray of shape (n_rows, n_features)
        The attribution of each feature in each row.
    output : ndarray of shape (n_rows,)
        F(x), the explained quantity at each row.
    baseline_output : ndarray of shape (n_rows,) or None
        F(x') at each row's baseline (for expected gradients the mean over the drawn baselines).
    delta : ndarray of shape (n_rows,) or None
        ``values.sum(axis=1) - (output - baseline_output)``: ~0 for complete methods.
    target : ndarray of shape (n_rows,)
        The class label (estimators) or output column (networks) explained in each row.
    method : str
    feature_names : list of str or None
    """

    values: np.ndarray
    output: np.ndarray
    baseline_output: np.ndarray | None
    delta: np.ndarray | None
    target: np.ndarray
    method: str
    feature_names: list | None = field(default=None)



MAX_STEPS = 5000
"""The most quadrature steps: Gauss-Legendre with a few hundred is exact to float precision
on a smooth model, and computing the nodes costs O(n_steps**2) memory beyond this."""

_DEFAULT_BATCH_POINTS = 4096


def quadrature(n_steps, rule="gausslegendre"):
    """Nodes ``a_k`` in [0, 1] and weights ``w_k`` of a rule for ``integral_0^1 g(a) da``.

    ``"gausslegendre"``: the Gauss-Legendre nodes mapped from [-1, 1], exact for polynomials
    of degree ``2 n_steps - 1``. ``"riemann_trapezoid"``: ``n_steps`` equally spaced nodes
    including both ends, weights ``1/(n-1)`` (halved at the ends). Both as in Captum.
    ``n_steps`` is at most :data:`MAX_STEPS`.

    Examples
    --------
    >>> a, w = quadrature(3, "riemann_trapezoid")
    >>> a.tolist(), w.tolist()
    ([0.0, 0.5, 1.0], [0.25, 0.5, 0.25])
    """
    if (not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool)
            or not 1 <= n_steps <= MAX_STEPS):
        raise ValueError(f"n_steps must be an integer from 1 to {MAX_STEPS}, got {n_steps!r}.")
    if rule == "gausslegendre":
        if n_steps <= 100:
            # NumPy's companion-matrix rule, as Captum computes it (bit for bit the same).
            nodes, weights = np.polynomial.legendre.leggauss(int(n_steps))
        else:
            # O(n_steps) memory instead of NumPy's n_steps x n_steps matrix; the same nodes
            # and weights to ~1e-13.
            from scipy.special import roots_legendre

            nodes, weights = roots_legendre(int(n_steps))
        return (nodes + 1) / 2, weights / 2
    if rule == "riemann_trapezoid":
        if n_steps < 2:
            raise ValueError(f"n_steps must be an integer >= 2 for the trapezoid rule, got "
                             f"{n_steps}.")
        weights = np.full(n_steps, 1.0 / (n_steps - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, n_steps), weights
    raise ValueError(f"method must be one of {set(RULES)}, got {rule!r}.")


def _check_batch_size(internal_batch_size):
    if internal_batch_size is None:
        return _DEFAULT_BATCH_POINTS
    if (not isinstance(internal_batch_size, (int, np.integer)) or isinstance(
            internal_batch_size, bool) or internal_batch_size < 1):
        raise ValueError(f"internal_batch_size must be an integer >= 1 or None, got "
                         f"{internal_batch_size!r}.")
    return int(internal_batch_size)


def _check_count(value, name):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return int(value)


def _blocks(n_rows, per_row, batch_points):
    """``(start, stop, k0, k1)``: rows ``start:stop``, their points ``k0:k1``.

    Each block holds at most ``batch_points`` points, whatever ``per_row`` is: whole rows
    while a row's points fit, else one row's points in slices.
    """
    if per_row <= batch_points:
        chunk = batch_points // per_row
        for start in range(0, n_rows, chunk):
            yield start, min(n_rows, start + chunk), 0, per_row
        return
    for row in range(n_rows):
        for k0 in range(0, per_row, batch_points):
            yield row, row + 1, k0, min(per_row, k0 + batch_points)


def _sum_gradients(r, per_row, batch_points, block):
    """``sum_k c_k * dF/dx(p_k)`` per row, over ``per_row`` points ``p_k`` of each row.

    ``block(start, stop, k0, k1)`` returns the points ``p_k``, shape ``(rows, k1 - k0, d)``,
    and their factors ``c_k`` (broadcast against them). One forward and one backward pass
    per block of at most ``batch_points`` points (:func:`_blocks`), so memory does not grow
    with ``per_row``.
    """
    d = r.X.shape[1]
    total = np.zeros_like(r.X)
    for start, stop, k0, k1 in _blocks(r.X.shape[0], per_row, batch_points):
        points, factors = block(start, stop, k0, k1)
        rows, steps = stop - start, k1 - k0
        _, grads = r.explained.evaluate(points.reshape(-1, d),
                                        np.repeat(r.column[start:stop], steps),
                                        np.repeat(r.sign[start:stop], steps))
        total[start:stop] += (grads.reshape(rows, steps, d) * factors).sum(axis=1)
    return total


def _result(values, r, baselines, method, *, baseline_output=None):
    output, _ = r.explained.evaluate(r.X, r.column, r.sign, gradient=False)
    if baseline_output is None and baselines is not None:
        baseline_output, _ = r.explained.evaluate(np.ascontiguousarray(baselines), r.column,
                                                  r.sign, gradient=False)
    delta = None if baseline_output is None else values.sum(axis=1) - (output - baseline_output)
    return Attributions(values=values, output=output, baseline_output=baseline_output,
                        delta=delta, target=r.labels, method=method,
                        feature_names=r.feature_names)


def saliency(model, X, *, target=None, output="logit", absolute=False, dtype=None):
    """The gradient of the explained output with respect to each input, ``dF/dx(x)``.

    Parameters
    ----------
    model : Sequential or fitted numnet estimator
    X : array-like of shape (n_rows, n_features)
    target : label, int or array of shape (n_rows,), default=None
        The class (estimators: a label of ``classes_``; networks: an output column) or
        regression output to explain. None: the predicted class of each row, or the only output.
    output : {"logit", "probability", "softmax", "sigmoid"}, default="logit"
        Explain the raw output (a classifier's logit) or the probability. ``"probability"``
        uses an estimator's own link; for a Sequential name the link.
    absolute : bool, default=False
        Return ``|dF/dx|``.
    dtype : numpy dtype, default=None
        Compute in this dtype (e.g. ``np.float64`` for a float32 model); default: the model's.

    Returns
    -------
    Attributions
        ``delta`` and ``baseline_output`` are None: a gradient is not complete.

    Examples
    --------
    >>> from numnet import Sequential, Dense
    >>> net = Sequential([Dense(1)]).build(2, random_state=0)
    >>> net.params[:] = [2.0, -3.0, 0.5]
    >>> saliency(net, np.array([[1.0, 1.0]])).values
    array([[ 2., -3.]])
    """
    r = resolve(model, X, target, output, dtype)
    _, grads = r.explained.evaluate(r.X, r.column, r.sign)
    values = np.abs(grads) if absolute else grads
    return _result(values, r, None, "saliency")


def gradient_x_input(model, X, *, target=None, output="logit", dtype=None):
    """``x * dF/dx(x)`` per feature: integrated gradients from a zero baseline when F is linear.

    Parameters are those of :func:`saliency`. ``delta`` compares with ``F(x) - F(0)``.
    """
    r = resolve(model, X, target, output, dtype)
    _, grads = r.explained.evaluate(r.X, r.column, r.sign)
    return _result(r.X * grads, r, np.zeros_like(r.X), "gradient_x_input")


def integrated_gradients(model, X, *, baseline="zeros", target=None, output="logit",
                         n_steps=50, method="gausslegendre", background=None,
                         internal_batch_size=None, dtype=None):
    """Integrated gradients: ``(x - x') * integral_0^1 dF/dx(x' + a (x - x')) da``.

    The integral is a quadrature ``sum_k w_k g(a_k)`` (see :func:`quadrature`); the points
    (rows x steps) go through forward and backward passes of at most ``internal_batch_size``
    points each, so memory does not grow with ``n_steps``. The attributions add up to
    ``F(x) - F(x')`` up to the quadrature error, reported per row as ``delta``. For a linear or
    logistic model's logit they are the exact ``s w_t * (x - x')``.

    Parameters
    ----------
    model, X, target, output, dtype
        As in :func:`saliency`.
    baseline : {"zeros", "mean"} or array of shape (n_features,), (1, n_features) or \
(n_rows, n_features)
        The reference input x': one row for every row of X, or one per row. ``"mean"``
        averages ``background`` (the training rows). An array must hold finite numbers.
    n_steps : int, default=50
        From 1 (2 for the trapezoid rule) to :data:`MAX_STEPS` (5000).
    method : {"gausslegendre", "riemann_trapezoid"}, default="gausslegendre"
    background : array-like of shape (n_background, n_features), default=None
        Rows for ``baseline="mean"``.
    internal_batch_size : int, default=None
        At most this many points (rows x steps, or rows x samples) per forward pass: bounds
        memory, whatever ``n_steps`` or ``n_samples``. None: 4096.

    Returns
    -------
    Attributions

    Examples
    --------
    >>> from numnet import Sequential, Dense, Tanh
    >>> net = Sequential([Dense(3), Tanh(), Dense(1)]).build(2, random_state=0)
    >>> result = integrated_gradients(net, np.array([[1.0, -2.0]]))
    >>> bool(abs(result.delta[0]) < 1e-10)
    True
    """
    r = resolve(model, X, target, output, dtype)
    X = r.X
    baselines = _baselines(baseline, X, background)
    alphas, weights = quadrature(n_steps, method)
    batch_points = _check_batch_size(internal_batch_size)
    if r.explained.linear:
        _, grads = r.explained.evaluate(X, r.column, r.sign)
        values = grads * (X - baselines)
    else:
        alphas, weights = alphas.astype(X.dtype), weights.astype(X.dtype)
        diff = X - baselines

        def path(start, stop, k0, k1):
            base = baselines[start:stop, None, :]
            points = base + alphas[None, k0:k1, None] * diff[start:stop, None, :]
            return points, weights[None, k0:k1, None]

        values = diff * _sum_gradients(r, len(alphas), batch_points, path)
    return _result(values, r, baselines, "integrated_gradients")


def expected_gradients(model, X, background, *, n_samples=200, target=None, output="logit",
                       internal_batch_size=None, random_state=None, dtype=None):
    """Expected gradients: integrated gradients averaged over baselines drawn from data.

    For each row, ``n_samples`` baselines ``x'_k`` are drawn from ``background`` (with
    replacement) and ``a_k ~ U(0, 1)``::

        phi(x) = mean_k (x - x'_k) * dF/dx(x'_k + a_k (x - x'_k))

    The attributions add up to ``F(x) - mean_k F(x'_k)`` in expectation only; ``delta`` shows
    how far a finite ``n_samples`` is from it.

    Parameters
    ----------
    model, X, target, output, dtype, internal_batch_size
        As in :func:`integrated_gradients`.
    background : array-like of shape (n_background, n_features)
        Typical rows, e.g. a sample of the training data.
    n_samples : int, default=200
    random_state : int or numpy Generator, default=None

    Returns
    -------
    Attributions
    """
    r = resolve(model, X, target, output, dtype)
    X = r.X
    background = _background(background, X)
    n_samples = _check_count(n_samples, "n_samples")
    rng = np.random.default_rng(random_state)
    batch_points = _check_batch_size(internal_batch_size)
    n, d = X.shape
    baseline_output = np.zeros(n, dtype=X.dtype)

    def draws(start, stop, k0, k1):
        rows, k = stop - start, k1 - k0
        drawn = background[rng.integers(0, len(background), size=(rows, k))]
        alphas = rng.uniform(size=(rows, k, 1)).astype(X.dtype)
        diff = X[start:stop, None, :] - drawn
        F_base, _ = r.explained.evaluate(drawn.reshape(-1, d),
                                         np.repeat(r.column[start:stop], k),
                                         np.repeat(r.sign[start:stop], k), gradient=False)
        baseline_output[start:stop] += F_base.reshape(rows, k).sum(axis=1) / n_samples
        return drawn + alphas * diff, diff / n_samples

    values = _sum_gradients(r, n_samples, batch_points, draws)
    return _result(values, r, None, "expected_gradients", baseline_output=baseline_output)


def smoothgrad(model, X, *, n_samples=50, stdevs=None, noise_level=0.15, target=None,
               output="logit", internal_batch_size=None, random_state=None, dtype=None,
               draws=None):
    """SmoothGrad: the gradient averaged over noisy copies of each row.

    ::

        smoothgrad(x) = mean_k dF/dx(x + e_k),   e_k ~ N(0, diag(sigma^2))

    Parameters
    ----------
    model, X, target, output, dtype, internal_batch_size
        As in :func:`integrated_gradients`.
    n_samples : int, default=50
    stdevs : float or array of shape (n_features,), default=None
        sigma. None: ``noise_level * (max - min)`` of each feature over X, as in the paper
        (a feature constant over X then gets no noise).
    noise_level : float, default=0.15
    random_state : int or numpy Generator, default=None
    draws : array of shape (n_rows, n_samples, n_features), default=None
        Standard-normal draws to use instead of drawing them (``e_k = sigma * draws[:, k]``),
        e.g. to reproduce another library's noise; ``n_samples`` is then their count.

    Returns
    -------
    Attributions
    """
    r = resolve(model, X, target, output, dtype)
    X = r.X
    if draws is not None:
        draws = np.asarray(draws, dtype=X.dtype)
        if draws.ndim != 3 or draws.shape[0] != X.shape[0] or draws.shape[2] != X.shape[1]:
            raise ValueError(f"draws must have shape ({X.shape[0]}, n_samples, {X.shape[1]}), "
                             f"got {draws.shape}.")
        n_samples = draws.shape[1]
    n_samples = _check_count(n_samples, "n_samples")
    if stdevs is None:
        if not (np.isfinite(noise_level) and noise_level >= 0):
            raise ValueError(f"noise_level must be a float >= 0, got {noise_level!r}.")
        stdevs = noise_level * (X.max(axis=0) - X.min(axis=0))
    stdevs = np.broadcast_to(np.asarray(stdevs, dtype=X.dtype), (X.shape[1],))
    if not np.all(np.isfinite(stdevs) & (stdevs >= 0)):
        raise ValueError("stdevs must be finite and >= 0.")
    rng = np.random.default_rng(random_state)
    batch_points = _check_batch_size(internal_batch_size)

    def noisy(start, stop, k0, k1):
        standard = (rng.standard_normal(size=(stop - start, k1 - k0, X.shape[1])).astype(
            X.dtype) if draws is None else draws[start:stop, k0:k1])
        return X[start:stop, None, :] + standard * stdevs, 1.0 / n_samples

    values = _sum_gradients(r, n_samples, batch_points, noisy)
    return _result(values, r, None, "smoothgrad")


def permutation_importance(estimator, X, y, **kwargs):
    """Global importance: how much the score drops when one feature's values are shuffled.

    This is :func:`sklearn.inspection.permutation_importance`, unchanged (numnet's estimators
    are scikit-learn estimators); every keyword (``scoring``, ``n_repeats``,
    ``random_state``, ``sample_weight``, ...) is passed through.

    Returns
    -------
    sklearn.utils.Bunch
        ``importances_mean``, ``importances_std`` and ``importances`` (n_features, n_repeats).
    """
    # Imported here: sklearn.inspection adds about 1 s to importing numnet.explain.
    from sklearn.inspection import permutation_importance as sklearn_permutation_importance

    return sklearn_permutation_importance(estimator, X, y, **kwargs)

