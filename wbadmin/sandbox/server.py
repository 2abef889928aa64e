"""The sandbox HTTP server: GraphQL, SCIM and run files on loopback, as W&B serves them.

`build_app()` gives the ASGI app; `SandboxServer` runs it with uvicorn, in the foreground
(`wbadmin sandbox serve`) or on a background thread (the embedded default and the tests).
"""

from __future__ import annotations

import gc
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import clock
from . import auth, ids
from .db import Database
from .faults import FaultMiddleware, Faults
from .gql import executor
from .gql.context import Context
from .one_send import OneSendH11Protocol
from .server_variant import ServerVariant

log = logging.getLogger("wbadmin.sandbox")

MAX_BODY_BYTES = 4 * 1024 * 1024  # larger request bodies get 413


class BodyTooLarge(Exception):
    pass


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None,
                  media_type: str = "application/json") -> Response:
    # One body, one Content-Length: starlette and uvicorn write it without chunking.
    body = b"" if payload is None else _encode(payload)
    return Response(body, status_code=status, headers=headers, media_type=media_type)


def _encode(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as W&B's servers answer. orjson writes a large batched answer
    six times faster than `json`; what it refuses (a key that is not a string, an integer
    past 64 bits) goes to `json`."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class SandboxState:
    db: Database
    faults: Faults = field(default_factory=Faults)
    variant: ServerVariant = field(default_factory=ServerVariant)  # an older W&B, if asked
    requests: int = 0


def base_url_of(request: Request) -> str:
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"


async def graphql_endpoint(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    state.requests += 1
    if request.method != "POST":
        return json_response(405, {"errors": [{"message": "use POST for GraphQL requests"}]})
    try:
        raw = await read_body(request)
    except BodyTooLarge:
        return json_response(413, {"errors": [{"message": "request body too large"}]})
    viewer = auth.identity_for_key(state.db, auth.graphql_key(request.headers.get("authorization")))
    if viewer is None:
        return json_response(401, {"errors": [{"message": "user is not logged in",
                                               "extensions": {"code": "UNAUTHENTICATED"}}]})
    try:
        body = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return json_response(400, {"errors": [{"message": f"malformed JSON body: {exc}"}]})
    ctx = Context(db=state.db, viewer=viewer, base_url=base_url_of(request),
                  headers=dict(request.headers))
    status, payload = executor.run(ctx, body, state.variant)
    if isinstance(payload, str):  # a gateway's own page (ServerVariant over_cap_answer)
        return Response(payload, status_code=status, media_type="text/html")
    return json_response(status, payload)


async def scim_endpoint(request: Request) -> Response:
    from .scim import handler  # the SCIM area is its own package

    state: SandboxState = request.app.state.sandbox
    state.requests += 1
    try:
        raw = await read_body(request)
    except BodyTooLarge:
        return json_response(413, handler.error_payload(413, "request body too large"),
                             media_type="application/scim+json")
    paging = handler.Paging(cap=state.faults.scim_page_cap,
                            honours_start_index=not state.faults.scim_ignore_start_index)
    status, headers, payload = handler.handle(
        state.db, request.method, request.path_params.get("rest", ""),
        dict(request.query_params), dict(request.headers), raw, paging)
    return json_response(status, payload, headers, media_type="application/scim+json")


async def file_endpoint(request: Request) -> Response:
    """Run files, fetched by the SDK with `GET <File.url>` and the same Basic auth."""
    from .gql.files import file_content

    state: SandboxState = request.app.state.sandbox
    state.requests += 1
    viewer = auth.identity_for_key(state.db, auth.graphql_key(request.headers.get("authorization")))
    if viewer is None:
        return json_response(401, {"errors": [{"message": "user is not logged in"}]})
    run_pk = ids.decode(request.path_params["run_id"], "Run")
    found = None if run_pk is None else file_content(state.db, viewer, run_pk,
                                                     request.path_params["name"])
    if found is None:
        return json_response(404, {"errors": [{"message": "file not found"}]})
    content, mimetype = found
    return Response(content, media_type=mimetype)


async def audit_logs_endpoint(request: Request) -> Response:
    """W&B's audit logs: /admin/audit_logs (Dedicated) or /audit_logs (Multi-tenant)."""
    from .audit import handle

    state: SandboxState = request.app.state.sandbox
    state.requests += 1
    status, media_type, body, headers = handle(state.db, request.url.path,
                                               dict(request.query_params),
                                               request.headers.get("authorization"))
    return Response(body, status_code=status, headers=headers, media_type=media_type)


async def faults_endpoint(request: Request) -> Response:
    """GET the fault settings, POST a JSON object of changes, DELETE to reset."""
    faults: Faults = request.app.state.sandbox.faults
    if request.method == "POST":
        try:
            faults.update(**json.loads(await request.body() or b"{}"))
        except (ValueError, TypeError) as exc:
            return json_response(400, {"error": str(exc)})
    elif request.method == "DELETE":
        faults.reset()
    return json_response(200, faults.as_dict())


async def health_endpoint(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    # cpu_seconds: the serving process's CPU time, so a benchmark can tell the server's
    # share of a wait from the client's (the whole process when embedded).
    return json_response(200, {"ok": True, "requests": state.requests,
                               "preset": state.db.get_meta("preset"),
                               "cpu_seconds": round(time.process_time(), 3)})


def build_app(db: Database, faults: Faults | None = None,
              variant: ServerVariant | None = None) -> Any:
    """The sandbox as an ASGI app, fault injection outermost."""
    state = SandboxState(db=db, faults=faults or Faults(), variant=variant or ServerVariant())
    scim = [
        Route("/scim/v2/{rest:path}", scim_endpoint,
              methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/scim/{rest:path}", scim_endpoint,
              methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ] if state.variant.scim else []  # a server without SCIM: 404 there
    routes = [
        Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
        Route("/{prefix:path}/graphql", graphql_endpoint, methods=["GET", "POST"]),
        *scim,
        Route("/files/{run_id}/{name:path}", file_endpoint, methods=["GET"]),
        Route("/admin/audit_logs", audit_logs_endpoint, methods=["GET"]),
        Route("/audit_logs", audit_logs_endpoint, methods=["GET"]),
        Route("/_sandbox/faults", faults_endpoint, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/health", health_endpoint, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    wrapped = FaultMiddleware(app, state.faults)
    wrapped.state = state  # type: ignore[attr-defined]
    return wrapped


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ClockedServer(uvicorn.Server):
    """uvicorn with its `Date` header on wbadmin's clock (`WBADMIN_NOW`), as a W&B server's
    header is on W&B's: clients measure clock skew from it."""

    async def on_tick(self, counter: int) -> bool:
        done = await super().on_tick(counter)
        if counter % 10 == 0 and self.config.date_header:
            date = (b"date", formatdate(clock.now(), usegmt=True).encode())
            self.server_state.default_headers = [date, *self.config.encoded_headers]
        return done


class SandboxServer:
    """uvicorn serving the sandbox on loopback only."""

    def __init__(self, db: Database, port: int = 0, faults: Faults | None = None,
                 host: str = "127.0.0.1", variant: ServerVariant | None = None) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox listens on loopback only")
        self.db = db
        self.app = build_app(db, faults, variant)
        self.variant = variant or ServerVariant()
        self.faults: Faults = self.app.state.faults
        self.host = host
        self.port = port or free_port(host)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                              access_log=False, lifespan="off", timeout_keep_alive=30,
                              http=OneSendH11Protocol)

    def serve_forever(self) -> None:
        """Serve in this process until stopped (`wbadmin sandbox serve`): the process is
        the sandbox's alone, so its garbage collector is tuned for serving."""
        executor.get_schema(self.variant.without)  # built now, not on the first request
        # What start-up built (schema, app, modules) lives as long as the process: keep the
        # collector from walking it again and again. An answer builds tens of thousands of
        # dicts that live until it is sent; collecting every 700 new objects promoted them
        # through every generation (about 8 % of a large batched query's time).
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
        self._server = ClockedServer(self._config())
        self._server.run()

    def start(self, timeout: float = 10.0) -> str:
        """Serve on a daemon thread; returns the base URL once it accepts connections."""
        executor.get_schema(self.variant.without)  # built now, not on the first request
        self._server = ClockedServer(self._config())
        self._thread = threading.Thread(target=self._server.run, name="wbadmin-sandbox",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox could not listen on {self.base_url}")
            time.sleep(0.01)
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
