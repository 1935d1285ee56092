"""Tabular data for the command line: reading files, preprocessing columns, the fitted pipeline.

Rows are numbered from 1 in messages, counting data rows only (row 1 is the line after the
header of a CSV file).
"""

import io
import math
import sys
import warnings
from pathlib import Path

import numpy as np

TASKS = ("auto", "classification", "regression")
MODELS = ("linear", "logistic", "mlp")
IMPUTE = ("mean", "median", "most_frequent")
MAX_CLASSIFICATION_INTEGERS = 20
"""An integer target with at most this many distinct values is a classification target."""

_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
            ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")


class DataError(ValueError):
    """The data or the options do not fit together; the command line exits with code 2."""


# ----------------------------------------------------------------------------------- reading


def table_format(source) -> str:
    """``"csv"``, ``"tsv"`` or ``"parquet"`` from a path's suffix (``"-"`` is CSV on stdin)."""
    if str(source) == "-":
        return "csv"
    suffixes = [s.lower() for s in Path(source).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _FORMATS:
        return _FORMATS[suffixes[-1]]
    raise DataError(
        f"DATA must be a .csv, .tsv or .parquet file (or - for CSV on stdin), got "
        f"{str(source)!r}."
    )


def read_table(source):
    """Read a CSV, TSV or Parquet file (or CSV from stdin for ``"-"``) into a DataFrame.

    The index is reset to 0, 1, ... so that messages can name rows; column names become
    strings. Raises :class:`DataError` for a missing, unreadable, empty or malformed file and
    for duplicate column names.
    """
    import pandas as pd

    fmt = table_format(source)
    name = "<stdin>" if str(source) == "-" else str(source)
    if fmt == "parquet":
        frame = _read_parquet(source, name)
    else:
        if str(source) == "-":
            raw = sys.stdin.buffer.read()
        else:
            raw = _read_bytes(source, name)
        sep = "\t" if fmt == "tsv" else ","
        compression = "infer" if str(source) != "-" else None
        if compression:
            suffix = Path(source).suffix.lower()
            compression = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip",
                           ".zst": "zstd"}.get(suffix)
        try:
            header = pd.read_csv(io.BytesIO(raw), sep=sep, header=None, nrows=1, dtype=str,
                                 compression=compression, keep_default_na=False)
            frame = pd.read_csv(io.BytesIO(raw), sep=sep, compression=compression,
                                low_memory=False)
        except pd.errors.EmptyDataError:
            raise DataError(f"Cannot read {name!r}: the file is empty.") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as error:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(
                error).__name__
            raise DataError(
                f"Cannot read {name!r} as {fmt.upper()}: {detail.rstrip('.')}."
            ) from None
        _check_duplicates([str(c) for c in header.iloc[0]] if len(header) else [], name)
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[0] == 0:
        raise DataError(f"{name!r} has no data rows, only a header.")
    return frame.reset_index(drop=True)


def _read_bytes(path, name):
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise DataError(f"Cannot read {name!r}: no such file.") from None
    except IsADirectoryError:
        raise DataError(f"Cannot read {name!r}: it is a folder, not a file.") from None
    except PermissionError:
        raise DataError(f"Cannot read {name!r}: permission denied.") from None
    except OSError as error:
        raise DataError(f"Cannot read {name!r}: {error.strerror or error}.") from None


def _read_parquet(path, name):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            "Reading Parquet files needs pyarrow: pip install 'numnet[parquet]'."
        ) from None
    raw = _read_bytes(path, name)
    if not raw:
        raise DataError(f"Cannot read {name!r}: the file is empty.")
    try:
        parquet = pq.ParquetFile(io.BytesIO(raw))
        _check_duplicates(parquet.schema_arrow.names, name)
        table = parquet.read()
    except DataError:
        raise
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... for bad files
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(
            error).__name__
        raise DataError(f"Cannot read {name!r} as Parquet: {detail.rstrip('.')}.") from None
    return table.to_pandas()


