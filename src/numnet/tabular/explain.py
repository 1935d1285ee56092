"""Explanations of a model trained by ``numnet train``: attributions per original column.

A :class:`numnet.tabular.TabularPipeline` standardises numeric columns, expands dates into
four features and one-hot encodes text columns before its estimator sees them. The methods of
:mod:`numnet.explain` run on that encoded input; this module maps the result back to the table:

- additive methods (integrated gradients, gradient x input, expected gradients) are summed over
  each column's encoded features, so a categorical column gets one attribution, and the
  completeness ``delta`` is unchanged (the sum over all features is the same); a
  missing-value indicator (``impute="indicator"``: ``x.missing``, ``city=(missing)``) is part
  of its column's block, so it adds to its column's attribution;
- an attribution does not depend on the units of a feature (``(x - x') * dF/dx`` is the same
  for ``x`` and for ``(x - mean) / scale``), so standardised and raw columns get the same one.
  A column under robust scaling is attributed through its smoothly clipped feature
  ``x' = z / sqrt(1 + (z / 3)**2)``: the straight path of integrated gradients runs in that
  encoded space, as the model sees it;
- gradients (saliency, SmoothGrad) are per encoded feature, numeric ones in raw units
  (``dF/dx = dF/dz / scale``, and for a smoothly clipped one
  ``dF/dx = dF/dx' * (1 + (z / 3)**2) ** -1.5 / scale``, the chain rule at the row's value),
  since a gradient cannot be summed over one-hot features; a one-hot feature and a missing
  indicator are 0/1 values, reported per unit of that value (as if its scale were 1);
- for a regression target standardised by ``numnet train``, outputs and attributions are in
  the target's own units (multiplied by its scale).

The default baseline is the average encoded row of ``background`` (the table explained,
unless another is given): the mean of each numeric and date feature, and for a text column the
share of each category (for an indicator: the share of missing values). Integrated gradients
then explain how a row's output differs from that of an average row. ("No category", the
all-zero encoding of a text column, is a value the model never saw in training; against it an
irrelevant text column can get a large attribution.)
"""

import numpy as np

from .. import explain
from .columns import check_target_present
from .reading import DataError

METHODS = {
    "integrated-gradients": explain.integrated_gradients,
    "gradient-x-input": explain.gradient_x_input,
    "expected-gradients": explain.expected_gradients,
    "saliency": explain.saliency,
    "smoothgrad": explain.smoothgrad,
}
ADDITIVE = ("integrated-gradients", "gradient-x-input", "expected-gradients")


def explain_table(pipeline, frame, *, method="integrated-gradients", target=None,
                  output="logit", baseline=None, background=None, random_state=None,
                  **options):
    """Attribute ``pipeline``'s prediction for each row of ``frame`` to its columns.

    Parameters
    ----------
    pipeline : TabularPipeline
        A model written by ``numnet train`` (``numnet.load``).
    frame : pandas.DataFrame
        Raw rows with the model's feature columns.
    method : {"integrated-gradients", "gradient-x-input", "expected-gradients", "saliency", \
"smoothgrad"}, default="integrated-gradients"
    target : class label, default=None
        The class to explain; a label written as text (``"4"``) also matches the class 4.
        None: the predicted class of each row. A regression model has one output: it takes
        no target.
    output : {"logit", "probability"}, default="logit"
    baseline : pandas.DataFrame of one row or len(frame) rows, default=None
        Raw rows to measure against (integrated gradients); None: the average encoded row of
        ``background`` (see above).
    background : pandas.DataFrame, default=None
        Raw rows: their average is the default baseline, and expected gradients draw their
        baselines from them. None: ``frame``.
    random_state : int or numpy Generator, default=None
        For expected gradients and SmoothGrad.
    **options
        Passed to the method (``n_steps``, ``n_samples``, ``internal_batch_size``, ...).

    Returns
    -------
    numnet.explain.Attributions
        ``feature_names`` are the columns (additive methods) or the encoded features.
    """
    if method not in METHODS:
        raise DataError(f"--method must be one of {sorted([*METHODS, 'permutation'])}, got "
                        f"{method!r}.")
    X = pipeline.transform(frame)
    estimator = pipeline.estimator
    if target is not None:
        if pipeline.task == "regression":
            raise DataError(f"--target must be left out for a regression model (it has one "
                            f"output to explain), got {str(target)!r}. --target names the class "
                            "to explain in a classifier.")
        target = _class_label(pipeline, target)
    kwargs = dict(options, target=target, output=output)
    if method in ("expected-gradients", "smoothgrad"):
        kwargs["random_state"] = random_state
    rows = X if background is None else pipeline.transform(background, warn_unknown=False)
    if method == "expected-gradients":
        result = explain.expected_gradients(estimator, X, rows, **kwargs)
    elif method == "integrated-gradients":
        kwargs["baseline"] = (rows.mean(axis=0) if baseline is None
                              else _baseline_rows(pipeline, baseline, len(frame)))
        result = explain.integrated_gradients(estimator, X, **kwargs)
    else:
        result = METHODS[method](estimator, X, **kwargs)
    names = pipeline.preprocessor.feature_names_out_
    if method in ADDITIVE:
        groups = pipeline.preprocessor.feature_groups_
        result.values = np.stack([result.values[:, start:stop].sum(axis=1)
                                  for _, start, stop in groups], axis=1)
        names = [name for name, _, _ in groups]
    else:
        result.values = result.values * _raw_unit_factors(pipeline.preprocessor, X)
    result.feature_names = names
    if pipeline.target_scaler is not None:
        _to_target_units(result, pipeline.target_scaler)
    return result


