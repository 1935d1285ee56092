"""One setup for every training loop: checks, the :class:`Run`, resume, the callbacks.

:func:`numnet.train`, :func:`numnet.privacy.train_private`,
:func:`numnet.distributed.train_distributed` and ``train_stream`` differ in how they draw
batches and compute a step's gradient; everything around that is :class:`TrainingSetup`::

    setup = TrainingSetup(net, loss, optimizer, max_epochs=..., callbacks=..., ...)
                                                 the arguments every loop shares, checked
    X, y, w, val = setup.check_data(X, y, w, val)    in-memory data (train, train_private)
    setup.state                                  the checkpoint's state when resuming, else None
    fingerprint = setup.fingerprint(n_samples, {"batch_size": ...}, **more)
    run = setup.start(data, rng, fingerprint, ...)   the Run, its callbacks; resumed, or the
                                                     first forward pass checked
    if setup.finished:                           a resumed run that had finished
        return run.history
    return run_loop(run, sampler, gradient, setup.parts)

Every feature of a run is a callback (:mod:`numnet.training.callbacks`): validation, progress,
early stopping, the user's callbacks, the schedule, divergence, checkpoints; a loop adds its
own (a privacy accountant) through ``features``.
"""

from dataclasses import dataclass

import numpy as np

from .._validation import check_bool, check_float, check_int
from .callbacks import Callback, loop_callbacks, stateful_callbacks
from .checks import (
    _check_data,
    _check_first_pass,
    _check_resume,
    _check_validation,
    check_components,
)
from .early_stopping import EarlyStopping
from .history import History
from .sampling import TrainingData
from .state import resume_run
from .validation import metric_name


@dataclass
class Run:
    """What the parts of one training run share: the model, the data, the counters.

    The loop advances ``epoch``, ``epoch_total`` (the weighted sum of batch losses in this
    epoch) and ``n_seen`` (samples processed); callbacks read them and may set ``stop``.
    ``start_epoch`` and ``skip`` (batches of the start epoch already done) come from a resumed
    checkpoint; a fresh run starts at epoch 1 with nothing to skip. ``validation_data`` is the
    held-out ``(X_val, y_val, w_val)``, or None.
    """

    net: object
    loss: object
    optimizer: object
    data: TrainingData
    rng: np.random.Generator
    history: History
    max_epochs: int
    regularizer: object = None
    proximal: bool = False
    clip_norm: float | None = None
    start_epoch: int = 1
    skip: int = 0
    epoch: int = 0
    epoch_total: float = 0.0
    n_seen: int = 0
    stop: bool = False
    validation_data: tuple | None = None


