"""The full-batch objective summed over a cluster's workers, and what each worker computes.

Each evaluation sends the flat parameter vector to one task per worker and brings back one
loss sum and one gradient sum per partition::

    on the worker holding partition k (X_k, Y_k, w_k), with its own copy of the network:
        L_k, g_k = objective(net, loss, X_k, Y_k, w_k)       weighted means (numnet's kernels)
        return W_k * L_k, W_k * g_k                          sums; W_k = sum(w_k) (or n_k)
    on the client:
        L = sum_k W_k L_k / W + penalty(W)       grad = sum_k W_k g_k / W + dpenalty/dparams

The sums are added in partition order, so the result does not depend on which task finishes
first. The data never moves; per evaluation, n_workers * n_params floats go out and
n_partitions * (n_params + 1) come back.
"""

import copy

import numpy as np

from ..objective import objective
from ..training.gradients import Backprop


def partition_sums(net, loss, part, rows=None, *, backprop=None, out=None):
    """``(W_k * L_k, W_k * g_k)`` on one partition (or its ``rows``); zeros when W_k = 0.

    ``net`` is the task's private copy, holding the step's parameters. ``rows=None`` is the
    full-batch objective (no dropout); an index array is a mini-batch step's local share,
    computed by :class:`numnet.training.Backprop` (training mode; ``backprop``, one kept by a
    caller that takes many steps). ``out`` receives ``W_k * g_k`` (else a new array).
    """
    X, Y, w = part
    if rows is not None:
        X, Y, w = X.take(rows, axis=0), Y.take(rows, axis=0), (None if w is None else w[rows])
    weight = float(X.shape[0] if w is None else w.sum())
    if not weight > 0:
        return 0.0, np.zeros(net.params.size, dtype=net.params.dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if rows is None:
            value, grad = objective(net, loss, X, Y, sample_weight=w)
        else:
            value = (backprop or Backprop())(net, loss, X, Y, w, full_batch=False)
            grad = net.grads
        # net.grads is reused by the next pass: the sum goes to out, or a new array
        return value * weight, np.multiply(grad, weight, out=out)


def _group_sums(template, loss, parts, theta, rows):
    """On one worker: :func:`partition_sums` of each of its partitions, in turn.

    One private copy of the network and the loss per task: threads of a worker never share
    one (the network caches activations; a shared one would mix two tasks' passes).
    """
    net = copy.deepcopy(template)
    np.copyto(net.params, theta, casting="unsafe")
    loss = copy.deepcopy(loss)
    return [partition_sums(net, loss, part, part_rows)
            for part, part_rows in zip(parts, rows, strict=True)]


def placement(worker):
    """``submit``'s keywords for a task meant for ``worker`` ("": no holder known, anywhere).

    A hint only (``allow_other_workers``): Dask rejects that flag without ``workers``, which
    is the case while a lost partition is being recomputed.
    """
    return {"workers": [worker], "allow_other_workers": True} if worker else {}


def sums_by_worker(client, parts, template, loss, theta, rows=None):
    """:func:`partition_sums` of every partition, one task per worker; results in partition order.

    One task per worker (holding all the partitions that worker has) instead of one per
    partition: the scheduler's per-task cost is paid n_workers times per step, not
    n_partitions times. The placement is a hint (``allow_other_workers``): a partition that
    moved or was lost is fetched or recomputed by Dask, with the same result. Partitions whose
    ``rows`` are empty are skipped (they add zeros).
    """
    rows = [None] * len(parts) if rows is None else rows
    holders = client.who_has(parts)
    groups = {}
    for index, (part, part_rows) in enumerate(zip(parts, rows, strict=True)):
        if part_rows is not None and len(part_rows) == 0:
            continue
        where = holders.get(part.key) or ("",)
        groups.setdefault(sorted(where)[0], []).append(index)
    futures = {
        worker: client.submit(_group_sums, template, loss, [parts[i] for i in indices], theta,
                              [rows[i] for i in indices], pure=False, **placement(worker))
        for worker, indices in groups.items()}
    gathered = dict(zip(futures, client.gather(list(futures.values())), strict=True))
    results = {}
    for worker, indices in groups.items():
        results.update(zip(indices, gathered[worker], strict=True))
    return [results[i] for i in sorted(results)]


def reduce_sums(results, size, dtype):
    """Add the partitions' ``(loss sum, gradient sum)`` pairs in partition order."""
    total, grad = 0.0, np.zeros(size, dtype=dtype)
    for value, part_grad in results:
        total += value
        grad += part_grad
    return total, grad


def batch_mean(results, net, weight):
    """The batch's loss, its gradient into ``net.grads``: the sums in order, over ``weight``."""
    total, grad = reduce_sums(results, net.params.size, net.params.dtype)
    np.divide(grad, weight, out=net.grads)
    return total / weight


class DistributedObjective:
    """``evaluate()``: the full-batch objective and gradient of ``net.params`` over the workers.

    A drop-in for :func:`numnet.objective` on :class:`DistributedData`, shaped for
    :func:`numnet.training.lbfgs.minimize_lbfgs`: it reads ``net.params`` and writes the
    gradient into ``net.grads``.

    Parameters
    ----------
    net : Sequential
        A built network (the client's copy; the workers get copies of it).
    loss : Loss
    data : DistributedData
    regularizer : Regularizer, default=None
        Added once, on the client.
    channels : WorkerChannels, default=None
        Evaluate over direct connections to the workers (:mod:`numnet.distributed.channels`;
        the same numbers); None: one task per worker per evaluation, through the scheduler.
    """

    def __init__(self, net, loss, data, *, regularizer=None, channels=None):
        self.net, self.loss, self.data, self.regularizer = net, loss, data, regularizer
        self.channels = channels
        self.template = (scatter_network(data.client, net) if channels is None
                         else channels.template)
        self.n_evaluations = 0

    def __call__(self):
        net, data = self.net, self.data
        theta = net.params.copy()
        if self.channels is None:
            results = sums_by_worker(data.client, data.parts, self.template, self.loss, theta)
        else:
            results = self.channels.sums(theta)
        total, grad = reduce_sums(results, net.params.size, net.params.dtype)
        np.divide(grad, data.total_weight, out=net.grads)
        value = total / data.total_weight
        if self.regularizer is not None:
            value += self.regularizer.penalty(net.penalized)
            self.regularizer.gradient(net.penalized, out=net.penalized_grads)
        self.n_evaluations += 1
        return value, net.grads


def scatter_network(client, net):
    """Send a copy of ``net`` (its forward cache dropped) to every worker once; its future."""
    template = copy.deepcopy(net)
    template.clear_cache()
    return client.scatter(template, broadcast=True, hash=False)
