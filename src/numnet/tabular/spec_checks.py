"""The checks of :class:`numnet.tabular.TrainSpec`: types, ranges, combinations, and the text.

:func:`check_spec` returns every problem of a spec's values: first each field on its own (its
type, then its choices or range); when those are all right, the combinations (privacy, the
cluster, checkpoints). :func:`parse_text` reads the command line's text options,
:func:`typed_values` the plain data of a model file or checkpoint.
"""

import dataclasses
import math
import typing

from .preprocessing import SCALINGS
from .presets import PRESETS
from .reading import IMPUTE, MODELS, TASKS
from .spec_errors import CLUSTER, SpecError, dp_parts, finite, parse_names, problem, ref

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
PENALTIES = ("none", "l2", "l1", "elasticnet")
SOLVERS = ("gd", "sgd", "adam", "lbfgs")
DTYPES = ("float32", "float64")
# numnet.privacy.sampling.SAMPLERS, written out: importing numnet.privacy here would make every
# `numnet predict` import SciPy (tests/test_spec.py checks that the two agree).
DP_SAMPLERS = ("uniform", "geometric")
TEXT = ("hidden", "features", "exclude", "dp_bounds", "dp_categories")
"""The fields the command line gives as text (:meth:`TrainSpec.from_cli` parses them)."""

CHOICES = {"impute": (*IMPUTE, "none"), "model": MODELS, "preset": PRESETS, "task": TASKS,
           "scaling": SCALINGS, "activation": ACTIVATIONS, "penalty": PENALTIES,
           "solver": SOLVERS, "dtype": DTYPES, "dp_sampler": DP_SAMPLERS}

MAX_MEMBERS = 16
"""The most networks ``--members`` averages (the merged network is k times as wide)."""

RANGES = {  # field: (rule, test), in the order the checks run
    "dropout": ("a float in [0, 1)", lambda v: 0 <= v < 1),
    "alpha": ("a float >= 0", lambda v: v >= 0),
    "l1_ratio": ("a float in [0, 1]", lambda v: 0 <= v <= 1),
    "epochs": ("an integer >= 1", lambda v: v >= 1),
    "batch_size": ("an integer >= 1", lambda v: v >= 1),
    "learning_rate": ("a float > 0", lambda v: v > 0),
    "patience": ("an integer >= 1", lambda v: v >= 1),
    "time_limit": ("a finite float > 0 (seconds)", lambda v: 0 < v < math.inf),
    "members": (f"an integer in [1, {MAX_MEMBERS}]", lambda v: 1 <= v <= MAX_MEMBERS),
    "validation_fraction": ("a float in [0, 1)", lambda v: 0 <= v < 1),
    "validation_batch_size": ("an integer >= 1", lambda v: v >= 1),
    "seed": ("an integer >= 0", lambda v: v >= 0),
    "checkpoint_every": ("an integer >= 1", lambda v: v >= 1),
}

NOT_ON_CLUSTER = {
    # field: (refused when, why the data-parallel path cannot do it yet, what to do instead)
    "dp_epsilon": ("{dp_epsilon}", lambda s: s.dp_epsilon is not None,
                   "private training runs in one process", "Train in memory"),
    "dp_noise_multiplier": ("{dp_noise_multiplier}", lambda s: s.dp_noise_multiplier is not None,
                            "private training runs in one process", "Train in memory"),
    "early_stopping": ("{early_stopping}", lambda s: bool(s.early_stopping),
                       "the stopping split would be drawn from rows on the workers",
                       "Train for a fixed {epochs}, or in memory"),
    "dropout": ("{dropout}", lambda s: bool(s.dropout),
                "each worker's copy of the network would draw the same mask",
                "Leave out {dropout}, or train in memory"),
    "impute": ("{impute} median", lambda s: s.impute == "median",
               "an exact median needs the whole column in one place",
               "Pass {impute} mean or most_frequent, or train in memory"),
    "impute_indicator": ("{impute} indicator", lambda s: s.impute == "indicator",
                         "its fill is an exact median, which needs the whole column in one "
                         "place", "Pass {impute} mean or most_frequent, or train in memory"),
    "scaling": ("{scaling} robust", lambda s: s.scaling == "robust",
                "its quartiles need the whole column in one place",
                "Leave out {scaling}, or train in memory"),
    "preset": ("{preset} best or fast", lambda s: s.preset in ("best", "fast"),
               "their epoch selection draws a held-out split from rows on the workers",
               "Pass {preset} classic, or train in memory"),
    "time_limit": ("{time_limit}", lambda s: s.time_limit is not None,
                   "the cluster's epochs are not stopped mid-run", "Train in memory"),
}

