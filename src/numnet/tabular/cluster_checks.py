"""The checks of ``numnet train`` on a Dask cluster, run on the merged partition summaries.

Each is the in-memory check of the same name (:mod:`numnet.tabular.columns`,
:mod:`numnet.tabular.fitting`, :meth:`TabularPreprocessor.check`) with the same message; the
rows it names are numbered through the partitions (:class:`numnet.tabular.cluster.Merged`).
"""

import warnings

from .columns import MAX_LABEL_CHARS
from .fitting import MAX_CLASSES, task_from_options
from .reading import MAX_CLASSIFICATION_INTEGERS, DataError, SpecError, problem

_REFUSE_TEXT_NUMBERS = ("column {name!r} holds numbers written as text (e.g. {example!r}), which "
                        "the data-parallel path does not convert yet. Write them as plain "
                        "numbers, or train without {scheduler}/{workers}.")


def _refuse_text_numbers(merged, kinds, columns):
    """Refuse text columns of numbers with separators or signs (memory converts them).

    Every such column is named at once.
    """
    found = []
    for name in columns:
        if kinds[name] != "text":
            continue
        part = [s["features"][name] for s in merged.parts if s["features"][name]["n_present"]]
        if not part or any(p["formats"] is None for p in part):
            continue
        union = set().union(*(p["formats"] for p in part))
        if {kind for kind, _ in union} != {"plain"} or {d for _, d in union} - {None}:
            found.append(problem(_REFUSE_TEXT_NUMBERS, name=name, example=part[0]["example"]))
    if found:
        raise SpecError(found)


def _resolve_task(merged, target, dtype, task, model):
    import pandas as pd

    given = task_from_options(task, model)
    if given is not None:
        return given
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "classification"
    if pd.api.types.is_integer_dtype(dtype):
        counts = merged.counts(lambda s: s["target"]["counts"])
        if counts is not None and len(counts) <= MAX_CLASSIFICATION_INTEGERS:
            return "classification"
    return "regression"


def _check_target(merged, target, task):
    unusable = next((s["target"]["unusable"] for s in merged.parts
                     if s["target"]["unusable"]), None)
    if unusable:
        raise SpecError(unusable)
    missing = merged.total(lambda s: s["target"]["missing"])
    if missing:
        row, = merged.first(lambda s: s["target"]["first_missing"])
        raise DataError(
            f"target column {target!r} has {missing} missing value(s), the first at row {row}. "
            "Drop those rows (--drop-missing-target); targets are never imputed."
        )
    if task == "regression":
        bad = merged.first(lambda s: s["target"]["first_text"])
        if bad is not None:
            raise DataError(
                f"target column {target!r} must be numeric for regression, got {bad[1]!r} at "
                f"row {bad[0]}. Use --task classification to predict categories."
            )
        bad = merged.first(lambda s: s["target"]["first_inf"])
        if bad is not None:
            raise DataError(f"target column {target!r} must hold finite numbers, got {bad[1]} "
                            f"at row {bad[0]}.")
        return
    long = merged.first(lambda s: s["target"]["long"])
    if long is not None:
        raise DataError(
            f"target column {target!r} must hold class labels of at most {MAX_LABEL_CHARS} "
            f"characters, got one of {long[1]} characters at row {long[0]}. Check that "
            "--target names the label column."
        )


def _check_classes(merged, target):
    counts = merged.counts(lambda s: s["target"]["counts"])
    if counts is not None and len(counts) < 2:
        raise DataError(
            f"target column {target!r} must have at least 2 classes for classification, got "
            f"only {next(iter(counts))!r}."
        )
    n_rows = merged.n_rows
    if counts is None or len(counts) > MAX_CLASSES or len(counts) > n_rows / 2:
        found = f"more than {MAX_CLASSES}" if counts is None else str(len(counts))
        raise DataError(
            f"target column {target!r} must have at most {MAX_CLASSES} classes, and at most "
            f"half as many as rows, got {found} classes in {n_rows} rows. If the target is "
            "a number, pass --task regression; if it is an identifier, choose another target."
        )
    for label in sorted(counts, key=str):
        if counts[label] == 1:
            warnings.warn(
                f"class {label!r} of target column {target!r} has only 1 row; it is kept for "
                "training, so the validation metrics cannot cover it.", UserWarning, stacklevel=3,
            )


def _check_weights(frame, merged, name):
    import pandas as pd

    dtype = frame[name].dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise SpecError([problem("{sample_weight} column {name!r} must be numeric.",
                                 name=name)])
    bad = merged.first(lambda s: s["weight"])
    if bad is not None:
        raise SpecError([problem("{sample_weight} column {name!r} must hold finite values "
                                 ">= 0, got {value} at row {row}.", name=name, value=bad[1],
                                 row=bad[0])])


def _check_column(merged, name, kind, dtype, impute):
    """:meth:`TabularPreprocessor.check` on the merged summaries of one column."""
    import pandas as pd

    part = [s["features"][name] for s in merged.parts]
    n_present = sum(p.get("n_present", 0) for p in part)
    dates = kind == "date" or (kind == "text" and n_present
                               and sum(p["n_date"] for p in part) == n_present)
    if dates:
        raise DataError(
            f"column {name!r} holds dates, which the data-parallel path (--scheduler, "
            f"--workers) does not preprocess yet. Leave it out with --exclude {name}, or train "
            "without --scheduler/--workers."
        )
    if kind == "text":
        unusable = next((p["unusable"] for p in part if p["unusable"]), None)
        if unusable:
            raise SpecError(unusable)
        if not (pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
                or isinstance(dtype, pd.CategoricalDtype)):
            raise DataError(
                f"column {name!r} has dtype {dtype}, which numnet cannot use. Convert it to "
                "numbers or strings, or leave it out with --features."
            )
        share = sum(p["n_numeric"] for p in part) / n_present if n_present else 0.0
        if 0.9 <= share < 1.0:
            row, value = merged.first(lambda s: s["features"][name]["first_text"])
            raise DataError(
                f"column {name!r} must be numeric, got {value!r} at row {row}. Fix that value, "
                "or leave it empty and use --impute."
            )
    missing = sum(p["missing"] for p in part)
    if missing == merged.n_rows:
        raise DataError(
            f"column {name!r} must have at least one value, got only missing values. Leave it "
            "out with --features."
        )
    if missing and impute is None:
        row, = merged.first(lambda s: s["features"][name]["first_missing"])
        raise DataError(
            f"column {name!r} has {missing} missing value(s), the first at row {row}. Fill or "
            "drop them, or pass --impute mean|median|most_frequent."
        )
    if kind == "numeric":
        bad = merged.first(lambda s: s["features"][name]["first_inf"])
        if bad is not None:
            raise DataError(f"column {name!r} must hold finite numbers, got {bad[1]} at row "
                            f"{bad[0]}.")


def _check_split(merged, target, task, fraction):
    if fraction and merged.n_train == 0:
        raise DataError(
            f"--validation-fraction {fraction} leaves no rows for training out of "
            f"{merged.n_rows}. Use a smaller fraction, or 0 to train on every row."
        )
    if task != "classification":
        return
    counts = merged.counts(lambda s: s["target"]["counts"])
    trained = merged.counts(lambda s: s["target"]["train_counts"]) or {}
    for label in sorted(counts, key=str):
        if not trained.get(label):
            raise DataError(
                f"class {label!r} of target column {target!r} has all its {counts[label]} "
                "row(s) in the held-out split (a hash of each row), so the model could not "
                "learn it. Pass another --seed, a smaller --validation-fraction, or 0."
            )
