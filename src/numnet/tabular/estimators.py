"""scikit-learn estimators for raw tables: the model ``numnet train`` trains, from Python.

:class:`TabularClassifier` and :class:`TabularRegressor` take a pandas DataFrame with mixed
column types (numbers, numbers written as text, text, dates, missing values) or a 2-D array,
and fit the preprocessing and the MLP of a preset of ``numnet train``
(:mod:`numnet.tabular.presets`; ``best`` by default), on every row given: the preset's epoch
selection holds out 20% of them internally, then, as ``numnet train`` does, the network is
trained again on every row for the epochs it chose (``pipeline_.info["refit"]``; not when
``time_limit`` stopped the first fit). A regression target is standardised and
predictions are mapped back. The fitted model is a :class:`TabularPipeline` (``pipeline_``),
so ``numnet.save``/``numnet.load``, ONNX export, :func:`explain_table` and tracing work as
for a model written by ``numnet train``. ``TabularClassifier(random_state=0)`` fitted on a
table's rows gives the same weights, bit for bit, as ``numnet train --validation-fraction 0
--seed 0`` on that table.

Estimator entries of model files: ``{"__numnet__": "tabular_estimator", "class": name,
"params": get_params(), "feature_names_in": [...] or None, "pipeline": the pipeline entry or
None}``; no code is ever read from a file.
"""

import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning

from ..io.codec import KINDS, TAG, register_kind
from .fitting import estimator_class, train_pipeline
from .presets import (
    MIN_FREQUENCY,
    PRESETS,
    components,
    fit_to_data,
    preset_params,
    resolve_members,
)
from .reading import IMPUTE
from .runs import TimeLimit
from .spec_checks import MAX_MEMBERS

_SCALINGS = ("robust", "standard")
_OPTIONS = ("hidden_layer_sizes", "max_iter", "learning_rate_init", "batch_size",
            "label_smoothing")


class _Options:
    """The options of a run that :func:`fit_to_data` reads: all rows train, none are given."""

    validation_fraction = 0.0
    early_stopping = None

    def __init__(self, batch_size):
        self.batch_size = batch_size


class _Params(dict):
    """Hyperparameters, also as ``get_params()`` (what :func:`components` reads)."""

    def get_params(self):
        return self


