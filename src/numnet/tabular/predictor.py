"""A pipeline file read for prediction only: ``numnet predict`` without scikit-learn.

Predicting needs a pipeline's preprocessing and network. The saved estimator around the
network is a scikit-learn estimator, and importing scikit-learn (with SciPy's statistics) takes
about half a second, more than the rest of ``numnet predict`` on a small table.
:func:`load_for_prediction` reads the file through the same file layer and checks (checksum,
tensors, network, preprocessing, the pipeline's parts fitting together), but rebuilds the
estimator entry as a :class:`Predictor`: the fitted attributes that prediction uses, checked as
:func:`numnet.load` checks them, with ``predict`` and ``predict_proba`` computed as the
estimators compute them (tests/test_startup.py compares the two bit for bit). The training
parameters are decoded but not validated: they take no part in prediction. Any other kind of
file is loaded with every kind registered, as :func:`numnet.load` does.
"""

import warnings

import numpy as np

from ..functional import class_labels, class_probabilities
from ..io._safetensors import is_count
from ..io.codec import TAG, Reader
from ..network import Sequential
from . import pipeline  # noqa: F401  (registers the "pipeline" kind)


def load_for_prediction(path):
    """The object of a model file; a pipeline's estimator as a :class:`Predictor`.

    Raises what :func:`numnet.load` raises (``ModelFileError``, ``OSError``).
    """
    from ..io.models import _name, _read_path

    return _build(*_read_path(path), _name(path))


def loads_for_prediction(data, *, name="<bytes>"):
    """:func:`load_for_prediction` of the bytes of a model file."""
    import io

    from ..io.models import read

    return _build(*read(io.BytesIO(bytes(data)), len(data), name), name)


def _build(metadata, tensors, name):
    from ..io.models import _build

    if metadata["kind"] == "pipeline":
        return _build(metadata, tensors, name, reader_class=_PredictionReader)
    from .. import estimators  # noqa: F401  (registers "estimator")
    from . import estimators as tabular_estimators  # noqa: F401  ("tabular_estimator")

    return _build(metadata, tensors, name)


class _PredictionReader(Reader):
    """A model-file reader that rebuilds estimator entries as predictors."""

    def decode(self, kind, spec):
        if kind != "estimator":
            return super().decode(kind, spec)
        if not isinstance(spec, dict) or spec.get(TAG) != kind:
            self.fail(f"an entry of kind {kind!r} was expected, got {str(spec)[:100]!r}.")
        return read_predictor(self, spec)


def read_predictor(reader, spec):
    """A :class:`Predictor` from an estimator entry (see numnet.estimators._files)."""
    cls_name, params, attributes = reader.estimator_entry(spec, PREDICTORS)
    for value in params.values():
        reader.value(value, hyper=True)  # decoded (its tensors are the file's), not validated
    fitted = {key: reader.value(value) for key, value in attributes.items()}
    return PREDICTORS[cls_name](reader, fitted)


class Predictor:
    """A fitted numnet estimator's prediction, without scikit-learn.

    Its class is named after the estimator it stands for (``MLPClassifier``...), so that the
    file's checks name it as :func:`numnet.load` does.
    """

    predicts_classes = False  # read by the pipeline's task check (scikit-learn's is_classifier)

    def __init__(self, reader, fitted):
        net, n_features = fitted.get("network_"), fitted.get("n_features_in_")
        if not isinstance(net, Sequential) or not is_count(n_features) or n_features != net.n_in:
            reader.fail(f"the estimator's n_features_in_ ({n_features!r:.50}) does not match its "
                        "network; the file was altered.")
        self.network_, self.n_features_in_ = net, n_features
        self.out_activation_ = fitted.get("out_activation_", "identity")
        self._check(reader, fitted)
        X = np.zeros((1, n_features), dtype=net.dtype)
        try:  # one row of zeros: fitted attributes that do not fit together fail here
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.predict(X)
                n_classes = self.predict_proba(X).shape[1] if self.predicts_classes else None
        except Exception as error:  # any failure means the state is inconsistent
            reader.fail(f"the fitted {type(self).__name__} cannot predict "
                        f"({type(error).__name__}: {error}); the file was altered.")
        if n_classes is not None and n_classes != len(self.classes_):
            reader.fail(f"the fitted {type(self).__name__} has {len(self.classes_)} classes but "
                        f"its network predicts {n_classes}; the file was altered.")

    def _check(self, reader, fitted):
        if self.out_activation_ not in ("identity", "exp"):
            reader.fail(f"out_activation_ of a {type(self).__name__} must be 'identity' or "
                        f"'exp', got {self.out_activation_!r:.50}; the file was altered.")

    def _forward(self, X):
        """Raw network output for X (the estimators' _forward for a dense float array)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[-1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        if not np.all(np.isfinite(X)):
            raise ValueError("Input X contains NaN or infinity.")
        with np.errstate(over="ignore"):
            cast = X.astype(self.network_.dtype, copy=False)
        if cast is not X and not np.all(np.isfinite(cast)):
            raise ValueError(f"Input X contains infinity or a value too large for "
                             f"dtype({cast.dtype.name!r}).")
        raw = self.network_.forward(cast)
        self.network_.clear_cache()  # do not keep the input and activations of a prediction
        return raw

    def predict(self, X):
        """Predicted values: ``exp`` of the output for a Poisson MLP, 1-D for one output."""
        raw = self._forward(X)
        if self.out_activation_ == "exp":
            raw = np.exp(raw)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def __repr__(self):
        return f"{type(self).__name__}(for prediction only)"


class _ClassifierPredictor(Predictor):
    """Labels decoded as the classifiers decode them (numnet.estimators._targets)."""

    predicts_classes = True

    def _check(self, reader, fitted):
        classes = fitted.get("classes_")
        if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
            reader.fail(f"fitted attribute classes_ must be a ndarray of at least 2 labels, got "
                        f"{classes!r:.50}.")
        if self.out_activation_ not in ("logistic", "softmax"):
            reader.fail(f"out_activation_ of a {type(self).__name__} must be 'logistic' or "
                        f"'softmax', got {self.out_activation_!r:.50}; the file was altered.")
        self.classes_ = classes

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        return class_probabilities(self._forward(X), self.out_activation_)

    def predict(self, X):
        """Predicted labels (multilabel: an indicator matrix of ints)."""
        return class_labels(self._forward(X), self.out_activation_, self.classes_)


class LinearRegression(Predictor):
    """numnet.LinearRegression, for prediction only."""


class MLPRegressor(Predictor):
    """numnet.MLPRegressor, for prediction only."""


class LogisticRegression(_ClassifierPredictor):
    """numnet.LogisticRegression, for prediction only."""


class MLPClassifier(_ClassifierPredictor):
    """numnet.MLPClassifier, for prediction only."""


PREDICTORS = {cls.__name__: cls for cls in (LinearRegression, LogisticRegression, MLPClassifier,
                                            MLPRegressor)}
"""The estimator classes a pipeline file may name, as predictors."""
