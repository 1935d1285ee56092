"""Check backpropagation against finite differences for every activation, loss and weighting.

Builds a 4-6-5-3 network for each of the six activations and three losses, with and without
sample weights and with an elastic-net penalty, and prints the largest error that
``numnet.check_gradients`` reports (central differences, eps = 1e-6, float64): the worst
``|a - n| / (atol + rtol |n|)`` over all entries (1 or less passes; rtol = 1e-5, atol = 1e-8),
and the worst error relative to a parameter's largest gradient entry.

Usage: python examples/check_every_gradient.py
"""

import numpy as np

import numnet as nn


def main():
    """Run every check and print the largest error."""
    rng = np.random.default_rng(0)
    worst, where, worst_relative, failed = 0.0, None, 0.0, 0
    activations = (nn.Identity, nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softmax)
    for activation in activations:
        for loss_name in ("mse", "bce", "softmax"):
            for weighted in (False, True):
                X = rng.normal(size=(8, 4))
                if loss_name == "mse":
                    loss, y = nn.MeanSquaredError(), rng.normal(size=(8, 3))
                elif loss_name == "bce":
                    loss, y = nn.BinaryCrossEntropy(), rng.integers(0, 2, (8, 3)).astype(float)
                else:
                    loss, y = nn.SoftmaxCrossEntropy(), np.eye(3)[rng.integers(0, 3, 8)]
                net = nn.Sequential([nn.Dense(6), activation(), nn.Dense(5), activation(),
                                     nn.Dense(3)]).build(4, random_state=1)
                weights = rng.uniform(0.5, 2, 8) if weighted else None
                errors = nn.check_gradients(net, loss, X, y, sample_weight=weights,
                                            regularizer=nn.ElasticNet(0.05, 0.3))
                error = max(errors.values())
                worst_relative = max(worst_relative, *errors.relative.values())
                failed += not errors.passed
                if error > worst:
                    worst, where = error, f"{activation.__name__}, {loss_name}, weighted={weighted}"
    n_networks = len(activations) * 3 * 2
    print(f"{n_networks} networks checked, {failed} failed; largest error {worst:.2e} of the "
          f"tolerance ({where}); largest relative error {worst_relative:.2e}")


if __name__ == "__main__":
    main()
