"""Training: mini-batches, the full-batch objective, early stopping, history, train and L-BFGS.

Plain functions and two small classes, no callback framework (STYLE.md section 2).
"""

import copy
import signal
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ._validation import check_bool, check_float, check_int, check_option
from .exceptions import DivergenceError, TrainingInterrupted
from .losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy
from .optimizers import clip_grad_norm


def iter_minibatches(n_samples, batch_size, *, shuffle=True, rng=None):
    """Yield index arrays (shuffled) or slices (in order) that cover ``range(n_samples)`` once.

    Indices are shuffled, never the data (scikit-learn's habit); the last batch may be smaller.

    Examples
    --------
    >>> [b for b in iter_minibatches(5, 2, shuffle=False)]
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
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
        1-based epoch whose parameters were kept by early stopping.
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

    Each step, on a batch (X_b, y_b)::

        raw = net.forward(X_b, training=True)
        L, dL/draw = loss.loss_gradient(y_b, raw, w_b)
        grads = net.backward(dL/draw)              (+ regularizer gradient on the weights)
        optimizer.step(params, grads)              (then the proximal step, if proximal)

    Parameters
    ----------
    net : Sequential
        A built network; X must match its width and dtype.
    loss : Loss
    optimizer : Optimizer
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples, n_outputs) or (n_samples,)
        Targets in the loss's format (one-hot for SoftmaxCrossEntropy).
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
        the gradient (exact zeros for L1). ``None`` means: when the regularizer has an L1 part.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds shuffling and the validation split.
    verbose : bool, default=False
        Show a progress bar (tqdm) with the losses.
    callbacks : sequence of callables, default=()
        Each is called as ``callback(epoch, history)`` after each epoch; a truthy return
        stops training.
    checkpoint : numnet.checkpoint.Checkpoint, default=None
        Where to save the complete training state (parameters, optimizer state, random
        generator states, history) every ``checkpoint.every`` epochs. With a checkpoint,
        Ctrl-C (SIGINT) and SIGTERM finish the current step, save the state and raise
        :class:`TrainingInterrupted`.
    resume : bool, default=False
        Continue from the state in ``checkpoint`` if there is one. With the same data,
        arguments and ``random_state``, a resumed run ends with bit-identical parameters to an
        uninterrupted one.

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        When the loss becomes NaN or infinite; the parameters of the last finished epoch are
        restored first.
    TrainingInterrupted
        After SIGINT/SIGTERM when a checkpoint is given, once the state is saved.
    """
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a numnet Loss, got {type(loss).__name__}.")
    max_epochs = check_int(max_epochs, "max_epochs", min_value=1)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", min_value=1)
    shuffle = check_bool(shuffle, "shuffle")
    if clip_norm is not None:
        clip_norm = check_float(clip_norm, "clip_norm", min_value=0, include_min=False)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint to resume from; pass checkpoint=...")
    X, y, sample_weight = _check_data(net, X, y, sample_weight)
    rng = np.random.default_rng(random_state)

    if validation_fraction is not None:
        if validation_data is not None:
            raise ValueError("Pass validation_data or validation_fraction, not both.")
        X, y, sample_weight, validation_data = _split_validation(
            X, y, sample_weight, loss, validation_fraction, rng
        )
    if validation_data is not None:
        validation_data = _check_validation(net, validation_data)

    n_samples = X.shape[0]
    batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
    full_batch = batch_size == n_samples
    if proximal is None:
        proximal = regularizer is not None and regularizer.l1 > 0
    history = History(metric_name=_metric_name(loss))
    if lr_schedule is not None:
        lr_schedule.start(optimizer.learning_rate)
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
    last_finite = params.copy()
    grad_out = None
    X_buf = y_buf = None
    total_weight = n_samples if sample_weight is None else float(sample_weight.sum())
    n_seen = 0
    start_epoch, start_batch, epoch_total, time_offset = 1, 0, 0.0, 0.0
    fingerprint = {"n_params": int(params.size), "dtype": params.dtype.name,
                   "n_samples": int(n_samples), "batch_size": int(batch_size),
                   "optimizer": type(optimizer).__name__}
    if resume:
        state = checkpoint.load()
        if state is not None:
            _check_fingerprint(state.fingerprint, fingerprint, checkpoint)
            history = _restore_state(state, net, optimizer, rng, early_stopping, lr_schedule)
            start_epoch, start_batch = state.epoch + 1, state.batch
            epoch_total, n_seen = state.epoch_total, state.n_seen
            time_offset = history.time[-1] if history.time else 0.0
            if start_epoch > max_epochs:
                return history
    started = time.perf_counter() - time_offset
    progress = _Progress(max_epochs, verbose)
    if start_epoch > 1:
        progress.skip(start_epoch - 1)

    def snapshot(epoch_done, batch_done, rng_state, total):
        return _capture_state(epoch_done, batch_done, rng_state, total, n_seen, net, optimizer,
                              history, early_stopping, lr_schedule, fingerprint)

    guard = _InterruptGuard(enabled=checkpoint is not None)
    # Overflow to inf/nan is detected through the loss below and turned into a DivergenceError
    # with the parameters restored; NumPy's warnings would only get in the way.
    errstate = np.errstate(over="ignore", invalid="ignore", divide="ignore")
    try:
        errstate.__enter__()
        guard.__enter__()
        for epoch in range(start_epoch, max_epochs + 1):
            np.copyto(last_finite, params)
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
                        X_buf = np.empty((batch.shape[0], X.shape[1]), dtype=X.dtype)
                        y_buf = np.empty((batch.shape[0], y.shape[1]), dtype=y.dtype)
                    X_b = np.take(X, batch, axis=0, out=X_buf)
                    y_b = np.take(y, batch, axis=0, out=y_buf)
                w_b = None if sample_weight is None else sample_weight[batch]
                if w_b is not None and not w_b.sum() > 0:
                    continue  # a batch of zero-weight samples carries no gradient

                raw = net.forward(X_b, training=True)
                if grad_out is None or grad_out.shape != raw.shape:
                    grad_out = np.empty_like(raw)
                value, d_raw = loss.loss_gradient(y_b, raw, w_b, out=grad_out)
                net.backward(d_raw, input_grad=False)
                if regularizer is not None:
                    value += regularizer.penalty(net.penalized)
                    if not proximal:
                        regularizer.gradient(net.penalized, out=net.penalized_grads)
                if not np.isfinite(value):
                    np.copyto(params, last_finite)
                    raise _divergence(value, epoch, optimizer)
                if clip_norm is not None:
                    clip_grad_norm(grads, clip_norm)
                optimizer.step(params, grads)
                if proximal and regularizer is not None:
                    regularizer.prox(net.penalized, optimizer.learning_rate)
                batch_weight = raw.shape[0] if w_b is None else float(w_b.sum())
                epoch_total += value * batch_weight
                n_seen += raw.shape[0]

            history.loss.append(epoch_total / total_weight)
            history.learning_rate.append(optimizer.learning_rate)
            if validation_data is not None:
                val_loss, val_metric = _evaluate(net, loss, *validation_data)
                history.val_loss.append(val_loss)
                history.val_metric.append(val_metric)
                if not np.isfinite(val_loss):
                    np.copyto(params, last_finite)
                    raise _divergence(val_loss, epoch, optimizer, "validation loss")
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
            if checkpoint is not None and (
                stop or epoch == max_epochs or guard.signal is not None
                or (checkpoint.every and epoch % checkpoint.every == 0)
            ):
                checkpoint.save(snapshot(epoch, 0, rng.bit_generator.state, 0.0))
                if guard.signal is not None and not stop and epoch < max_epochs:
                    raise TrainingInterrupted(guard.signal, epoch + 1, checkpoint)
            if stop:
                break
    finally:
        guard.__exit__(None, None, None)
        errstate.__exit__(None, None, None)
        progress.close()

    if early_stopping is not None and early_stopping.best_epoch is not None:
        history.best_epoch = early_stopping.best_epoch
        early_stopping.restore(params)
    if not np.all(np.isfinite(params)):
        np.copyto(params, last_finite)
        raise _divergence(np.nan, history.n_epochs, optimizer, "parameters")
    return history


