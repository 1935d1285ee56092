"""Tables for the command line: reading, preprocessing, the fitted pipeline, its explanations.

=================  ============================================================================
``reading``        CSV, TSV, Parquet and stdin in and out; column names and selections
``columns``        what a column holds: numbers (also as text), dates, categories; the target
``preprocessing``  :class:`TabularPreprocessor`: standardised numbers and dates, one-hot text
``pipeline``       :class:`TabularPipeline`, what ``numnet train`` saves (a model-file kind)
``fitting``        :func:`train_pipeline`: split, preprocessing, estimator, held-out metrics
``spec``           :class:`TrainSpec`: every option of a training run, checked in one place
``runs``           :func:`fit`: a spec's run, in memory or on a Dask cluster
``evaluation``     :func:`evaluate_pipeline` and :func:`prediction_frame`
``estimators``     :class:`TabularClassifier`, :class:`TabularRegressor`: scikit-learn, raw tables
``explain``        :func:`explain_table`: attributions per original column
``plotting``       loss curves, decision regions and attribution charts (matplotlib)
=================  ============================================================================
"""

from .columns import (
    DATE_PARTS,
    MAX_LABEL_CHARS,
    check_plain,
    column_kind,
    convert_numeric_text,
    infer_task,
    numbers_from_text,
    target_values,
)
from .estimators import TabularClassifier, TabularRegressor
from .evaluation import (
    classification_metrics,
    evaluate_pipeline,
    f1_labels,
    prediction_frame,
    regression_metrics,
)
from .explain import explain_table, permutation_table
from .fitting import MAX_CLASSES, estimator_class, resolve_task, split_rows, train_pipeline
from .pipeline import TabularPipeline
from .preprocessing import TabularPreprocessor
from .reading import (
    IMPUTE,
    MODELS,
    TASKS,
    DataError,
    check_columns,
    parse_columns,
    read_table,
    select_features,
    table_format,
    write_table,
)
from .runs import fit, max_epochs
from .sources import is_pattern, read_tables, source_files
from .spec import TrainSpec
from .spec_errors import SpecError

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
