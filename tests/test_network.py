"""Sequential: the flat buffers, whole-network gradient checks, dtype, determinism, errors."""

import pickle
import re

import numpy as np
import pytest

from gradcheck_utils import (
    check_network_directional,
    check_network_elementwise,
    min_abs_preactivation,
)
from numnet import (
    SGD,
    BinaryCrossEntropy,
    Dense,
    Dropout,
    ElasticNet,
    Identity,
    LeakyReLU,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
    objective,
    train,
)


def mlp(activation=Tanh, n_in=3, n_out=2, **build):
    net = Sequential([Dense(5), activation(), Dense(4, bias=False), activation(), Dense(n_out)])
    return net.build(n_in, **{"random_state": 0, **build})


# --- the flat buffers -------------------------------------------------------------------------

def test_every_view_shares_memory_with_the_flat_vectors():
    net = mlp()
    params, grads = net.named_parameters(), net.named_gradients()
    assert list(params) == list(grads)
    covered = np.zeros(net.params.size, dtype=int)
    for name, view in params.items():
        assert np.shares_memory(view, net.params), name
        assert np.shares_memory(grads[name], net.grads), name
        assert view.base is net.params and grads[name].base is net.grads
        offset = (view.__array_interface__["data"][0]
                  - net.params.__array_interface__["data"][0]) // view.itemsize
        covered[offset:offset + view.size] += 1
    np.testing.assert_array_equal(covered, 1)  # the views tile the vector exactly once
    assert net.params.flags.c_contiguous and net.params.ndim == 1
    assert net.grads.shape == net.params.shape


def test_layer_views_are_the_named_parameters():
    net = mlp()
    named = net.named_parameters()
    assert named["0.W"] is net[0].params["W"]
    assert named["4.b"] is net[4].params["b"]


def test_named_parameters_order_and_shapes():
    net = mlp()
    shapes = {name: view.shape for name, view in net.named_parameters().items()}
    assert list(shapes) == ["0.W", "0.b", "2.W", "4.W", "4.b"]
    assert shapes == {"0.W": (3, 5), "0.b": (5,), "2.W": (5, 4), "4.W": (4, 2), "4.b": (2,)}
    assert net.params.size == 15 + 5 + 20 + 8 + 2


def test_penalized_slice_holds_exactly_the_weights(rng):
    net = mlp()
    net.params[:] = rng.normal(size=net.params.size)
    named = net.named_parameters()
    weights = np.concatenate([named[n].ravel() for n in ("0.W", "2.W", "4.W")])
    np.testing.assert_array_equal(net.penalized, weights)
    assert net.penalized.size == net.n_penalized == 15 + 20 + 8
    assert np.shares_memory(net.penalized, net.params)
    assert np.shares_memory(net.penalized_grads, net.grads)
    for bias in ("0.b", "4.b"):
        assert not np.shares_memory(named[bias], net.penalized)


def test_writing_the_flat_vector_changes_the_model(rng):
    net = Sequential([Dense(3), Tanh(), Dense(1)]).build(2, random_state=0)
    X = rng.normal(size=(4, 2))
    before = net.forward(X).copy()
    v = rng.normal(size=net.params.size)
    net.params[:] = v
    W1, b1 = v[:6].reshape(2, 3), v[9:12]  # layout: weights first (0.W, 2.W), then biases
    W2, b2 = v[6:9].reshape(3, 1), v[12:13]
    expected = np.tanh(X @ W1 + b1) @ W2 + b2
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-14)
    assert not np.allclose(before, expected)


def test_backward_overwrites_the_flat_gradient(rng):
    net = mlp()
    X, dY = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    net.forward(X)
    net.backward(dY)
    first = net.grads.copy()
    net.grads[:] = 123.0
    net.forward(X)
    net.backward(dY)
    np.testing.assert_array_equal(net.grads, first)


# --- whole-network gradient checks ------------------------------------------------------------

