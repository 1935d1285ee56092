"""Training from Parquet row groups through a bounded shuffle buffer (numnet.distributed)."""

import tracemalloc

import numpy as np
import pytest

from numnet import Dense, ReLU, Sequential
from numnet.losses import BinaryCrossEntropy, SoftmaxCrossEntropy
from numnet.optimizers import SGD, Adam
from numnet.training import train

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
from numnet.distributed import (  # noqa: E402
    ParquetStream,
    StreamBatches,
    stream_statistics,
    train_stream,
)


def _table(rng, n, n_features=6, *, classes=("no", "yes"), weights=False, start=0):
    X = rng.normal(loc=3.0, scale=2.0, size=(n, n_features))
    score = (X - 3.0) @ np.linspace(-1, 1, n_features) + 0.3 * rng.normal(size=n)
    if len(classes) == 2:
        labels = np.where(score > 0, classes[1], classes[0])
    else:
        labels = np.asarray(classes)[np.digitize(score, [-1.0, 1.0])]
    columns = {f"x{j}": X[:, j] for j in range(n_features)}
    columns["id"] = np.arange(start, start + n, dtype=np.float64)
    columns["y"] = labels
    if weights:
        columns["w"] = rng.uniform(0.5, 2.0, size=n)
    return pa.table(columns)


def _write(table, path, group_rows):
    pq.write_table(table, path, row_group_size=group_rows)
    return path


def _features(n_features=6):
    return [f"x{j}" for j in range(n_features)]


def _net(n_in, n_out, hidden=True):
    layers = ([Dense(8), ReLU()] if hidden else []) + [Dense(n_out)]
    return Sequential(layers).build(n_in, random_state=0)


def _memory(stream, table):
    X = np.column_stack([table.column(c).to_numpy() for c in stream.features])
    if stream.mean_ is not None:
        X = (X - stream.mean_) / stream.scale_
    y = stream._encode(table.column("y").to_numpy(zero_copy_only=False))
    w = None if stream.weight is None else table.column(stream.weight).to_numpy()
    return X, y, w


@pytest.mark.parametrize("weights", [False, True])
def test_buffer_holding_everything_equals_in_memory_training(tmp_path, weights):
    table = _table(np.random.default_rng(0), 403, weights=weights)
    path = _write(table, tmp_path / "d.parquet", group_rows=70)  # 6 row groups
    stream = ParquetStream(path, "y", _features(), weight="w" if weights else None,
                           classes=["no", "yes"], standardize=True)
    assert len(stream.units) == 6
    net = _net(6, 1)
    history = train_stream(net, BinaryCrossEntropy(), Adam(learning_rate=0.01), stream,
                           batch_size=32, buffer_rows=403, max_epochs=3, random_state=7)
    X, y, w = _memory(stream, table)
    ref = _net(6, 1)
    ref_history = train(ref, BinaryCrossEntropy(), Adam(learning_rate=0.01), X, y,
                        sample_weight=w, batch_size=32, max_epochs=3, random_state=7)
    np.testing.assert_allclose(net.params, ref.params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history.loss, ref_history.loss, rtol=1e-12)


def test_statistics_in_one_pass_over_a_folder_equal_numpy(tmp_path):
    rng = np.random.default_rng(1)
    tables = [_table(rng, n, start=s) for n, s in [(120, 0), (77, 120), (203, 197)]]
    for k, t in enumerate(tables):
        _write(t, tmp_path / f"part{k}.parquet", group_rows=50)
    stream = ParquetStream(tmp_path, "y", _features(), classes=["no", "yes"])
    assert stream.n_samples == 400 and len(stream.files) == 3
    stats = stream_statistics(stream)
    X = np.concatenate([_memory(stream, t)[0] for t in tables])
    np.testing.assert_allclose(stats["mean"], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats["scale"], X.std(axis=0), rtol=1e-12)
    assert stats["n"] == 400 and stats["total_weight"] == 400.0
    same = ParquetStream(str(tmp_path / "part*.parquet"), "y", _features(),
                         classes=["no", "yes"])
    assert same.files == stream.files


def test_small_buffer_uses_every_row_once_per_epoch_in_full_batches(tmp_path):
    table = _table(np.random.default_rng(2), 1000)
    path = _write(table, tmp_path / "d.parquet", group_rows=64)
    stream = ParquetStream(path, "y", ["id"], classes=["no", "yes"])
    sampler = StreamBatches(stream, batch_size=50, buffer_rows=200)
    rng = np.random.default_rng(0)
    for _ in range(2):
        batches = list(sampler.epoch(stream.n_samples, rng))
        ids = np.concatenate([X[:, 0] for X, _, _ in batches])
        np.testing.assert_array_equal(np.sort(ids), np.arange(1000))
        assert [len(X) for X, _, _ in batches] == [50] * 20
        assert not np.array_equal(ids, np.arange(1000))
    first = [X[:, 0] for X, _, _ in StreamBatches(stream, 50, 200).epoch(
        1000, np.random.default_rng(3))]
    again = [X[:, 0] for X, _, _ in StreamBatches(stream, 50, 200).epoch(
        1000, np.random.default_rng(3))]
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(again))


