"""Issue 11: the estimators as a drop-in for scikit-learn >= 1.8 code (penalties, fitted
attributes, exact least squares, sparse and Fortran-ordered X, parameters)."""

import copy
import re
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import sklearn.linear_model as sk
from sklearn.datasets import load_breast_cancer, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from numnet import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor

PENALTY_WARNING = (
    "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid this "
    "warning, leave 'penalty' set to its default value and use 'l1_ratio' or 'C' instead. Use "
    "l1_ratio=0 instead of penalty='l2', l1_ratio=1 instead of penalty='l1', l1_ratio set to a "
    "float between 0 and 1 instead of penalty='elasticnet', and C=np.inf instead of "
    "penalty=None."
)


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=8, n_targets=2, noise=1.0, random_state=0)
    return X, y


def _quiet(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


# --- l1_ratio selects the penalty ----------------------------------------------------------

def test_l1_ratio_one_is_the_l1_penalty_as_scikit_learn_saga(breast_cancer):
    X, y = breast_cancer
    reference = sk.LogisticRegression(l1_ratio=1, C=0.05, solver="saga", tol=1e-12,
                                      max_iter=100_000).fit(X, y)
    model = LogisticRegression(l1_ratio=1, C=0.05, solver="gd", tol=1e-8,
                               max_iter=20_000).fit(X, y)
    # Same zero pattern (25 of 30 here) and coefficients within 1e-5 (measured 1.9e-6).
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)
    assert (model.coef_ == 0).sum() == 25
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-5)


