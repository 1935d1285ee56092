"""Scoring a pipeline on a labelled table, and its predictions as a table."""

import warnings

import numpy as np

from .columns import TRAINED_REGRESSION_FIX, convert_numeric_text, target_values
from .preprocessing import missing_columns
from .problems import collect, raise_problems
from .reading import DataError, check_columns

BATCH_ROWS = 4096
"""Rows per forward pass when a table is scored: memory does not grow with the table."""

# ---------------------------------------------------------------------------------- metrics


def f1_labels(y_true, classes):
    """The classes F1 is averaged over: those of ``classes`` present in ``y_true``."""
    present = {str(v) for v in np.asarray(y_true, dtype=object)}
    return [c for c in classes if str(c) in present]


def classification_metrics(y_true, y_pred, proba, classes):
    """Accuracy, balanced accuracy, F1 and log-loss.

    F1 is that of classes[1] for two classes, else the macro average over the classes present
    in ``y_true`` (:func:`f1_labels`): a class absent from the data would count as 0 and drag
    the average down, as ``sklearn.metrics.f1_score(labels=...)`` allows avoiding.
    """
    from sklearn import metrics

    with warnings.catch_warnings():
        # a small validation split may lack a class; the metrics stay defined
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        binary = len(classes) == 2
        labels = list(classes) if binary else f1_labels(y_true, classes)
        f1 = metrics.f1_score(
            y_true, y_pred, labels=labels, average="binary" if binary else "macro",
            pos_label=classes[1] if binary else None, zero_division=0,
        )
        return {
            "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
            "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
            "f1": float(f1),
            "log_loss": float(metrics.log_loss(y_true, proba, labels=list(classes))),
        }


def warn_if_one_class(y_true, y_pred, rows="held-out rows"):
    """Warn when every prediction is the same class although the rows hold several.

    Such a model has learnt nothing beyond one class (its balanced accuracy is 1/n_classes),
    whatever its accuracy says on unbalanced rows: seen at small budgets of private training,
    with too few epochs or a learning rate too small, and on strongly unbalanced classes.
    """
    y_pred = np.asarray(y_pred)
    if len(y_pred) < 2 or len(np.unique(np.asarray(y_true))) < 2:
        return
    first = y_pred[0]
    if not np.all(y_pred == first):
        return
    label = first.item() if hasattr(first, "item") else first
    warnings.warn(
        f"the model predicts {label!r} for all {len(y_pred)} {rows}, which hold "
        f"{len(np.unique(np.asarray(y_true)))} classes: it has collapsed to one class. "
        "Retrain with more --epochs or a higher --learning-rate; under --dp-epsilon, a larger "
        "budget or more rows; for rare classes, weights (--sample-weight).",
        UserWarning, stacklevel=2,
    )


def regression_metrics(y_true, y_pred):
    """R^2, root mean squared error and mean absolute error."""
    from sklearn import metrics

    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_true), -1)[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # R^2 of a single validation row is undefined (nan)
        r2 = metrics.r2_score(y_true, y_pred) if len(y_true) > 1 else float("nan")
    return {
        "r2": float(r2),
        "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, y_pred))),
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
    }



def evaluate_pipeline(pipeline, frame, source="data", *, target=None):
    """Metrics of a pipeline on a labelled table, plus the confusion matrix for classifiers.

    ``target`` is the column holding the true values (default: the one the model was trained
    on). Every column the table lacks is named at once.

    Returns
    -------
    dict
        ``{"task", "n_samples", "metrics"}`` and, for classifiers, ``"labels"``,
        ``"confusion_matrix"`` (rows: true labels, columns: predicted, in ``labels`` order) and
        ``"f1_labels"`` (the classes present in the data, which F1 averages over).
    """
    from sklearn.metrics import confusion_matrix

    named, target = target is not None, pipeline.target if target is None else target
    found = collect(check_columns, frame, [target], "target", source) if named else []
    missing = [name for name in pipeline.features if name not in frame.columns]
    unnamed = not named and target not in frame.columns  # the model's own target
    if missing or unnamed:
        found.append(missing_columns(missing, frame.columns, target=target if unnamed else None))
    raise_problems(found)
    if pipeline.task == "regression":
        frame = convert_numeric_text(frame, [target])
    fix = TRAINED_REGRESSION_FIX + (" Check that {target} names it." if named else "")
    y = target_values(frame, target, pipeline.task, numeric_fix=fix)
    X = pipeline.transform(frame)
    result = {"task": pipeline.task, "n_samples": int(len(frame))}
    if pipeline.task == "classification":
        classes = pipeline.classes_
        known = {str(c) for c in classes}
        unseen = np.array([str(v) not in known for v in y])
        if unseen.any():
            first = int(np.flatnonzero(unseen)[0])
            listed = ", ".join(repr(_plain(c)) for c in classes[:20])
            raise DataError(
                f"target column {target!r} has labels the model never saw, first "
                f"{_plain(y[first])!r} at row {first + 1}. The model knows: {listed}."
            )
        # labels read back from a file may differ in type (int vs str); compare as the model's
        lookup = {str(c): c for c in classes}
        y = np.array([lookup[str(v)] for v in y], dtype=classes.dtype)
        predicted = _in_batches(pipeline.estimator.predict, X)
        warn_if_one_class(y, predicted, rows="rows")
        result["metrics"] = classification_metrics(
            y, predicted, _in_batches(pipeline.estimator.predict_proba, X), classes
        )
        result["labels"] = [_plain(c) for c in classes]
        result["confusion_matrix"] = confusion_matrix(y, predicted, labels=classes).tolist()
        result["f1_labels"] = [_plain(c) for c in (
            classes if len(classes) == 2 else f1_labels(y, classes))]
    else:
        result["metrics"] = regression_metrics(y, _in_batches(pipeline._predict_features, X))
    return result


def _plain(value):
    """A numpy scalar as the matching Python value (for JSON and messages)."""
    return value.item() if isinstance(value, np.generic) else value


def prediction_frame(pipeline, frame, *, proba=False, keep=(), source="data"):
    """A DataFrame of the kept columns, then ``prediction`` (and ``proba_<label>`` columns)."""
    import pandas as pd

    check_columns(frame, list(keep), "keep", source)
    if proba and pipeline.task != "classification":
        raise DataError("--proba needs a classifier, but this model does regression.")
    out = pd.DataFrame({name: frame[name].to_numpy() for name in keep})
    X = pipeline.transform(frame)
    out["prediction"] = pipeline._predict_features(X)
    if proba:
        probabilities = pipeline.estimator.predict_proba(X)
        for index, label in enumerate(pipeline.classes_):
            out[f"proba_{_plain(label)}"] = probabilities[:, index]
    return out


def _in_batches(function, X, size=BATCH_ROWS):
    """``function(X)`` computed on batches of rows and stacked (bounded memory)."""
    if len(X) <= size:
        return function(X)
    parts = [function(X[start:start + size]) for start in range(0, len(X), size)]
    return np.concatenate(parts)


def _metrics(pipeline, X, y):
    est = pipeline.estimator
    if pipeline.task == "classification":
        predicted = _in_batches(est.predict, X)
        warn_if_one_class(y, predicted)
        return classification_metrics(y, predicted, _in_batches(est.predict_proba, X),
                                      est.classes_)
    return regression_metrics(y, _in_batches(pipeline._predict_features, X))
