"""Layers: backward vs finite differences, initialisation, dtype, dropout, constructor errors."""

import re

import numpy as np
import pytest

from gradcheck_utils import away_from_zero, check_layer_gradients
from numnet import (
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)


def bound(layer, n_in, *, dtype=np.float64, random_state=0):
    """Bind a lone layer to views of a one-layer network's flat vectors."""
    Sequential([layer]).build(n_in, dtype=dtype, random_state=random_state)
    return layer


# --- gradient checks --------------------------------------------------------------------------

ACTIVATIONS = {
    "identity": Identity,
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.1),
    "leaky_relu_steep": lambda: LeakyReLU(2.5),
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_dense_backward_matches_finite_differences(bias, training, rng):
    layer = bound(Dense(4, bias=bias), 3)
    layer.params["W"][...] = rng.normal(size=(3, 4))
    if bias:
        layer.params["b"][...] = rng.normal(size=4)
    X = rng.normal(size=(5, 3))
    dX, grads = check_layer_gradients(layer, X, rng, training=training)
    assert set(grads) == ({"W", "b"} if bias else {"W"})


def test_dense_backward_closed_form(rng):
    layer = bound(Dense(2), 3)
    W, b = layer.params["W"], layer.params["b"]
    W[...] = rng.normal(size=(3, 2))
    b[...] = rng.normal(size=2)
    X, G = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    np.testing.assert_allclose(layer.forward(X), X @ W + b, rtol=1e-15)
    dX = layer.backward(G)
    np.testing.assert_allclose(dX, G @ W.T, rtol=1e-15)
    np.testing.assert_allclose(layer.grads["W"], X.T @ G, rtol=1e-15)
    np.testing.assert_allclose(layer.grads["b"], G.sum(axis=0), rtol=1e-15)


def test_dense_backward_overwrites_gradients(rng):
    layer = bound(Dense(2), 3)
    X, G = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    layer.forward(X)
    layer.backward(G)
    first = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(X)
    layer.backward(G)
    for name in first:
        np.testing.assert_array_equal(layer.grads[name], first[name])  # not 2x: overwritten


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_activation_backward_matches_finite_differences(name, training, rng):
    layer = bound(ACTIVATIONS[name](), 4)
    # |x| > 1e-3 keeps every central difference on one side of the ReLU/LeakyReLU kink.
    X = away_from_zero(rng, (6, 4), scale=2.0)
    check_layer_gradients(layer, X, rng, training=training, label=name)


def test_softmax_backward_is_the_full_jacobian_vector_product(rng):
    layer = bound(Softmax(), 3)
    X = rng.normal(size=(2, 3))
    Y = layer.forward(X)
    G = rng.normal(size=(2, 3))  # non-uniform: a diagonal-only backward fails here
    dX = layer.backward(G)
    for i in range(2):
        jacobian = np.diag(Y[i]) - np.outer(Y[i], Y[i])
        np.testing.assert_allclose(dX[i], jacobian @ G[i], rtol=1e-13)
    diagonal_only = G * Y * (1 - Y)
    assert not np.allclose(dX, diagonal_only)


@pytest.mark.parametrize("rate", [0.25, 0.6])
def test_dropout_backward_matches_finite_differences_with_a_fixed_mask(rate, rng):
    layer = bound(Dropout(rate), 5)
    X = rng.normal(size=(8, 5))

    def same_mask():  # reseed before every forward, so each evaluation draws the same mask
        layer.reset_parameters(np.random.default_rng(123))

    dX, _ = check_layer_gradients(layer, X, rng, training=True, before_forward=same_mask)
    assert np.any(dX == 0) and np.any(dX != 0)  # the mask really dropped some units


