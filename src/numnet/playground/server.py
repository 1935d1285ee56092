"""The playground's web server: a Starlette app, its JSON API, the stream, and how it is run.

The API (every answer JSON unless said otherwise; an error is ``{"error": message}`` with
status 400, 404 or 503)::

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

import asyncio
import contextlib
import errno
import ipaddress
import signal
import socket
import sys
import threading
import time
import unicodedata
import webbrowser
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocketDisconnect

from .._version import __version__
from .config import (
    ACTIVATIONS,
    MAX_LAYERS,
    MAX_NEURONS,
    OPTIMIZERS,
    REGULARIZATIONS,
    Settings,
    SettingsError,
)
from .datasets import DATASETS, MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS, UploadError, parse_csv
from .export import model_bytes, python_code
from .session import Session

STATIC = Path(__file__).parent / "static"
DEFAULT_PORT = 8765
PORT_TRIES = 20
LANGS = ("en", "zh")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


class PortInUseError(OSError):
    """The port asked for is taken; the message says how to choose another."""


class HostError(OSError):
    """``--host`` names no address this machine can listen on; the message says what to pass."""


class _Store:
    """The sessions of one server, by id."""

    def __init__(self, max_sessions, frame_interval):
        self.sessions, self.lock = {}, threading.Lock()
        self.max_sessions, self.frame_interval = max_sessions, frame_interval
        self.closing = False

    def create(self, settings):
        session = Session(settings, frame_interval=self.frame_interval)
        with self.lock:
            if len(self.sessions) >= self.max_sessions:
                idle = [s for s in self.sessions.values() if s.clients <= 0]
                if not idle:
                    session.close()
                    raise _HTTPError(503, f"{self.max_sessions} pages are open; close one "
                                          "and reload.")
                oldest = min(idle, key=lambda s: s.last_seen)
                del self.sessions[oldest.id]
                oldest.close()
            self.sessions[session.id] = session
        return session

    def get(self, session_id):
        with self.lock:
            session = self.sessions.get(session_id)
        if session is None:
            raise _HTTPError(404, f"no session {session_id!r:.40} (the server was restarted?); "
                                  "reload the page for a new one.")
        return session

    def close(self):
        self.closing = True
        with self.lock:
            sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            session.close()


class _HTTPError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _json_error(status, message):
    return JSONResponse({"error": message}, status_code=status)


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
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {list(LANGS)}, got {lang!r}.")
    store = _Store(max_sessions, frame_interval)
    hosts = None if allowed_hosts is None else tuple(h.lower() for h in allowed_hosts)

    def guarded(handler):
        """Host and Origin checks, the session lookup and error answers for one endpoint."""
        def endpoint(request):
            refused = _refused(request.headers, hosts, request.method)
            if refused:
                return _json_error(403, refused)
            try:
                if "session" in request.path_params:
                    return handler(request, store.get(request.path_params["session"]))
                return handler(request)
            except _HTTPError as error:
                return _json_error(error.status, str(error))
            except (SettingsError, UploadError) as error:
                return _json_error(400, str(error))
        return endpoint

    def config(request):
        return JSONResponse({
            "lang": lang, "version": __version__, "datasets": [*DATASETS, "csv"],
            "activations": list(ACTIVATIONS), "optimizers": list(OPTIMIZERS),
            "regularizations": list(REGULARIZATIONS), "max_layers": MAX_LAYERS,
            "max_neurons": MAX_NEURONS, "max_upload_bytes": MAX_UPLOAD_BYTES,
            "max_upload_rows": MAX_UPLOAD_ROWS, "defaults": Settings().to_dict()})

    def create(request):
        body = _body(request)
        settings = Settings.from_dict(body.get("settings", {}))
        if settings.dataset == "csv":
            settings.dataset = "circles"  # a new session has no upload yet
        return JSONResponse(store.create(settings).status(), status_code=201)

    def status(request, session):
        return JSONResponse(session.status())

    def settings(request, session):
        session.configure(Settings.from_dict(_body(request)))
        return JSONResponse(session.status())

    def control(request, session):
        action = request.path_params["action"]
        getattr(session, action)()
        return JSONResponse(session.status())

    def speed(request, session):
        try:
            session.set_speed(_body(request).get("epochs_per_second"))
        except (TypeError, ValueError) as error:
            raise _HTTPError(400, str(error) if isinstance(error, ValueError) else
                             "epochs_per_second must be a number from 0 to 10000.") from None
        return JSONResponse(session.status())

    def upload(request, session):
        data = _read_body(request)
        X, y, task, classes = parse_csv(data)
        name = _file_name(request.query_params.get("name", ""))
        current = Settings.from_dict(session.settings.to_dict())
        current.dataset = "csv"
        session.configure(current, upload=(X, y, task, classes, name))
        return JSONResponse(session.status())

    def trace(request, session):
        query = request.query_params
        subset = query.get("subset", "train")
        trace_lang = query.get("lang", lang)
        if trace_lang not in LANGS:
            raise _HTTPError(400, f"lang must be one of {list(LANGS)}, got {trace_lang!r:.20}.")
        try:
            index = int(query.get("index", ""))
            return JSONResponse(session.trace(subset, index, trace_lang))
        except (ValueError, IndexError) as error:
            message = str(error) if isinstance(error, IndexError) else \
                "index must be the number of a point, e.g. index=0."
            raise _HTTPError(400, message) from None

    def model(request, session):
        net, epoch = session.network()
        with session._cond:
            losses = session.train_loss[:epoch], session.test_loss[:epoch]
            task, classes, s = session.data.task, session.classes, session.settings
        data = model_bytes(s, net, task, classes=classes, train_loss=losses[0],
                           test_loss=losses[1])
        name = f"playground-{s.dataset}-epoch{epoch}.numnet"
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def code(request, session):
        with session._cond:
            s, epoch, upload = session.settings, session.frame.epoch, session.upload
        return PlainTextResponse(python_code(s, epoch, upload=upload),
                                 media_type="text/x-python")

    def index(request):
        refused = _refused(request.headers, hosts, "GET")
        if refused:
            return _json_error(403, refused)
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def stream(websocket):
        refused = _refused(websocket.headers, hosts, "WS")
        if refused:
            await websocket.close(code=1008, reason=refused[:120])
            return
        try:
            session = store.get(websocket.path_params["session"])
        except _HTTPError as error:
            await websocket.accept()
            await websocket.send_json({"type": "error", "error": str(error), "status": 404})
            await websocket.close(code=4404)
            return
        await websocket.accept()
        await _stream(websocket, session, store)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        store.close()

    session_path = "/api/sessions/{session}"
    routes = [
        Route("/", index),
        Route("/api/config", guarded(config)),
        Route("/api/sessions", guarded(create), methods=["POST"]),
        Route(session_path, guarded(status)),
        Route(session_path + "/settings", guarded(settings), methods=["PUT"]),
        Route(session_path + "/speed", guarded(speed), methods=["POST"]),
        Route(session_path + "/upload", guarded(upload), methods=["POST"]),
        Route(session_path + "/trace", guarded(trace)),
        Route(session_path + "/model", guarded(model)),
        Route(session_path + "/code", guarded(code)),
        WebSocketRoute(session_path + "/stream", stream),
        Route(session_path + "/{action:str}", _only(guarded(control), "play", "pause", "step",
                                                     "reset"), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.store = store
    return app


def _only(endpoint, *actions):
    def route(request):
        if request.path_params["action"] not in actions:
            return _json_error(404, f"unknown action {request.path_params['action']!r:.30}; "
                                    f"the actions are {list(actions)}.")
        return endpoint(request)
    return route


def _file_name(name):
    """An uploaded file's name as the page and the script show it.

    Its last part, without control, format or line-separator characters (a newline, U+2028, a
    bidi override), at most 100 characters; ``upload.csv`` when nothing is left.
    """
    name = Path(name).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C"
                   and unicodedata.category(c) not in ("Zl", "Zp"))
    return name.strip()[:100] or "upload.csv"


def _body(request):
    import json

    raw = _read_body(request)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _HTTPError(400, "the request body must be JSON.") from None
    except RecursionError:
        raise _HTTPError(400, "the request body must be a JSON object of settings, got one "
                              "nested too deeply.") from None
    if not isinstance(body, dict):
        raise _HTTPError(400, "the request body must be a JSON object.")
    return body


def _read_body(request):
    """The request body, read in the worker thread (the endpoints are synchronous)."""
    from anyio.from_thread import run

    async def read():
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise UploadError(f"The file is over {MAX_UPLOAD_BYTES:,} bytes; the "
                                  f"playground takes up to {MAX_UPLOAD_ROWS:,} rows.")
            chunks.append(chunk)
        return b"".join(chunks)

    return run(read)


def _refused(headers, hosts, method):
    """Why a request must be refused (a foreign Host or Origin), or None."""
    host = headers.get("host", "")
    if hosts is not None and _hostname(host) not in hosts:
        return f"host {host!r:.60} is not served; open http://{hosts[0]} instead."
    origin = headers.get("origin")
    if origin and method != "GET" and urlsplit(origin).netloc.lower() != host.lower():
        return f"requests from {origin!r:.60} are refused: the playground serves its own page."
    return None


def _hostname(host):
    host = host.lower()
    if host.startswith("["):
        return host[:host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _stream(websocket, session, store):
    """Send the setup, then every new frame with the losses the page has not seen yet."""
    session.connect()
    closed = asyncio.ensure_future(_until_closed(websocket))
    setup_version, frame_version, generation, sent = None, None, None, 0
    try:
        while not closed.done() and not store.closing:
            if session.setup_version != setup_version:
                setup = session.setup()
                setup_version = setup["version"]
                await websocket.send_json(setup)
            frame = session.frame
            if frame.version != frame_version:
                frame_version = frame.version
                run, train_loss, test_loss = session.losses(0)
                if run != generation:
                    generation, sent = run, 0
                train_loss, test_loss = train_loss[:frame.epoch], test_loss[:frame.epoch]
                sent = min(sent, len(train_loss))
                message = dict(frame.payload, loss_start=sent, train_loss=train_loss[sent:],
                               test_loss=test_loss[sent:], version=frame.version)
                sent = len(train_loss)
                await websocket.send_json(message)
            await asyncio.wait([closed], timeout=min(session.frame_interval, 0.05) / 2)
        if store.closing and not closed.done():
            await websocket.close(code=1001, reason="the playground server is stopping")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the page went away mid-send
    finally:
        closed.cancel()
        session.disconnect()


async def _until_closed(websocket):
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


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
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2,
                            ws_ping_interval=None, lifespan="on")
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
