"""The playground's routes, grouped by what they serve, and the checks every request passes.

Four groups, each a short function of the :class:`Context` that returns its routes:

    page_routes      GET /, /api/config, /static/...      the page and what it is built from
    session_routes   POST /api/sessions, GET|PUT|POST /api/sessions/{id}[/settings|speed|action]
    upload_routes    POST /api/sessions/{id}/upload       a CSV data set
    output_routes    GET  /api/sessions/{id}/trace|model|code   what a session hands out
    stream_routes    WS   /api/sessions/{id}/stream       the frames of a run

Every endpoint goes through :meth:`Context.guarded`: the Host and Origin checks, the session
lookup and the JSON error answers.
"""

import asyncio
import json
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

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
LANGS = ("en", "zh")
SESSION = "/api/sessions/{session}"
ACTIONS = ("play", "pause", "step", "reset")


class HTTPError(Exception):
    """An answer other than 200: ``{"error": message}`` with ``status``."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Store:
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
                    raise HTTPError(503, f"{self.max_sessions} pages are open; close one "
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
            raise HTTPError(404, f"no session {session_id!r:.40} (the server was restarted?); "
                                 "reload the page for a new one.")
        return session

    def close(self):
        self.closing = True
        with self.lock:
            sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            session.close()


def json_error(status, message):
    """The answer to a refused request: ``{"error": message}`` with ``status``."""
    return JSONResponse({"error": message}, status_code=status)


@dataclass
class Context:
    """What the routes of one app share: its sessions, the hosts it answers, its language."""

    store: Store
    hosts: tuple | None  # lower-case Host names served; None: any
    lang: str

    def refused(self, headers, method):
        """Why a request must be refused (a foreign Host or Origin), or None."""
        host = headers.get("host", "")
        if self.hosts is not None and _hostname(host) not in self.hosts:
            return f"host {host!r:.60} is not served; open http://{self.hosts[0]} instead."
        origin = headers.get("origin")
        if origin and method != "GET" and urlsplit(origin).netloc.lower() != host.lower():
            return (f"requests from {origin!r:.60} are refused: the playground serves its own "
                    "page.")
        return None

    def guarded(self, handler):
        """Host and Origin checks, the session lookup and error answers for one endpoint."""
        def endpoint(request):
            refused = self.refused(request.headers, request.method)
            if refused:
                return json_error(403, refused)
            try:
                if "session" in request.path_params:
                    return handler(request, self.store.get(request.path_params["session"]))
                return handler(request)
            except HTTPError as error:
                return json_error(error.status, str(error))
            except (SettingsError, UploadError) as error:
                return json_error(400, str(error))
        return endpoint


def page_routes(ctx):
    """The page, the choices and limits it is built from, and its static files."""
    def index(request):
        refused = ctx.refused(request.headers, "GET")
        if refused:
            return json_error(403, refused)
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    def config(request):
        return JSONResponse({
            "lang": ctx.lang, "version": __version__, "datasets": [*DATASETS, "csv"],
            "activations": list(ACTIVATIONS), "optimizers": list(OPTIMIZERS),
            "regularizations": list(REGULARIZATIONS), "max_layers": MAX_LAYERS,
            "max_neurons": MAX_NEURONS, "max_upload_bytes": MAX_UPLOAD_BYTES,
            "max_upload_rows": MAX_UPLOAD_ROWS, "defaults": Settings().to_dict()})

    return [Route("/", index), Route("/api/config", ctx.guarded(config)),
            Mount("/static", StaticFiles(directory=STATIC), name="static")]


def session_routes(ctx):
    """A new session, its status, its settings, its speed and the play/pause/step/reset actions.

    The action route matches any last path part, so it comes after every other session route.
    """
    def create(request):
        settings = Settings.from_dict(_body(request).get("settings", {}))
        if settings.dataset == "csv":
            settings.dataset = "circles"  # a new session has no upload yet
        return JSONResponse(ctx.store.create(settings).status(), status_code=201)

    def status(request, session):
        return JSONResponse(session.status())

    def settings(request, session):
        session.configure(Settings.from_dict(_body(request)))
        return JSONResponse(session.status())

    def speed(request, session):
        try:
            session.set_speed(_body(request).get("epochs_per_second"))
        except (TypeError, ValueError) as error:
            raise HTTPError(400, str(error) if isinstance(error, ValueError) else
                            "epochs_per_second must be a number from 0 to 10000.") from None
        return JSONResponse(session.status())

    def control(request, session):
        getattr(session, request.path_params["action"])()
        return JSONResponse(session.status())

    guarded_control = ctx.guarded(control)

    def action(request):  # an unknown action is answered before any other check
        if request.path_params["action"] not in ACTIONS:
            return json_error(404, f"unknown action {request.path_params['action']!r:.30}; "
                                   f"the actions are {list(ACTIONS)}.")
        return guarded_control(request)

    return [Route("/api/sessions", ctx.guarded(create), methods=["POST"]),
            Route(SESSION, ctx.guarded(status)),
            Route(SESSION + "/settings", ctx.guarded(settings), methods=["PUT"]),
            Route(SESSION + "/speed", ctx.guarded(speed), methods=["POST"]),
            Route(SESSION + "/{action:str}", action, methods=["POST"])]


def upload_routes(ctx):
    """A CSV (the request body) as the session's data set: a new run on it."""
    def upload(request, session):
        X, y, task, classes = parse_csv(_read_body(request))
        name = _file_name(request.query_params.get("name", ""))
        current = Settings.from_dict(session.settings.to_dict())
        current.dataset = "csv"
        session.configure(current, upload=(X, y, task, classes, name))
        return JSONResponse(session.status())

    return [Route(SESSION + "/upload", ctx.guarded(upload), methods=["POST"])]


def output_routes(ctx):
    """What a session hands out: one point's trace, the model file, the Python script."""
    def trace(request, session):
        query = request.query_params
        subset, lang = query.get("subset", "train"), query.get("lang", ctx.lang)
        if lang not in LANGS:
            raise HTTPError(400, f"lang must be one of {list(LANGS)}, got {lang!r:.20}.")
        try:
            return JSONResponse(session.trace(subset, int(query.get("index", "")), lang))
        except (ValueError, IndexError) as error:
            message = str(error) if isinstance(error, IndexError) else \
                "index must be the number of a point, e.g. index=0."
            raise HTTPError(400, message) from None

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

    return [Route(SESSION + "/trace", ctx.guarded(trace)),
            Route(SESSION + "/model", ctx.guarded(model)),
            Route(SESSION + "/code", ctx.guarded(code))]


def stream_routes(ctx):
    """The WebSocket of a session: its setup, then its frames (see :func:`_stream`)."""
    async def stream(websocket):
        refused = ctx.refused(websocket.headers, "WS")
        if refused:
            await websocket.close(code=1008, reason=refused[:120])
            return
        try:
            session = ctx.store.get(websocket.path_params["session"])
        except HTTPError as error:
            await websocket.accept()
            await websocket.send_json({"type": "error", "error": str(error), "status": 404})
            await websocket.close(code=4404)
            return
        await websocket.accept()
        await _stream(websocket, session, ctx.store)

    return [WebSocketRoute(SESSION + "/stream", stream)]


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
    raw = _read_body(request)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise HTTPError(400, "the request body must be JSON.") from None
    except RecursionError:
        raise HTTPError(400, "the request body must be a JSON object of settings, got one "
                             "nested too deeply.") from None
    if not isinstance(body, dict):
        raise HTTPError(400, "the request body must be a JSON object.")
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