def _check_duplicates(columns, name):
    seen, repeated = set(), []
    for column in columns:
        if column in seen and column not in repeated:
            repeated.append(column)
        seen.add(column)
    if repeated:
        listed = ", ".join(repr(c) for c in repeated)
        raise DataError(
            f"column names must be unique, got {listed} more than once in {name!r}. Rename the "
            "repeated columns."
        )


def parse_columns(text):
    """Split a comma-separated option value (``"a, b,c"``) into column names."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def check_columns(frame, names, option, source):
    """Raise unless every name is a column of ``frame``; ``option`` names the CLI option."""
    unknown = [name for name in names if name not in frame.columns]
    if unknown:
        listed = ", ".join(repr(c) for c in frame.columns[:20])
        more = ", ..." if len(frame.columns) > 20 else ""
        raise DataError(
            f"{option} must name columns of {source!r}, got unknown {unknown[0]!r}. "
            f"The columns are: {listed}{more}."
        )


def select_features(frame, target, features, source, *, exclude=()):
    """The feature columns: ``features`` if given, else every column but target and exclude."""
    check_columns(frame, [target], "--target", source)
    if features is None:
        features = [c for c in frame.columns if c != target and c not in exclude]
    else:
        check_columns(frame, features, "--features", source)
        if target in features:
            raise DataError(
                f"--features must not include the target column {target!r}."
            )
        clash = [c for c in features if c in exclude]
        if clash:
            raise DataError(
                f"--features must not include the sample-weight column {clash[0]!r}."
            )
        if len(set(features)) != len(features):
            raise DataError("--features must name each column once.")
    if not features:
        raise DataError(
            f"data must have at least one feature column besides the target {target!r}, got "
            f"none in {source!r}."
        )
    return list(features)


def _row(series, position):
    """1-based data-row number of the value at ``position`` in ``series``."""
    return int(series.index[position]) + 1


# ----------------------------------------------------------------------------- preprocessing


def _numeric_values(series, name, *, trained=False):
    """The column as float64, with NaN for missing; raise for non-numeric or infinite values."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        parsed = pd.to_numeric(series, errors="coerce")
        bad = parsed.isna().to_numpy() & series.notna().to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            value = series.iloc[first]
            rule = "numeric (as in training)" if trained else "numeric"
            raise DataError(
                f"column {name!r} must be {rule}, got {value!r} at row {_row(series, first)}. "
                "Fix that value, or leave it empty and use --impute."
            )
        values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])
        raise DataError(
            f"column {name!r} must hold finite numbers, got {values[first]} at row "
            f"{_row(series, first)}."
        )
    return values


def column_kind(series, name):
    """``"numeric"`` or ``"categorical"`` for a feature column; raise for unusable ones.

    Bool and number columns are numeric; strings are categorical, unless at least 90% of the
    values parse as numbers, which means a typo in a numeric column (the error names it).
    """
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if not (pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype)):
        raise DataError(
            f"column {name!r} has dtype {series.dtype}, which numnet cannot use. Convert it to "
            "numbers or strings, or leave it out with --features."
        )
    present = series.dropna()
    if len(present):
        parsed = pd.to_numeric(present.astype(str), errors="coerce")
        share = float(parsed.notna().mean())
        if 0.9 <= share < 1.0:
            _numeric_values(series, name)  # raises, naming the first bad value
    return "categorical"


def _check_missing(series, name, impute):
    missing = series.isna().to_numpy()
    if missing.all():
        raise DataError(
            f"column {name!r} must have at least one value, got only missing values. Leave it "
            "out with --features."
        )
    if missing.any() and impute is None:
        first = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"column {name!r} has {int(missing.sum())} missing value(s), the first at row "
            f"{_row(series, first)}. Fill or drop them, or pass --impute "
            "mean|median|most_frequent."
        )