ACTIVATIONS = {
    "identity": Identity,
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.1),
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}
LOSSES = {"mse": (MeanSquaredError, 2), "bce": (BinaryCrossEntropy, 2),
          "softmax_ce": (SoftmaxCrossEntropy, 3)}


def targets(name, rng, n_samples, n_out):
    if name == "mse":
        return rng.normal(size=(n_samples, n_out))
    if name == "bce":
        return rng.integers(0, 2, size=(n_samples, n_out)).astype(float)
    return np.eye(n_out)[rng.integers(0, n_out, size=n_samples)]


@pytest.mark.parametrize("extras", ["plain", "weights_and_penalty"])
@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_whole_network_gradient_matches_finite_differences(activation, loss_name, extras, rng):
    loss_cls, n_out = LOSSES[loss_name]
    net = Sequential([Dense(5), ACTIVATIONS[activation](), Dense(4), ACTIVATIONS[activation](),
                      Dropout(0.5), Dense(n_out)]).build(3, random_state=0)
    net.params[:] = rng.normal(scale=0.8, size=net.params.size)  # biases non-zero too
    X = rng.normal(size=(8, 3))
    y = targets(loss_name, rng, 8, n_out)
    kwargs = {}
    if extras == "weights_and_penalty":
        kwargs = {"sample_weight": rng.uniform(0.2, 3.0, size=8),
                  "regularizer": ElasticNet(0.05, l1_ratio=0.5)}
    if activation in ("relu", "leaky_relu"):
        assert min_abs_preactivation(net, X) > 1e-4  # no kink within reach of eps = 1e-6
    label = f"{activation}/{loss_name}/{extras}"
    check_network_elementwise(net, loss_cls(), X, y, label=label, **kwargs)
    check_network_directional(net, loss_cls(), X, y, rng, label=label, **kwargs)


def test_objective_is_a_pure_function_of_params(rng):
    net = mlp()
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    v1, g1 = objective(net, MeanSquaredError(), X, y)
    g1 = g1.copy()
    net.params[:] += 0.1
    objective(net, MeanSquaredError(), X, y)
    net.params[:] -= 0.1
    v2, g2 = objective(net, MeanSquaredError(), X, y)
    assert g2 is net.grads
    np.testing.assert_allclose(v2, v1, rtol=1e-15)
    np.testing.assert_allclose(g2, g1, rtol=1e-14, atol=1e-16)


