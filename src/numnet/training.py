"""Training: mini-batches, the full-batch objective, early stopping, history, train and L-BFGS.

Plain functions and two small classes, no callback framework (STYLE.md section 2).
"""

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp

from . import kernels
from ._validation import check_bool, check_float, check_int, check_option
from .exceptions import DivergenceError, TrainingInterrupted
from .losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy, check_sample_weight
from .optimizers import SGD, Optimizer, clip_grad_norm
from .regularizers import Regularizer
from .schedules import Schedule


def iter_minibatches(n_samples, batch_size, *, shuffle=True, rng=None):
    """Yield index arrays (shuffled) or slices (in order) that cover ``range(n_samples)`` once.

    Indices are shuffled, never the data (scikit-learn's habit); the last batch may be smaller.

    Examples
    --------
    >>> [b for b in iter_minibatches(5, 2, shuffle=False)]
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    if shuffle:
        order = np.random.default_rng(rng).permutation(n_samples)
        for start in range(0, n_samples, batch_size):
            yield order[start:start + batch_size]
    else:
        for start in range(0, n_samples, batch_size):
            yield slice(start, min(start + batch_size, n_samples))


def objective(net, loss, X, y, *, regularizer=None, sample_weight=None):
    """Full-batch objective and its gradient, a pure function of ``net.params``.

    ::

        f(params) = loss(y, net.forward(X), sample_weight) + regularizer.penalty(W)
        grad      = df/dparams, shape (n_params,)

    Dropout is inactive (``training=False``), so f is deterministic. This is what L-BFGS
    minimises and what the gradient checks differentiate numerically.

    Returns
    -------
    value : float
    grad : ndarray of shape (n_params,)
        ``net.grads`` itself, overwritten by the next call: copy it to keep it.
    """
    value = kernels.linear_objective(net, loss, X, y, sample_weight)
    if value is None:
        raw = net.forward(X)
        value, d_raw = loss.loss_gradient(y, raw, sample_weight)
        net.backward(d_raw, input_grad=False)
    if regularizer is not None:
        value += regularizer.penalty(net.penalized)
        regularizer.gradient(net.penalized, out=net.penalized_grads)
    return value, net.grads


class EarlyStopping:
    """Stop when the monitored value has not improved for ``patience`` epochs.

    An epoch improves when ``value < best - min_delta`` (mode "min") or
    ``value > best + min_delta`` (mode "max"). With ``restore_best``, the parameters of the best
    epoch are copied back at the end (one ``np.copyto`` of the flat vector). The state resets
    at the start of each training run, so one object can be reused (as Keras does).

    Parameters
    ----------
    patience : int, default=10
        Epochs without improvement before stopping. Must be >= 1.
    min_delta : float, default=0.0
        Smallest change that counts as an improvement. Must be >= 0.
    monitor : {"auto", "loss", "val_loss", "val_metric"}, default="auto"
        ``"auto"`` is ``"val_loss"`` when there is validation data, else ``"loss"``.
    restore_best : bool, default=True
    """

    def __init__(self, patience=10, min_delta=0.0, monitor="auto", restore_best=True):
        self.patience = check_int(patience, "patience", min_value=1)
        self.min_delta = check_float(min_delta, "min_delta", min_value=0)
        self.monitor = check_option(monitor, "monitor", {"auto", "loss", "val_loss", "val_metric"})
        self.restore_best = check_bool(restore_best, "restore_best")
        self.reset()

    def reset(self, mode="min"):
        """Forget the best value and the counter; ``mode`` is "min" or "max"."""
        self.mode = mode
        self.best = np.inf if mode == "min" else -np.inf
        self.best_epoch = None
        self.best_params = None
        self.wait = 0

    def update(self, value, params, epoch=None):
        """Record this epoch's value; snapshot ``params`` if it improved. Return True to stop."""
        improved = (
            value < self.best - self.min_delta if self.mode == "min"
            else value > self.best + self.min_delta
        )
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                if self.best_params is None or self.best_params.shape != params.shape:
                    self.best_params = np.empty_like(params)
                np.copyto(self.best_params, params)
            return False
        self.wait += 1
        return self.wait >= self.patience

    def state_dict(self):
        """Mode, best value, best epoch, counter and best parameters, for checkpoints."""
        return {"mode": self.mode, "best": float(self.best), "best_epoch": self.best_epoch,
                "wait": self.wait,
                "best_params": None if self.best_params is None else self.best_params.copy()}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        self.mode, self.best = state["mode"], float(state["best"])
        self.best_epoch, self.wait = state["best_epoch"], int(state["wait"])
        best = state["best_params"]
        self.best_params = None if best is None else np.array(best, copy=True)

    def restore(self, params):
        """Copy the best parameters back into ``params`` (if restore_best and any were seen)."""
        if self.restore_best and self.best_params is not None:
            np.copyto(params, self.best_params)

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
                f"monitor={self.monitor!r}, restore_best={self.restore_best})")


