"""Differential privacy: DP-SGD's sampler, clipped and noised gradient, and its accountant.

==================  ===========================================================================
``sampling``        :class:`PoissonBatches`: each row in a batch with probability q
``gradients``       :class:`ClippedNoisyGradient`: per-sample clipping without per-sample
                    gradients, Gaussian noise, division by the expected batch size
==================  ===========================================================================
"""

from .gradients import SUPPORTED_LAYERS, ClippedNoisyGradient, check_private_network
from .sampling import PoissonBatches

__all__ = ["SUPPORTED_LAYERS", "ClippedNoisyGradient", "PoissonBatches",
           "check_private_network"]
