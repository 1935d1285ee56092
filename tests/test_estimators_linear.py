"""LinearRegression and LogisticRegression: parity with closed forms and scikit-learn, API."""

import re
import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import recall_score
from sklearn.preprocessing import StandardScaler

from numnet import DivergenceError, History, LinearRegression, LogisticRegression, Sequential


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=200, n_features=10, noise=1.0, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# --- parity -------------------------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_linear_regression_matches_lstsq(regression, solver):
    X, y = regression
    reference = np.linalg.lstsq(np.c_[X, np.ones(len(y))], y, rcond=None)[0]
    model = LinearRegression(solver=solver, tol=1e-12 if solver == "lbfgs" else 0.0,
                             max_iter=5000).fit(X, y)
    # tolerance 1e-6 relative to the largest coefficient (stated in the issue)
    scale = np.abs(reference).max()
    np.testing.assert_allclose(model.coef_, reference[:-1], rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(model.intercept_, reference[-1], rtol=0, atol=1e-6 * scale)


def test_multi_target_regression_matches_lstsq(regression):
    X, y = regression
    Y = np.c_[y, -2 * y + 3]
    model = LinearRegression(tol=1e-12).fit(X, Y)
    reference = np.linalg.lstsq(np.c_[X, np.ones(len(y))], Y, rcond=None)[0]
    assert model.coef_.shape == (2, 10) and model.intercept_.shape == (2,)
    np.testing.assert_allclose(model.coef_, reference[:-1].T, rtol=0, atol=1e-6 * 100)
    assert model.predict(X).shape == (200, 2)


def test_l2_matches_ridge_with_alpha_divided_by_n_samples(regression):
    X, y = regression
    ridge = sk.Ridge(alpha=30.0).fit(X, y)
    model = LinearRegression(alpha=30.0 / len(y), solver="lbfgs", tol=1e-12).fit(X, y)
    np.testing.assert_allclose(model.coef_, ridge.coef_, rtol=1e-6)  # tolerance 1e-6
    np.testing.assert_allclose(model.intercept_, ridge.intercept_, rtol=1e-6)


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_l1_matches_lasso_support_and_coefficients(regression, solver):
    X, y = regression
    lasso = sk.Lasso(alpha=5.0, tol=1e-12, max_iter=100_000).fit(X, y)
    kwargs = {"batch_size": 200} if solver == "sgd" else {}  # full batch: exact prox-gradient
    model = LinearRegression(l1_ratio=1, alpha=5.0, solver=solver, momentum=0.0, tol=1e-10,
                             max_iter=20_000, **kwargs).fit(X, y)
    assert (lasso.coef_ == 0).sum() >= 1  # the comparison is about exact zeros
    np.testing.assert_array_equal(model.coef_ == 0, lasso.coef_ == 0)
    np.testing.assert_allclose(model.coef_, lasso.coef_, rtol=0, atol=1e-4)  # tolerance 1e-4


def test_elasticnet_matches_sklearn_elasticnet(regression):
    X, y = regression
    reference = sk.ElasticNet(alpha=4.0, l1_ratio=0.7, tol=1e-12, max_iter=100_000).fit(X, y)
    model = LinearRegression(alpha=4.0, l1_ratio=0.7, solver="gd",
                             tol=1e-10, max_iter=20_000).fit(X, y)
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-4)


def _sklearn_logistic(C, **kwargs):
    # scikit-learn >= 1.8 deprecates `penalty`: l1_ratio=0 is its spelling of the L2 penalty.
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        return sk.LogisticRegression(C=C, l1_ratio=0.0, tol=1e-10, max_iter=10_000, **kwargs)


@pytest.mark.parametrize("C", [0.1, 1.0])
def test_logistic_matches_sklearn_on_breast_cancer(breast_cancer, C):
    X, y = breast_cancer
    reference = _sklearn_logistic(C).fit(X, y)
    model = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
    assert model.coef_.shape == (1, 30) and model.intercept_.shape == (1,)
    # tolerance 1e-4 relative (stated in the issue); measured ~1e-11
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-4)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-4)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-6)


def test_multinomial_logistic_matches_sklearn_on_iris():
    X, y = load_iris(return_X_y=True)
    reference = _sklearn_logistic(1.0).fit(X, y)
    model = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
    assert model.coef_.shape == (3, 4) and model.out_activation_ == "softmax"
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-4)  # measured ~1e-6
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-4)