DASK_SOLVERS = {"linear": ("gd", "lbfgs"), "logistic": ("gd", "lbfgs"),
                "mlp": ("adam", "lbfgs", "sgd")}
"""The solvers of each model that train data-parallel (the estimators' dask solvers)."""


def check_spec(spec):
    """Every problem of ``spec``'s values, as :func:`problem` pairs (empty when none)."""
    problems = _types(spec)
    if problems:
        return problems
    for name, options in CHOICES.items():
        value = getattr(spec, name)
        if value is not None and value not in options:
            listed = ", ".join(repr(o) for o in sorted(options))
            problems.append(problem(ref(name) + " must be one of {{{listed}}}, got {value!r}.",
                                    listed=listed, value=value))
    for name, (rule, ok) in RANGES.items():
        value = getattr(spec, name)
        if value is not None and not ok(value):
            problems.append(problem(ref(name) + f" must be {rule}, got {{value!r}}.",
                                    value=value))
    if spec.checkpoint_dir is None and (spec.resume or spec.checkpoint_every is not None):
        flag = "resume" if spec.resume else "checkpoint_every"
        problems.append(problem(ref(flag) + " needs {checkpoint_dir} DIR, the folder of "
                                "the checkpoint."))
    if spec.hidden is not None and (not spec.hidden or min(spec.hidden) < 1):
        problems.append(_hidden_problem(",".join(map(str, spec.hidden))))
    if problems:
        return problems
    return _members_problems(spec) + _cluster_problems(spec) + _privacy_problems(spec)


_NO_REFIT = (  # (why a run has no refit, when): the members are trained by the refit
    ("{refit} is turned off", lambda s: s.refit is False),
    ("{preset} classic has no epoch selection", lambda s: s.preset == "classic"),
    ("only {model} mlp has members", lambda s: s.model != "mlp"),
    ("{early_stopping} keeps the stopped model", lambda s: bool(s.early_stopping)),
    ("{time_limit} ends the run at its limit", lambda s: s.time_limit is not None),
    ("a run with {checkpoint_dir} is one fit", lambda s: s.checkpoint_dir is not None),
    ("private training has none", lambda s: s.private),
    ("a cluster run has none", lambda s: s.on_cluster),
)


def _members_problems(spec):
    """``--members`` > 1 needs the refit that trains the members."""
    if spec.members is None or spec.members == 1:
        return []
    reasons = [why for why, applies in _NO_REFIT if applies(spec)]
    if not reasons:
        return []
    return [problem("{members} {value} averages networks trained by the refit on every row, "
                    "which this run does not do (" + "; ".join(reasons) + "). Leave out "
                    "{members}, or drop what prevents the refit.", value=spec.members)]


def _types(spec):
    problems = []
    for f in dataclasses.fields(spec):
        name, value = f.name, getattr(spec, f.name)
        args = typing.get_args(f.type) or (f.type,)
        kinds = tuple(a for a in args if a is not type(None))
        if value is None and type(None) in args:
            continue
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(spec, name, float(value))
            continue
        if isinstance(value, list):
            value = tuple(value)
            object.__setattr__(spec, name, value)
        ok = isinstance(value, kinds) and not (bool not in kinds and isinstance(value, bool))
        if ok and kinds == (tuple,):
            ok = _items_ok(name, value)
        if not ok:
            kind = "a list" if kinds == (tuple,) else f"{'/'.join(k.__name__ for k in kinds)}"
            problems.append(problem(ref(name) + f" must be {kind}, got {{value!r:.80}}.",
                                    value=value))
    return problems


def _items_ok(name, value):
    def text(v):
        return isinstance(v, str)

    if name in ("features", "exclude"):
        return all(map(text, value))
    if name == "hidden":
        return all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if name == "dp_bounds":
        return all(isinstance(v, tuple) and len(v) == 3 and text(v[0]) and finite(v[1])
                   and finite(v[2]) and v[1] < v[2] for v in value)
    return all(isinstance(v, tuple) and len(v) == 2 and text(v[0])  # dp_categories
               and isinstance(v[1], tuple) and v[1] and all(c and text(c) for c in v[1])
               for v in value)


def _hidden_problem(text):
    return problem("{hidden} must be comma-separated integers >= 1 such as 64,32, got "
                   "{value!r}.", value=text)


