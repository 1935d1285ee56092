"""The pipeline ``numnet train`` saves: preprocessing plus an estimator, predicting from tables.

It is a kind of the model file: registered with :mod:`numnet.io` here, so that the file layer
never imports this layer.
"""

import math

import numpy as np

from ..io.codec import KINDS, TAG, register_kind
from .evaluation import evaluate_pipeline
from .preprocessing import TabularPreprocessor
from .reading import TASKS, DataError
from .spec import TrainSpec


class TabularPipeline:
    """A fitted preprocessor and estimator that predict from raw tables (what ``train`` saves).

    Parameters
    ----------
    preprocessor : TabularPreprocessor
    estimator : numnet estimator, fitted on ``preprocessor.transform(frame)``
    target : str
        Name of the target column.
    task : {"classification", "regression"}
    dtype : {"float32", "float64"}, default="float64"
        Floating-point type of the features fed to the estimator.
    info : dict, default=None
        Plain data about training (settings, row counts, validation metrics).
    target_scaler : dict, default=None
        ``{"mean": m, "scale": s}``: the estimator was fitted on ``(y - m) / s`` (a regression
        target standardised by ``numnet train``), and predictions are mapped back with
        ``y = m + s * prediction``.
    """

    def __init__(self, preprocessor, estimator, *, target, task, dtype="float64", info=None,
                 target_scaler=None):
        self.preprocessor = preprocessor
        self.estimator = estimator
        self.target = target
        self.task = task
        self.dtype = dtype
        self.info = {} if info is None else info
        self.target_scaler = target_scaler

    @property
    def classes_(self):
        """Class labels (classification only)."""
        return self.estimator.classes_

    @property
    def features(self):
        """Names of the input columns."""
        return self.preprocessor.feature_names_in_

    def transform(self, frame, **kwargs):
        """The estimator's input for ``frame``."""
        return self.preprocessor.transform(frame, dtype=np.dtype(self.dtype), **kwargs)

    def predict(self, frame):
        """Predicted labels or values, one per row of ``frame``."""
        return self._predict_features(self.transform(frame))

    def _predict_features(self, X):
        prediction = self.estimator.predict(X)
        if prediction.ndim > 1:
            prediction = prediction.reshape(len(X), -1)[:, 0]
        if self.target_scaler is not None:
            prediction = self.target_scaler["mean"] + self.target_scaler["scale"] * prediction
        return prediction

    def score(self, frame):
        """Accuracy (classification) or R² (regression) on a labelled table.

        The same figures as ``numnet evaluate`` and :func:`evaluate_pipeline` report.
        """
        if self.target not in frame.columns:
            raise DataError(f"frame must hold the target column {self.target!r} to score, got "
                            f"columns {list(frame.columns)[:20]}.")
        metrics = evaluate_pipeline(self, frame)["metrics"]
        return metrics["accuracy" if self.task == "classification" else "r2"]

    def predict_proba(self, frame):
        """Class probabilities of shape (n_samples, n_classes), columns in ``classes_`` order."""
        if self.task != "classification":
            raise DataError("--proba needs a classifier, but this model does regression.")
        return self.estimator.predict_proba(self.transform(frame))

    def get_state(self):
        """Plain-data state for model files (the estimator is saved separately)."""
        state = {"preprocessor": self.preprocessor.get_state(), "target": self.target,
                 "task": self.task, "dtype": self.dtype, "info": self.info}
        if self.target_scaler is not None:  # optional: files without it load as before
            state["target_scaler"] = dict(self.target_scaler)
        return state

    @classmethod
    def from_state(cls, state, estimator):
        """Rebuild from :meth:`get_state` and a loaded estimator; ValueError if malformed."""
        fields = {"preprocessor", "target", "task", "dtype", "info"}
        if not isinstance(state, dict) or set(state) - {"target_scaler"} != fields:
            raise ValueError(f"a pipeline state must have the fields {sorted(fields)}.")
        scaler = state.get("target_scaler")
        if scaler is not None and not (
                isinstance(scaler, dict) and set(scaler) == {"mean", "scale"}
                and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                        and math.isfinite(v) for v in scaler.values())
                and scaler["scale"] > 0 and state["task"] == "regression"):
            raise ValueError("a pipeline's target_scaler must be {'mean': m, 'scale': s} with "
                             "finite numbers, s > 0, for a regression.")
        if not isinstance(state["target"], str) or state["task"] not in TASKS[1:]:
            raise ValueError("a pipeline's target must be a string and its task "
                             "'classification' or 'regression'.")
        if state["dtype"] not in ("float32", "float64"):
            raise ValueError("a pipeline's dtype must be 'float32' or 'float64'.")
        _check_info(state["info"])
        return cls(TabularPreprocessor.from_state(state["preprocessor"]), estimator,
                   target=state["target"], task=state["task"], dtype=state["dtype"],
                   info=state["info"], target_scaler=scaler)

    def __repr__(self):
        return (f"TabularPipeline(target={self.target!r}, task={self.task!r}, "
                f"features={len(self.features)}, estimator={type(self.estimator).__name__})")


