"""Shared scikit-learn plumbing for numnet's estimators: checks, targets, weights, training.

Every estimator is a thin layer over a :class:`numnet.Sequential` trained by
:func:`numnet.train` (solvers 'gd', 'sgd', 'adam') or :func:`numnet.train_lbfgs` ('lbfgs').

The documented objective J of an estimator (scikit-learn's units) and the objective F that numnet's
loss and regularizer compute differ by a constant factor ``J = scale * F`` (for example
``MeanSquaredError`` has no 0.5). The minimiser is the same; the estimators convert learning
rates, tolerances and reported losses so that every public number is in J's units.

Fitted state (the contract model files rely on)
-----------------------------------------------
After ``fit``, ALL the state that prediction needs lives in public attributes whose names end in
``_`` (listed by ``estimator._fitted_attributes()``), and each value is one of:

- a :class:`numnet.Sequential` (``network_``: the fitted network; predictions read only this),
- a :class:`numnet.History` (``history_``),
- a NumPy numeric array, or a list of them (``coef_``, ``coefs_``, ``n_iter_`` of
  LogisticRegression, ...),
- a Python int, float, str, bool or None, or a list of them (``loss_curve_``, ...),
- ``classes_`` and ``feature_names_in_``: NumPy arrays that may hold strings or objects.

``coef_``/``intercept_`` and ``coefs_``/``intercepts_`` are *views* into ``network_.params``,
computed on each access and never stored in ``vars(estimator)`` (so model files do not hold them
twice): ``coef_[:] = 0`` and ``coef_ = new`` (checked for shape, dtype and finiteness) both change
the model, as in scikit-learn. Setting one before ``network_`` exists stores it as a plain
attribute, which ``network_`` replaces when it is set (a model file may list either first).
Nothing else is needed at predict time: labels are decoded from ``classes_``, the output link from
``out_activation_`` and ``n_outputs_``. State used only to *continue* training lives in private
attributes and may be dropped by a loader: ``_optimizer`` (its moments, for ``partial_fit``),
``_rng`` (the shuffling generator), ``_no_improvement_count``; training continues without them
(a fresh optimizer, a generator reseeded from ``random_state``).

Checkpoints
-----------
``fit`` reads two private attributes, never set in ``__init__``: ``_checkpoint`` (a
:class:`numnet.Checkpoint`, or any object with ``every``, ``save`` and ``load``) and ``_resume``
(bool). They are passed to :func:`numnet.train` (solvers 'gd', 'sgd', 'adam'; L-BFGS cannot be
resumed mid-run). The scikit-learn bookkeeping of :class:`_EpochRule` (counters, best scores,
the best weights, the early-stopping split) is part of the saved state, so a resumed fit ends
bit-identical to an uninterrupted one.
"""

import contextlib
import dataclasses
import warnings
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from ..exceptions import DivergenceError
from ..objective import objective
from ..optimizers import SGD, Adam
from ..privacy import train_private
from ..privacy.accounting import check_delta
from ..regularizers import ElasticNet
from ..training import History, train, train_lbfgs
from ..training.validation import split_rows, validation_split_indices
from ._checks import CHECKS, _check_private, _private, check_sample_weight, check_table, make_rng
from ._dask import fit_dask, is_dask_collection, resolve_dask_solver
from ._rule import _EpochRule, _IterationLines, _merge_histories
from ._views import _FittedViews

_STOCHASTIC = ("sgd", "adam")
_EXACT = ("lstsq", "cholesky")
def _stochastic_solver(estimator):
    """available_if condition of partial_fit: only the mini-batch solvers continue by epochs."""
    if estimator.solver not in _STOCHASTIC:
        raise AttributeError(
            f"partial_fit is only available for the stochastic solvers 'sgd' and 'adam', "
            f"not solver={estimator.solver!r}."
        )
    if estimator.dp_epsilon is not None or estimator.dp_noise_multiplier is not None:
        raise AttributeError(
            "partial_fit is not available with differential privacy (dp_epsilon or "
            "dp_noise_multiplier set): the accountant composes the epochs of one fit. Use fit()."
        )
    return True


