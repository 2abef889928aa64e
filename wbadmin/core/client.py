"""One async httpx client for W&B's GraphQL and SCIM APIs.

- Typed errors (`errors.py`) whose messages say what to do.
- Retries with exponential backoff and jitter for 5xx, 429 (honouring `Retry-After`) and
  dropped connections; never for other 4xx. A mutation is retried only when the server
  cannot have acted on it (connect failures, 429, 503): a connection dropped after a
  mutation was sent makes its outcome unknown, and the change engine re-reads to learn it.
- A cap on requests in flight (a semaphore), shared by GraphQL and SCIM.
- Every attempt is reported to `on_request` (the TUI's API-call log) as a `RequestRecord`.
- The API key is held as a `Secret` and scrubbed from every message that leaves here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from .. import clock
from . import errors as E
from .root_fields import root_fields

K = TypeVar("K")  # what a connection of paginate_many belongs to (a team name)

log = logging.getLogger("wbadmin.client")

USER_AGENT = "wbadmin/0.1 (+https://github.com/wbadmin)"
TRANSPORT_ERRORS = (httpx.TransportError,)
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP attempt, for the API-call log. Never holds headers or bodies."""

    started_at: float
    method: str
    api: str  # "graphql" | "scim" | "audit"
    target: str  # operation name, or the SCIM path
    status: int | None
    duration_ms: float
    attempt: int
    error: str | None
    request_id: str


@dataclass(frozen=True)
class ScimResponse:
    status: int
    data: Any
    etag: str | None
    request_id: str
    answered: str = ""  # "<url> answered HTTP <status> with", for a shape error's message


def operation_name(query: str) -> str:
    """The name after `query`/`mutation` for the log, or 'anonymous'."""
    for word in ("query", "mutation"):
        idx = query.find(word + " ")
        if idx != -1:
            rest = query[idx + len(word) + 1:].lstrip()
            name = rest.split("(", 1)[0].split("{", 1)[0].strip()
            if name:
                return name
    return "anonymous"


def is_mutation(query: str) -> bool:
    return query.lstrip().startswith("mutation")


