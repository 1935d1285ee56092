"""Every number of one forward and backward pass, layer by layer: :func:`trace`."""

import copy
from dataclasses import dataclass, field

import numpy as np

from .._labels import UNSEEN_Y, LabelCodec
from ..losses import Loss
from ..network import Sequential
from .formulas import formulas


@dataclass
class LayerTrace:
    """One layer's numbers: what went in and out, forward and backward.

    For a Dense layer ``input`` is a, ``output`` is z = a @ W + b and ``grad_output`` is
    δ = ∂L/∂z; for an activation ``input`` is z, ``output`` is a = f(z) and ``grad_input`` is
    δ of the Dense layer below. The gradients are None in a forward-only trace.
    """

    index: int
    layer: str
    kind: str
    forward: list
    backward: list
    input: np.ndarray
    output: np.ndarray
    params: dict = field(default_factory=dict)
    grad_output: np.ndarray | None = None
    grad_input: np.ndarray | None = None
    grads: dict = field(default_factory=dict)

    def to_dict(self):
        """Plain data: lists and floats."""
        def plain(value):
            return None if value is None else np.asarray(value, dtype=np.float64).tolist()

        return {"index": self.index, "layer": self.layer, "kind": self.kind,
                "forward": list(self.forward), "backward": list(self.backward),
                "input": plain(self.input), "output": plain(self.output),
                "params": {k: plain(v) for k, v in self.params.items()},
                "grad_output": plain(self.grad_output), "grad_input": plain(self.grad_input),
                "grads": {k: plain(v) for k, v in self.grads.items()}}


class Trace:
    """What :func:`trace` records: per layer in order, the loss, and the input's preprocessing.

    Attributes
    ----------
    layers : list of LayerTrace
    x : ndarray of shape (n_samples, n_in)
        The network's input.
    raw : ndarray of shape (n_samples, n_out)
        The network's output (logits for a classifier).
    y : ndarray or None
        The target in the loss's format (one-hot, 0/1 or values), or None.
    loss : float or None
        The loss at ``raw`` (the mean over the samples); None without ``y``.
    loss_name : str or None
    loss_forward, loss_backward : list of str
        The loss's formulas, from its docstring.
    grad_raw : ndarray or None
        ∂L/∂raw, the gradient the backward pass starts from.
    preprocessing : list of dict or None
        For a row of a table (``numnet trace MODEL DATA``): each column's raw value, the value
        after imputation and its encoding.
    """

    def __init__(self, net, loss, x, y, *, preprocessing=None):
        self._net, self._loss = net, loss
        self.x, self.y, self.preprocessing = x, y, preprocessing
        self.loss_name = None if loss is None else type(loss).__name__
        self.loss_forward, self.loss_backward = formulas(loss) if loss is not None else ([], [])
        self._record()

    def _record(self):
        net, X = self._net, self.x
        self.layers = []
        for index, layer in enumerate(net.layers):
            Y = layer.forward(X)
            forward, backward = formulas(layer)
            self.layers.append(LayerTrace(
                index=index, layer=repr(layer), kind=type(layer).__name__, forward=forward,
                backward=backward, input=np.array(X, copy=True), output=np.array(Y, copy=True),
                params={k: v.copy() for k, v in layer.params.items()}))
            X = Y
        self.raw = np.array(X, copy=True)
        self.loss = self.grad_raw = self._grads = None
        if self.y is None:
            net.clear_cache()
            return
        self.loss, d_raw = self._loss.loss_gradient(self.y, self.raw)
        self.grad_raw = d_raw.copy()
        dY = d_raw
        for record, layer in zip(reversed(self.layers), reversed(net.layers), strict=True):
            record.grad_output = np.array(dY, copy=True)
            dY = layer.backward(dY)
            record.grad_input = np.array(dY, copy=True)
            record.grads = {k: v.copy() for k, v in layer.grads.items()}
        self._grads = net.grads.copy()
        net.clear_cache()

    @property
    def gradient(self):
        """∂L/∂params as one flat vector, in the order of ``Sequential.params``."""
        return None if self._grads is None else self._grads.copy()

    def step(self, optimizer):
        """One update of a copy of the parameters with (a copy of) ``optimizer``.

        The traced network and the optimizer passed are not changed.

        Returns
        -------
        Step
            Parameters before and after, the gradient, the learning rate, the loss before and
            after, and the trace at the new parameters (``after``).
        """
        if self.loss is None:
            raise ValueError("step needs the target: trace the sample with y to compute the "
                             "loss and its gradient.")
        net = self._net.copy()
        before = net.params.copy()
        grads = self.gradient
        optimizer = copy.deepcopy(optimizer)
        optimizer.step(net.params, grads.copy())
        after = Trace(net, self._loss, self.x, self.y)
        names = [f"{index}.{name}" for index, layer in enumerate(net.layers)
                 for name in layer.params]
        return Step(optimizer=repr(optimizer), learning_rate=float(optimizer.learning_rate),
                    names=names, params_before=_by_name(self._net, before),
                    gradient=_by_name(self._net, grads),
                    params_after=_by_name(net, net.params.copy()),
                    loss_before=self.loss, loss_after=after.loss, after=after)

    def to_dict(self):
        """Plain data (JSON-able): the input, every layer, the output and the loss."""
        def plain(value):
            return None if value is None else np.asarray(value, dtype=np.float64).tolist()

        return {"preprocessing": self.preprocessing, "x": plain(self.x),
                "layers": [record.to_dict() for record in self.layers], "raw": plain(self.raw),
                "y": plain(self.y),
                "loss": None if self.loss is None else {
                    "name": self.loss_name, "value": self.loss, "forward": self.loss_forward,
                    "backward": self.loss_backward, "grad_raw": plain(self.grad_raw)}}

    def format(self, *, lang="en", width=8):
        """The readable table, in English (``"en"``) or Chinese (``"zh"``)."""
        from .render import render_trace

        return render_trace(self, lang=lang, width=width)

    def __str__(self):
        return self.format()

    def __repr__(self):
        loss = "" if self.loss is None else f", {self.loss_name}={self.loss:.6g}"
        return f"<Trace of {len(self.layers)} layers, {self.x.shape[0]} sample(s){loss}>"


