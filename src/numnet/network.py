"""Sequential: a stack of layers over one flat parameter vector and one flat gradient vector."""

import copy
import functools
import inspect
from collections.abc import Sequence

import numpy as np

from ._validation import check_int, issparse
from .layers import _UNREGISTERED, LAYERS, Dense, Dropout, Layer

_NOT_BUILT = "Sequential is not built yet; call build(n_in) first (fit() does this for you)."



@functools.cache
def _takes_params_grad(cls):
    """Whether ``cls.backward`` takes ``params_grad`` (Dense's does, a user's layer's may not)."""
    return "params_grad" in inspect.signature(cls.backward).parameters


class Sequential:
    """A feed-forward network: the layers applied one after the other.

    Forward and backward, for X of shape (n_samples, n_in)::

        A_0 = X,   A_k = layer_k.forward(A_{k-1}),   output = A_K      (raw: logits, no link)
        dA_K = dL/d(output),   dA_{k-1} = layer_k.backward(dA_k),   returns dA_0 = dL/dX

    ``build`` allocates all trainable parameters in ONE contiguous vector ``params`` and their
    gradients in a second one, ``grads``; each layer receives named views (``W``, ``b``) into
    them. An optimizer step, gradient clipping, an L-BFGS call or an all-reduce is therefore one
    operation on one array, and ``net.params[:] = v`` changes the model.

    The penalised parameters (the weights, never the biases) are laid out first, so
    ``params[:n_penalized]`` is a single contiguous slice that regularizers act on.

    Parameters
    ----------
    layers : sequence of Layer

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        All trainable parameters (after ``build``).
    grads : ndarray of shape (n_params,)
        dL/dparams, overwritten by each ``backward``.
    n_in : int
        Input width the network was built for.
    dtype : numpy.dtype
        Floating-point type of parameters, gradients and outputs.

    Examples
    --------
    >>> from numnet import Dense, ReLU
    >>> net = Sequential([Dense(4), ReLU(), Dense(1)]).build(2, random_state=0)
    >>> net.params.shape, list(net.named_parameters())
    ((17,), ['0.W', '0.b', '2.W', '2.b'])
    >>> net.named_parameters()["0.W"].base is net.params
    True
    """

    def __init__(self, layers: Sequence[Layer]):
        layers = list(layers)
        if not layers:
            raise ValueError("layers must contain at least one layer, got none. Start with e.g. "
                             "[Dense(8), ReLU(), Dense(1)].")
        seen = {}
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layers[{index}] must be a numnet Layer (e.g. Dense(8), ReLU()), "
                    f"got {type(layer).__name__}."
                )
            if id(layer) in seen:
                # A layer caches its input/output and owns its parameter views: one object in
                # two places would overwrite its own cache and share one slot of params.
                raise ValueError(
                    f"layers[{index}] must be a new layer object, got the same object as "
                    f"layers[{seen[id(layer)]}]. Create one instance per position, e.g. "
                    f"{type(layer).__name__}()."
                )
            seen[id(layer)] = index
        self.layers = layers
        self.built = False

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}])"

    def build(self, n_in: int, *, dtype=np.float64, random_state=None) -> "Sequential":
        """Allocate ``params``/``grads``, bind each layer's views and initialise them.

        Parameters
        ----------
        n_in : int
            Number of input features. Must be >= 1.
        dtype : {numpy.float32, numpy.float64}, default=numpy.float64
        random_state : int, numpy.random.Generator or None, default=None
            Seed for the initial weights and for dropout masks.

        Returns
        -------
        self
        """
        n_in = check_int(n_in, "n_in", min_value=1)
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype.name!r}.")
        self.n_in, self.dtype = n_in, dtype

        for index, layer in enumerate(self.layers):
            if getattr(layer, "init", None) == "auto" and hasattr(layer, "resolved_init"):
                # Dense and EnsembleDense: the activation that follows decides, looking past
                # dropout (Dense, Dropout, ReLU still feeds a ReLU).
                following = next((f for f in self.layers[index + 1:]
                                  if not isinstance(f, Dropout)), None)
                layer.resolved_init = (
                    following.preferred_init if following is not None else "glorot_uniform"
                )

        # (layer index, name, shape) for every parameter, penalised ones first.
        width, entries = n_in, []
        for index, layer in enumerate(self.layers):
            for name, shape in layer.param_shapes(width).items():
                entries.append((name not in layer.penalized, index, name, tuple(shape)))
            width = layer.output_dim(width)
        self.n_out = width
        entries.sort(key=lambda e: e[0])  # stable: penalised first, then layer order
        self._layout = [(index, name, shape) for _, index, name, shape in entries]
        self.n_penalized = sum(
            int(np.prod(shape)) for penalized_last, _, _, shape in entries if not penalized_last
        )
        n_params = sum(int(np.prod(shape)) for _, _, shape in self._layout)
        self.params = np.zeros(n_params, dtype=dtype)
        self.grads = np.zeros(n_params, dtype=dtype)
        self._bind()
        self.built = True
        self.reset_parameters(random_state)
        return self

    def _bind(self):
        views = [({}, {}) for _ in self.layers]
        offset = 0
        for index, name, shape in self._layout:
            size = int(np.prod(shape))
            # reshape of a contiguous slice is a view: writing to it writes into params.
            views[index][0][name] = self.params[offset:offset + size].reshape(shape)
            views[index][1][name] = self.grads[offset:offset + size].reshape(shape)
            offset += size
        for layer, (params, grads) in zip(self.layers, views, strict=True):
            layer.bind(params, grads)
        self._first_trainable = next(
            (i for i, layer in enumerate(self.layers) if layer.params), len(self.layers)
        )

    def reset_parameters(self, random_state=None):
        """Re-initialise every layer from ``random_state`` (int, Generator or None)."""
        self._check_built()
        rng = np.random.default_rng(random_state)
        for layer in self.layers:
            layer.reset_parameters(rng)
        return self

    @property
    def penalized(self):
        """View of the penalised parameters (all weights, no biases): ``params[:n_penalized]``."""
        self._check_built()
        return self.params[:self.n_penalized]

    @property
    def penalized_grads(self):
        """The gradient entries matching :attr:`penalized`."""
        self._check_built()
        return self.grads[:self.n_penalized]

    def named_parameters(self):
        """Views of every parameter by dotted name, in layer order: ``{"0.W": ..., "0.b": ...}``."""
        self._check_built()
        return {
            f"{index}.{name}": self.layers[index].params[name]
            for index, layer in enumerate(self.layers) for name in layer.params
        }

    def named_gradients(self):
        """Views of every gradient by dotted name, matching :meth:`named_parameters`."""
        self._check_built()
        return {
            f"{index}.{name}": self.layers[index].grads[name]
            for index, layer in enumerate(self.layers) for name in layer.grads
        }

    def forward(self, X, *, training=False):
        """Raw network output (logits for classifiers) for X of shape (n_samples, n_in).

        With ``training=True`` dropout is active and work buffers are reused: the returned array
        is overwritten by the next training-mode forward.
        """
        self.check_input(X)
        if training:
            for layer in self.layers:
                X = layer.forward(X, training=True)
            return X
        fresh = False
        for layer in self.layers:
            if fresh and getattr(layer, "_in_place", False):
                # Outside training a Dense layer's output is a new array that nothing else
                # holds: an element-wise activation may write into it (the same numbers, one
                # array of the layer's width less at the peak: issue 26 item 5).
                X = layer._forward_in_place(X)
            else:
                X = layer.forward(X, training=False)
            fresh = type(layer) is Dense
        return X

    def backward(self, dY, *, input_grad=True, params_grad=True):
        """Backpropagate dY = dL/d(output); overwrite ``grads`` and return dL/dX.

        Parameters
        ----------
        dY : ndarray of shape (n_samples, n_out)
        input_grad : bool, default=True
            With False, the layers below the first trainable one are skipped and None is
            returned: the training loop never needs the gradient with respect to the data.
        params_grad : bool, default=True
            With False, dL/dparams are not computed and ``grads`` is left as it was: only
            dL/dX is wanted (explanations). The same dL/dX, bit for bit. A layer whose
            ``backward`` takes no ``params_grad`` (a user's own) computes them as before.
        """
        self._check_built()
        stop = self._first_trainable if not input_grad else 0
        for index in range(len(self.layers) - 1, stop - 1, -1):
            layer = self.layers[index]
            wanted = input_grad or index > stop
            if params_grad or not layer.params or not _takes_params_grad(type(layer)):
                dY = layer.backward(dY, input_grad=wanted)
            else:
                dY = layer.backward(dY, input_grad=wanted, params_grad=False)
        return dY if input_grad else None

    def clear_cache(self):
        """Drop every layer's forward cache (inputs, activations, masks).

        After a large prediction nothing then keeps the input and the hidden activations
        alive; ``backward`` needs a new ``forward`` afterwards.
        """
        for layer in self.layers:
            layer.clear_cache()

    def check_input(self, X):
        """Raise a clear error unless X is a 2-D array of this network's width and dtype."""
        self._check_built()
        if issparse(X):
            if X.format not in ("csr", "csc") or not isinstance(self.layers[0], Dense):
                raise TypeError(
                    f"X must be a numpy array or a CSR/CSC sparse matrix feeding a Dense first "
                    f"layer, got a {X.format.upper()} matrix for a network starting with "
                    f"{type(self.layers[0]).__name__}. Convert it with X.tocsr() or "
                    "X.toarray()."
                )
        elif not isinstance(X, np.ndarray):
            raise TypeError(f"X must be a numpy array, got {type(X).__name__}.")
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-D with shape (n_samples, n_features), got shape {X.shape}. "
                "Reshape a single sample with X.reshape(1, -1) or a single feature with "
                "X.reshape(-1, 1)."
            )
        if X.shape[1] != self.n_in:
            raise ValueError(
                f"X has {X.shape[1]} features, but this network was built for {self.n_in}."
            )
        if X.dtype != self.dtype:
            raise ValueError(
                f"X has dtype {X.dtype.name}, but this network was built for "
                f"{self.dtype.name}. Convert it with X.astype(np.{self.dtype.name}) or build "
                f"the network with dtype=np.{X.dtype.name}."
            )

    def get_config(self):
        """Architecture as plain data: ``{"layers": [{"class": ..., "config": {...}}, ...]}``."""
        return {
            "layers": [
                {"class": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ]
        }

    @classmethod
    def from_config(cls, config):
        """Rebuild an (unbuilt) network from :meth:`get_config` output; unknown layers raise."""
        layers = []
        for spec in config["layers"]:
            name = spec["class"]
            if name not in LAYERS:
                raise ValueError(
                    f"layer class must be one of {sorted(LAYERS)}, got {name!r}. "
                    + _UNREGISTERED
                )
            layers.append(LAYERS[name](**spec["config"]))
        return cls(layers)

    def copy(self, *, dtype=None):
        """An independent copy with the same architecture and parameters (optionally cast)."""
        self._check_built()
        # deepcopy rather than from_config: a user's own Layer subclass (not in LAYERS) must
        # copy too, e.g. for check_gradients. Layer.__getstate__ leaves views and caches out.
        clone = Sequential(copy.deepcopy(self.layers))
        clone.build(self.n_in, dtype=dtype or self.dtype, random_state=0)
        clone.params[...] = self.params
        return clone

    def _check_built(self):
        if not self.built:
            raise RuntimeError(_NOT_BUILT)

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.built:
            self._bind()  # pickling copies views apart; point them back into params/grads


_ELEMENTWISE = ("Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Dropout")


def merge_networks(networks):
    """One network whose output is the mean of the outputs of k networks of the same shape.

    k multilayer perceptrons that read the same input and have the same layers (Dense layers
    and element-wise activations; widths h_1 ... h_L, c outputs) become one perceptron of widths
    k*h_1 ... k*h_L, the members side by side. Member i's units of layer l sit in the columns
    ``i*h_l ... (i+1)*h_l - 1``::

        first Dense     W = [W_1 | ... | W_k]           (n_in, k*h_1)    b = [b_1, ..., b_k]
        hidden Dense    W = blockdiag(W_1, ..., W_k)    (k*h_{l-1}, k*h_l)
        output Dense    W = [W_1; ...; W_k] / k         (k*h_L, c)       b = mean_i b_i

    An element-wise activation keeps the blocks apart, and a block-diagonal W feeds each
    member's units from its own units only, so every member computes what it computed alone and
    the last layer adds 1/k of each raw output: ``Z = (1/k) sum_i Z_i``. For a regressor that
    is the ensemble's mean prediction; for a classifier the mean of the raw scores (logits),
    i.e. the softmax of the mean logit, which is the normalised geometric mean of the members'
    probabilities. With one network the result equals it.

    The merged network computes k members' work: prediction costs about k times the flops of
    the members run one after the other (the zero blocks are multiplied too), the price of
    being one plain network that every tool (files, ONNX, explanations) reads as it is.

    Parameters
    ----------
    networks : list of Sequential
        Built networks with the same layer types, the same widths, input size and dtype.

    Returns
    -------
    Sequential
        A new, built network; the inputs are not changed.
    """
    networks = list(networks)
    if not networks:
        raise ValueError("networks must hold at least one network, got none.")
    first = networks[0]
    k = len(networks)
    kinds = [[type(layer).__name__ for layer in net.layers] for net in networks]
    shapes = [[tuple(p.shape) for layer in net.layers for p in layer.params.values()]
              for net in networks]
    if any(kind != kinds[0] for kind in kinds) or any(s != shapes[0] for s in shapes) or any(
            net.params.dtype != first.params.dtype for net in networks):
        raise ValueError("networks must all have the same layers, shapes and dtype, got "
                         f"{[' '.join(kind) for kind in kinds]}.")
    for layer in first.layers:
        if not isinstance(layer, Dense) and type(layer).__name__ not in _ELEMENTWISE:
            raise ValueError(f"networks must hold Dense layers and element-wise activations "
                             f"only ({', '.join(_ELEMENTWISE)}), got {type(layer).__name__}.")
    dense = [i for i, layer in enumerate(first.layers) if isinstance(layer, Dense)]
    if not dense or any(not first.layers[i].bias for i in dense):
        raise ValueError("networks must have Dense layers with a bias, got "
                         f"{' '.join(kinds[0])}.")
    layers = []
    for i, layer in enumerate(first.layers):
        config = layer.get_config()
        if isinstance(layer, Dense) and i != dense[-1]:
            config["n_out"] = k * layer.params["W"].shape[1]
        layers.append(type(layer)(**config))
    merged = Sequential(layers).build(first.n_in, dtype=first.params.dtype, random_state=0)
    for i in dense:
        W = [net.layers[i].params["W"] for net in networks]
        b = [net.layers[i].params["b"] for net in networks]
        out_W, out_b = merged.layers[i].params["W"], merged.layers[i].params["b"]
        rows, cols = W[0].shape
        if i == dense[-1]:
            if len(dense) == 1:
                out_W[...] = np.mean(W, axis=0)
            else:
                out_W[...] = np.concatenate(W, axis=0) / k
            out_b[...] = np.mean(b, axis=0)
            continue
        out_b[...] = np.concatenate(b)
        if i == dense[0]:
            out_W[...] = np.concatenate(W, axis=1)
        else:
            out_W[...] = 0
            for m, W_m in enumerate(W):
                out_W[m * rows:(m + 1) * rows, m * cols:(m + 1) * cols] = W_m
    return merged

