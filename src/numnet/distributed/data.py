"""Training data spread over a Dask cluster: row partitions persisted on the workers.

A :class:`DistributedData` holds one future per row partition; each partition is a tuple
``(X_k, Y_k, w_k)`` of NumPy arrays that lives in a worker's memory for the whole fit. The
client keeps only the futures, the partition sizes and weight sums (and, for mini-batches, the
sample weights, one float per row). Nothing else of the data ever comes back.
"""

import concurrent.futures
import contextlib

import numpy as np
from sklearn.utils.validation import check_array

from ..exceptions import SchedulerLostError


def get_client(client=None):
    """The ``distributed.Client`` to use: ``client`` itself, or the active one.

    Raises
    ------
    ValueError
        When ``client`` is None and no client is active.
    """
    if client is not None:
        return client
    from distributed import get_client as active_client

    try:
        return active_client()
    except ValueError:
        raise ValueError(
            "A dask.distributed Client must be active to train on dask collections, got none. "
            "Connect first: client = distributed.Client('tcp://scheduler:8786'), or "
            "distributed.Client(distributed.LocalCluster(n_workers=2)) on this machine; see "
            "docs/distributed.md."
        ) from None


def _scheduler_address(client):
    try:
        return str(client.scheduler.address)
    except Exception:  # noqa: BLE001 - only for the message
        return None


def _lost_scheduler(error, client):
    """Whether ``error`` means the client lost its scheduler (not a failure of the work)."""
    from distributed.comm.core import CommClosedError

    if "scheduler-connection-lost" in str(error) or isinstance(error, CommClosedError):
        return True
    gone = getattr(client, "status", "running") not in ("running", "newly-created")
    return gone and isinstance(error, (OSError, TimeoutError,
                                       concurrent.futures.CancelledError))


@contextlib.contextmanager
def scheduler_errors(client):
    """Turn Dask's errors for a lost scheduler into one ``SchedulerLostError`` (one line).

    A scheduler that goes away mid-fit makes Dask cancel every future with a multi-line
    message (or raise ``CommClosedError``/``OSError`` at the next call); inside this context
    that becomes one line naming the scheduler. Other errors (a failing task, a bad argument)
    pass through unchanged.
    """
    try:
        yield
    except SchedulerLostError:
        raise
    except Exception as error:
        if not _lost_scheduler(error, client):
            raise
        address = _scheduler_address(client)
        where = f" at {address}" if address else ""
        raise SchedulerLostError(
            f"The Dask scheduler{where} went away during data-parallel training "
            f"({type(error).__name__}); the fit stopped. Start the scheduler (and its "
            "workers) again and rerun the fit.", address=address) from error


def is_dask_collection(value):
    """Whether ``value`` is a dask array or a dask DataFrame/Series (without importing dask)."""
    return type(value).__module__.split(".")[0] in ("dask", "dask_expr")


def as_dask_array(value, name):
    """A dask array from a dask array, DataFrame or Series (partition lengths computed)."""
    import dask.array as da

    if isinstance(value, da.Array):
        return value
    if hasattr(value, "to_dask_array"):
        return value.to_dask_array(lengths=True)
    raise TypeError(f"{name} must be a dask array or a dask DataFrame, got "
                    f"{type(value).__name__}.")


def _aligned(array):
    """``array``, copied if its data is not aligned for its dtype.

    Blocks that arrive pickled (``da.from_array`` on the client) can sit at any byte offset;
    NumPy's ``take`` of rows from such an array is about 1000 times slower (a step's batch
    rows are taken every step).
    """
    return array if array.flags.aligned else array.copy(order="C")


def _make_partition(X, y, w, dtype, encode):
    """One partition on its worker: checked, cast, C-ordered, aligned; targets encoded."""
    X = _aligned(check_array(X, dtype=dtype, order="C", input_name="X"))
    Y = _aligned(encode(np.asarray(y)))
    if w is not None:
        w = _aligned(np.ascontiguousarray(w, dtype=dtype))
        if not np.all(np.isfinite(w) & (w >= 0)):
            bad = w[np.argmax(~(np.isfinite(w) & (w >= 0)))]
            raise ValueError(f"sample_weight must contain finite values >= 0, got "
                             f"{float(bad)!r}.")
    return X, Y, w


def _describe(part):
    X, Y, w = part
    return X.shape[0], float(X.shape[0] if w is None else w.sum())


def _weights(part):
    return part[2]


