"""``numnet export``: a model file as an ONNX graph, for onnxruntime and other runtimes."""

import typer

from .common import _JSON, _QUIET, UserError, _check_output, _load_model


def export(
    model: str = typer.Argument(..., help="Model file (from 'numnet train' or numnet.save).",
                                show_default=False, metavar="MODEL"),
    output: str = typer.Option(..., "--output", "-o", help="ONNX file to write (.onnx).",
                               show_default=False),
    opset: int = typer.Option(None, "--opset", help="ai.onnx opset version [default: 17].",
                              show_default=False, metavar="N"),
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Write a model as ONNX, for onnxruntime and other runtimes (docs/onnx.md).

    A 'numnet train' model takes one graph input per column; classifiers output 'label' and
    'probabilities', regressors 'variable'.

    Example:

        numnet export houses.numnet -o houses.onnx
    """
    _check_output(output, inputs=[model], suffixes=(".onnx",), example="model.onnx")
    try:
        from ..onnx import save_onnx
        from ..onnx._graph import check_opset
    except ImportError as error:
        raise UserError(f"numnet export needs the onnx package; install it with pip install "
                        f"'numnet[onnx]' ({error}).") from None
    try:
        check_opset(opset)
    except ValueError as error:
        raise UserError(f"--{error}") from None
    obj = _load_model(model)
    try:
        onnx_model = save_onnx(obj, output, opset=opset)
    except (TypeError, ValueError) as error:
        raise UserError(f"Cannot export {model!r} to ONNX: {error}") from None
    inputs = [i.name for i in onnx_model.graph.input]
    outputs = [o.name for o in onnx_model.graph.output]
    if as_json:
        import json

        opsets = {o.domain or "ai.onnx": o.version for o in onnx_model.opset_import}
        typer.echo(json.dumps({"output": output, "inputs": inputs, "outputs": outputs,
                               "opset": opsets.get("ai.onnx")}))
    elif not quiet:
        typer.echo(f"Wrote {output} (inputs: {', '.join(inputs)}; outputs: "
                   f"{', '.join(outputs)})", err=True)