class TrainingSetup:
    """The arguments every training loop shares, checked, and the run built from them.

    Parameters
    ----------
    net, loss, optimizer, regularizer, lr_schedule, callbacks, checkpoint, resume, \
max_epochs, verbose, clip_norm, proximal
        As in :func:`numnet.train`; ``proximal=None`` becomes True when the regularizer has an
        L1 part.
    early_stopping : EarlyStopping, default=None
        Added to the callbacks (``train(early_stopping=...)`` is a shortcut for it).
    check_network : callable, default=None
        ``check_network(net)``: the loop's own check of the network, after the type checks.

    Attributes
    ----------
    callbacks : list
        The user's callbacks, early stopping among them.
    functions : list
        The plain-function callbacks of ``callbacks``.
    parts : CallbackList
        After :meth:`start`: every callback of the run, in order.
    finished : bool
        After :meth:`start`: the resumed run had finished (``run.history`` is its result).
    """

    def __init__(self, net, loss, optimizer, *, max_epochs, regularizer=None, lr_schedule=None,
                 early_stopping=None, callbacks=(), checkpoint=None, resume=False,
                 verbose=False, clip_norm=None, proximal=None, check_network=None):
        callbacks = list(callbacks)
        self.functions = [c for c in callbacks if not isinstance(c, Callback)]
        check_components(net, loss, optimizer, regularizer, lr_schedule, self.functions,
                         checkpoint)
        if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
            raise TypeError(
                "early_stopping must be a numnet EarlyStopping (e.g. EarlyStopping(patience=10)), "
                f"got {type(early_stopping).__name__}."
            )
        if check_network is not None:
            check_network(net)
        self.max_epochs = check_int(max_epochs, "max_epochs", min_value=1)
        self.verbose = check_bool(verbose, "verbose")
        if proximal is not None:
            proximal = check_bool(proximal, "proximal")
        if clip_norm is not None:
            clip_norm = check_float(clip_norm, "clip_norm", min_value=0, include_min=False)
        self.resume = _check_resume(resume, checkpoint)
        if early_stopping is not None and not any(c is early_stopping for c in callbacks):
            callbacks.append(early_stopping)
        self.callbacks = callbacks
        self.net, self.loss, self.optimizer = net, loss, optimizer
        self.regularizer, self.lr_schedule, self.checkpoint = regularizer, lr_schedule, checkpoint
        self.clip_norm = clip_norm
        self.proximal = (regularizer is not None and regularizer.l1 > 0) if proximal is None \
            else proximal
        self._state, self._loaded = None, False
        self.parts = None
        self.finished = False

    @property
    def state(self):
        """The checkpoint's :class:`TrainingState` when resuming (None if there is none yet)."""
        if self.resume and not self._loaded:
            self._state, self._loaded = self.checkpoint.load(), True
        return self._state

    def check_data(self, X, y, sample_weight=None, validation_data=None, rows=None):
        """In-memory data checked: ``(X, y, w, magnitudes, validation_data)``.

        ``magnitudes`` is ``max |x|`` of each row, for the first-pass check (:meth:`start`).
        ``rows``: the training rows are ``X[rows]`` (y and w hold theirs).
        """
        X, y, sample_weight, magnitudes = _check_data(self.net, X, y, sample_weight, self.loss,
                                                      with_magnitudes=True, rows=rows)
        if validation_data is not None:
            validation_data = _check_validation(self.net, validation_data, self.loss)
        return X, y, sample_weight, magnitudes, validation_data

    def fingerprint(self, n_samples, batches, **more):
        """What a resume must match: sizes, ``batches`` (how they are drawn), the optimizer.

        Checkpoint files keep strings and integers only (floats as their exact repr).
        """
        return {"n_params": int(self.net.params.size), "dtype": self.net.params.dtype.name,
                "n_samples": int(n_samples), **batches,
                "optimizer": type(self.optimizer).__name__, **more}

    def start(self, data, rng, fingerprint, *, validation_data=None, validation_split=None,
              features=(), stateful=(), first_pass=None, first_pass_rows=None,
              validation_batch_size=None):
        """Build the run and its callbacks; resume it, or check the first forward pass.

        Parameters
        ----------
        data : TrainingData or the loop's own view of its data
        rng : numpy.random.Generator
            The run's generator (batches, and what the loop draws from it).
        fingerprint : dict
            :meth:`fingerprint`.
        validation_data : tuple (X_val, y_val, w_val), default=None
            Checked; recorded after each epoch.
        validation_split : tuple of two int arrays, default=None
            Of a ``validation_fraction`` split, kept in checkpoints.
        validation_batch_size : int or None, default=None
            Checked (:func:`~numnet.training.checks.check_validation_batch_size`): the
            validation rows are forwarded in blocks of this many rows; None, in one pass.
        features : sequence of Callback, default=()
            The loop's own callbacks (a privacy accountant).
        stateful : sequence, default=()
            The loop's own objects whose ``state_dict`` checkpoints keep (by position, before
            the user's plain-function callbacks).
        first_pass : tuple (X, y, w, magnitudes), default=None
            Data for the first-pass check of a fresh run (:func:`check_data`'s figures).
        first_pass_rows : int ndarray, default=None
            The training rows are ``X[first_pass_rows]`` (:class:`TrainingData`'s ``rows``).

        Returns
        -------
        Run
        """
        if self.lr_schedule is not None:
            self.lr_schedule.start(self.optimizer.learning_rate)
        run = Run(net=self.net, loss=self.loss, optimizer=self.optimizer, data=data, rng=rng,
                  history=History(metric_name=metric_name(self.loss)),
                  max_epochs=self.max_epochs, regularizer=self.regularizer,
                  proximal=self.proximal, clip_norm=self.clip_norm,
                  validation_data=validation_data)
        keyed = stateful_callbacks(list(stateful) + self.functions, self.callbacks)
        self.parts = loop_callbacks(
            validation_data=validation_data, verbose=self.verbose, features=features,
            callbacks=self.callbacks, lr_schedule=self.lr_schedule, checkpoint=self.checkpoint,
            fingerprint=fingerprint, validation_split=validation_split, stateful=keyed,
            validation_batch_size=validation_batch_size)
        self.parts.on_setup(run)
        state = self.state
        if state is not None:
            self.finished = resume_run(run, state, fingerprint, self.checkpoint,
                                       lr_schedule=self.lr_schedule, callbacks=keyed)
        elif first_pass is not None:
            _check_first_pass(self.net, self.loss, *first_pass, rows=first_pass_rows)
        return run
