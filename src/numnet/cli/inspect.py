"""``numnet inspect``: what a model file holds, validated on the way."""

import json
import math
import shlex
import textwrap

import typer

from .common import (
    _JSON,
    _QUIET,
    _echo_metrics,
    _escaped,
    _history_summary,
    _kept,
    _load_model,
    _silence_warnings,
)


def inspect(
    model: str = typer.Argument(..., help="Model file.", show_default=False, metavar="MODEL"),
    quiet: bool = _QUIET,
    as_json: bool = _JSON,
):
    """Describe a model file: layers, preprocessing, settings, version and history.

    The file is fully validated on the way; nothing in it is executed. With --quiet nothing
    is printed: the exit code says whether the file is a valid model.

    Example:

        numnet inspect houses.numnet
    """
    from ..io import read_metadata

    _silence_warnings(quiet)
    obj = _load_model(model)
    # a saved numnet.TabularClassifier / TabularRegressor is described by its pipeline
    obj = getattr(obj, "pipeline_", None) or obj
    metadata = read_metadata(model)
    description = _describe(obj, metadata, model)
    if as_json:
        typer.echo(json.dumps(description, indent=2, default=str))
        return
    if quiet:
        return
    typer.echo(f"{_escaped(model)}: numnet {description['kind']} (written by numnet "
               f"{description['numnet_version']}, file format {description['format_version']})")
    for key in ("target", "task", "estimator"):
        if key in description:
            typer.echo(f"{key}: {_escaped(description[key])}")
    if description.get("classes") is not None:
        typer.echo(f"classes: {', '.join(_escaped(c) for c in description['classes'])}")
    if "params" in description:
        typer.echo(textwrap.fill("hyperparameters: " + ", ".join(
            f"{k}={v!r}" for k, v in description["params"].items()), width=88,
            subsequent_indent="  ", break_on_hyphens=False))
    if "settings" in description and description["settings"]:
        typer.echo("training options: " + " ".join(
            _escaped(_flag(k, v)) for k, v in description["settings"].items()))
    if description.get("components"):
        parts = description["components"]
        typer.echo("model: preset " + parts["preset"] + " (" + ", ".join(
            f"{k}={v}" for k, v in parts.items() if k != "preset") + ")")
    if description.get("command"):
        typer.echo(f"command: {_escaped(description['command'])}")
    validation = description.get("validation")
    if validation is not None:
        typer.echo(f"validation: {validation['rows']} rows held out (--validation-fraction "
                   f"{validation['fraction']:g})" if validation["fraction"] else
                   "validation: none, trained on every row (--validation-fraction 0)")
    if "preprocessing" in description:
        pre = description["preprocessing"]
        typer.echo(f"preprocessing ({len(pre['columns'])} columns -> {pre['n_features']} "
                   f"features, impute={pre['impute']}):")
        for column in pre["columns"]:
            typer.echo(f"  {_column_text(column)}")
    net = description.get("network")
    if net:
        typer.echo(f"network ({net['n_in']} inputs, {net['dtype']}, "
                   f"{net['n_params']} parameters):")
        if net.get("initialisation"):
            typer.echo(f"  initialisation: {net['initialisation']}")
        width = max(len(layer["layer"]) for layer in net["layers"])
        for layer in net["layers"]:
            typer.echo(f"  {layer['index']:>2}  {layer['layer']:<{width}}  "
                       f"{layer['params']:>8} params")
    history = description.get("history")
    if history:
        typer.echo("history: " + ", ".join(f"{k}={_fmt(v)}" for k, v in history.items()))
    privacy = description.get("privacy")
    if privacy and "problem" in privacy:
        typer.echo(f"privacy: no guarantee is claimed: the file's privacy record "
                   f"{privacy['problem']}.")
    elif privacy:
        typer.echo(f"privacy: ({privacy['epsilon']:.4g}, {privacy['delta']:.3g})-differential "
                   f"privacy, DP-SGD with noise multiplier {privacy['noise_multiplier']:.4g}, "
                   f"clipping norm {privacy['max_grad_norm']:g}, sampling rate "
                   f"{privacy['sampling_rate']:.4g}, {privacy['steps']} steps, "
                   f"{privacy['accountant'].upper()} accountant")
        typer.echo(f"  covers: {privacy['covers']}")
        typer.echo(f"  not covered: {privacy['not_covered']}")
    if description.get("metrics"):
        typer.echo(f"validation metrics at training time{description.get('kept', '')}:")
        _echo_metrics(description["metrics"])