class TabularPreprocessor:
    """Turn raw table columns into a float matrix: standardise numbers, one-hot encode strings.

    For a numeric column x (missing values first filled with ``fill``)::

        x' = (x - mean) / scale          mean, scale = x.mean(), x.std()  (scale = 1 if std == 0)

    For a string column with training categories c_1 < ... < c_k (sorted)::

        x' = [x == c_1, ..., x == c_k]   k columns of 0.0/1.0; an unseen value gives all zeros

    The same as scikit-learn's ``SimpleImputer`` then ``StandardScaler`` on numeric columns and
    ``OneHotEncoder(handle_unknown="ignore")`` on string columns. Everything fitted is plain
    data (lists of floats and strings), stored in the model file as JSON.

    Parameters
    ----------
    impute : {"mean", "median", "most_frequent"} or None, default=None
        How to fill missing values of numeric columns; string columns always use their most
        frequent category. None means missing values are an error.

    Attributes
    ----------
    columns_ : list of dict
        One entry per input column: ``{"name", "kind", "fill", "mean", "scale"}`` for numeric
        columns, ``{"name", "kind", "fill", "categories"}`` for categorical ones.
    feature_names_out_ : list of str
        Names of the output columns (``"city=Paris"`` for one-hot columns).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "city": ["b", "a", "b"]})
    >>> pre = TabularPreprocessor().fit(frame, ["x", "city"])
    >>> pre.feature_names_out_
    ['x', 'city=a', 'city=b']
    >>> pre.transform(frame).round(3).tolist()
    [[-1.225, 0.0, 1.0], [0.0, 1.0, 0.0], [1.225, 0.0, 1.0]]
    """

    def __init__(self, *, impute=None):
        if impute is not None and impute not in IMPUTE:
            raise DataError(
                f"--impute must be one of {{'mean', 'median', 'most_frequent'}}, got {impute!r}."
            )
        self.impute = impute

    def check(self, frame, columns):
        """Validate the columns on all rows (kinds, missing and infinite values); fit nothing."""
        for name in columns:
            series = frame[name]
            kind = column_kind(series, name)
            _check_missing(series, name, self.impute)
            if kind == "numeric":
                _numeric_values(series, name)

    def fit(self, frame, columns):
        """Learn fill values, means, scales and categories from ``frame[columns]``."""
        self.check(frame, columns)
        self.columns_ = []
        for name in columns:
            series = frame[name]
            if column_kind(series, name) == "numeric":
                values = _numeric_values(series, name)
                fill = self._fill_value(values)
                values = np.where(np.isnan(values), fill, values)
                mean, std = float(values.mean()), float(values.std())
                self.columns_.append({"name": name, "kind": "numeric", "fill": fill,
                                      "mean": mean, "scale": std if std > 0 else 1.0})
            else:
                present = series.dropna().astype(str)
                counts = present.value_counts()
                # ties go to the smallest value, as in scikit-learn's SimpleImputer
                top = counts.max()
                fill = min(str(v) for v in counts.index[counts == top])
                categories = sorted(set(present))
                if len(categories) > 50 and len(categories) > 0.5 * len(present):
                    warnings.warn(
                        f"column {name!r} has {len(categories)} distinct values in "
                        f"{len(present)} rows, so one-hot encoding adds {len(categories)} "
                        "features. If it is an identifier, leave it out with --features.",
                        UserWarning, stacklevel=2,
                    )
                self.columns_.append({"name": name, "kind": "categorical",
                                      "fill": fill, "categories": categories})
        return self

    def _fill_value(self, values):
        present = values[~np.isnan(values)]
        if self.impute == "median":
            return float(np.median(present))
        if self.impute == "most_frequent":
            uniques, counts = np.unique(present, return_counts=True)
            return float(uniques[np.argmax(counts)])  # np.unique sorts: ties -> smallest
        return float(present.mean())

    @property
    def feature_names_out_(self):
        names = []
        for column in self.columns_:
            if column["kind"] == "numeric":
                names.append(column["name"])
            else:
                names.extend(f"{column['name']}={c}" for c in column["categories"])
        return names

    @property
    def feature_names_in_(self):
        return [column["name"] for column in self.columns_]

    def transform(self, frame, *, dtype=np.float64, warn_unknown=True):
        """The float matrix of shape (n_samples, len(feature_names_out_)) for ``frame``."""
        missing = [c["name"] for c in self.columns_ if c["name"] not in frame.columns]
        if missing:
            raise DataError(
                f"data must have the column {missing[0]!r} that the model was trained on, got "
                f"columns {list(frame.columns)[:20]}."
            )
        blocks = []
        for column in self.columns_:
            name, series = column["name"], frame[column["name"]]
            missing_rows = series.isna().to_numpy()
            if missing_rows.any() and self.impute is None:
                first = int(np.flatnonzero(missing_rows)[0])
                raise DataError(
                    f"column {name!r} has {int(missing_rows.sum())} missing value(s), the "
                    f"first at row {_row(series, first)}, but the model was trained without "
                    "--impute. Fill or drop them, or retrain with --impute."
                )
            if column["kind"] == "numeric":
                values = _numeric_values(series, name, trained=True)
                values = np.where(np.isnan(values), column["fill"], values)
                blocks.append(((values - column["mean"]) / column["scale"])[:, None])
            else:
                import pandas as pd

                values = series.astype(object).where(series.notna(), column["fill"]).astype(str)
                codes = pd.Index(column["categories"]).get_indexer(values)  # -1: unseen
                one_hot = np.zeros((len(values), len(column["categories"])))
                known = np.flatnonzero(codes >= 0)
                one_hot[known, codes[known]] = 1.0
                if warn_unknown and len(known) < len(values):
                    unknown = np.flatnonzero(codes < 0)
                    warnings.warn(
                        f"column {name!r} has {len(unknown)} value(s) not seen in training "
                        f"(first {values.iloc[unknown[0]]!r} at row {_row(series, unknown[0])}); "
                        "they are encoded as all zeros.", UserWarning, stacklevel=2,
                    )
                blocks.append(one_hot)
        if not blocks:
            return np.empty((len(frame), 0), dtype=dtype)
        return np.hstack(blocks).astype(dtype, copy=False)

    def get_state(self):
        """Plain-data state for model files."""
        return {"impute": self.impute, "columns": self.columns_}

    @classmethod
    def from_state(cls, state):
        """Rebuild from :meth:`get_state`; raises ValueError for malformed state."""
        if not isinstance(state, dict) or set(state) != {"impute", "columns"}:
            raise ValueError("the preprocessing state must have the fields impute and columns.")
        pre = cls(impute=state["impute"])
        columns = state["columns"]
        if not isinstance(columns, list) or not columns:
            raise ValueError("the preprocessing must list at least one column.")
        for column in columns:
            _check_column_state(column)
        pre.columns_ = columns
        return pre


