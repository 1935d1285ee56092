"""Layers: the dense (fully connected) layer, activations and dropout.

Every layer maps a batch of shape (n_samples, n_in) to (n_samples, n_out) and follows one
contract (STYLE.md section 2):

- ``forward(X, *, training=False)`` returns the output and caches what ``backward`` needs;
- ``backward(dY, *, input_grad=True)`` takes dL/dY, **overwrites** dL/dparams in ``self.grads``
  and returns dL/dX (``None`` when ``input_grad=False``, an option the training loop uses for the
  first layer, whose input gradient nobody needs). A layer with parameters may also take
  ``params_grad=False`` (as :class:`Dense` does): it then leaves ``self.grads`` untouched and only
  returns dL/dX, for explanations, which need nothing else.

Parameters are not owned by layers: :class:`numnet.Sequential` allocates one flat parameter
vector and one flat gradient vector and hands each layer named views into them via ``bind``.

Model files name a layer by its class; :func:`register_layer` puts a class in :data:`LAYERS`, the
only classes a file can name (numnet's own register themselves, a user's own layer with the
decorator), so loading a file never runs code.
"""

import numpy as np

from ._validation import check_bool, check_float, check_int, check_option, issparse
from .functional import sigmoid, softmax
from .initializers import INITIALIZERS

LAYERS = {}
"""The layer classes a model file may name, by class name (:func:`register_layer` adds to it)."""


def register_layer(cls):
    """Let model files name the Layer subclass ``cls``; returns ``cls`` (a class decorator).

    A model file stores each layer as its class name and :meth:`Layer.get_config`, and
    loading rebuilds it as ``cls(**config)``, looking the name up among the registered
    classes only: a file never runs code. numnet's own layers are registered when imported;
    register a layer of your own before saving or loading a network that holds it::

        @numnet.register_layer
        class Swish(numnet.Layer):
            ...

    Registering the same class again (a module imported twice) does nothing.

    Raises
    ------
    TypeError
        When ``cls`` is not a subclass of :class:`Layer`.
    ValueError
        When another class of the same name is registered already.
    """
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register_layer takes a subclass of numnet.Layer, got {cls!r}.")
    name, known = cls.__name__, LAYERS.get(cls.__name__)
    if known is not None and _qualified(known) != _qualified(cls):
        raise ValueError(
            f"layer class name {name!r} must be unique among registered layers, got "
            f"{_qualified(cls)} while {_qualified(known)} is registered. Rename the class: a "
            "model file names a layer by its class name."
        )
    LAYERS[name] = cls
    return cls


def is_registered(cls):
    """Whether model files can hold layers of ``cls``: its name is registered, for it."""
    known = LAYERS.get(cls.__name__)
    return known is not None and _qualified(known) == _qualified(cls)


