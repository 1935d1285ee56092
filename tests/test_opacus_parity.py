"""Parity with Opacus: the clipped mean gradient of one fixed batch, noise off, in float32.

Same initial weights (PyTorch's Linear stores W transposed), same batch, sigma = 0: numnet's
ClippedNoisyGradient and Opacus's DPOptimizer (per-sample gradients from hooks, and ghost
clipping) must give the same clipped mean gradient. Skipped without torch and opacus.
"""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
opacus = pytest.importorskip("opacus")

import numnet as nn  # noqa: E402  (after importorskip)
from numnet.privacy import ClippedNoisyGradient  # noqa: E402

SIZES = (12, 16, 8, 4)
BATCH = 32
TOL = 1e-6


def _problem(activation):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(BATCH, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    layers = []
    for n_out in SIZES[1:-1]:
        layers += [nn.Dense(n_out), nn.ReLU() if activation == "relu" else nn.Tanh()]
    net = nn.Sequential(layers + [nn.Dense(SIZES[-1])]).build(
        SIZES[0], random_state=0, dtype=np.float32)
    modules = []
    for layer in net.layers:
        if isinstance(layer, nn.Dense):
            linear = torch.nn.Linear(*layer.params["W"].shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.params["b"].copy()))
            modules.append(linear)
        else:
            modules.append(torch.nn.ReLU() if activation == "relu" else torch.nn.Tanh())
    return net, torch.nn.Sequential(*modules), X, labels


def _numnet_gradient(net, X, labels, max_grad_norm):
    gradient = ClippedNoisyGradient(max_grad_norm, 0.0, expected_batch_size=float(BATCH))
    gradient(net, nn.SoftmaxCrossEntropy(), X,
             np.eye(SIZES[-1], dtype=np.float32)[labels], None)
    out = []
    for layer in net.layers:
        if isinstance(layer, nn.Dense):
            out += [layer.grads["W"].T, layer.grads["b"]]
    return out, gradient.clip_factors


def _opacus_gradient(model, X, labels, max_grad_norm, ghost):
    from opacus.optimizers import DPOptimizer
    Xt, yt = torch.from_numpy(X), torch.from_numpy(labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if ghost:
            from opacus.grad_sample import GradSampleModuleFastGradientClipping
            from opacus.optimizers import DPOptimizerFastGradientClipping
            from opacus.utils.fast_gradient_clipping_utils import DPLossFastGradientClipping
            module = GradSampleModuleFastGradientClipping(
                model, max_grad_norm=max_grad_norm, use_ghost_clipping=True)
            optimizer = DPOptimizerFastGradientClipping(
                torch.optim.SGD(module.parameters(), lr=0.0), noise_multiplier=0.0,
                max_grad_norm=max_grad_norm, expected_batch_size=BATCH)
            criterion = DPLossFastGradientClipping(
                module, optimizer, torch.nn.CrossEntropyLoss(reduction="mean"))
            optimizer.zero_grad()
            criterion(module(Xt), yt).backward()
        else:
            from opacus import GradSampleModule
            module = GradSampleModule(model)
            optimizer = DPOptimizer(torch.optim.SGD(module.parameters(), lr=0.0),
                                    noise_multiplier=0.0, max_grad_norm=max_grad_norm,
                                    expected_batch_size=BATCH)
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(module(Xt), yt).backward()
        optimizer.pre_step()         # clip, sum, add (zero) noise, divide by the batch size
    return [p.grad.detach().numpy() for p in module.parameters()]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("ghost", [False, True], ids=["hooks", "ghost"])
def test_clipped_mean_gradient_equals_opacus(activation, ghost):
    net, model, X, labels = _problem(activation)
    unclipped = ClippedNoisyGradient(np.inf, 0.0, float(BATCH))
    unclipped.clipped_sum(net, nn.SoftmaxCrossEntropy(), X,
                          np.eye(SIZES[-1], dtype=np.float32)[labels], None)
    max_grad_norm = float(np.median(unclipped.norms))   # half the rows clipped
    ours, factors = _numnet_gradient(net, X, labels, max_grad_norm)
    assert 0.3 < np.mean(factors < 1) < 0.7
    theirs = _opacus_gradient(model, X, labels, max_grad_norm, ghost)
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