def _check_column_state(column):
    numeric = {"name": str, "kind": str, "fill": float, "mean": float, "scale": float}
    categorical = {"name": str, "kind": str, "fill": str, "categories": list}
    if not isinstance(column, dict):
        raise ValueError("each preprocessed column must be an object.")
    fields = numeric if column.get("kind") == "numeric" else categorical
    if column.get("kind") not in ("numeric", "categorical") or set(column) != set(fields):
        raise ValueError(f"invalid preprocessed column {column!r:.200}.")
    for key, kind in fields.items():
        value = column[key]
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
                value)
            if key == "scale":
                ok = ok and value > 0
        elif kind is list:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value) and value
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ValueError(f"invalid {key!r} in preprocessed column {column!r:.200}.")


# ------------------------------------------------------------------------------------ target


def infer_task(series):
    """``"classification"`` for string, bool or few-valued integer targets, else regression."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "classification"
    if pd.api.types.is_integer_dtype(series) and series.nunique() <= MAX_CLASSIFICATION_INTEGERS:
        return "classification"
    return "regression"


def target_values(frame, target, task):
    """The target column as labels (classification) or float64 values (regression)."""
    series = frame[target]
    missing = series.isna().to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"target column {target!r} has {int(missing.sum())} missing value(s), the first at "
            f"row {_row(series, first)}. Drop those rows; targets are never imputed."
        )
    if task == "regression":
        import pandas as pd

        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            parsed = pd.to_numeric(series, errors="coerce") if not pd.api.types.is_bool_dtype(
                series) else series.where(False)
            first = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise DataError(
                f"target column {target!r} must be numeric for regression, got "
                f"{series.iloc[first]!r} at row {_row(series, first)}. Use --task "
                "classification to predict categories."
            )
        values = series.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            first = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(
                f"target column {target!r} must hold finite numbers, got {values[first]} at "
                f"row {_row(series, first)}."
            )
        return values
    labels = series.to_numpy()
    if labels.dtype.kind in "OUS":
        labels = np.array([str(v) for v in labels], dtype=object)
    return labels


# ---------------------------------------------------------------------------------- metrics


def classification_metrics(y_true, y_pred, proba, classes):
    """Accuracy, balanced accuracy, F1 (binary: of classes[1]; else macro) and log-loss."""
    from sklearn import metrics

    with warnings.catch_warnings():
        # a small validation split may lack a class; the metrics stay defined
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        binary = len(classes) == 2
        f1 = metrics.f1_score(
            y_true, y_pred, labels=list(classes), average="binary" if binary else "macro",
            pos_label=classes[1] if binary else None, zero_division=0,
        )
        return {
            "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
            "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
            "f1": float(f1),
            "log_loss": float(metrics.log_loss(y_true, proba, labels=list(classes))),
        }


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


# --------------------------------------------------------------------------------- pipeline


def estimator_class(model, task):
    """The numnet estimator class for a ``--model`` and a resolved task."""
    from . import estimators

    if model not in MODELS:
        raise DataError(f"--model must be one of {{'linear', 'logistic', 'mlp'}}, got {model!r}.")
    if model == "linear" and task == "classification":
        raise DataError(
            "--model linear is for regression, but the task is classification. Use --model "
            "logistic or --model mlp."
        )
    if model == "logistic" and task == "regression":
        raise DataError(
            "--model logistic is for classification, but the task is regression. Use --model "
            "linear or --model mlp."
        )
    name = {"linear": "LinearRegression", "logistic": "LogisticRegression"}.get(model)
    if name is None:
        name = "MLPClassifier" if task == "classification" else "MLPRegressor"
    return getattr(estimators, name)


def resolve_task(frame, target, task, model):
    """The task: as given, implied by the model (linear, logistic), or inferred from the target."""
    if task not in TASKS:
        raise DataError(
            f"--task must be one of {{'auto', 'classification', 'regression'}}, got {task!r}."
        )
    if task != "auto":
        return task
    if model == "linear":
        return "regression"
    if model == "logistic":
        return "classification"
    return infer_task(frame[target])


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
    """

    def __init__(self, preprocessor, estimator, *, target, task, dtype="float64", info=None):
        self.preprocessor = preprocessor
        self.estimator = estimator
        self.target = target
        self.task = task
        self.dtype = dtype
        self.info = {} if info is None else info

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
        prediction = self.estimator.predict(self.transform(frame))
        return prediction.reshape(len(frame), -1)[:, 0] if prediction.ndim > 1 else prediction

    def predict_proba(self, frame):
        """Class probabilities of shape (n_samples, n_classes), columns in ``classes_`` order."""
        if self.task != "classification":
            raise DataError("--proba needs a classifier, but this model does regression.")
        return self.estimator.predict_proba(self.transform(frame))

    def get_state(self):
        """Plain-data state for model files (the estimator is saved separately)."""
        return {"preprocessor": self.preprocessor.get_state(), "target": self.target,
                "task": self.task, "dtype": self.dtype, "info": self.info}

    @classmethod
    def from_state(cls, state, estimator):
        """Rebuild from :meth:`get_state` and a loaded estimator; ValueError if malformed."""
        fields = {"preprocessor", "target", "task", "dtype", "info"}
        if not isinstance(state, dict) or set(state) != fields:
            raise ValueError(f"a pipeline state must have the fields {sorted(fields)}.")
        if not isinstance(state["target"], str) or state["task"] not in TASKS[1:]:
            raise ValueError("a pipeline's target must be a string and its task "
                             "'classification' or 'regression'.")
        if state["dtype"] not in ("float32", "float64"):
            raise ValueError("a pipeline's dtype must be 'float32' or 'float64'.")
        _check_info(state["info"])
        return cls(TabularPreprocessor.from_state(state["preprocessor"]), estimator,
                   target=state["target"], task=state["task"], dtype=state["dtype"],
                   info=state["info"])

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


