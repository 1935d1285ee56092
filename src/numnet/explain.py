"""Attributions: how much each input feature contributed to one output of a network.

The explained quantity is a scalar per row, ``F(x)``: one output of the network, chosen by
``target`` (a class of a classifier, an output column of a regressor) and by ``output``
(the raw output, i.e. the logit of a classifier, or its probability). Every method here
needs only ``dF/dx``, which backpropagation gives: for the chosen output column ``t``::

    logit        F(x) = s z_t(x)            dF/dz = s e_t          (s = -1 for class 0 of a
                                                                    binary classifier, else 1)
    softmax      F(x) = p_t = softmax(z)_t  dF/dz = p_t (e_t - p)
    sigmoid      F(x) = sigmoid(s z_t)      dF/dz = s F (1 - F) e_t

    dF/dx = net.backward(dF/dz)                                    shape (n_rows, n_features)

The methods (x' is the baseline, a row the explanation is measured against)::

    saliency              dF/dx(x)                 (or |dF/dx| with absolute=True)
    gradient_x_input      x * dF/dx(x)
    integrated_gradients  (x - x') * sum_k w_k dF/dx(x' + a_k (x - x'))
                          the path integral of the gradient from x' to x (Sundararajan et al.
                          2017) by a quadrature rule with nodes a_k in [0, 1], weights w_k
    expected_gradients    mean_k (x - x'_k) * dF/dx(x'_k + a_k (x - x'_k))
                          x'_k drawn from a background set, a_k ~ U(0, 1): integrated
                          gradients averaged over baselines (SHAP's GradientExplainer)
    smoothgrad            mean_k dF/dx(x + e_k),  e_k ~ N(0, sigma^2)  (Smilkov et al. 2017)

Integrated gradients are *complete*: the attributions of a row add up to ``F(x) - F(x')``, up
to the error of the quadrature rule. Each result carries that check as
``delta = sum(attributions) - (F(x) - F(x'))`` (Captum's "convergence delta"). For a linear or
logistic model's logit the gradient is the constant ``s w_t`` and the attributions
``s w_t * (x - x')`` are exact: numnet computes that closed form directly.

An attribution says how the *model* responds to a feature along a path, not that the feature
causes the outcome in the world; correlated features can share or swap credit.
"""

from dataclasses import dataclass, field

import numpy as np

from .functional import sigmoid, softmax
from .layers import Dense, Identity
from .network import Sequential

OUTPUTS = ("logit", "probability", "softmax", "sigmoid")
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


class _Explained:
    """A network with the chosen output: evaluates F and dF/dx on batches of points.

    Works on a float copy of the network, so explaining never changes the model's gradients or
    caches.
    """

    def __init__(self, net, link, n_outputs, dtype):
        self.net = net.copy(dtype=dtype)
        self.dtype = self.net.dtype
        self.link = link  # "logit", "softmax" or "sigmoid"
        self.n_outputs = n_outputs
        dense = [layer for layer in self.net.layers if not isinstance(layer, Identity)]
        self.linear = link == "logit" and len(dense) == 1 and isinstance(dense[0], Dense)

    def evaluate(self, P, column, sign, *, gradient=True):
        """F at the points P (m, d) and, if asked, dF/dP (m, d) (a new array)."""
        rows = np.arange(P.shape[0])
        if self.linear and gradient:
            W = self.net.layers[0].params["W"]
            Z = self.net.forward(P)
            self.net.clear_cache()
            return sign * Z[rows, column], sign[:, None] * W[:, column].T
        Z = self.net.forward(P)
        dZ = np.zeros_like(Z)
        if self.link == "softmax":
            p = softmax(Z, axis=1)
            F = p[rows, column]
            np.multiply(-F[:, None], p, out=dZ)
            dZ[rows, column] += F
        elif self.link == "sigmoid":
            F = sigmoid(sign * Z[rows, column])
            dZ[rows, column] = sign * F * (1 - F)
        else:
            F = sign * Z[rows, column]
            dZ[rows, column] = sign
        if not gradient:
            self.net.clear_cache()
            return F, None
        dX = self.net.backward(dZ).copy()
        self.net.clear_cache()
        return F, dX