@dataclass
class History:
    """What happened in each epoch of a training run.

    Attributes
    ----------
    loss : list of float
        Training objective per epoch: the mean mini-batch loss (weighted by batch size) plus the
        penalty.
    val_loss : list of float
        Validation loss per epoch (data loss only, no penalty); empty without validation data.
    val_metric : list of float
        Validation accuracy (classification losses) or R^2 (MeanSquaredError) per epoch.
    metric_name : str
        ``"accuracy"`` or ``"r2"``.
    learning_rate : list of float
        Learning rate used in each epoch.
    time : list of float
        Seconds elapsed since the start of training at the end of each epoch.
    best_epoch : int or None
        1-based epoch with the best monitored value under early stopping; its parameters are
        the final ones when ``restore_best`` is True.
    stopped_epoch : int or None
        1-based epoch at which early stopping (or a callback) ended training.
    converged : bool
        True when training ended before max_epochs (early stopping, a callback, or L-BFGS's
        own convergence test).
    """

    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)
    metric_name: str = ""
    learning_rate: list = field(default_factory=list)
    time: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    converged: bool = False

    @property
    def n_epochs(self):
        """Number of completed epochs (iterations for L-BFGS)."""
        return len(self.loss)

    def to_dict(self):
        """Plain-data copy (lists of floats), for model files."""
        return asdict(self)