def test_penalty_still_works_with_scikit_learns_future_warning(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(FutureWarning, match=re.escape(PENALTY_WARNING)):
        old = LogisticRegression(penalty="l2", C=0.5).fit(X, y)
    new = LogisticRegression(C=0.5).fit(X, y)
    np.testing.assert_array_equal(old.coef_, new.coef_)


@pytest.mark.parametrize("estimator, message", [
    (LogisticRegression(penalty="l2", l1_ratio=1), "l1_ratio of LogisticRegression must be 0 "
     "with penalty='l2', got 1.0: the two contradict each other. penalty is deprecated; set only "
     "l1_ratio (0: L2, 1: L1, in between: elastic-net)."),
    (LogisticRegression(penalty="l1", l1_ratio=0.3), "l1_ratio of LogisticRegression must be 1 "
     "with penalty='l1', got 0.3: the two contradict each other."),
    (LogisticRegression(penalty="elasticnet", l1_ratio=None),
     "l1_ratio must be specified when penalty is elasticnet."),
    (LinearRegression(penalty=None, l1_ratio=1), "l1_ratio of LinearRegression must be 0 with "
     "penalty=None, got 1.0: the two contradict each other."),
])
def test_contradictory_penalty_and_l1_ratio_raise(breast_cancer, estimator, message):
    X, y = breast_cancer
    with pytest.raises(ValueError, match=re.escape(message)):
        estimator.fit(X, y)


def test_mlp_l1_ratio_selects_the_penalty_too(breast_cancer):
    X, y = breast_cancer
    def zeros(l1_ratio):
        model = _quiet(MLPClassifier((8,), solver="sgd", l1_ratio=l1_ratio, alpha=5.0,
                                     max_iter=30, learning_rate_init=0.05, random_state=0), X, y)
        return int((model.coefs_[0] == 0).sum())

    # L1 acts by its proximal step (exact zeros: 45 of 240 here); L2 never zeroes a weight.
    assert zeros(1) == 45 and zeros(0) == 0


# --- writable fitted attributes ------------------------------------------------------------

def _fitted(name, breast_cancer, regression):
    X, y = breast_cancer
    Xr, Yr = regression
    return {
        "LinearRegression": lambda: (LinearRegression().fit(Xr, Yr[:, 0]), Xr),
        "LinearRegression-2d": lambda: (LinearRegression().fit(Xr, Yr), Xr),
        "LogisticRegression": lambda: (LogisticRegression().fit(X, y), X),
        "MLPRegressor": lambda: (_quiet(MLPRegressor((4,), max_iter=5, random_state=0),
                                        Xr, Yr), Xr),
        "MLPClassifier": lambda: (_quiet(MLPClassifier((4,), max_iter=5, random_state=0),
                                         X, y), X),
    }[name]()


def _raw(model, X):
    return model.decision_function(X) if hasattr(model, "decision_function") else model.predict(X)


NAMES = ["LinearRegression", "LinearRegression-2d", "LogisticRegression", "MLPRegressor",
         "MLPClassifier"]


@pytest.mark.parametrize("name", NAMES)
def test_writing_into_fitted_arrays_changes_predictions(name, breast_cancer, regression):
    model, X = _fitted(name, breast_cancer, regression)
    if name.startswith("MLP"):
        model.coefs_[-1][:] = 0
        model.intercepts_[-1][:] = 3.0
        expected = 3.0
    else:
        model.coef_[...] = 0
        if np.ndim(model.intercept_) == 0:
            model.intercept_ = 3.0
        else:
            model.intercept_[:] = 3.0
        expected = 3.0
    np.testing.assert_array_equal(_raw(model, X[:5]), np.full_like(_raw(model, X[:5]), expected))


@pytest.mark.parametrize("name", NAMES)
def test_rebinding_fitted_arrays_writes_through(name, breast_cancer, regression):
    model, X = _fitted(name, breast_cancer, regression)
    if name.startswith("MLP"):
        model.coefs_ = [np.zeros_like(W) for W in model.coefs_]
        model.intercepts_ = [np.full_like(b, -2.0) for b in model.intercepts_]
    else:
        model.coef_ = np.zeros_like(model.coef_)
        model.intercept_ = np.full_like(np.asarray(model.intercept_), -2.0)
    assert "coef_" not in vars(model) and "coefs_" not in vars(model)
    raw = _raw(model, X[:5])
    np.testing.assert_array_equal(raw, np.full_like(raw, -2.0))


@pytest.mark.parametrize("name", ["MLPRegressor", "MLPClassifier"])
def test_assigning_a_list_item_of_coefs_writes_through(name, breast_cancer, regression):
    # scikit-learn users prune or transplant one layer with mlp.coefs_[i] = W.
    model, X = _fitted(name, breast_cancer, regression)
    first = model.coefs_[0]
    model.coefs_[-1] = np.zeros_like(model.coefs_[-1])
    model.intercepts_[-1] = np.full(model.intercepts_[-1].shape, 3.0)
    raw = _raw(model, X[:5])
    np.testing.assert_array_equal(raw, np.full_like(raw, 3.0))
    model.coefs_[0] = np.ones_like(first)           # through item 0 ...
    assert np.shares_memory(model.coefs_[0], model.network_.params)
    np.testing.assert_array_equal(first, 1.0)       # ... into the same view
    model.coefs_[:] = [np.full_like(W, 0.5) for W in model.coefs_]
    np.testing.assert_array_equal(model.network_.layers[0].params["W"], 0.5)
    assert type(copy.deepcopy(model.coefs_)) is list  # a copy is a plain list of arrays


def test_list_items_of_coefs_are_checked_and_the_list_keeps_its_length(breast_cancer):
    X, y = breast_cancer
    mlp = _quiet(MLPClassifier((4,), max_iter=2, random_state=0), X, y)
    with pytest.raises(ValueError, match=re.escape(
            "coefs_[1] of MLPClassifier must have shape (4, 1), got (4,). Assign an array of "
            "the fitted shape (refit to change the number of features or outputs).")):
        mlp.coefs_[1] = np.zeros(4)
    with pytest.raises(ValueError, match=re.escape(
            "intercepts_[0] of MLPClassifier must be finite, got NaN or infinity.")):
        mlp.intercepts_[0] = np.full(4, np.nan)
    with pytest.raises(TypeError, match=re.escape(
            "coefs_ of MLPClassifier holds one array per layer, so append() cannot change it. "
            "Assign an item (coefs_[i] = W), or refit with other hidden_layer_sizes.")):
        mlp.coefs_.append(np.zeros((4, 1)))
    with pytest.raises(TypeError, match=re.escape(
            "coefs_ of MLPClassifier holds one array per layer, so del cannot change it.")):
        del mlp.coefs_[0]
    with pytest.raises(ValueError, match=re.escape(
            "coefs_[0:2] of MLPClassifier must be given 2 arrays (one per layer), got 1.")):
        mlp.coefs_[0:2] = [np.zeros((30, 4))]


def test_rebinding_checks_shape_and_dtype(breast_cancer):
    X, y = breast_cancer
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match=re.escape(
            "coef_ of LogisticRegression must have shape (1, 30), got (30,). Assign an array of "
            "the fitted shape (refit to change the number of features or outputs).")):
        model.coef_ = np.zeros(30)
    with pytest.raises(ValueError, match=re.escape(
            "coef_ of LogisticRegression must hold real numbers, got an array of dtype <U1.")):
        model.coef_ = np.full((1, 30), "a")
    mlp = _quiet(MLPClassifier((4,), max_iter=2, random_state=0), X, y)
    with pytest.raises(ValueError, match=re.escape(
            "coefs_ of MLPClassifier must be a list of 2 arrays (one per layer), got list of "
            "length 1.")):
        mlp.coefs_ = [np.zeros((30, 4))]


