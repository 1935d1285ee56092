"""The estimators in model files: how a fitted estimator is written and checked when read.

An estimator entry is ``{"__numnet__": "estimator", "class": name, "params": get_params(),
"attributes": the fitted attributes}``. Reading creates the named class (one of numnet's four,
never anything else), sets the parameters through ``set_params`` and the estimator's own
checks, sets the fitted attributes with their guaranteed types, and predicts one row to prove
the parts fit together. Registered with the file layer when ``numnet.estimators`` is imported.
"""

import warnings

import numpy as np

from ..io._safetensors import is_count
from ..io.codec import TAG, register_kind
from ..network import Sequential
from ..training import History
from ._base import _NumnetEstimator
from .linear import LinearRegression, LogisticRegression
from .mlp import MLPClassifier, MLPRegressor

CLASSES = {cls.__name__: cls for cls in (LinearRegression, LogisticRegression, MLPClassifier,
                                         MLPRegressor)}
"""The estimator classes a model file may name."""

# Fitted attributes whose type the estimators guarantee (history_ is None before training).
_ATTRIBUTE_TYPES = {"network_": (Sequential,), "history_": (History, type(None)),
                    "classes_": (np.ndarray,)}


def write_estimator(writer, est, prefix):
    """The description of a fitted (or unfitted) estimator; arrays go to ``writer``."""
    params = est.get_params(deep=False)
    attributes = {
        name: value for name, value in vars(est).items()
        if name.endswith("_") and not name.startswith("_")
    }
    return {
        TAG: "estimator", "class": type(est).__name__,
        "params": {k: writer.value(v, f"{prefix}params.{k}", hyper=True)
                   for k, v in params.items()},
        "attributes": {k: writer.value(v, prefix + k) for k, v in attributes.items()},
    }


def read_estimator(reader, spec):
    """Rebuild an estimator entry, checking every field (see the module docstring)."""
    cls_name, params, attributes = reader.estimator_entry(spec, CLASSES)
    cls = CLASSES[cls_name]
    est = cls()
    est.set_params(**{key: reader.value(value, hyper=True) for key, value in params.items()})
    est._validate_params()  # the estimator's own checks, as fit would run them
    for key, value in attributes.items():
        if hasattr(cls, key):  # a property or method of the class, not a fitted value
            reader.fail(f"{key!r:.100} is not a fitted attribute name of {cls_name}.")
        decoded = reader.value(value)
        expected = _ATTRIBUTE_TYPES.get(key)
        if expected is not None and not isinstance(decoded, expected):
            reader.fail(f"fitted attribute {key} must be a {expected[0].__name__}, got "
                        f"{type(decoded).__name__}.")
        setattr(est, key, decoded)
    _check_predicts(reader, est)
    return est


def _check_predicts(reader, est):
    """Predict one row of zeros: fitted attributes that do not fit together fail here."""
    net, n_features = getattr(est, "network_", None), getattr(est, "n_features_in_", None)
    if net is None:
        return
    if not isinstance(net, Sequential) or not is_count(n_features) or n_features != net.n_in:
        reader.fail(f"the estimator's n_features_in_ ({n_features!r:.50}) does not match its "
                    "network; the file was altered.")
    X = np.zeros((1, n_features), dtype=net.dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.predict(X)
            n_classes = None
            if hasattr(est, "predict_proba") and hasattr(est, "classes_"):
                n_classes = est.predict_proba(X).shape[1]
    except Exception as error:  # any failure means the state is inconsistent
        reader.fail(f"the fitted {type(est).__name__} cannot predict ({type(error).__name__}: "
                    f"{error}); the file was altered.")
    if n_classes is not None and n_classes != len(est.classes_):
        reader.fail(f"the fitted {type(est).__name__} has {len(est.classes_)} classes but its "
                    f"network predicts {n_classes}; the file was altered.")


register_kind("estimator", _NumnetEstimator, write_estimator, read_estimator)
