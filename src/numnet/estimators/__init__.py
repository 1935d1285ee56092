"""scikit-learn estimators built on numnet networks: linear models and multi-layer perceptrons."""

from .linear import LinearRegression, LogisticRegression
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["LinearRegression", "LogisticRegression", "MLPClassifier", "MLPRegressor"]