def _column_fields(column, date_parts):
    """One column of the preprocessing as fields (``inspect --json``): what it does to it."""
    fields = {"name": column["name"], "kind": column["kind"]}
    if column["kind"] == "numeric" and "clip" in column:
        fields.update(scaling="robust", median=column["mean"], spread=column["scale"],
                      clip=column["clip"], fill=column["fill"],
                      missing_indicator=bool(column.get("indicator")))
    elif column["kind"] == "numeric":
        fields.update(scaling="standard", mean=column["mean"], scale=column["scale"],
                      fill=column["fill"], missing_indicator=bool(column.get("indicator")))
    elif column["kind"] == "date":
        fields.update(features=[f"{column['name']}.{part}" for part in date_parts],
                      fill=_day(column["fill"]))
    elif column["kind"] == "categorical":
        fields.update(categories=[c.item() if hasattr(c, "item") else c
                                  for c in column["categories"]],
                      missing_category=bool(column.get("indicator")),
                      other_category=bool(column.get("other")))
    return fields


def _column_text(fields):
    """One line of inspect's preprocessing, from :func:`_column_fields`."""
    name = _escaped(fields["name"])  # a column name must not command the terminal
    missing = ", missing indicator" if fields.get("missing_indicator") else ""
    if fields.get("scaling") == "robust":
        return (f"{name}: numeric, robust: median {fields['median']:.4g}, spread "
                f"{fields['spread']:.4g}, clipped smoothly to +-{fields['clip']:g}, fill "
                f"{fields['fill']:.4g}{missing}")
    if fields["kind"] == "numeric":
        return (f"{name}: numeric, mean {fields['mean']:.4g}, scale {fields['scale']:.4g}, "
                f"fill {fields['fill']:.4g}{missing}")
    if fields["kind"] == "date":
        parts = ", ".join(_escaped(f) for f in fields["features"])
        return f"{name}: date, {len(fields['features'])} features ({parts}), fill {fields['fill']}"
    if fields["kind"] == "categorical":
        cats = fields["categories"]
        shown = ", ".join(_escaped(c) for c in cats[:8]) + (", ..." if len(cats) > 8 else "")
        return (f"{name}: categorical, {len(cats)} categories ({shown})"
                + (", rarer values as (other)" if fields.get("other_category") else "")
                + (", missing is a category" if fields["missing_category"] else ""))
    return f"{name}: {fields['kind']}"


_ONLY_WITH = {  # hyperparameters that a model uses only when the condition holds
    "validation_fraction": lambda p: p.get("early_stopping"),
    "beta_1": lambda p: p.get("solver") == "adam", "beta_2": lambda p: p.get("solver") == "adam",
    "epsilon": lambda p: p.get("solver") == "adam",
    "momentum": lambda p: p.get("solver") == "sgd",
    "nesterovs_momentum": lambda p: p.get("solver") == "sgd",
    "power_t": lambda p: p.get("solver") == "sgd" and p.get("learning_rate") == "invscaling",
    "max_fun": lambda p: p.get("solver") == "lbfgs",
    "batch_size": lambda p: p.get("solver") in ("adam", "sgd"),
    "shuffle": lambda p: p.get("solver") in ("adam", "sgd"),
    "learning_rate": lambda p: p.get("solver") in ("adam", "sgd", "gd"),
    "learning_rate_init": lambda p: p.get("solver") in ("adam", "sgd", "gd"),
    "early_stopping": lambda p: p.get("solver") in ("adam", "sgd", "gd"),
    "n_iter_no_change": lambda p: p.get("solver") in ("adam", "sgd", "gd"),
    "max_iter": lambda p: p.get("solver") not in ("lstsq", "cholesky"),
    "tol": lambda p: p.get("solver") not in ("lstsq", "cholesky"),
    "dp_accountant": lambda p: _private(p), "dp_delta": lambda p: _private(p),
    "dp_epsilon": lambda p: _private(p), "dp_max_grad_norm": lambda p: _private(p),
    "dp_noise_multiplier": lambda p: _private(p), "dp_sampler": lambda p: _private(p),
}


