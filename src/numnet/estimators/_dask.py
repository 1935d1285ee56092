"""The estimators on dask collections: data-parallel fit on the active client, block-wise predict.

``fit(X_dask, y_dask)`` never brings the data to the client: X is checked per block on the
workers (finite, numeric) and by its metadata here (2-D, its width); the labels of a classifier
are found by one distributed ``unique``. The fit is the in-memory one with
:mod:`numnet.distributed`'s parts in place of the in-memory data: the same network, the same
objective J, the same stopping rules and fitted attributes. Predictions on a dask collection are
a dask array, computed block by block with the in-memory method (and its checks) on each block.
"""

import copy
import functools

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_array, check_is_fitted

from .. import distributed as nd
from ..distributed.data import (
    BlockEncoder,
    as_dask_array,
    is_dask_collection,
    scheduler_errors,
)
from ..regularizers import ElasticNet
from ..training import History
from ._checks import make_rng
from ._rule import _EpochRule

# --- fit -----------------------------------------------------------------------------------------

def fit_dask(est, p, X, y, sample_weight, *, incremental):
    """Fit ``est`` data-parallel on the active ``distributed.Client``; returns ``est``."""
    cls = type(est).__name__
    _check_dask_params(est, p, incremental)
    client = nd.get_client()
    columns = _feature_names(X)
    X = as_dask_array(X, "X")
    y = as_dask_array(y, "y")
    if sample_weight is not None and not is_dask_collection(sample_weight):
        import dask.array as da

        sample_weight = da.from_array(np.asarray(sample_weight), chunks=(X.chunks[0],))
    elif sample_weight is not None:
        sample_weight = as_dask_array(sample_weight, "sample_weight")
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead (a dask array "
                         f"given to {cls}.fit).")
    est.__dict__.pop("feature_names_in_", None)
    if columns is not None:
        est.feature_names_in_ = columns
    est.n_features_in_ = int(X.shape[1])
    dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
    with scheduler_errors(client):
        encode = _target_encoder(est, y, dtype)
    data = nd.DistributedData(X, y, sample_weight, dtype=dtype, encode=encode, client=client)
    try:
        rng_init, rng_train = make_rng(p.random_state).spawn(2)
        est.network_ = est._make_network(est.n_features_in_, est.n_outputs_, dtype, rng_init, p)
        est.n_iter_, est.t_, est.loss_curve_, est.history_ = 0, 0, [], None
        est.__dict__.pop("_optimizer", None)
        est._no_improvement_count = 0
        est.best_loss_, est.validation_scores_ = np.inf, []
        est.best_validation_score_ = -np.inf
        est._rng = rng_train
        history = _train(est, data, p, rng_train)
    finally:
        data.release()
    est._finish(history, p, incremental=False, first=True)
    return est


def _feature_names(X):
    """A dask DataFrame's column names when all are strings (scikit-learn's rule), else None."""
    columns = getattr(X, "columns", None)
    if columns is None or not all(isinstance(c, str) for c in columns):
        return None
    return np.asarray(list(columns), dtype=object)


def resolve_dask_solver(p):
    """The solver on dask input: 'auto' is 'gd' with an L1 part, else 'lbfgs'."""
    if p.solver == "auto":
        return "gd" if p.l1_ratio_effective else "lbfgs"
    return p.solver


def _check_dask_params(est, p, incremental):
    cls = type(est).__name__
    solvers = est._dask_solvers
    p.solver = resolve_dask_solver(p)
    if p.solver not in solvers:
        raise ValueError(
            f"solver of {cls} must be one of {{{', '.join(map(repr, solvers))}}} for dask "
            f"input, got {p.solver!r}. Choose one of those, or compute X and y into memory."
        )
    if incremental:
        raise ValueError(
            f"{cls}.partial_fit takes in-memory arrays, got a dask collection. Use fit() "
            "(data-parallel), or dask_ml.wrappers.Incremental to feed the blocks in turn."
        )
    refused = {"early_stopping": bool(p.early_stopping), "warm_start": bool(p.warm_start),
               "class_weight": getattr(p, "class_weight", None) is not None}
    if getattr(est, "_checkpoint", None) is not None and p.solver == "lbfgs":
        # ('auto' may have become 'lbfgs' here); the mini-batch and 'gd' loops checkpoint
        raise ValueError(
            f"solver of {cls} must be one of {{'adam', 'gd', 'sgd'}} to checkpoint training, "
            "got 'lbfgs'. L-BFGS cannot be resumed mid-run: choose another solver, or train "
            "without a checkpoint.")
    for name, value in refused.items():
        if value:
            raise ValueError(
                f"{name} of {cls} is not supported with dask input yet, got "
                f"{getattr(p, name, True)!r}. Fit without it, or compute X and y into memory.")


