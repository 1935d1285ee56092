"""The training loop: epochs of batches, a gradient and an optimizer step per batch.

:func:`train` sets the run up (:class:`numnet.training.setup.TrainingSetup`: the checks, the
:class:`Run`, resume, the callbacks) and runs :func:`run_loop` with its parts:

- a batch sampler (:mod:`~numnet.training.sampling`): which rows form each batch;
- a gradient computation (:mod:`~numnet.training.gradients`): a batch's loss and gradient;
- callbacks (:mod:`~numnet.training.callbacks`): validation, timing, progress, early stopping,
  the user's callbacks, the learning-rate schedule, divergence and checkpoints.

A new way to draw batches or to compute a step's gradient (DP-SGD, data-parallel training) is
a new sampler or gradient computation passed to :func:`run_loop`, not a branch in it.
"""

import numpy as np

from .._validation import check_bool, check_int
from ..optimizers import clip_grad_norm
from .checks import check_validation_batch_size, row_major
from .gradients import Backprop
from .sampling import FullBatch, MiniBatches, TrainingData
from .setup import Run, TrainingSetup
from .validation import split_rows, validation_split_indices

__all__ = ["Run", "run_loop", "train"]


def run_loop(run, sampler, gradient, callbacks, steps=None):
    """Train ``run.net`` until ``run.max_epochs`` or until a callback stops it.

    ::

        for each epoch:
            for each batch the sampler draws:
                L = gradient(net, loss, X_b, y_b, w_b)          writes net.grads
                L += penalty(W); grads[W] += dpenalty/dW         (unless proximal)
                clip(grads); optimizer.step(params, grads)
                W = prox(W, learning_rate)                       (if proximal)
            history.loss += [weighted mean of L over the epoch]
        callbacks act at the hooks in between (see numnet.training.callbacks)

    ``steps(run, batches, skip)``, when given, sees each epoch's ``(index, rows)`` pairs first
    and yields those the loop takes itself; it takes the others, doing for them what the loop
    would (the workers' peer epochs, :class:`numnet.distributed.peers.PeerEpochs`).

    Returns
    -------
    History
    """
    net, optimizer, history = run.net, run.optimizer, run.history
    skip_weightless = getattr(sampler, "skip_weightless", True)
    # Overflow to inf/nan is caught through the loss (DivergenceGuard) and turned into a
    # DivergenceError with the parameters restored; NumPy's warnings would only interfere.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            callbacks.on_train_begin(run)
            for epoch in range(run.start_epoch, run.max_epochs + 1):
                run.epoch = epoch
                skip = run.skip if run.epoch == run.start_epoch else 0
                if not skip:
                    run.epoch_total = 0.0
                callbacks.on_epoch_begin(run)
                batches = enumerate(sampler.epoch(run.data.n_samples, run.rng))
                if steps is not None:
                    batches = steps(run, batches, skip)
                for index, rows in batches:
                    if index < skip:
                        continue  # resuming: these batches were done before the interruption
                    callbacks.on_batch_begin(run, index)
                    X_b, y_b, w_b = run.data.batch(rows)
                    if skip_weightless and w_b is not None and not w_b.sum() > 0:
                        continue  # a batch of zero-weight samples carries no gradient
                    value = gradient(net, run.loss, X_b, y_b, w_b, full_batch=sampler.full_batch)
                    value = add_penalty(run, value)
                    callbacks.on_loss(run, value)
                    take_step(run)
                    run.epoch_total += value * (X_b.shape[0] if w_b is None else float(w_b.sum()))
                    run.n_seen += X_b.shape[0]
                # a view of the epoch's permutation (enumerate keeps its last pair too): not kept
                # through validation
                rows = batches = None
                history.loss.append(run.epoch_total / run.data.total_weight)
                history.learning_rate.append(optimizer.learning_rate)
                callbacks.on_epoch_end(run)
                if run.stop:
                    history.stopped_epoch, history.converged = run.epoch, True
                    break
            callbacks.on_train_end(run)
        finally:
            callbacks.close(run)
    return history


def add_penalty(run, value):
    """The penalty of the weights, and its gradient unless it is applied by a proximal step.

    ``run`` needs ``net``, ``regularizer`` and ``proximal`` (a :class:`Run`, or the workers'
    own in a peer epoch, :mod:`numnet.distributed.peers`, which take the same steps).
    """
    if run.regularizer is not None:
        value += run.regularizer.penalty(run.net.penalized)
        if not run.proximal:
            run.regularizer.gradient(run.net.penalized, out=run.net.penalized_grads)
    return value


