"""Tables for the command line: reading, preprocessing, the fitted pipeline, its explanations.

=================  ============================================================================
``reading``        CSV, TSV, Parquet and stdin in and out; column names and selections
``columns``        what a column holds: numbers (also as text), dates, categories; the target
``preprocessing``  :class:`TabularPreprocessor`: standardised numbers and dates, one-hot text
``pipeline``       :class:`TabularPipeline`, what ``numnet train`` saves (a model-file kind)
``predictor``      :func:`load_for_prediction`: a pipeline file read without scikit-learn (predict)
``fitting``        :func:`train_pipeline`: split, preprocessing, estimator, held-out metrics
``spec``           :class:`TrainSpec`: every option of a training run, checked in one place
``runs``           :func:`fit`: a spec's run, in memory or on a Dask cluster
``evaluation``     :func:`evaluate_pipeline` and :func:`prediction_frame`
``estimators``     :class:`TabularClassifier`, :class:`TabularRegressor`: scikit-learn, raw tables
``explain``        :func:`explain_table`: attributions per original column
``plotting``       loss curves, decision regions and attribution charts (matplotlib)
=================  ============================================================================
"""

import importlib

# Each name below is imported from its module on first use (PEP 562), so that a command imports
# only what it uses: `numnet predict` reads a table and a model without the modules that train
# (scikit-learn alone takes about half a second to import).
_MODULES = {
    "columns": ("DATE_PARTS", "MAX_LABEL_CHARS", "check_plain", "column_kind",
                "convert_numeric_text", "infer_task", "numbers_from_text", "target_values"),
    "estimators": ("TabularClassifier", "TabularRegressor"),
    "evaluation": ("classification_metrics", "evaluate_pipeline", "f1_labels", "prediction_frame",
                   "regression_metrics"),
    "explain": ("explain_table", "permutation_table"),
    "fitting": ("MAX_CLASSES", "estimator_class", "resolve_task", "split_rows", "train_pipeline"),
    "pipeline": ("TabularPipeline",),
    "preprocessing": ("TabularPreprocessor",),
    "reading": ("IMPUTE", "MODELS", "TASKS", "DataError", "check_columns", "parse_columns",
                "read_table", "select_features", "table_format", "write_table"),
    "runs": ("fit", "max_epochs"),
    "sources": ("is_pattern", "read_tables", "source_files"),
    "spec": ("TrainSpec",),
    "spec_errors": ("SpecError",),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_WHERE])


__all__ = [
    "DATE_PARTS", "IMPUTE", "MAX_CLASSES", "MAX_LABEL_CHARS", "MODELS", "TASKS", "DataError",
    "SpecError", "TabularClassifier", "TabularPipeline", "TabularPreprocessor", "TabularRegressor",
    "TrainSpec", "check_columns",
    "check_plain", "fit", "max_epochs",
    "classification_metrics", "column_kind", "convert_numeric_text", "estimator_class",
    "evaluate_pipeline", "explain_table", "f1_labels", "infer_task", "numbers_from_text",
    "parse_columns", "permutation_table", "prediction_frame", "read_table", "read_tables",
    "is_pattern", "regression_metrics", "resolve_task", "select_features", "source_files",
    "split_rows", "table_format", "target_values", "train_pipeline", "write_table",
]
