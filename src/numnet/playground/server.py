"""The playground's web server: a Starlette app, its JSON API, the stream, and how it is run.

The API (routes in :mod:`numnet.playground.routes`; every answer JSON unless said otherwise; an
error is ``{"error": message}`` with status 400, 404 or 503)::

    GET  /api/config                            language, version, choices and limits
    POST /api/sessions                          a new session {settings?}; its status (201)
    GET  /api/sessions/{id}                     its status: state, epoch, settings
    PUT  /api/sessions/{id}/settings            new settings: a new run from epoch 0
    POST /api/sessions/{id}/play|pause|step|reset
    POST /api/sessions/{id}/speed               {"epochs_per_second": n}
    POST /api/sessions/{id}/upload?name=F       a CSV (the body): x1, x2, label
    GET  /api/sessions/{id}/trace?subset=train&index=i&lang=en
    GET  /api/sessions/{id}/model               the .numnet file (application/octet-stream)
    GET  /api/sessions/{id}/code                the Python script (text/x-python)
    WS   /api/sessions/{id}/stream              {"type": "setup"} then {"type": "frame"}s

Sessions are kept in memory (at most ``max_sessions``; the one idle longest goes first). Each
page keeps its session's id for the tab, so a reload reconnects to the same run. Bound to a
loopback address, the server answers only requests whose ``Host`` is a loopback name and
refuses requests from pages of other origins (``Origin``), so a web site cannot drive it.
"""

import contextlib
import errno
import ipaddress
import signal
import socket
import sys
import threading
import time
import webbrowser

from starlette.applications import Starlette

from .routes import (
    LANGS,
    STATIC,  # noqa: F401  (where the page's files are, for callers)
    Context,
    Store,
    output_routes,
    page_routes,
    session_routes,
    stream_routes,
    upload_routes,
)

DEFAULT_PORT = 8765
PORT_TRIES = 20
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


class PortInUseError(OSError):
    """The port asked for is taken; the message says how to choose another."""


class HostError(OSError):
    """``--host`` names no address this machine can listen on; the message says what to pass."""


def create_app(*, lang="en", max_sessions=32, frame_interval=0.05, allowed_hosts=None):
    """The Starlette application.

    Parameters
    ----------
    lang : {"en", "zh"}, default="en"
        The page's language until the reader picks another.
    max_sessions : int, default=32
    frame_interval : float, default=0.05
        Least seconds between two frames of a session (20 a second at most).
    allowed_hosts : sequence of str or None, default=None
        Host names the server answers to (``Host`` header, without the port); None answers
        any. :func:`serve` passes the loopback names when bound to a loopback address.

    Returns
    -------
    starlette.applications.Starlette
        Its routes come from :mod:`numnet.playground.routes`, grouped by what they serve;
        ``app.state.store`` holds the sessions.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {list(LANGS)}, got {lang!r}.")
    store = Store(max_sessions, frame_interval)
    hosts = None if allowed_hosts is None else tuple(h.lower() for h in allowed_hosts)
    ctx = Context(store, hosts, lang)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        store.close()

    # the session routes last: their action route matches any last path part
    routes = [*page_routes(ctx), *upload_routes(ctx), *output_routes(ctx), *stream_routes(ctx),
              *session_routes(ctx)]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.store = store
    return app


# --------------------------------------------------------------------------------- serving


def resolve_host(host):
    """The one address ``host`` names (IPv4 first), as the socket will be bound to it.

    ``127.1`` is 127.0.0.1, ``localhost`` 127.0.0.1, ``0`` 0.0.0.0: whether the page stays on
    this machine, the Host check and the printed address all follow from this address, never
    from the spelling of ``host``.

    Returns
    -------
    address : str
        ``"127.0.0.1"``, ``"::1"``, ``"0.0.0.0"``, ...
    family : socket.AddressFamily

    Raises
    ------
    HostError
        For an empty ``host`` or a name that does not resolve.
    """
    how = "Leave it out for 127.0.0.1 (this machine only), or pass 0.0.0.0 for every interface."
    if not host.strip():
        raise HostError(f"--host must be an address or a host name, got {host!r}. {how}")
    try:
        found = socket.getaddrinfo(host.strip().strip("[]"), None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise HostError(f"--host must be an address or a host name this machine resolves, got "
                        f"{host!r:.80}. {how}") from None
    family, *_, address = min(found, key=lambda info: info[0] != socket.AF_INET)
    return address[0], family


def is_loopback(address):
    """True for an address of this machine only: 127.x.x.x and ::1."""
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_host(address):
    """The address as a browser's URL writes it; every interface is opened on loopback."""
    address = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(address, address)
    return f"[{address}]" if ":" in address else address


