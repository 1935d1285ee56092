"""The target-specific halves of the estimators: regressors and classifiers.

Regressors keep targets as a float matrix; classifiers encode labels as one sigmoid column
(binary), one-hot rows (multiclass) or an indicator matrix (multilabel), and decode predictions
from ``classes_``, ``out_activation_`` and ``n_outputs_`` only.
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from .._labels import LabelCodec
from ..functional import class_labels, class_probabilities, log_sigmoid, log_softmax
from ..losses import BinaryCrossEntropy, MeanSquaredError, SoftmaxCrossEntropy
from ._base import _NumnetEstimator
from ._dask import blockwise


class _RegressorBase(_NumnetEstimator):
    """Targets as a float matrix (n_samples, n_outputs); predictions 1-D for a 1-D y."""

    def _encode_targets(self, y, dtype, *, first, classes=None):
        if y.ndim == 2 and y.shape[1] == 1 and self._ravel_column_y:
            y = column_or_1d(y, warn=True)
        Y = y.reshape(y.shape[0], -1).astype(dtype, copy=False)
        if first:
            self.n_outputs_ = Y.shape[1]
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y must have {self.n_outputs_} output(s) to continue training, got "
                f"{Y.shape[1]}. Set warm_start=False to fit a new model."
            )
        return Y, None

    def _loss(self, n_outputs):
        return MeanSquaredError()

    @blockwise
    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        raw = self._forward(X)
        return raw[:, 0] if self._predict_1d() else raw

    def _predict_1d(self):
        return self.n_outputs_ == 1


class _ClassifierBase(_NumnetEstimator):
    """Labels -> one-hot, one sigmoid column (binary) or an indicator matrix (multilabel).

    Decoding needs only ``classes_``, ``out_activation_`` and ``n_outputs_``::

        binary      1 output,  p = sigmoid(z),  label = classes_[z > 0]
        multiclass  K outputs, p = softmax(z),  label = classes_[argmax z]
        multilabel  L outputs, p = sigmoid(z),  labels = (z > 0)
    """

    _multilabel = False

    def _check_raw_targets(self, y):
        if y is None:
            return  # scikit-learn's validate_data says that y is required
        dtype = getattr(y, "dtype", None)
        if dtype is None:
            dtype = np.asarray(y).dtype
        if not isinstance(dtype, np.dtype) or dtype.kind != "O":
            return  # numeric NaN: scikit-learn's "Input y contains NaN."
        flat = np.asarray(y, dtype=object).ravel()
        missing = [i for i, v in enumerate(flat) if v is None or (isinstance(v, float) and v != v)]
        if missing:
            raise ValueError(
                f"y of {type(self).__name__} must not contain missing labels (None or NaN), got "
                f"{flat[missing[0]]!r} at index {missing[0]}. Drop those samples; labels are "
                "never imputed."
            )

    def _validate_data_kwargs(self):
        return {"multi_output": self._multilabel}

    def _encode_targets(self, y, dtype, *, first, classes=None):
        cls = type(self).__name__
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind == "multilabel-indicator":
            if first:
                self.classes_ = np.arange(y.shape[1])
                self.n_outputs_, self.out_activation_ = y.shape[1], "logistic"
            elif not (self.out_activation_ == "logistic" and y.shape[1] == self.n_outputs_
                      and self.n_outputs_ > 1):
                raise ValueError(
                    f"y must be a multilabel indicator matrix with {self.n_outputs_} columns "
                    f"to continue training {cls}, got shape {y.shape}."
                )
            return y.astype(dtype), None
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"y of {cls} must be 1-D class labels"
                + (" or a multilabel indicator matrix" if self._multilabel else "")
                + f", got a {kind!r} target."
            )
        labels = np.unique(y)
        if first:
            if classes is not None:
                labels_given = np.unique(np.asarray(classes))
                self._check_labels(labels, labels_given, "classes")
                labels = labels_given
            if len(labels) < 2:
                raise ValueError(
                    f"y of {cls} must contain at least 2 classes, got 1 class: "
                    f"{labels.tolist()[0]!r}."
                )
            self.classes_ = labels
            binary = len(labels) == 2
            self.n_outputs_ = 1 if binary else len(labels)
            self.out_activation_ = "logistic" if binary else "softmax"
        else:
            if self.out_activation_ == "logistic" and self.n_outputs_ > 1:
                raise ValueError(
                    f"y must be a multilabel indicator matrix to continue training {cls}, "
                    "got 1-D labels. Set warm_start=False to fit a new model."
                )
            self._check_labels(labels, self.classes_, "classes_")
        codec = LabelCodec(self.classes_)
        index = codec.index(y)  # every label is among the classes (checked above)
        return codec.targets(index, dtype), index

    def _check_labels(self, labels, known, what):
        unknown = LabelCodec(known).unseen(labels)
        if unknown:
            raise ValueError(
                f"y contains labels {unknown} that are not in {what} "
                f"{np.asarray(known).tolist()}. Pass every label in classes= on the first call "
                "to partial_fit, or set warm_start=False to fit a new model."
            )

    def _loss(self, n_outputs):
        eps = getattr(self, "label_smoothing", 0.0)
        return (SoftmaxCrossEntropy(label_smoothing=eps) if self.out_activation_ == "softmax"
                else BinaryCrossEntropy(label_smoothing=eps))

    def _check_partial_fit_classes(self, classes):
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError(
                    f"classes must be passed on the first call to {type(self).__name__}"
                    ".partial_fit, got None. Pass every label, e.g. classes=np.unique(y_all)."
                )
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes must be {self.classes_.tolist()} (as on the first call to "
                f"partial_fit), got {np.asarray(classes).tolist()}."
            )

    @blockwise
    def decision_function(self, X):
        """Raw scores z (logits): shape (n_samples,) for binary y, else (n_samples, n_outputs)."""
        raw = self._forward(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw

    @blockwise
    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes) (multilabel: (n_samples, n_labels))."""
        return class_probabilities(self._forward(X), self.out_activation_)

    @blockwise
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed from the logits without underflow."""
        raw = self._forward(X)
        if self.out_activation_ == "softmax":
            return log_softmax(raw, axis=1)
        if raw.shape[1] > 1:
            return log_sigmoid(raw)
        return np.hstack([log_sigmoid(-raw), log_sigmoid(raw)])

    @blockwise
    def predict(self, X):
        """Predicted labels (multilabel: an indicator matrix of ints)."""
        return class_labels(self._forward(X), self.out_activation_, self.classes_)
