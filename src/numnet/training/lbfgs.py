"""Full-batch training by SciPy's L-BFGS-B on the flat parameter vector."""

import time

import numpy as np

from .._validation import check_bool, check_float, check_int
from ..exceptions import DivergenceError
from ..objective import objective
from ..optimizers import SGD
from .callbacks import _Progress
from .checks import (
    _check_data,
    _check_first_pass,
    _check_validation,
    check_components,
    check_validation_batch_size,
)
from .history import History
from .validation import evaluate, metric_name


def train_lbfgs(net, loss, X, y, *, regularizer=None, sample_weight=None, max_iter=200,
                tol=1e-6, validation_data=None, validation_batch_size=None, verbose=False,
                callbacks=(), max_fun=None):
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
    validation_batch_size : int or None, default=None
        As in :func:`train`: the validation rows per forward pass (None: all at once).
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
    check_components(net, loss, SGD(), regularizer, None, callbacks, None)
    if regularizer is not None and regularizer.l1 > 0:
        raise ValueError(
            f"L-BFGS needs a differentiable objective, but {regularizer!r} has an L1 part. "
            "Use proximal gradient descent instead: train(..., batch_size=None) with "
            "SGD(momentum=0)."
        )
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    tol = check_float(tol, "tol", min_value=0, include_min=False)
    verbose = check_bool(verbose, "verbose")
    validation_batch_size = check_validation_batch_size(validation_batch_size)
    X, y, sample_weight, magnitudes = _check_data(net, X, y, sample_weight, loss,
                                                  with_magnitudes=True)
    if validation_data is not None:
        validation_data = _check_validation(net, validation_data, loss)
    _check_first_pass(net, loss, X, y, sample_weight, magnitudes)

    def value_and_grad():
        return objective(net, loss, X, y, regularizer=regularizer, sample_weight=sample_weight)

    return minimize_lbfgs(net, loss, value_and_grad, max_iter=max_iter, tol=tol,
                          validation_data=validation_data, verbose=verbose, callbacks=callbacks,
                          max_fun=max_fun, validation_batch_size=validation_batch_size)


def minimize_lbfgs(net, loss, value_and_grad, *, max_iter=200, tol=1e-6, validation_data=None,
                   verbose=False, callbacks=(), max_fun=None, validation_batch_size=None):
    """Minimise ``value_and_grad()`` over ``net.params`` with SciPy's L-BFGS-B.

    ``value_and_grad()`` returns the objective and its gradient at the current ``net.params``
    (``(value, grad)``, grad of shape (n_params,)); :func:`train_lbfgs` passes
    :func:`numnet.objective`, a data-parallel run the sum over a cluster's workers
    (:mod:`numnet.distributed`). Each trial point is written into ``net.params`` first. The
    data is checked by the caller (as :func:`train_lbfgs` does); ``loss`` is used only for
    the validation figures, computed in blocks of ``validation_batch_size`` rows when it is an
    int (checked by the caller).

    Returns
    -------
    History
    """
    from scipy.optimize import minimize

    max_iter = check_int(max_iter, "max_iter", min_value=1)
    tol = check_float(tol, "tol", min_value=0, include_min=False)
    history = History(metric_name=metric_name(loss))
    started = time.perf_counter()
    progress = _Progress(max_iter, check_bool(verbose, "verbose"))

    def fun(theta):
        np.copyto(net.params, theta, casting="unsafe")
        # An overflowing trial point only makes the line search step back: no warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, grad = value_and_grad()
        return value, grad.astype(np.float64)

    def on_iteration(intermediate_result):
        history.loss.append(float(intermediate_result.fun))
        history.learning_rate.append(float("nan"))
        if validation_data is not None:
            np.copyto(net.params, intermediate_result.x, casting="unsafe")
            val_loss, val_metric = evaluate(net, loss, *validation_data,
                                            batch_size=validation_batch_size)
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