def test_logistic_with_sample_and_class_weights_matches_sklearn(breast_cancer):
    X, y = breast_cancer
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    reference = _sklearn_logistic(0.5, class_weight={0: 2.0, 1: 0.5}).fit(X, y, weights)
    model = LogisticRegression(C=0.5, class_weight={0: 2.0, 1: 0.5}, tol=1e-10,
                               max_iter=10_000).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-4)


def test_logistic_l1_gives_exact_zeros_and_matches_saga():
    X, y = make_classification(n_samples=300, n_features=8, n_informative=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        reference = sk.LogisticRegression(C=0.05, l1_ratio=1.0, solver="saga", tol=1e-12,
                                          max_iter=100_000).fit(X, y)
    model = LogisticRegression(l1_ratio=1, C=0.05, solver="gd", tol=1e-12,
                               max_iter=20_000).fit(X, y)
    assert (model.coef_ == 0).sum() == 5
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-4)  # measured 3e-6


# --- sample and class weights -------------------------------------------------------------------

@pytest.mark.parametrize("estimator", [
    LinearRegression(alpha=0.1, solver="lbfgs"),
    LinearRegression(l1_ratio=1, alpha=0.05, solver="gd", max_iter=300),
    LogisticRegression(),
    LogisticRegression(solver="gd", max_iter=300),
], ids=["linear-lbfgs", "linear-gd-l1", "logistic-lbfgs", "logistic-gd"])
def test_integer_sample_weights_equal_repeated_rows(estimator, rng):
    X = rng.normal(size=(30, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=30)
    if isinstance(estimator, LogisticRegression):
        y = (y > 0).astype(int)
    weights = rng.integers(0, 4, size=30)
    weighted = clone(estimator).fit(X, y, sample_weight=weights)
    repeated = clone(estimator).fit(X.repeat(weights, axis=0), y.repeat(weights))
    method = "predict" if isinstance(estimator, LinearRegression) else "predict_proba"
    # full-batch solvers: the same objective up to the order of the sums (1e-12)
    np.testing.assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X),
                               rtol=1e-12, atol=1e-12)
    assert weighted.n_iter_ == repeated.n_iter_


def test_class_weight_balanced_is_the_manual_dict():
    X = np.array([[-1.0, -1.0], [-1.0, 0], [-0.8, -1.0], [1.0, 1.0], [1.0, 0.0]])
    y = np.array([1, 1, 1, -1, -1])
    balanced = LogisticRegression(class_weight="balanced").fit(X, y).coef_
    manual = LogisticRegression(class_weight={1: 5 / (3 * 2), -1: 5 / (2 * 2)}).fit(X, y).coef_
    np.testing.assert_allclose(balanced, manual, rtol=1e-12)


def test_class_weight_balanced_improves_minority_recall():
    X, y = make_classification(n_samples=2000, n_features=5, weights=[0.95], flip_y=0.0,
                               class_sep=0.5, random_state=0)
    plain = LogisticRegression().fit(X[:1000], y[:1000])
    balanced = LogisticRegression(class_weight="balanced").fit(X[:1000], y[:1000])
    recall_plain = recall_score(y[1000:], plain.predict(X[1000:]))
    recall_balanced = recall_score(y[1000:], balanced.predict(X[1000:]))
    assert recall_balanced > recall_plain + 0.1, (recall_plain, recall_balanced)  # 0.69 -> 0.87


def test_zero_sample_weights_are_rejected(regression):
    X, y = regression
    msg = ("sample_weight must have a positive sum, got all zeros. Give at least one sample a "
           "weight > 0.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        LinearRegression().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match=re.escape(
            "sample_weight must have shape (n_samples,) = (200,), got (199,).")):
        LinearRegression().fit(X, y, sample_weight=np.ones(199))


# --- solvers, stopping, warnings ----------------------------------------------------------------

def test_gd_with_the_auto_step_decreases_the_objective_monotonically(breast_cancer):
    X, y = breast_cancer
    model = LogisticRegression(solver="gd", max_iter=50, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="reached max_iter=50"):
        model.fit(X, y)
    curve = np.array(model.loss_curve_)
    assert len(curve) == model.n_iter_[0] == 50
    assert np.all(np.diff(curve) < 0)
    assert model.loss_ == curve[-1]