def _private(params):
    return params.get("dp_epsilon") is not None or params.get("dp_noise_multiplier") is not None


def _params_in_effect(estimator, *, dask=False):
    """The hyperparameters the model was trained with, as it used them.

    A deprecated parameter (``penalty='deprecated'``: the penalty is ``l1_ratio`` and the
    strength) and those of options the run did not use (early stopping's
    ``validation_fraction`` without early stopping, adam's betas under sgd, the learning rate
    of an exact or L-BFGS solve, the privacy parameters of a non-private model) are left
    out; ``solver='auto'`` is the solver it ran (``dask``: on a cluster).
    """
    params = estimator.get_params()
    if params.get("solver") == "auto" and hasattr(estimator, "resolved_solver"):
        params["solver"] = estimator.resolved_solver(dask=dask)
    return {key: value for key, value in params.items() if not (
        (isinstance(value, str) and value == "deprecated")
        or (key in _ONLY_WITH and not _ONLY_WITH[key](params)))}


def _flag(option, value):
    flag = "--" + option.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else f"--no-{flag[2:]}"
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return f"{flag} {shlex.quote(str(value))}"


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _day(ordinal):
    """An ordinal day (days since 1970-01-01) as an ISO date, e.g. 2021-08-08."""
    import datetime

    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=math.floor(ordinal))).isoformat()


