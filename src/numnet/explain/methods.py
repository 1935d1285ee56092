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



def quadrature(n_steps, rule="gausslegendre"):
    """Nodes ``a_k`` in [0, 1] and weights ``w_k`` of a rule for ``integral_0^1 g(a) da``.

    ``"gausslegendre"``: the Gauss-Legendre nodes mapped from [-1, 1], exact for polynomials
    of degree ``2 n_steps - 1``. ``"riemann_trapezoid"``: ``n_steps`` equally spaced nodes
    including both ends, weights ``1/(n-1)`` (halved at the ends). Both as in Captum.

    Examples
    --------
    >>> a, w = quadrature(3, "riemann_trapezoid")
    >>> a.tolist(), w.tolist()
    ([0.0, 0.5, 1.0], [0.25, 0.5, 0.25])
    """
    if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}.")
    if rule == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(int(n_steps))
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
        return 4096
    if (not isinstance(internal_batch_size, (int, np.integer)) or isinstance(
            internal_batch_size, bool) or internal_batch_size < 1):
        raise ValueError(f"internal_batch_size must be an integer >= 1 or None, got "
                         f"{internal_batch_size!r}.")
    return int(internal_batch_size)


def _path_gradients(model, X, baselines, column, sign, alphas, weights, batch_points):
    """``sum_k w_k dF/dx(x' + a_k (x - x'))`` per row.

    All steps of a chunk of rows go through one forward and one backward pass of at most
    ``batch_points`` points.
    """
    n, d = X.shape
    steps = len(alphas)
    total = np.zeros_like(X)
    alphas = alphas.astype(X.dtype)
    weights = weights.astype(X.dtype)
    chunk = max(1, batch_points // steps)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        base, diff = baselines[start:stop], X[start:stop] - baselines[start:stop]
        points = (base[:, None, :] + alphas[None, :, None] * diff[:, None, :]).reshape(-1, d)
        _, grads = model.evaluate(points, np.repeat(column[start:stop], steps),
                                  np.repeat(sign[start:stop], steps))
        total[start:stop] = np.einsum("rkd,k->rd", grads.reshape(stop - start, steps, d),
                                      weights)
    return total


def _result(values, model, X, baselines, column, sign, labels, method, names, *,
            baseline_output=None):
    output, _ = model.evaluate(X, column, sign, gradient=False)
    if baseline_output is None and baselines is not None:
        baseline_output, _ = model.evaluate(np.ascontiguousarray(baselines), column, sign,
                                            gradient=False)
    delta = None if baseline_output is None else values.sum(axis=1) - (output - baseline_output)
    return Attributions(values=values, output=output, baseline_output=baseline_output,
                        delta=delta, target=labels, method=method, feature_names=names)


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
    model_, X, column, sign, labels, names = resolve(model, X, target, output, dtype)
    _, grads = model_.evaluate(X, column, sign)
    values = np.abs(grads) if absolute else grads
    return _result(values, model_, X, None, column, sign, labels, "saliency", names)


def gradient_x_input(model, X, *, target=None, output="logit", dtype=None):
    """``x * dF/dx(x)`` per feature: integrated gradients from a zero baseline when F is linear.

    Parameters are those of :func:`saliency`. ``delta`` compares with ``F(x) - F(0)``.
    """
    model_, X, column, sign, labels, names = resolve(model, X, target, output, dtype)
    _, grads = model_.evaluate(X, column, sign)
    return _result(X * grads, model_, X, np.zeros_like(X), column, sign, labels,
                   "gradient_x_input", names)


def integrated_gradients(model, X, *, baseline="zeros", target=None, output="logit",
                         n_steps=50, method="gausslegendre", background=None,
                         internal_batch_size=None, dtype=None):
    """Integrated gradients: ``(x - x') * integral_0^1 dF/dx(x' + a (x - x')) da``.

    The integral is a quadrature ``sum_k w_k g(a_k)`` (see :func:`quadrature`); all steps of a
    chunk of rows go through one forward and one backward pass. The attributions add up to
    ``F(x) - F(x')`` up to the quadrature error, reported per row as ``delta``. For a linear or
    logistic model's logit they are the exact ``s w_t * (x - x')``.

    Parameters
    ----------
    model, X, target, output, dtype
        As in :func:`saliency`.
    baseline : {"zeros", "mean"} or array of shape (n_features,) or (n_rows, n_features)
        The reference input x'. ``"mean"`` averages ``background`` (the training rows).
    n_steps : int, default=50
    method : {"gausslegendre", "riemann_trapezoid"}, default="gausslegendre"
    background : array-like of shape (n_background, n_features), default=None
        Rows for ``baseline="mean"``.
    internal_batch_size : int, default=None
        At most this many points (rows x steps) per forward pass; bounds memory. None: 4096.

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
    model_, X, column, sign, labels, names = resolve(model, X, target, output, dtype)
    baselines = _baselines(baseline, X, background)
    alphas, weights = quadrature(n_steps, method)
    batch_points = _check_batch_size(internal_batch_size)
    if model_.linear:
        _, grads = model_.evaluate(X, column, sign)
        values = grads * (X - baselines)
    else:
        values = (X - baselines) * _path_gradients(model_, X, baselines, column, sign, alphas,
                                                   weights, batch_points)
    return _result(values, model_, X, baselines, column, sign, labels, "integrated_gradients",
                   names)


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
    model_, X, column, sign, labels, names = resolve(model, X, target, output, dtype)
    background = _background(background, X)
    if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or (
            n_samples < 1):
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}.")
    rng = np.random.default_rng(random_state)
    batch_points = _check_batch_size(internal_batch_size)
    n, d = X.shape
    values = np.zeros_like(X)
    baseline_output = np.zeros(n, dtype=X.dtype)
    chunk = max(1, batch_points // n_samples)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        rows = stop - start
        drawn = background[rng.integers(0, len(background), size=(rows, n_samples))]
        alphas = rng.uniform(size=(rows, n_samples, 1)).astype(X.dtype)
        diff = X[start:stop, None, :] - drawn
        points = (drawn + alphas * diff).reshape(-1, d)
        col, sgn = np.repeat(column[start:stop], n_samples), np.repeat(sign[start:stop],
                                                                        n_samples)
        _, grads = model_.evaluate(points, col, sgn)
        values[start:stop] = (diff * grads.reshape(rows, n_samples, d)).mean(axis=1)
        F_base, _ = model_.evaluate(drawn.reshape(-1, d), col, sgn, gradient=False)
        baseline_output[start:stop] = F_base.reshape(rows, n_samples).mean(axis=1)
    return _result(values, model_, X, None, column, sign, labels, "expected_gradients", names,
                   baseline_output=baseline_output)


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
    model_, X, column, sign, labels, names = resolve(model, X, target, output, dtype)
    if draws is not None:
        draws = np.asarray(draws, dtype=X.dtype)
        if draws.ndim != 3 or draws.shape[0] != X.shape[0] or draws.shape[2] != X.shape[1]:
            raise ValueError(f"draws must have shape ({X.shape[0]}, n_samples, {X.shape[1]}), "
                             f"got {draws.shape}.")
        n_samples = draws.shape[1]
    if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or (
            n_samples < 1):
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}.")
    if stdevs is None:
        if not (np.isfinite(noise_level) and noise_level >= 0):
            raise ValueError(f"noise_level must be a float >= 0, got {noise_level!r}.")
        stdevs = noise_level * (X.max(axis=0) - X.min(axis=0))
    stdevs = np.broadcast_to(np.asarray(stdevs, dtype=X.dtype), (X.shape[1],))
    if not np.all(np.isfinite(stdevs) & (stdevs >= 0)):
        raise ValueError("stdevs must be finite and >= 0.")
    rng = np.random.default_rng(random_state)
    batch_points = _check_batch_size(internal_batch_size)
    n, d = X.shape
    values = np.zeros_like(X)
    chunk = max(1, batch_points // n_samples)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        rows = stop - start
        standard = (rng.standard_normal(size=(rows, n_samples, d)).astype(X.dtype)
                    if draws is None else draws[start:stop])
        noise = standard * stdevs
        points = (X[start:stop, None, :] + noise).reshape(-1, d)
        _, grads = model_.evaluate(points, np.repeat(column[start:stop], n_samples),
                                   np.repeat(sign[start:stop], n_samples))
        values[start:stop] = grads.reshape(rows, n_samples, d).mean(axis=1)
    return _result(values, model_, X, None, column, sign, labels, "smoothgrad", names)


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

