"""numnet: neural networks from first principles on NumPy."""

from . import embeddings, ensemble, explain, functional, initializers, kernels, trace
from ._loading import load
from ._version import __version__
from .exceptions import DivergenceError, TrainingInterrupted
from .gradcheck import GradientCheck, check_gradients
from .io import Checkpoint, ModelFileError, save
from .layers import (
    Activation,
    Dense,
    Dropout,
    Identity,
    Layer,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    register_layer,
)
from .losses import BinaryCrossEntropy, Loss, MeanSquaredError, PoissonLoss, SoftmaxCrossEntropy
from .network import Sequential
from .optimizers import SGD, Adam, AdamW, Optimizer, clip_grad_norm
from .regularizers import L1, L2, ElasticNet, Regularizer
from .schedules import (
    Constant,
    ExponentialDecay,
    InverseScaling,
    ReduceOnPlateau,
    Schedule,
    StepDecay,
)
from .training import EarlyStopping, History, iter_minibatches, objective, train, train_lbfgs
from .training.state import TrainingState

_ESTIMATORS = ("LinearRegression", "LogisticRegression", "MLPClassifier", "MLPRegressor")
_TABULAR = ("TabularClassifier", "TabularRegressor")  # pandas: on first use
_ONNX = ("save_onnx", "to_onnx")  # numnet.onnx imports scikit-learn and the tables: on first use


def __getattr__(name):
    # The estimators import scikit-learn; load them on first use so that `import numnet` (and
    # `import numnet.layers`) stays light.
    if name in _ESTIMATORS:
        from . import estimators

        return getattr(estimators, name)
    if name in _TABULAR:
        from .tabular import estimators as tabular_estimators

        return getattr(tabular_estimators, name)
    if name in _ONNX:
        from . import onnx

        return getattr(onnx, name)
    raise AttributeError(f"module 'numnet' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_ESTIMATORS, *_TABULAR, *_ONNX])


__all__ = [
    "Activation", "Adam", "AdamW", "BinaryCrossEntropy", "Checkpoint", "Constant", "Dense",
    "DivergenceError",
    "Dropout", "EarlyStopping", "ElasticNet", "ExponentialDecay", "GradientCheck", "History",
    "Identity",
    "InverseScaling", "L1", "L2", "Layer", "LeakyReLU", "LinearRegression", "LogisticRegression",
    "Loss", "MLPClassifier", "MLPRegressor", "MeanSquaredError", "ModelFileError", "Optimizer",
    "PoissonLoss", "ReLU",
    "ReduceOnPlateau", "Regularizer", "SGD", "Schedule", "Sequential", "Sigmoid", "Softmax",
    "SoftmaxCrossEntropy", "StepDecay", "TabularClassifier", "TabularRegressor", "Tanh",
    "TrainingInterrupted", "TrainingState",
    "__version__", "check_gradients", "clip_grad_norm",
    "embeddings", "ensemble",
    "explain", "functional", "initializers", "iter_minibatches", "kernels", "load", "objective",
    "register_layer", "save", "save_onnx",
    "to_onnx", "trace", "train", "train_lbfgs",
]