def test_small_buffer_reaches_the_in_memory_accuracy(tmp_path):
    classes = ["a", "b", "c"]
    table = _table(np.random.default_rng(3), 3000, classes=classes)
    # Sorted by the label: without the row-group order and the buffer the batches would be
    # one class at a time.
    table = table.sort_by("y")
    path = _write(table, tmp_path / "d.parquet", group_rows=100)
    stream = ParquetStream(path, "y", _features(), classes=classes, standardize=True)
    net = _net(6, 3, hidden=False)
    train_stream(net, SoftmaxCrossEntropy(), SGD(learning_rate=0.1, momentum=0.9), stream,
                 batch_size=32, buffer_rows=500, max_epochs=5, random_state=0)
    X, y, _ = _memory(stream, table)
    ref = _net(6, 3, hidden=False)
    train(ref, SoftmaxCrossEntropy(), SGD(learning_rate=0.1, momentum=0.9), X, y,
          batch_size=32, max_epochs=5, random_state=0)
    labels = y.argmax(axis=1)
    accuracy = np.mean(net.forward(X).argmax(axis=1) == labels)
    ref_accuracy = np.mean(ref.forward(X).argmax(axis=1) == labels)
    assert ref_accuracy > 0.85
    assert accuracy > ref_accuracy - 0.03


def _peak(path, buffer_rows):
    stream = ParquetStream(path, "y", _features(20), classes=["no", "yes"])
    net = _net(20, 1, hidden=False)
    tracemalloc.start()
    try:
        train_stream(net, BinaryCrossEntropy(), SGD(learning_rate=0.05), stream,
                     batch_size=64, buffer_rows=buffer_rows, max_epochs=1, random_state=0)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_number_of_row_groups(tmp_path):
    rng = np.random.default_rng(4)
    small = _write(_table(rng, 4 * 500, 20), tmp_path / "small.parquet", group_rows=500)
    large = _write(_table(rng, 32 * 500, 20), tmp_path / "large.parquet", group_rows=500)
    data_bytes = 32 * 500 * 20 * 8
    peak_small, peak_large = _peak(small, 1000), _peak(large, 1000)
    assert peak_large < 1.25 * peak_small + 64_000, (peak_small, peak_large)
    assert peak_large < data_bytes / 4, (peak_large, data_bytes)


def test_clear_errors(tmp_path):
    table = _table(np.random.default_rng(5), 50)
    path = _write(table, tmp_path / "d.parquet", group_rows=20)
    with pytest.raises(FileNotFoundError, match="No Parquet file"):
        ParquetStream(tmp_path / "nothing*.parquet", "y")
    with pytest.raises(ValueError, match="no column 'z'"):
        ParquetStream(path, "z")
    stream = ParquetStream(path, "y", _features(), classes=["no", "maybe"])
    with pytest.raises(ValueError, match="not in classes"):
        stream.read(0)
    stream = ParquetStream(path, "y", _features(), classes=["no", "yes"])
    with pytest.raises(ValueError, match="net takes 3 features"):
        train_stream(_net(3, 1), BinaryCrossEntropy(), SGD(), stream)


@pytest.mark.parametrize("signum, at_call", [(2, 7), (15, 31)])
def test_an_interrupted_streamed_run_resumes_bit_for_bit(tmp_path, signum, at_call):
    """SIGINT/SIGTERM mid-epoch: the state is saved to a checkpoint file; resuming re-reads
    the epoch's row groups, skips the batches done, and ends with the uninterrupted run's
    parameters and losses, bit for bit."""
    import os

    import numnet as nn
    from numnet.exceptions import TrainingInterrupted

    table = _table(np.random.default_rng(6), 700)
    path = _write(table, tmp_path / "d.parquet", group_rows=100)

    def fit(loss, checkpoint=None, resume=False):
        stream = ParquetStream(path, "y", _features(), classes=["no", "yes"],
                               standardize=True)
        net = _net(6, 1)
        history = train_stream(net, loss, Adam(learning_rate=0.01), stream, batch_size=32,
                               buffer_rows=250, max_epochs=3, random_state=0,
                               checkpoint=checkpoint, resume=resume)
        return net, history

    reference, expected = fit(BinaryCrossEntropy())

    class SignalAtCall(BinaryCrossEntropy):
        calls = 0

        def loss_gradient(self, *args, **kwargs):
            SignalAtCall.calls += 1
            if SignalAtCall.calls == at_call:
                os.kill(os.getpid(), signum)
            return super().loss_gradient(*args, **kwargs)

    checkpoint = nn.Checkpoint(tmp_path / "run")
    with pytest.raises(TrainingInterrupted):
        fit(SignalAtCall(), checkpoint)
    state = checkpoint.load()
    assert not state.finished and state.batch > 0          # saved mid-epoch
    net, history = fit(BinaryCrossEntropy(), checkpoint, resume=True)
    assert net.params.tobytes() == reference.params.tobytes()
    assert history.loss == expected.loss


def test_resuming_a_streamed_run_with_another_buffer_is_refused(tmp_path):
    import numnet as nn

    path = _write(_table(np.random.default_rng(7), 300), tmp_path / "d.parquet", 100)
    stream = ParquetStream(path, "y", _features(), classes=["no", "yes"])
    checkpoint = nn.Checkpoint(tmp_path / "run")
    train_stream(_net(6, 1), BinaryCrossEntropy(), SGD(), stream, batch_size=32,
                 buffer_rows=150, max_epochs=1, random_state=0, checkpoint=checkpoint)
    with pytest.raises(ValueError, match=r"was written for buffer_rows=150, but this run has "
                                         r"buffer_rows=200\. Resume with the same data"):
        train_stream(_net(6, 1), BinaryCrossEntropy(), SGD(), stream, batch_size=32,
                     buffer_rows=200, max_epochs=1, random_state=0, checkpoint=checkpoint,
                     resume=True)