def _max_eigenvalue(X, sample_weight, fit_intercept, n_iter=50, rtol=1e-3):
    """Largest eigenvalue of Xa.T @ diag(w) @ Xa / sum(w), Xa = [X, 1]: power iteration.

    This is the Lipschitz constant of the gradient of ``1/(2 sum(w)) * ||Xa v - y||_w**2``; the
    linear models use it for the default step of 'gd' and 'sgd'.
    """
    n_features = X.shape[1]
    weights = (np.full(X.shape[0], 1.0 / X.shape[0], dtype=X.dtype) if sample_weight is None
               else (sample_weight / sample_weight.sum()).astype(X.dtype))
    v = np.random.default_rng(0).standard_normal(n_features + fit_intercept).astype(X.dtype)
    v /= np.linalg.norm(v)
    value = 0.0
    for _ in range(n_iter):
        u = X @ v[:n_features]
        if fit_intercept:
            u += v[-1]
        u *= weights
        g = np.empty_like(v)
        g[:n_features] = X.T @ u
        if fit_intercept:
            g[-1] = u.sum()
        new_value = float(np.linalg.norm(g))
        if new_value == 0.0:
            return 0.0
        v = g / new_value
        if abs(new_value - value) <= rtol * new_value:
            return new_value
        value = new_value
    return value


