"""Parity with Captum on identical weights in float64 (skipped without torch and captum).

Install them with ``pip install torch==2.13.0 captum`` (torch from local disk; see README).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

import numnet as nn  # noqa: E402  (after importorskip)
import numnet.explain.methods  # noqa: E402
from numnet.explain import (  # noqa: E402
    integrated_gradients,
    quadrature,
    saliency,
    smoothgrad,
)


def captum_quadrature(n_steps, rule):
    """Captum's rules as it evaluates them.

    It casts the weights to float32 (``torch.tensor(step_sizes).float()``), ~5e-8 relative in
    float64 attributions, and its trapezoid rule takes weights ``1/n`` (halved at the ends) on
    float32 ``torch.linspace(0, 1, n)`` nodes: they sum to ``(n - 1)/n``, not 1, so its
    trapezoid attributions are ``(n - 1)/n`` of the integral's (numnet's rule sums to 1).
    """
    nodes, weights = quadrature(n_steps, rule)
    if rule == "riemann_trapezoid":
        nodes = torch.linspace(0, 1, n_steps).double().numpy()
        weights = np.full(n_steps, 1 / n_steps)
        weights[[0, -1]] /= 2
    return nodes, weights.astype(np.float32).astype(np.float64)


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
def test_saliency_and_integrated_gradients_match_captum(rng, monkeypatch, activation,
                                                       torch_activation):
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
        expected = expected.detach().numpy()
        result = integrated_gradients(net, X, target=target, n_steps=40, method=rule)
        # numnet's float64 weights against Captum's float32 ones: 1e-6 (and the trapezoid's
        # weights sum to 1 in numnet, to (n - 1)/n in Captum).
        scale = 39 / 40 if rule == "riemann_trapezoid" else 1.0
        np.testing.assert_allclose(result.values * scale, expected, rtol=1e-6, atol=1e-9)
        with monkeypatch.context() as patch:
            patch.setattr(numnet.explain.methods, "quadrature", captum_quadrature)
            same_rule = integrated_gradients(net, X, target=target, n_steps=40, method=rule)
        np.testing.assert_allclose(same_rule.values, expected, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(same_rule.delta, delta.detach().numpy(), rtol=1e-6,
                                   atol=1e-10)


def test_smoothgrad_matches_captums_noise_tunnel_with_the_same_draws(rng):
    net, model = twins(rng, nn.Tanh, torch.nn.Tanh)
    X = rng.normal(size=(4, 5))
    target, n_samples, sigma = [0, 2, 1, 0], 16, 0.3
    torch.manual_seed(7)
    expected = captum_attr.NoiseTunnel(captum_attr.Saliency(model)).attribute(
        torch.tensor(X, requires_grad=True), nt_type="smoothgrad", nt_samples=n_samples,
        stdevs=sigma, target=target, abs=False).detach().numpy()
    # Captum draws torch.normal(0, sigma) once, in float32, for the rows repeated n_samples
    # times each (repeat_interleave): numnet's (n_rows, n_samples, n_features) order.
    torch.manual_seed(7)
    noise = torch.normal(0, torch.tensor(sigma).repeat(4 * n_samples, 5))
    draws = noise.double().numpy().reshape(4, n_samples, 5) / sigma
    result = smoothgrad(net, X, target=target, stdevs=sigma, draws=draws)
    np.testing.assert_allclose(result.values, expected, rtol=1e-8, atol=1e-10)
