"""dask-ml's Incremental wrapper drives partial_fit block by block over a dask array."""

import numpy as np
import pytest
from sklearn.datasets import make_classification

from numnet import LogisticRegression, MLPClassifier, MLPRegressor

da = pytest.importorskip("dask.array")
wrappers = pytest.importorskip("dask_ml.wrappers")


@pytest.mark.parametrize("estimator", [
    LogisticRegression(solver="sgd", learning_rate_init=0.05, random_state=0),
    MLPClassifier((8,), learning_rate_init=0.01, batch_size=20, random_state=0),
], ids=["logistic-sgd", "mlp-adam"])
def test_incremental_equals_partial_fit_over_the_blocks(estimator):
    X, y = make_classification(n_samples=1000, n_features=6, random_state=0)
    X_dask, y_dask = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    incremental = wrappers.Incremental(estimator, shuffle_blocks=False)
    incremental.fit(X_dask, y_dask, classes=[0, 1])
    fitted = incremental.estimator_
    assert fitted.t_ == 1000 and np.sum(fitted.n_iter_) == 5  # one epoch per block

    by_hand = estimator.__class__(**estimator.get_params())
    for start in range(0, 1000, 200):
        by_hand.partial_fit(X[start:start + 200], y[start:start + 200], classes=[0, 1])
    np.testing.assert_array_equal(fitted.network_.params, by_hand.network_.params)
    assert incremental.score(X_dask, y_dask) > 0.85
    np.testing.assert_array_equal(incremental.predict(X_dask).compute(), fitted.predict(X))


def test_incremental_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = X @ np.array([1.0, -1.0, 0.5, 2.0])
    incremental = wrappers.Incremental(MLPRegressor((8,), learning_rate_init=0.01,
                                                    random_state=0))
    for _ in range(5):  # passes over the data
        incremental.partial_fit(da.from_array(X, chunks=150), da.from_array(y, chunks=150))
    assert incremental.estimator_.t_ == 3000
    assert incremental.estimator_.score(X, y) > 0.5
