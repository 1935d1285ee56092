"""Loss functions on raw network outputs, fused with the output link.

``raw`` is the network output *before* the output activation (scikit-learn's
``raw_prediction``): the identity for regression, logits for classification. Fusing the link
into the loss gives short, exact gradients (``(link(raw) - y) / n_samples`` for both
cross-entropies and the Poisson deviance, ``2 (raw - y) / (n_samples * n_outputs)`` for the
squared error) and lets the loss be computed from logits without forming log(0).

Every loss has the same signature (STYLE.md section 2)::

    loss(y_true, raw, sample_weight=None)                    -> float (weighted mean)
    gradient(y_true, raw, sample_weight=None, *, out=None)   -> dL/draw, same shape as raw
    loss_gradient(y_true, raw, sample_weight=None, *, out=None) -> (float, dL/draw)
    link(raw)                                                 -> predictions / probabilities

With sample weights w of shape (n_samples,), each loss is the weighted mean
``sum_i w_i * l_i / sum_i w_i`` of the per-sample losses l_i, so a weight of k is the same as
k copies of the row.
"""

import numpy as np

from ._validation import check_float
from .functional import sigmoid, softmax


def check_sample_weight(sample_weight, n_samples, dtype):
    """``sample_weight`` as a 1-D array of ``dtype``, or a clear error.

    Weights must have shape (n_samples,), be finite and >= 0, and have a positive sum.
    """
    weights = np.asarray(sample_weight, dtype=dtype)
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape (n_samples,) = ({n_samples},), got {weights.shape}."
        )
    bad = ~np.isfinite(weights) | (weights < 0)
    if np.any(bad):
        value = weights[np.argmax(bad)]
        raise ValueError(
            f"sample_weight must contain finite values >= 0, got {float(value)!r}."
        )
    if not weights.sum() > 0:
        raise ValueError(
            "sample_weight must have a positive sum, got all zeros. Give at least one "
            "sample a weight > 0."
        )
    return weights


