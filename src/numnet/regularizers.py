"""Weight penalties: L1, L2 and the elastic net, with their gradients and proximal operators.

A regularizer acts on the penalised parameters only, the weights and never the biases; in a
:class:`numnet.Sequential` they are the contiguous slice ``net.penalized``. The objective is
``mean loss + penalty(w)``.

All three are one parameterisation, scikit-learn's ``ElasticNet``, with a = alpha, r = l1_ratio::

    penalty(w)   = a * r * sum(|w|) + 0.5 * a * (1 - r) * sum(w**2)
    gradient(w)  = a * r * sign(w) + a * (1 - r) * w            (subgradient 0 at w = 0)
    prox(w, t)   = soft_threshold(w, t * a * r) / (1 + t * a * (1 - r))
    soft_threshold(w, k) = sign(w) * max(|w| - k, 0)

``L1(alpha)`` is r = 1 and ``L2(alpha)`` is r = 0. ``prox`` solves
``argmin_v penalty(v) + ||v - w||**2 / (2 t)`` exactly, so proximal gradient descent
(gradient step on the loss, then prox) sets weights to exactly zero.
"""

import numpy as np

from ._validation import check_float


class Regularizer:
    """Elastic-net family penalty ``a * r * ||w||_1 + 0.5 * a * (1 - r) * ||w||_2**2``.

    Parameters
    ----------
    alpha : float
        Overall strength a. Must be >= 0.
    l1_ratio : float
        Share r of the L1 term. Must be in [0, 1].
    """

    def __init__(self, alpha, l1_ratio):
        self.alpha = check_float(alpha, "alpha", min_value=0)
        self.l1_ratio = check_float(l1_ratio, "l1_ratio", min_value=0, max_value=1)

    @property
    def l1(self):
        """Coefficient of ``sum(|w|)``: alpha * l1_ratio."""
        return self.alpha * self.l1_ratio

    @property
    def l2(self):
        """Coefficient of ``0.5 * sum(w**2)``: alpha * (1 - l1_ratio)."""
        return self.alpha * (1.0 - self.l1_ratio)

    def penalty(self, w):
        """Value of the penalty for the weights ``w`` (any shape)."""
        value = 0.0
        if self.l1:
            value += self.l1 * float(np.sum(np.abs(w, out=self._scratch(w))))
        if self.l2:
            flat = w.reshape(-1)
            value += 0.5 * self.l2 * float(np.dot(flat, flat))
        return value

    def gradient(self, w, *, out):
        """Add the (sub)gradient of the penalty at ``w`` to ``out`` in place (``out += ...``)."""
        scratch = self._scratch(w)
        if self.l2:
            np.multiply(w, w.dtype.type(self.l2), out=scratch)
            out += scratch
        if self.l1:
            np.sign(w, out=scratch)
            scratch *= w.dtype.type(self.l1)
            out += scratch
        return out

    def prox(self, w, step):
        """Apply the proximal operator of ``step * penalty`` to ``w`` in place."""
        if self.l1:
            threshold = w.dtype.type(step * self.l1)
            # sign(w) * max(|w| - k, 0) == w - clip(w, -k, k): exact zeros, no temporary.
            w -= np.clip(w, -threshold, threshold, out=self._scratch(w))
        if self.l2:
            w /= w.dtype.type(1.0 + step * self.l2)
        return w

    def _scratch(self, like):
        """A reusable work array, so the training loop allocates nothing per batch."""
        buf = self.__dict__.get("_scratch_buffer")
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._scratch_buffer = np.empty_like(like)
        return buf

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_scratch_buffer", None)
        return state

    def get_config(self):
        """Constructor arguments as plain data."""
        return {"alpha": self.alpha, "l1_ratio": self.l1_ratio}

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha!r}, l1_ratio={self.l1_ratio!r})"


class ElasticNet(Regularizer):
    """Elastic-net penalty ``alpha * l1_ratio * ||w||_1 + 0.5 * alpha * (1 - l1_ratio) * ||w||^2``.

    Parameters
    ----------
    alpha : float
        Overall strength. Must be >= 0.
    l1_ratio : float, default=0.5
        Mix between L1 (1) and L2 (0), as in ``sklearn.linear_model.ElasticNet``.

    Examples
    --------
    >>> ElasticNet(alpha=2.0, l1_ratio=0.5).penalty(np.array([1.0, -2.0]))
    5.5
    """

    def __init__(self, alpha, l1_ratio=0.5):
        super().__init__(alpha, l1_ratio)


class L1(Regularizer):
    """Lasso penalty ``alpha * sum(|w|)``; subgradient ``alpha * sign(w)``; prox: soft-threshold.

    Examples
    --------
    >>> w = np.array([0.5, -0.05, 2.0])
    >>> L1(alpha=1.0).prox(w, step=0.1)
    array([0.4, 0. , 1.9])
    """

    def __init__(self, alpha):
        super().__init__(alpha, 1.0)

    def get_config(self):
        return {"alpha": self.alpha}

    def __repr__(self):
        return f"L1(alpha={self.alpha!r})"


class L2(Regularizer):
    """Ridge penalty ``0.5 * alpha * sum(w**2)``; gradient ``alpha * w``.

    Notes
    -----
    The 0.5 factor makes the gradient ``alpha * w``. scikit-learn's MLP adds
    ``0.5 * alpha_sk * ||W||^2 / batch_size`` to its batch loss, so with the same data loss
    ``alpha = alpha_sk / batch_size`` here (for regression scikit-learn's loss is half the mean
    squared error, so ``alpha = 2 * alpha_sk / batch_size`` next to MeanSquaredError);
    PyTorch's ``weight_decay=wd`` adds ``wd * w`` to the gradient, so ``alpha = wd``.

    Examples
    --------
    >>> L2(alpha=0.1).penalty(np.array([3.0, 4.0]))
    1.25
    """

    def __init__(self, alpha):
        super().__init__(alpha, 0.0)

    def get_config(self):
        return {"alpha": self.alpha}

    def __repr__(self):
        return f"L2(alpha={self.alpha!r})"


REGULARIZERS = {cls.__name__: cls for cls in (L1, L2, ElasticNet)}
