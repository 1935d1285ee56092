"""Training from a Parquet dataset larger than memory: row groups streamed through a buffer.

==========================  =================================================================
:class:`ParquetStream`      a Parquet file, a folder or a glob of them, read one row group at
                            a time (pyarrow); the features, the target, the weights; optional
                            standardisation with statistics from one streaming pass
:func:`stream_statistics`   count, mean and scale of every feature in one pass (Chan et al.'s
                            pairwise update of the mean and the sum of squared deviations)
:class:`StreamBatches`      the batch sampler: a bounded shuffle buffer over the row groups
:class:`StreamData`         the loop's view: a batch is the rows the sampler yields
:func:`train_stream`        :func:`numnet.training.run_loop` with these parts and ``Backprop``
==========================  =================================================================

How an epoch's batches are drawn, for G row groups, a buffer of R rows and batch size B::

    if all rows fit (N <= R):  order = rng.permutation(N) of the rows in file order,
                               cut into batches of B (the last may be smaller): exactly the
                               batches numnet.train draws in memory with the same seed
    else:
        groups = rng.permutation(G)                     the order the row groups are read
        for each group in that order:
            append its rows to the buffer
            when the buffer holds >= R rows:
                permute the buffer (rng.permutation), emit floor(rows / B) full batches,
                keep the remaining < B rows for the next fill
        at the end: permute what is left and emit it (the last batch may be smaller)

Every row is used exactly once per epoch. What the bounded buffer does to the randomness: a
batch is a uniform sample of the rows in the buffer, i.e. of about R / (rows per group)
row groups, not of the whole dataset. Row groups are visited in a random order each epoch,
so no group is systematically early or late, but rows of the same group tend to land in the
same few batches. If the file is sorted (by the target, by time), a small buffer gives
batches that are far from i.i.d. and SGD converges worse; make R hold many row groups, or
write the file with small row groups in a random order. With R >= N it is the in-memory
shuffle.

Memory: the buffer (R rows plus at most one row group), its permuted copy, and one batch;
the arrays are in ``dtype``. Nothing else grows with the number of row groups or files (the
file list and the row-group sizes, 3 integers per group).
"""

import glob
import os

import numpy as np

from .._validation import check_bool, check_int
from ..training.gradients import Backprop
from ..training.loop import run_loop
from ..training.sampling import BatchSampler
from ..training.setup import TrainingSetup


def _parquet_files(path):
    """The Parquet files of ``path``: a file, a folder (its ``*.parquet``, sorted) or a glob."""
    path = os.fspath(path)
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "*.parquet")))
    elif os.path.isfile(path):
        files = [path]
    else:
        files = sorted(glob.glob(path))
    if not files:
        raise FileNotFoundError(
            f"No Parquet file at {path!r}: give a .parquet file, a folder of them or a glob "
            "such as 'data/*.parquet'."
        )
    return files


