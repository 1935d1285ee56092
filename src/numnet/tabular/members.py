"""Ensemble members: k networks trained from their own seeds, kept as one plain network."""

import numpy as np


def member_seed(random_state, member):
    """The seed of ensemble member ``member`` (0 keeps ``random_state``; None stays None)."""
    if random_state is None or member == 0:
        return random_state
    return int(np.random.SeedSequence([random_state, member]).generate_state(1)[0])


def train_members(estimator, k, fit):
    """Train k - 1 more copies of the fitted MLP ``estimator`` and make it their average.

    Each member is a fresh copy of the estimator's hyperparameters from its own seed
    (:func:`member_seed`), trained by ``fit(member)`` on the rows the estimator saw;
    :func:`numnet.network.merge_networks` then puts the k networks side by side in one, so
    ``estimator`` predicts the members' mean (regression) or the softmax of their mean logits
    (classification) and is saved, exported and explained as any MLP. Its
    ``hidden_layer_sizes`` become k times the members'; its training curves stay those of the
    first member. Averaging k independently trained networks lowers the variance of the
    prediction (Lakshminarayanan et al., 2017, "Deep Ensembles").
    """
    from sklearn.base import clone

    from ..network import merge_networks

    networks = [estimator.network_]
    for member in range(1, k):
        other = clone(estimator).set_params(
            random_state=member_seed(estimator.random_state, member))
        fit(other)
        networks.append(other.network_)
    estimator.network_ = merge_networks(networks)
    estimator.hidden_layer_sizes = tuple(k * int(h) for h in estimator.hidden_layer_sizes)
    estimator.__dict__.pop("_optimizer", None)  # its moments belong to the first member
