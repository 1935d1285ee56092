"""A step's gradient as the sum of the partitions' gradient sums (synchronous data parallel)."""

import numpy as np

from ..training.gradients import GradientComputation
from .objective import batch_mean, sums_by_worker


class WorkerSumGradient(GradientComputation):
    """Loss and gradient of a batch of worker-local rows, reduced on the client.

    Each step::

        on each worker holding rows of the batch (its own copy of the network):
            L_k, g_k = Backprop(net, loss, X_k[rows_k], Y_k[rows_k], w_k[rows_k])
            return W_k * L_k, W_k * g_k             W_k: weight (or rows) of its share
        on the client:
            L = sum_k W_k L_k / sum_k W_k           net.grads = sum_k W_k g_k / sum_k W_k

    the weighted mean over the whole batch, as :class:`numnet.training.Backprop` computes it
    in one process. The full batch uses :func:`numnet.objective` on each partition instead.

    Parameters
    ----------
    data : DistributedData
    template : distributed.Future
        The network, scattered to the workers once (:func:`scatter_network`).
    channels : WorkerChannels, default=None
        Direct connections to the workers (:mod:`numnet.distributed.channels`): each step
        goes over them, except one with ``new_epoch`` set (the first of each epoch, which goes
        through the scheduler). None: every step is a task per worker, through the scheduler.
        The numbers are the same either way, bit for bit.
    """

    def __init__(self, data, template, channels=None):
        self.data, self.template, self.channels = data, template, channels
        self.new_epoch = True

    def __call__(self, net, loss, X_b, y_b, w_b, *, full_batch=False):
        client, theta = self.data.client, net.params.copy()
        if self.channels is None:
            results = sums_by_worker(client, self.data.parts, self.template, loss, theta,
                                     X_b.local)
        else:
            results = self.channels.sums(theta, X_b.local, through_scheduler=self.new_epoch)
        self.new_epoch = False
        return batch_mean(results, net, float(X_b.shape[0] if w_b is None else np.sum(w_b)))