def _check_info(info):
    """The parts of a pipeline's info that are read back (metrics, curves) must be numbers."""
    def numbers(values):
        return isinstance(values, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)

    if not isinstance(info, dict):
        raise ValueError("a pipeline's info must be an object.")
    metrics = info.get("metrics", {})
    if not isinstance(metrics, dict) or not numbers(list(metrics.values())):
        raise ValueError("a pipeline's metrics must map names to numbers.")
    curve = info.get("validation_curve", {})
    if not isinstance(curve, dict) or (curve and not (
            set(curve) == {"val_loss", "val_metric", "metric_name"}
            and numbers(curve["val_loss"]) and numbers(curve["val_metric"])
            and isinstance(curve["metric_name"], str))):
        raise ValueError("a pipeline's validation curve must hold lists of numbers.")
    if "spec" in info:  # the run that trained it (files from before have none)
        try:
            TrainSpec.from_dict(info["spec"])
        except ValueError as error:
            raise ValueError(f"a pipeline's training specification is not valid: {error}") \
                from None



# ------------------------------------------------------------------------------ model files


def write_pipeline(writer, pipe, prefix):
    """A pipeline entry: its plain-data state and its estimator's entry."""
    return {TAG: "pipeline", "state": pipe.get_state(),
            "estimator": KINDS["estimator"].write(writer, pipe.estimator, "estimator/")}


def read_pipeline(reader, spec):
    """Rebuild a pipeline entry and check that its parts fit together."""
    state, est_spec = reader.fields(spec, ["state", "estimator"], "a pipeline entry")
    if not isinstance(est_spec, dict) or est_spec.get(TAG) != "estimator":
        reader.fail("a pipeline must hold an estimator.")
    estimator = reader.decode("estimator", est_spec)
    if isinstance(state, dict) and _is_task(state.get("task")):
        # before from_state, whose checks (a target scaler only for a regression) assume the
        # task is right: an edited task must be named as what is wrong
        _check_task(reader, state["task"], estimator)
    pipe = TabularPipeline.from_state(state, estimator)
    _check_pipeline(reader, pipe)
    return pipe


def _is_task(value):
    return isinstance(value, str) and value in TASKS[1:]


def _check_task(reader, task, estimator):
    """The task must fit the estimator: a classifier for classification, else a regressor."""
    classifier = getattr(estimator, "predicts_classes", None)  # a predictor (predictor.py)
    if classifier is None:
        from sklearn.base import is_classifier

        classifier = is_classifier(estimator)
    kind = "classifier" if classifier else "regressor"
    if (task == "classification") != (kind == "classifier"):
        reader.fail(f"the pipeline's task is {task!r}, but its estimator "
                    f"{type(estimator).__name__} is a {kind}; the file was altered.")


def _check_pipeline(reader, pipe):
    """The parts of a pipeline must fit together: its columns, features, task and estimator."""
    columns = pipe.preprocessor.columns_
    names = [column["name"] for column in columns]
    repeated = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if repeated is not None:
        reader.fail(f"the preprocessing lists the column {repeated!r} twice; the file was "
                    "altered.")
    if pipe.target in names:
        reader.fail(f"the target column {pipe.target!r} is also an input column of the "
                    "preprocessing; the file was altered.")
    impute = pipe.preprocessor.impute
    for column in columns:
        categories = column.get("categories") or []
        if len(set(categories)) != len(categories):
            reader.fail(f"the column {column['name']!r} lists a category twice; the file was "
                        "altered.")
        if column.get("indicator") and impute != "indicator":
            # the indicator's meaning comes with imputation by indicator (missing text is then
            # a category of its own, not the fill): one without the other is no model numnet
            # trains, and ONNX export and transform would disagree on it
            reader.fail(f"the column {column['name']!r} has a missing-value indicator, but the "
                        f"preprocessing imputes {impute!r}; the file was altered.")
    estimator = pipe.estimator
    n_features = len(pipe.preprocessor.feature_names_out_)
    expected = getattr(estimator, "n_features_in_", None)
    if n_features != expected:
        reader.fail(f"the preprocessing makes {n_features} features from "
                    f"{len(names)} columns, but the {type(estimator).__name__} expects "
                    f"{expected!r:.50}; the file was altered.")
    _check_task(reader, pipe.task, estimator)


register_kind("pipeline", TabularPipeline, write_pipeline, read_pipeline)