def test_loss_is_the_documented_objective(regression):
    X, y = regression
    model = LinearRegression(alpha=2.0, l1_ratio=0.3, solver="gd",
                             max_iter=20, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    # loss_curve_[k] is J at the start of epoch k's step; recompute J at the final weights
    # from a one-epoch warm start, whose first (and only) entry is J before its step.
    residual = y - X @ model.coef_ - model.intercept_
    expected = (residual @ residual / (2 * len(y)) + 2.0 * 0.3 * np.abs(model.coef_).sum()
                + 0.5 * 2.0 * 0.7 * model.coef_ @ model.coef_)
    model.set_params(warm_start=True, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    assert model.loss_curve_[-1] == pytest.approx(expected, rel=1e-12)
    assert len(model.loss_curve_) == 21 and model.history_.n_epochs == 21


def test_logistic_loss_is_mean_log_loss_plus_scaled_penalty(breast_cancer):
    X, y = breast_cancer
    model = LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(X, y)
    z = X @ model.coef_[0] + model.intercept_[0]
    log_loss = np.mean(np.logaddexp(0, z) - y * z)
    penalty = 0.5 * model.coef_[0] @ model.coef_[0] / (0.5 * len(y))
    assert model.loss_ == pytest.approx(log_loss + penalty, rel=1e-12)


def test_lbfgs_warns_when_max_iter_is_reached(breast_cancer):
    X, y = breast_cancer
    with pytest.warns(ConvergenceWarning, match=re.escape(
            "LogisticRegression: solver='lbfgs' did not converge after 2 iterations "
            "(max_iter=2, tol=0.0001).")):
        LogisticRegression(max_iter=2).fit(X, y)


@pytest.mark.parametrize("estimator", [LinearRegression(l1_ratio=1, alpha=1.0, solver="lbfgs"),
                                       LogisticRegression(l1_ratio=0.5)])
def test_lbfgs_rejects_an_l1_part_naming_the_solvers_that_support_it(estimator, regression):
    X, y = regression
    name, ratio = type(estimator).__name__, float(estimator.l1_ratio)
    msg = (f"solver of {name} must be one of {{'adam', 'gd', 'sgd'}} with l1_ratio={ratio!r}, "
           "got 'lbfgs'. L-BFGS needs a differentiable objective; the other solvers apply the "
           "L1 term by a proximal (soft-thresholding) step.")
    with pytest.raises(ValueError, match=re.escape(msg)):
        estimator.fit(X, y > 0 if name == "LogisticRegression" else y)


def test_elasticnet_with_l1_ratio_zero_is_smooth_and_allowed_with_lbfgs(breast_cancer):
    X, y = breast_cancer
    a = LogisticRegression(l1_ratio=0.0, tol=1e-10).fit(X, y)
    b = LogisticRegression(tol=1e-10).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_penalty_none_and_infinite_c_agree(breast_cancer):
    X, y = breast_cancer
    a = LogisticRegression(penalty=None, max_iter=5)  # deprecated spelling of C=np.inf
    b = LogisticRegression(C=np.inf, max_iter=5)
    with pytest.warns(ConvergenceWarning), pytest.warns(FutureWarning, match="'penalty' was"):
        a.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        b.fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_diverging_gd_raises_with_the_estimators_learning_rate(regression):
    X, y = regression
    msg = ("LinearRegression: training diverged (the loss became non-finite in epoch ")
    with pytest.raises(DivergenceError, match=re.escape(msg)) as info:
        # n_iter_no_change large: otherwise the stopping rule ends the run (the loss grows)
        LinearRegression(solver="gd", learning_rate_init=100.0,
                         n_iter_no_change=1000).fit(X * 1e3, y)
    assert "Lower learning_rate_init (now 100)" in str(info.value)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_over_chunks_learns_and_accumulates(breast_cancer, solver):
    X, y = breast_cancer
    model = LogisticRegression(solver=solver, learning_rate_init=0.01, random_state=0)
    for start in range(0, 500, 50):
        model.partial_fit(X[start:start + 50], y[start:start + 50], classes=[0, 1])
    assert model.n_iter_[0] == 10 and len(model.loss_curve_) == 10 and model.t_ == 500
    assert model.score(X[500:], y[500:]) > 0.9


def test_partial_fit_needs_classes_on_the_first_call(breast_cancer):
    X, y = breast_cancer
    msg = ("classes must be passed on the first call to LogisticRegression.partial_fit, got "
           "None. Pass every label, e.g. classes=np.unique(y_all).")
    with pytest.raises(ValueError, match=re.escape(msg)):
        LogisticRegression(solver="sgd").partial_fit(X, y)


def test_partial_fit_exists_only_for_stochastic_solvers():
    assert not hasattr(LinearRegression(), "partial_fit")
    assert not hasattr(LogisticRegression(solver="gd"), "partial_fit")
    assert hasattr(LinearRegression(solver="adam"), "partial_fit")
    with pytest.raises(AttributeError) as info:
        LinearRegression(solver="lbfgs").partial_fit  # noqa: B018
    assert str(info.value.__cause__) == ("partial_fit is only available for the stochastic "
                                         "solvers 'sgd' and 'adam', not solver='lbfgs'.")


def test_warm_start_continues_from_the_previous_coefficients(breast_cancer):
    X, y = breast_cancer
    cold = LogisticRegression(tol=1e-8, max_iter=1000).fit(X, y)
    warm = LogisticRegression(tol=1e-8, max_iter=1000, warm_start=True).fit(X, y)
    first_iterations = warm.n_iter_[0]
    warm.fit(X, y)
    assert warm.n_iter_[0] < first_iterations / 2
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-5)


def test_early_stopping_records_validation_accuracy_and_restores_the_best(breast_cancer):
    X, y = breast_cancer
    model = LogisticRegression(solver="sgd", early_stopping=True, n_iter_no_change=3,
                               learning_rate_init=0.5, random_state=0, max_iter=200).fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_[0] < 200
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.history_.best_epoch == 1 + int(np.argmax(model.validation_scores_))
    assert model.best_loss_ is None


# --- fitted attributes, dtypes, labels ----------------------------------------------------------

def test_string_labels_round_trip(breast_cancer):
    X, y = breast_cancer
    labels = np.where(y == 1, "benign", "malignant")
    model = LogisticRegression().fit(X, labels)
    assert model.classes_.tolist() == ["benign", "malignant"]
    predicted = model.predict(X)
    assert set(predicted) <= {"benign", "malignant"}
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(predicted, model.classes_[proba.argmax(axis=1)])
    # predict_proba's positive column is classes_[1]; decision_function > 0 predicts it
    np.testing.assert_array_equal(model.decision_function(X) > 0, predicted == "malignant")
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-12)