def take_step(run):
    """Clip, the optimizer's step, the proximal step.

    ``run`` as for :func:`add_penalty`, with ``optimizer`` and ``clip_norm`` too.
    """
    net, optimizer = run.net, run.optimizer
    if run.clip_norm is not None:
        clip_grad_norm(net.grads, run.clip_norm)
    optimizer.step(net.params, net.grads)
    if run.proximal and run.regularizer is not None:
        run.regularizer.prox(net.penalized, optimizer.learning_rate)


def train(net, loss, optimizer, X, y, *, regularizer=None, sample_weight=None, batch_size=32,
          max_epochs=100, shuffle=True, validation_data=None, validation_fraction=None,
          validation_batch_size=None, early_stopping=None, lr_schedule=None, clip_norm=None,
          proximal=None, random_state=None, verbose=False, callbacks=(), checkpoint=None,
          resume=False, rows=None):
    """Train ``net`` by mini-batch (or full-batch) gradient descent with ``optimizer``.

    Each step, on a batch (X_b, y_b, w_b)::

        raw = net.forward(X_b, training=True)
        L, d_raw = loss.loss_gradient(y_b, raw, w_b)        d_raw = dL/draw
        net.backward(d_raw)                                 writes dL/dparams into net.grads
        net.grads[W] += regularizer.gradient(W)             (unless proximal)
        optimizer.step(net.params, net.grads)
        W = regularizer.prox(W, learning_rate)              (if proximal)

    Parameters
    ----------
    net : Sequential
        A built network; X must match its width and dtype.
    loss : Loss
    optimizer : Optimizer
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples, n_outputs) or (n_samples,)
        Targets in the loss's format (one-hot for SoftmaxCrossEntropy, 0/1 for
        BinaryCrossEntropy); checked once before training starts.
    regularizer : Regularizer, default=None
        Penalty on the weights.
    sample_weight : ndarray of shape (n_samples,), default=None
    batch_size : int or None, default=32
        ``None`` means full-batch gradient descent (one step per epoch over all samples).
    max_epochs : int, default=100
    shuffle : bool, default=True
        Reshuffle the sample order each epoch.
    validation_data : tuple (X_val, y_val) or (X_val, y_val, w_val), default=None
    validation_fraction : float, default=None
        Hold out this share of (X, y) for validation instead (stratified for classification
        losses, seeded by random_state). Exclusive with validation_data.
    validation_batch_size : int or None, default=None
        The rows per forward pass when the validation loss and metric are computed after each
        epoch (Keras's name). None forwards all validation rows at once. An int forwards them
        in blocks of that many rows (the last block holds the remainder) and combines the
        blocks' losses and metrics weighted by their rows (or sample weights), keeping no
        block's activations beyond it: the memory of the validation pass then grows with the
        block, not with the validation data (a 100-unit hidden layer holds 400 bytes a row in
        float32). The figures equal the one-pass ones to rounding, not bit for bit: BLAS may
        round a block's outputs differently in the last bit, and the blocks are summed in
        another order. A loss or score at a tie can therefore move, and with it, rarely, the
        epoch early stopping picks. Ignored without validation data.
    early_stopping : EarlyStopping, default=None
        A shortcut for ``callbacks=[..., early_stopping]`` (it runs at its own ``order``).
    lr_schedule : Schedule, default=None
        Sets ``optimizer.learning_rate`` after each epoch.
    clip_norm : float, default=None
        Clip the global gradient norm to this value before each step.
    proximal : bool, default=None
        Apply the regularizer by its proximal operator after each step instead of through
        the gradient, which makes L1 weights exactly zero. ``None`` means: when the regularizer
        has an L1 part. With plain SGD (no momentum) this is proximal gradient descent and
        minimises the penalised objective; with momentum or Adam it is the usual heuristic
        (still exact zeros, but not the exact minimiser).
    random_state : int, numpy.random.Generator or None, default=None
        Seeds shuffling and the validation split.
    verbose : bool, default=False
        Show a progress bar (tqdm) with the losses.
    callbacks : sequence of callables or Callback, default=()
        A callable is called as ``callback(epoch, history)`` after each epoch; a truthy return
        stops training. A :class:`numnet.training.Callback` gets every hook of the loop, at
        its ``order`` among the built-in callbacks (see :mod:`numnet.training.callbacks`).
    checkpoint : numnet.Checkpoint, default=None
        Where to save the complete training state (parameters, optimizer state, random
        generator states, validation split, history) every ``checkpoint.every`` epochs and at
        the end. With a checkpoint, Ctrl-C (SIGINT) and SIGTERM finish the current step, save
        the state and raise :class:`numnet.TrainingInterrupted`.
    resume : bool, default=False
        Continue from the state in ``checkpoint`` if there is one. With the same data and
        arguments, a resumed run ends with bit-identical parameters to an uninterrupted one;
        resuming a finished run returns its result without training.
    rows : int ndarray, default=None
        Train on the rows ``X[rows]`` only, without copying them: y and sample_weight hold
        those rows, in that order, and X's other rows may be validation data (the estimators'
        early-stopping split). The same run as on ``X[rows]``, bit for bit. A
        ``validation_fraction`` split leaves its training rows in X this way too.

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        When the loss becomes NaN or infinite; the parameters from the start of the failing
        epoch are restored and the optimizer state is reset first.
    TrainingInterrupted
        After SIGINT/SIGTERM when a checkpoint is given, once the state is saved.
    """
    setup = TrainingSetup(net, loss, optimizer, max_epochs=max_epochs, regularizer=regularizer,
                          lr_schedule=lr_schedule, early_stopping=early_stopping,
                          callbacks=callbacks, checkpoint=checkpoint, resume=resume,
                          verbose=verbose, clip_norm=clip_norm, proximal=proximal)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", min_value=1)
    shuffle = check_bool(shuffle, "shuffle")
    validation_batch_size = check_validation_batch_size(validation_batch_size)
    if validation_fraction is not None and validation_data is not None:
        raise ValueError(
            f"validation_fraction must be None when validation_data is given, got "
            f"{validation_fraction!r}. Pass one of them."
        )
    if rows is not None:
        rows = _check_rows(rows, np.shape(X)[0], validation_fraction)
    X, y, sample_weight, magnitudes, validation_data = setup.check_data(
        X, y, sample_weight, validation_data, rows)
    rng = np.random.default_rng(random_state)
    split = None
    if validation_fraction is not None:
        state = setup.state
        split = (state.validation_split if state is not None and state.validation_split
                 else validation_split_indices(y, loss, validation_fraction, X.shape[0], rng))
        rows, y, sample_weight, validation_data = split_rows(X, y, sample_weight, split)
        magnitudes = magnitudes[rows]    # no copy of X's training rows (issue 26 item 5)

    n_samples = X.shape[0] if rows is None else rows.shape[0]
    batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
    sampler = FullBatch() if batch_size == n_samples else MiniBatches(batch_size, shuffle)
    if sampler.full_batch and rows is not None:
        X, rows = X[rows], None           # full batch: the rows once, not gathered each epoch
    run = setup.start(
        TrainingData(X if sampler.full_batch else row_major(X), y, sample_weight, rows), rng,
        setup.fingerprint(n_samples, {"batch_size": int(batch_size)}),
        validation_data=validation_data, validation_split=split,
        first_pass=(X, y, sample_weight, magnitudes), first_pass_rows=rows,
        validation_batch_size=validation_batch_size)
    del magnitudes  # of the first-pass check only: not kept while training (issue 26 item 5)
    if setup.finished:
        return run.history
    return run_loop(run, sampler, Backprop(), setup.parts)


def _check_rows(rows, n_rows, validation_fraction):
    """``rows`` as an int array of row numbers of X, for :func:`train`'s ``rows``."""
    if validation_fraction is not None:
        raise ValueError(
            f"validation_fraction must be None when rows is given, got "
            f"{validation_fraction!r}. Pass the validation rows as validation_data."
        )
    array = np.asarray(rows)
    if array.ndim != 1 or array.dtype.kind not in "iu" or (
            array.size and not (0 <= array.min() and array.max() < n_rows)):
        raise ValueError(
            f"rows must be a 1-d integer array of row numbers of X (0 to {n_rows - 1}), got "
            f"{rows!r}. Pass the indices of the training rows."
        )
    return array