class _NumnetEstimator(_FittedViews, BaseEstimator):
    """Base class: hyperparameter checks, data checks, the training loop, fitted attributes.

    Subclasses define ``_encode_targets``, ``_loss``, ``_make_network``, ``_objective`` and
    ``_set_model_attributes`` (and may add checks in ``_check_extra_params``).
    """

    def _fitted_attributes(self):
        """Names of the fitted public attributes (the state a model file must keep)."""
        return sorted(k for k in vars(self) if k.endswith("_") and not k.startswith("_"))

    def _validate_params(self):
        """Check every hyperparameter; return their validated values as a namespace."""
        cls = type(self).__name__
        values = {name: CHECKS[name](value, f"{name} of {cls}") if name in CHECKS else value
                  for name, value in self.get_params(deep=False).items()}
        p = SimpleNamespace(**values)
        self._check_extra_params(p)
        p.l1_ratio_effective = self._resolve_penalty(p)
        if p.solver == "lbfgs" and p.l1_ratio_effective:
            raise ValueError(
                f"solver of {cls} must be one of {{'adam', 'gd', 'sgd'}} with "
                f"l1_ratio={p.l1_ratio_effective!r}, got 'lbfgs'. L-BFGS needs a differentiable "
                "objective; the other solvers apply the L1 term by a proximal "
                "(soft-thresholding) step."
            )
        return p

    def _penalty_off(self, p):
        """Whether the strength parameter switches the penalty off (alpha=0; C=inf)."""
        return p.alpha == 0

    def _resolve_penalty(self, p):
        """The L1 share r of the penalty, or None for no penalty (scikit-learn >= 1.8 rules).

        ``l1_ratio`` selects the penalty: 0 is L2, 1 is L1, in between elastic-net; the
        strength (alpha = 0, or C = inf) switches it off. An explicit ``penalty`` (deprecated)
        still decides, with a FutureWarning in ``fit``; an ``l1_ratio`` that names the other
        pure penalty (1 with "l2" or None) contradicts it and raises.
        """
        cls = type(self).__name__
        ratio = 0.0 if p.l1_ratio is None else p.l1_ratio
        if p.penalty == "deprecated":
            return None if self._penalty_off(p) else ratio
        if p.penalty == "elasticnet":
            if p.l1_ratio is None:
                raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
            return None if self._penalty_off(p) else ratio
        implied = {"l2": 0.0, "l1": 1.0, None: 0.0}[p.penalty]
        if ratio not in (0.0, implied) and (ratio == 1.0 or p.penalty == "l1"):
            raise ValueError(
                f"l1_ratio of {cls} must be {implied:g} with penalty={p.penalty!r}, got "
                f"{p.l1_ratio!r}: the two contradict each other. penalty is deprecated; set "
                "only l1_ratio (0: L2, 1: L1, in between: elastic-net)."
            )
        if p.penalty is None:
            return None
        return None if self._penalty_off(p) else implied

    def _penalty_warnings(self, p):
        """scikit-learn >= 1.8's FutureWarnings for the deprecated spellings."""
        off = "C=np.inf" if hasattr(p, "C") else "alpha=0"
        if p.penalty == "deprecated":
            if p.l1_ratio is None:
                warnings.warn(
                    "'l1_ratio=None' was deprecated in version 1.8 and will trigger an error "
                    "in 1.10. Use 0<=l1_ratio<=1 instead.", FutureWarning, stacklevel=4,
                )
            return
        strength = "'C'" if hasattr(p, "C") else "'alpha'"
        warnings.warn(
            "'penalty' was deprecated in version 1.8 and will be removed in"
            " 1.10. To avoid this warning, leave 'penalty' set to its default"
            f" value and use 'l1_ratio' or {strength} instead."
            " Use l1_ratio=0 instead of penalty='l2',"
            " l1_ratio=1 instead of penalty='l1',"
            " l1_ratio set to a float between 0 and 1 instead of"
            f" penalty='elasticnet', and {off} instead of penalty=None.",
            FutureWarning, stacklevel=4,
        )
        if p.penalty != "elasticnet" and p.l1_ratio is not None and 0 < p.l1_ratio < 1:
            warnings.warn(
                "l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                f"(penalty={p.penalty})", UserWarning, stacklevel=4,
            )

    def _check_extra_params(self, p):
        """Subclass hook for parameters outside the shared table."""

    def _resolve_solver(self, p, X):
        """Subclass hook: choose the solver once X is known (LinearRegression's 'auto')."""

    def _check_raw_targets(self, y):
        """Subclass hook: checks of y that come before scikit-learn's own (clearer words)."""

    def resolved_solver(self, X=None, *, dask=False):
        """The solver ``fit(X, y)`` runs: ``solver``, with 'auto' resolved as ``fit`` does.

        Parameters
        ----------
        X : array-like, sparse matrix, dask collection or None, default=None
            Only its kind matters: None is dense rows in memory.
        dask : bool, default=False
            Resolve for dask input (data-parallel) without a collection at hand.

        Returns
        -------
        str
            LinearRegression's 'auto' is 'adam' with differential privacy, 'gd' with an L1
            part, else 'lstsq' ('cholesky' for sparse X); on dask input 'gd' with an L1 part,
            else 'lbfgs'. Every other solver is itself.
        """
        p = self._validate_params()
        if dask or is_dask_collection(X):
            return resolve_dask_solver(p)
        self._resolve_solver(p, X)
        return p.solver

    # --- fit -----------------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        p = self._validate_params()
        self._penalty_warnings(p)
        n_jobs = getattr(p, "n_jobs", None)
        # n_jobs caps the BLAS threads of this fit (threadpoolctl); None leaves them as they are.
        limits = (contextlib.nullcontext() if n_jobs is None
                  else threadpool_limits(limits=None if n_jobs < 0 else n_jobs))
        with limits:
            return self._fit_validated(p, X, y, sample_weight, incremental=incremental,
                                       classes=classes)

    def _fit_validated(self, p, X, y, sample_weight, *, incremental, classes):
        cls = type(self).__name__
        if _private(p):
            _check_private(p, cls, incremental)
        if incremental and p.early_stopping:
            raise ValueError(
                f"early_stopping of {cls} must be False with partial_fit, got True. Early "
                "stopping needs the whole training set: use fit()."
            )
        if getattr(self, "_checkpoint", None) is not None:
            if p.solver == "lbfgs":
                raise ValueError(
                    f"solver of {cls} must be one of {{'adam', 'gd', 'sgd'}} to checkpoint "
                    "training, got 'lbfgs'. L-BFGS cannot be resumed mid-run: choose another "
                    "solver, or train without a checkpoint."
                )
            if incremental:
                raise ValueError(
                    f"{cls}.partial_fit cannot write checkpoints (each call trains one epoch). "
                    "Use fit(), or save the model between calls with numnet.save."
                )
        if is_dask_collection(X) or is_dask_collection(y):
            return fit_dask(self, p, X, y, sample_weight, incremental=incremental)
        check_table(X, cls)
        self._check_raw_targets(y)
        first = not hasattr(self, "network_") or (not p.warm_start and not incremental)
        X, y = validate_data(self, X, y, reset=first, dtype=[np.float64, np.float32],
                             accept_sparse=("csr", "csc"), **self._validate_data_kwargs())
        self._resolve_solver(p, X)
        if getattr(self, "_checkpoint", None) is not None and p.solver in _EXACT:
            raise ValueError(
                f"solver of {cls} must be one of {{'adam', 'gd', 'sgd'}} to checkpoint "
                f"training, got {p.solver!r}. The exact solver finishes in one step, with "
                "nothing to resume: train without a checkpoint."
            )
        if not first:
            X = X.astype(self.network_.dtype, copy=False)
        Y, class_index = self._encode_targets(y, X.dtype, first=first, classes=classes)
        sample_weight = self._sample_weight(sample_weight, X.shape[0], X.dtype, class_index)
        del class_index  # an integer per row, not kept while training (issue 26 item 5)

        rng_init, rng_train = make_rng(p.random_state).spawn(2)
        if incremental and getattr(self, "_rng", None) is not None:
            rng_train = self._rng
        if first:
            self._build_network(X.shape[1], Y.shape[1], X.dtype, rng_init, p,
                                continuing=incremental or p.warm_start)
            self.n_iter_, self.t_, self.loss_curve_, self.history_ = 0, 0, [], None
            self.__dict__.pop("_optimizer", None)
        if first or not incremental or getattr(self, "_no_improvement_count", None) is None:
            self._no_improvement_count = 0
            self.best_loss_, self.validation_scores_ = np.inf, []
            self.best_validation_score_ = -np.inf
        elif self.best_loss_ is None:  # partial_fit after a fit with early stopping
            self.best_loss_ = np.inf
        self._rng = rng_train
        # Y and the weights become the training rows' here, so that the whole of them is not
        # kept while training (issue 26 item 5).
        rows, Y, sample_weight, validation, split = self._split(X, Y, sample_weight, p,
                                                                rng_train)
        history = self._train(X, Y, sample_weight, p, incremental=incremental, rng=rng_train,
                              rows=rows, validation=validation, split=split)
        self._finish(history, p, incremental=incremental, first=first)
        return self

    def _build_network(self, n_features, n_outputs, dtype, rng, p, *, continuing):
        """Set a new ``network_``; partial_fit and a warm start begin from assigned views.

        ``coefs_``/``intercepts_`` (or ``coef_``/``intercept_``) assigned before the first fit
        are plain attributes; scikit-learn's partial_fit (and fit with warm_start) continues
        from them, so they are written into the new network (checked for shape, dtype and
        finiteness). A plain fit() starts afresh, as there.
        """
        given = {name: self.__dict__[name] for name in type(self)._VIEW_ATTRIBUTES
                 if name in self.__dict__} if continuing else {}
        self.network_ = self._make_network(n_features, n_outputs, dtype, rng, p)
        try:
            for name, value in given.items():
                setattr(self, name, value)
        except ValueError:
            del self.network_  # not fitted: as before the call, the assignments kept
            self.__dict__.update(given)
            raise

    def _validate_data_kwargs(self):
        return {"multi_output": True, "y_numeric": True}

    def _sample_weight(self, sample_weight, n_samples, dtype, class_index):
        sample_weight = check_sample_weight(sample_weight, n_samples, dtype)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return sample_weight
        if class_index is None:
            raise ValueError(
                f"class_weight of {type(self).__name__} must be None for a multilabel y, got "
                f"{class_weight!r}. Pass per-sample weights in sample_weight instead."
            )
        n_classes = len(self.classes_)
        if isinstance(class_weight, str):
            # 'balanced': sum(w) / (n_classes * weighted class count), as scikit-learn >= 1.6.
            counts = np.bincount(class_index, weights=sample_weight, minlength=n_classes)
            with np.errstate(divide="ignore"):
                per_class = np.where(counts > 0, counts.sum() / (n_classes * counts), 0.0)
        else:
            per_class = compute_class_weight(class_weight, classes=self.classes_,
                                             y=self.classes_[class_index])
        factor = per_class[class_index].astype(dtype)
        return factor if sample_weight is None else sample_weight * factor

    def _split(self, X, Y, sample_weight, p, rng):
        """``(rows, Y, sample_weight, validation, split)``: the early-stopping split, if any.

        Without one: ``(None, Y, sample_weight, None, None)``. With one, ``rows`` are the
        training rows of X, Y and the weights theirs, ``validation`` the held-out
        ``(X_val, Y_val, w_val)`` and ``split`` the two index arrays (for checkpoints).
        """
        if not p.early_stopping or p.solver in ("lbfgs", *_EXACT):
            return None, Y, sample_weight, None, None
        loss = self._loss(Y.shape[1])
        checkpoint = getattr(self, "_checkpoint", None)
        resume = bool(getattr(self, "_resume", False))
        split = None
        # A resumed fit reuses the split it was started with (it may come from an unseeded
        # generator); the checkpoint keeps it in this rule's state (callback 0).
        saved = checkpoint.load() if checkpoint is not None and resume else None
        if saved is not None:
            split = saved.callbacks.get("0", {}).get("validation_split")
        if split is None:
            split = validation_split_indices(Y, loss, p.validation_fraction, X.shape[0], rng)
        if len(split[1]) < 2:
            # scikit-learn's rule and words: a 1-sample validation score (R^2 is 0, accuracy
            # 0 or 1) cannot tell improvement from noise.
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the "
                f"size of your dataset ({type(self).__name__} kept {len(split[1])} of "
                f"{X.shape[0]} samples for validation; at least 2 are needed)."
            )
        # The training rows stay in X (no copy of them: issue 26 item 5); train gathers
        # each batch from X[rows], the same rows as from a copy.
        rows, Y, sample_weight, validation = split_rows(X, Y, sample_weight, split)
        return rows, Y, sample_weight, validation, split

    def _train(self, X, Y, sample_weight, p, *, incremental, rng, rows=None, validation=None,
               split=None):
        net, extra = self.network_, tuple(getattr(self, "_fit_callbacks", ()))
        checkpoint = getattr(self, "_checkpoint", None)
        resume = bool(getattr(self, "_resume", False))
        loss = self._loss(Y.shape[1])

        def training_rows():
            return X if rows is None else X[rows]

        n_train = Y.shape[0]
        weight_sum = n_train if sample_weight is None else float(sample_weight.sum())
        batch_size = self._batch_size(p, n_train)
        scale, strength = self._objective(Y.shape[1], weight_sum, n_train, batch_size, p)
        regularizer = (None if p.l1_ratio_effective is None or strength == 0
                       else ElasticNet(strength, p.l1_ratio_effective))

        if p.max_iter == 0:
            # scikit-learn (LogisticRegression) allows it: the initial model, J at it, and a
            # ConvergenceWarning from _finish.
            value, _ = objective(net, loss, training_rows(), Y, regularizer=regularizer,
                                 sample_weight=sample_weight)
            return History(loss=[value * scale], learning_rate=[float("nan")], time=[0.0],
                           metric_name="", converged=False)
        if p.solver in _EXACT:
            return self._solve_exact(X, Y, sample_weight, p)      # never split
        if _private(p):
            return self._train_private(training_rows(), Y, sample_weight, p, loss, rng, extra,
                                       checkpoint, resume)
        if p.solver == "lbfgs":
            rule = _EpochRule(self, net, None, p, scale=scale, n_train=n_train, stopping=False)
            # scipy's gtol must be > 0; tol=0 means "as far as floating point allows".
            tol = max(p.tol, np.finfo(np.float64).tiny) / scale
            history = train_lbfgs(net, loss, X, Y, regularizer=regularizer,
                                  sample_weight=sample_weight, max_iter=p.max_iter, tol=tol,
                                  max_fun=getattr(p, "max_fun", None),
                                  callbacks=(rule, *extra, *self._verbose_lines(p, False)))
            rule.finish_lbfgs(history)
            self.best_loss_ = min(history.loss)
            return history

        p.lr_init = self._learning_rate(p, training_rows, sample_weight)
        optimizer = getattr(self, "_optimizer", None) if incremental else None
        if optimizer is None:
            optimizer = self._make_optimizer(p, scale)
        self._optimizer = optimizer
        rule = _EpochRule(self, net, optimizer, p, scale=scale, n_train=n_train, stopping=True,
                          split=split)
        if not p.early_stopping:
            rule.optimality = self._optimality_function(loss, X, Y, sample_weight, scale,
                                                        strength, p)
        try:
            history = train(
                net, loss, optimizer, X, Y, regularizer=regularizer, sample_weight=sample_weight,
                batch_size=None if p.solver == "gd" else batch_size,
                max_epochs=1 if incremental else p.max_iter,
                shuffle=p.shuffle and p.solver != "gd", validation_data=validation,
                validation_batch_size=p.validation_batch_size, random_state=rng,
                callbacks=(rule, *extra, *self._verbose_lines(p, incremental)),
                checkpoint=checkpoint, resume=resume, rows=rows,
            )
        except DivergenceError as error:
            # Restate the core's message in the estimator's terms (its learning rate is in F's
            # units, learning_rate_init in J's).
            raise DivergenceError(
                f"{type(self).__name__}: training diverged (the loss became non-finite in epoch "
                f"{error.epoch}); the parameters from the epoch before were restored. Lower "
                f"learning_rate_init (now {p.lr_init:g}) or scale the features (e.g. with "
                "sklearn.preprocessing.StandardScaler).", epoch=error.epoch,
            ) from None
        rule.rescale(history)
        if p.early_stopping and rule.best_params is not None:
            np.copyto(net.params, rule.best_params)  # scikit-learn restores the best weights
            history.best_epoch = rule.best_epoch
        if rule.optimality is not None and not incremental:
            self._final_optimality = rule.optimality()
        return history

    def _train_private(self, X, Y, sample_weight, p, loss, rng, extra, checkpoint, resume):
        """DP-SGD through :func:`numnet.privacy.train_private`; returns a plain History.

        The penalty's strength is computed with n_samples for the weight sum (public), the
        run is exactly max_iter epochs (no stopping rule looks at the loss), and the guarantee
        is kept in ``self._dp_history`` for :meth:`_finish`.
        """
        n_train = X.shape[0]
        batch_size = self._batch_size(p, n_train)
        scale, strength = self._objective(Y.shape[1], n_train, n_train, batch_size, p)
        regularizer = (None if p.l1_ratio_effective is None or strength == 0
                       else ElasticNet(strength, p.l1_ratio_effective))
        p.lr_init = self._learning_rate(p, lambda: X, sample_weight)
        optimizer = self._make_optimizer(p, scale)
        self._optimizer = optimizer
        rule = _EpochRule(self, self.network_, optimizer, p, scale=scale, n_train=n_train,
                          stopping=False)
        delta = p.dp_delta if p.dp_delta is not None else min(1e-5, 1.0 / (10 * n_train))
        check_delta(delta, n_train, f"dp_delta of {type(self).__name__}")
        private = train_private(
            self.network_, loss, optimizer, X, Y, max_grad_norm=p.dp_max_grad_norm,
            noise_multiplier=p.dp_noise_multiplier, target_epsilon=p.dp_epsilon, delta=delta,
            batch_size=batch_size, max_epochs=p.max_iter, accountant=p.dp_accountant,
            sampler=p.dp_sampler,
            regularizer=regularizer, sample_weight=sample_weight, random_state=rng,
            callbacks=(rule, *extra, *self._verbose_lines(p, False)), checkpoint=checkpoint,
            resume=resume)
        rule.rescale(private)
        self._dp_history = private
        fields = {f.name for f in dataclasses.fields(History)}
        return History(**{k: v for k, v in private.to_dict().items() if k in fields})

    def _verbose_lines(self, p, incremental):
        """verbose: scikit-learn's ``Iteration N, loss = J`` lines on stdout (no tqdm bar).

        The callbacks go after the epoch rule, which converts the losses to J's units; N counts
        on over partial_fit calls, as ``n_iter_``. (``numnet train`` shows its own progress.)
        """
        if not p.verbose:
            return ()
        start = int(np.max(self.n_iter_)) if incremental else 0
        return (_IterationLines(start, bool(p.early_stopping)),)

    def _optimality_function(self, loss, X, Y, sample_weight, scale, strength, p):
        """Subclass hook: a function returning J's optimality measure (linear models only)."""
        return None

    def _batch_size(self, p, n_samples):
        if p.solver in ("gd", "lbfgs", *_EXACT):
            return n_samples
        if p.batch_size == "auto":
            return min(200, n_samples)
        if p.batch_size > n_samples:
            warnings.warn(
                f"batch_size of {type(self).__name__} is {p.batch_size}, larger than the "
                f"{n_samples} training samples; using {n_samples}.", UserWarning, stacklevel=5
            )
        return min(p.batch_size, n_samples)

    def _learning_rate(self, p, X, sample_weight):
        """The step size on J for 'gd', 'sgd' and 'adam'.

        ``X`` is a function returning the training rows (a copy of them when a validation
        split holds the others), called only by a rule that needs the data.
        """
        return p.learning_rate_init

    def _make_optimizer(self, p, scale):
        # J = scale * F, so grad F = grad J / scale. A gradient step of size lr on J is a step of
        # lr * scale on F. Adam is invariant to the gradient's scale except for epsilon, which
        # must shrink with it: epsilon / scale on F is epsilon on J.
        if p.solver == "adam":
            return Adam(p.lr_init, beta1=p.beta_1, beta2=p.beta_2, epsilon=p.epsilon / scale)
        if p.solver == "sgd":
            return SGD(p.lr_init * scale, momentum=p.momentum,
                       nesterov=p.nesterovs_momentum and p.momentum > 0)
        return SGD(p.lr_init * scale)  # 'gd': plain full-batch gradient descent

    def _finish(self, history, p, *, incremental, first):
        cls = type(self).__name__
        self.history_ = history if first else _merge_histories(self.history_, history)
        self.loss_curve_ = list(self.history_.loss)
        self.loss_ = float(self.loss_curve_[-1])
        self.n_iter_ = self.n_iter_ + history.n_epochs if incremental else history.n_epochs
        if p.max_iter == 0:
            self.n_iter_ = 0
        self._set_model_attributes()
        if p.max_iter == 0:
            self.validation_scores_ = self.best_validation_score_ = None
            warnings.warn(
                f"{cls}: max_iter=0, so no training was done; the model is the initial one. "
                "Increase max_iter to fit it.", ConvergenceWarning, stacklevel=4,
            )
            return
        if p.solver in _EXACT:
            self.validation_scores_ = self.best_validation_score_ = None
            return
        private = self.__dict__.pop("_dp_history", None)
        if private is not None:
            # Exactly max_iter epochs, by design: no convergence warning from the private loss.
            self.validation_scores_ = self.best_validation_score_ = self.best_loss_ = None
            self.epsilon_ = float(private.epsilon[-1]) if private.epsilon else 0.0
            self.epsilon_curve_ = [float(e) for e in private.epsilon]
            self.dp_noise_multiplier_ = float(private.noise_multiplier)
            self.dp_delta_ = float(private.delta)
            self.dp_sampling_rate_ = float(private.sampling_rate)
            self.dp_steps_ = int(private.steps)
            return
        if p.solver == "lbfgs":
            self.validation_scores_ = self.best_validation_score_ = None
            if not history.converged:
                warnings.warn(
                    f"{cls}: solver='lbfgs' did not converge after {history.n_epochs} "
                    f"iterations (max_iter={p.max_iter}, tol={p.tol}). Increase max_iter or "
                    "scale the features (e.g. with sklearn.preprocessing.StandardScaler).",
                    ConvergenceWarning, stacklevel=4,
                )
            return
        if p.early_stopping:
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
        optimality = self.__dict__.pop("_final_optimality", None)
        if not incremental and optimality is not None and optimality > p.tol:
            # Linear models (convex): converged means the optimality measure of J, the largest
            # entry of its minimum-norm subgradient, is at most tol (the rule of 'lbfgs').
            how = ("reached max_iter=" + str(p.max_iter) if not history.converged
                   else "stopped because J improved by less than tol for n_iter_no_change epochs")
            warnings.warn(
                f"{cls}: solver={p.solver!r} {how}, but the largest entry of the minimum-norm "
                f"subgradient of J is {optimality:.3g} > tol={p.tol}: not converged. Increase "
                "max_iter, use solver='lbfgs', or scale the features.",
                ConvergenceWarning, stacklevel=4,
            )
        elif not incremental and not history.converged and optimality is None:
            warnings.warn(
                f"{cls}: solver={p.solver!r} reached max_iter={p.max_iter} and the "
                f"{'validation score' if p.early_stopping else 'loss'} was still improving "
                f"by more than tol={p.tol}. Increase max_iter or the learning rate.",
                ConvergenceWarning, stacklevel=4,
            )

    # --- prediction ------------------------------------------------------------------------------

    def _forward(self, X):
        """Raw network output for validated X, in the network's dtype."""
        check_is_fitted(self)
        check_table(X, type(self).__name__)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          accept_sparse=("csr", "csc"))
        with np.errstate(over="ignore"):
            cast = X.astype(self.network_.dtype, copy=False)
        if cast is not X and not np.all(np.isfinite(getattr(cast, "data", cast))):
            # float64 input beyond float32's range: the error float32 input gets
            raise ValueError(f"Input X contains infinity or a value too large for "
                             f"dtype({cast.dtype.name!r}).")
        raw = self.network_.forward(cast)
        self.network_.clear_cache()  # do not keep the input and activations of a prediction
        return raw
