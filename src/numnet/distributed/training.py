"""Data-parallel training: the training loop and L-BFGS with the workers' parts."""

import warnings

import numpy as np

from .._validation import check_bool, check_int
from ..exceptions import SchedulerLostError
from ..layers import Dropout
from ..optimizers import SGD
from ..training.callbacks import Callback, CheckpointCallback
from ..training.checks import check_components
from ..training.lbfgs import minimize_lbfgs
from ..training.loop import run_loop
from ..training.sampling import BatchSampler
from ..training.setup import TrainingSetup
from .channels import WorkerChannels
from .data import scheduler_errors
from .gradients import WorkerSumGradient
from .objective import DistributedObjective, scatter_network
from .peers import PeerEpochs
from .sampling import WorkerBatches, WorkerData, WorkerFullBatch


def _check_network(net):
    if any(isinstance(layer, Dropout) for layer in net.layers):
        raise ValueError(
            "net must have no Dropout layer for data-parallel training, got one: each worker's "
            "copy of the network would draw the same dropout mask every step. Train in memory, "
            "or remove the Dropout layers."
        )


class _EpochStarts(BatchSampler):
    """``sampler``'s batches; marks the first step of each epoch for the scheduler's path."""

    def __init__(self, sampler, gradient):
        self.sampler, self.gradient = sampler, gradient
        self.full_batch = sampler.full_batch
        self.skip_weightless = sampler.skip_weightless

    def epoch(self, n_samples, rng):
        self.gradient.new_epoch = True
        yield from self.sampler.epoch(n_samples, rng)


class _OverheadNote(Callback):
    """After the first epoch: one warning if the steps waited longer than the workers computed.

    ``channels.seconds / steps`` is a step's wall time on the client (parameters out, sums
    back); ``channels.compute_seconds / steps`` is what the workers computed in it, together:
    about what one process would compute for the same step in memory. When the first is the
    larger, the cluster cannot beat memory on this data.
    """

    def __init__(self):
        self.channels, self.batch_size, self.done = None, None, False

    def on_epoch_end(self, run):
        channels = self.channels
        if self.done or channels is None or channels.steps == 0:
            return
        self.done = True
        step = channels.seconds / channels.steps * 1e3
        compute = channels.compute_seconds / channels.steps * 1e3
        if step > compute:
            warnings.warn(
                f"the cluster is slower than memory on this data: a step of "
                f"{self.batch_size} rows takes {step:.2f} ms on the cluster, but the workers "
                f"compute for only {compute:.2f} ms of it in all (measured in epoch "
                f"{run.epoch}; the rest is communication). Train in memory (without "
                "--workers/--scheduler), or with larger batches.", UserWarning, stacklevel=2)