class _TabularEstimator(BaseEstimator):
    """What the classifier and the regressor share; ``_task`` says which one it is."""

    _task = None

    # ------------------------------------------------------------------------ fitting

    def fit(self, X, y, sample_weight=None):
        """Fit the preprocessing and the network on every row of ``X``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Raw columns: numbers, text, dates, missing values (NaN, None). An array's columns
            are named ``x0``, ``x1``, ...
        y : array-like of shape (n_samples,)
            Class labels (classifier) or values (regressor).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        from sklearn.utils.validation import _check_sample_weight, column_or_1d

        self._check_params()
        frame, names = self._frame(X, reset=True)
        y = column_or_1d(np.asarray(y) if not hasattr(y, "to_numpy") else y.to_numpy(),
                         warn=True)
        if y.dtype.kind in "fc":
            from sklearn.utils.validation import assert_all_finite

            assert_all_finite(y, input_name="y")
        if len(y) != len(frame):
            raise ValueError(f"y must have one value per row of X ({len(frame)}), got "
                             f"{len(y)}.")
        if self._task == "classification":
            from sklearn.utils.multiclass import check_classification_targets

            check_classification_targets(y)
            labels = np.unique(np.asarray(y, dtype=str))
            if len(labels) < 2:
                raise ValueError(f"y must have at least 2 classes for classification, got 1 "
                                 f"class ({str(labels[0])!r}).")
        target = _free_name("target", frame.columns)
        columns = list(frame.columns)
        data = frame.assign(**{target: y})
        weight = None
        if sample_weight is not None:
            weight = _free_name("sample_weight", data.columns)
            data[weight] = _check_sample_weight(sample_weight, np.zeros((len(frame), 0)),
                                                dtype=np.float64)
        preset = self.preset
        impute, scaling = self._preprocessing()
        cls = estimator_class("mlp", self._task)
        available = cls().get_params()
        given = {name: getattr(self, name) for name in _OPTIONS
                 if name in available and getattr(self, name, None) is not None}
        if "hidden_layer_sizes" in given:
            given["hidden_layer_sizes"] = tuple(given["hidden_layer_sizes"])
        params = {**preset_params(preset, available, given), **given,
                  "random_state": self.random_state}
        params = fit_to_data(params, _Options(self.batch_size), data[target], self._task)
        limit = None if self.time_limit is None else TimeLimit(
            self.time_limit, lambda name, **details: None)

        def train(params, callbacks, members=1):
            return train_pipeline(
                data, target=target, features=columns, task=self._task, model="mlp",
                params=params, impute=impute, scaling=scaling, sample_weight=weight,
                validation_fraction=0.0, dtype=self.dtype, random_state=self.random_state,
                callbacks=callbacks, source="X", members=members,
                min_frequency=MIN_FREQUENCY[preset])[0]

        with warnings.catch_warnings():
            if params.get("early_stopping") and params.get("n_iter_no_change", 0) >= params.get(
                    "max_iter", math.inf):
                # epoch selection, not early stopping: reaching the last epoch is the plan
                warnings.filterwarnings("ignore", category=ConvergenceWarning)
            pipeline = train(params, [] if limit is None else [limit])
        refit = None
        if (preset in ("best", "fast") and params.get("early_stopping")
                and not getattr(limit, "reached", False)):
            # as numnet train: the epoch count the selection chose, trained on every row
            epochs = int(pipeline.info.get("metrics_epoch") or params["max_iter"])
            members = resolve_members(preset, self.members)
            refit = {"epochs": epochs, "rows": len(frame), "members": members}
            first = pipeline
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # told once, by the first fit
                pipeline = train({**params, "early_stopping": False, "max_iter": epochs,
                                  "n_iter_no_change": epochs}, [], members)
            pipeline.info.update({k: first.info[k] for k in ("validation_curve",
                                                             "metrics_epoch") if k in first.info})
            pipeline.info["refit"] = refit
        mlp = _Params({**pipeline.estimator.get_params(), **params})
        pipeline.info["components"] = components(
            preset, mlp, impute, scaling, refit=refit is not None,
            members=1 if refit is None else refit["members"],
            min_frequency=MIN_FREQUENCY[preset])
        self.pipeline_ = pipeline
        self.n_features_in_ = len(columns)
        if names:
            self.feature_names_in_ = np.array(columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_iter_ = int(getattr(pipeline.estimator, "n_iter_", 0))
        return self

    def _check_params(self):
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {set(PRESETS)}, got {self.preset!r}.")
        if self.impute is not None and self.impute not in (*IMPUTE, "none"):
            raise ValueError(f"impute must be one of {{'indicator', 'mean', 'median', "
                             f"'most_frequent', 'none'}} or None, got {self.impute!r}.")
        if self.scaling is not None and self.scaling not in _SCALINGS:
            raise ValueError(f"scaling must be one of {{'robust', 'standard'}} or None, got "
                             f"{self.scaling!r}.")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be one of {{'float32', 'float64'}}, got "
                             f"{self.dtype!r}.")
        if self.members is not None and not (
                isinstance(self.members, (int, np.integer)) and not isinstance(self.members, bool)
                and 1 <= self.members <= MAX_MEMBERS):
            raise ValueError(f"members must be an integer in [1, {MAX_MEMBERS}] or None, got "
                             f"{self.members!r}.")
        if self.time_limit is not None and not (
                isinstance(self.time_limit, (int, float)) and self.time_limit > 0):
            raise ValueError(f"time_limit must be a number of seconds > 0 or None, got "
                             f"{self.time_limit!r}.")

    def _preprocessing(self):
        """``(impute, scaling)``: as given, else the preset's (``numnet train``'s choice)."""
        if self.impute is not None:
            impute = None if self.impute == "none" else self.impute
        else:
            impute = None if self.preset == "classic" else "indicator"
        scaling = self.scaling
        if scaling is None:
            scaling = "standard" if self.preset == "classic" else "robust"
        return impute, scaling

    # ------------------------------------------------------------------------- inputs

    def _frame(self, X, *, reset):
        """``(frame, named)``: X as a DataFrame with string column names.

        ``named`` is whether X itself named its columns (a DataFrame with string names).
        """
        import pandas as pd
        from sklearn.utils.validation import check_array

        named = isinstance(X, pd.DataFrame) and len(X.columns) > 0 and all(
            isinstance(c, str) for c in X.columns)
        if named:
            frame = X
        else:
            if isinstance(X, pd.DataFrame):
                X = X.to_numpy()
            array = check_array(X, dtype=None, ensure_all_finite="allow-nan",
                                input_name="X")
            frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
            if array.dtype == object:
                frame = frame.infer_objects()
        if frame.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={frame.shape}) while a "
                             "minimum of 1 is required.")
        if frame.shape[1] == 0:
            raise ValueError(f"Found array with 0 feature(s) (shape={frame.shape}) while a "
                             "minimum of 1 is required.")
        if reset:
            return frame, named
        return self._align(frame, named), named

    def _align(self, frame, named):
        """The frame with the fitted column names, warning or refusing as scikit-learn does."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "pipeline_")
        fitted_names = getattr(self, "feature_names_in_", None)
        kind = type(self).__name__
        if named and fitted_names is not None:
            return frame  # by name: the pipeline selects its columns, in any order
        if not named and frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} features, but {kind} is expecting "
                             f"{self.n_features_in_} features as input.")
        if named:
            warnings.warn(f"X has feature names, but {kind} was fitted without feature names",
                          UserWarning, stacklevel=3)
            if frame.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {frame.shape[1]} features, but {kind} is expecting "
                                 f"{self.n_features_in_} features as input.")
            return frame.set_axis(self.pipeline_.features, axis=1)
        if fitted_names is not None:
            warnings.warn(f"X does not have valid feature names, but {kind} was fitted with "
                          "feature names", UserWarning, stacklevel=3)
            return frame.set_axis(list(fitted_names), axis=1)
        return frame

    # --------------------------------------------------------------------- predicting

    def predict(self, X):
        """Predicted labels (classifier) or values (regressor), one per row of ``X``."""
        frame, _ = self._frame(X, reset=False)
        return self.pipeline_.predict(frame)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.sparse = False
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        return tags

    def __repr__(self, N_CHAR_MAX=700):
        return super().__repr__(N_CHAR_MAX)