def bind(host="127.0.0.1", port=None):
    """A listening socket: on ``port``, or with ``port=None`` the first free one from 8765.

    ``host`` is resolved with :func:`resolve_host`.

    Raises
    ------
    PortInUseError
        When ``port`` is given and taken (or no port of the 20 tried is free).
    HostError
        When ``host`` is empty or does not resolve.
    """
    address, family = resolve_host(host)
    ports = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES)
    for candidate in ports:
        sock = socket.socket(family, socket.SOCK_STREAM)
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, candidate))
            sock.listen(128)
        except OSError as error:
            sock.close()
            if error.errno != errno.EADDRINUSE:
                raise OSError(f"cannot listen on {host}:{candidate}: {error.strerror}.") \
                    from error
            if port is not None:
                raise PortInUseError(
                    f"port {port} on {host} is in use (another numnet playground?). Pass "
                    "another --port, or --port 0 for any free one.") from error
            continue
        sock.setblocking(False)
        return sock
    raise PortInUseError(f"ports {DEFAULT_PORT} to {DEFAULT_PORT + PORT_TRIES - 1} on {host} are "
                         "all in use. Pass --port 0 for any free one.")


def host_warning(host, port):
    """The loud warning printed when the server listens beyond this machine."""
    bar = "!" * 78
    return (f"{bar}\nWARNING: the playground listens on {host}:{port}, reachable from other "
            "machines.\nAnyone who can reach this address can start training on this computer "
            "and\nupload data to it. There is no password. Use it only on a network you trust,"
            "\nand stop it (Ctrl-C) when you are done.\n{bar}".replace("{bar}", bar))


def _echo(message, err=False):
    print(message, file=sys.stderr if err else sys.stdout, flush=True)


class _Stopped(BaseException):
    """Ctrl-C or SIGTERM reached :func:`serve`: the server has stopped (a BaseException)."""


def _stop(signum, frame):
    raise _Stopped


def serve(*, host="127.0.0.1", port=None, lang="en", open_browser=True, echo=_echo):
    """Run the playground until Ctrl-C (SIGINT) or SIGTERM; both stop it the same way.

    Parameters
    ----------
    host : str, default="127.0.0.1"
        Resolved once (:func:`resolve_host`). A loopback address keeps the page on this
        machine and the server answers only Host headers that name it; any other address
        prints a warning and answers any Host.
    port : int or None, default=None
        None tries 8765 and the next 19 ports; 0 picks any free one.
    lang : {"en", "zh"}, default="en"
    open_browser : bool, default=True
    echo : callable, default=print to stdout
        ``echo(message, err=False)``: where the address and messages go (the warning with
        ``err=True``).
    """
    import uvicorn

    address, _ = resolve_host(host)
    sock = bind(address, port)
    actual = sock.getsockname()[1]
    local = is_loopback(address)
    shown = _url_host(address)
    url = f"http://{shown}:{actual}/"
    if lang != "en":
        url += f"?lang={lang}"
    if port is None and actual != DEFAULT_PORT:
        echo(f"port {DEFAULT_PORT} is in use; using {actual}.")
    if not local:
        echo(host_warning(f"[{address}]" if ":" in address else address, actual), err=True)
    hosts = (shown, *[name for name in LOOPBACK_NAMES if name != shown])
    app = create_app(lang=lang, allowed_hosts=hosts if local else None)
    # log_config=None: uvicorn leaves the process's logging alone (its default dictConfig
    # replaces every handler, the caller's included); its warnings still reach stderr
    config = uvicorn.Config(app, log_config=None, log_level="warning",
                            timeout_graceful_shutdown=2, ws_ping_interval=None, lifespan="on")
    store = app.state.store

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            store.closing = True  # the streams end and close their sockets at once
            super().handle_exit(sig, frame)

    server = Server(config)
    echo(f"numnet playground: {url}  (Ctrl-C stops it)")
    if open_browser:
        def opener():
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                webbrowser.open(url)
        threading.Thread(target=opener, daemon=True).start()
    # uvicorn handles SIGINT and SIGTERM alike (a graceful shutdown), then raises the signal
    # again with the handlers it found: ours, whatever the caller had installed, so that both
    # end here as what was asked for (exit 0), not as an interrupted command
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, _stop)
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, _Stopped):
        pass  # stopping is what was asked for
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sock.close()
    echo("numnet playground stopped.")
