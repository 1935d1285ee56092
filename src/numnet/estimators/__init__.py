"""scikit-learn estimators built on numnet networks: linear models and multi-layer perceptrons."""

from . import _files  # noqa: F401  (registers the "estimator" kind with numnet.io)
from .linear import LinearRegression, LogisticRegression
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["LinearRegression", "LogisticRegression", "MLPClassifier", "MLPRegressor"]