class ParquetStream:
    """A Parquet dataset read one row group at a time.

    Parameters
    ----------
    path : str or path-like
        A ``.parquet`` file, a folder (every ``*.parquet`` in it, in name order) or a glob.
        Every file must have the columns used.
    target : str
        The target column.
    features : list of str, default=None
        The feature columns; by default every column but the target and the weight.
    weight : str, default=None
        A column of sample weights.
    classes : sequence, default=None
        For classification: the class labels. Two classes give a 0/1 column (for
        ``BinaryCrossEntropy``, the second class is 1), more give one-hot columns (for
        ``SoftmaxCrossEntropy``). ``None`` keeps the target as a number (regression).
    standardize : bool, default=False
        Subtract each feature's mean and divide by its standard deviation (population, 1 for
        a constant feature, as scikit-learn's StandardScaler), with statistics from one
        streaming pass made here (``mean_``, ``scale_``).
    dtype : numpy dtype, default=float64
        Of the arrays handed to the network.
    """

    def __init__(self, path, target, features=None, *, weight=None, classes=None,
                 standardize=False, dtype=np.float64):
        import pyarrow.parquet as pq

        self.files = _parquet_files(path)
        self.target, self.weight = target, weight
        self.dtype = np.dtype(dtype)
        self.classes = None if classes is None else list(classes)
        if self.classes is not None and len(self.classes) < 2:
            raise ValueError(f"classes must hold at least 2 labels, got {self.classes!r}.")
        units, schema_names = [], None
        for file_index, name in enumerate(self.files):
            meta = pq.ParquetFile(name).metadata
            names = list(meta.schema.names)
            schema_names = schema_names or names
            missing = [c for c in [target, weight] + list(features or []) if c is not None
                       and c not in names]
            if missing:
                raise ValueError(f"{name!r} has no column {missing[0]!r}; it has {names}.")
            units += [(file_index, g, meta.row_group(g).num_rows)
                      for g in range(meta.num_row_groups) if meta.row_group(g).num_rows]
        self.features = (list(features) if features is not None else
                         [c for c in schema_names if c not in (target, weight)])
        self.units = units
        self.n_samples = int(sum(n for _, _, n in units))
        if self.n_samples == 0:
            raise ValueError(f"The Parquet dataset {path!r} has no rows.")
        self.n_features = len(self.features)
        self.n_outputs = (1 if self.classes is None or len(self.classes) == 2
                          else len(self.classes))
        self.mean_ = self.scale_ = None
        self.total_weight = float(self.n_samples)
        if standardize or weight is not None:
            stats = stream_statistics(self, features=standardize)
            self.total_weight = stats["total_weight"]
            if standardize:
                self.mean_, self.scale_ = stats["mean"], stats["scale"]

    def __repr__(self):
        return (f"ParquetStream({len(self.files)} files, {len(self.units)} row groups, "
                f"{self.n_samples} rows x {self.n_features} features)")

    def read_columns(self, unit, columns):
        """One row group's ``columns`` as a pyarrow Table."""
        import pyarrow.parquet as pq

        file_index, group, _ = self.units[unit]
        return pq.ParquetFile(self.files[file_index]).read_row_group(group, columns=columns)

    def read(self, unit, *, transform=True):
        """Row group ``unit`` as ``(X, y, w)``: arrays in ``dtype`` (``w`` None unweighted)."""
        columns = self.features + [self.target] + ([self.weight] if self.weight else [])
        table = self.read_columns(unit, columns)
        X = np.empty((table.num_rows, self.n_features), dtype=self.dtype)
        for j, name in enumerate(self.features):
            X[:, j] = table.column(name).to_numpy()
        if transform and self.mean_ is not None:
            X -= self.mean_.astype(self.dtype)
            X /= self.scale_.astype(self.dtype)
        y = self._encode(table.column(self.target).to_numpy(zero_copy_only=False))
        w = (None if self.weight is None else
             table.column(self.weight).to_numpy().astype(self.dtype))
        return X, y, w

    def _encode(self, labels):
        if self.classes is None:
            return labels.astype(self.dtype).reshape(-1, 1)
        index = np.full(labels.shape[0], -1)
        for k, label in enumerate(self.classes):
            index[labels == label] = k
        if (index < 0).any():
            raise ValueError(
                f"Target column {self.target!r} holds {labels[index < 0][0]!r}, which is not "
                f"in classes={self.classes!r}."
            )
        if len(self.classes) == 2:
            return index.astype(self.dtype).reshape(-1, 1)
        return np.eye(len(self.classes), dtype=self.dtype)[index]


def stream_statistics(stream, *, features=True):
    """One pass over ``stream``: rows, weight sum and, with ``features``, mean and scale.

    The mean and the sum of squared deviations of each row group are computed in float64 and
    merged with the previous ones by Chan, Golub and LeVeque's pairwise update, so the result
    equals the in-memory ``X.mean(0)`` and ``X.std(0)`` to rounding, whatever the group sizes.
    Statistics are unweighted (as StandardScaler's without sample_weight).

    Returns
    -------
    dict with ``n``, ``total_weight`` and, with ``features``, ``mean`` and ``scale`` (the
    population standard deviation, 1 where it is 0).
    """
    n, total_weight = 0, 0.0
    mean = m2 = None
    for unit in range(len(stream.units)):
        if features:
            X, _, w = stream.read(unit, transform=False)
            X = X.astype(np.float64, copy=False)
            n_b = X.shape[0]
            mean_b = X.mean(axis=0)
            m2_b = ((X - mean_b) ** 2).sum(axis=0)
            if mean is None:
                mean, m2 = mean_b, m2_b
            else:
                delta = mean_b - mean
                total = n + n_b
                mean = mean + delta * (n_b / total)
                m2 = m2 + m2_b + delta ** 2 * (n * n_b / total)
        else:
            w = stream.read_columns(unit, [stream.weight]).column(0).to_numpy()
            n_b = w.shape[0]
        n += n_b
        total_weight += float(n_b if w is None else np.sum(w, dtype=np.float64))
    out = {"n": n, "total_weight": total_weight}
    if features:
        scale = np.sqrt(m2 / n)
        scale[scale == 0] = 1.0
        out.update(mean=mean, scale=scale)
    return out


