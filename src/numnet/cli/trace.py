"""``numnet trace``: every number of one row's forward and backward pass."""

import json

import typer

from .common import (
    _ENCODING,
    _JSON,
    _QUIET,
    _SEP,
    UserError,
    _check_choice,
    _load_pipeline,
    _silence_warnings,
)

_LANG = typer.Option("en", "--lang", help="Language of the explanations: en or zh (Chinese).",
                     metavar="LANG")


def trace(
    model: str = typer.Argument(None, help="Model file written by 'numnet train'.",
                                show_default=False, metavar="MODEL"),
    data: str = typer.Argument(None, help="Table file holding the row (CSV: .csv or .txt, TSV: "
                               ".tsv or .tab, Parquet: .parquet or .pq); with the "
                               "target column the loss and the backward pass are shown.",
                               show_default=False, metavar="DATA"),
    row: int = typer.Option(1, "--row", "-r", help="Row to trace, numbered from 1 (the first "
                            "line after the header)."),
    step: bool = typer.Option(False, "--step", help="Also show one gradient-descent update: "
                              "parameters before, gradient, learning rate, after, and the loss."),
    learning_rate: float = typer.Option(None, "--learning-rate", help="Learning rate of "
                                        "--step [default: the model's learning_rate_init; "
                                        "for an 'auto' one the rate training used, or after "
                                        "L-BFGS 1/L for the row's loss].", show_default=False),
    demo: bool = typer.Option(False, "--demo", help="Trace the 2-4-1 ReLU network of 'numnet "
                              "demo' on x = (0.5, 0.5), y = 3."),
    lang: str = _LANG,
    sep: str = _SEP,
    encoding: str = _ENCODING,
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Show every number of one row's forward and backward pass, layer by layer.

    For each layer: its input a, the pre-activation z, the output, then δ = ∂L/∂z, ∂L/∂W,
    ∂L/∂b and ∂L/∂a, each with the layer's formula; first the row's preprocessing (raw
    value -> imputed -> standardised or one-hot). Wide vectors show their first and last
    entries and their norm.

    Example:

        numnet trace houses.numnet test.csv --row 3 --step

        numnet trace --demo --lang zh
    """
    _silence_warnings(quiet)
    _check_choice(lang, "--lang", {"en", "zh"})
    if learning_rate is not None and not learning_rate > 0:
        raise UserError(f"--learning-rate must be a number > 0, got {learning_rate!r}.")
    if demo:
        if model is not None:
            raise UserError(f"--demo traces the network of 'numnet demo': it takes no MODEL or "
                            f"DATA, got {model!r}.")
        result, optimizer = _demo_trace(learning_rate)
    else:
        if model is None or data is None:
            raise UserError("numnet trace needs MODEL and DATA (or --demo), got "
                            f"{'no MODEL' if model is None else 'no DATA'}.")
        result, optimizer = _model_trace(model, data, row, sep, encoding, learning_rate, step)
    update = result.step(optimizer) if step else None
    if as_json:
        out = result.to_dict()
        if update is not None:
            out["step"] = update.to_dict()
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    if quiet:  # the row was traced without error: nothing more to say
        return
    typer.echo(result.format(lang=lang))
    if update is not None:
        typer.echo("")
        typer.echo(update.format(lang=lang))
    if demo:
        from ..demo import trace_bugs

        typer.echo("")
        typer.echo(trace_bugs(lang))


def _demo_trace(learning_rate):
    from ..demo import TRACE_SAMPLE, relu_network_model
    from ..optimizers import SGD
    from ..trace import trace as trace_net

    net, loss, optimizer = relu_network_model()
    if learning_rate is not None:
        optimizer = SGD(learning_rate=learning_rate, momentum=optimizer.momentum)
    x, y = TRACE_SAMPLE
    return trace_net(net, x, y, loss=loss), optimizer


def _model_trace(model, data, row, sep, encoding, learning_rate, step):
    from ..optimizers import SGD
    from ..tabular import read_table
    from ..tabular.trace import trace_row

    pipeline = _load_pipeline(model, "trace")
    frame = read_table(data, sep=sep, encoding=encoding)
    if not 1 <= row <= len(frame):
        raise UserError(f"--row must be a row number from 1 to {len(frame)} (1 is the first "
                        f"line after the header), got {row}.")
    if step and pipeline.target not in frame.columns:
        raise UserError(f"--step needs the target column {pipeline.target!r} in DATA to "
                        "compute the loss and its gradient.")
    result = trace_row(pipeline, frame, row - 1)
    if learning_rate is None:
        learning_rate = _model_learning_rate(pipeline.estimator, result)
    return result, SGD(learning_rate=learning_rate)


# The largest eigenvalue of each loss's Hessian in the network's output, per output column.
_CURVATURE = {"MeanSquaredError": 2.0, "BinaryCrossEntropy": 0.25, "SoftmaxCrossEntropy": 0.5}


def _model_learning_rate(estimator, result):
    """--step's default rate: the model's learning_rate_init, resolved where it is 'auto'.

    'auto' (the linear models) resolves to the last rate the fit used; a fit by L-BFGS used
    none, and then the rule 'auto' follows for gradient descent applies to the traced row's
    loss: 1 / L, L the Lipschitz constant of its gradient (a step that cannot raise it).
    """
    import math

    rate = getattr(estimator, "learning_rate_init", None)
    if rate != "auto":
        return rate if isinstance(rate, (int, float)) and rate > 0 else 0.01
    history = getattr(estimator, "history_", None)
    used = [r for r in getattr(history, "learning_rate", []) if math.isfinite(r) and r > 0]
    if used:
        return float(used[-1])
    curvature = _CURVATURE.get(result.loss_name, 2.0)
    if result.loss_name == "MeanSquaredError":
        curvature /= result.raw.shape[1]  # numnet's MSE averages over the outputs
    bias = "b" in result.layers[0].params if result.layers else True
    lipschitz = curvature * (float(result.x[0] @ result.x[0]) + bias)
    return 1.0 / lipschitz if lipschitz > 0 else 1.0
