"""The run of ``numnet train`` as one object: :class:`TrainSpec`.

Every option of a training run (reading the data, preprocessing, model, solver, penalty,
schedule, early stopping, validation, seed, dtype, privacy, cluster, checkpoints) is one field
of a frozen dataclass, with its type, its default and its checks here, in one place. Its
consumers are generated from it: the command line builds it (:meth:`TrainSpec.from_cli`),
:func:`numnet.tabular.fit` trains it, the model file and the checkpoint store it
(:meth:`TrainSpec.to_dict`, :meth:`TrainSpec.from_dict`), ``numnet inspect`` prints the
command that reproduces it (:meth:`TrainSpec.to_args`) and :meth:`TrainSpec.to_python` writes
the same run as Python.

Adding an option is one field here (its type, default, flag and check) and its typer option
in :mod:`numnet.cli.train`.

Problems are :class:`SpecError`: each message is a template that names fields (``{alpha}``),
shown as the field names in Python (``alpha must be ...``) and as the flags on the command
line (``--alpha must be ...``); every problem of the values is reported at once.
"""

import dataclasses
import shlex
from dataclasses import dataclass, field

from .spec_checks import (
    ACTIVATIONS,
    DTYPES,
    IMPUTE,
    MODELS,
    PENALTIES,
    PRESETS,
    SOLVERS,
    TASKS,
    TEXT,
    check_spec,
    parse_text,
    typed_values,
)
from .spec_errors import SpecError
from .spec_render import command_args, python_code


def _option(default=None, flag=None, *, result=True):
    """A field: ``flag`` is the command line's name (default ``--name``).

    ``result`` is False for the fields that do not change the trained model (how the data is
    read, where files go, the cluster).
    """
    return field(default=default, metadata={"flag": flag, "result": result})


@dataclass(frozen=True)
class TrainSpec:
    """Every option of one training run, checked when it is made.

    The fields are ``numnet train``'s options (docs/cli.md), in its help's order, with
    Python values: columns and hidden sizes as tuples, ``dp_bounds`` as ``((column, low,
    high), ...)`` and ``dp_categories`` as ``((column, (category, ...)), ...)``. None
    means the estimator's default. Raises :class:`SpecError` listing every problem.
    """

    data: str = _option(flag="DATA")
    target: str = _option(flag="--target")
    features: tuple | None = _option()
    impute: str | None = _option()
    sample_weight: str | None = _option()
    exclude: tuple | None = _option()
    drop_missing_target: bool = _option(False, result=False)
    sep: str | None = _option(result=False)
    encoding: str | None = _option(result=False)
    scaling: str | None = _option()
    scale_target: bool = _option(True)
    model: str = _option("mlp")
    preset: str | None = _option()
    task: str = _option("auto")
    hidden: tuple | None = _option()
    activation: str | None = _option()
    dropout: float | None = _option()
    penalty: str | None = _option()
    alpha: float | None = _option()
    l1_ratio: float | None = _option()
    solver: str | None = _option()
    epochs: int | None = _option()
    batch_size: int | None = _option()
    learning_rate: float | None = _option()
    early_stopping: bool | None = _option()
    patience: int | None = _option()
    time_limit: float | None = _option()
    refit: bool | None = _option()
    members: int | None = _option()
    validation_fraction: float = _option(0.2)
    validation_batch_size: int | None = _option()
    seed: int = _option(0)
    dtype: str = _option("float64")
    checkpoint_dir: str | None = _option(result=False)
    checkpoint_every: int | None = _option(result=False)
    resume: bool = _option(False, result=False)
    dp_epsilon: float | None = _option()
    dp_delta: float | None = _option()
    dp_max_grad_norm: float | None = _option()
    dp_noise_multiplier: float | None = _option()
    dp_sampler: str | None = _option()
    dp_bounds: tuple | None = _option()
    dp_categories: tuple | None = _option()
    scheduler: str | None = _option(result=False)
    workers: int | None = _option(result=False)

    def __post_init__(self):
        problems = check_spec(self)
        if problems:
            raise SpecError(problems)

    # ----------------------------------------------------------------------------- names

    @staticmethod
    def flag(name):
        """The command line's name of field ``name`` (``--learning-rate``, ``DATA``)."""
        spec = _FIELDS.get(name)
        flag = None if spec is None else spec.metadata["flag"]
        return flag or "--" + name.replace("_", "-")

    @property
    def on_cluster(self):
        """Whether the run is data-parallel on a Dask cluster (--scheduler or --workers)."""
        return self.scheduler is not None or self.workers is not None

    @property
    def private(self):
        """Whether the run trains with differential privacy."""
        return self.dp_epsilon is not None or self.dp_noise_multiplier is not None

    # ------------------------------------------------------------------------ the CLI's text

    @classmethod
    def from_cli(cls, **options):
        r"""The spec of ``numnet train``'s options, as typer parses them (text for lists).

        ``hidden`` is ``"64,32"``, ``features`` and ``exclude`` comma-separated names
        (``\,`` for a comma inside one), ``dp_bounds`` ``"COL=LO:HI,..."`` and
        ``dp_categories`` ``"COL=A|B,..."``; every other option is its field's value.
        Raises :class:`SpecError` with every problem, the text's and the values'.
        """
        values, problems = parse_text(options)
        if problems:
            # the other values' problems too: the spec is built without the unreadable ones
            rest = {k: v for k, v in values.items() if k not in TEXT or v is not None}
            try:
                cls(**rest)
            except SpecError as error:
                problems += error.problems
            raise SpecError(problems)
        return cls(**values)

    def to_args(self, output="model.numnet"):
        """The ``numnet train`` command of this run, shell-quoted, writing ``output``.

        Run in a shell on the same data, it trains the same model, bit for bit.
        """
        return shlex.join(command_args(self, output))

    def to_python(self, output="model.numnet"):
        """Python that trains this run through the API and saves it to ``output``.

        Every value enters the code as the ``repr`` of a plain literal; no text of the
        user's is formatted into code.
        """
        return python_code(self, output)

    # -------------------------------------------------------------------------- plain data

    def to_dict(self):
        """The spec as JSON-ready plain data (lists for tuples, objects for the dp maps)."""
        out = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if name == "dp_bounds" and value is not None:
                value = {column: [low, high] for column, low, high in value}
            elif name == "dp_categories" and value is not None:
                value = {column: list(categories) for column, categories in value}
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

    @classmethod
    def from_dict(cls, data):
        """The spec of :meth:`to_dict`'s data; ValueError for unknown keys, types or ranges.

        Fields missing from ``data`` take their defaults (a file from before a field was
        added), except ``data`` and ``target``; a record from before the presets trained the
        ``classic`` model, and says so.
        """
        if isinstance(data, dict) and "preset" not in data:
            data = {**data, "preset": "classic"}
        return cls(**typed_values(data, _FIELDS))

    def result_record(self):
        """The fields that decide the trained model, as ``--resume`` compares them."""
        record = {name: value for name, value in self.to_dict().items()
                  if _FIELDS[name].metadata["result"] and name != "data"}
        return record

    def replace(self, **changes):
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)


_FIELDS = {f.name: f for f in dataclasses.fields(TrainSpec)}


__all__ = ["ACTIVATIONS", "DTYPES", "IMPUTE", "MODELS", "PENALTIES", "PRESETS", "SOLVERS",
           "TASKS",
           "SpecError", "TrainSpec"]
