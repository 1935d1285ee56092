"""What is explained: one output of a network as a function F of the input, with dF/dx.

The output is a class's logit or probability, or a regression output, evaluated with its
gradient on batches of points.

:func:`resolve` turns a Sequential or a fitted estimator, the rows and the ``target`` and
``output`` arguments into an :class:`Explained` function and one output column (and sign) per
row. See :mod:`numnet.explain` for the formulas.
"""

from dataclasses import dataclass

import numpy as np

from .._labels import UNSEEN_TARGET, LabelCodec
from ..functional import sigmoid, softmax
from ..layers import Dense, Identity
from ..network import Sequential

OUTPUTS = ("logit", "probability", "softmax", "sigmoid")


class Explained:
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
        dX = self.net.backward(dZ, params_grad=False).copy()
        self.net.clear_cache()
        return F, dX


@dataclass
class Resolved:
    """What is explained, as :func:`resolve` finds it."""

    explained: Explained
    X: np.ndarray             # the rows, in the explained network's dtype
    column: np.ndarray        # per row: the output column explained
    sign: np.ndarray          # per row: +1, or -1 for class 0 of a binary classifier
    labels: np.ndarray        # per row: the target as the user names it
    feature_names: list | None


def resolve(model, X, target, output, dtype):
    """The explained network, X as an array of its dtype, and per row what is explained."""
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
    return Resolved(Explained(net, link, n_outputs, X.dtype), X, column, sign, labels,
                    feature_names)


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
        index = LabelCodec(classes).index(requested, unseen=UNSEEN_TARGET)
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
    # One row, flat or 2-D (as Captum and NumPy broadcasting take it), or one per row of X.
    if values.shape not in ((X.shape[1],), (1, X.shape[1]), X.shape):
        raise ValueError(f"baseline must have shape ({X.shape[1]},), (1, {X.shape[1]}) or "
                         f"{X.shape}, got {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("baseline must hold finite numbers, got NaN or infinity. Replace "
                         "them, e.g. with the training mean (baseline='mean').")
    return np.broadcast_to(values, X.shape)


def _background(background, X):
    values = np.asarray(background.to_numpy() if hasattr(background, "to_numpy") else background,
                        dtype=X.dtype)
    if values.ndim != 2 or values.shape[1] != X.shape[1] or values.shape[0] == 0:
        raise ValueError(f"background must have shape (n_rows, {X.shape[1]}) with at least one "
                         f"row, got {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("background must hold finite numbers, got NaN or infinity.")
    return values