ACTIVATION_VALUES = {
    "relu": (ReLU, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda: LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "leaky_relu_steep": (lambda: LeakyReLU(2.5), lambda x: np.where(x > 0, x, 2.5 * x)),
    "sigmoid": (Sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (Tanh, np.tanh),
    "identity": (Identity, lambda x: x),
}


@pytest.mark.parametrize("name", list(ACTIVATION_VALUES))
def test_activation_forward_values(name, rng):
    make, reference = ACTIVATION_VALUES[name]
    layer = bound(make(), 4)
    X = rng.normal(scale=3, size=(5, 4))
    np.testing.assert_allclose(layer.forward(X), reference(X), rtol=1e-14)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax", "relu", "leaky_relu"])
def test_activations_are_finite_at_plus_minus_1000(name, dtype):
    layer = bound(ACTIVATIONS[name](), 2, dtype=dtype)
    X = np.array([[1000.0, -1000.0]], dtype=dtype)
    Y = layer.forward(X)
    dX = layer.backward(np.ones_like(X))
    assert Y.dtype == dX.dtype == dtype
    assert np.all(np.isfinite(Y)) and np.all(np.isfinite(dX))
    expected = {"sigmoid": [[1, 0]], "tanh": [[1, -1]], "softmax": [[1, 0]],
                "relu": [[1000, 0]], "leaky_relu": [[1000, -100]]}[name]
    np.testing.assert_allclose(Y, expected, rtol=1e-6)


# --- initialisation ---------------------------------------------------------------------------

N_IN, N_OUT = 20, 30
HE_LIMIT = np.sqrt(6 / N_IN)
GLOROT_LIMIT = np.sqrt(6 / (N_IN + N_OUT))


@pytest.mark.parametrize(
    ("following", "limit"),
    [
        (ReLU, HE_LIMIT),
        (lambda: LeakyReLU(0.2), HE_LIMIT),
        (Tanh, GLOROT_LIMIT),
        (Sigmoid, GLOROT_LIMIT),
        (Identity, GLOROT_LIMIT),
        (Softmax, GLOROT_LIMIT),
        (None, GLOROT_LIMIT),
    ],
    ids=["relu", "leaky_relu", "tanh", "sigmoid", "identity", "softmax", "last_layer"],
)
def test_auto_init_is_he_before_relu_family_and_glorot_otherwise(following, limit):
    layers = [Dense(N_OUT)] + ([following()] if following is not None else [])
    net = Sequential(layers).build(N_IN, random_state=0)
    W, b = net[0].params["W"], net[0].params["b"]
    # 600 uniform draws: the largest |W| lies within 1% of the limit with overwhelming
    # probability, and He's limit (0.548) is well above Glorot's (0.346).
    assert np.max(np.abs(W)) <= limit
    assert np.max(np.abs(W)) > 0.97 * limit
    np.testing.assert_array_equal(b, 0.0)


@pytest.mark.parametrize(
    ("init", "std"),
    [("he_normal", np.sqrt(2 / 200)), ("glorot_normal", np.sqrt(2 / (200 + 100)))],
)
def test_normal_inits_have_the_stated_standard_deviation(init, std):
    net = Sequential([Dense(100, init=init)]).build(200, random_state=0)
    W = net[0].params["W"]
    # 20000 draws: the sample std is within 2% of the true one (its relative s.e. is 0.5%).
    assert abs(W.std() / std - 1) < 0.02
    assert abs(W.mean()) < 4 * std / np.sqrt(W.size)


def test_zeros_init_and_bias_start_at_zero():
    net = Sequential([Dense(3, init="zeros"), Tanh(), Dense(2)]).build(4, random_state=0)
    np.testing.assert_array_equal(net[0].params["W"], 0)
    np.testing.assert_array_equal(net[0].params["b"], 0)
    np.testing.assert_array_equal(net[2].params["b"], 0)


# --- dtype ------------------------------------------------------------------------------------

LAYER_FACTORIES = {
    "dense": lambda: Dense(3),
    "dense_no_bias": lambda: Dense(3, bias=False),
    "dropout": lambda: Dropout(0.5),
    **ACTIVATIONS,
}


@pytest.mark.parametrize("name", list(LAYER_FACTORIES))
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_layers_preserve_dtype(name, training, rng, dtype):
    layer = bound(LAYER_FACTORIES[name](), 4, dtype=dtype)
    X = rng.normal(size=(5, 4)).astype(dtype)
    Y = layer.forward(X, training=training)
    dX = layer.backward(rng.normal(size=Y.shape).astype(dtype))
    assert Y.dtype == dtype and dX.dtype == dtype
    for grad in layer.grads.values():
        assert grad.dtype == dtype


def test_backward_without_input_grad_returns_none_and_same_param_grads(rng):
    layer = bound(Dense(3), 4)
    X, G = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer.forward(X)
    layer.backward(G)
    expected = {k: v.copy() for k, v in layer.grads.items()}
    layer.grads["W"][...] = np.nan
    assert layer.backward(G, input_grad=False) is None
    for name in expected:
        np.testing.assert_array_equal(layer.grads[name], expected[name])


@pytest.mark.parametrize("bias", [True, False])
def test_backward_without_param_grads_gives_the_same_input_grad_and_leaves_grads(rng, bias):
    # issue 26: explanations want dL/dX only; dL/dW and dL/db are neither computed nor written
    layer = bound(Dense(3, bias=bias), 4)
    X, G = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer.forward(X)
    expected = layer.backward(G).copy()
    for grad in layer.grads.values():
        grad[...] = 7.0
    dX = layer.backward(G, params_grad=False)
    assert dX.dtype == expected.dtype and dX.tobytes() == expected.tobytes()  # bit for bit
    for grad in layer.grads.values():
        assert np.all(grad == 7.0)
    assert layer.backward(G, input_grad=False, params_grad=False) is None
    assert all(np.all(grad == 7.0) for grad in layer.grads.values())


# --- dropout ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_dropout_is_the_identity_at_inference(rate, rng):
    layer = bound(Dropout(rate), 4)
    X = rng.normal(size=(6, 4))
    assert layer.forward(X) is X
    G = rng.normal(size=(6, 4))
    np.testing.assert_array_equal(layer.backward(G), G)


def test_dropout_rate_zero_is_the_identity_in_training(rng):
    layer = bound(Dropout(0.0), 4)
    X = rng.normal(size=(6, 4))
    np.testing.assert_array_equal(layer.forward(X, training=True), X)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_dropout_inverted_scaling_and_empirical_rate(rate, dtype):
    layer = bound(Dropout(rate), 500, dtype=dtype)
    X = np.ones((400, 500), dtype=dtype)
    Y = layer.forward(X, training=True)
    kept = Y != 0
    # Kept units are scaled by exactly 1 / (1 - rate), so E[Y] = X.
    np.testing.assert_allclose(Y[kept], dtype(1 / (1 - rate)), rtol=1e-7)
    # 200000 Bernoulli draws: the drop share has s.e. <= 0.0012; allow 5 s.e.
    assert abs((1 - kept.mean()) - rate) < 0.006
    dX = layer.backward(X)
    np.testing.assert_array_equal(dX, Y)  # same mask and scale in backward


def test_dropout_draws_a_new_mask_each_training_forward():
    layer = bound(Dropout(0.5), 50)
    X = np.ones((20, 50))
    first = layer.forward(X, training=True).copy()
    second = layer.forward(X, training=True)
    assert not np.array_equal(first, second)


def test_dropout_masks_are_reproducible_from_random_state():
    X = np.ones((10, 20))

    def masks(seed):
        net = Sequential([Dense(20), Dropout(0.5)]).build(20, random_state=seed)
        drop = net[1]
        return [drop.forward(X, training=True).copy() for _ in range(3)]

    for a, b in zip(masks(7), masks(7), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(masks(7)[0], masks(8)[0])


# --- constructor and input errors -------------------------------------------------------------

@pytest.mark.parametrize(
    ("make", "exc", "message"),
    [
        (lambda: Dense(0), ValueError, "n_out must be an integer >= 1, got 0."),
        (lambda: Dense(-3), ValueError, "n_out must be an integer >= 1, got -3."),
        (lambda: Dense(2.5), ValueError, "n_out must be an integer >= 1, got 2.5."),
        (lambda: Dense("4"), TypeError, "n_out must be an integer >= 1, got '4'."),
        (lambda: Dense(True), ValueError, "n_out must be an integer >= 1, got True."),
        (lambda: Dense(3, init="uniform"), ValueError,
         "init must be one of {'auto', 'glorot_normal', 'glorot_uniform', 'he_normal', "
         "'he_uniform', 'zeros'}, got 'uniform'."),
        (lambda: Dense(3, bias=1), TypeError, "bias must be a bool, got 1."),
        (lambda: LeakyReLU(-0.1), ValueError, "negative_slope must be a float >= 0, got -0.1."),
        (lambda: LeakyReLU(float("nan")), ValueError,
         "negative_slope must be a finite float >= 0, got nan."),
        (lambda: Dropout(1.0), ValueError, "rate must be a float in [0, 1), got 1.0."),
        (lambda: Dropout(-0.1), ValueError, "rate must be a float in [0, 1), got -0.1."),
        (lambda: Dropout("half"), TypeError, "rate must be a float in [0, 1), got 'half'."),
    ],
    ids=["dense_zero", "dense_negative", "dense_float", "dense_str", "dense_bool",
         "dense_init", "dense_bias", "leaky_negative", "leaky_nan", "dropout_one",
         "dropout_negative", "dropout_str"],
)
def test_constructor_errors(make, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        make()


def test_dense_rejects_wrong_input_width(rng):
    layer = bound(Dense(2), 3)
    with pytest.raises(ValueError, match=re.escape(
        "X must have shape (n_samples, 3) for this Dense layer, got (4, 2)."
    )):
        layer.forward(rng.normal(size=(4, 2)))


def test_get_config_and_repr():
    assert Dense(3, init="he_normal", bias=False).get_config() == {
        "n_out": 3, "init": "he_normal", "bias": False}
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(Dropout(0.3)) == "Dropout(rate=0.3)"
    assert repr(Tanh()) == "Tanh()"


# --- a user's own layer: registered, saved and loaded; refused before registering ------------


def _swish_class():
    """A user-defined layer with a parameter and a config: y = x * sigmoid(beta * x)."""
    import numnet

    class Swish(numnet.Layer):
        penalized = ()
        _cache = ("_X", "_S")

        def __init__(self, beta_init=1.0):
            self.beta_init = beta_init

        def param_shapes(self, n_in):
            return {"beta": (n_in,)}

        def reset_parameters(self, rng):
            self.params["beta"][...] = self.beta_init

        def forward(self, X, *, training=False):
            self._X, self._S = X, 1.0 / (1.0 + np.exp(-self.params["beta"] * X))
            return X * self._S

        def backward(self, dY, *, input_grad=True):
            X, S, beta = self._X, self._S, self.params["beta"]
            dS = S * (1 - S)
            self.grads["beta"][...] = (dY * X * X * dS).sum(axis=0)
            return dY * (S + beta * X * dS) if input_grad else None

        def get_config(self):
            return {"beta_init": self.beta_init}

    return Swish


@pytest.fixture
def swish():
    """The Swish class, unregistered again after the test (the registry is process-wide)."""
    from numnet.layers import LAYERS

    cls = _swish_class()
    yield cls
    LAYERS.pop("Swish", None)


def test_a_user_layer_is_refused_with_a_clear_message_until_registered(swish, tmp_path):
    import numnet

    net = Sequential([Dense(3), swish(0.5), Dense(1)]).build(2, random_state=0)
    with pytest.raises(TypeError, match=re.escape(
            "layer class must be registered with numnet.register_layer to be saved, got "
            "'test_layers._swish_class.<locals>.Swish'. Decorate the class with "
            "@numnet.register_layer, and register it before loading the file too: a model "
            "file names its layers' classes and never runs code.")):
        numnet.save(net, tmp_path / "swish.numnet")
    assert not (tmp_path / "swish.numnet").exists()


def test_a_registered_user_layer_saves_and_loads(swish, tmp_path):
    import numnet
    from numnet.layers import LAYERS

    assert numnet.register_layer(swish) is swish and LAYERS["Swish"] is swish
    assert numnet.register_layer(swish) is swish  # again: nothing changes
    net = Sequential([Dense(3), swish(0.5), Dense(1)]).build(2, random_state=0)
    net.layers[1].params["beta"][...] = [0.25, 1.5, -2.0]
    path = tmp_path / "swish.numnet"
    numnet.save(net, path)
    loaded = numnet.load(path)
    assert type(loaded.layers[1]) is swish and loaded.layers[1].beta_init == 0.5
    np.testing.assert_array_equal(loaded.params, net.params)
    X = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))
    # a file naming it loads only while it is registered: a file never defines a class
    LAYERS.pop("Swish")
    with pytest.raises(numnet.ModelFileError, match=re.escape(
            "got {'class': 'Swish', 'config': {'beta_init': 0.5}}. A layer of your own must "
            "be registered (numnet.register_layer) before a file holding it is saved or "
            "loaded.")):
        numnet.load(path)


def test_register_layer_refusals(swish, tmp_path):
    import numnet

    with pytest.raises(TypeError, match=re.escape(
            "register_layer takes a subclass of numnet.Layer, got <class 'int'>.")):
        numnet.register_layer(int)

    class Dense(numnet.Layer):  # a name numnet's own layer has
        pass

    with pytest.raises(ValueError, match=re.escape(
            "layer class name 'Dense' must be unique among registered layers, got "
            "test_layers.test_register_layer_refusals.<locals>.Dense while "
            "numnet.layers.Dense is registered. Rename the class: a model file names a layer "
            "by its class name.")):
        numnet.register_layer(Dense)
    # an unregistered class that shares a registered name is not saved as numnet's Dense
    with pytest.raises(TypeError, match="layer class must be registered"):
        numnet.save(Sequential([Dense()]).build(2), tmp_path / "dense.numnet")


def test_caches_are_one_list_for_clear_cache_and_pickling():
    import copy

    from numnet.embeddings import PeriodicEmbedding

    layer = PeriodicEmbedding(n_frequencies=2, n_out=3)
    Sequential([layer]).build(2, random_state=0)
    layer.forward(np.ones((4, 2)))
    assert all(hasattr(layer, key) for key in layer._cache)
    state = copy.copy(layer.__getstate__())
    assert not set(layer._cache) & set(state)  # a copy or pickle holds no cache
    layer.clear_cache()
    assert not any(hasattr(layer, key) for key in layer._cache)


# --- mutation-testing gaps (make mutate): buffers, defaults, sparse input, edge values -------

REUSING = {
    "dense": lambda: Dense(3),
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.1),
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
    "dropout": lambda: Dropout(0.5),
}


@pytest.mark.parametrize("name", list(REUSING))
@pytest.mark.parametrize("shape", [(6, 2), (2, 6)], ids=["tall", "wide"])
def test_training_passes_reuse_their_buffers_and_inference_returns_fresh_arrays(
        name, shape, rng):
    # The contract of forward/backward: in training the output and dL/dX are work buffers
    # the next training call overwrites (no allocation per batch, also for a smaller batch);
    # an inference output (the default) is the caller's to keep.
    n, width = shape
    layer = bound(REUSING[name](), width)
    X = rng.normal(size=(n, width))
    Y1 = layer.forward(X, training=True)
    dX1 = layer.backward(rng.normal(size=Y1.shape))
    Y2 = layer.forward(rng.normal(size=(n, width)), training=True)
    dX2 = layer.backward(rng.normal(size=Y2.shape))
    assert np.shares_memory(Y1, Y2) and np.shares_memory(dX1, dX2)
    Y3 = layer.forward(rng.normal(size=(n - 1, width)), training=True)
    dX3 = layer.backward(rng.normal(size=Y3.shape))
    assert np.shares_memory(Y1, Y3) and np.shares_memory(dX1, dX3)
    kept = layer.forward(X)
    expected = kept.copy()
    layer.forward(rng.normal(size=(n, width)), training=True)
    layer.backward(rng.normal(size=Y1.shape))
    np.testing.assert_array_equal(kept, expected)
    assert not np.shares_memory(kept, Y1)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"])
def test_an_activation_takes_batches_of_any_width(name, rng):
    # An activation has no parameters: one object may see widths 3, then 5, then 3 again.
    layer = ACTIVATIONS[name]()
    reference = ACTIVATION_VALUES[name][1] if name != "softmax" else (
        lambda x: np.exp(x) / np.exp(x).sum(axis=1, keepdims=True))
    for width in (3, 5, 3, 5):
        X = rng.normal(scale=3, size=(4, width))
        np.testing.assert_allclose(layer.forward(X, training=True), reference(X), rtol=1e-14)
        np.testing.assert_allclose(layer.forward(X), reference(X), rtol=1e-14)


def test_work_buffers_are_bounded_and_kept_while_they_grow(rng):
    layer = Tanh()
    for width in range(1, 21):  # 20 widths in a row: the buffers start afresh, at most 8
        layer.forward(rng.normal(size=(2, width)), training=True)
        assert len(layer._buffers) <= 8
    assert len(layer._buffers) == 4  # cleared at the 9th and 17th width: widths 17-20
    layer.forward(rng.normal(size=(5, 20)), training=True)  # a bigger batch of a known width
    assert len(layer._buffers) == 4
    for width in range(21, 25):
        layer.forward(rng.normal(size=(2, width)), training=True)
    assert len(layer._buffers) == 8
    layer.forward(rng.normal(size=(9, 24)), training=True)  # grows one: the others stay
    assert len(layer._buffers) == 8


def test_identity_without_input_grad_returns_none(rng):
    G = rng.normal(size=(3, 2))
    assert Identity().backward(G, input_grad=False) is None
    assert Identity().backward(G) is G


def test_default_hyperparameters():
    assert LeakyReLU().negative_slope == 0.01
    assert Dropout().rate == 0.5
    np.testing.assert_array_equal(LeakyReLU().forward(np.array([[-2.0, 3.0]])), [[-0.02, 3.0]])


def test_leaky_relu_slope_between_one_and_two_and_the_derivative_at_zero():
    layer = LeakyReLU(1.5)
    X = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(layer.forward(X), [[-3.0, 0.0, 3.0]])
    # At X = 0 (Y = 0) the derivative is the slope a, as the docstring's "Y > 0" says.
    np.testing.assert_array_equal(layer.backward(np.array([[1.0, 2.0, 4.0]])), [[1.5, 3.0, 4.0]])
    layer = LeakyReLU(0.1)
    layer.forward(X)
    np.testing.assert_array_equal(layer.backward(np.array([[1.0, 2.0, 4.0]])), [[0.1, 0.2, 4.0]])


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_dense_on_sparse_input_matches_dense_input(fmt, training, rng):
    import scipy.sparse as sp

    X = rng.normal(size=(6, 4)) * (rng.random((6, 4)) < 0.5)
    G = rng.normal(size=(6, 3))
    dense = bound(Dense(3), 4, random_state=1)
    sparse = bound(Dense(3), 4, random_state=1)
    sparse.params["b"][...] = dense.params["b"][...] = rng.normal(size=3)
    Z = dense.forward(X, training=training).copy()
    dX = dense.backward(G).copy()
    np.testing.assert_allclose(sparse.forward(sp.csr_matrix(X).asformat(fmt),
                                              training=training), Z, rtol=1e-14)
    np.testing.assert_allclose(sparse.backward(G), dX, rtol=1e-14)
    for name in ("W", "b"):
        np.testing.assert_allclose(sparse.grads[name], dense.grads[name], rtol=1e-14)
    np.testing.assert_allclose(sparse.grads["W"], X.T @ G, rtol=1e-14)


def test_dropout_rate_zero_returns_its_input_itself_in_training(rng):
    layer = bound(Dropout(0.0), 4)
    X = rng.normal(size=(6, 4))
    assert layer.forward(X, training=True) is X
    G = rng.normal(size=(6, 4))
    assert layer.backward(G) is G


@pytest.mark.parametrize("dtype_", [np.float32, np.float64])
def test_dropout_masks_are_the_spawned_generators_draws(dtype_):
    # Each Dropout draws from rng.spawn(1)[0] of the network's generator, in layer order, in
    # the network's dtype: u >= rate kept, scaled by 1 / (1 - rate).
    first, second = Dropout(0.25), Dropout(0.5)
    Sequential([first, second]).build(4, dtype=dtype_, random_state=7)
    reference = np.random.default_rng(7)
    rng1, rng2 = reference.spawn(1)[0], reference.spawn(1)[0]
    X = np.ones((5, 4), dtype=dtype_)
    np.testing.assert_array_equal(
        first.forward(X, training=True),
        (rng1.random((5, 4), dtype=dtype_) >= 0.25) / dtype_(0.75))
    np.testing.assert_array_equal(
        second.forward(X, training=True),
        (rng2.random((5, 4), dtype=dtype_) >= 0.5) / dtype_(0.5))


def test_dropout_rng_state_round_trip_and_unbuilt_dropout(rng):
    layer = Dropout(0.5)  # not in a network: its own fresh generator
    X = np.ones((8, 6))
    state = layer.get_rng_state()
    first = layer.forward(X, training=True).copy()
    layer.set_rng_state(state)
    np.testing.assert_array_equal(layer.forward(X, training=True), first)
    assert set(np.unique(first)) <= {0.0, 2.0}


def test_clear_cache_of_a_layer_that_cached_only_some_names(rng):
    layer = bound(Dense(2), 3)  # caches _X only, not _Y or _mask
    layer.forward(rng.normal(size=(4, 3)))
    layer.clear_cache()
    assert not hasattr(layer, "_X")
    ReLU().clear_cache()  # nothing cached yet


def test_repr_of_several_arguments():
    assert repr(Dense(3)) == "Dense(n_out=3, init='auto', bias=True)"


def test_the_base_layer_does_not_compute():
    from numnet import Layer

    with pytest.raises(NotImplementedError):
        Layer().forward(np.ones((1, 1)))
    with pytest.raises(NotImplementedError):
        Layer().backward(np.ones((1, 1)))
