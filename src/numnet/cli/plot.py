"""``numnet plot``: loss curves, and a classifier's decision regions."""


import typer

from .common import (
    _JSON,
    _QUIET,
    UserError,
    _check_output,
    _check_range,
    _load_model,
    _silence_warnings,
)


def plot(
    model: str = typer.Argument(..., help="Model file.", show_default=False, metavar="MODEL"),
    output: str = typer.Option(..., "--output", "-o", help="Image to write (PNG, SVG, PDF by "
                               "suffix).", show_default=False),
    data: str = typer.Option(None, "--data", help="Table to draw the decision regions of a "
                             "classifier with two numeric features over.", show_default=False),
    width: int = typer.Option(900, help="Image width in pixels.", metavar="PX"),
    height: int = typer.Option(450, help="Image height in pixels.", metavar="PX"),
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Plot the training and validation loss curves (and decision regions with --data).

    Needs matplotlib: pip install 'numnet[plot]'.

    Example:

        numnet plot iris.numnet -o curves.png --data iris.csv
    """
    _silence_warnings(quiet)
    from ..tabular.plotting import plot_model

    _check_range(width, "--width", "an integer in [100, 10000]", lambda v: 100 <= v <= 10000)
    _check_range(height, "--height", "an integer in [100, 10000]", lambda v: 100 <= v <= 10000)
    _check_output(output, inputs=[model, data], suffixes=(".png", ".svg", ".pdf"),
                  example="plot.png")
    obj = _load_model(model)
    frame = None
    if data is not None:
        from ..tabular import TabularPipeline, read_table

        if not isinstance(obj, TabularPipeline):
            raise UserError("--data needs a model trained with 'numnet train'.")
        frame = read_table(data)
    plot_model(obj, output, frame=frame, width=width, height=height)
    if as_json:
        import json

        typer.echo(json.dumps({"output": output, "width": width, "height": height,
                               "decision_regions": data is not None}))
    elif not quiet:
        typer.echo(f"Wrote {output} ({width}x{height} pixels)", err=True)