class TabularClassifier(ClassifierMixin, _TabularEstimator):
    """The classifier ``numnet train`` trains, for raw tables (scikit-learn compatible).

    Parameters
    ----------
    preset : {"best", "fast", "classic"}, default="best"
        The recipe (:mod:`numnet.tabular.presets`): preprocessing, network and training.
    impute : {"indicator", "mean", "median", "most_frequent", "none"}, default=None
        Missing values; None means the preset's (``"indicator"``, or ``"none"`` for
        ``classic``: missing values are refused).
    scaling : {"robust", "standard"}, default=None
        Numeric columns' scaling; None means the preset's.
    hidden_layer_sizes, max_iter, learning_rate_init, batch_size, label_smoothing : default=None
        The MLP's hyperparameters; None means the preset's.
    members : int, default=None
        Networks the refit on every row trains, each from its own seed, and averages as one
        (``--members``); None means the preset's (3 for ``best``, 1 otherwise). Without a
        refit (``time_limit`` reached) the model is the selected network alone.
    time_limit : float, default=None
        Seconds of training; the epoch running when they have passed is the last one (the
        best epoch so far is kept). A time-limited fit is not reproducible bit for bit.
    dtype : {"float32", "float64"}, default="float64"
    random_state : int, default=None
        Seeds the network's weights, its batches and its epoch selection; None draws fresh
        randomness, as scikit-learn's estimators do. ``random_state=0`` is ``--seed 0``.

    Attributes
    ----------
    pipeline_ : TabularPipeline
        The fitted preprocessing and MLPClassifier.
    classes_ : ndarray
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame with string column names.
    n_iter_ : int
        Epochs run.
    """

    _task = "classification"

    def __init__(self, preset="best", *, impute=None, scaling=None, hidden_layer_sizes=None,
                 max_iter=None, learning_rate_init=None, batch_size=None, label_smoothing=None,
                 members=None, time_limit=None, dtype="float64", random_state=None):
        self.preset = preset
        self.impute = impute
        self.scaling = scaling
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.label_smoothing = label_smoothing
        self.members = members
        self.time_limit = time_limit
        self.dtype = dtype
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        super().fit(X, y, sample_weight)
        self.classes_ = self.pipeline_.classes_
        return self

    fit.__doc__ = _TabularEstimator.fit.__doc__

    def predict_proba(self, X):
        """Class probabilities of shape (n_samples, n_classes), columns in ``classes_`` order."""
        frame, _ = self._frame(X, reset=False)
        return self.pipeline_.predict_proba(frame)

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class TabularRegressor(RegressorMixin, _TabularEstimator):
    """The regressor ``numnet train`` trains, for raw tables (scikit-learn compatible).

    The target is standardised with its mean and standard deviation for training, and
    predictions are mapped back to its units. Parameters and attributes as
    :class:`TabularClassifier`'s (without ``label_smoothing`` and ``classes_``).
    """

    _task = "regression"

    def __init__(self, preset="best", *, impute=None, scaling=None, hidden_layer_sizes=None,
                 max_iter=None, learning_rate_init=None, batch_size=None, members=None,
                 time_limit=None, dtype="float64", random_state=None):
        self.preset = preset
        self.impute = impute
        self.scaling = scaling
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.members = members
        self.time_limit = time_limit
        self.dtype = dtype
        self.random_state = random_state