def train(net, loss, optimizer, X, y, *, regularizer=None, sample_weight=None, batch_size=32,
          max_epochs=100, shuffle=True, validation_data=None, validation_fraction=None,
          early_stopping=None, lr_schedule=None, clip_norm=None, proximal=None,
          random_state=None, verbose=False, callbacks=(), checkpoint=None, resume=False):
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
    X : ndarray of shape (n_samples, n_features)
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
    early_stopping : EarlyStopping, default=None
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
    callbacks : sequence of callables, default=()
        Each is called as ``callback(epoch, history)`` after each epoch; a truthy return
        stops training.
    checkpoint : numnet.Checkpoint, default=None
        Where to save the complete training state (parameters, optimizer state, random
        generator states, validation split, history) every ``checkpoint.every`` epochs and at
        the end. With a checkpoint, Ctrl-C (SIGINT) and SIGTERM finish the current step, save
        the state and raise :class:`numnet.TrainingInterrupted`.
    resume : bool, default=False
        Continue from the state in ``checkpoint`` if there is one. With the same data and
        arguments, a resumed run ends with bit-identical parameters to an uninterrupted one;
        resuming a finished run returns its result without training.

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
    from .checkpoint import InterruptGuard, capture_state, restore_state  # (imports training)

    _check_components(net, loss, optimizer, regularizer, early_stopping, lr_schedule,
                      callbacks, checkpoint)
    max_epochs = check_int(max_epochs, "max_epochs", min_value=1)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", min_value=1)
    shuffle = check_bool(shuffle, "shuffle")
    verbose = check_bool(verbose, "verbose")
    if proximal is not None:
        proximal = check_bool(proximal, "proximal")
    if clip_norm is not None:
        clip_norm = check_float(clip_norm, "clip_norm", min_value=0, include_min=False)
    resume = check_bool(resume, "resume")
    if resume and checkpoint is None:
        raise ValueError(
            "resume must be False without a checkpoint, got True. Pass checkpoint=... to resume "
            "from."
        )
    if validation_fraction is not None and validation_data is not None:
        raise ValueError(
            f"validation_fraction must be None when validation_data is given, got "
            f"{validation_fraction!r}. Pass one of them."
        )
    X, y, sample_weight, magnitudes = _check_data(net, X, y, sample_weight, loss,
                                                  with_magnitudes=True)
    if validation_data is not None:
        validation_data = _check_validation(net, validation_data, loss)
    rng = np.random.default_rng(random_state)
    state = checkpoint.load() if resume else None

    split = None
    if validation_fraction is not None:
        split = (state.validation_split if state is not None and state.validation_split
                 else _validation_split_indices(y, loss, validation_fraction, X.shape[0], rng))
        X, y, sample_weight, validation_data = _apply_split(X, y, sample_weight, split)
        magnitudes = magnitudes[split[0]]

    n_samples = X.shape[0]
    batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
    full_batch = batch_size == n_samples
    if not full_batch:
        X = _row_major(X)
    if proximal is None:
        proximal = regularizer is not None and regularizer.l1 > 0
    history = History(metric_name=_metric_name(loss))
    if lr_schedule is not None:
        lr_schedule.start(optimizer.learning_rate)
    monitor = None
    if early_stopping is not None:
        monitor = early_stopping.monitor
        if monitor == "auto":
            monitor = "val_loss" if validation_data is not None else "loss"
        if monitor.startswith("val_") and validation_data is None:
            raise ValueError(
                f"EarlyStopping(monitor={monitor!r}) needs validation data; pass "
                "validation_data or validation_fraction."
            )
        early_stopping.reset("max" if monitor == "val_metric" else "min")

    params, grads = net.params, net.grads
    fingerprint = {"n_params": int(params.size), "dtype": params.dtype.name,
                   "n_samples": int(n_samples), "batch_size": int(batch_size),
                   "optimizer": type(optimizer).__name__}
    start_epoch, start_batch, epoch_total, n_seen, time_offset = 1, 0, 0.0, 0, 0.0
    if state is not None:
        _check_fingerprint(state.fingerprint, fingerprint, checkpoint)
        history = restore_state(state, net, optimizer, rng, early_stopping, lr_schedule,
                                callbacks, checkpoint)
        if state.finished:
            return history
        start_epoch, start_batch = state.epoch + 1, state.batch
        epoch_total, n_seen = state.epoch_total, state.n_seen
        time_offset = history.time[-1] if history.time else 0.0
    else:
        _check_first_pass(net, loss, X, y, sample_weight, magnitudes)

    def snapshot(epoch_done, batch_done, rng_state, total, finished=False):
        return capture_state(
            epoch=epoch_done, batch=batch_done, rng_state=rng_state, epoch_total=total,
            n_seen=n_seen, net=net, optimizer=optimizer, history=history,
            early_stopping=early_stopping, lr_schedule=lr_schedule, fingerprint=fingerprint,
            validation_split=split, finished=finished, callbacks=callbacks,
        )

    last_finite = params.copy()
    grad_out = X_buf = y_buf = None
    total_weight = n_samples if sample_weight is None else float(sample_weight.sum())
    started = time.perf_counter() - time_offset
    with contextlib.ExitStack() as stack:
        # Overflow to inf/nan is caught through the loss below and turned into a
        # DivergenceError with the parameters restored; NumPy's warnings would only interfere.
        stack.enter_context(np.errstate(over="ignore", invalid="ignore", divide="ignore"))
        guard = stack.enter_context(InterruptGuard(enabled=checkpoint is not None))
        progress = stack.enter_context(_Progress(max_epochs, verbose, done=start_epoch - 1))
        restored_from = None  # where last_finite comes from, set at each epoch's start
        for epoch in range(start_epoch, max_epochs + 1):
            if epoch != start_epoch and not _all_finite(params):
                # The previous epoch made the parameters non-finite without its loss showing
                # it (an infinite gradient after the last loss): keep the copy from before it.
                raise _diverged(net, optimizer, last_finite, np.nan, epoch - 1, restored_from,
                                "parameters")
            np.copyto(last_finite, params)
            restored_from = (f"the start of epoch {epoch}" if epoch != start_epoch
                             or not start_batch else f"the resume point in epoch {epoch}")
            epoch_rng_state = rng.bit_generator.state
            skip = start_batch if epoch == start_epoch else 0
            if not skip:
                epoch_total = 0.0
            batches = (
                # Full batch: the order of the rows cannot change the gradient, so skip the
                # permutation and the gather and use X itself.
                [slice(0, n_samples)] if full_batch
                else iter_minibatches(n_samples, batch_size, shuffle=shuffle, rng=rng)
            )
            for batch_index, batch in enumerate(batches):
                if batch_index < skip:
                    continue  # resuming: these batches were done before the interruption
                if guard.signal is not None:
                    checkpoint.save(snapshot(epoch - 1, batch_index, epoch_rng_state,
                                             epoch_total))
                    raise TrainingInterrupted(guard.signal, epoch, checkpoint)
                if isinstance(batch, slice):
                    X_b, y_b = X[batch], y[batch]
                else:
                    # Gather the batch rows into reusable buffers: no allocation per step.
                    if X_buf is None or X_buf.shape[0] != batch.shape[0]:
                        X_buf = (None if sp.issparse(X) else
                                 np.empty((batch.shape[0], X.shape[1]), dtype=X.dtype))
                        y_buf = np.empty((batch.shape[0], y.shape[1]), dtype=y.dtype)
                    X_b = X[batch] if X_buf is None else X.take(batch, axis=0, out=X_buf)
                    y_b = y.take(batch, axis=0, out=y_buf)
                w_b = None if sample_weight is None else sample_weight[batch]
                if w_b is not None and not w_b.sum() > 0:
                    continue  # a batch of zero-weight samples carries no gradient

                # A linear model on the full batch: one fused pass over X (numnet.kernels).
                value = (kernels.linear_objective(net, loss, X_b, y_b, w_b) if full_batch
                         else None)
                if value is None:
                    raw = net.forward(X_b, training=True)
                    if grad_out is None or grad_out.shape != raw.shape:
                        grad_out = np.empty_like(raw)
                    value, d_raw = loss.loss_gradient(y_b, raw, w_b, out=grad_out)
                    net.backward(d_raw, input_grad=False)
                if regularizer is not None:
                    value += regularizer.penalty(net.penalized)
                    if not proximal:
                        regularizer.gradient(net.penalized, out=net.penalized_grads)
                if not math.isfinite(value):
                    raise _diverged(net, optimizer, last_finite, value, epoch, restored_from)
                if clip_norm is not None:
                    clip_grad_norm(grads, clip_norm)
                optimizer.step(params, grads)
                if proximal and regularizer is not None:
                    regularizer.prox(net.penalized, optimizer.learning_rate)
                epoch_total += value * (X_b.shape[0] if w_b is None else float(w_b.sum()))
                n_seen += X_b.shape[0]

            history.loss.append(epoch_total / total_weight)
            history.learning_rate.append(optimizer.learning_rate)
            if validation_data is not None:
                val_loss, val_metric = _evaluate(net, loss, *validation_data)
                history.val_loss.append(val_loss)
                history.val_metric.append(val_metric)
                if not np.isfinite(val_loss):
                    raise _diverged(net, optimizer, last_finite, val_loss, epoch, restored_from,
                                    "validation loss")
            history.time.append(time.perf_counter() - started)
            progress.update(history)

            stop = False
            if early_stopping is not None:
                monitored = {"loss": history.loss, "val_loss": history.val_loss,
                             "val_metric": history.val_metric}[monitor][-1]
                stop = early_stopping.update(monitored, params, epoch)
            for callback in callbacks:
                stop = bool(callback(epoch, history)) or stop
            if lr_schedule is not None:
                metric = history.val_loss[-1] if validation_data is not None else history.loss[-1]
                optimizer.learning_rate = lr_schedule.update(
                    epoch, metric=metric, n_samples_seen=n_seen
                )
            if stop:
                history.stopped_epoch, history.converged = epoch, True
                break
            if checkpoint is not None and epoch < max_epochs and (
                guard.signal is not None or (checkpoint.every and epoch % checkpoint.every == 0)
            ):
                checkpoint.save(snapshot(epoch, 0, rng.bit_generator.state, 0.0))
                if guard.signal is not None:
                    raise TrainingInterrupted(guard.signal, epoch + 1, checkpoint)

    if early_stopping is not None and early_stopping.best_epoch is not None:
        history.best_epoch = early_stopping.best_epoch
        early_stopping.restore(params)
    if not np.all(np.isfinite(params)):
        raise _diverged(net, optimizer, last_finite, np.nan, history.n_epochs,
                        f"the start of epoch {history.n_epochs}", "parameters")
    if checkpoint is not None:
        checkpoint.save(snapshot(history.n_epochs, 0, rng.bit_generator.state, 0.0,
                                 finished=True))
    return history