def _by_name(net, flat):
    """The entries of a flat parameter-shaped vector as {"0.W": array, ...}."""
    out, offset = {}, 0
    for index, name, shape in net._layout:
        size = int(np.prod(shape))
        out[(index, name)] = flat[offset:offset + size].reshape(shape).copy()
        offset += size
    return {f"{index}.{name}": out[(index, name)]
            for index, layer in enumerate(net.layers) for name in layer.params}


@dataclass
class Step:
    """One optimizer update, as :meth:`Trace.step` shows it."""

    optimizer: str
    learning_rate: float
    names: list
    params_before: dict
    gradient: dict
    params_after: dict
    loss_before: float
    loss_after: float
    after: Trace

    def to_dict(self):
        """Plain data (JSON-able)."""
        def plain(values):
            return {k: np.asarray(v, dtype=np.float64).tolist() for k, v in values.items()}

        return {"optimizer": self.optimizer, "learning_rate": self.learning_rate,
                "params_before": plain(self.params_before), "gradient": plain(self.gradient),
                "params_after": plain(self.params_after), "loss_before": self.loss_before,
                "loss_after": self.loss_after}

    def format(self, *, lang="en", width=8):
        """The readable table of the update."""
        from .render import render_step

        return render_step(self, lang=lang, width=width)

    def __str__(self):
        return self.format()