def test_backward_without_input_grad_gives_identical_param_grads(rng):
    net = Sequential([Dropout(0.2), Dense(5), ReLU(), Dense(2)]).build(3, random_state=0)
    X, dY = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    net.forward(X)
    dX = net.backward(dY)
    assert dX.shape == X.shape
    expected = net.grads.copy()
    net.grads[:] = np.nan
    assert net.backward(dY, input_grad=False) is None
    np.testing.assert_array_equal(net.grads, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backward_without_param_grads_gives_the_same_input_grad_and_leaves_grads(rng, dtype):
    # issue 26: backward(params_grad=False) for explanations: dL/dX bit for bit, grads untouched
    net = Sequential([Dense(5), ReLU(), Dropout(0.2), Dense(4), Tanh(), Dense(2)]).build(
        3, dtype=dtype, random_state=0)
    X, dY = rng.normal(size=(6, 3)).astype(dtype), rng.normal(size=(6, 2)).astype(dtype)
    net.forward(X)
    expected = net.backward(dY).copy()
    net.grads[:] = 7.0
    dX = net.backward(dY, params_grad=False)
    assert dX.dtype == dtype and dX.tobytes() == expected.tobytes()
    assert np.all(net.grads == 7.0)
    assert net.backward(dY, input_grad=False, params_grad=False) is None
    assert np.all(net.grads == 7.0)


def test_backward_without_param_grads_calls_a_users_backward_as_before(rng):
    # a user's layer whose backward takes no params_grad still works; it writes its grads
    calls = []

    class Logged(Dense):
        def backward(self, dY, *, input_grad=True):
            calls.append(input_grad)
            return super().backward(dY, input_grad=input_grad)

    net = Sequential([Logged(4), ReLU(), Dense(2)]).build(3, random_state=0)
    X, dY = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    net.forward(X)
    expected_dX = net.backward(dY).copy()
    expected_W = net[0].grads["W"].copy()
    net.grads[:] = 7.0
    np.testing.assert_array_equal(net.backward(dY, params_grad=False), expected_dX)
    np.testing.assert_array_equal(net[0].grads["W"], expected_W)
    assert np.all(net[2].grads["W"] == 7.0) and calls == [True, True]


def test_backward_returns_the_input_gradient(rng):
    net = Sequential([Dense(4), Tanh(), Dense(1)]).build(3, random_state=0)
    X, G = rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    W1, b1 = net[0].params["W"], net[0].params["b"]
    W2 = net[2].params["W"]
    net.forward(X)
    dX = net.backward(G)
    H = np.tanh(X @ W1 + b1)
    np.testing.assert_allclose(dX, ((G @ W2.T) * (1 - H**2)) @ W1.T, rtol=1e-13)


# --- dtype and determinism --------------------------------------------------------------------

def test_float32_in_gives_float32_params_grads_and_outputs(rng):
    net = Sequential([Dense(6), ReLU(), Dropout(0.1), Dense(3)]).build(
        4, dtype=np.float32, random_state=0)
    X = rng.normal(size=(10, 4)).astype(np.float32)
    y = np.eye(3)[rng.integers(0, 3, size=10)]
    assert net.params.dtype == net.grads.dtype == np.float32
    for view in [*net.named_parameters().values(), *net.named_gradients().values()]:
        assert view.dtype == np.float32
    for training in (False, True):
        raw = net.forward(X, training=training)
        assert raw.dtype == np.float32
        assert net.backward(np.ones_like(raw)).dtype == np.float32
    value, grad = objective(net, SoftmaxCrossEntropy(), X, y, regularizer=ElasticNet(0.01))
    assert grad.dtype == np.float32 and isinstance(value, float)
    train(net, SoftmaxCrossEntropy(), SGD(0.1), X, y, max_epochs=2, random_state=0)
    assert net.params.dtype == np.float32
    assert net.forward(X).dtype == np.float32


def test_float32_and_float64_start_from_the_same_weights():
    net32 = mlp(dtype=np.float32)
    net64 = mlp(dtype=np.float64)
    np.testing.assert_array_equal(net32.params, net64.params.astype(np.float32))


def test_same_random_state_gives_bit_identical_params():
    a, b = mlp(random_state=42), mlp(random_state=42)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, mlp(random_state=43).params)
    gen_a = mlp(random_state=np.random.default_rng(5))
    gen_b = mlp(random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(gen_a.params, gen_b.params)


def test_reset_parameters_reinitialises_in_place():
    net = mlp(random_state=1)
    before = net.params
    net.params[:] = 0
    net.reset_parameters(1)
    assert net.params is before
    np.testing.assert_array_equal(net.params, mlp(random_state=1).params)


# --- pickle, config, copy ---------------------------------------------------------------------

def test_pickle_round_trip_keeps_the_views_bound(rng):
    net = Sequential([Dense(4), ReLU(), Dropout(0.3), Dense(2)]).build(3, random_state=0)
    X = rng.normal(size=(5, 3))
    clone = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(clone.params, net.params)
    np.testing.assert_array_equal(clone.forward(X), net.forward(X))
    for name, view in clone.named_parameters().items():
        assert np.shares_memory(view, clone.params), name
        assert not np.shares_memory(view, net.params), name
    for name, view in clone.named_gradients().items():
        assert np.shares_memory(view, clone.grads), name
    clone.params[:] = 0.0  # the clone's layers read its vector ...
    np.testing.assert_array_equal(clone.forward(X), 0.0)
    assert not np.allclose(net.forward(X), 0.0)  # ... and the original is untouched
    clone.forward(X)
    clone.backward(np.ones((5, 2)))
    assert np.any(clone.grads != 0)


def test_get_config_from_config_round_trip():
    net = Sequential([Dense(4, init="he_normal"), LeakyReLU(0.2), Dropout(0.1),
                      Dense(2, bias=False), Softmax()])
    config = net.get_config()
    assert config == {"layers": [
        {"class": "Dense", "config": {"n_out": 4, "init": "he_normal", "bias": True}},
        {"class": "LeakyReLU", "config": {"negative_slope": 0.2}},
        {"class": "Dropout", "config": {"rate": 0.1}},
        {"class": "Dense", "config": {"n_out": 2, "init": "auto", "bias": False}},
        {"class": "Softmax", "config": {}},
    ]}
    rebuilt = Sequential.from_config(config)
    assert rebuilt.get_config() == config
    assert not rebuilt.built
    assert repr(rebuilt) == (
        "Sequential([Dense(n_out=4, init='he_normal', bias=True), LeakyReLU(negative_slope=0.2), "
        "Dropout(rate=0.1), Dense(n_out=2, init='auto', bias=False), Softmax()])")


def test_copy_is_independent_and_can_cast(rng):
    net = mlp()
    net.params[:] = rng.normal(size=net.params.size)
    X = rng.normal(size=(4, 3))
    clone = net.copy()
    np.testing.assert_array_equal(clone.params, net.params)
    np.testing.assert_array_equal(clone.forward(X), net.forward(X))
    clone.params[:] = 0
    assert np.any(net.params != 0)
    as32 = net.copy(dtype=np.float32)
    assert as32.dtype == np.float32 and as32.params.dtype == np.float32
    np.testing.assert_array_equal(as32.params, net.params.astype(np.float32))
    back = as32.copy(dtype=np.dtype("float64"))
    assert back.params.dtype == np.float64


def test_copy_keeps_custom_layer_classes(rng):
    class Cube(Identity):
        def forward(self, X, *, training=False):
            self._X = X
            return X**3

        def backward(self, dY, *, input_grad=True):
            return 3 * self._X**2 * dY

    net = Sequential([Dense(3), Cube(), Dense(1)]).build(2, random_state=0)
    clone = net.copy()
    assert type(clone[1]) is Cube
    X = rng.normal(size=(4, 2))
    np.testing.assert_array_equal(clone.forward(X), net.forward(X))


# --- errors -----------------------------------------------------------------------------------

NOT_BUILT = "Sequential is not built yet; call build(n_in) first (fit() does this for you)."


@pytest.mark.parametrize(
    "use",
    [
        lambda net: net.forward(np.ones((2, 3))),
        lambda net: net.backward(np.ones((2, 1))),
        lambda net: net.named_parameters(),
        lambda net: net.penalized,
        lambda net: net.copy(),
        lambda net: net.reset_parameters(0),
    ],
    ids=["forward", "backward", "named_parameters", "penalized", "copy", "reset_parameters"],
)
def test_use_before_build_raises(use):
    net = Sequential([Dense(1)])
    with pytest.raises(RuntimeError, match=re.escape(NOT_BUILT)):
        use(net)


@pytest.mark.parametrize(
    ("X", "exc", "message"),
    [
        (np.ones((5, 4)), ValueError, "X has 4 features, but this network was built for 3."),
        (np.ones(3), ValueError,
         "X must be 2-D with shape (n_samples, n_features), got shape (3,). Reshape a single "
         "sample with X.reshape(1, -1) or a single feature with X.reshape(-1, 1)."),
        (np.ones((2, 3, 1)), ValueError,
         "X must be 2-D with shape (n_samples, n_features), got shape (2, 3, 1)."),
        (np.ones((5, 3), dtype=np.float32), ValueError,
         "X has dtype float32, but this network was built for float64. Convert it with "
         "X.astype(np.float64) or build the network with dtype=np.float32."),
        (np.ones((5, 3), dtype=np.int64), ValueError,
         "X has dtype int64, but this network was built for float64."),
        ([[1.0, 2.0, 3.0]], TypeError, "X must be a numpy array, got list."),
    ],
    ids=["width", "one_d", "three_d", "float32", "int64", "list"],
)
def test_forward_rejects_bad_input(X, exc, message):
    net = Sequential([Dense(2)]).build(3, random_state=0)
    with pytest.raises(exc, match=re.escape(message)):
        net.forward(X)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([Dense(2), "relu"], "layers[1] must be a numnet Layer (e.g. Dense(8), ReLU()), got str."),
        ([ReLU], "layers[0] must be a numnet Layer (e.g. Dense(8), ReLU()), got type."),
    ],
    ids=["string", "class_not_instance"],
)
def test_sequential_rejects_non_layers(layers, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        Sequential(layers)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_in": 0}, "n_in must be an integer >= 1, got 0."),
        ({"n_in": 3, "dtype": np.int64}, "dtype must be float32 or float64, got 'int64'."),
        ({"n_in": 3, "dtype": np.float16}, "dtype must be float32 or float64, got 'float16'."),
    ],
    ids=["n_in", "int64", "float16"],
)
def test_build_errors(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Sequential([Dense(1)]).build(**kwargs)


def test_from_config_rejects_unknown_layers():
    with pytest.raises(ValueError, match=re.escape(
        "layer class must be one of ['CategoricalEmbedding', 'Dense', 'Dropout', "
        "'EnsembleDense', 'EnsembleFork', 'Identity', 'LeakyReLU', 'PeriodicEmbedding', 'ReLU', "
        "'Scale', 'Sigmoid', 'Softmax', 'Tanh'], got 'Conv2D'."
    )):
        Sequential.from_config({"layers": [{"class": "Conv2D", "config": {}}]})


def test_auto_init_looks_past_dropout_to_the_activation():
    n_in = 50
    net = Sequential([Dense(400), Dropout(0.5), ReLU(), Dense(400), Dropout(0.5), Tanh(),
                      Dense(1)]).build(n_in, random_state=0)
    he_limit, glorot_limit = np.sqrt(6 / n_in), np.sqrt(6 / (400 + 400))
    first, second = net[0].params["W"], net[3].params["W"]
    assert net[0].resolved_init == "he_uniform" and net[3].resolved_init == "glorot_uniform"
    # He's bound is wider: the largest draw from 20000 uniform values sits close to it.
    assert he_limit * 0.99 < np.abs(first).max() <= he_limit
    assert glorot_limit * 0.99 < np.abs(second).max() <= glorot_limit


def test_the_same_layer_object_twice_is_refused():
    relu = ReLU()
    with pytest.raises(ValueError, match=re.escape(
            "layers[3] must be a new layer object, got the same object as layers[1]. Create one "
            "instance per position, e.g. ReLU().")):
        Sequential([Dense(3), relu, Dense(3), relu, Dense(1)])


def test_an_empty_network_is_refused():
    with pytest.raises(ValueError, match=re.escape(
            "layers must contain at least one layer, got none. Start with e.g. "
            "[Dense(8), ReLU(), Dense(1)].")):
        Sequential([])


def test_clear_cache_releases_the_input_and_activations(rng):
    import weakref

    net = Sequential([Dense(4), ReLU(), Dropout(0.5), Dense(1)]).build(3, random_state=0)
    X = rng.normal(size=(50, 3))
    net.forward(X, training=True)
    input_ref = weakref.ref(X)
    net.clear_cache()
    del X
    assert input_ref() is None  # nothing in the network keeps the input alive
    assert not any(hasattr(layer, key) for layer in net.layers for key in ("_X", "_Y", "_mask"))


# --- mutation-testing gaps (make mutate) ------------------------------------------------------


def test_auto_init_reads_the_very_next_layer_and_explicit_inits_are_kept():
    n_in = 50
    net = Sequential([Dense(400), ReLU(), Dense(400, init="glorot_normal"), ReLU(),
                      Dense(1)]).build(n_in, random_state=0)
    assert [net[0].resolved_init, net[2].resolved_init, net[4].resolved_init] == [
        "he_uniform", "glorot_normal", "glorot_uniform"]
    he_limit = np.sqrt(6 / n_in)
    assert he_limit * 0.99 < np.abs(net[0].params["W"]).max() <= he_limit
    # glorot_normal: std sqrt(2 / (400 + 400)) = 0.05, not He's 0.07 (160000 draws)
    assert abs(net[2].params["W"].std() - 0.05) < 0.001


def test_parameters_keep_each_layers_own_order_within_the_penalised_block():
    from numnet import Layer

    class TwoWeights(Layer):
        penalized = ("V", "U")

        def param_shapes(self, n_in):
            return {"V": (n_in,), "U": (n_in,), "c": (1,)}

        def reset_parameters(self, rng):
            for name, value in zip(("V", "U", "c"), (1.0, 2.0, 3.0), strict=True):
                self.params[name][...] = value

    net = Sequential([TwoWeights()]).build(2)
    # penalised first, in the order the layer lists them (V before U), then the rest
    np.testing.assert_array_equal(net.params, [1.0, 1.0, 2.0, 2.0, 3.0])
    assert net.n_penalized == 4
    assert list(net.named_parameters()) == ["0.V", "0.U", "0.c"]


def test_a_network_without_parameters_backpropagates(rng):
    net = Sequential([Tanh(), ReLU()]).build(3)
    assert net.params.size == 0 and net.built is True
    assert Sequential([Tanh()]).built is False
    X, G = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    Y = net.forward(X)
    np.testing.assert_allclose(Y, np.maximum(np.tanh(X), 0), rtol=1e-15)
    assert net.backward(G, input_grad=False) is None
    np.testing.assert_allclose(net.backward(G), G * (Y > 0) * (1 - np.tanh(X) ** 2),
                               rtol=1e-14)


def test_input_gradient_passes_the_layers_below_the_first_trainable_one(rng):
    net = Sequential([Tanh(), Dense(2)]).build(3, random_state=0)
    X, G = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    net.forward(X)
    W = net[1].params["W"]
    np.testing.assert_allclose(net.backward(G), (G @ W.T) * (1 - np.tanh(X) ** 2), rtol=1e-14)
    net.forward(X)
    assert net.backward(G, input_grad=False) is None
    np.testing.assert_allclose(net.grads[:W.size].reshape(W.shape), np.tanh(X).T @ G,
                               rtol=1e-14)


def test_training_forward_applies_dropout_and_inference_does_not():
    net = Sequential([Dense(30), Dropout(0.5)]).build(4, random_state=0)
    X = np.ones((20, 4))
    Y = net.forward(X)
    Z = net.forward(X, training=True)
    dropped = Z == 0
    assert 0.3 < dropped.mean() < 0.7
    np.testing.assert_allclose(Z[~dropped], 2 * Y[~dropped], rtol=1e-15)


def test_sparse_input_formats(rng):
    import scipy.sparse as sp

    X = rng.normal(size=(5, 3)) * (rng.random((5, 3)) < 0.5)
    net = Sequential([Dense(2)]).build(3, random_state=0)
    for fmt in ("csr", "csc"):
        np.testing.assert_allclose(net.forward(sp.csr_matrix(X).asformat(fmt)),
                                   net.forward(X), rtol=1e-14)
    with pytest.raises(TypeError) as info:
        net.forward(sp.coo_matrix(X))
    assert str(info.value) == (
        "X must be a numpy array or a CSR/CSC sparse matrix feeding a Dense first layer, got "
        "a COO matrix for a network starting with Dense. Convert it with X.tocsr() or "
        "X.toarray().")
    net = Sequential([ReLU(), Dense(2)]).build(3, random_state=0)
    with pytest.raises(TypeError) as info:
        net.forward(sp.csr_matrix(X))
    assert str(info.value) == (
        "X must be a numpy array or a CSR/CSC sparse matrix feeding a Dense first layer, got "
        "a CSR matrix for a network starting with ReLU. Convert it with X.tocsr() or "
        "X.toarray().")


def test_copy_shares_no_layer_and_seeds_its_dropout_like_random_state_zero(rng):
    net = Sequential([Dense(8), Dropout(0.5), Dense(1)]).build(3, random_state=5)
    X = rng.normal(size=(6, 3))
    before = net.forward(X).copy()
    clone = net.copy()
    assert all(a is not b for a, b in zip(net.layers, clone.layers, strict=True))
    clone.params[:] = 0
    np.testing.assert_array_equal(net.forward(X), before)
    # The copy is deterministic: its dropout generator is seeded as build(random_state=0).
    fresh = Sequential([Dense(8), Dropout(0.5), Dense(1)]).build(3, random_state=0)
    fresh.params[...] = clone.params[...] = net.params
    for _ in range(2):
        np.testing.assert_array_equal(clone.forward(X, training=True),
                                      fresh.forward(X, training=True))


def test_objective_takes_the_fused_kernels_value_and_gradient_when_it_applies(monkeypatch, rng):
    # kernels.linear_objective returns None unless its fused loop applies (numba, a big
    # Dense(1) model); when it returns a value, objective uses it and its gradient, adds the
    # penalty, and does not run the NumPy path.
    from numnet import kernels

    net = Sequential([Dense(1)]).build(3, random_state=0)
    X, y, w = rng.normal(size=(5, 3)), rng.normal(size=(5, 1)), rng.random(5)
    loss, calls = MeanSquaredError(), []

    def fused(*args):
        calls.append(args)
        args[0].grads[...] = 7.0
        return 1.5

    monkeypatch.setattr(kernels, "linear_objective", fused)
    regularizer = ElasticNet(alpha=0.5, l1_ratio=0.0)
    W = net.penalized.copy()
    value, grads = objective(net, loss, X, y, regularizer=regularizer, sample_weight=w)
    assert len(calls) == 1 and len(calls[0]) == 5
    assert all(a is b for a, b in zip(calls[0], (net, loss, X, y, w), strict=True))
    assert value == 1.5 + regularizer.penalty(W)
    np.testing.assert_allclose(grads[:W.size], 7.0 + regularizer.gradient(W, out=np.zeros(3)),
                               rtol=1e-15)
    np.testing.assert_array_equal(grads[W.size:], 7.0)


def test_forward_outside_training_applies_relu_in_place_with_the_same_numbers():
    # issue 26 item 5: after a Dense layer (a new array) ReLU writes into that array: one
    # array of the hidden width less at the peak of a validation pass, the same output
    from numnet import Dense, ReLU, Sequential, Tanh
    net = Sequential([Dense(16), ReLU(), Dense(8), Tanh(), ReLU(), Dense(2)]).build(
        5, random_state=0)
    X = np.random.default_rng(0).normal(size=(40, 5))
    kept = X.copy()
    expected = X
    for layer in net.layers:
        expected = layer.forward(expected)
    got = net.forward(X)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(X, kept)                  # the caller's X is never written
    relu, after_tanh = net.layers[1], net.layers[4]
    assert relu._Y is net.layers[2]._X                      # the in-place array, as cached
    assert after_tanh._Y is not net.layers[3]._Y            # not after an activation
    np.testing.assert_array_equal(net.forward(X, training=True), got)