def permutation_table(pipeline, frame, *, n_repeats=5, random_state=None):
    """Global importance of each column: the drop in accuracy or R² when it is shuffled.

    scikit-learn's ``permutation_importance`` on the raw columns (each column is shuffled
    as a whole, so a categorical column counts once), scored as ``numnet evaluate`` scores.

    Returns
    -------
    sklearn.utils.Bunch
        ``importances_mean``, ``importances_std``, ``importances`` and ``feature_names``.
    """
    columns = list(pipeline.features)
    y = frame[pipeline.target] if pipeline.target in frame.columns else None
    if y is None:
        raise DataError(f"--method permutation needs the target column {pipeline.target!r} in "
                        "the data, to score the shuffled predictions.")
    check_target_present(y, pipeline.target, "Drop those rows from the data: {method} "
                         "permutation scores the predictions against the target.")

    def score(_, X, y_true):
        table = X.copy()
        table[pipeline.target] = y_true.to_numpy()
        return pipeline.score(table)

    # FrozenEstimator: scikit-learn's wrapper for an already fitted model (it asks for 'fit').
    from sklearn.frozen import FrozenEstimator

    result = explain.permutation_importance(FrozenEstimator(pipeline), frame[columns], y,
                                            scoring=score, n_repeats=n_repeats,
                                            random_state=random_state)
    result.feature_names = columns
    return result


def _class_label(pipeline, target):
    """The class of ``pipeline`` that ``target`` names, matching text to numeric labels."""
    classes = list(pipeline.classes_)
    if target in classes:
        return target
    by_text = {str(label): label for label in classes}
    if str(target) in by_text:
        return by_text[str(target)]
    raise DataError(f"--target must be one of the classes {[str(c) for c in classes]}, got "
                    f"{str(target)!r}.")


def _baseline_rows(pipeline, baseline, n_rows):
    rows = pipeline.transform(baseline)
    if rows.shape[0] not in (1, n_rows):
        raise DataError(f"the baseline must have 1 or {n_rows} rows, got {rows.shape[0]}.")
    return rows[0] if rows.shape[0] == 1 else rows


def _raw_unit_factors(preprocessor, X):
    """``d(encoded feature) / d(raw value)`` per row of ``X`` and encoded feature.

    ``1 / scale`` for a standardised number or date part; for a smoothly clipped number
    ``x' = z / sqrt(1 + (z / a)**2)`` also ``dx'/dz = (1 + (z / a)**2) ** -1.5``, which is
    ``(1 - (x' / a)**2) ** 1.5`` in terms of the encoded value; 1 for a one-hot feature and a
    missing-value indicator (0/1 values with no raw unit).
    """
    factors = np.ones(X.shape)
    for column, (_, start, _) in zip(preprocessor.columns_, preprocessor.feature_groups_,
                                     strict=True):
        if column["kind"] == "numeric":
            factor = 1.0 / column["scale"]
            if "clip" in column:
                ratio = np.asarray(X[:, start], dtype=np.float64) / column["clip"]
                factor = factor * np.maximum(1.0 - ratio * ratio, 0.0) ** 1.5
            factors[:, start] = factor
        elif column["kind"] == "date":
            factors[:, start:start + len(column["scale"])] = 1.0 / np.asarray(column["scale"])
    return factors


def _to_target_units(result, scaler):
    mean, scale = scaler["mean"], scaler["scale"]
    result.values = result.values * scale
    result.output = mean + scale * result.output
    if result.baseline_output is not None:
        result.baseline_output = mean + scale * result.baseline_output
    if result.delta is not None:
        result.delta = result.delta * scale
