"""``numnet train --scheduler ADDRESS | --workers N``: a Dask client for one command.

``--workers N`` starts a ``LocalCluster`` of N worker processes (one thread each) for the run
and closes it when the command ends, on success, on an error or on Ctrl-C; N is at most the
number of CPU cores this process may use. ``--scheduler`` connects to a running scheduler: the
connection and Dask's handshake must both be done within Dask's
``distributed.comm.timeouts.connect`` (30 s by default), else the command ends with one line
(a server that accepts and never answers, or answers but not in Dask's protocol, such as an
HTTP server, included).
"""

import contextlib
import logging
import os

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
    # last: on a machine with fewer cores, the refusals above still name their option
    if workers is not None and workers > available_cores():
        cores = available_cores()
        raise UserError(f"--workers must be at most the number of CPU cores of this machine "
                        f"({cores}), got {workers!r}. Pass --workers {cores} or fewer, or start "
                        "a cluster on several machines and pass --scheduler ADDRESS.")
    _import_distributed()  # the dask extra, before anything is read


def available_cores():
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _import_distributed():
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError:
        raise UserError(f"{CLUSTER_FLAGS} needs Dask: pip install 'numnet[dask]'.") from None
    return distributed


def _reason(error):
    return " ".join(str(error).split()).rstrip(".") or type(error).__name__


def _shake_hands(scheduler, timeout):
    """Connect to ``scheduler`` and complete Dask's handshake within ``timeout`` seconds.

    ``distributed.Client`` bounds the connection but not the handshake that follows: a server
    that accepts and never answers holds it forever, and one that answers in another protocol
    (an HTTP server) has its first bytes read as a frame length (an allocation of exabytes).
    One connection made here, under one deadline, turns both into one line.
    """
    import asyncio

    from distributed.comm import connect
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(scheduler)
        get_backend(scheme)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except (ValueError, TypeError) as error:
        raise UserError(f"--scheduler must be an address such as tcp://host:8786, got "
                        f"{scheduler!r} ({_reason(error)}).") from None

    async def shake():
        comm = await connect(scheduler, timeout=timeout)
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(shake(), timeout))
    except (TimeoutError, asyncio.TimeoutError):  # no answer at all, or no handshake
        raise UserError(f"Cannot reach the Dask scheduler at {scheduler!r}: no Dask scheduler "
                        f"answered within {timeout:g} s. Check the address, and that the "
                        "scheduler is running (dask scheduler).") from None
    except OSError as error:
        if "Timed out trying to connect" in str(error):
            raise UserError(f"Cannot reach the Dask scheduler at {scheduler!r}: no Dask "
                            f"scheduler answered within {timeout:g} s. Check the address, "
                            "and that the scheduler is running (dask scheduler).") from None
        raise UserError(f"Cannot reach the Dask scheduler at {scheduler!r}: "
                        f"{_reason(error)}. Check the address, and that the scheduler "
                        "is running (dask scheduler).") from None
    except Exception:  # noqa: BLE001 - the reply could not be read as Dask's handshake
        raise UserError(f"--scheduler must be the address of a Dask scheduler, got "
                        f"{scheduler!r}: the server there answered, but not in Dask's "
                        "protocol. Check the host and port (dask scheduler prints its "
                        "address).") from None


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
                                           silence_logs=logging.CRITICAL)
        client = distributed.Client(cluster)
    else:
        from dask.utils import parse_timedelta

        timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")
        _shake_hands(scheduler, timeout)
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