class Loss:
    """Base class: a per-sample loss l_i(y_i, raw_i) averaged with optional weights."""

    def loss(self, y_true, raw, sample_weight=None):
        """Weighted mean loss over the samples."""
        y_true, weights = self._prepare(y_true, raw, sample_weight)
        per_sample = self._per_sample_loss(y_true, raw)
        return float(_weighted_mean(per_sample, weights))

    def gradient(self, y_true, raw, sample_weight=None, *, out=None):
        """dL/draw, shaped like ``raw`` (the class docstring gives the formula)."""
        return self.loss_gradient(y_true, raw, sample_weight, out=out)[1]

    def loss_gradient(self, y_true, raw, sample_weight=None, *, out=None):
        """Loss and gradient in one pass; ``out`` (may be ``raw`` itself) receives the gradient."""
        y_true, weights = self._prepare(y_true, raw, sample_weight)
        if out is None:
            out = np.empty_like(raw)
        per_sample = self._per_sample_loss_gradient(y_true, raw, out)
        value = _weighted_mean(per_sample, weights)
        _scale_rows(out, weights, self._gradient_scale(raw))
        return float(value), out

    def link(self, raw):
        """Map raw outputs to predictions (identity) or probabilities (sigmoid, softmax)."""
        raise NotImplementedError

    def check_targets(self, y_true):
        """Raise a clear error unless ``y_true`` (2-D) is a valid target for this loss.

        Called once by :func:`numnet.train` before any work starts, not on every batch.
        """

    def _gradient_scale(self, raw):
        return 1.0

    def _prepare(self, y_true, raw, sample_weight):
        if raw.ndim != 2:
            raise ValueError(
                f"raw must be 2-D with shape (n_samples, n_outputs), got shape {raw.shape}."
            )
        y_true = np.asarray(y_true)
        if y_true.ndim == 1 and raw.shape[1] == 1:
            y_true = y_true.reshape(-1, 1)
        if y_true.shape != raw.shape:
            raise ValueError(
                f"y_true must have shape (n_samples, n_outputs) = {raw.shape}, "
                f"got {y_true.shape}.{self._shape_hint}"
            )
        if y_true.dtype != raw.dtype:
            y_true = y_true.astype(raw.dtype)
        if sample_weight is None:
            return y_true, None
        return y_true, check_sample_weight(sample_weight, raw.shape[0], raw.dtype)

    _shape_hint = ""

    def __repr__(self):
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """Mean squared error over all n_samples * n_outputs entries, identity link.

    Loss and gradient, for raw and y of shape (n_samples, n_outputs), weights w (default 1)::

        L    = sum_i w_i * sum_j (raw[i, j] - y[i, j])**2 / (sum_i w_i * n_outputs)
        dL/draw[i, j] = 2 * w_i * (raw[i, j] - y[i, j]) / (sum_i w_i * n_outputs)

    Notes
    -----
    No 0.5 factor: without weights this is ``sklearn.metrics.mean_squared_error`` and
    ``torch.nn.MSELoss()``, so the gradient carries the factor 2. (scikit-learn's MLP minimises
    half of it.)
    """

    def link(self, raw):
        return raw

    def _per_sample_loss(self, y_true, raw):
        diff = raw - y_true
        return np.einsum("ij,ij->i", diff, diff) / raw.shape[1]

    def _per_sample_loss_gradient(self, y_true, raw, out):
        np.subtract(raw, y_true, out=out)
        return np.einsum("ij,ij->i", out, out) / raw.shape[1]

    def _gradient_scale(self, raw):
        return 2.0 / raw.shape[1]


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy from logits (sigmoid link), one or several independent labels.

    Loss and gradient, for logits z and targets y in [0, 1] of shape (n_samples, n_outputs),
    p = sigmoid(z), weights w (default 1)::

        l_i  = sum_j [ log(1 + exp(z[i, j])) - y[i, j] * z[i, j] ]
             = -sum_j [ y log p + (1 - y) log(1 - p) ]
        L    = sum_i w_i * l_i / sum_i w_i
        dL/dz[i, j] = w_i * (p[i, j] - y[i, j]) / sum_i w_i

    Notes
    -----
    ``log(1 + exp(z)) - y z`` is evaluated as ``max(z, 0) - y z + log1p(exp(-|z|))``: nothing
    overflows, and the large terms cancel exactly before the small one is added, so a confident
    correct prediction keeps its tiny loss even in float32 (z = 20, y = 1 gives 2.06e-9, not 0).
    No eps clipping. With several outputs (multilabel) the per-sample loss sums over the labels,
    as scikit-learn's MLP does; with one output this is ``sklearn.metrics.log_loss`` and
    ``torch.nn.BCEWithLogitsLoss()``.

    With ``label_smoothing=eps`` every target becomes ``y' = (1 - eps) * y + eps / 2`` before
    the formulas above (loss and gradient ``p - y'``); eps = 0 is the plain loss, bit for bit.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        Must be in [0, 1).
    """

    label_smoothing = 0.0

    def __init__(self, label_smoothing=0.0):
        self.label_smoothing = _check_smoothing(label_smoothing)

    def _prepare(self, y_true, raw, sample_weight):
        y_true, weights = super()._prepare(y_true, raw, sample_weight)
        return _smooth(y_true, self.label_smoothing, 2), weights

    def __repr__(self):
        return _repr(self)

    def link(self, raw):
        return sigmoid(raw)

    def check_targets(self, y_true):
        if y_true.size and (np.min(y_true) < 0 or np.max(y_true) > 1):
            bad = float(y_true[(y_true < 0) | (y_true > 1)][0])
            raise ValueError(
                f"y for BinaryCrossEntropy must hold values in [0, 1] (0/1 labels), got {bad!r}. "
                "Encode the two classes as 0 and 1, e.g. with sklearn.preprocessing.LabelEncoder."
            )

    def _per_sample_loss(self, y_true, raw):
        return self._elementwise_loss(y_true, raw, np.empty_like(raw)).sum(axis=1)

    def _per_sample_loss_gradient(self, y_true, raw, out):
        per_sample = self._per_sample_loss(y_true, raw)
        sigmoid(raw, out=out)
        out -= y_true
        return per_sample

    @staticmethod
    def _elementwise_loss(y_true, raw, out):
        # The large terms max(z, 0) - y z cancel first; the small log1p term is added last.
        small = np.abs(raw)
        np.negative(small, out=small)
        np.exp(small, out=small)
        np.log1p(small, out=small)
        np.maximum(raw, 0, out=out)
        out -= y_true * raw
        out += small
        return out


class SoftmaxCrossEntropy(Loss):
    """Categorical cross-entropy from logits (softmax link), one-hot targets.

    Loss and gradient, for logits z and one-hot y of shape (n_samples, n_classes),
    p = softmax(z), weights w (default 1)::

        l_i  = logsumexp(z[i]) - sum_j y[i, j] * z[i, j]  = -sum_j y[i, j] * log p[i, j]
        L    = sum_i w_i * l_i / sum_i w_i
        dL/dz[i, j] = w_i * (p[i, j] - y[i, j]) / sum_i w_i

    Notes
    -----
    Computed on shifted logits s = z - max_j z[i, j] as
    ``l_i = log1p(sum_j exp(s_j) - 1) - y . s``, the sum accumulated in float64. Every exponent
    is <= 0, so logits of +-1000 are finite; no large number is subtracted from another and the
    small terms are not rounded away against exp(0) = 1, so a confident correct prediction
    keeps its small loss accurately in float32. This uses
    ``sum_j y[i, j] = 1`` (one-hot or a probability vector per row), which ``check_targets``
    enforces at the training boundary; the gradient ``p - y`` needs it too. Equals
    ``sklearn.metrics.log_loss`` and ``torch.nn.CrossEntropyLoss()`` on class indices.

    Label smoothing (Szegedy et al. 2016; RealMLP uses eps = 0.1), with K = n_classes::

        y'[i, j] = (1 - eps) * y[i, j] + eps / K         (rows still sum to 1)
        l_i = -sum_j y'[i, j] * log p[i, j]              dL/dz[i, j] = w_i (p - y')[i, j] / sum w

    which is ``torch.nn.CrossEntropyLoss(label_smoothing=eps)``. eps = 0 is the plain loss,
    bit for bit (the targets are not touched).

    Parameters
    ----------
    label_smoothing : float, default=0.0
        eps. Must be in [0, 1).
    """

    label_smoothing = 0.0

    def __init__(self, label_smoothing=0.0):
        self.label_smoothing = _check_smoothing(label_smoothing)

    def _prepare(self, y_true, raw, sample_weight):
        y_true, weights = super()._prepare(y_true, raw, sample_weight)
        return _smooth(y_true, self.label_smoothing, raw.shape[1]), weights

    def __repr__(self):
        return _repr(self)

    _shape_hint = (
        " One-hot encode the labels, e.g. with sklearn.preprocessing.LabelBinarizer."
    )

    def link(self, raw):
        return softmax(raw, axis=1)

    def check_targets(self, y_true):
        if y_true.shape[1] < 2:
            raise ValueError(
                "SoftmaxCrossEntropy needs at least 2 outputs (one per class), got "
                f"{y_true.shape[1]}. For two classes use 2 outputs, or 1 output with "
                "BinaryCrossEntropy."
            )
        if y_true.size and (np.min(y_true) < 0 or np.max(y_true) > 1
                            or not np.allclose(y_true.sum(axis=1), 1, atol=1e-5)):
            row = int(np.argmax(~np.isclose(y_true.sum(axis=1), 1, atol=1e-5)
                                | np.any((y_true < 0) | (y_true > 1), axis=1)))
            raise ValueError(
                "y for SoftmaxCrossEntropy must be one-hot (each row in [0, 1], summing to 1), "
                f"got row {row}: {y_true[row].tolist()!r}.{self._shape_hint}"
            )

    def _per_sample_loss(self, y_true, raw):
        return self._per_sample_loss_gradient(y_true, raw, np.empty_like(raw), gradient=False)

    def _per_sample_loss_gradient(self, y_true, raw, out, gradient=True):
        np.subtract(raw, raw.max(axis=1, keepdims=True), out=out)  # s (raw may be out itself)
        per_sample = -np.einsum("ij,ij->i", y_true, out)
        np.exp(out, out=out)
        # The row sum is 1 + (the other terms), as exp(s_max) = 1. Summed in float64 it holds
        # the small terms exactly, so log1p(sum - 1) keeps a confident row's tiny loss accurate
        # in float32 too (a float32 sum would round them away against the 1).
        row_sum = out.sum(axis=1, dtype=np.float64)
        per_sample = per_sample + np.log1p(row_sum - 1.0)
        if gradient:
            out /= row_sum.astype(out.dtype)[:, None]                # out = p
            out -= y_true
        return per_sample


class PoissonLoss(Loss):
    """Half Poisson deviance with a log link (exp output), for counts and rates y >= 0.

    Loss and gradient, for raw z and targets y >= 0 of shape (n_samples, n_outputs),
    mu = exp(z), weights w (default 1)::

        l_i  = sum_j [ y[i, j] * log(y[i, j] / mu[i, j]) - y[i, j] + mu[i, j] ]   (0 log 0 = 0)
        L    = sum_i w_i * l_i / sum_i w_i
        dL/dz[i, j] = w_i * (mu[i, j] - y[i, j]) / sum_i w_i

    Notes
    -----
    Half of the Poisson deviance, summed over the outputs: scikit-learn's MLPRegressor
    ``loss="poisson"`` (>= 1.7) and, for one output, ``0.5 * sklearn.metrics.
    mean_poisson_deviance(y, mu)``; L = 0 when mu = y. The term is evaluated with
    d = z - log(y) as ``y * (expm1(d) - d)`` (``mu`` where y = 0): it is >= 0 by construction
    and keeps its digits when mu is close to y, where ``y log(y / mu) - y + mu`` cancels. The
    gradient ``mu - y`` is the canonical-link form, as for the cross-entropies.
    ``torch.nn.PoissonNLLLoss(log_input=True, full=False)`` drops the y-only terms
    ``y log y - y``: the same gradient, another value.
    """

    def link(self, raw):
        return np.exp(raw)

    def check_targets(self, y_true):
        if y_true.size and np.min(y_true) < 0:
            bad = float(y_true[y_true < 0][0])
            raise ValueError(
                f"y for PoissonLoss must hold values >= 0 (counts or rates), got {bad!r}."
            )

    def _per_sample_loss(self, y_true, raw):
        return self._per_sample_loss_gradient(y_true, raw, np.empty_like(raw))

    def _per_sample_loss_gradient(self, y_true, raw, out):
        positive = y_true > 0
        d = raw - np.log(y_true, out=np.zeros_like(raw), where=positive)   # z - log(y)
        elementwise = np.expm1(d)
        elementwise -= d
        elementwise *= y_true
        np.exp(raw, out=out)                                               # mu (raw may be out)
        np.copyto(elementwise, out, where=~positive)                      # l = mu where y = 0
        out -= y_true
        return elementwise.sum(axis=1)


def _check_smoothing(label_smoothing):
    return check_float(label_smoothing, "label_smoothing", min_value=0, max_value=1,
                       include_max=False)


def _smooth(y_true, eps, n_classes):
    """``(1 - eps) * y + eps / n_classes`` as a new array; y itself when eps = 0."""
    if not eps:
        return y_true
    smoothed = y_true * (1.0 - eps)
    smoothed += eps / n_classes
    return smoothed


def _repr(loss):
    eps = loss.label_smoothing
    return f"{type(loss).__name__}({f'label_smoothing={eps!r}' if eps else ''})"


def _weighted_mean(values, weights):
    if weights is None:
        return np.add.reduce(values) / values.shape[0]
    return np.dot(weights, values) / np.add.reduce(weights)


def _scale_rows(out, weights, factor):
    """out[i] *= factor * w_i / sum(w) (or factor / n_samples without weights), in place."""
    if weights is None:
        out *= factor / out.shape[0]
    else:
        out *= (weights * (factor / weights.sum()))[:, None]


LOSSES = {
    cls.__name__: cls
    for cls in (MeanSquaredError, BinaryCrossEntropy, SoftmaxCrossEntropy, PoissonLoss)
}