def test_float32_input_stays_float32(breast_cancer):
    X, y = breast_cancer
    model = LogisticRegression(tol=1e-3).fit(X.astype(np.float32), y)
    assert model.network_.dtype == np.float32 and model.coef_.dtype == np.float32
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float32
    reference = LogisticRegression(tol=1e-3).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-3, atol=1e-3)


def test_fitted_attributes_follow_the_model_file_contract(breast_cancer):
    X, y = breast_cancer
    model = LogisticRegression(solver="adam", max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    names = model._fitted_attributes()
    assert {"classes_", "n_iter_", "loss_", "loss_curve_", "history_",
            "network_", "n_features_in_", "n_outputs_", "out_activation_"} <= set(names)
    assert "coef_" not in names  # a view into network_.params, derived on access
    for name in names:
        value = getattr(model, name)
        if isinstance(value, list):
            assert all(isinstance(v, (int, float, np.ndarray)) for v in value), name
        else:
            assert value is None or isinstance(
                value, (Sequential, History, np.ndarray, int, float, str, bool)), name
    assert model.coef_.flags.writeable and np.shares_memory(model.coef_, model.network_.params)
    np.testing.assert_array_equal(model.coef_[0], model.network_[0].params["W"][:, 0])


def test_coef_is_1d_for_1d_y_and_2d_for_a_column(regression):
    X, y = regression
    assert LinearRegression().fit(X, y).coef_.shape == (10,)
    column = LinearRegression().fit(X, y[:, None])
    assert column.coef_.shape == (1, 10) and column.predict(X).shape == (200, 1)


def test_no_intercept(regression):
    X, y = regression
    model = LinearRegression(fit_intercept=False, tol=1e-12).fit(X, y + 5)
    reference = np.linalg.lstsq(X, y + 5, rcond=None)[0]
    assert model.intercept_ == 0.0
    np.testing.assert_allclose(model.coef_, reference, rtol=1e-8)


# --- hyperparameter errors: raised in fit, before any work --------------------------------------

@pytest.mark.parametrize("estimator, message", [
    (LinearRegression(alpha=-1), "alpha of LinearRegression must be a float >= 0, got -1.0."),
    (LinearRegression(solver="newton"), "solver of LinearRegression must be one of {'adam', "
     "'auto', 'cholesky', 'gd', 'lbfgs', 'lstsq', 'sgd'}, got 'newton'."),
    (LinearRegression(learning_rate_init="fast"), "learning_rate_init of LinearRegression "
     "must be 'auto' or a float > 0, got 'fast'."),
    (LinearRegression(batch_size=0), "batch_size of LinearRegression must be 'auto' or an "
     "integer >= 1, got 0."),
    (LogisticRegression(C=0), "C of LogisticRegression must be a float > 0, got 0.0."),
    (LogisticRegression(penalty="l3"), "penalty of LogisticRegression must be one of {None, "
     "'elasticnet', 'l1', 'l2'}, got 'l3'."),
    (LogisticRegression(l1_ratio=2), "l1_ratio of LogisticRegression must be a float in "
     "[0, 1], got 2.0."),
    (LogisticRegression(class_weight="auto"), "class_weight of LogisticRegression must be None, "
     "'balanced' or a dict {label: weight}, got 'auto'."),
    (LogisticRegression(random_state=-1), "random_state of LogisticRegression must be None, an "
     "integer >= 0, a numpy Generator or RandomState, got -1."),
])
def test_bad_hyperparameters_raise_in_fit(estimator, message):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match=re.escape(message)):
        estimator.fit(X, np.array([0, 0, 1, 1]))