def split_rows(n_rows, fraction, labels, random_state):
    """Indices (train, validation); stratified by ``labels`` when every class can be split."""
    from sklearn.model_selection import train_test_split

    if fraction == 0:
        return np.arange(n_rows), np.arange(0)
    if not 0 < fraction < 1:
        raise DataError(f"--validation-fraction must be a float in [0, 1), got {fraction!r}.")
    n_val = math.ceil(fraction * n_rows)
    if n_val >= n_rows:
        raise DataError(
            f"--validation-fraction {fraction} leaves no rows for training out of {n_rows}. "
            "Use a smaller fraction, or 0 to train on every row."
        )
    stratify = None
    if labels is not None:
        _, counts = np.unique(labels.astype(str), return_counts=True)
        if counts.min() >= 2 and n_val >= len(counts) and n_rows - n_val >= len(counts):
            stratify = labels.astype(str)
    train, val = train_test_split(np.arange(n_rows), test_size=n_val, stratify=stratify,
                                  random_state=random_state)
    return np.sort(train), np.sort(val)


def train_pipeline(frame, *, target, features=None, task="auto", model="mlp", params=None,
                   impute=None, sample_weight=None, validation_fraction=0.2, dtype="float64",
                   random_state=0, callbacks=(), source="data", on_split=None):
    """Fit preprocessing and an estimator on a table; score it on a held-out split.

    The rows are split into training and validation parts (stratified for classification,
    seeded by ``random_state``); preprocessing and estimator see only the training part, and
    the metrics come from the validation part.

    Returns
    -------
    pipeline : TabularPipeline
    report : dict
        ``{"task", "model", "estimator", "n_train", "n_validation", "n_features", "metrics"}``
        (metrics is empty when ``validation_fraction`` is 0).
    """
    import pandas as pd

    if dtype not in ("float32", "float64"):
        raise DataError(f"--dtype must be one of {{'float32', 'float64'}}, got {dtype!r}.")
    exclude = () if sample_weight is None else (sample_weight,)
    columns = select_features(frame, target, features, source, exclude=exclude)
    task = resolve_task(frame, target, task, model)
    cls = estimator_class(model, task)
    y = target_values(frame, target, task)
    if task == "classification" and len(np.unique(y.astype(str))) < 2:
        raise DataError(
            f"target column {target!r} must have at least 2 classes for classification, got "
            f"only {y[0]!r}."
        )
    weights = None
    if sample_weight is not None:
        check_columns(frame, [sample_weight], "--sample-weight", source)
        if not pd.api.types.is_numeric_dtype(frame[sample_weight]) or pd.api.types.is_bool_dtype(
            frame[sample_weight]
        ):
            raise DataError(f"--sample-weight column {sample_weight!r} must be numeric.")
        weights = frame[sample_weight].to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            bad = int(np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))[0])
            raise DataError(
                f"--sample-weight column {sample_weight!r} must hold finite values >= 0, got "
                f"{weights[bad]} at row {bad + 1}."
            )
    preprocessor = TabularPreprocessor(impute=impute)
    preprocessor.check(frame, columns)

    train_rows, val_rows = split_rows(
        len(frame), validation_fraction, y if task == "classification" else None, random_state
    )
    if on_split is not None:
        on_split(len(train_rows), len(val_rows))
    preprocessor.fit(frame.iloc[train_rows], columns)
    X_train = preprocessor.transform(frame.iloc[train_rows], dtype=np.dtype(dtype))
    estimator = cls()
    estimator.set_params(**(params or {}))
    pipeline = TabularPipeline(preprocessor, estimator, target=target, task=task, dtype=dtype)
    tracker = None
    if len(val_rows):
        X_val = pipeline.transform(frame.iloc[val_rows], warn_unknown=False)
        tracker = _HoldoutTracker(estimator, X_val, y[val_rows], task)
    estimator._fit_callbacks = [_Callbacks(tracker, callbacks)]
    try:
        if weights is None:
            estimator.fit(X_train, y[train_rows])
        else:
            estimator.fit(X_train, y[train_rows], sample_weight=weights[train_rows])
    finally:
        del estimator._fit_callbacks

    pipeline.info = {
        "source": source, "model": model, "features": columns,
        "sample_weight": sample_weight, "validation_fraction": validation_fraction,
        "random_state": random_state, "n_train": int(len(train_rows)),
        "n_validation": int(len(val_rows)), "metrics": {},
        "validation_curve": {} if tracker is None else tracker.curve,
    }
    if tracker is not None:
        pipeline.info["metrics"] = _metrics(pipeline, tracker.X, tracker.y)
    report = {"task": task, "model": model, "estimator": cls.__name__,
              "n_train": int(len(train_rows)), "n_validation": int(len(val_rows)),
              "n_features": X_train.shape[1], "metrics": pipeline.info["metrics"]}
    return pipeline, report


