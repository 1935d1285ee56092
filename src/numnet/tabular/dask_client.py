"""A Dask client for one run on a cluster (``TrainSpec.scheduler`` or ``workers``).

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

from .reading import DataError
from .spec_errors import SpecError, problem


def available_cores():
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def import_distributed():
    """The ``distributed`` module; SpecError when Dask is not installed."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError:
        raise SpecError([problem("{scheduler} or {workers} needs Dask: pip install "
                                 "'numnet[dask]'.")]) from None
    return distributed


def _not_an_address(scheduler, error):
    return SpecError([problem("{scheduler} must be an address such as tcp://host:8786, got "
                              "{value!r} ({reason}).", value=scheduler, reason=_reason(error))])


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
        raise _not_an_address(scheduler, error) from None

    async def shake():
        comm = await connect(scheduler, timeout=timeout)
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(shake(), timeout))
    except (TimeoutError, asyncio.TimeoutError):  # no answer at all, or no handshake
        raise DataError(f"Cannot reach the Dask scheduler at {scheduler!r}: no Dask scheduler "
                        f"answered within {timeout:g} s. Check the address, and that the "
                        "scheduler is running (dask scheduler).") from None
    except OSError as error:
        if "Timed out trying to connect" in str(error):
            raise DataError(f"Cannot reach the Dask scheduler at {scheduler!r}: no Dask "
                            f"scheduler answered within {timeout:g} s. Check the address, "
                            "and that the scheduler is running (dask scheduler).") from None
        raise DataError(f"Cannot reach the Dask scheduler at {scheduler!r}: "
                        f"{_reason(error)}. Check the address, and that the scheduler "
                        "is running (dask scheduler).") from None
    except Exception:  # noqa: BLE001 - the reply could not be read as Dask's handshake
        raise SpecError([problem("{scheduler} must be the address of a Dask scheduler, got "
                                 "{value!r}: the server there answered, but not in Dask's "
                                 "protocol. Check the host and port (dask scheduler prints "
                                 "its address).", value=scheduler)]) from None


@contextlib.contextmanager
def cluster_client(scheduler, workers):
    """A ``distributed.Client`` for the command (the active one), closed when it ends."""
    distributed = import_distributed()
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
            raise _not_an_address(scheduler, error) from None
        except (OSError, TimeoutError) as error:
            raise DataError(f"Cannot reach the Dask scheduler at {scheduler!r}: "
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
