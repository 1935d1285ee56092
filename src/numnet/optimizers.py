"""Optimizers that update the flat parameter vector in place: SGD (momentum, Nesterov), Adam, AdamW.

An optimizer sees two 1-D arrays, ``params`` and ``grads`` (``Sequential.params`` and
``Sequential.grads``); a step is a handful of vectorised in-place operations on them. State
(velocity, moments, step count) is allocated on the first ``step``.
"""

import math

import numpy as np

from . import kernels
from ._validation import check_bool, check_float
from .exceptions import InvalidStateError


class Optimizer:
    """Base class.

    Parameters
    ----------
    learning_rate : float
        Step size. Must be > 0. Schedules change it between epochs through this attribute.
    """

    def __init__(self, learning_rate):
        self.learning_rate = check_float(
            learning_rate, "learning_rate", min_value=0, include_min=False
        )

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``; state is allocated on the first call."""
        raise NotImplementedError

    def reset(self):
        """Forget the state (velocity, moments, step count)."""

    def state_dict(self):
        """State arrays and counters, for checkpoints."""
        return {}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""

    def _set_state(self, state):
        """Restore a state this run computed itself, without :meth:`load_state_dict`'s checks.

        (A data-parallel run's workers send theirs back; it may hold what a run can reach, an
        overflowed moment for instance, which a checkpoint file must not.)
        """
        self.load_state_dict(state)

    def get_config(self):
        """Constructor arguments as plain data."""
        return {"learning_rate": self.learning_rate}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def _scratch(self, like):
        buf = getattr(self, "_scratch_buffer", None)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._scratch_buffer = np.empty_like(like)
        return buf


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as in PyTorch.

    Update, for step size lr, momentum mu, gradient g and velocity v (v = 0 at the start)::

        plain (mu = 0):    params -= lr * g
        momentum:          v = mu * v + g;  params -= lr * v
        Nesterov:          v = mu * v + g;  params -= lr * (g + mu * v)

    Parameters
    ----------
    learning_rate : float, default=0.01
    momentum : float, default=0.0
        Must be in [0, 1).
    nesterov : bool, default=False
        Requires momentum > 0.

    Notes
    -----
    This is PyTorch's ``torch.optim.SGD`` with ``dampening=0``: for a constant learning rate the
    trajectories are identical. scikit-learn and Sutskever et al. keep ``v = mu*v - lr*g``
    instead; the two agree while the learning rate is constant and differ when it changes.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = check_float(momentum, "momentum", min_value=0, max_value=1,
                                    include_max=False)
        self.nesterov = check_bool(nesterov, "nesterov")
        if self.nesterov and self.momentum == 0:
            raise ValueError("momentum must be > 0 when nesterov=True, got 0.0.")
        self.velocity = None

    def step(self, params, grads):
        lr, mu = self.learning_rate, self.momentum
        scratch = self._scratch(params)
        if mu == 0:
            np.multiply(grads, lr, out=scratch)
            params -= scratch
            return
        if self.velocity is None:
            self.velocity = np.zeros_like(params)
        v = self.velocity
        v *= mu
        v += grads
        if self.nesterov:
            np.multiply(v, mu, out=scratch)
            scratch += grads
            scratch *= lr
        else:
            np.multiply(v, lr, out=scratch)
        params -= scratch

    def reset(self):
        self.velocity = None

    def state_dict(self):
        return {} if self.velocity is None else {"velocity": self.velocity.copy()}

    def load_state_dict(self, state):
        self.velocity = state["velocity"].copy() if "velocity" in state else None

    def get_config(self):
        return {"learning_rate": self.learning_rate, "momentum": self.momentum,
                "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), in the paper's form, as PyTorch's ``torch.optim.Adam``.

    Update at step t = 1, 2, ... for gradient g (m = v = 0 at the start)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        params -= lr * m_hat / (sqrt(v_hat) + epsilon)

    Parameters
    ----------
    learning_rate : float, default=0.001
    beta1 : float, default=0.9
        Must be in [0, 1).
    beta2 : float, default=0.999
        Must be in [0, 1).
    epsilon : float, default=1e-8
        Must be > 0.

    Notes
    -----
    epsilon is added to ``sqrt(v_hat)`` (paper, PyTorch, Keras). scikit-learn's MLP adds it to
    ``sqrt(v)`` before the bias correction, i.e. its epsilon is larger by a factor
    ``1 / sqrt(1 - beta2**t)`` early on; trajectories agree only approximately.

    The same numbers are computed with fewer passes over the parameters: the state is kept as
    the sums ``M = m / (1 - beta1)`` and ``V = v / (1 - beta2)``, so that with
    ``c1 = 1 - beta1**t``, ``c2 = 1 - beta2**t`` and ``k = sqrt(c2 / (1 - beta2))``::

        M = beta1 * M + g
        V = beta2 * V + g**2
        params -= (lr * (1 - beta1) / c1 * k) * M / (sqrt(V) + epsilon * k)

    (10 in-place array operations per step instead of 12; ``m`` and ``v`` are available as
    attributes.) With numba installed (the ``fast`` extra) and at least 65,536 parameters, the
    same update runs as one compiled pass over the vectors, bit for bit the same
    (:func:`numnet.kernels.adam_step`).

    References
    ----------
    D. P. Kingma, J. Ba. Adam: A Method for Stochastic Optimization. ICLR 2015,
    arXiv:1412.6980.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(learning_rate)
        self.beta1 = check_float(beta1, "beta1", min_value=0, max_value=1, include_max=False)
        self.beta2 = check_float(beta2, "beta2", min_value=0, max_value=1, include_max=False)
        self.epsilon = check_float(epsilon, "epsilon", min_value=0, include_min=False)
        self.reset()

    def reset(self):
        self.t = 0
        self._m_sum = self._v_sum = None

    @property
    def m(self):
        """First moment estimate m (a copy; None before the first step)."""
        return None if self._m_sum is None else self._m_sum * (1 - self.beta1)

    @property
    def v(self):
        """Second moment estimate v (a copy; None before the first step)."""
        return None if self._v_sum is None else self._v_sum * (1 - self.beta2)

    def step(self, params, grads):
        if self._m_sum is None:
            self._m_sum, self._v_sum = np.zeros_like(params), np.zeros_like(params)
        self._decay(params)
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        c1, c2 = 1.0 - b1 ** self.t, 1.0 - b2 ** self.t
        k = math.sqrt(c2 / (1.0 - b2))
        dtype = params.dtype.type
        step_size = dtype(self.learning_rate * (1.0 - b1) / c1 * k)
        eps_hat, b1, b2 = dtype(self.epsilon * k), dtype(b1), dtype(b2)
        M, V = self._m_sum, self._v_sum
        if kernels.adam_step(params, grads, M, V, b1, b2, step_size, eps_hat):
            return  # the same update in one compiled pass (numnet.kernels)
        s = self._scratch(params)
        # Every operation writes into M, V or the scratch buffer: no temporaries per step.
        # (Chunking the loop to stay in cache was measured slower: the per-call overhead of
        # ~500 small ufunc calls outweighs the memory traffic saved at 670k parameters.)
        M *= b1                             # M = b1 M + g
        M += grads
        V *= b2                             # V = b2 V + g^2
        np.multiply(grads, grads, out=s)
        V += s
        np.sqrt(V, out=s)                   # s = step_size * M / (sqrt(V) + eps_hat)
        s += eps_hat
        np.divide(M, s, out=s)
        s *= step_size
        params -= s

    def _decay(self, params):
        """Decoupled weight decay hook (AdamW); plain Adam has none."""

    def state_dict(self):
        if self._m_sum is None:
            return {"t": self.t}
        return {"t": self.t, "m_sum": self._m_sum.copy(), "v_sum": self._v_sum.copy()}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned; InvalidStateError if no run wrote it.

        A run writes a step count t in [0, 2**53], both moment sums or neither (none before the
        first step), finite sums and a second-moment sum ``V >= 0`` (it adds squares).
        """
        t = state["t"]
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= t <= 2**53:
            raise InvalidStateError(f"Adam's step count t must be an integer in [0, 2**53], "
                                    f"got {t!r:.50}")
        moments = [state.get("m_sum"), state.get("v_sum")]
        if (moments[0] is None) != (moments[1] is None) or (moments[0] is None) != (t == 0):
            raise InvalidStateError(f"Adam's moment sums must both be present after a step and "
                                    f"absent before it, got t={t} with "
                                    f"{sum(m is not None for m in moments)} of them")
        if moments[0] is not None:
            if not all(np.all(np.isfinite(m)) for m in moments):
                raise InvalidStateError("Adam's moment sums must be finite")
            if np.any(moments[1] < 0):
                raise InvalidStateError("Adam's second-moment sum V must be >= 0 (a sum of "
                                        f"squares), got {float(moments[1].min())!r}")
        self._set_state(state)

    def _set_state(self, state):
        self.t = int(state["t"])
        self._m_sum = None if state.get("m_sum") is None else state["m_sum"].copy()
        self._v_sum = None if state.get("v_sum") is None else state["v_sum"].copy()

    def get_config(self):
        return {"learning_rate": self.learning_rate, "beta1": self.beta1, "beta2": self.beta2,
                "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Update: first ``params *= 1 - lr * weight_decay``, then the :class:`Adam` step.

    Parameters
    ----------
    learning_rate : float, default=0.001
    beta1, beta2, epsilon : float
        As in :class:`Adam`.
    weight_decay : float, default=0.01
        Must be >= 0. Applied to every entry of ``params`` it is given, as PyTorch does.

    References
    ----------
    I. Loshchilov, F. Hutter. Decoupled Weight Decay Regularization. ICLR 2019,
    arXiv:1711.05101.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 weight_decay=0.01):
        super().__init__(learning_rate, beta1, beta2, epsilon)
        self.weight_decay = check_float(weight_decay, "weight_decay", min_value=0)

    def _decay(self, params):
        if self.weight_decay:
            params *= params.dtype.type(1.0 - self.learning_rate * self.weight_decay)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


def clip_grad_norm(grads, max_norm):
    """Scale ``grads`` in place so that its Euclidean norm is at most ``max_norm``.

    ``g = g * min(1, max_norm / ||g||)``; one norm over the whole flat gradient vector.

    Returns
    -------
    float
        The norm before clipping.

    Examples
    --------
    >>> g = np.array([3.0, 4.0])
    >>> clip_grad_norm(g, 1.0), g
    (5.0, array([0.6, 0.8]))
    """
    max_norm = check_float(max_norm, "max_norm", min_value=0, include_min=False)
    with np.errstate(over="ignore", invalid="ignore"):
        norm = float(np.sqrt(np.dot(grads, grads)))
    if not np.isfinite(norm):
        # The sum of squares overflowed (e.g. float32 entries near 1e20): rescale by the
        # largest entry first. If an entry itself is inf or nan there is nothing to clip.
        largest = float(np.max(np.abs(grads)))
        if not np.isfinite(largest):
            return largest
        scaled = grads / grads.dtype.type(largest)
        norm = largest * float(np.sqrt(np.dot(scaled, scaled)))
    if norm > max_norm:
        grads *= grads.dtype.type(max_norm / norm)
    return norm


OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Adam, AdamW)}
