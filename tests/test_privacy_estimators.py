"""The estimators' DP parameters: DP-SGD through fit, the guarantee as fitted attributes."""

import logging
import re

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.utils.estimator_checks import parametrize_with_checks

import numnet
from numnet import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor
from numnet.privacy import compute_epsilon

pytest.importorskip("dp_accounting")
logging.getLogger("absl").setLevel(logging.ERROR)   # dp-accounting's RDP-order notes at large q

DP_PARAMS = ("dp_epsilon", "dp_delta", "dp_max_grad_norm", "dp_noise_multiplier",
             "dp_accountant")


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(400, 6, random_state=0)
    return X, y


@pytest.mark.parametrize("cls", [LinearRegression, LogisticRegression, MLPClassifier,
                                 MLPRegressor])
def test_every_estimator_has_the_dp_parameters(cls):
    params = cls().get_params()
    assert {k: params[k] for k in DP_PARAMS} == {
        "dp_epsilon": None, "dp_delta": None, "dp_max_grad_norm": 1.0,
        "dp_noise_multiplier": None, "dp_accountant": "rdp"}
    assert all(f"{name} :" in cls.__doc__ for name in DP_PARAMS + ("epsilon_",))


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier((8,), learning_rate_init=0.02, batch_size=40, max_iter=8),
    lambda: LogisticRegression(solver="sgd", learning_rate_init=0.2, batch_size=40, max_iter=8),
])
def test_classifiers_reach_the_target_epsilon_and_learn(classification, make):
    X, y = classification
    est = make().set_params(dp_epsilon=2.0, dp_delta=1e-4, random_state=0).fit(X, y)
    assert est.epsilon_ <= 2.0 and est.epsilon_ == pytest.approx(2.0, rel=0.01)
    assert est.dp_sampling_rate_ == 0.1 and est.dp_steps_ == 8 * 10 and est.dp_delta_ == 1e-4
    assert est.epsilon_ == compute_epsilon(0.1, est.dp_noise_multiplier_, 80, 1e-4)
    assert len(est.epsilon_curve_) == est.n_iter_ == 8 if not hasattr(est, "coef_") else True
    assert est.score(X, y) > 0.8
    again = make().set_params(dp_epsilon=2.0, dp_delta=1e-4, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))


def test_regressors_with_a_given_noise_multiplier():
    X, y = make_regression(300, 4, noise=0.5, random_state=0)
    y = y / y.std()
    for est in (LinearRegression(dp_noise_multiplier=0.8, max_iter=15, random_state=0,
                                 learning_rate_init=0.05),
                MLPRegressor((8,), dp_noise_multiplier=0.8, max_iter=15, random_state=0,
                             learning_rate_init=0.02)):
        est.fit(X, y)
        assert est.dp_noise_multiplier_ == 0.8
        assert est.dp_delta_ == min(1e-5, 1 / 3000)
        assert est.epsilon_ == compute_epsilon(est.dp_sampling_rate_, 0.8, est.dp_steps_, 1e-5)
        assert est.score(X, y) > 0.5


@pytest.mark.parametrize("est, msg", [
    (LogisticRegression(dp_epsilon=1.0),
     "solver of LogisticRegression must be one of {'adam', 'sgd'} to train with differential "
     "privacy, got 'lbfgs'. DP-SGD clips and noises each mini-batch gradient; L-BFGS, the exact "
     "solvers and full-batch 'gd' cannot be made private this way."),
    (LinearRegression(solver="lstsq", dp_epsilon=1.0),
     "solver of LinearRegression must be one of {'adam', 'sgd'} to train with differential "
     "privacy, got 'lstsq'."),
    (MLPClassifier(early_stopping=True, dp_noise_multiplier=1.0),
     "early_stopping of MLPClassifier must be False with differential privacy, got True."),
    (MLPClassifier(learning_rate="adaptive", solver="sgd", dp_noise_multiplier=1.0),
     "learning_rate of MLPClassifier must be 'constant' with differential privacy"),
    (LogisticRegression(solver="sgd", dp_noise_multiplier=1.0),
     "learning_rate_init of LogisticRegression must be a number with solver='sgd'"),
    (MLPClassifier(class_weight="balanced", dp_noise_multiplier=1.0),
     "class_weight of MLPClassifier must not be 'balanced' with differential privacy."),
    (MLPClassifier(dp_noise_multiplier=1.0, dp_epsilon=1.0),
     "dp_noise_multiplier of MLPClassifier must be None when dp_epsilon is given, got 1.0."),
    (MLPClassifier(dp_epsilon=0.0), "dp_epsilon of MLPClassifier must be a float > 0, got 0.0."),
    (MLPClassifier(dp_noise_multiplier=1.0, dp_accountant="moments"),
     "dp_accountant of MLPClassifier must be one of"),
])
def test_what_cannot_be_private_is_refused(classification, est, msg):
    with pytest.raises(ValueError, match=re.escape(msg)):
        est.fit(*classification)


def test_partial_fit_is_refused(classification):
    est = MLPClassifier(dp_noise_multiplier=1.0)
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute .partial_fit."):
        est.partial_fit(*classification, classes=[0, 1])


def test_model_files_keep_the_dp_parameters_and_the_guarantee(classification, tmp_path):
    X, y = classification
    est = MLPClassifier((8,), dp_epsilon=3.0, dp_max_grad_norm=0.5, dp_accountant="pld",
                        learning_rate_init=0.02, batch_size=40, max_iter=3,
                        random_state=0).fit(X, y)
    numnet.save(est, tmp_path / "m.numnet")
    loaded = numnet.load(tmp_path / "m.numnet")
    assert loaded.get_params() == est.get_params()
    for name in ("epsilon_", "epsilon_curve_", "dp_noise_multiplier_", "dp_delta_",
                 "dp_sampling_rate_", "dp_steps_"):
        assert getattr(loaded, name) == getattr(est, name)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def _expected_failed(estimator):
    reason = ("Poisson sampling: a row of weight 3 is one draw, its 3 copies three independent "
              "ones, so the DP-SGD trajectories differ")
    return {"check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason}


@parametrize_with_checks(
    [MLPClassifier((8,), learning_rate_init=0.05, max_iter=30, dp_noise_multiplier=0.05,
                   dp_max_grad_norm=5.0)],
    expected_failed_checks=_expected_failed)
def test_sklearn_estimator_checks_with_dp(estimator, check):
    check(estimator)