def train_lbfgs(net, loss, X, y, *, regularizer=None, sample_weight=None, max_iter=200,
                tol=1e-6, validation_data=None, verbose=False, callbacks=(), max_fun=None):
    """Minimise :func:`objective` over ``net.params`` with SciPy's L-BFGS-B.

    The flat parameter vector is exactly what ``scipy.optimize.minimize`` wants, so no packing
    or unpacking is needed. Best for small and convex problems (linear and logistic regression).

    Parameters
    ----------
    net, loss, X, y, regularizer, sample_weight
        As in :func:`train`. The regularizer must be differentiable (no L1 part).
    max_iter : int, default=200
        Maximum number of L-BFGS iterations; one history entry per iteration.
    tol : float, default=1e-6
        Stop when the largest gradient entry is below tol (SciPy's ``gtol``).
    validation_data : tuple, default=None
    verbose : bool, default=False
    callbacks : sequence of callables, default=()
        Called as ``callback(iteration, history)``; a truthy return stops.
    max_fun : int, default=None
        Maximum number of objective evaluations (SciPy's ``maxfun``); None means
        ``15000 + 2 * max_iter``.

    Returns
    -------
    History
        ``converged`` tells whether SciPy's convergence test passed before max_iter.
    """
    from scipy.optimize import minimize

    _check_components(net, loss, SGD(), regularizer, None, None, callbacks, None)
    if regularizer is not None and regularizer.l1 > 0:
        raise ValueError(
            f"L-BFGS needs a differentiable objective, but {regularizer!r} has an L1 part. "
            "Use proximal gradient descent instead: train(..., batch_size=None) with "
            "SGD(momentum=0)."
        )
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    tol = check_float(tol, "tol", min_value=0, include_min=False)
    verbose = check_bool(verbose, "verbose")
    X, y, sample_weight, magnitudes = _check_data(net, X, y, sample_weight, loss,
                                                  with_magnitudes=True)
    if validation_data is not None:
        validation_data = _check_validation(net, validation_data, loss)
    _check_first_pass(net, loss, X, y, sample_weight, magnitudes)
    history = History(metric_name=_metric_name(loss))
    started = time.perf_counter()
    progress = _Progress(max_iter, verbose)

    def fun(theta):
        np.copyto(net.params, theta, casting="unsafe")
        # An overflowing trial point only makes the line search step back: no warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, grad = objective(net, loss, X, y, regularizer=regularizer,
                                    sample_weight=sample_weight)
        return value, grad.astype(np.float64)

    def on_iteration(intermediate_result):
        history.loss.append(float(intermediate_result.fun))
        history.learning_rate.append(float("nan"))
        if validation_data is not None:
            np.copyto(net.params, intermediate_result.x, casting="unsafe")
            val_loss, val_metric = _evaluate(net, loss, *validation_data)
            history.val_loss.append(val_loss)
            history.val_metric.append(val_metric)
        history.time.append(time.perf_counter() - started)
        progress.update(history)
        stop = False
        for callback in callbacks:
            stop = bool(callback(history.n_epochs, history)) or stop
        if stop:
            history.stopped_epoch = history.n_epochs
            raise StopIteration

    with progress:
        result = minimize(
            fun, net.params.astype(np.float64), jac=True, method="L-BFGS-B",
            callback=on_iteration,
            options={"maxiter": max_iter,
                     "maxfun": 15000 + 2 * max_iter if max_fun is None else max_fun, "gtol": tol,
                     "ftol": 64 * np.finfo(float).eps, "maxls": 50},
        )
    np.copyto(net.params, result.x, casting="unsafe")
    history.converged = bool(result.status == 0) or history.stopped_epoch is not None
    if not np.all(np.isfinite(net.params)) or not np.isfinite(result.fun):
        raise DivergenceError(
            f"L-BFGS produced a non-finite loss after {history.n_epochs} iterations. "
            "Scale the features (e.g. with sklearn.preprocessing.StandardScaler).",
            epoch=history.n_epochs,
        )
    if not history.loss or history.loss[-1] != result.fun:
        history.loss.append(float(result.fun))
        history.learning_rate.append(float("nan"))
        history.time.append(time.perf_counter() - started)
    return history