class _Callbacks:
    """The estimator's per-epoch callback: track the held-out split, then notify the caller.

    Each caller callback is called as ``callback(epoch, history, holdout)``, where holdout is
    ``{"val_loss": ..., "val_metric": ..., "metric_name": ...}`` for this epoch, or None.
    """

    def __init__(self, tracker, callbacks):
        self.tracker, self.callbacks = tracker, list(callbacks)

    def __call__(self, epoch, history):
        holdout = None if self.tracker is None else self.tracker(epoch, history)
        for callback in self.callbacks:
            callback(epoch, history, holdout)
        return False  # never stops training


class _HoldoutTracker:
    """Loss and metric of the network on the held-out rows after each epoch.

    The loss is in the units the estimators report: the mean log-loss for classifiers and
    half the mean squared error for regressors (scikit-learn's convention)::

        classification   val_loss = -mean(log p[i, y_i]),       val_metric = accuracy
        regression       val_loss = mean((y - y_hat)**2) / 2,   val_metric = R^2
    """

    def __init__(self, estimator, X, y, task):
        self.estimator, self.X, self.y, self.task = estimator, X, y, task
        self.curve = {"val_loss": [], "val_metric": [],
                      "metric_name": "accuracy" if task == "classification" else "r2"}

    def __call__(self, epoch, history):
        from .functional import log_sigmoid, log_softmax

        # The network itself, not est.predict: the estimator sets its public attributes only
        # at the end of fit, but network_ and classes_ exist from the first epoch.
        est = self.estimator
        raw = est.network_.forward(self.X.astype(est.network_.dtype, copy=False))
        raw = raw.astype(np.float64)
        if self.task == "classification":
            index = np.searchsorted(est.classes_, self.y)
            rows = np.arange(len(self.y))
            if raw.shape[1] == 1:  # binary: p(class 1) = sigmoid(z)
                z = raw[:, 0]
                log_p = np.where(index == 1, log_sigmoid(z), log_sigmoid(-z))
                predicted = (z > 0).astype(int)
            else:
                log_p = log_softmax(raw, axis=1)[rows, index]
                predicted = raw.argmax(axis=1)
            loss = float(-np.mean(log_p))
            metric = float(np.mean(predicted == index))
        else:
            residual = float(np.mean((self.y - raw[:, 0]) ** 2))
            loss = residual / 2
            total = float(np.var(self.y))
            metric = 1 - residual / total if total > 0 else 0.0
        self.curve["val_loss"].append(loss)
        self.curve["val_metric"].append(metric)
        return {"val_loss": loss, "val_metric": metric, "metric_name": self.curve["metric_name"]}