def test_one_class_is_rejected():
    msg = "y of LogisticRegression must contain at least 2 classes, got 1 class: 'a'."
    with pytest.raises(ValueError, match=re.escape(msg)):
        LogisticRegression().fit(np.ones((3, 2)), ["a", "a", "a"])


# --- the resolved solver: the rule fit applies, stated by the estimator -----------------------


@pytest.mark.parametrize("params, X, dask, expected", [
    ({}, None, False, "lstsq"),
    ({}, "sparse", False, "cholesky"),
    ({"alpha": 1.0, "l1_ratio": 0.5}, None, False, "gd"),
    ({"alpha": 0.0, "l1_ratio": 0.5}, None, False, "lstsq"),   # no penalty: no L1 part
    ({"dp_epsilon": 1.0, "learning_rate_init": 0.01}, None, False, "adam"),
    ({}, None, True, "lbfgs"),
    ({"alpha": 1.0, "l1_ratio": 1.0}, None, True, "gd"),
    ({"solver": "sgd"}, "sparse", False, "sgd"),
    ({"solver": "lbfgs"}, None, True, "lbfgs"),
])
def test_linear_regression_states_its_resolved_solver(params, X, dask, expected):
    import scipy.sparse as sp

    rows = sp.csr_matrix(np.eye(3)) if X == "sparse" else None
    assert LinearRegression(**params).resolved_solver(rows, dask=dask) == expected


def test_resolved_solver_is_the_one_fit_runs(monkeypatch):
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    ran = []
    monkeypatch.setattr(LinearRegression, "_solve_exact",
                        lambda self, X, Y, w, p: ran.append(p.solver) or History(loss=[0.0]))
    for params in ({}, {"alpha": 0.1, "l1_ratio": 0.0}):
        model = LinearRegression(**params)
        model.fit(X, y)
        assert ran[-1] == model.resolved_solver(X) == "lstsq"
    model = LinearRegression(alpha=0.1, l1_ratio=0.5, max_iter=2)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    assert ran == ["lstsq", "lstsq"] and model.resolved_solver(X) == "gd"


def test_resolved_solver_refuses_what_fit_refuses_and_names_the_others():
    import scipy.sparse as sp

    with pytest.raises(ValueError, match=re.escape(
            "solver of LinearRegression must be one of {'cholesky', 'lbfgs', 'gd', 'sgd', "
            "'adam'} for sparse X, got 'lstsq'")):
        LinearRegression(solver="lstsq").resolved_solver(sp.csr_matrix(np.eye(2)))
    assert LogisticRegression().resolved_solver() == "lbfgs"
    assert LogisticRegression(solver="sgd").resolved_solver(dask=True) == "sgd"
    from numnet import MLPClassifier, MLPRegressor

    assert MLPClassifier().resolved_solver() == MLPRegressor().resolved_solver() == "adam"
