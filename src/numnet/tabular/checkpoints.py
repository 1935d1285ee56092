"""The checkpoint of a :class:`TrainSpec` run: what it records, and the checks of a resume.

A checkpoint's info holds the spec (``"spec"``, :meth:`TrainSpec.to_dict`), the fields that
decide the model (``"run"``, :func:`run_record`) and the data's hash. ``resume`` compares the
two specs' records; a checkpoint written before the spec existed has only ``"run"`` (the
options as the command line gave them), read as they were.
"""

from .spec import TrainSpec
from .spec_checks import parse_text
from .spec_errors import SpecError, parse_names, problem, ref


def run_record(spec):
    """The fields that decide the trained model, and whether it trains on a cluster."""
    return {**spec.result_record(), "data_parallel": spec.on_cluster}


def check_resumable(spec, solver, solvers):
    """Refuse a checkpoint for a solver that finishes in one step or cannot be resumed."""
    if solver in ("lstsq", "cholesky"):
        raise SpecError([problem(
            "{checkpoint_dir} does not work with the exact least-squares solver of {model} "
            "linear (its default without an L1 penalty): it finishes in one step, with nothing "
            "to resume. Train without {checkpoint_dir}, or pass {solver} adam, sgd or gd.")])
    if solver == "lbfgs":
        default = "" if spec.solver is not None else " (the default of {model} {model_value})"
        raise SpecError([problem(
            "{checkpoint_dir} does not work with {solver} lbfgs" + default + ": L-BFGS cannot "
            "be resumed mid-run. Pass {solver} {solvers}.", model_value=spec.model,
            solvers=solvers)])


def checkpoint_info(spec, data_sha256):
    """What a checkpoint of ``spec`` records: the spec, its run record, the data's hash."""
    return {"run": run_record(spec), "spec": spec.to_dict(), "data_sha256": data_sha256}


def load_checked(spec, info):
    """(Checkpoint, loaded state or None): a new one, or the one to resume, checked."""
    from ..io import Checkpoint

    directory = spec.checkpoint_dir
    every = 1 if spec.checkpoint_every is None else spec.checkpoint_every
    checkpoint = Checkpoint(directory, every=every, info=info)
    if not spec.resume:
        if checkpoint.exists():
            raise SpecError([problem(
                "{checkpoint_dir} {value!r} already holds a checkpoint ({checkpoint}). Pass "
                "{resume} to continue that run, or choose another folder.", value=directory,
                checkpoint=str(checkpoint))])
        return checkpoint, None
    state = checkpoint.load()
    if state is None:
        raise SpecError([problem("{resume} found no checkpoint in {value!r}. Run the command "
                                 "without {resume} to start training.", value=directory)])
    saved = _saved_record(checkpoint)
    for key, value in info["run"].items():
        if saved.get(key) != value:
            name = "{scheduler}/{workers}" if key == "data_parallel" else ref(key)
            raise SpecError([problem(
                "{resume} needs the options of the interrupted run, but " + name + " was "
                "{before} there and is {now} here.", before=_shown(saved.get(key)),
                now=_shown(value))])
    return checkpoint, state


def _altered(checkpoint):
    return SpecError([problem(
        "Cannot resume from {value!r}: its record of the run's options must be an object of "
        "option values and the data's hash a string; the file was altered. Start afresh "
        "without {resume}.", value=str(checkpoint))])


def _saved_record(checkpoint):
    """The saved run's record: from its spec, or from the options of an older checkpoint."""
    saved = checkpoint.loaded_info or {}
    run = saved.get("run", {})
    if not isinstance(run, dict) or not isinstance(saved.get("data_sha256"), (str, type(None))):
        raise _altered(checkpoint)
    if "spec" in saved:
        try:
            return run_record(TrainSpec.from_dict(saved["spec"]))
        except SpecError as error:  # its fields, as the file names them
            raise SpecError([problem(
                "Cannot resume from {value!r}: its training specification is not valid "
                "({error}); the file was altered. Start afresh without {resume}.",
                value=str(checkpoint), error=str(error).rstrip("."))]) from None
    return _legacy_record(run)


def saved_preset(spec):
    """The preset of the checkpointed run that ``spec`` resumes (None: nothing saved yet).

    A run checkpointed before the presets existed trained the ``classic`` model.
    """
    from ..io import Checkpoint

    checkpoint = Checkpoint(spec.checkpoint_dir)
    if checkpoint.load() is None:
        return None
    return _saved_record(checkpoint).get("preset")


def _legacy_record(run):
    """A checkpoint's ``run`` from before the spec: the command line's text, parsed."""
    record = {"preset": "classic", **run, "data_parallel": bool(run.get("data_parallel"))}
    for name in ("features", "exclude"):
        if isinstance(record.get(name), str):
            names = parse_names(record[name])
            record[name] = None if names is None else list(names)
    texts = {k: record[k] for k in ("dp_bounds", "dp_categories")
             if isinstance(record.get(k), str)}
    if texts:
        values, _ = parse_text(texts)
        for name in texts:
            record[name] = _plain_dp(name, values[name])
    return record


def _plain_dp(name, value):
    if value is None:
        return None
    if name == "dp_bounds":
        return {column: [low, high] for column, low, high in value}
    return {column: list(categories) for column, categories in value}


def _shown(value):
    if value is None:
        return "not given"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return repr(value)
    return repr(value) if isinstance(value, str) else str(value)