def trace(net_or_model, x, y=None, *, loss=None):
    """Record every number of one forward (and, with ``y``, backward) pass.

    For each layer in order: its input a, its output (z for a Dense layer, f(z) for an
    activation), its parameters and, given ``y``, δ = ∂L/∂(output), ∂L/∂W, ∂L/∂b and
    ∂L/∂(input), each with the layer's formulas from its docstring; then the loss::

        A_0 = x,   A_k = layer_k(A_{k-1}),   raw = A_K,   L = loss(y, raw)
        dA_K = dL/draw,   dA_{k-1} = layer_k.backward(dA_k)

    The values are those of the network's own ``forward``/``backward`` (inference mode:
    dropout is off), computed on a copy, so the model's parameters, gradients and caches are
    not touched. The gradients are what the training loop's backprop computes on the same
    rows (the penalty of a regularizer is not included).

    Parameters
    ----------
    net_or_model : Sequential or fitted numnet estimator
        For an estimator, the loss it was trained with is used and ``y`` is given as for
        ``fit`` (class labels for a classifier).
    x : array-like of shape (n_features,) or (n_samples, n_features)
        One sample (a 1-D row) or a few.
    y : array-like or None, default=None
        The target: without it the trace stops after the forward pass.
    loss : Loss or None, default=None
        Needed for a Sequential given ``y``; for an estimator, its own loss.

    Returns
    -------
    Trace

    Examples
    --------
    >>> from numnet import Sequential, Dense, ReLU, MeanSquaredError
    >>> net = Sequential([Dense(2), ReLU(), Dense(1)]).build(2, random_state=0)
    >>> t = trace(net, [1.0, -1.0], [0.5], loss=MeanSquaredError())
    >>> [record.kind for record in t.layers]
    ['Dense', 'ReLU', 'Dense']
    >>> bool(np.allclose(t.raw, net.forward(np.array([[1.0, -1.0]]))))
    True
    """
    net, loss, y = _resolve(net_or_model, loss, y)
    x = _rows(x, net)
    if y is not None:
        y = np.asarray(y)
        if y.ndim <= 1 and y.size == x.shape[0] * net.n_out:
            y = y.reshape(x.shape[0], net.n_out)
        y = y.astype(net.dtype)
    return Trace(net.copy(), loss, x, y)


def _resolve(model, loss, y):
    """(network, loss, y in the loss's format) for a Sequential or a fitted estimator."""
    if loss is not None and not isinstance(loss, Loss):
        raise TypeError(f"loss must be a numnet Loss or None, got {type(loss).__name__}.")
    if isinstance(model, Sequential):
        if not model.built:
            raise RuntimeError("Sequential is not built yet; call build(n_in) first (fit() "
                               "does this for you).")
        if y is not None and loss is None:
            raise ValueError("loss must be given to trace a Sequential with y, got None. Pass "
                             "the loss it is trained with, e.g. loss=MeanSquaredError().")
        return model, loss, y
    if not hasattr(model, "fit"):
        raise TypeError("net_or_model must be a numnet Sequential or a fitted numnet "
                        f"estimator, got {type(model).__name__}.")
    if not hasattr(model, "network_"):
        from sklearn.exceptions import NotFittedError  # scikit-learn loads only when needed

        raise NotFittedError(f"This {type(model).__name__} instance is not fitted yet. Call "
                             "'fit' with appropriate arguments before tracing it.")
    if loss is None:
        # The loss the estimator's training loop minimises (before its constant scale).
        loss = model._loss(model.n_outputs_)
    if y is not None:
        y = _encode_target(model, y)
    return model.network_, loss, y


def _encode_target(model, y):
    """``y`` as the estimator's training loop sees it: one-hot, a 0/1 column or values."""
    classes = getattr(model, "classes_", None)
    y = np.asarray(y)
    if classes is None or (model.out_activation_ == "logistic" and model.n_outputs_ > 1):
        return y.reshape(y.shape[0] if y.ndim else 1, -1)  # values or a multilabel matrix
    codec = LabelCodec(classes)
    return codec.targets(codec.index(y, unseen=UNSEEN_Y), np.float64)


def _rows(x, net):
    """The rows x as a C-contiguous 2-D array of the network's dtype, checked."""
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    x = np.asarray(x)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x must be one row (n_features,) or rows (n_samples, n_features), "
                         f"got shape {x.shape}.")
    if x.shape[1] != net.n_in:
        raise ValueError(f"x has {x.shape[1]} features, but this network was built for "
                         f"{net.n_in}.")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"x must be numeric, got dtype {x.dtype}.")
    x = np.ascontiguousarray(x, dtype=net.dtype)
    if not np.all(np.isfinite(x)):
        raise ValueError("x must hold finite numbers, got NaN or infinity.")
    return x
