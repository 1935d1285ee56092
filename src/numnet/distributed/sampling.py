"""Batches made of worker-local rows: each partition gives its share of every batch.

How a batch is composed, for P partitions of n_k rows, N = sum n_k, batch size B::

    S = ceil(N / B)                                     steps per epoch
    for k in 0..P-1 (in order):
        order_k = rng.permutation(n_k)                  (arange(n_k) without shuffle)
        pieces_k = array_split(order_k, S)              S nearly equal consecutive pieces
    batch s = (pieces_0[s], pieces_1[s], ..., pieces_{P-1}[s])

so every row is used once per epoch, a batch holds about B rows, and partition k gives about
n_k / S of them: its rows never leave its worker. The permutations come from the run's
generator only, so the same seed and the same partitioning (the row chunks of X) give the same
batches; a different chunking gives different (equally valid) batches.
"""

import math

import numpy as np

from ..training.sampling import BatchSampler


class WorkerRows:
    """The rows of one batch: an index array (or None for all rows) per partition.

    ``shape`` is ``(n_rows, n_features)`` (what the loop counts); ``global_rows`` numbers the
    rows partition by partition, as in ``concatenate`` of the partitions, which is the batch a
    single process would draw.
    """

    def __init__(self, local, offsets, sizes, n_features):
        self.local = local
        n_rows = int(sum(sizes) if local is None else sum(len(r) for r in local))
        self.shape = (n_rows, n_features)
        self._offsets = offsets

    @property
    def global_rows(self):
        pairs = zip(self._offsets, self.local, strict=True)
        return np.concatenate([offset + rows for offset, rows in pairs])


class WorkerBatches(BatchSampler):
    """Mini-batches composed of every partition's share (see the module docstring).

    Parameters
    ----------
    sizes : sequence of int
        Rows per partition.
    batch_size : int
    shuffle : bool, default=True
    """

    def __init__(self, sizes, batch_size, shuffle=True):
        self.sizes = [int(n) for n in sizes]
        self.batch_size, self.shuffle = int(batch_size), bool(shuffle)

    def epoch(self, n_samples, rng):
        steps = max(1, math.ceil(n_samples / self.batch_size))
        pieces = [np.array_split(rng.permutation(n) if self.shuffle else np.arange(n), steps)
                  for n in self.sizes]
        for step in range(steps):
            yield [part_pieces[step] for part_pieces in pieces]


class WorkerFullBatch(BatchSampler):
    """Every row of every partition, each epoch (full-batch gradient descent)."""

    full_batch = True

    def epoch(self, n_samples, rng):
        yield None


class WorkerData:
    """The loop's view of :class:`DistributedData`: batches are :class:`WorkerRows`.

    ``batch(rows)`` returns ``(WorkerRows, None, w_b)``: the rows stay on the workers; ``w_b``
    is the batch's sample weights (gathered once to the client, one float per row) or None.
    For the full batch ``w_b`` is the weight sum of each partition, whose sum the loop needs.
    """

    def __init__(self, data):
        self.data = data
        self.n_samples = data.n_samples
        self.total_weight = data.total_weight
        self._offsets = data.offsets

    def batch(self, rows):
        data = self.data
        batch = WorkerRows(rows, self._offsets, data.sizes, data.n_features)
        if not data.weighted:
            return batch, None, None
        if rows is None:
            return batch, None, data.weights
        return batch, None, data.sample_weight()[batch.global_rows]
