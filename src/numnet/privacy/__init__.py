"""Differential privacy: DP-SGD's sampler, clipped and noised gradient, and its accountant.

==================  ===========================================================================
``sampling``        :class:`PoissonBatches`: each row in a batch with probability q, drawn
                    one uniform number a row or by geometric gaps (``SAMPLERS``)
``gradients``       :class:`ClippedNoisyGradient`: per-sample clipping without per-sample
                    gradients, Gaussian noise, division by the expected batch size
``accounting``      :func:`compute_epsilon`, :func:`calibrate_noise_multiplier` and the
                    :class:`PrivacyAccountant` callback (the ``privacy`` extra: dp-accounting)
``training``        :func:`train_private`: the training loop with those parts
==================  ===========================================================================
"""

from .accounting import (
    ACCOUNTANTS,
    PrivacyAccountant,
    calibrate_noise_multiplier,
    compute_epsilon,
)
from .gradients import SUPPORTED_LAYERS, ClippedNoisyGradient, check_private_network
from .sampling import SAMPLERS, PoissonBatches
from .training import PrivateHistory, train_private

__all__ = [
    "ACCOUNTANTS", "SUPPORTED_LAYERS", "ClippedNoisyGradient", "PoissonBatches",
    "PrivacyAccountant", "PrivateHistory", "SAMPLERS", "calibrate_noise_multiplier",
    "check_private_network", "compute_epsilon", "train_private",
]