# --- exact least squares -------------------------------------------------------------------

def _rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


@pytest.mark.parametrize("solver", ["lstsq", "cholesky"])
@pytest.mark.parametrize("case", ["plain", "rank-deficient", "multi-output", "weights",
                                  "no-intercept"])
def test_exact_solvers_match_scikit_learn_linear_regression(solver, case):
    X, y = make_regression(n_samples=200, n_features=150, n_targets=1 if case != "multi-output"
                           else 3, noise=5.0, random_state=1)
    X = X * np.linspace(0.5, 20, 150)  # scaled columns: the 0.3 % case
    weights = None
    if case == "rank-deficient":
        X = np.c_[X, X[:, :10] + X[:, 10:20]]  # 10 exactly collinear columns
    if case == "weights":
        weights = np.random.default_rng(0).uniform(0.1, 3.0, size=200)
    fit_intercept = case != "no-intercept"
    reference = sk.LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=weights)
    model = LinearRegression(solver=solver, fit_intercept=fit_intercept).fit(
        X, y, sample_weight=weights)
    # 1e-10 relative to the largest coefficient (the target); cholesky squares the
    # condition number, so its rank-deficient case goes through the eigendecomposition.
    assert _rel(model.coef_, reference.coef_) < 1e-10
    assert np.abs(np.asarray(model.intercept_) - reference.intercept_).max() < 1e-10 * np.abs(
        reference.coef_).max()


@pytest.mark.parametrize("solver", ["lstsq", "cholesky"])
def test_l2_matches_ridge_with_alpha_divided_by_the_weight_sum(solver, regression):
    X, Y = regression
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=len(X))
    ridge = sk.Ridge(alpha=30.0, solver="svd").fit(X, Y, sample_weight=weights)
    model = LinearRegression(alpha=30.0 / weights.sum(), solver=solver).fit(
        X, Y, sample_weight=weights)
    assert _rel(model.coef_, ridge.coef_) < 1e-10
    assert _rel(model.intercept_, ridge.intercept_) < 1e-10


def test_two_point_fit_is_exact():
    model = LinearRegression().fit([[0.0], [1.0]], [1.0, 2.0])
    # To rounding (3e-16); the former default lbfgs stopped at 0.99998.
    np.testing.assert_allclose([*model.coef_, model.intercept_], [1.0, 1.0], rtol=1e-15)
    assert model.n_iter_ == 1 and model.loss_ < 1e-30


def _ill_conditioned(n_samples, dtype, rng):
    x1 = rng.random(n_samples)
    X = np.column_stack([x1, 0.3 * x1 + 0.01 * rng.random(n_samples)])
    y = X @ [1.0, 2.0] + 0.001 * rng.standard_normal(n_samples)
    return X.astype(dtype), y.astype(dtype)


