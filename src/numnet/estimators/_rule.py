"""scikit-learn's per-epoch rules for the estimators: stopping, learning-rate schedules, units.

:class:`_EpochRule` is the train() callback of the mini-batch solvers; its state (and the
estimator's counters) is part of a checkpoint, so that a resumed fit ends bit-identical.
"""

import math

import numpy as np

from ..optimizers import SGD
from ..training.history import History


def cosine_rate(initial, epoch, max_epochs):
    """Cosine annealing: the learning rate for epoch ``epoch + 1`` of ``max_epochs``.

    ::

        lr = lr_0 * (1 + cos(pi * epoch / max_epochs)) / 2

    from lr_0 in the first epoch down to 0 after the last (Loshchilov and Hutter, SGDR, 2017).
    """
    return initial * 0.5 * (1.0 + math.cos(math.pi * min(epoch, max_epochs) / max_epochs))


class _EpochRule:
    """scikit-learn's per-epoch bookkeeping, learning-rate rules and stopping test.

    Called by :func:`numnet.train` after each epoch as ``rule(epoch, history)``. With
    ``early_stopping`` the monitored value is the validation score (accuracy or R^2), else the
    training objective; an epoch "does not improve" when::

        score < best_validation_score_ + tol        (early_stopping)
        loss  > best_loss_ - tol                    (otherwise)

    and training stops once more than ``n_iter_no_change`` epochs in a row did not improve; with
    ``learning_rate='adaptive'`` ('sgd', 'gd') the learning rate is divided by 5 instead, until it
    falls below 1e-6. ``'invscaling'`` sets ``lr = learning_rate_init / (t_ + 1) ** power_t``
    after each epoch, t_ counting the samples seen. These are scikit-learn's MLP rules.
    numnet adds ``'cosine'`` for every mini-batch solver (:func:`cosine_rate`).
    For the linear models (convex J) with solver 'gd', a plateau stops training only when J's
    optimality measure (``optimality()``, the largest entry of its minimum-norm subgradient) is
    at most tol as well; the estimator warns (ConvergenceWarning) whenever the final measure
    exceeds tol, whatever ended training.
    The rule also converts the history to J's units (``J = scale * F``): losses are multiplied
    by scale, and SGD's learning rates are reported as steps on J.
    """

    def __init__(self, estimator, net, optimizer, params, *, scale, n_train, stopping,
                 split=None):
        self.estimator, self.net, self.optimizer, self.p = estimator, net, optimizer, params
        self.scale, self.n_train, self.stopping = scale, n_train, stopping
        self.split = split
        self.n_scaled = 0
        self.best_params = None
        self.best_epoch = None
        self.optimality = None  # linear models: J's optimality measure, see __call__

    def state_dict(self):
        """The rule's and the estimator's bookkeeping, for checkpoints."""
        est = self.estimator
        return {"n_scaled": self.n_scaled, "best_params": self.best_params,
                "best_epoch": self.best_epoch, "t_": est.t_,
                "no_improvement_count": est._no_improvement_count, "best_loss_": est.best_loss_,
                "validation_scores_": list(est.validation_scores_),
                "best_validation_score_": est.best_validation_score_,
                "validation_split": self.split}

    def load_state_dict(self, state):
        """Restore :meth:`state_dict`; ValueError if it does not fit this fit() call."""
        if not isinstance(state, dict) or set(state) != set(self.state_dict()):
            raise ValueError("the estimator's training state has other fields")
        best = state["best_params"]
        if best is not None and not (isinstance(best, np.ndarray)
                                     and best.shape == self.net.params.shape
                                     and best.dtype == self.net.params.dtype):
            raise ValueError("the saved best weights do not fit the network")
        counts = [state[k] for k in ("n_scaled", "t_", "no_improvement_count")]
        numbers = [state["best_loss_"], state["best_validation_score_"],
                   *state["validation_scores_"]]
        if (not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts)
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                           for x in numbers)
                or not (state["best_epoch"] is None or isinstance(state["best_epoch"], int))):
            raise ValueError("the estimator's counters and scores must be numbers")
        split = state["validation_split"]
        if (split is None) != (self.split is None) or (split is not None and not all(
                np.array_equal(a, b) for a, b in zip(split, self.split, strict=True))):
            raise ValueError("the early-stopping validation split differs")
        est = self.estimator
        self.n_scaled, self.best_epoch = state["n_scaled"], state["best_epoch"]
        self.best_params = None if best is None else best.copy()
        est.t_, est._no_improvement_count = state["t_"], state["no_improvement_count"]
        est.best_loss_ = state["best_loss_"]
        est.validation_scores_ = list(state["validation_scores_"])
        est.best_validation_score_ = state["best_validation_score_"]

    def check_restored(self, history):
        """ValueError unless the restored counters fit the restored history's epochs."""
        epochs = len(history.loss)
        if self.n_scaled > epochs:
            raise ValueError(f"n_scaled (the history entries already rescaled) must be at most "
                             f"the completed epochs ({epochs}), got {self.n_scaled}; the file "
                             "was altered")
        if self.best_epoch is not None and not 1 <= self.best_epoch <= epochs:
            raise ValueError(f"best_epoch must be in [1, {epochs}], got {self.best_epoch}; the "
                             "file was altered")

    def rescale(self, history):
        """Convert the new history entries from numnet's units (F) to the documented J."""
        if self.scale != 1.0:
            for values in (history.loss, history.val_loss):
                for index in range(self.n_scaled, len(values)):
                    values[index] *= self.scale
            if self.optimizer is not None:
                for index in range(self.n_scaled, len(history.learning_rate)):
                    history.learning_rate[index] /= self.lr_factor
        self.n_scaled = len(history.loss)

    def finish_lbfgs(self, history):
        """Rescale what train_lbfgs appended after the last iteration.

        train_lbfgs appends the final objective when it differs from the last entry; since this
        rule already rescaled that entry, an unchanged final value shows up as a duplicate.
        """
        n = self.n_scaled
        if (self.scale != 1.0 and len(history.loss) == n + 1 and n > 0
                and history.loss[-1] * self.scale == history.loss[n - 1]):
            for values in (history.loss, history.learning_rate, history.time):
                values.pop()
        self.rescale(history)

    def __call__(self, epoch, history):
        self.rescale(history)
        if not self.stopping:
            return False
        est, p = self.estimator, self.p
        est.t_ += self.n_train
        if p.early_stopping:
            score = history.val_metric[-1]
            est.validation_scores_.append(score)
            worse = score < est.best_validation_score_ + p.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_epoch = epoch
                if self.best_params is None:
                    self.best_params = np.empty_like(self.net.params)
                np.copyto(self.best_params, self.net.params)
        else:
            loss = history.loss[-1]
            worse = loss > est.best_loss_ - p.tol
            est.best_loss_ = min(est.best_loss_, loss)
        est._no_improvement_count = est._no_improvement_count + 1 if worse else 0

        schedules = p.solver in ("sgd", "gd")
        if p.learning_rate == "cosine":  # every mini-batch solver, Adam included
            self.optimizer.learning_rate = self.lr_factor * cosine_rate(p.lr_init, epoch,
                                                                        p.max_iter)
        if schedules and p.learning_rate == "invscaling":
            self.optimizer.learning_rate = self.lr_factor * p.lr_init / (est.t_ + 1) ** p.power_t
        if est._no_improvement_count > p.n_iter_no_change:
            if (schedules and p.learning_rate == "adaptive"
                    and self.optimizer.learning_rate / self.lr_factor > 1e-6):
                self.optimizer.learning_rate /= 5.0
                est._no_improvement_count = 0
                return False
            if (p.solver == "gd" and self.optimality is not None
                    and self.optimality() > p.tol):
                # A plateau of J is not a minimum: full-batch gd on a convex J goes on until
                # the optimality measure (see LinearRegression) is below tol too.
                est._no_improvement_count = 0
                return False
            return True
        return False

    @property
    def lr_factor(self):
        """optimizer.learning_rate / learning_rate on J (scale for 'sgd'/'gd', 1 for Adam)."""
        return self.scale if isinstance(self.optimizer, SGD) else 1.0