def _target_encoder(est, y, dtype):
    """Set the target attributes from y's labels or shape; the per-block encoder for workers."""
    import dask.array as da

    if is_classifier(est):
        if y.ndim != 1:
            raise ValueError(f"y of {type(est).__name__} must be 1-D class labels for dask "
                             f"input, got {y.ndim} dimensions.")
        # One distributed pass: the labels, and scikit-learn's target checks on them.
        est._encode_targets(da.unique(y).compute(), dtype, first=True)
        return BlockEncoder(_encode_labels, est.classes_, est.n_outputs_, dtype)
    Y_meta = np.zeros((1,) + tuple(y.shape[1:]), dtype=dtype)  # its shape is what counts
    est._encode_targets(Y_meta, dtype, first=True)
    return BlockEncoder(_encode_values, est.n_outputs_, dtype)


def _encode_labels(y, classes, n_outputs, dtype):
    index = np.searchsorted(classes, y)
    if n_outputs == 1:
        return (index == 1).astype(dtype).reshape(-1, 1)
    Y = np.zeros((y.shape[0], n_outputs), dtype=dtype)
    Y[np.arange(y.shape[0]), index] = 1
    return Y


def _encode_values(y, n_outputs, dtype):
    y = check_array(y, ensure_2d=False, dtype=dtype, input_name="y")
    return np.ascontiguousarray(y.reshape(y.shape[0], n_outputs))


def _train(est, data, p, rng):
    """``_NumnetEstimator._train``'s L-BFGS and gradient-descent branches, on the cluster."""
    net = est.network_
    extra = tuple(getattr(est, "_fit_callbacks", ()))  # as in memory (numnet train's progress)
    loss = est._loss(est.n_outputs_)
    n_train = data.n_samples
    batch_size = est._batch_size(p, n_train)
    scale, strength = est._objective(est.n_outputs_, data.total_weight, n_train, batch_size, p)
    regularizer = (None if p.l1_ratio_effective is None or strength == 0
                   else ElasticNet(strength, p.l1_ratio_effective))
    if p.max_iter == 0:
        value, _ = nd.DistributedObjective(net, loss, data, regularizer=regularizer)()
        return History(loss=[value * scale], learning_rate=[float("nan")], time=[0.0],
                       metric_name="", converged=False)
    if p.solver == "lbfgs":
        rule = _EpochRule(est, net, None, p, scale=scale, n_train=n_train, stopping=False)
        tol = max(p.tol, np.finfo(np.float64).tiny) / scale
        history = nd.train_lbfgs_distributed(
            net, loss, data, regularizer=regularizer, max_iter=p.max_iter, tol=tol,
            max_fun=getattr(p, "max_fun", None),
            callbacks=(rule, *extra, *est._verbose_lines(p, False)))
        rule.finish_lbfgs(history)
        est.best_loss_ = min(history.loss)
        return history

    p.lr_init = _learning_rate(est, p, data)
    optimizer = est._make_optimizer(p, scale)
    est._optimizer = optimizer
    rule = _EpochRule(est, net, optimizer, p, scale=scale, n_train=n_train, stopping=True)
    value_and_grad = nd.DistributedObjective(net, loss, data)
    if hasattr(est, "_coef_view"):  # the linear models' optimality measure, from the cluster
        rule.optimality = est._optimality_function(loss, None, None, None, scale, strength, p,
                                                   value_and_grad=value_and_grad)
    history = nd.train_distributed(
        net, loss, optimizer, data, regularizer=regularizer,
        batch_size=None if p.solver == "gd" else batch_size, max_epochs=p.max_iter,
        shuffle=p.shuffle and p.solver != "gd", random_state=rng,
        callbacks=(rule, *extra, *est._verbose_lines(p, False)),
        checkpoint=getattr(est, "_checkpoint", None),
        resume=bool(getattr(est, "_resume", False)),
        overhead_warning=bool(getattr(est, "_overhead_warning", False)))
    rule.rescale(history)
    if rule.optimality is not None:
        est._final_optimality = rule.optimality()
    return history