def train_lbfgs(net, loss, X, y, *, regularizer=None, sample_weight=None, max_iter=200,
                tol=1e-6, validation_data=None, verbose=False, callbacks=()):
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

    Returns
    -------
    History
        ``converged`` tells whether SciPy's convergence test passed before max_iter.
    """
    from scipy.optimize import minimize

    if regularizer is not None and regularizer.l1 > 0:
        raise ValueError(
            f"L-BFGS needs a differentiable objective, but {regularizer!r} has an L1 part. "
            "Use proximal gradient descent instead: train(..., batch_size=None) with SGD, or "
            "Adam."
        )
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    tol = check_float(tol, "tol", min_value=0, include_min=False)
    X, y, sample_weight = _check_data(net, X, y, sample_weight)
    if validation_data is not None:
        validation_data = _check_validation(net, validation_data)
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

    try:
        result = minimize(
            fun, net.params.astype(np.float64), jac=True, method="L-BFGS-B",
            callback=on_iteration,
            options={"maxiter": max_iter, "maxfun": 15000 + 2 * max_iter, "gtol": tol,
                     "ftol": 64 * np.finfo(float).eps, "maxls": 50},
        )
    finally:
        progress.close()
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


@dataclass
class TrainingState:
    """Everything :func:`train` needs to continue exactly where it stopped.

    Attributes
    ----------
    epoch : int
        Epochs completed.
    batch : int
        Batches of epoch ``epoch + 1`` already done (0 at an epoch boundary).
    rng_state : dict
        State of the shuffling generator at the start of epoch ``epoch + 1`` (the permutation
        is drawn again on resume and the first ``batch`` batches are skipped).
    epoch_total : float
        Running sum of batch losses in the interrupted epoch.
    n_seen : int
        Samples processed so far (for per-sample schedules).
    params : ndarray of shape (n_params,)
    optimizer : dict
        ``optimizer.state_dict()`` plus ``"learning_rate"``.
    layer_rngs : dict
        Layer index (as str) -> generator state of layers with randomness (dropout).
    history : dict
        ``History.to_dict()``.
    early_stopping : dict or None
    schedule : dict or None
    fingerprint : dict
        Sizes and types that must match for a resume to be valid.
    """

    epoch: int
    batch: int
    rng_state: dict
    epoch_total: float
    n_seen: int
    params: np.ndarray
    optimizer: dict
    layer_rngs: dict
    history: dict
    early_stopping: dict | None
    schedule: dict | None
    fingerprint: dict


def _capture_state(epoch, batch, rng_state, epoch_total, n_seen, net, optimizer, history,
                   early_stopping, lr_schedule, fingerprint):
    layer_rngs = {}
    for index, layer in enumerate(net.layers):
        layer_state = layer.get_rng_state()
        if layer_state is not None:
            layer_rngs[str(index)] = layer_state
    return TrainingState(
        epoch=epoch, batch=batch, rng_state=copy.deepcopy(rng_state),
        epoch_total=float(epoch_total), n_seen=int(n_seen), params=net.params.copy(),
        optimizer={**optimizer.state_dict(), "learning_rate": optimizer.learning_rate},
        layer_rngs=layer_rngs, history=copy.deepcopy(history.to_dict()),
        early_stopping=None if early_stopping is None else early_stopping.state_dict(),
        schedule=None if lr_schedule is None else lr_schedule.state_dict(),
        fingerprint=dict(fingerprint),
    )


def _restore_state(state, net, optimizer, rng, early_stopping, lr_schedule):
    np.copyto(net.params, state.params)
    optimizer_state = dict(state.optimizer)
    optimizer.learning_rate = float(optimizer_state.pop("learning_rate"))
    optimizer.load_state_dict(optimizer_state)
    rng.bit_generator.state = copy.deepcopy(state.rng_state)
    for index, layer_state in state.layer_rngs.items():
        net.layers[int(index)].set_rng_state(layer_state)
    if early_stopping is not None and state.early_stopping is not None:
        early_stopping.load_state_dict(state.early_stopping)
    if lr_schedule is not None and state.schedule is not None:
        lr_schedule.load_state_dict(state.schedule)
    return History(**copy.deepcopy(state.history))


def _check_fingerprint(saved, current, checkpoint):
    for key, value in current.items():
        if saved.get(key) != value:
            raise ValueError(
                f"The checkpoint in {checkpoint} was written for {key}={saved.get(key)!r}, but "
                f"this run has {key}={value!r}. Resume with the same data and settings, or "
                "start afresh without resume."
            )


class _InterruptGuard:
    """While active, SIGINT and SIGTERM only set ``self.signal``; train() then saves and stops.

    Handlers can only be installed from the main thread; elsewhere signals keep their
    default behaviour.
    """

    def __init__(self, enabled):
        self.enabled = enabled
        self.signal = None
        self._previous = {}

    def __enter__(self):
        if self.enabled and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C stops at once
        self.signal = signum

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        return False


def _divergence(value, epoch, optimizer, what="loss"):
    return DivergenceError(
        f"Training diverged: the {what} became {value} at epoch {epoch}. The parameters from "
        f"the end of epoch {epoch - 1} were restored. Lower the learning rate (now "
        f"{optimizer.learning_rate:g}) or scale the features (e.g. with "
        "sklearn.preprocessing.StandardScaler).",
        epoch=epoch,
    )


def _check_data(net, X, y, sample_weight):
    """Validate training data at the boundary, before any work starts."""
    net.check_input(X)
    y = np.asarray(y)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != net.n_out:
        raise ValueError(
            f"y must have shape (n_samples, {net.n_out}) to match the network's output, "
            f"got {y.shape}."
        )
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y must have the same number of samples, got {X.shape[0]} and {y.shape[0]}."
        )
    if X.shape[0] == 0:
        raise ValueError("X must contain at least one sample, got 0.")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinity. Remove or impute those values first.")
    y = y.astype(net.dtype, copy=False)
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinity. Remove those samples first.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=net.dtype)
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight must have shape (n_samples,) = ({X.shape[0]},), "
                f"got {sample_weight.shape}."
            )
        if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
            raise ValueError("sample_weight must contain finite values >= 0.")
        if not sample_weight.sum() > 0:
            raise ValueError(
                "sample_weight must have a positive sum, got all zeros. Give at least one "
                "sample a weight > 0."
            )
    return X, y, sample_weight


def _check_validation(net, validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError(
            "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, sample_weight)."
        )
    X_val, y_val, w_val = (*validation_data, None)[:3]
    return _check_data(net, X_val, y_val, w_val)


def _split_validation(X, y, sample_weight, loss, fraction, rng):
    from sklearn.model_selection import train_test_split

    fraction = check_float(fraction, "validation_fraction", min_value=0, max_value=1,
                           include_min=False, include_max=False)
    stratify = None
    if isinstance(loss, SoftmaxCrossEntropy):
        stratify = y.argmax(axis=1)
    elif isinstance(loss, BinaryCrossEntropy) and y.shape[1] == 1:
        stratify = y[:, 0]
    n_val = int(np.ceil(fraction * X.shape[0]))
    if n_val < 1 or n_val >= X.shape[0]:
        raise ValueError(
            f"validation_fraction={fraction} leaves {n_val} of {X.shape[0]} samples for "
            "validation; both parts need at least one sample."
        )
    arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
    try:
        parts = train_test_split(*arrays, test_size=fraction, stratify=stratify,
                                 random_state=int(rng.integers(2**31 - 1)))
    except ValueError as error:
        raise ValueError(
            f"validation_fraction={fraction} cannot split the data stratified by class: "
            f"{error} Use more samples per class or a larger validation_fraction."
        ) from None
    X_tr, X_val, y_tr, y_val = parts[:4]
    w_tr, w_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
    return X_tr, y_tr, w_tr, (X_val, y_val, w_val)


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
        residual = np.average((y - raw) ** 2, axis=0, weights=sample_weight)
        total = np.average((y - np.average(y, axis=0, weights=sample_weight)) ** 2, axis=0,
                           weights=sample_weight)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), 0.0)
        return value, float(np.mean(r2))
    return value, float(np.average(correct, weights=sample_weight))


class _Progress:
    """A tqdm bar over epochs showing the latest losses; does nothing unless verbose."""

    def __init__(self, total, verbose):
        self.bar = None
        if verbose:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="epoch", leave=True)

    def update(self, history):
        if self.bar is None:
            return
        postfix = {"loss": f"{history.loss[-1]:.4g}"}
        if history.val_loss:
            postfix["val_loss"] = f"{history.val_loss[-1]:.4g}"
            postfix[f"val_{history.metric_name}"] = f"{history.val_metric[-1]:.4g}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def skip(self, n_epochs):
        if self.bar is not None:
            self.bar.update(n_epochs)

    def close(self):
        if self.bar is not None:
            self.bar.close()