def _privacy_record_problem(estimator):
    """Why a file's DP record does not support a guarantee, or None when it is complete.

    Complete means: the run asked for privacy (dp_epsilon or dp_noise_multiplier), every
    figure of the guarantee is there and in range, and the accountant gives the stored epsilon
    again for the stored (q, sigma, steps, delta): a file edited to claim a guarantee fails.
    """
    import logging

    from ..privacy.accounting import NOISE_MULTIPLIER_RANGE, compute_epsilon

    params = estimator.get_params()
    if params.get("dp_epsilon") is None and params.get("dp_noise_multiplier") is None:
        return "has an epsilon but the model was not trained privately (no dp_epsilon or " \
            "dp_noise_multiplier)"
    names = ("epsilon_", "dp_delta_", "dp_noise_multiplier_", "dp_sampling_rate_", "dp_steps_")
    values = {name: getattr(estimator, name, None) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        return f"lacks {', '.join(missing)}"
    try:
        epsilon, delta, sigma, rate, steps = (float(values[name]) for name in names)
    except (TypeError, ValueError):
        return "holds a value that is not a number"
    low, high = NOISE_MULTIPLIER_RANGE
    if not (0 < delta < 1 and low <= sigma <= high and 0 < rate <= 1 and steps >= 1
            and steps == int(steps) and math.isfinite(epsilon) and epsilon > 0):
        return "holds a value out of range"
    logging.getLogger("absl").setLevel(logging.ERROR)
    try:
        expected = compute_epsilon(rate, sigma, int(steps), delta,
                                   accountant=params.get("dp_accountant", "rdp"))
    except (ImportError, ValueError) as error:
        return f"cannot be checked ({error})"
    if not math.isclose(expected, epsilon, rel_tol=1e-6):
        return (f"is inconsistent: its epsilon {epsilon:.6g} is not what the accountant gives "
                f"for its sampling rate, noise and steps ({expected:.6g})")
    return None


def _privacy(estimator, pipeline):
    """The guarantee of a private fit (docs/privacy.md), as inspect prints it."""
    covers = ("the model's parameters and predictions, with respect to adding or removing one "
              "training row")
    if pipeline:
        covers += ("; the preprocessing comes from --dp-bounds and --dp-categories, not the "
                   "data")
    not_covered = ("the training losses in the history, the validation rows and their "
                   "metrics, the choice of hyperparameters")
    return {"epsilon": float(estimator.epsilon_), "delta": float(estimator.dp_delta_),
            "noise_multiplier": float(estimator.dp_noise_multiplier_),
            "max_grad_norm": float(estimator.dp_max_grad_norm),
            "sampling_rate": float(estimator.dp_sampling_rate_),
            "steps": int(estimator.dp_steps_), "accountant": estimator.dp_accountant,
            "covers": covers, "not_covered": not_covered}


def _command(info, model):
    """The ``numnet train`` command that retrains the model, writing ``model``.

    None for files from before the spec. The checkpoint options are left out: they do not
    change the model.
    """
    from ..tabular import TrainSpec

    if "spec" not in info:
        return None
    spec = TrainSpec.from_dict(info["spec"]).replace(checkpoint_dir=None,
                                                     checkpoint_every=None, resume=False)
    return spec.to_args(output=model)


def _describe(obj, metadata, model=None):
    from ..network import Sequential
    from ..tabular import DATE_PARTS, TabularPipeline

    description = {"kind": metadata["kind"], "numnet_version": metadata["numnet_version"],
                   "format_version": metadata["format_version"]}
    estimator = obj.estimator if isinstance(obj, TabularPipeline) else obj
    if isinstance(obj, TabularPipeline):
        description.update(target=obj.target, task=obj.task)
        pre = obj.preprocessor
        columns = [_column_fields(column, DATE_PARTS) for column in pre.columns_]
        description["preprocessing"] = {"impute": pre.impute, "columns": columns,
                                        "n_features": len(pre.feature_names_out_)}
        description["settings"] = obj.info.get("settings", {})
        if obj.info.get("components"):
            description["components"] = obj.info["components"]
        description["command"] = _command(obj.info, model)
        if "validation_fraction" in obj.info:  # the held-out rows, not early stopping's share
            description["validation"] = {"fraction": obj.info["validation_fraction"],
                                         "rows": obj.info.get("n_validation")}
        description["metrics"] = obj.info.get("metrics", {})
        description["kept"] = _kept({**obj.info, "history": _history_summary(
            getattr(obj.estimator, "history_", None))}) if isinstance(
            obj.info.get("metrics_epoch"), int) else ""
    if not isinstance(estimator, Sequential):
        description["estimator"] = type(estimator).__name__
        spec = (obj.info.get("spec") or {}) if isinstance(obj, TabularPipeline) else {}
        description["params"] = _params_in_effect(
            estimator, dask=bool(spec.get("scheduler") or spec.get("workers")))
        classes = getattr(estimator, "classes_", None)
        description["classes"] = None if classes is None else [
            c.item() if hasattr(c, "item") else c for c in classes
        ]
        description["history"] = _history_summary(getattr(estimator, "history_", None))
        if getattr(estimator, "epsilon_", None) is not None:
            problem = _privacy_record_problem(estimator)
            description["privacy"] = (
                {"guarantee": None, "problem": problem} if problem else
                _privacy(estimator, isinstance(obj, TabularPipeline)))
        net = getattr(estimator, "network_", None)
    else:
        net = estimator
    if isinstance(net, Sequential):
        layers, width = [], net.n_in
        for index, layer in enumerate(net.layers):
            count = sum(math.prod(s) for s in layer.param_shapes(width).values())
            width = layer.output_dim(width)
            layers.append({"index": index, "layer": repr(layer), "params": count,
                           "n_out": width})
        description["network"] = {"n_in": net.n_in, "dtype": net.dtype.name,
                                  "n_params": int(net.params.size), "layers": layers}
        if hasattr(estimator, "hidden_layer_sizes"):
            # the MLP estimators overwrite the layers' initialisation with scikit-learn's
            factor = 2 if estimator.get_params().get("activation") == "logistic" else 6
            description["network"]["initialisation"] = (
                f"scikit-learn's MLP: W and b ~ U(-a, a), a = sqrt({factor} / "
                "(n_in + n_out))")
    return description