def _learning_rate(est, p, data):
    """``est._learning_rate`` with the power iteration run over the partitions."""
    if not hasattr(est, "_coef_view") or p.learning_rate_init != "auto" or p.solver == "adam":
        return est._learning_rate(p, None, None)
    # As _LinearMixin._learning_rate: 1 / L, L the Lipschitz constant of grad J.
    lipschitz = p.curvature * _max_eigenvalue(data, p.fit_intercept) + p.l2_coefficient
    return 1.0 / lipschitz if lipschitz > 0 else 1.0


def _gram_product(part, v, fit_intercept):
    """On a worker: sum_i w_i xa_i (xa_i . v), xa = [x, 1]: one partition's share."""
    X, _, w = part
    n_features = X.shape[1]
    u = X @ v[:n_features]
    if fit_intercept:
        u += v[-1]
    if w is not None:
        u *= w
    g = np.empty_like(v)
    g[:n_features] = X.T @ u
    if fit_intercept:
        g[-1] = u.sum()
    return g


def _max_eigenvalue(data, fit_intercept, n_iter=50, rtol=1e-3):
    """``_base._max_eigenvalue`` over the partitions: the same iteration and starting vector."""
    client = data.client
    v = np.random.default_rng(0).standard_normal(data.n_features + fit_intercept)
    v = v.astype(data.dtype)
    v /= np.linalg.norm(v)
    value = 0.0
    for _ in range(n_iter):
        parts = client.gather([client.submit(_gram_product, part, v, fit_intercept, pure=False)
                               for part in data.parts])
        g = functools.reduce(np.add, parts) / data.dtype.type(data.total_weight)
        new_value = float(np.linalg.norm(g))
        if new_value == 0.0:
            return 0.0
        v = g / new_value
        if abs(new_value - value) <= rtol * new_value:
            return new_value
        value = new_value
    return value


# --- predict ------------------------------------------------------------------------------

def blockwise(method):
    """Run a prediction method block by block when X is a dask collection (a dask array back)."""
    @functools.wraps(method)
    def wrapper(self, X):
        if is_dask_collection(X):
            return _predict_blocks(self, method.__name__, X)
        return method(self, X)

    return wrapper


def _predict_blocks(est, name, X):
    check_is_fitted(est)
    columns = _feature_names(X)
    names = getattr(est, "feature_names_in_", None)
    if columns is not None and names is not None and not np.array_equal(columns, names):
        raise ValueError(f"The feature names should match those that were passed during fit: "
                         f"got {columns.tolist()}, expected {names.tolist()}.")
    X = as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead (a dask array "
                         f"given to {type(est).__name__}.{name}).")
    if X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} is "
                         f"expecting {est.n_features_in_} features as input.")
    X = X.rechunk({1: -1})
    dtype = X.dtype if X.dtype.kind == "f" else np.float64
    columns = None if columns is None or names is None else columns
    sample = _predict_block(np.zeros((1, X.shape[1]), dtype=dtype), est, name, columns)
    chunks = (X.chunks[0],) + tuple((n,) for n in sample.shape[1:])
    return X.map_blocks(_predict_block, est, name, columns, dtype=sample.dtype, chunks=chunks,
                        drop_axis=None if sample.ndim == 2 else 1,
                        meta=np.empty((0,) * sample.ndim, dtype=sample.dtype))


def _predict_block(block, est, name, columns):
    # A private copy: the network caches activations in forward, so threads of a worker must not
    # share one.
    if columns is not None:  # fitted on named columns: keep the names scikit-learn checks
        import pandas as pd

        block = pd.DataFrame(block, columns=columns)
    return getattr(copy.deepcopy(est), name)(block)
