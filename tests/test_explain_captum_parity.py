"""Parity with Captum on identical weights in float64 (skipped without torch and captum).

Install them with ``pip install torch==2.13.0 captum`` (torch from local disk; see README).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

import numnet as nn  # noqa: E402  (after importorskip)
from numnet.explain import integrated_gradients, saliency  # noqa: E402


def twins(rng, activation, torch_activation):
    net = nn.Sequential([nn.Dense(8), activation(), nn.Dense(6), activation(),
                         nn.Dense(3)]).build(5, random_state=0)
    net.params[:] = rng.normal(scale=0.7, size=net.params.size)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch_activation(), torch.nn.Linear(8, 6),
                                torch_activation(), torch.nn.Linear(6, 3)).double()
    named = net.named_parameters()
    with torch.no_grad():
        for index in (0, 2, 4):
            model[index].weight.copy_(torch.tensor(named[f"{index}.W"].T))
            model[index].bias.copy_(torch.tensor(named[f"{index}.b"]))
    return net, model


@pytest.mark.parametrize(("activation", "torch_activation"), [
    (nn.Tanh, torch.nn.Tanh), (nn.ReLU, torch.nn.ReLU), (nn.Sigmoid, torch.nn.Sigmoid)])
def test_saliency_and_integrated_gradients_match_captum(rng, activation, torch_activation):
    net, model = twins(rng, activation, torch_activation)
    X = rng.normal(size=(7, 5))
    inputs = torch.tensor(X, requires_grad=True)
    target = [0, 1, 2, 0, 1, 2, 0]
    expected = captum_attr.Saliency(model).attribute(inputs, target=target, abs=False)
    np.testing.assert_allclose(saliency(net, X, target=target).values,
                               expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for rule in ("gausslegendre", "riemann_trapezoid"):
        expected, delta = captum_attr.IntegratedGradients(model).attribute(
            inputs, target=target, n_steps=40, method=rule, return_convergence_delta=True)
        result = integrated_gradients(net, X, target=target, n_steps=40, method=rule)
        np.testing.assert_allclose(result.values, expected.detach().numpy(), rtol=1e-8,
                                   atol=1e-10)
        np.testing.assert_allclose(result.delta, delta.detach().numpy(), rtol=1e-6, atol=1e-10)