class StreamBatches(BatchSampler):
    """Mini-batches through a bounded shuffle buffer (see the module docstring).

    ``epoch`` yields the batches themselves, ``(X_b, y_b, w_b)``: the data is read as it is
    drawn. A resumed run reads the batches it skips again.

    Parameters
    ----------
    stream : ParquetStream
    batch_size : int
    buffer_rows : int
        The buffer's size in rows (R); with R >= the number of rows, the whole dataset is
        shuffled as in memory.
    shuffle : bool, default=True
        False reads the row groups in order and cuts them into batches without permuting.
    """

    def __init__(self, stream, batch_size, buffer_rows, shuffle=True):
        self.stream = stream
        self.batch_size = check_int(batch_size, "batch_size", min_value=1)
        self.buffer_rows = check_int(buffer_rows, "buffer_rows", min_value=1)
        self.shuffle = check_bool(shuffle, "shuffle")

    def epoch(self, n_samples, rng):
        stream = self.stream
        fits = n_samples <= self.buffer_rows
        n_units = len(stream.units)
        order = rng.permutation(n_units) if self.shuffle and not fits else range(n_units)
        pending, count = [], 0
        for position, unit in enumerate(order):
            block = stream.read(unit)
            pending.append(block)
            count += block[0].shape[0]
            if count >= self.buffer_rows and position < n_units - 1:
                pending = yield from self._drain(pending, rng, last=False)
                count = pending[0][0].shape[0] if pending else 0
        if pending:
            yield from self._drain(pending, rng, last=True)

    def _drain(self, pending, rng, *, last):
        """Emit the buffer's batches (permuted); returns what is kept for the next fill."""
        X = np.concatenate([b[0] for b in pending]) if len(pending) > 1 else pending[0][0]
        y = np.concatenate([b[1] for b in pending]) if len(pending) > 1 else pending[0][1]
        w = (None if pending[0][2] is None else
             np.concatenate([b[2] for b in pending]) if len(pending) > 1 else pending[0][2])
        pending.clear()
        n = X.shape[0]
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        stop = n if last else n - n % self.batch_size
        for start in range(0, stop, self.batch_size):
            rows = order[start:min(start + self.batch_size, stop)]
            yield X[rows], y[rows], None if w is None else w[rows]
        if stop == n:
            return []
        rows = order[stop:]
        return [(X[rows], y[rows], None if w is None else w[rows])]


class StreamData:
    """The loop's view of a :class:`ParquetStream`: ``batch(rows)`` returns the rows drawn."""

    def __init__(self, stream):
        self.stream = stream
        self.n_samples = stream.n_samples
        self.total_weight = stream.total_weight

    def batch(self, rows):
        return rows


def train_stream(net, loss, optimizer, stream, *, regularizer=None, batch_size=32,
                 buffer_rows=100_000, max_epochs=10, shuffle=True, clip_norm=None,
                 proximal=None, random_state=None, verbose=False, callbacks=(),
                 checkpoint=None, resume=False):
    """Mini-batch training on a :class:`ParquetStream`, with bounded memory.

    :func:`numnet.training.run_loop` with :class:`StreamBatches` (the bounded shuffle buffer)
    and :class:`numnet.training.gradients.Backprop`: each step is the step :func:`numnet.train`
    takes. With ``buffer_rows`` >= the number of rows and the same seed, the batches, hence the
    parameters, are those of ``numnet.train(net, loss, optimizer, X, y, batch_size=...,
    random_state=...)`` on the whole table in file order.

    Parameters
    ----------
    net, loss, optimizer, regularizer, max_epochs, shuffle, clip_norm, proximal, \
random_state, verbose, callbacks, checkpoint, resume
        As in :func:`numnet.train` (no validation data; early stopping on the training loss
        goes in ``callbacks=[EarlyStopping(...)]``). A resumed run
        reads the epoch's row groups from the start again, skipping the batches that were
        done, and ends with the parameters of an uninterrupted run.
    stream : ParquetStream
    batch_size : int, default=32
    buffer_rows : int, default=100_000
        Rows held for shuffling: resident memory is about 2 x buffer_rows x (features +
        outputs) x itemsize, plus one row group.

    Returns
    -------
    History
    """
    setup = TrainingSetup(net, loss, optimizer, max_epochs=max_epochs, regularizer=regularizer,
                          callbacks=callbacks, checkpoint=checkpoint, resume=resume,
                          verbose=verbose, clip_norm=clip_norm, proximal=proximal)
    if net.n_in != stream.n_features or net.dtype != stream.dtype:
        raise ValueError(
            f"net takes {net.n_in} features in {net.dtype.name}, but the stream gives "
            f"{stream.n_features} in {stream.dtype.name}; build the network for it."
        )
    sampler = StreamBatches(stream, batch_size, buffer_rows, shuffle)
    # The batches depend on the row groups, the batch size and the buffer.
    fingerprint = setup.fingerprint(
        stream.n_samples, {"batch_size": int(sampler.batch_size)},
        row_groups=len(stream.units), buffer_rows=int(sampler.buffer_rows),
        shuffle=int(sampler.shuffle))
    run = setup.start(StreamData(stream), np.random.default_rng(random_state), fingerprint)
    if setup.finished:
        return run.history
    return run_loop(run, sampler, _CheckedBackprop(), setup.parts)


class _CheckedBackprop(Backprop):
    """Backprop that checks each batch's targets for the loss first.

    A streamed table is never checked as a whole before training.
    """

    def __call__(self, net, loss, X_b, y_b, w_b, *, full_batch=False):
        loss.check_targets(y_b)
        return super().__call__(net, loss, X_b, y_b, w_b, full_batch=full_batch)