def _resolve(model, X, target, output, dtype):
    """(explained network, X as an array of its dtype, column and sign per row, target labels)."""
    if isinstance(model, Sequential):
        if not model.built:
            raise RuntimeError("Sequential is not built yet; call build(n_in) first.")
        net, n_outputs, classes, out_activation, feature_names = model, None, None, None, None
    elif hasattr(model, "network_") or hasattr(model, "fit"):
        if not hasattr(model, "network_"):
            from sklearn.exceptions import NotFittedError  # scikit-learn loads only when needed

            raise NotFittedError(f"This {type(model).__name__} instance is not fitted yet. Call "
                                 "'fit' with appropriate arguments before explaining it.")
        net, n_outputs = model.network_, model.n_outputs_
        classes = getattr(model, "classes_", None)
        # Regressors have no out_activation_ unless they are MLPs ("identity").
        out_activation = getattr(model, "out_activation_",
                                 "identity" if classes is None else None)
        names = getattr(model, "feature_names_in_", None)
        feature_names = None if names is None else [str(n) for n in names]
    else:
        raise TypeError("model must be a numnet Sequential or a fitted numnet estimator, got "
                        f"{type(model).__name__}.")
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {set(OUTPUTS)}, got {output!r}.")
    if output == "probability":
        if out_activation is None:
            raise ValueError("output='probability' needs the network's output link, which a "
                             "Sequential does not know. Pass output='softmax' or 'sigmoid'.")
        if out_activation == "identity":
            raise ValueError(f"output must be 'logit' for a regressor ({type(model).__name__} "
                             "has no probabilities), got 'probability'.")
        output = out_activation if out_activation == "softmax" else "sigmoid"
    link = output
    X = _as_rows(X, net, dtype)
    if n_outputs is None:
        n_outputs = net.forward(X[:1].astype(net.dtype)).shape[1]
    if link == "softmax" and n_outputs < 2:
        raise ValueError("output='softmax' needs a network with at least 2 outputs, got 1. "
                         "Use output='sigmoid' for a single logit.")
    column, sign, labels = _targets(model, net, X, target, n_outputs, classes, out_activation)
    return _Explained(net, link, n_outputs, X.dtype), X, column, sign, labels, feature_names


def _as_rows(X, net, dtype):
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    X = np.asarray(X)
    if X.ndim == 1:
        raise ValueError(f"X must be 2-D with shape (n_rows, n_features), got shape {X.shape}. "
                         "Explain a single row with X.reshape(1, -1).")
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be 2-D with at least one row, got shape {X.shape}.")
    if X.shape[1] != net.n_in:
        raise ValueError(f"X has {X.shape[1]} features, but the model was built for {net.n_in}.")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"X must be numeric, got dtype {X.dtype}.")
    X = X.astype(dtype if dtype is not None else net.dtype, copy=False)
    if not np.all(np.isfinite(X)):
        raise ValueError("X must hold finite numbers, got NaN or infinity. Impute or drop them.")
    return np.ascontiguousarray(X)


