"""``numnet train --scheduler ADDRESS | --workers N``: a Dask client for one command.

``--workers N`` starts a ``LocalCluster`` of N worker processes (one thread each) for the run
and closes it when the command ends, on success, on an error or on Ctrl-C; ``--scheduler``
connects to a running scheduler (the connection timeout is Dask's
``distributed.comm.timeouts.connect``, 30 s by default).
"""

import contextlib
import logging

from .common import UserError

CLUSTER_FLAGS = "--scheduler or --workers"

_NOT_YET = {
    # option: (why the data-parallel path cannot do it yet, what to do instead)
    "--dp-epsilon": ("private training runs in one process", "Train in memory"),
    "--dp-noise-multiplier": ("private training runs in one process", "Train in memory"),
    "--early-stopping": ("the stopping split would be drawn from rows on the workers",
                         "Train for a fixed --epochs, or in memory"),
    "--dropout": ("each worker's copy of the network would draw the same mask",
                  "Leave out --dropout, or train in memory"),
    "--impute median": ("an exact median needs the whole column in one place",
                        "Pass --impute mean or most_frequent, or train in memory"),
}

DASK_SOLVERS = {"linear": ("gd", "lbfgs"), "logistic": ("gd", "lbfgs"),
                "mlp": ("adam", "lbfgs", "sgd")}
"""The solvers of each --model that train data-parallel (the estimators' dask solvers)."""


def check_cluster_options(*, scheduler, workers, data, options):
    """Refuse, before any work, what the data-parallel path cannot do; ``options`` by flag."""
    if scheduler is not None and workers is not None:
        raise UserError("--scheduler and --workers exclude each other: connect to a running "
                        "cluster (--scheduler ADDRESS) or start one on this machine "
                        "(--workers N), not both.")
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be an integer >= 1, got {workers!r}.")
    if data == "-":
        raise UserError(f"DATA must be a file, folder or glob with {CLUSTER_FLAGS}, got - "
                        "(the workers cannot read stdin). Save the table to a file.")
    for flag, given in options.items():
        if given and flag in _NOT_YET:
            why, fix = _NOT_YET[flag]
            raise UserError(f"{flag} does not work with {CLUSTER_FLAGS} yet: {why}. {fix} "
                            f"(without {CLUSTER_FLAGS}).")
    model, solver = options["--model"], options["--solver"]
    if solver is not None and solver not in DASK_SOLVERS.get(model, (solver,)):
        listed = ", ".join(DASK_SOLVERS[model])
        raise UserError(f"--solver {solver} does not work with {CLUSTER_FLAGS} and --model "
                        f"{model} yet: pass one of {listed}, or train in memory.")
    _import_distributed()  # the dask extra, before anything is read


def _import_distributed():
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError:
        raise UserError(f"{CLUSTER_FLAGS} needs Dask: pip install 'numnet[dask]'.") from None
    return distributed


def _reason(error):
    return " ".join(str(error).split()).rstrip(".") or type(error).__name__


@contextlib.contextmanager
def cluster_client(scheduler, workers):
    """A ``distributed.Client`` for the command (the active one), closed when it ends."""
    distributed = _import_distributed()
    import dask

    # Ctrl-C mid-step leaves Dask's pending gathers to be collected at exit, each printed as
    # "Task exception was never retrieved" by asyncio's logger: not the user's concern.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    cluster = None
    if workers is not None:
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None,
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
    else:
        timeout = dask.config.get("distributed.comm.timeouts.connect")
        try:
            client = distributed.Client(scheduler, timeout=timeout)
        except (ValueError, TypeError) as error:
            raise UserError(f"--scheduler must be an address such as tcp://host:8786, got "
                            f"{scheduler!r} ({_reason(error)}).") from None
        except (OSError, TimeoutError) as error:
            raise UserError(f"Cannot reach the Dask scheduler at {scheduler!r}: "
                            f"{_reason(error)}. Check the address, and that the scheduler "
                            "is running (dask scheduler).") from None
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
