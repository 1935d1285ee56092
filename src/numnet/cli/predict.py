"""``numnet predict`` and ``numnet evaluate``: a model on a new table."""

import json
import sys

import typer

from .common import (
    _DROP_MISSING,
    _ENCODING,
    _JSON,
    _KEEP,
    _QUIET,
    _SEP,
    TABLES_HELP,
    UserError,
    _check_output,
    _drop_missing_target,
    _echo_metrics,
    _escaped,
    _load_pipeline,
    _silence_warnings,
)
from .report import confusion_lines


def predict(
    model: str = typer.Argument(..., help="Model file written by 'numnet train'.",
                                show_default=False, metavar="MODEL"),
    data: str = typer.Argument(..., help=TABLES_HELP, show_default=False, metavar="DATA"),
    output: str = typer.Option(None, "--output", "-o", help="File to write, by suffix: CSV "
                               "(.csv, .txt), TSV (.tsv, .tab) or Parquet (.parquet, .pq) "
                               "[default: CSV to stdout].",
                               show_default=False),
    proba: bool = typer.Option(False, "--proba", help="Add a proba_<label> column per class."),
    keep: list[str] = _KEEP,
    sep: str = _SEP,
    encoding: str = _ENCODING,
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Predict a label or value for each row of a table.

    The output has the --keep columns, then 'prediction' (and, with --proba, one
    'proba_<label>' column per class), one row per input row, in order. With --json and no
    --output, the rows are printed as a JSON list of objects instead of CSV; with --output,
    --json prints {"output": ..., "rows": ...}.

    Example:

        numnet predict houses.numnet new.csv --keep id -o predictions.csv
    """
    _silence_warnings(quiet)
    from ..tabular import (
        is_pattern,
        parse_columns,
        prediction_frame,
        read_table,
        read_tables,
        source_files,
        write_table,
    )

    if output is not None:
        from ..tabular import DataError, table_format
        from ..tabular.reading import TABLE_SUFFIXES

        try:
            table_format(output)
            # written uncompressed: a .gz name would hold plain text
            known = not output.lower().endswith((".gz", ".bz2", ".xz", ".zip", ".zst"))
        except DataError:
            known = False
        if not known:
            raise UserError(f"--output must be a {TABLE_SUFFIXES} file (or leave it out for "
                            f"CSV on stdout), got {output!r}.")
    _check_output(output, inputs=[model, *source_files(data)], example="predictions.csv")
    pipeline = _load_pipeline(model, "predict")
    frame = (read_tables if is_pattern(data) else read_table)(data, sep=sep, encoding=encoding)
    kept = [name for item in keep or [] for name in parse_columns(item)]
    source = "<stdin>" if data == "-" else data
    out = prediction_frame(pipeline, frame, proba=proba, keep=kept, source=source)
    if output is None and as_json:
        rows = out.astype(object).where(out.notna(), None).to_dict(orient="records")
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
    elif output is None:
        sys.stdout.write(out.to_csv(index=False))
    else:
        write_table(out, output)
        if as_json:
            typer.echo(json.dumps({"output": output, "rows": len(out)}))
        elif not quiet:
            typer.echo(f"Wrote {len(out)} predictions to {output}", err=True)


def evaluate(
    model: str = typer.Argument(..., help="Model file written by 'numnet train'.",
                                show_default=False, metavar="MODEL"),
    data: str = typer.Argument(..., help=TABLES_HELP + " Must hold the target column.",
                               show_default=False, metavar="DATA"),
    target: str = typer.Option(None, "--target", "-t", help="Target column [default: the one "
                               "the model was trained on].", show_default=False),
    drop_missing_target: bool = _DROP_MISSING,
    sep: str = _SEP,
    encoding: str = _ENCODING,
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Score a model on a labelled table: metrics, and a confusion matrix for classifiers.

    Classification: accuracy, balanced accuracy, F1 (of the second class for two classes,
    macro-averaged otherwise) and log-loss. Regression: R², RMSE and MAE.

    Example:

        numnet evaluate houses.numnet test.csv --json
    """
    _silence_warnings(quiet)
    from ..tabular import evaluate_pipeline, is_pattern, read_table, read_tables

    pipeline = _load_pipeline(model, "evaluate")
    frame = (read_tables if is_pattern(data) else read_table)(data, sep=sep, encoding=encoding)
    source = "<stdin>" if data == "-" else data
    column = pipeline.target if target is None else target
    if drop_missing_target and column in frame.columns:  # else evaluate_pipeline says so
        frame = _drop_missing_target(frame, column, True, quiet or as_json)
    result = evaluate_pipeline(pipeline, frame, source=source, target=target)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    if quiet:
        return
    typer.echo(f"Evaluated on {result['n_samples']} rows of {source} ({result['task']}):")
    labels = result.get("f1_labels")
    note = None
    if labels is not None and len(labels) < len(result["labels"]):
        note = (f"macro over the {len(labels)} of {len(result['labels'])} classes present: "
                + ", ".join(_escaped(label) for label in labels))
    _echo_metrics(result["metrics"], f1_note=note)
    if "confusion_matrix" in result:
        labels = [_escaped(label) for label in result["labels"]]
        for line in confusion_lines(labels, result["confusion_matrix"]):
            typer.echo(line)