def _cluster_problems(spec):
    """What the data-parallel path cannot do (the environment: :func:`check_environment`)."""
    if not spec.on_cluster:
        return []
    if spec.scheduler is not None and spec.workers is not None:
        return [problem("{scheduler} and {workers} exclude each other: connect to a running "
                        "cluster ({scheduler} ADDRESS) or start one on this machine "
                        "({workers} N), not both.")]
    problems = []
    if spec.workers is not None and spec.workers < 1:
        problems.append(problem("{workers} must be an integer >= 1, got {value!r}.",
                                value=spec.workers))
    if spec.data == "-":
        problems.append(problem("{data} must be a file, folder or glob with " + CLUSTER
                                + ", got - (the workers cannot read stdin). Save the table to "
                                "a file."))
    for shown, refused, why, fix in NOT_ON_CLUSTER.values():
        if refused(spec):
            problems.append(problem(f"{shown} does not work with {CLUSTER} yet: {why}. {fix} "
                                    f"(without {CLUSTER})."))
    model, solver = spec.model, spec.solver
    if solver is not None and solver not in DASK_SOLVERS[model]:
        problems.append(problem("{solver} {solver_value} does not work with " + CLUSTER
                                + " and {model} {model_value} yet: pass one of {listed}, or "
                                "train in memory.", solver_value=solver, model_value=model,
                                listed=", ".join(DASK_SOLVERS[model])))
    return problems


def check_environment(spec):
    """Refuse, before any work, a cluster run this machine cannot start (cores, Dask)."""
    from .dask_client import available_cores, import_distributed

    if spec.workers is not None and spec.workers > available_cores():
        cores = available_cores()
        raise SpecError([problem(
            "{workers} must be at most the number of CPU cores of this machine ({cores}), got "
            "{value!r}. Pass {workers} {cores} or fewer, or start a cluster on several "
            "machines and pass {scheduler} ADDRESS.", cores=cores, value=spec.workers)])
    if spec.on_cluster:
        import_distributed()  # the dask extra, before anything is read


def _privacy_problems(spec):
    """The --dp-* options: together, in range, and with a model that can train privately."""
    given = {name: getattr(spec, name) for name in ("dp_delta", "dp_max_grad_norm",
                                                    "dp_sampler", "dp_bounds",
                                                    "dp_categories")}
    if not spec.private:
        return [problem(ref(name) + " applies only to private training: pass {dp_epsilon} EPS "
                        "(or {dp_noise_multiplier} SIGMA).")
                for name, value in given.items() if value is not None][:1]
    if spec.dp_epsilon is not None and spec.dp_noise_multiplier is not None:
        return [problem("{dp_epsilon} and {dp_noise_multiplier} exclude each other: give the "
                        "budget (the noise is calibrated to it) or the noise, not both.")]
    problems = _privacy_ranges(spec)
    if problems:
        return problems
    model, solver = spec.model, spec.solver
    if solver is None and model in ("linear", "logistic"):
        problems.append(problem("{dp_epsilon} needs {solver} sgd or adam with {model} "
                                "{value}: its default solver cannot train privately.",
                                value=model))
    if solver in ("lbfgs", "gd"):
        problems.append(problem("{solver} {value} cannot train privately: pass {solver} sgd "
                                "or adam with {dp_epsilon}.", value=solver))
    if spec.learning_rate is None and model in ("linear", "logistic"):
        problems.append(problem("{dp_epsilon} needs {learning_rate} with {model} {value}: its "
                                "default step size is computed from the data, outside the "
                                "guarantee.", value=model))
    if spec.early_stopping:
        problems.append(problem("{early_stopping} watches the loss of private rows, outside "
                                "the guarantee of {dp_epsilon}: train for a fixed {epochs} "
                                "instead."))
    if spec.preset in ("best", "fast"):
        problems.append(problem("{preset} {value} selects its epoch on private rows and anneals "
                                "by a schedule, outside the guarantee of {dp_epsilon}: pass "
                                "{preset} classic (the default under {dp_epsilon}).",
                                value=spec.preset))
    if spec.scaling == "robust":
        problems.append(problem("{scaling} robust takes medians and quartiles of private rows, "
                                "outside the guarantee of {dp_epsilon}: the scaling comes from "
                                "{dp_bounds}."))
    if spec.impute == "indicator":
        problems.append(problem("{impute} indicator fills with the median of private rows, "
                                "outside the guarantee of {dp_epsilon}: pass {impute} mean "
                                "(the middle of {dp_bounds}) or leave it out."))
    return problems[:1]  # one at a time: the fix of one (a solver) changes the next


