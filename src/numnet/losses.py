"""Loss functions on raw network outputs, fused with the output link.

``raw`` is the network output *before* the output activation (scikit-learn's
``raw_prediction``): the identity for regression, logits for classification. Fusing the link
into the loss gives the short, exact gradients ``(link(raw) - y) / n`` and lets the loss be
computed from logits without forming log(0).

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

from .functional import sigmoid, softmax


class Loss:
    """Base class: a per-sample loss l_i(y_i, raw_i) averaged with optional weights."""

    def loss(self, y_true, raw, sample_weight=None):
        """Weighted mean loss over the samples."""
        y_true, weights = self._prepare(y_true, raw, sample_weight)
        per_sample = self._per_sample_loss(y_true, raw)
        return float(_weighted_mean(per_sample, weights))

    def gradient(self, y_true, raw, sample_weight=None, *, out=None):
        """dL/draw, shaped like ``raw``, already divided by the number (or weight) of samples."""
        return self.loss_gradient(y_true, raw, sample_weight, out=out)[1]

    def loss_gradient(self, y_true, raw, sample_weight=None, *, out=None):
        """Loss and gradient in one pass; ``out`` receives the gradient if given."""
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
        weights = np.asarray(sample_weight, dtype=raw.dtype)
        if weights.shape != (raw.shape[0],):
            raise ValueError(
                f"sample_weight must have shape (n_samples,) = ({raw.shape[0]},), "
                f"got {weights.shape}."
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("sample_weight must contain finite values >= 0.")
        if not weights.sum() > 0:
            raise ValueError(
                "sample_weight must have a positive sum, got all zeros. Give at least one "
                "sample a weight > 0."
            )
        return y_true, weights

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
    ``log(1 + exp(z))`` is evaluated as ``logaddexp(0, z)``, which never overflows, so logits of
    +-1000 give exact, finite losses; no eps clipping. With several outputs (multilabel) the
    per-sample loss sums over the labels, as scikit-learn's MLP does; with one output this is
    ``sklearn.metrics.log_loss`` and ``torch.nn.BCEWithLogitsLoss()``.
    """

    def link(self, raw):
        return sigmoid(raw)

    def _per_sample_loss(self, y_true, raw):
        return np.sum(np.logaddexp(0, raw) - y_true * raw, axis=1)

    def _per_sample_loss_gradient(self, y_true, raw, out):
        per_sample = self._per_sample_loss(y_true, raw)
        sigmoid(raw, out=out)
        out -= y_true
        return per_sample


class SoftmaxCrossEntropy(Loss):
    """Categorical cross-entropy from logits (softmax link), one-hot targets.

    Loss and gradient, for logits z and one-hot y of shape (n_samples, n_classes),
    p = softmax(z), weights w (default 1)::

        l_i  = logsumexp(z[i]) - sum_j y[i, j] * z[i, j]  = -sum_j y[i, j] * log p[i, j]
        L    = sum_i w_i * l_i / sum_i w_i
        dL/dz[i, j] = w_i * (p[i, j] - y[i, j]) / sum_i w_i

    Notes
    -----
    logsumexp subtracts the row maximum first, so logits of +-1000 are exact and finite.
    The gradient ``p - y`` assumes each row of y sums to 1 (one-hot or a probability vector).
    Equals ``sklearn.metrics.log_loss`` and ``torch.nn.CrossEntropyLoss()`` on class indices.
    """

    _shape_hint = (
        " One-hot encode the labels, e.g. with sklearn.preprocessing.LabelBinarizer."
    )

    def link(self, raw):
        return softmax(raw, axis=1)

    def _per_sample_loss(self, y_true, raw):
        m = raw.max(axis=1, keepdims=True)
        lse = np.log(np.exp(raw - m).sum(axis=1)) + m[:, 0]
        return lse - np.einsum("ij,ij->i", y_true, raw)

    def _per_sample_loss_gradient(self, y_true, raw, out):
        m = raw.max(axis=1, keepdims=True)
        np.subtract(raw, m, out=out)
        np.exp(out, out=out)
        row_sum = out.sum(axis=1, keepdims=True)
        per_sample = np.log(row_sum[:, 0]) + m[:, 0] - np.einsum("ij,ij->i", y_true, raw)
        out /= row_sum
        out -= y_true
        return per_sample


def _weighted_mean(values, weights):
    if weights is None:
        return values.mean()
    return np.dot(weights, values) / weights.sum()


def _scale_rows(out, weights, factor):
    """out[i] *= factor * w_i / sum(w) (or factor / n_samples without weights), in place."""
    if weights is None:
        out *= factor / out.shape[0]
    else:
        out *= (weights * (factor / weights.sum()))[:, None]


LOSSES = {
    cls.__name__: cls for cls in (MeanSquaredError, BinaryCrossEntropy, SoftmaxCrossEntropy)
}
