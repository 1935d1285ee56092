"""``numnet explain``: how much each column moved the model's output."""

import json
import sys
from pathlib import Path

import numpy as np
import typer

from ..explain.methods import MAX_STEPS
from .common import (
    _ENCODING,
    _JSON,
    _QUIET,
    _SEP,
    DATA_HELP,
    UserError,
    _check_choice,
    _check_output,
    _escaped,
    _load_pipeline,
    _silence_warnings,
)

_EXPLAIN_METHODS = {"ig": "integrated-gradients", "saliency": "saliency",
                    "expected": "expected-gradients", "smoothgrad": "smoothgrad",
                    "gradient-x-input": "gradient-x-input", "permutation": "permutation"}
_EXPLAIN_CHUNK = 256  # rows per call: bounds memory and paces the progress bar


def explain(
    model: str = typer.Argument(..., help="Model file written by 'numnet train'.",
                                show_default=False, metavar="MODEL"),
    data: str = typer.Argument(..., help=DATA_HELP, show_default=False, metavar="DATA"),
    method: str = typer.Option("ig", "--method", "-m", help="ig (integrated gradients), "
                               "saliency, expected (expected gradients), smoothgrad, "
                               "gradient-x-input or permutation (global, needs the target).",
                               metavar="METHOD"),
    target: str = typer.Option(None, "--target", "-t", help="Class to explain [default: the "
                               "predicted class of each row].", show_default=False),
    probability: bool = typer.Option(False, "--probability", help="Explain the class "
                                     "probability instead of its logit."),
    rows: str = typer.Option(None, "--rows", help="Explain only these rows, numbered from 1 "
                             "(e.g. 1,5,9); --plot then draws one waterfall per row.",
                             show_default=False),
    steps: int = typer.Option(None, "--steps", help="Integration steps (ig, default 50) or "
                              "samples (expected 200, smoothgrad 50, permutation repeats 5); "
                              f"at most {MAX_STEPS}.", show_default=False),
    seed: int = typer.Option(0, "--seed", help="Seed for expected, smoothgrad, permutation."),
    output: str = typer.Option(None, "--output", "-o", help="CSV of the attributions: one row "
                               "per explained row, one column per feature, then output, "
                               "baseline_output and delta.", show_default=False),
    plot: str = typer.Option(None, "--plot", help="Image (PNG, SVG, PDF): mean |attribution| "
                             "per column, or per-row waterfalls with --rows.", show_default=False),
    sep: str = _SEP,
    encoding: str = _ENCODING,
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Explain predictions: how much each column moved the model's output.

    Integrated gradients (the default) add up per row: the attributions sum to
    F(x) - F(x'), the change from the baseline (the training mean, no category) to the
    row; 'delta' reports how far they are from it. Categorical and date columns get one
    attribution each. See docs/explain.md.

    Example:

        numnet explain penguins.numnet penguins.csv --rows 1,2 -o why.csv --plot why.png
    """
    _silence_warnings(quiet)
    from ..tabular import explain_table, permutation_table, read_table

    _check_choice(method, "--method", sorted(_EXPLAIN_METHODS))
    if steps is not None and not 1 <= steps <= MAX_STEPS:
        raise UserError(f"--steps must be an integer from 1 to {MAX_STEPS}, got {steps!r}. "
                        "Beyond a few hundred the attributions change little: compare the "
                        "results of two --steps to check.")
    if output is not None and Path(output).suffix.lower() != ".csv":
        raise UserError(f"--output must end in .csv, got {output!r}.")
    _check_output(output, inputs=[model, data], example="explanations.csv")
    if plot is not None:
        if Path(plot).suffix.lower() not in (".png", ".svg", ".pdf"):
            raise UserError(f"--plot must end in .png, .svg or .pdf, got {plot!r}.")
        from ..io import check_output

        try:
            check_output(plot, inputs=[model, data, output])
        except ValueError:
            raise UserError(f"--plot must name a file to write, got {plot!r}.") from None
    pipeline = _load_pipeline(model, "explain")
    table = read_table(data, sep=sep, encoding=encoding)
    positions = _explain_rows(rows, len(table))
    frame = table if positions is None else table.iloc[positions]
    kind = _EXPLAIN_METHODS[method]
    if kind == "permutation":
        if rows is not None or plot is not None or target is not None or probability:
            raise UserError("--method permutation ranks the columns over the whole table: it "
                            "takes no --rows, --plot, --target or --probability.")
        result = permutation_table(pipeline, frame, n_repeats=steps or 5, random_state=seed)
        _report_permutation(result, output, quiet, as_json,
                            "accuracy" if pipeline.task == "classification" else "R²")
        return
    if probability and pipeline.task != "classification":
        raise UserError("--probability needs a classifier, but this model does regression.")
    if target is not None and pipeline.task != "classification":
        raise UserError(f"--target must be left out for a regression model (it has one output "
                        f"to explain), got {target!r}. --target names the class to explain in "
                        "a classifier.")
    options = {}
    if steps is not None:
        options["n_steps" if kind == "integrated-gradients" else "n_samples"] = steps
    # The baseline (average row) and expected gradients' draws come from every row of the
    # table, not just one chunk's or the --rows.
    options["background"] = table
    result = _explain_in_chunks(explain_table, pipeline, frame, kind, target,
                                "probability" if probability else "logit", seed, options,
                                enabled=not (quiet or as_json))
    numbers = np.arange(1, len(frame) + 1) if positions is None else np.asarray(positions) + 1
    if output is not None:
        from ..tabular import write_table

        write_table(_attribution_frame(result, numbers), output)
    if plot is not None:
        from ..tabular.plotting import plot_attributions

        plot_attributions(result, plot, rows=None if positions is None else dict(
            zip(range(len(numbers)), numbers.tolist(), strict=True)))
    explained = _explained(pipeline, result, target, probability)
    _report_attributions(result, numbers, output, plot, quiet, as_json, explained,
                         steps or _DEFAULT_STEPS.get(kind))


_DEFAULT_STEPS = {"integrated-gradients": 50, "expected-gradients": 200}
GAP = 0.01
"""A completeness gap above this share of the largest |F(x) - F(x')| is called large."""


def _explained(pipeline, result, target, probability):
    """What the attributions explain: ``(text, fields)`` for the report and its JSON."""
    from ..tabular.evaluation import _plain

    if pipeline.task != "classification":
        name = pipeline.target
        return f"the predicted {_escaped(name)!r}", {"output": "value", "target": name}
    quantity = "probability" if probability else "logit"
    if target is not None:
        label = _plain(result.target[0])
        return (f"the {quantity} of class {_escaped(label)!r}",
                {"output": quantity, "class": label})
    labels, counts = np.unique(np.asarray(result.target).astype(str), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    by_class = {str(labels[i]): int(counts[i]) for i in order}
    fields = {"output": quantity, "class": "predicted", "rows_by_class": by_class}
    if len(labels) == 1:
        return f"the {quantity} of the predicted class, {_escaped(labels[0])!r}", fields
    shown = ", ".join(f"{_escaped(label)!r} for {n}" for label, n in list(by_class.items())[:5])
    more = ", ..." if len(by_class) > 5 else ""
    return f"the {quantity} of each row's predicted class ({shown}{more})", fields


def _explain_rows(rows, n_rows):
    """0-based positions of the --rows (numbered from 1), or None for all rows."""
    if rows is None:
        return None
    try:
        numbers = [int(part) for part in rows.split(",") if part.strip()]
    except ValueError:
        numbers = []
    if not numbers or any(not 1 <= n <= n_rows for n in numbers):
        raise UserError(f"--rows must be comma-separated row numbers from 1 to {n_rows} "
                        f"(1 is the first line after the header), got {rows!r}.")
    return [n - 1 for n in numbers]


def _explain_in_chunks(explain_table, pipeline, frame, kind, target, output, seed, options, *,
                       enabled):
    """explain_table over chunks of rows, with a progress bar on a terminal for long runs."""
    from ..explain import Attributions

    rng = np.random.default_rng(seed)
    starts = range(0, len(frame), _EXPLAIN_CHUNK)
    bar = None
    if enabled and len(starts) > 1 and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(frame), unit="row", file=sys.stderr, leave=False)
    parts = []
    try:
        for start in starts:
            parts.append(explain_table(pipeline, frame.iloc[start:start + _EXPLAIN_CHUNK],
                                       method=kind, target=target, output=output,
                                       random_state=rng, **options))
            if bar is not None:
                bar.update(len(parts[-1].values))
    finally:
        if bar is not None:
            bar.close()

    def joined(name):
        values = [getattr(part, name) for part in parts]
        return None if values[0] is None else np.concatenate(values)

    return Attributions(values=joined("values"), output=joined("output"),
                        baseline_output=joined("baseline_output"), delta=joined("delta"),
                        target=joined("target"), method=parts[0].method,
                        feature_names=parts[0].feature_names)


def _attribution_frame(result, numbers):
    import pandas as pd

    table = pd.DataFrame(result.values, columns=result.feature_names)
    table.insert(0, "target", result.target)
    table.insert(0, "row", numbers)
    table["output"] = result.output
    if result.baseline_output is not None:
        table["baseline_output"] = result.baseline_output
        table["delta"] = result.delta
    return table


def _report_attributions(result, numbers, output, plot, quiet, as_json, explained, steps):
    mean = np.abs(result.values).mean(axis=0)
    order = np.argsort(-mean)
    text, fields = explained
    summary = {"method": result.method, "n_rows": len(numbers), "explains": fields,
               "mean_abs_attribution": {result.feature_names[i]: float(mean[i]) for i in order},
               "max_abs_delta": None if result.delta is None else float(np.max(np.abs(
                   result.delta)))}
    one = len(numbers) == 1
    if one:  # one row: its signed attributions, largest first
        summary["attribution"] = {result.feature_names[i]: float(result.values[0, i])
                                  for i in order}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    if quiet:
        return
    width = max(len(_escaped(name)) for name in result.feature_names)
    per = "column" if result.delta is not None else "feature"
    method = result.method.replace("_", " ")
    typer.echo(f"Explaining {text}.")
    if one:
        typer.echo(f"{method} of row {numbers[0]}, attribution per {per}:")
    else:
        typer.echo(f"{method} over {len(numbers)} row(s), mean |attribution| per {per}:")
    for i in order[:20]:
        value = f"{result.values[0, i]:+.4g}" if one else f"{mean[i]:.4g}"
        typer.echo(f"  {_escaped(result.feature_names[i]):<{width}}  {value}")
    if len(order) > 20:
        typer.echo(f"  ... and {len(order) - 20} more")
    if result.delta is not None:
        typer.echo(_completeness(result, summary["max_abs_delta"], steps))
    for path, what in ((output, "attributions"), (plot, "chart")):
        if path is not None:
            typer.echo(f"Wrote the {what} to {path}", err=True)


def _completeness(result, gap, steps):
    """The completeness line; when the gap is large, how to narrow it (more --steps)."""
    line = (f"Completeness: the attributions add up to F(x) - F(x') within {gap:.2g} "
            "(largest |delta|).")
    change = float(np.max(np.abs(np.asarray(result.output) - result.baseline_output)))
    if change > 0 and gap > GAP * change:
        more = f"it was {steps}; try --steps {min(4 * steps, MAX_STEPS)}" if steps else ""
        line += (f" That is {gap / change:.0%} of the largest |F(x) - F(x')|, a large gap: "
                 f"pass more --steps ({more}).")
    return line


def _report_permutation(result, output, quiet, as_json, score):
    import pandas as pd

    table = pd.DataFrame({"column": result.feature_names,
                          "importance_mean": result.importances_mean,
                          "importance_std": result.importances_std})
    table = table.sort_values("importance_mean", ascending=False, kind="stable")
    if output is not None:
        from ..tabular import write_table

        write_table(table, output)
    if as_json:
        typer.echo(table.to_json(orient="records", indent=2))
        return
    if quiet:
        return
    typer.echo(f"Permutation importance: the drop in {score} when a column is shuffled")
    width = max(len(str(name)) for name in table["column"])
    for row in table.itertuples(index=False):
        typer.echo(f"  {_escaped(row.column):<{width}}  {row.importance_mean:.4g} "
                   f"+- {row.importance_std:.2g}")
    if output is not None:
        typer.echo(f"Wrote the importances to {output}", err=True)