def _privacy_ranges(spec):
    """The ranges of the --dp-* numbers, with the accountant's own rules and messages."""
    from ..privacy.accounting import check_noise_multiplier, check_target_epsilon

    problems = []
    for name, check in (("dp_epsilon", check_target_epsilon),
                        ("dp_noise_multiplier", lambda v, n: check_noise_multiplier(
                            v, n, allow_zero=False))):
        if getattr(spec, name) is not None:
            try:
                check(getattr(spec, name), "@field@")
            except ValueError as error:
                text = str(error).replace("{", "{{").replace("}", "}}")
                problems.append(problem(text.replace("@field@", ref(name))))
    delta, norm = spec.dp_delta, spec.dp_max_grad_norm
    if delta is not None and not 0 < delta < 1:
        problems.append(problem("{dp_delta} must be a float in (0, 1), got {value!r}.",
                                value=delta))
    if norm is not None and not math.isfinite(norm):
        problems.append(problem("{dp_max_grad_norm} must be a finite float > 0, got {value!r}. "
                                "An infinite bound clips nothing, so no noise can hide a row; "
                                "typical bounds are 0.1 to 10.", value=norm))
    elif norm is not None and not norm > 0:
        problems.append(problem("{dp_max_grad_norm} must be a float > 0, got {value!r}.",
                                value=norm))
    return problems


# ------------------------------------------------------------------------------ reading text


def parse_text(options):
    """(field values, problems) of the command line's options; the text ones parsed."""
    values, problems = dict(options), []
    text = values.get("hidden")
    if text is not None:
        try:
            sizes = tuple(int(part) for part in text.split(","))
        except ValueError:
            sizes = ()
        if not sizes or min(sizes) < 1:
            problems.append(_hidden_problem(text))
            sizes = None
        values["hidden"] = sizes
    values["features"] = parse_names(values.get("features"))
    values["exclude"] = parse_names(values.get("exclude"))
    for name, parse in (("dp_bounds", _parse_bounds), ("dp_categories", _parse_categories)):
        if values.get(name) is not None:
            values[name], bad = parse(values[name])
            problems += bad
    return values, problems


def _parse_bounds(text):
    """``((column, lo, hi), ...)`` from ``--dp-bounds COL=LO:HI,...``."""
    bounds, problems = {}, []
    for part in dp_parts(text):
        name, _, spec = part.rpartition("=")
        low, _, high = spec.partition(":")
        try:
            low, high = float(low), float(high)
        except ValueError:
            low = high = math.nan
        if not name or not (math.isfinite(low) and math.isfinite(high) and low < high):
            return None, [problem("{dp_bounds} must be COL=LO:HI pairs with finite LO < HI, "
                                  "such as age=0:100,income=0:2e5, got {value!r}.", value=part)]
        bounds[name] = (low, high)
    return tuple((name, low, high) for name, (low, high) in bounds.items()), problems


def _parse_categories(text):
    """``((column, (category, ...)), ...)`` from ``--dp-categories COL=a|b|c,...``."""
    categories = {}
    for part in dp_parts(text):
        name, _, spec = part.rpartition("=")
        values = spec.split("|")
        if not name or not all(values):
            return None, [problem("{dp_categories} must be COL=A|B|C entries with non-empty "
                                  "categories, such as city=Paris|Rome,sex=f|m, got {value!r}.",
                                  value=part)]
        categories[name] = tuple(values)
    return tuple(categories.items()), []


def typed_values(data, names):
    """The field values of :meth:`TrainSpec.to_dict`'s plain data; SpecError for unknown keys.

    ``names`` are the spec's fields.
    """
    if not isinstance(data, dict):
        raise SpecError([problem("a training specification must be an object, got "
                                 "{value!r:.80}.", value=data)])
    unknown = [key for key in data if key not in names]
    if unknown:
        raise SpecError([problem("a training specification has no field {value!r:.80}.",
                                 value=unknown[0])])
    for name in ("data", "target"):
        if name not in data:
            raise SpecError([problem(f"a training specification must give {ref(name)}.")])
    values = dict(data)
    bounds, categories = values.get("dp_bounds"), values.get("dp_categories")
    if isinstance(bounds, dict):
        values["dp_bounds"] = tuple(
            (k, *v) if isinstance(v, list) and len(v) == 2 else (k, v) for k, v in bounds.items())
    if isinstance(categories, dict):
        values["dp_categories"] = tuple(
            (k, tuple(v) if isinstance(v, list) else v) for k, v in categories.items())
    for name in TEXT[:3]:
        if isinstance(values.get(name), list):
            values[name] = tuple(values[name])
    return values