def _encode_float(y, n_outputs, dtype):
    return np.ascontiguousarray(y, dtype=dtype).reshape(y.shape[0], n_outputs)


class DistributedData:
    """Rows of (X, y, sample_weight) persisted as partitions on a cluster's workers.

    The row chunks of ``X`` define the partitions; ``y`` and ``sample_weight`` are rechunked to
    match them, ``X`` to a single column chunk. Each partition is checked (finite, 2-D) and
    cast on its worker, once.

    Parameters
    ----------
    X : dask array of shape (n_samples, n_features)
    y : dask array of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : dask array of shape (n_samples,), default=None
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
    encode : callable, default=None
        Maps a block of ``y`` to the loss's target matrix (n_rows, n_outputs) in ``dtype``
        (run on the workers, so it must be picklable); None casts y to a float matrix.
    client : distributed.Client, default=None
        None uses the active client.

    Attributes
    ----------
    parts : list of distributed.Future
        One per partition, each holding ``(X_k, Y_k, w_k)``.
    sizes : ndarray of shape (n_partitions,)
        Rows per partition.
    weights : ndarray of shape (n_partitions,)
        Sum of sample weights per partition (the row count without weights).
    n_samples, n_features, total_weight
    """

    def __init__(self, X, y, sample_weight=None, *, dtype=np.float64, encode=None,
                 client=None):
        import dask

        self.client = get_client(client)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D dask array, got {X.ndim} dimension(s).")
        if np.isnan(X.shape[0]) or any(np.isnan(c) for c in X.chunks[0]):
            raise ValueError("X must have known chunk sizes; call X.compute_chunk_sizes() "
                             "first.")
        if y.shape[0] != X.shape[0] or (sample_weight is not None
                                        and sample_weight.shape != (X.shape[0],)):
            raise ValueError(
                f"X, y and sample_weight must have the same number of rows, got "
                f"{X.shape[0]}, {y.shape[0]} and "
                f"{None if sample_weight is None else sample_weight.shape[0]}.")
        self.dtype = np.dtype(dtype)
        self.n_samples, self.n_features = int(X.shape[0]), int(X.shape[1])
        if encode is None:
            n_outputs = 1 if y.ndim == 1 else y.shape[1]
            encode = BlockEncoder(_encode_float, n_outputs, self.dtype)
        rows = X.chunks[0]
        X = X.rechunk({0: rows, 1: -1})
        y = y.rechunk({0: rows} if y.ndim == 1 else {0: rows, 1: -1})
        x_blocks, y_blocks = X.to_delayed().ravel(), y.to_delayed().ravel()
        w_blocks = ([None] * len(x_blocks) if sample_weight is None
                    else sample_weight.rechunk((rows,)).to_delayed().ravel())
        make = dask.delayed(_make_partition, pure=True)
        parts = [make(xb, yb, wb, self.dtype, encode)
                 for xb, yb, wb in zip(x_blocks, y_blocks, w_blocks, strict=True)]
        with scheduler_errors(self.client):
            self.parts = self.client.compute(parts)
            described = self.client.gather([self.client.submit(_describe, part, pure=False)
                                            for part in self.parts])
        self.sizes = np.array([n for n, _ in described], dtype=np.int64)
        self.weights = np.array([w for _, w in described], dtype=np.float64)
        self.total_weight = (float(self.n_samples) if sample_weight is None
                             else float(self.weights.sum()))
        self.weighted = sample_weight is not None
        if self.weighted and not self.total_weight > 0:
            raise ValueError("sample_weight must have a positive sum, got all zeros. Give at "
                             "least one sample a weight > 0.")
        self._sample_weight = None

    @property
    def n_partitions(self):
        return len(self.parts)

    @property
    def offsets(self):
        """First global row of each partition (rows are numbered partition by partition)."""
        return np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    def sample_weight(self):
        """All sample weights on the client (one float per row; None without weights)."""
        if self.weighted and self._sample_weight is None:
            blocks = self.client.gather([self.client.submit(_weights, part, pure=False)
                                         for part in self.parts])
            self._sample_weight = np.concatenate(blocks)
        return self._sample_weight

    def release(self):
        """Drop the partitions from the workers' memory."""
        try:
            for part in self.parts:
                part.release()
        except Exception as error:  # noqa: BLE001
            if not _lost_scheduler(error, self.client):
                raise  # with the scheduler gone, its memory went with it
        self.parts = []


class BlockEncoder:
    """A picklable ``y -> Y`` for the workers: ``function(y, *args)``."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __call__(self, y):
        return self.function(y, *self.args)