class Client:
    def __init__(self, base_url: str, api_key: str, *, scim_prefix: str = "/scim",
                 scim_username: str | None = None, max_in_flight: int = 8,
                 max_retries: int = 4, timeout: float = 30.0, connect_timeout: float = 10.0,
                 give_up_after: float = 60.0, backoff_base: float = 0.5,
                 backoff_cap: float = 20.0,
                 on_request: Callable[[RequestRecord], None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 request_ids: Callable[[], str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.scim_prefix = "/" + scim_prefix.strip("/")
        self.scim_username = scim_username
        self._key = str(api_key)
        self.max_retries = max_retries
        self.give_up_after = give_up_after
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_request = on_request
        self._new_request_id = request_ids or (lambda: uuid.uuid4().hex[:16])
        self._sem = asyncio.Semaphore(max_in_flight)
        self._max_in_flight = max_in_flight
        self.requests_sent = 0
        self._http = httpx.AsyncClient(
            # `timeout` bounds each wait for progress (a read, a write, a free connection),
            # not the whole answer: a long answer that keeps arriving is not cut.
            base_url=self.base_url, transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=max_in_flight,
                                max_keepalive_connections=max_in_flight))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- auth headers (the only place the key is used) -----------------------------------

    def _graphql_auth(self) -> str:
        return "Basic " + base64.b64encode(f"api:{self._key}".encode()).decode()

    def _scim_auth(self) -> str:
        # W&B documents Basic `user:key` everywhere and Bearer on newer servers only, so
        # Basic is used whenever the username is known.
        if self.scim_username:
            raw = f"{self.scim_username}:{self._key}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return f"Bearer {self._key}"

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "[redacted]") if self._key else text

    # ---- transport with retries ----------------------------------------------------------

    async def _send(self, method: str, url: str, *, api: str, target: str, idempotent: bool,
                    headers: Mapping[str, str], json_body: Any = None,
                    params: Mapping[str, str] | None = None) -> tuple[httpx.Response, str]:
        request_id = self._new_request_id()
        attempt = 0
        first_try = time.monotonic()
        while True:
            attempt += 1
            started = clock.now()
            t0 = time.perf_counter()
            response: httpx.Response | None = None
            failure: Exception | None = None
            async with self._sem:
                try:
                    response = await self._http.request(
                        method, url, json=json_body, params=params,
                        headers={**headers, "X-Request-ID": request_id})
                    await response.aread()
                except TRANSPORT_ERRORS as exc:
                    failure = exc
            self.requests_sent += 1
            rid = (response.headers.get("x-request-id") if response is not None else None)
            self._record(RequestRecord(
                started_at=started, method=method, api=api, target=target,
                status=None if response is None else response.status_code,
                duration_ms=(time.perf_counter() - t0) * 1000, attempt=attempt,
                error=None if failure is None else type(failure).__name__,
                request_id=rid or request_id))
            status = None if response is None else response.status_code
            retryable = self._retryable(status, failure, idempotent)
            if not retryable:
                if failure is not None:
                    raise self._transport_error(failure, target, idempotent, request_id)
                assert response is not None
                return response, rid or request_id
            delay = self._delay(attempt, response)
            # Retries stop after max_retries, or once the next try would start past the
            # deadline: a server that never answers costs a minute, not five timeouts.
            if attempt > self.max_retries or \
                    time.monotonic() - first_try + delay >= self.give_up_after:
                if failure is not None:
                    raise self._transport_error(failure, target, idempotent, request_id,
                                                attempt)
                assert response is not None
                raise self._status_error(response, target, rid or request_id)
            await asyncio.sleep(delay)

    @staticmethod
    def _retryable(status: int | None, failure: Exception | None, idempotent: bool) -> bool:
        if failure is not None:
            return idempotent or isinstance(failure, NOT_SENT_ERRORS)
        if status == 429 or status == 503:
            return True
        return idempotent and status is not None and status >= 500

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and response.status_code == 429:
            retry_after = _parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None:
                return min(retry_after, self.backoff_cap * 3)
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)

    def _record(self, record: RequestRecord) -> None:
        if self.on_request is not None:
            try:
                self.on_request(record)
            except Exception:  # a log consumer must never break a request
                log.exception("on_request callback failed")

    def _transport_error(self, exc: Exception, target: str, idempotent: bool,
                         request_id: str, tries: int = 1) -> E.WbError:
        where = self.base_url
        if isinstance(exc, httpx.ConnectTimeout):
            message = f"{target}: {where} did not accept a connection in time"
        elif isinstance(exc, httpx.TimeoutException):
            message = f"{target}: no answer from {where} in time"
        elif isinstance(exc, NOT_SENT_ERRORS):
            message = f"{target}: cannot reach {where}"
        else:
            message = f"{target}: the connection to {where} dropped"
        if tries > 1:
            message += f" ({tries} tries)"
        if not idempotent and not isinstance(exc, NOT_SENT_ERRORS):
            message += " after the change was sent, so its outcome is unknown"
        return E.Offline(self._scrub(message), request_id=request_id)

    def _status_error(self, response: httpx.Response, target: str,
                      request_id: str) -> E.WbError:
        status = response.status_code
        detail = self._scrub(_server_message(response))
        message = f"{target}: {detail}" if detail else f"{target}: HTTP {status}"
        kw: dict[str, Any] = {"status": status, "request_id": request_id}
        if status == 401:
            return E.AuthError(message, **kw)
        if status == 403:
            return E.PermissionDenied(message, **kw)
        if status == 404:
            return E.NotFound(message, **kw)
        if status in (409, 412):
            return E.Conflict(message, **kw)
        if status == 429:
            return E.RateLimited(
                message, retry_after=_parse_retry_after(response.headers.get("retry-after")),
                **kw)
        if status >= 500:
            return E.ServerError(message, **kw)
        if status == 400 and "not supported" in detail.lower():
            return E.Unsupported(message, **kw)
        return E.BadRequest(message, **kw)

    # ---- GraphQL -------------------------------------------------------------------------

    async def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict:
        """The `data` of a GraphQL answer; errors become typed exceptions."""
        target = operation_name(query)
        body = {"query": query, "variables": dict(variables or {}), "operationName": target
                if target != "anonymous" else None}
        response, request_id = await self._send(
            "POST", "/graphql", api="graphql", target=target, idempotent=not is_mutation(query),
            headers={"Authorization": self._graphql_auth(), "Content-Type": "application/json"},
            json_body=body)
        if response.status_code != 200:
            raise self._status_error(response, target, request_id)
        payload = _json(response, target)
        if not isinstance(payload, dict):
            raise E.BadResponse(f"{target}: {answered(response)} {json_kind(payload)}, "
                                "not a JSON object", request_id=request_id)
        errs = payload.get("errors")
        if errs and "data" not in payload:
            # GraphQL answers `data` (null at worst) once a request executes; W&B refuses
            # what does not with a 4xx. Errors alone at 200 come from something in between.
            message = self._scrub(_first_message(errs))
            raise E.BadResponse(f"{target}: {answered(response)} errors and no data "
                                f"({message!r})", request_id=request_id)
        if errs:
            raise self._graphql_error(errs, target, request_id)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise E.BadResponse(f"{target}: {answered(response)} no data (`data` is "
                                f"{json_kind(data)})", request_id=request_id)
        missing = [key for key in root_fields(query) or () if key not in data]
        if missing:
            raise E.BadResponse(f"{target}: {answered(response)} data without "
                                f"{', '.join(missing[:3])}", request_id=request_id)
        return data

    def _graphql_error(self, errs: Any, target: str, request_id: str) -> E.WbError:
        first = errs[0] if isinstance(errs, list) and errs and isinstance(errs[0], dict) else {}
        message = self._scrub(_first_message(errs))
        code = str((first.get("extensions") or {}).get("code") or "").upper()
        text = f"{target}: {message}"
        low = message.lower()
        # W&B reports logical errors as HTTP 200 + errors; its codes and wording are not a
        # documented contract, so classification is by code first, then by wording.
        if code in ("PERMISSION_ERROR", "FORBIDDEN") or "permission" in low \
                or "not authorized" in low or "forbidden" in low:
            return E.PermissionDenied(text, request_id=request_id)
        if code == "NOT_FOUND" or "not found" in low or "does not exist" in low:
            return E.NotFound(text, request_id=request_id)
        if code == "CONFLICT" or "already" in low or "conflict" in low:
            return E.Conflict(text, request_id=request_id)
        if code == "UNAUTHENTICATED" or "not logged in" in low:
            return E.AuthError(text, request_id=request_id)
        return E.BadRequest(text, request_id=request_id)

    async def paginate(self, query: str, variables: Mapping[str, Any],
                       path: tuple[str, ...], page_size: int = 100,
                       cursor_var: str = "cursor", size_var: str = "perPage",
                       ) -> AsyncIterator[dict]:
        """Yield every node of the connection at `path` in the answer, page by page."""
        cursor: str | None = None
        while True:
            data = await self.graphql(query, {**variables, cursor_var: cursor,
                                              size_var: page_size})
            conn: Any = data
            for key in path:
                conn = conn.get(key) if isinstance(conn, dict) else None
            if conn is None:
                return
            for edge in conn.get("edges") or []:
                if edge and edge.get("node") is not None:
                    yield edge["node"]
            info = conn.get("pageInfo") or {}
            cursor = info.get("endCursor")
            if not info.get("hasNextPage") or not cursor:
                return

    async def paginate_many(
            self, keys: Iterable[K], per_request: int,
            request: Callable[[list[tuple[K, str | None]]], tuple[str, dict[str, Any]]],
            take: Callable[[K, list[dict]], None],
            connection: Callable[[Any], Any] = lambda answer: answer) -> None:
        """Page through one connection per key, `per_request` keys per request (GraphQL
        aliases r0, r1, ... built by `request` from (key, cursor) pairs), requests of a round
        concurrently, until no key has a next page. `connection` finds the connection in an
        alias's answer; `take` receives each key's nodes, page by page."""
        pending: dict[K, str | None] = dict.fromkeys(keys)

        async def one(chunk: list[tuple[K, str | None]]) -> dict[K, str | None]:
            data = await self.graphql(*request(chunk))
            more: dict[K, str | None] = {}
            for i, (key, _) in enumerate(chunk):
                conn = connection(data.get(f"r{i}")) or {}
                take(key, [e["node"] for e in conn.get("edges") or [] if e.get("node")])
                info = conn.get("pageInfo") or {}
                if info.get("hasNextPage") and info.get("endCursor"):
                    more[key] = info["endCursor"]
            return more

        while pending:
            items = list(pending.items())
            rounds = await asyncio.gather(*(one(items[i:i + per_request])
                                            for i in range(0, len(items), per_request)))
            pending = {k: c for r in rounds for k, c in r.items()}

    # ---- SCIM ----------------------------------------------------------------------------

    async def scim(self, method: str, path: str, *, body: Any = None,
                   params: Mapping[str, str] | None = None,
                   if_match: str | None = None) -> ScimResponse:
        """One SCIM call; `path` is relative to the SCIM prefix, e.g. "Users/abc"."""
        url = f"{self.scim_prefix}/{path.lstrip('/')}"
        target = f"SCIM {method} {path.split('?')[0]}"
        headers = {"Authorization": self._scim_auth(), "Accept": "application/scim+json"}
        if body is not None:
            headers["Content-Type"] = "application/scim+json"
        if if_match:
            headers["If-Match"] = if_match
        response, request_id = await self._send(
            method, url, api="scim", target=target, idempotent=method in ("GET", "HEAD"),
            headers=headers, json_body=body, params=params)
        if response.status_code >= 400:
            raise self._status_error(response, target, request_id)
        data = None if response.status_code == 204 or not response.content else _json(
            response, target)
        return ScimResponse(response.status_code, data, response.headers.get("etag"),
                            request_id, answered(response))


    # ---- other REST endpoints (audit logs) --------------------------------------------------

    async def get_raw(self, path: str, params: Mapping[str, str] | None = None, *,
                      auth: str = "scim", username: str | None = None,
                      api: str = "rest") -> httpx.Response:
        """A GET outside GraphQL and SCIM, with the same retries and typed errors.

        `auth="scim"` sends the SCIM credentials; `username` forces Basic `username:key`
        (what W&B documents for the audit-log API). The caller parses the body."""
        if username is not None:  # "" gives Basic `:key` (an org-scoped service account)
            header = "Basic " + base64.b64encode(f"{username}:{self._key}".encode()).decode()
        else:
            header = self._scim_auth() if auth == "scim" else self._graphql_auth()
        target = f"GET {path}"
        response, request_id = await self._send(
            "GET", path, api=api, target=target, idempotent=True,
            headers={"Authorization": header}, params=params)
        if response.status_code >= 400:
            raise self._status_error(response, target, request_id)
        return response


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - clock.now())
        except (TypeError, ValueError):
            return None