def _targets(model, net, X, target, n_outputs, classes, out_activation):
    """Output column and sign per row, and the target as the user names it."""
    n = X.shape[0]
    binary = out_activation == "logistic" and n_outputs == 1 and classes is not None
    if target is None:
        if out_activation == "identity" or (out_activation is None and n_outputs == 1):
            if n_outputs > 1:
                raise ValueError(f"target must name the output to explain for a model with "
                                 f"{n_outputs} outputs, got None. Pass target=0 ... "
                                 f"{n_outputs - 1}.")
            column = np.zeros(n, dtype=np.intp)
        elif out_activation == "logistic" and n_outputs > 1:
            raise ValueError(f"target must name the label to explain for a multilabel model "
                             f"with {n_outputs} labels, got None. Pass target=0 ... "
                             f"{n_outputs - 1}.")
        else:
            Z = net.copy(dtype=X.dtype).forward(X) if n_outputs > 1 else None
            if binary:
                z = net.copy(dtype=X.dtype).forward(X)[:, 0]
                index = (z > 0).astype(np.intp)
                return (np.zeros(n, dtype=np.intp), np.where(index == 1, 1.0, -1.0).astype(
                    X.dtype), np.asarray(classes)[index])
            column = np.argmax(Z, axis=1).astype(np.intp)
        labels = column if classes is None or out_activation != "softmax" else np.asarray(
            classes)[column]
        return column, np.ones(n, dtype=X.dtype), labels
    requested = np.asarray(target)
    if requested.ndim == 0:
        requested = np.full(n, requested.item(), dtype=requested.dtype)
    if requested.shape != (n,):
        raise ValueError(f"target must be one value or one per row ({n}), got shape "
                         f"{requested.shape}.")
    if classes is not None and out_activation != "logistic" or binary:
        lookup = {label: index for index, label in enumerate(np.asarray(classes).tolist())}
        try:
            index = np.array([lookup[value] for value in requested.tolist()], dtype=np.intp)
        except (KeyError, TypeError):
            unknown = next(v for v in requested.tolist() if v not in lookup)
            raise ValueError(f"target must be one of the classes {list(lookup)}, got "
                             f"{unknown!r}.") from None
        if binary:
            return (np.zeros(n, dtype=np.intp), np.where(index == 1, 1.0, -1.0).astype(X.dtype),
                    requested)
        return index, np.ones(n, dtype=X.dtype), requested
    if not np.issubdtype(requested.dtype, np.integer) or np.any(
            (requested < 0) | (requested >= n_outputs)):
        raise ValueError(f"target must be an output index in 0 ... {n_outputs - 1}, got "
                         f"{requested.tolist()[:5]}.")
    return requested.astype(np.intp), np.ones(n, dtype=X.dtype), requested


def _baselines(baseline, X, background):
    """The baseline rows, shape (n_rows, n_features)."""
    if isinstance(baseline, str):
        if baseline == "zeros":
            return np.zeros_like(X)
        if baseline == "mean":
            if background is None:
                raise ValueError("baseline='mean' needs the data to average: pass "
                                 "background=X_train (the training rows).")
            return np.broadcast_to(_background(background, X).mean(axis=0), X.shape)
        raise ValueError(f"baseline must be 'zeros', 'mean', a row or an array of rows, got "
                         f"{baseline!r}.")
    values = np.asarray(baseline, dtype=X.dtype)
    if values.shape == (X.shape[1],):
        return np.broadcast_to(values, X.shape)
    if values.shape != X.shape:
        raise ValueError(f"baseline must have shape ({X.shape[1]},) or {X.shape}, got "
                         f"{values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("baseline must hold finite numbers, got NaN or infinity.")
    return values


def _background(background, X):
    values = np.asarray(background.to_numpy() if hasattr(background, "to_numpy") else background,
                        dtype=X.dtype)
    if values.ndim != 2 or values.shape[1] != X.shape[1] or values.shape[0] == 0:
        raise ValueError(f"background must have shape (n_rows, {X.shape[1]}) with at least one "
                         f"row, got {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("background must hold finite numbers, got NaN or infinity.")
    return values


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
    model_, X, column, sign, labels, names = _resolve(model, X, target, output, dtype)
    _, grads = model_.evaluate(X, column, sign)
    values = np.abs(grads) if absolute else grads
    return _result(values, model_, X, None, column, sign, labels, "saliency", names)


def gradient_x_input(model, X, *, target=None, output="logit", dtype=None):
    """``x * dF/dx(x)`` per feature: integrated gradients from a zero baseline when F is linear.

    Parameters are those of :func:`saliency`. ``delta`` compares with ``F(x) - F(0)``.
    """
    model_, X, column, sign, labels, names = _resolve(model, X, target, output, dtype)
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
    model_, X, column, sign, labels, names = _resolve(model, X, target, output, dtype)
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
    model_, X, column, sign, labels, names = _resolve(model, X, target, output, dtype)
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
               output="logit", internal_batch_size=None, random_state=None, dtype=None):
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

    Returns
    -------
    Attributions
    """
    model_, X, column, sign, labels, names = _resolve(model, X, target, output, dtype)
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
        noise = rng.standard_normal(size=(rows, n_samples, d)).astype(X.dtype) * stdevs
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
