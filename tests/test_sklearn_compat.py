"""scikit-learn's own estimator checks on every estimator, with several solver/penalty variants."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from numnet import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor

ESTIMATORS = [
    LinearRegression(),
    LinearRegression(penalty="l1", alpha=0.01, solver="gd", max_iter=300),
    LinearRegression(penalty="elasticnet", alpha=0.01, solver="sgd", max_iter=50),
    LogisticRegression(),
    LogisticRegression(penalty="l1", solver="gd", max_iter=200),
    LogisticRegression(penalty="elasticnet", solver="adam", learning_rate_init=0.05,
                       max_iter=100),
    MLPRegressor((8,), solver="lbfgs", max_iter=100),
    MLPRegressor((8,), learning_rate_init=0.05, max_iter=100),
    MLPRegressor((8,), solver="sgd", batch_size=4, learning_rate_init=1e-3, max_iter=30),
    MLPClassifier((8,), learning_rate_init=0.05, max_iter=100),
    MLPClassifier((8,), activation="tanh", solver="sgd", penalty="l1", learning_rate_init=0.1,
                  max_iter=100),
    MLPClassifier((8,), solver="lbfgs", max_iter=100),
]


def expected_failed_checks(estimator):
    """Checks an instance is known to fail, each with the reason."""
    if estimator.solver in ("sgd", "adam") and estimator.batch_size != "auto":
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "with mini-batches smaller than the data, a row of weight 3 lands in one batch "
                "while its 3 copies spread over several, so the SGD trajectories differ and the "
                "equivalence holds only in expectation; the full-batch solvers (lbfgs, gd, and "
                "sgd/adam when batch_size >= n_samples) pass it"
            ),
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