def _qualified(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


_UNREGISTERED = ("A layer of your own must be registered (numnet.register_layer) before a "
                 "file holding it is saved or loaded.")


class Layer:
    """Base class: a map from (n_samples, n_in) to (n_samples, n_out).

    A subclass that model files should hold is registered with :func:`register_layer`.

    Attributes
    ----------
    penalized : tuple of str
        Names of the parameters a weight penalty applies to (weights, never biases).
    preferred_init : str
        The initialiser a :class:`Dense` layer with ``init="auto"`` uses when this layer
        follows it.
    """

    penalized = ()
    preferred_init = "glorot_uniform"
    _cache = ("_X", "_Y", "_mask")  # what forward keeps for backward (clear_cache drops it)
    _work = ("params", "grads", "_buffers", "_zeros")  # views and work arrays, rebuilt on use
    _in_place = False  # Sequential.forward may apply it in place to a Dense layer's new output

    def param_shapes(self, n_in):
        """Shapes of the parameters this layer needs for inputs of width ``n_in``."""
        return {}

    def output_dim(self, n_in):
        """Width of the output for inputs of width ``n_in``."""
        return n_in

    def bind(self, params, grads):
        """Receive views into the network's flat parameter and gradient vectors.

        The views share memory with ``Sequential.params``/``grads``: never rebind them, write
        into them (``out=``, ``[...] =``).
        """
        self.params, self.grads = params, grads

    def reset_parameters(self, rng):
        """Initialise ``self.params`` in place; layers with randomness also reseed from ``rng``."""

    def forward(self, X, *, training=False):
        """Compute the output for X of shape (n_samples, n_in) and cache what backward needs."""
        raise NotImplementedError

    def backward(self, dY, *, input_grad=True, params_grad=True):
        """Given dY = dL/dY, overwrite dL/dparams in ``self.grads`` and return dL/dX.

        With ``params_grad=False``, ``self.grads`` is left as it was (optional for a subclass:
        :meth:`numnet.Sequential.backward` passes it only to a ``backward`` that takes it).

        The returned array may be a buffer owned by the layer that the next call overwrites;
        copy it to keep it.
        """
        raise NotImplementedError

    def get_config(self):
        """Constructor arguments that rebuild this layer (used by model files)."""
        return {}

    def get_rng_state(self):
        """State of the layer's random generator (None for layers without randomness)."""
        return None

    def clear_cache(self):
        """Drop what forward cached for backward (the names in ``_cache``) to free memory."""
        for key in self._cache:
            self.__dict__.pop(key, None)

    def set_rng_state(self, state):
        """Restore what :meth:`get_rng_state` returned."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def _buffer(self, name, shape, dtype):
        """A reusable work array, so the training loop allocates nothing per batch.

        Kept per name, trailing dimensions and dtype, with room for the most rows asked for so
        far; the first ``shape[0]`` rows are returned (a contiguous view), so batches whose
        size changes from step to step (Poisson sampling, a last short batch) reuse it too.
        """
        try:
            buffers = self._buffers
        except AttributeError:
            buffers = self._buffers = {}
        key = (name, shape[1:], dtype)
        buf = buffers.get(key)
        if buf is None or buf.shape[0] < shape[0]:
            if buf is None and len(buffers) >= 8:  # e.g. many widths in a row: start afresh
                buffers.clear()
            buf = buffers[key] = np.empty(shape, dtype=dtype)
        return buf[:shape[0]]

    def __getstate__(self):
        # Views into the network's vectors, caches and buffers are rebuilt, never pickled.
        state = self.__dict__.copy()
        for key in (*self._work, *self._cache):
            state.pop(key, None)
        return state


@register_layer
class Dense(Layer):
    """Fully connected layer: an affine map applied to each sample.

    Forward, for a batch X of shape (n_samples, n_in)::

        Z = X @ W + b              W: (n_in, n_out)   b: (n_out,)   Z: (n_samples, n_out)

    Backward, given dZ = dL/dZ of shape (n_samples, n_out)::

        dW = X.T @ dZ              db = dZ.sum(axis=0)              dX = dZ @ W.T

    X may be a scipy.sparse CSR/CSC matrix: ``X @ W`` and ``X.T @ dZ`` then run on its
    nonzeros and X is never densified (dX is dense, as dL/dX is for any X).

    Parameters
    ----------
    n_out : int
        Number of output units. Must be >= 1.
    init : {"auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros"}, \
default="auto"
        How W is initialised; b starts at zero. ``"auto"`` uses He initialisation when a ReLU or
        LeakyReLU follows the layer and Glorot otherwise.
    bias : bool, default=True
        Whether the layer has the bias b (``Z = X @ W`` without it).

    Examples
    --------
    >>> from numnet import Sequential, ReLU
    >>> net = Sequential([Dense(4), ReLU(), Dense(1)]).build(3, random_state=0)
    >>> net.forward(np.ones((2, 3))).shape
    (2, 1)
    """

    penalized = ("W",)

    def __init__(self, n_out, *, init="auto", bias=True):
        self.n_out = check_int(n_out, "n_out", min_value=1)
        self.init = check_option(init, "init", {"auto", *INITIALIZERS})
        self.bias = check_bool(bias, "bias")
        self.resolved_init = "glorot_uniform" if init == "auto" else init

    def param_shapes(self, n_in):
        shapes = {"W": (n_in, self.n_out)}
        if self.bias:
            shapes["b"] = (self.n_out,)
        return shapes

    def output_dim(self, n_in):
        return self.n_out

    def reset_parameters(self, rng):
        INITIALIZERS[self.resolved_init](self.params["W"], rng)
        if self.bias:
            self.params["b"][...] = 0

    def forward(self, X, *, training=False):
        W = self.params["W"]
        if X.ndim != 2 or X.shape[1] != W.shape[0]:
            raise ValueError(
                f"X must have shape (n_samples, {W.shape[0]}) for this Dense layer, "
                f"got {X.shape}."
            )
        self._X = X
        if type(X) is not np.ndarray and issparse(X):
            Z = np.asarray(X @ W)  # sparse @ dense: a dense C-ordered result, X never densified
        elif training:
            Z = np.matmul(X, W, out=self._buffer("Z", (X.shape[0], self.n_out), W.dtype))
        else:
            Z = X @ W
        if self.bias:
            Z += self.params["b"]
        return Z

    def backward(self, dY, *, input_grad=True, params_grad=True):
        # The gradient views are written in place: the network's flat grads change with them.
        if not params_grad:
            pass  # only dL/dX is wanted (explanations): grads stay as they were
        elif type(self._X) is not np.ndarray and issparse(self._X):
            self.grads["W"][...] = self._X.T @ dY  # CSR.T is CSC: one pass over the nonzeros
        else:
            np.matmul(self._X.T, dY, out=self.grads["W"])
        if self.bias and params_grad:
            np.add.reduce(dY, axis=0, out=self.grads["b"])  # dY.sum(axis=0), no wrapper
        if not input_grad:
            return None
        W = self.params["W"]
        return np.matmul(dY, W.T, out=self._buffer("dX", (dY.shape[0], W.shape[0]), W.dtype))

    def get_config(self):
        return {"n_out": self.n_out, "init": self.init, "bias": self.bias}


class Activation(Layer):
    """Base class for element-wise (or row-wise) activations ``Y = f(X)``.

    Activations cache their output Y and express the derivative through it, as scikit-learn's
    MLP does; no parameters.
    """

    def forward(self, X, *, training=False):
        out = self._buffer("Y", X.shape, X.dtype) if training else np.empty_like(X)
        self._Y = self._apply(X, out)
        return self._Y

    def _forward_in_place(self, X):
        """``forward(X)`` outside training, written into X (only where ``_in_place``)."""
        self._Y = self._apply(X, X)
        return self._Y

    def backward(self, dY, *, input_grad=True):
        if not input_grad:
            return None
        return self._derivative(self._Y, dY, self._buffer("dX", dY.shape, dY.dtype))

    def _apply(self, X, out):
        raise NotImplementedError

    def _derivative(self, Y, dY, out):
        raise NotImplementedError


@register_layer
class Identity(Activation):
    """Identity activation, ``Y = X``; backward ``dX = dY``.

    Shapes: X, Y, dY and dX are all (n_samples, n_features).
    """

    def forward(self, X, *, training=False):
        return X

    def backward(self, dY, *, input_grad=True):
        return dY if input_grad else None


@register_layer
class ReLU(Activation):
    """Rectified linear unit.

    Forward and backward, element-wise on (n_samples, n_features)::

        Y = max(X, 0)
        dX = dY * (Y > 0)          (the derivative at X = 0 is taken as 0)
    """

    preferred_init = "he_uniform"
    _in_place = True  # max(x, 0) element by element: out may be X itself

    def _apply(self, X, out):
        # Against a row of zeros (broadcast) np.maximum runs its vectorised loop; against the
        # scalar 0 it takes a slower one (65 vs 31 us at 256 x 512 float32, NumPy 2.4).
        zeros = self.__dict__.get("_zeros")
        if zeros is None or zeros.shape != X.shape[1:] or zeros.dtype != X.dtype:
            zeros = self._zeros = np.zeros(X.shape[1:], dtype=X.dtype)
        return np.maximum(X, zeros, out=out)

    def _derivative(self, Y, dY, out):
        # A boolean mask and one multiply: 48 us at 256 x 512 float32, against 82 us for
        # sign(Y) * dY (np.sign is not vectorised). The mask buffer is reused, no temporary.
        mask = np.greater(Y, 0, out=self._buffer("mask", Y.shape, np.bool_))
        return np.multiply(dY, mask, out=out)


@register_layer
class LeakyReLU(Activation):
    """Leaky rectified linear unit.

    Forward and backward, element-wise on (n_samples, n_features), with a = negative_slope::

        Y = X if X > 0 else a * X
        dX = dY if Y > 0 else a * dY

    Parameters
    ----------
    negative_slope : float, default=0.01
        Slope a for negative inputs. Must be >= 0 (so that Y > 0 exactly when X > 0).
    """

    preferred_init = "he_uniform"

    def __init__(self, negative_slope=0.01):
        self.negative_slope = check_float(negative_slope, "negative_slope", min_value=0)

    def _apply(self, X, out):
        np.multiply(X, self.negative_slope, out=out)
        # Y = max(X, a X) only while a <= 1; for a steeper slope the branch is min(X, a X).
        pick = np.maximum if self.negative_slope <= 1 else np.minimum
        return pick(X, out, out=out)

    def _derivative(self, Y, dY, out):
        np.multiply(dY, self.negative_slope, out=out)
        np.copyto(out, dY, where=Y > 0)
        return out

    def get_config(self):
        return {"negative_slope": self.negative_slope}


@register_layer
class Sigmoid(Activation):
    """Logistic sigmoid.

    Forward and backward, element-wise on (n_samples, n_features)::

        Y = 1 / (1 + exp(-X))      (scipy.special.expit: no overflow)
        dX = dY * Y * (1 - Y)
    """

    def _apply(self, X, out):
        return sigmoid(X, out=out)

    def _derivative(self, Y, dY, out):
        np.subtract(1, Y, out=out)
        out *= Y
        out *= dY
        return out


@register_layer
class Tanh(Activation):
    """Hyperbolic tangent.

    Forward and backward, element-wise on (n_samples, n_features)::

        Y = tanh(X)
        dX = dY * (1 - Y**2)
    """

    def _apply(self, X, out):
        return np.tanh(X, out=out)

    def _derivative(self, Y, dY, out):
        np.multiply(Y, Y, out=out)
        np.subtract(1, out, out=out)
        out *= dY
        return out


@register_layer
class Softmax(Activation):
    """Softmax over each row.

    Forward, for X of shape (n_samples, n_classes)::

        Y[i, j] = exp(X[i, j]) / sum_k exp(X[i, k])       (shifted by the row max: no overflow)

    Backward: the full Jacobian-vector product (the Jacobian of row i is diag(y) - y y^T)::

        dX = Y * (dY - sum(dY * Y, axis=1, keepdims=True))

    Notes
    -----
    For training a classifier, prefer a linear output with
    :class:`numnet.losses.SoftmaxCrossEntropy`: the fused gradient ``p - y`` is cheaper and
    more accurate than this layer followed by a log-loss.
    """

    def _apply(self, X, out):
        return softmax(X, axis=1, out=out)

    def _derivative(self, Y, dY, out):
        row_dot = np.einsum("ij,ij->i", dY, Y)[:, None]
        np.subtract(dY, row_dot, out=out)
        out *= Y
        return out


@register_layer
class Dropout(Layer):
    """Inverted dropout: zero each input with probability ``rate`` during training.

    Forward, with M a fresh mask of shape (n_samples, n_features), M[i, j] ~ Bernoulli(1 - rate)::

        training:   Y = X * M / (1 - rate)
        inference:  Y = X

    Backward (training)::

        dX = dY * M / (1 - rate)

    Scaling by 1 / (1 - rate) at training time keeps the expected activation unchanged, so
    inference needs no rescaling.

    Parameters
    ----------
    rate : float, default=0.5
        Probability of dropping a unit. Must be in [0, 1).

    Notes
    -----
    The mask comes from a generator the network seeds at ``build(random_state=...)``, so
    training with dropout is reproducible.
    """

    def __init__(self, rate=0.5):
        self.rate = check_float(rate, "rate", min_value=0, max_value=1, include_max=False)
        self._rng = np.random.default_rng()

    def reset_parameters(self, rng):
        self._rng = rng.spawn(1)[0]

    def get_rng_state(self):
        return self._rng.bit_generator.state

    def set_rng_state(self, state):
        self._rng.bit_generator.state = state

    def forward(self, X, *, training=False):
        if not training or self.rate == 0:
            self._mask = None
            return X
        mask = self._buffer("mask", X.shape, X.dtype)
        self._rng.random(out=mask, dtype=mask.dtype)
        # mask <- (u >= rate) / (1 - rate), without a boolean temporary
        np.greater_equal(mask, self.rate, out=mask)
        mask *= 1.0 / (1.0 - self.rate)
        self._mask = mask
        return np.multiply(X, mask, out=self._buffer("Y", X.shape, X.dtype))

    def backward(self, dY, *, input_grad=True):
        if not input_grad:
            return None
        if self._mask is None:
            return dY
        return np.multiply(dY, self._mask, out=self._buffer("dX", dY.shape, dY.dtype))

    def get_config(self):
        return {"rate": self.rate}


ACTIVATIONS = {
    "identity": Identity,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
}