def _metrics(pipeline, X, y):
    est = pipeline.estimator
    if pipeline.task == "classification":
        return classification_metrics(y, est.predict(X), est.predict_proba(X), est.classes_)
    return regression_metrics(y, est.predict(X))


def evaluate_pipeline(pipeline, frame, source="data"):
    """Metrics of a pipeline on a labelled table, plus the confusion matrix for classifiers.

    Returns
    -------
    dict
        ``{"task", "n_samples", "metrics"}`` and, for classifiers, ``"labels"`` and
        ``"confusion_matrix"`` (rows: true labels, columns: predicted, in ``labels`` order).
    """
    from sklearn.metrics import confusion_matrix

    check_columns(frame, [pipeline.target], "--target", source)
    y = target_values(frame, pipeline.target, pipeline.task)
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
                f"target column {pipeline.target!r} has labels the model never saw, first "
                f"{_plain(y[first])!r} at row {first + 1}. The model knows: {listed}."
            )
        # labels read back from a file may differ in type (int vs str); compare as the model's
        lookup = {str(c): c for c in classes}
        y = np.array([lookup[str(v)] for v in y], dtype=classes.dtype)
        predicted = pipeline.estimator.predict(X)
        result["metrics"] = classification_metrics(
            y, predicted, pipeline.estimator.predict_proba(X), classes
        )
        result["labels"] = [_plain(c) for c in classes]
        result["confusion_matrix"] = confusion_matrix(y, predicted, labels=classes).tolist()
    else:
        result["metrics"] = regression_metrics(y, pipeline.estimator.predict(X))
    return result