class _IterationLines:
    """verbose: after each epoch (L-BFGS iteration), scikit-learn's MLP lines on stdout.

    ::

        Iteration N, loss = J            (J in the documented units, 8 decimals)
        Validation score: S              (early_stopping: accuracy or R^2)
    """

    def __init__(self, start, validation):
        self.start, self.validation = start, validation

    def __call__(self, epoch, history):
        print(f"Iteration {self.start + epoch}, loss = {history.loss[-1]:.8f}", flush=True)
        if self.validation and history.val_metric:
            print(f"Validation score: {history.val_metric[-1]:f}", flush=True)
        return False


def _merge_histories(old, new):
    """One History for consecutive training runs (warm_start, partial_fit)."""
    if old is None:
        return new
    offset = old.n_epochs
    start = old.time[-1] if old.time else 0.0
    return History(
        loss=old.loss + new.loss, val_loss=old.val_loss + new.val_loss,
        val_metric=old.val_metric + new.val_metric, metric_name=new.metric_name,
        learning_rate=old.learning_rate + new.learning_rate,
        time=old.time + [start + t for t in new.time],
        best_epoch=None if new.best_epoch is None else new.best_epoch + offset,
        stopped_epoch=None if new.stopped_epoch is None else new.stopped_epoch + offset,
        converged=new.converged,
    )