def train_distributed(net, loss, optimizer, data, *, regularizer=None, batch_size=None,
                      max_epochs=100, shuffle=True, clip_norm=None, proximal=None,
                      random_state=None, verbose=False, callbacks=(), checkpoint=None,
                      resume=False, direct=True, overhead_warning=False, worker_sums=False,
                      peer_epochs=True):
    """Synchronous data-parallel gradient descent on :class:`DistributedData`.

    Each step, on a batch made of worker-local rows (:class:`WorkerBatches`; all rows with
    ``batch_size=None``)::

        params --> every worker with rows in the batch
        each worker: loss and gradient sums of its rows     (its own copy of the network)
        client: add them in partition order, divide by the batch weight
        L += penalty(W); grads[W] += dpenalty/dW             (unless proximal)
        clip(grads); optimizer.step(params, grads)            on the client
        W = prox(W, learning_rate)                            (if proximal)

    This is :func:`numnet.training.run_loop` with :class:`WorkerBatches` (or
    :class:`WorkerFullBatch`) and :class:`WorkerSumGradient`; with the same seed and the same
    partitions it gives the parameters a single process gets over the same batches (to
    rounding: the sums are added per partition).

    The steps go over direct connections to the workers (:class:`WorkerChannels`), not
    through the scheduler, except the first step of each epoch (there a scheduler that went
    away is noticed); the numbers are the same, bit for bit, either way. The steps after the
    first of an epoch run on the workers themselves when the run allows it (a peer epoch,
    :mod:`numnet.distributed.peers`: each worker exchanges its sums with the others and takes
    the optimizer step, the client only sends the epoch and collects the result); again the
    same numbers, bit for bit, without a round trip through the client per step.

    Parameters
    ----------
    net, loss, optimizer, regularizer, max_epochs, shuffle, clip_norm, proximal, \
random_state, verbose, callbacks, checkpoint, resume
        As in :func:`numnet.train` (no validation data; early stopping on the training loss
        goes in ``callbacks=[EarlyStopping(...)]``).
    data : DistributedData
    batch_size : int or None, default=None
        None is full-batch gradient descent.
    direct : bool, default=True
        False sends every step through the scheduler (one task per worker per step).
    worker_sums : bool, default=False
        A separate, faster variant (not the default): each worker makes one forward and
        backward pass over its share of a step's batch (the same rows) and sends one sum,
        instead of one pass and one sum per partition. Same batches and the same algorithm,
        but the gradient is added in another order: it equals the default's to rounding,
        and depends (to rounding) on which partitions share a worker, so bit-for-bit
        reproducibility needs the same placement. Steps through the scheduler (the first of
        each epoch) stay per partition. Resume with the same setting (a resume that turns it
        on for a checkpoint written without it is refused).
    peer_epochs : bool, default=True
        Run the steps after the first of each epoch on the workers when possible: the
        optimizer, the regularizer and the callbacks must be numnet's own (a callback acting on
        single steps keeps them on the client), and ``worker_sums`` off. On SIGINT/SIGTERM with a
        checkpoint the workers stop after their current step (the client looks every 0.2 s)
        and the checkpoint saves there, as without them. False: every step over the channels
        (or the scheduler).
    overhead_warning : bool, default=False
        After the first epoch, warn (one line, ``UserWarning``) when a step waited longer for
        the workers than they computed: the cluster is slower than memory on this data
        (``numnet train`` on a cluster turns it on).

    Returns
    -------
    History

    Raises
    ------
    SchedulerLostError
        When the scheduler goes away (a ``FileNotFoundError`` when a data file a worker reads
        again is gone: likewise). With a ``checkpoint``, the state from before the step
        that failed is saved first: connect to a scheduler again, build the
        :class:`DistributedData` again (same partition sizes) and call again with
        ``resume=True``; the run ends as an uninterrupted one would.
    """
    note = _OverheadNote() if overhead_warning else None
    setup = TrainingSetup(net, loss, optimizer, max_epochs=max_epochs, regularizer=regularizer,
                          callbacks=(*callbacks, *([note] if note else [])),
                          checkpoint=checkpoint, resume=resume, verbose=verbose,
                          clip_norm=clip_norm, proximal=proximal, check_network=_check_network)
    shuffle = check_bool(shuffle, "shuffle")
    worker_sums = check_bool(worker_sums, "worker_sums")
    peer_epochs = check_bool(peer_epochs, "peer_epochs")
    if batch_size is not None:
        batch_size = min(check_int(batch_size, "batch_size", min_value=1), data.n_samples)
    if batch_size is None or batch_size == data.n_samples:
        sampler, batch_size = WorkerFullBatch(), data.n_samples
    else:
        sampler = WorkerBatches(data.sizes, batch_size, shuffle)
    # The batches depend on the partition sizes: a resume needs the same ones.
    fingerprint = setup.fingerprint(
        data.n_samples, {"batch_size": int(batch_size)},
        partition_sizes=",".join(str(int(n)) for n in data.sizes),
        **({"worker_sums": 1} if worker_sums else {}))
    run = setup.start(WorkerData(data), np.random.default_rng(random_state), fingerprint)
    if setup.finished:
        return run.history
    parts = setup.parts
    channels = None
    try:
        with scheduler_errors(data.client):
            channels = WorkerChannels(data.client, data.parts,
                                      scatter_network(data.client, net), loss, direct=direct,
                                      worker_sums=worker_sums)
            gradient = WorkerSumGradient(data, channels.template, channels)
            if note is not None:
                note.channels, note.batch_size = channels, batch_size
            steps = PeerEpochs(channels, parts) if peer_epochs else None
            return run_loop(run, _EpochStarts(sampler, gradient), gradient, parts, steps)
    except (SchedulerLostError, FileNotFoundError) as error:
        # a lost scheduler, or a data file gone when a worker reads its rows again
        saver = next((c for c in parts.callbacks if isinstance(c, CheckpointCallback)), None)
        if saver is None or not saver.save_before_failed_batch(run):
            raise
        if isinstance(error, FileNotFoundError):
            raise  # the state is saved: the caller names the file
        raise SchedulerLostError(
            f"{error} The training state from before the failed step is saved in "
            f"{checkpoint}: once a scheduler is back, call again with resume=True.",
            address=error.address) from error.__cause__
    finally:
        if channels is not None:
            channels.close()


def train_lbfgs_distributed(net, loss, data, *, regularizer=None, max_iter=200, tol=1e-6,
                            verbose=False, callbacks=(), max_fun=None, direct=True):
    """L-BFGS on the full-batch objective summed over the workers.

    :func:`numnet.training.lbfgs.minimize_lbfgs` (the SciPy call :func:`numnet.train_lbfgs`
    makes) on :class:`DistributedObjective`: each evaluation is one round trip, the flat
    parameter vector out to every partition, a loss sum and a gradient sum back, over direct
    connections to the workers (:class:`WorkerChannels`; the same numbers as through the
    scheduler, where a failed connection sends it).

    Parameters
    ----------
    net, loss, regularizer, max_iter, tol, verbose, callbacks, max_fun
        As in :func:`numnet.train_lbfgs`.
    data : DistributedData
    direct : bool, default=True
        False sends every evaluation through the scheduler (one task per worker).

    Returns
    -------
    History
    """
    check_components(net, loss, SGD(), regularizer, None, callbacks, None)
    _check_network(net)
    if regularizer is not None and regularizer.l1 > 0:
        raise ValueError(
            f"L-BFGS needs a differentiable objective, but {regularizer!r} has an L1 part. "
            "Use proximal gradient descent instead: train_distributed(..., batch_size=None) "
            "with SGD(momentum=0)."
        )
    with scheduler_errors(data.client), WorkerChannels(
            data.client, data.parts, scatter_network(data.client, net), loss,
            direct=direct) as channels:
        evaluate = DistributedObjective(net, loss, data, regularizer=regularizer,
                                        channels=channels)
        return minimize_lbfgs(net, loss, evaluate, max_iter=max_iter, tol=tol,
                              verbose=verbose, callbacks=callbacks, max_fun=max_fun)