def _diverged(net, optimizer, last_finite, value, epoch, restored_from, what="loss"):
    """Restore the last finite parameters, reset the optimizer, and build the error to raise."""
    np.copyto(net.params, last_finite)
    optimizer.reset()
    return DivergenceError(
        f"Training diverged: the {what} became {value} at epoch {epoch}. The parameters from "
        f"{restored_from} were restored and the optimizer state was reset. Lower the learning "
        f"rate (now {optimizer.learning_rate:g}) or scale the features (e.g. with "
        "sklearn.preprocessing.StandardScaler).",
        epoch=epoch,
    )


def _check_fingerprint(saved, current, checkpoint):
    for key, value in current.items():
        if saved.get(key) != value:
            raise ValueError(
                f"The checkpoint in {checkpoint} was written for {key}={saved.get(key)!r}, but "
                f"this run has {key}={value!r}. Resume with the same data and settings, or "
                "start afresh without resume."
            )


def _check_components(net, loss, optimizer, regularizer, early_stopping, lr_schedule,
                      callbacks, checkpoint):
    """Type checks of train()'s collaborators, before any work starts."""
    from .network import Sequential

    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a numnet Sequential, got {type(net).__name__}.")
    net._check_built()
    if net.params.size == 0:
        raise ValueError(
            "net must have trainable parameters, got 0. Add a Dense layer to the network."
        )
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a numnet Loss, got {type(loss).__name__}.")
    expected = [("optimizer", optimizer, Optimizer, "Adam()"),
                ("regularizer", regularizer, Regularizer, "L2(0.01)"),
                ("early_stopping", early_stopping, EarlyStopping, "EarlyStopping(patience=10)"),
                ("lr_schedule", lr_schedule, Schedule, "StepDecay(10)")]
    for name, value, cls, example in expected:
        if value is not None and not isinstance(value, cls):
            raise TypeError(
                f"{name} must be a numnet {cls.__name__} (e.g. {example}), got "
                f"{type(value).__name__}."
            )
    if optimizer is None:
        raise TypeError("optimizer must be a numnet Optimizer (e.g. Adam()), got NoneType.")
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(
                f"callbacks must hold callables callback(epoch, history), got "
                f"{type(callback).__name__}."
            )
    if checkpoint is not None and not (hasattr(checkpoint, "save") and
                                       hasattr(checkpoint, "load")):
        raise TypeError(
            f"checkpoint must be a numnet Checkpoint, got {type(checkpoint).__name__}."
        )