def _free_name(name, taken):
    """``name``, or ``name_1``, ``name_2``... : one that is not among ``taken``."""
    taken = {str(c) for c in taken}
    candidate, i = name, 0
    while candidate in taken:
        i += 1
        candidate = f"{name}_{i}"
    return candidate


# ------------------------------------------------------------------------------ model files

CLASSES = {cls.__name__: cls for cls in (TabularClassifier, TabularRegressor)}


def write_tabular_estimator(writer, est, prefix):
    """The entry of a (fitted or unfitted) tabular estimator: its parameters and pipeline."""
    params = est.get_params(deep=False)
    names = getattr(est, "feature_names_in_", None)
    pipeline = getattr(est, "pipeline_", None)
    return {
        TAG: "tabular_estimator", "class": type(est).__name__,
        "params": {k: writer.value(v, f"{prefix}params.{k}", hyper=True)
                   for k, v in params.items()},
        "feature_names_in": None if names is None else [str(n) for n in names],
        "pipeline": None if pipeline is None else KINDS["pipeline"].write(
            writer, pipeline, prefix + "pipeline/"),
    }


def read_tabular_estimator(reader, spec):
    """Rebuild a tabular estimator entry, checking that its parts fit together."""
    cls_name, params, names, pipe_spec = reader.fields(
        spec, ["class", "params", "feature_names_in", "pipeline"], "a tabular estimator entry")
    if not isinstance(cls_name, str) or cls_name not in CLASSES:
        reader.fail(f"tabular estimator class must be one of {sorted(CLASSES)}, got "
                    f"{cls_name!r:.100}.")
    if not isinstance(params, dict):
        reader.fail("a tabular estimator's params must be a JSON object.")
    cls = CLASSES[cls_name]
    est = cls()
    valid = est.get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        reader.fail(f"{unknown[0]!r:.100} is not a parameter of {cls_name}.")
    est.set_params(**{key: reader.value(value, hyper=True) for key, value in params.items()})
    try:
        est._check_params()
    except ValueError as error:
        reader.fail(f"{error} The file was altered.")
    if pipe_spec is None:
        if names is not None:
            reader.fail("an unfitted tabular estimator has no feature names; the file was "
                        "altered.")
        return est
    if not isinstance(pipe_spec, dict) or pipe_spec.get(TAG) != "pipeline":
        reader.fail("a tabular estimator must hold a pipeline (or null).")
    pipeline = reader.decode("pipeline", pipe_spec)
    if pipeline.task != cls._task:
        reader.fail(f"the {cls_name}'s pipeline does {pipeline.task}; the file was altered.")
    features = list(pipeline.features)
    if names is not None and names != features:
        reader.fail("the tabular estimator's feature names do not match its pipeline's "
                    "columns; the file was altered.")
    est.pipeline_ = pipeline
    est.n_features_in_ = len(features)
    if names is not None:
        est.feature_names_in_ = np.array(names, dtype=object)
    est.n_iter_ = int(getattr(pipeline.estimator, "n_iter_", 0))
    if cls._task == "classification":
        est.classes_ = pipeline.classes_
    return est


register_kind("tabular_estimator", _TabularEstimator, write_tabular_estimator,
              read_tabular_estimator)