def _first_message(errs: Any) -> str:
    first = errs[0] if isinstance(errs, list) and errs and isinstance(errs[0], dict) else {}
    return str(first.get("message") or "request failed")


def json_kind(value: Any) -> str:
    """What a JSON value is, for a message ("a JSON array")."""
    kinds = {type(None): "null", list: "a JSON array", str: "a JSON string",
             bool: "a JSON boolean", int: "a JSON number", float: "a JSON number"}
    return kinds.get(type(value), "JSON")


def _server_message(response: httpx.Response) -> str:
    """The server's own words: GraphQL `errors[0].message` or SCIM `detail`; for a body that
    is not JSON (a proxy's error page), where it came from and what it looks like."""
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return answered(response) + " " + looks_like(response) if response.content else ""
    if isinstance(payload, dict):
        if isinstance(payload.get("detail"), str):
            return payload["detail"]
        errs = payload.get("errors")
        if isinstance(errs, list) and errs and isinstance(errs[0], dict):
            return str(errs[0].get("message", ""))
        if isinstance(payload.get("error"), str):
            return payload["error"]
    return ""


def _json(response: httpx.Response, target: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise E.BadResponse(f"{target}: {what_came_back(response)}") from None


def what_came_back(response: httpx.Response) -> str:
    """Where the answer came from and what it looks like: a proxy's login page, an HTML
    error, a truncated body."""
    return f"{answered(response)} {looks_like(response)}, not JSON"


def answered(response: httpx.Response) -> str:
    """"<url> answered HTTP <status> with": the URL without its query (it never holds our
    key, but may hold names)."""
    return (f"{response.request.url.copy_with(query=None)} answered HTTP "
            f"{response.status_code} with")


def looks_like(response: httpx.Response) -> str:
    """A body that is not JSON, by its first words only (it may be long)."""
    kind = response.headers.get("content-type", "no content type").split(";")[0].strip()
    text = " ".join(response.text[:400].split())
    if "html" in kind or text.lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<(?:title|h1)[^>]*>([^<]{1,80})", response.text, re.I)
        return f"an HTML page{f' ({title.group(1).strip()!r})' if title else ''}"
    if not text:
        return "an empty body"
    return f"{kind}: {text[:60]!r}{'…' if len(text) > 60 else ''}"