def test_lstsq_on_many_float32_rows_keeps_the_real_singular_values():
    # numpy's cutoff with float32's eps, eps32 * 100,000 * s_max, discarded the second singular
    # value: coef_ was [1.47, 0.44] (R^2 still 0.99999) where scikit-learn gives [1.0005, 1.998].
    X, y = _ill_conditioned(100_000, np.float32, np.random.default_rng(0))
    reference = sk.LinearRegression().fit(X, y)
    model = LinearRegression().fit(X, y)
    assert model.coef_.dtype == np.float32 and model.network_.dtype == np.float32
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-5)
    np.testing.assert_allclose(model.coef_, [1.0, 2.0], atol=5e-3)
    # and the float64 problem's least squares solution, to float32 rounding
    exact = scipy.linalg.lstsq(np.c_[X, np.ones(len(y))].astype(np.float64),
                               y.astype(np.float64))[0]
    np.testing.assert_allclose(model.coef_, exact[:2], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_regression_vs_lstsq(dtype):
    # scikit-learn's own test (sklearn/linear_model/tests/test_base.py, issue #33032), ported.
    rng = np.random.RandomState(1137)
    n_samples = 500_000
    x1 = rng.rand(n_samples)
    x2 = 0.3 * x1 + 0.1 * rng.rand(n_samples)
    X = np.column_stack([x1, x2])
    y = X @ [0.5, 2.0] + 0.1 * rng.rand(n_samples)
    X = X.astype(dtype)
    y = y.astype(dtype)
    coef_scipy = scipy.linalg.lstsq(X, y)[0]
    coef = LinearRegression(fit_intercept=False).fit(X, y).coef_
    assert coef.dtype == dtype
    rmse_scipy = np.linalg.norm(y - X @ coef_scipy)
    rmse = np.linalg.norm(y - X @ coef)
    assert rmse == pytest.approx(rmse_scipy, rel=1e-6)


def test_lstsq_on_collinear_float32_columns_matches_scikit_learn():
    # Columns collinear up to float32 rounding: X's own precision still counts them as one
    # (the cutoff never goes below eps(X.dtype) * s_max), so the fit is scikit-learn's.
    X, y = make_regression(n_samples=200, n_features=150, noise=5.0, random_state=1)
    X = X * np.linspace(0.5, 20, 150)
    X = np.c_[X, X[:, :10] + X[:, 10:20]].astype(np.float32)
    y = y.astype(np.float32)
    reference = sk.LinearRegression().fit(X, y)
    model = LinearRegression().fit(X, y)
    assert model.coef_.dtype == np.float32
    assert _rel(model.coef_, reference.coef_) < 1e-5


# --- validation set and convergence --------------------------------------------------------

def test_too_small_validation_set_raises_as_scikit_learn():
    X, y = make_regression(n_samples=2, n_features=5, random_state=0)
    with pytest.raises(ValueError, match=re.escape(
            "The validation set is too small. Increase 'validation_fraction' or the size of "
            "your dataset (MLPRegressor kept 1 of 2 samples for validation; at least 2 are "
            "needed).")):
        MLPRegressor(early_stopping=True, random_state=0).fit(X, y)


def test_gd_warns_until_the_optimality_measure_is_below_tol(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning, match=re.escape(
            "LogisticRegression: solver='gd' reached max_iter=100, but the largest entry of "
            "the minimum-norm subgradient of J is 0.00708 > tol=0.0001: not converged.")):
        LogisticRegression(solver="gd").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = LogisticRegression(solver="gd", max_iter=5000).fit(X, y)
    reference = LogisticRegression(tol=1e-10).fit(X, y)
    # Stopped by the rule max |subgradient| <= tol = 1e-4: J 2.0e-5 above the optimum (the
    # default run above stopped 7e-3 in gradient, 8e-3 in J, away without a rule to say so).
    assert 0 <= model.loss_ - reference.loss_ < 3e-5


# --- sparse and Fortran-ordered X ----------------------------------------------------------

class _NoDense(sp.csr_matrix):
    """A CSR matrix that fails if anything densifies it."""

    def toarray(self, *args, **kwargs):
        raise AssertionError("X was densified")

    todense = toarray

    def __array__(self, *args, **kwargs):
        raise AssertionError("X was densified")


@pytest.mark.parametrize("estimator", [
    LinearRegression(solver="cholesky"), LinearRegression(solver="lbfgs", tol=1e-10),
    LogisticRegression(tol=1e-10), LogisticRegression(l1_ratio=1, solver="gd", max_iter=50),
    MLPRegressor((5,), solver="lbfgs", max_iter=30, random_state=0),
    MLPClassifier((5,), solver="sgd", max_iter=5, random_state=0),
], ids=lambda e: type(e).__name__ + "-" + e.solver)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_x_gives_the_dense_fit_without_densifying(estimator, fmt):
    X, y = make_classification(n_samples=150, n_features=12, random_state=0)
    X[np.abs(X) < 0.8] = 0.0
    dense = _quiet(estimator.__class__(**estimator.get_params()), X, y)
    Xs = _NoDense(X) if fmt == "csr" else sp.csc_matrix(X)
    model = _quiet(estimator.__class__(**estimator.get_params()), Xs, y)
    np.testing.assert_allclose(model.predict(Xs), dense.predict(X), rtol=1e-9, atol=1e-9)


def test_lstsq_refuses_sparse_x_naming_the_solvers_that_take_it():
    X = sp.random(20, 4, density=0.5, format="csr", random_state=0)
    with pytest.raises(ValueError, match=re.escape(
            "solver of LinearRegression must be one of {'cholesky', 'lbfgs', 'gd', 'sgd', "
            "'adam'} for sparse X, got 'lstsq': the SVD needs dense X.")):
        LinearRegression(solver="lstsq").fit(X, np.arange(20.0))


def test_fortran_ordered_x_gives_bit_identical_mini_batch_training():
    X, y = make_classification(n_samples=300, n_features=10, random_state=0)
    c_order = _quiet(MLPClassifier((8,), max_iter=3, random_state=0), X, y)
    f_order = _quiet(MLPClassifier((8,), max_iter=3, random_state=0), np.asfortranarray(X), y)
    np.testing.assert_array_equal(f_order.network_.params, c_order.network_.params)


# --- parameters ----------------------------------------------------------------------------

def test_n_iter_no_change_inf_runs_max_iter(breast_cancer):
    X, y = breast_cancer
    model = _quiet(MLPClassifier((4,), solver="sgd", tol=1e9, n_iter_no_change=np.inf,
                                 max_iter=7, random_state=0), X, y)
    assert model.n_iter_ == 7 and model._no_improvement_count == 6


def test_scalar_sample_weight_broadcasts(breast_cancer):
    X, y = breast_cancer
    a = LogisticRegression().fit(X, y, sample_weight=2.0)
    b = LogisticRegression().fit(X, y, sample_weight=np.full(len(y), 2.0))
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_max_iter_zero_returns_the_initial_model(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning, match=re.escape(
            "LogisticRegression: max_iter=0, so no training was done; the model is the initial "
            "one.")):
        model = LogisticRegression(max_iter=0).fit(X, y)
    assert model.n_iter_ == 0 and not model.coef_.any()
    assert model.loss_ == pytest.approx(np.log(2), rel=1e-12)


def test_sparsify_and_densify(breast_cancer):
    X, y = breast_cancer
    model = LogisticRegression(l1_ratio=1, C=0.05, solver="gd", max_iter=3000).fit(X, y)
    dense = model.coef_.copy()
    assert model.sparsify() is model and sp.issparse(model.coef_)
    assert model.coef_.nnz == np.count_nonzero(dense)
    np.testing.assert_array_equal(model.predict_proba(X), model.densify().predict_proba(X))
    np.testing.assert_array_equal(model.coef_, dense)


def test_max_fun_limits_lbfgs_evaluations(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning):
        model = MLPClassifier((8,), solver="lbfgs", max_fun=5, random_state=0).fit(X, y)
    assert model.n_iter_ <= 5


def test_n_jobs_is_accepted(breast_cancer):
    X, y = breast_cancer
    a = LogisticRegression(n_jobs=1).fit(X, y)
    b = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12)


@pytest.mark.parametrize("estimator, message", [
    (LinearRegression(positive=True), "positive of LinearRegression must be False, got True: "
     "numnet does not constrain the coefficients' sign. Use "
     "sklearn.linear_model.LinearRegression(positive=True) or scipy.optimize.nnls."),
    (LogisticRegression(solver="saga"), "solver of LogisticRegression must be one of {'adam', "
     "'gd', 'lbfgs', 'sgd'}, got 'saga': numnet does not have scikit-learn's 'saga' solver. "
     "Use 'gd' (proximal gradient descent; any l1_ratio) or 'sgd'."),
    (LogisticRegression(dual=True), "dual of LogisticRegression must be False, got True: numnet "
     "solves the primal problem only (the dual form is liblinear's). Use solver='lbfgs'."),
    (MLPRegressor(loss="huber"), "loss of MLPRegressor must be one of {"),
])
def test_unsupported_scikit_learn_parameters_say_what_to_use(estimator, message):
    X, y = make_classification(n_samples=20, n_features=4, random_state=0)
    with pytest.raises(ValueError, match=re.escape(message)):
        estimator.fit(X, y)
