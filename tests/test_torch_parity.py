"""Parity with PyTorch in float64: optimizer trajectories, losses, layer forward and backward.

The same computation in two implementations, forward and backward (micrograd's habit). numnet
stores W as (n_in, n_out) and PyTorch's Linear as (n_out, n_in): weights are copied transposed.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from numnet import (  # noqa: E402  (after importorskip)
    SGD,
    Adam,
    AdamW,
    BinaryCrossEntropy,
    Dense,
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
)

TRAJECTORY_RTOL = 1e-12


def tensor(array, grad=False):
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=grad)


# --- optimizer trajectories on a small MLP ----------------------------------------------------

def twin_mlps(rng, n_in=4, hidden=6, n_out=3):
    """A numnet MLP and the same PyTorch MLP holding the same (transposed) weights."""
    net = Sequential([Dense(hidden), Tanh(), Dense(n_out)]).build(n_in, random_state=0)
    net.params[:] = rng.normal(scale=0.5, size=net.params.size)
    model = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.Tanh(),
                                torch.nn.Linear(hidden, n_out)).double()
    copy_into_torch(net, model)
    return net, model


def copy_into_torch(net, model):
    named = net.named_parameters()
    with torch.no_grad():
        for index in (0, 2):
            model[index].weight.copy_(tensor(named[f"{index}.W"].T))
            model[index].bias.copy_(tensor(named[f"{index}.b"]))


def torch_params_as_flat(net, model):
    """PyTorch's parameters in numnet's flat layout (weights first, transposed back)."""
    out = np.empty_like(net.params)
    for name, view in net.named_parameters().items():
        index, kind = name.split(".")
        layer = model[int(index)]
        value = layer.weight.detach().numpy().T if kind == "W" else layer.bias.detach().numpy()
        offset = (view.__array_interface__["data"][0]
                  - net.params.__array_interface__["data"][0]) // view.itemsize
        out[offset:offset + view.size] = value.ravel()
    return out


OPTIMIZERS = {
    "sgd": (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd_momentum": (lambda: SGD(0.1, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "sgd_nesterov": (lambda: SGD(0.1, momentum=0.9, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    "adam": (lambda: Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_betas": (lambda: Adam(0.02, beta1=0.5, beta2=0.9, epsilon=1e-3),
                   lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-3)),
    "adamw": (lambda: AdamW(0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
}


@pytest.mark.parametrize("loss_name", ["mse", "softmax_ce"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_trajectory_matches_torch(name, loss_name, rng):
    ours_factory, torch_factory = OPTIMIZERS[name]
    net, model = twin_mlps(rng)
    X = rng.normal(size=(32, 4))
    labels = rng.integers(0, 3, size=32)
    if loss_name == "mse":
        y, loss = rng.normal(size=(32, 3)), MeanSquaredError()

        def torch_loss(out, batch):
            return F.mse_loss(out, tensor(y[batch]))
    else:
        y, loss = np.eye(3)[labels], SoftmaxCrossEntropy()

        def torch_loss(out, batch):
            return F.cross_entropy(out, torch.tensor(labels[batch]))

    ours, theirs = ours_factory(), torch_factory(model.parameters())
    batches = [slice(i, i + 8) for i in range(0, 32, 8)] * 5  # 20 steps, 4 mini-batches
    for step, batch in enumerate(batches):
        objective(net, loss, X[batch], y[batch])
        ours.step(net.params, net.grads)
        theirs.zero_grad()
        torch_loss(model(tensor(X[batch])), batch).backward()
        theirs.step()
        np.testing.assert_allclose(net.params, torch_params_as_flat(net, model),
                                   rtol=TRAJECTORY_RTOL, atol=1e-14, err_msg=f"step {step}")


# --- losses -----------------------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", ["mse", "bce", "softmax_ce", "softmax_ce_soft_targets"])
def test_loss_and_gradient_match_torch(name, weighted, rng):
    raw = rng.normal(scale=3, size=(10, 3))
    w = rng.uniform(0.1, 2, size=10) if weighted else np.ones(10)
    raw_t = tensor(raw, grad=True)
    w_t = tensor(w)
    if name == "mse":
        y, loss = rng.normal(size=(10, 3)), MeanSquaredError()
        per_sample = F.mse_loss(raw_t, tensor(y), reduction="none").mean(dim=1)
    elif name == "bce":
        y, loss = rng.integers(0, 2, size=(10, 3)).astype(float), BinaryCrossEntropy()
        per_sample = F.binary_cross_entropy_with_logits(
            raw_t, tensor(y), reduction="none").sum(dim=1)
    elif name == "softmax_ce":
        labels = rng.integers(0, 3, size=10)
        y, loss = np.eye(3)[labels], SoftmaxCrossEntropy()
        per_sample = F.cross_entropy(raw_t, torch.tensor(labels), reduction="none")
    else:
        y, loss = rng.dirichlet(np.ones(3), size=10), SoftmaxCrossEntropy()
        per_sample = F.cross_entropy(raw_t, tensor(y), reduction="none")
    expected = (w_t * per_sample).sum() / w_t.sum()
    expected.backward()
    value, grad = loss.loss_gradient(y, raw, w if weighted else None)
    np.testing.assert_allclose(value, expected.item(), rtol=1e-14)
    np.testing.assert_allclose(grad, raw_t.grad.numpy(), rtol=1e-13, atol=1e-17)


def test_unweighted_losses_equal_torch_default_reductions(rng):
    raw = rng.normal(size=(8, 1))
    y = rng.integers(0, 2, size=(8, 1)).astype(float)
    np.testing.assert_allclose(
        BinaryCrossEntropy().loss(y, raw),
        F.binary_cross_entropy_with_logits(tensor(raw), tensor(y)).item(), rtol=1e-14)
    np.testing.assert_allclose(MeanSquaredError().loss(y, raw),
                               F.mse_loss(tensor(raw), tensor(y)).item(), rtol=1e-14)


@pytest.mark.parametrize("sign", [1, -1], ids=["plus", "minus"])
def test_losses_at_logits_of_1000_match_torch(sign):
    raw = sign * np.array([[1000.0, -1000.0, 0.0]])
    labels = np.array([1])
    ours = SoftmaxCrossEntropy().loss(np.eye(3)[labels], raw)
    theirs = F.cross_entropy(tensor(raw), torch.tensor(labels)).item()
    assert ours == theirs
    y = np.array([[0.0, 1.0, 1.0]])
    np.testing.assert_allclose(
        BinaryCrossEntropy().loss(y, raw),
        F.binary_cross_entropy_with_logits(tensor(raw), tensor(y), reduction="sum").item(),
        rtol=1e-15)


# --- layers -----------------------------------------------------------------------------------

LAYERS = {
    "identity": (Identity, lambda x: x),
    "relu": (ReLU, torch.relu),
    "leaky_relu": (lambda: LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)),
    "leaky_relu_steep": (lambda: LeakyReLU(3.0), lambda x: F.leaky_relu(x, 3.0)),
    "sigmoid": (Sigmoid, torch.sigmoid),
    "tanh": (Tanh, torch.tanh),
    "softmax": (Softmax, lambda x: torch.softmax(x, dim=1)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_activation_forward_and_backward_match_autograd(name, rng):
    make, torch_fn = LAYERS[name]
    layer = make()
    Sequential([layer]).build(5)
    X, G = rng.normal(scale=2, size=(7, 5)), rng.normal(size=(7, 5))
    X_t = tensor(X, grad=True)
    Y_t = torch_fn(X_t)
    Y_t.backward(tensor(G))
    np.testing.assert_allclose(layer.forward(X), Y_t.detach().numpy(), rtol=1e-14, atol=1e-300)
    # atol: tanh's 1 - Y**2 (from the cached output) cancels near |Y| = 1, an absolute error
    # of about one ulp of 1, while autograd differentiates from X.
    np.testing.assert_allclose(layer.backward(G), X_t.grad.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_dense_forward_and_backward_match_autograd(bias, rng):
    net = Sequential([Dense(3, bias=bias)]).build(4, random_state=0)
    layer = net[0]
    X, G = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    linear = torch.nn.Linear(4, 3, bias=bias).double()
    with torch.no_grad():
        linear.weight.copy_(tensor(layer.params["W"].T))
        if bias:
            layer.params["b"][...] = rng.normal(size=3)
            linear.bias.copy_(tensor(layer.params["b"]))
    X_t = tensor(X, grad=True)
    Y_t = linear(X_t)
    Y_t.backward(tensor(G))
    np.testing.assert_allclose(layer.forward(X), Y_t.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(layer.backward(G), X_t.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(layer.grads["W"], linear.weight.grad.numpy().T, rtol=1e-14)
    if bias:
        np.testing.assert_allclose(layer.grads["b"], linear.bias.grad.numpy(), rtol=1e-14)


def test_whole_network_gradient_matches_autograd(rng):
    net, model = twin_mlps(rng)
    X = rng.normal(size=(9, 4))
    labels = rng.integers(0, 3, size=9)
    value, grads = objective(net, SoftmaxCrossEntropy(), X, np.eye(3)[labels])
    loss = F.cross_entropy(model(tensor(X)), torch.tensor(labels))
    loss.backward()
    np.testing.assert_allclose(value, loss.item(), rtol=1e-14)
    named = net.named_gradients()
    for index in (0, 2):
        np.testing.assert_allclose(named[f"{index}.W"], model[index].weight.grad.numpy().T,
                                   rtol=1e-12, atol=1e-16)
        np.testing.assert_allclose(named[f"{index}.b"], model[index].bias.grad.numpy(),
                                   rtol=1e-12, atol=1e-16)