def _plain(value):
    """A numpy scalar as the matching Python value (for JSON and messages)."""
    return value.item() if isinstance(value, np.generic) else value


def prediction_frame(pipeline, frame, *, proba=False, keep=(), source="data"):
    """A DataFrame of the kept columns, then ``prediction`` (and ``proba_<label>`` columns)."""
    import pandas as pd

    check_columns(frame, list(keep), "--keep", source)
    if proba and pipeline.task != "classification":
        raise DataError("--proba needs a classifier, but this model does regression.")
    out = pd.DataFrame({name: frame[name].to_numpy() for name in keep})
    X = pipeline.transform(frame)
    prediction = pipeline.estimator.predict(X)
    out["prediction"] = prediction.reshape(len(frame), -1)[:, 0] if prediction.ndim > 1 \
        else prediction
    if proba:
        probabilities = pipeline.estimator.predict_proba(X)
        for index, label in enumerate(pipeline.classes_):
            out[f"proba_{_plain(label)}"] = probabilities[:, index]
    return out


def write_table(frame, destination):
    """Write ``frame`` as CSV, TSV or Parquet (by suffix), atomically."""
    from .io import atomic_write

    fmt = table_format(destination)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise DataError(
                "Writing Parquet files needs pyarrow: pip install 'numnet[parquet]'."
            ) from None
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    else:
        data = frame.to_csv(index=False, sep="\t" if fmt == "tsv" else ",").encode()
    atomic_write(destination, data)