def _check_data(net, X, y, sample_weight, loss=None, *, with_magnitudes=False):
    """Validate training data at the boundary, before any work starts.

    With ``with_magnitudes=True`` also returns ``max |x|`` of every row of X, which the
    first-pass check reuses: one pass over X answers both questions.
    """
    net.check_input(X)
    y = np.asarray(y)
    given_shape = y.shape
    if y.ndim == 1 and net.n_out == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != net.n_out:
        hint = getattr(loss, "_shape_hint", "") if y.ndim == 1 else ""
        raise ValueError(
            f"y must have shape (n_samples, {net.n_out}) to match the network's output, "
            f"got {given_shape}.{hint}"
        )
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y must have the same number of samples, got {X.shape[0]} and {y.shape[0]}."
        )
    if X.shape[0] == 0:
        raise ValueError("X must contain at least one sample, got 0.")
    magnitudes = _row_magnitudes(X)
    if not np.all(np.isfinite(magnitudes)):
        raise ValueError("X contains NaN or infinity. Remove or impute those values first.")
    y = y.astype(net.dtype, copy=False)
    if not _all_finite(y):
        raise ValueError("y contains NaN or infinity. Remove those samples first.")
    if loss is not None:
        loss.check_targets(y)
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, X.shape[0], net.dtype)
    if with_magnitudes:
        return X, y, sample_weight, magnitudes
    return X, y, sample_weight


def _row_major(X):
    """X in a layout whose rows are cheap to gather: C order, or CSR for sparse X.

    Gathering mini-batch rows from a column-major (Fortran-ordered) array reads one element per
    cache line and is 14-48x slower than from a C-ordered one; one copy up front costs about
    one epoch's gather. Full-batch training never gathers and keeps X as it is.
    """
    if sp.issparse(X):
        return X.tocsr()
    return np.ascontiguousarray(X)


