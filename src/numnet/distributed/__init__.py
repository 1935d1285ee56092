"""Data-parallel training on a Dask cluster: the data stays on the workers, parameters move.

==================  ===========================================================================
``data``            :class:`DistributedData`: (X, y, w) row partitions persisted on the workers
``objective``       :class:`DistributedObjective`: the full-batch objective summed over them
``sampling``        :class:`WorkerBatches`: batches made of every partition's local rows
``gradients``       :class:`WorkerSumGradient`: a step's gradient summed over the workers
``channels``        :class:`WorkerChannels`: direct connections to the workers, so that a
                    step does not go through the scheduler
``training``        :func:`train_distributed` (SGD, Adam, full-batch gradient descent) and
                    :func:`train_lbfgs_distributed`
``streaming``       :class:`ParquetStream`, :class:`StreamBatches`, :func:`train_stream`: a
                    Parquet dataset larger than memory, on one machine (needs pyarrow)
==================  ===========================================================================

Needs the ``dask`` extra (dask and distributed). See docs/distributed.md.
"""

from .channels import WorkerChannels
from .data import DistributedData, get_client, is_dask_collection
from .gradients import WorkerSumGradient
from .objective import DistributedObjective, partition_sums
from .sampling import WorkerBatches, WorkerData, WorkerFullBatch, WorkerRows
from .streaming import (
    ParquetStream,
    StreamBatches,
    StreamData,
    stream_statistics,
    train_stream,
)
from .training import train_distributed, train_lbfgs_distributed

__all__ = [
    "DistributedData", "DistributedObjective", "ParquetStream", "StreamBatches", "StreamData",
    "WorkerBatches", "WorkerChannels", "WorkerData",
    "WorkerFullBatch", "WorkerRows", "WorkerSumGradient", "get_client", "is_dask_collection",
    "partition_sums", "stream_statistics", "train_distributed", "train_lbfgs_distributed",
    "train_stream",
]