def _all_finite(array):
    """True when no entry is NaN or infinite, without a boolean copy of a large array.

    The sum of finite values is finite unless it overflows, so the sum answers almost always;
    only then are the entries checked one by one (scikit-learn's fast path).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(array, axis=None)):
            return True
    return bool(np.isfinite(array).all())


def _row_magnitudes(array):
    """``max |x|`` of every row of a 2-D array (NaN or inf where the row holds one).

    One pass over the data: blocks of rows go through a small reusable buffer (abs, then the
    row-wise max while the block is in cache), so no copy of the data is made. A NaN propagates
    through the max, so the result also tells whether the data are finite.
    """
    n_rows, n_columns = array.shape
    out = np.zeros(n_rows, dtype=np.result_type(array.dtype, np.float32))
    if n_columns == 0:
        return out
    if sp.issparse(array):
        return _sparse_row_magnitudes(array, out)
    block = max(1, (1 << 16) // n_columns)
    buffer = np.empty((min(block, n_rows), n_columns), dtype=out.dtype)
    for start in range(0, n_rows, block):
        part = array[start:start + block]
        scratch = buffer[:part.shape[0]]
        np.abs(part, out=scratch)
        np.maximum.reduce(scratch, axis=1, out=out[start:start + block])
    return out


def _sparse_row_magnitudes(array, out, block=1 << 16):
    """``_row_magnitudes`` of sparse X from its stored values, never densified or copied.

    CSR: blocks of about ``block`` stored values go through one small buffer (abs, then a
    ``maximum.reduceat`` over the rows' starts); rows without stored values keep 0. Building
    ``abs(X)`` instead copied the whole matrix and took twice as long (3.1 against 1.5 ms for
    2 million stored values). Other formats take scipy's path.
    """
    if array.format != "csr":
        return abs(array).max(axis=1).toarray().ravel().astype(out.dtype, copy=False)
    data, indptr = array.data, array.indptr
    n_rows = array.shape[0]
    rows_per_block = max(1, block * n_rows // max(data.shape[0], 1))
    buffer = np.empty(0, dtype=out.dtype)
    for start in range(0, n_rows, rows_per_block):
        stop = min(start + rows_per_block, n_rows)
        low, high = indptr[start], indptr[stop]
        if high == low:
            continue
        if buffer.shape[0] < high - low:
            buffer = np.empty(high - low, dtype=out.dtype)
        values = np.abs(data[low:high], out=buffer[:high - low])
        starts = indptr[start:stop] - low
        stored = indptr[start + 1:stop + 1] > indptr[start:stop]
        # Each reduction runs to the next non-empty row's start; empty rows hold no values.
        out[start:stop][stored] = np.maximum.reduceat(values, starts[stored])
    return out


def _extreme_rows(array, n_rows=64, magnitude=None):
    """The rows holding the largest absolute values (up to n_rows of them).

    ``magnitude`` is ``_row_magnitudes(array)`` when the caller has it already.
    """
    if magnitude is None:
        magnitude = _row_magnitudes(array)
    if magnitude.shape[0] <= n_rows:
        return np.arange(magnitude.shape[0])
    return np.argpartition(magnitude, -n_rows)[-n_rows:]


def _check_first_pass(net, loss, X, y, sample_weight, magnitudes=None, n_first=256):
    """A forward pass on the most extreme rows: data too large for the network fails clearly.

    Finite but huge values (say 1e300) pass the NaN/infinity checks and would only show up as a
    "divergence" in epoch 1, with a misleading hint to lower the learning rate. Checking every
    row would cost a third of an epoch; the first rows plus the rows with the largest absolute
    values in X and in y catch such data at a tiny cost. The loss of a zero output tells
    whether y itself is too large for the loss.
    """
    rows = np.unique(np.concatenate([np.arange(min(n_first, X.shape[0])),
                                     _extreme_rows(X, magnitude=magnitudes),
                                     _extreme_rows(y)]))
    weights = None if sample_weight is None else sample_weight[rows]
    if weights is not None and not weights.sum() > 0:
        weights = None  # zero-weight rows still must not overflow
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        raw = net.forward(X[rows])
        if np.all(np.isfinite(raw)) and np.isfinite(loss.loss(y[rows], raw, weights)):
            return
        if not np.isfinite(loss.loss(y[rows], np.zeros_like(raw), weights)):
            raise ValueError(
                f"y must have values small enough for the loss to stay finite, got values up "
                f"to {float(np.max(np.abs(y))):.3g}: the loss of the first forward pass "
                "overflows. Scale the targets (e.g. divide them by their standard deviation)."
            )
    raise ValueError(
        f"X must have values small enough for the network's output to stay finite, got values "
        f"up to {float(np.max(np.abs(X))):.3g}: the first forward pass overflows. Scale the "
        "features (e.g. with sklearn.preprocessing.StandardScaler)."
    )


def _check_validation(net, validation_data, loss=None):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError(
            "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, sample_weight), "
            f"got {type(validation_data).__name__}"
            + (f" of length {len(validation_data)}." if isinstance(validation_data,
                                                                   (tuple, list)) else ".")
        )
    X_val, y_val, w_val = (*validation_data, None)[:3]
    return _check_data(net, X_val, y_val, w_val, loss)


def _validation_split_indices(y, loss, fraction, n_samples, rng):
    """(train_indices, validation_indices): stratified by class for classification losses."""
    from sklearn.model_selection import train_test_split

    fraction = check_float(fraction, "validation_fraction", min_value=0, max_value=1,
                           include_min=False, include_max=False)
    stratify = None
    if isinstance(loss, SoftmaxCrossEntropy):
        stratify = y.argmax(axis=1)
    elif isinstance(loss, BinaryCrossEntropy) and y.shape[1] == 1:
        stratify = y[:, 0]
    n_val = int(np.ceil(fraction * n_samples))
    if n_val < 1 or n_val >= n_samples:
        raise ValueError(
            f"validation_fraction={fraction} leaves {n_val} of {n_samples} samples for "
            "validation; both parts need at least one sample."
        )
    try:
        train_idx, val_idx = train_test_split(
            np.arange(n_samples), test_size=fraction, stratify=stratify,
            random_state=int(rng.integers(2**31 - 1)),
        )
    except ValueError as error:
        raise ValueError(
            f"validation_fraction={fraction} cannot split the data stratified by class: "
            f"{error} Use more samples per class or a larger validation_fraction."
        ) from None
    return train_idx, val_idx


def _apply_split(X, y, sample_weight, split):
    train_idx, val_idx = split
    w_train, w_val = (None, None) if sample_weight is None else (sample_weight[train_idx],
                                                                 sample_weight[val_idx])
    return X[train_idx], y[train_idx], w_train, (X[val_idx], y[val_idx], w_val)


def _split_validation(X, y, sample_weight, loss, fraction, rng):
    """Hold out a stratified, seeded share of the data: (X, y, w, (X_val, y_val, w_val))."""
    split = _validation_split_indices(y, loss, fraction, X.shape[0], rng)
    return _apply_split(X, y, sample_weight, split)


def _metric_name(loss):
    return "r2" if not isinstance(loss, (BinaryCrossEntropy, SoftmaxCrossEntropy)) else "accuracy"


def _evaluate(net, loss, X, y, sample_weight=None):
    """Validation loss and metric (accuracy or R^2) of the current parameters."""
    raw = net.forward(X)
    value = loss.loss(y, raw, sample_weight)
    if isinstance(loss, SoftmaxCrossEntropy):
        correct = (raw.argmax(axis=1) == y.argmax(axis=1)).astype(float)
    elif isinstance(loss, BinaryCrossEntropy):
        correct = np.all((raw > 0) == (y > 0.5), axis=1).astype(float)
    else:
        # R^2 of the predictions: link(raw) is raw itself for the squared error, exp for Poisson.
        residual = np.average((y - loss.link(raw)) ** 2, axis=0, weights=sample_weight)
        total = np.average((y - np.average(y, axis=0, weights=sample_weight)) ** 2, axis=0,
                           weights=sample_weight)
        # As sklearn.metrics.r2_score: a constant target scores 1 if predicted exactly, else 0.
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                          np.where(residual == 0, 1.0, 0.0))
        return value, float(np.mean(r2))
    return value, float(np.average(correct, weights=sample_weight))


class _Progress:
    """A tqdm bar over epochs showing the latest losses; does nothing unless verbose."""

    def __init__(self, total, verbose, done=0):
        self.bar = None
        if verbose:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=done, unit="epoch", leave=True)

    def update(self, history):
        if self.bar is None:
            return
        postfix = {"loss": f"{history.loss[-1]:.4g}"}
        if history.val_loss:
            postfix["val_loss"] = f"{history.val_loss[-1]:.4g}"
            postfix[f"val_{history.metric_name}"] = f"{history.val_metric[-1]:.4g}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.close()
        return False
