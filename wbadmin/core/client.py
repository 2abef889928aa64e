"""One async httpx client for W&B's GraphQL and SCIM APIs.

- Typed errors (`errors.py`) whose messages say what to do.
- Retries with exponential backoff and jitter for 5xx, 429 (honouring `Retry-After`) and
  dropped connections; never for other 4xx. A mutation is retried only when the server
  cannot have acted on it (connect failures, 429, 503): a connection dropped after a
  mutation was sent makes its outcome unknown, and the change engine re-reads to learn it.
- A cap on requests in flight (a semaphore), shared by GraphQL and SCIM.
- Batched requests sized by the session's `BatchSizer` (batch_sizes.py): a batch refused
  for its size is split, and the smaller size kept.
- Every attempt is reported to `on_request` (the TUI's API-call log) as a `RequestRecord`.
- The API key is held as a `Secret` and scrubbed from every message that leaves here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from .. import clock
from . import errors as E
from .batch_sizes import BatchSizer
from .redact import Secret
from .root_fields import root_fields
from .wire_answers import answered, first_message, graphql_error_class, json_kind
from .wire_answers import json_of as _json
from .wire_answers import parse_retry_after as _parse_retry_after
from .wire_answers import server_message as _server_message
from .wire_answers import what_came_back as _what_came_back
from .wire_strip import is_unknown_field_error, strip

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
                 request_ids: Callable[[], str] | None = None,
                 batch_sizes: BatchSizer | None = None) -> None:
        # What `acting_as` needs to make a client like this one for another key.
        self._options: dict[str, Any] = dict(
            scim_prefix=scim_prefix, max_in_flight=max_in_flight, max_retries=max_retries,
            timeout=timeout, connect_timeout=connect_timeout, give_up_after=give_up_after,
            backoff_base=backoff_base, backoff_cap=backoff_cap, on_request=on_request,
            transport=transport, request_ids=request_ids)
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
        self.max_in_flight = max_in_flight  # requests sent at once, at most
        self.requests_sent = 0
        # Fields this server lacks, left out of queries (wire_strip); `on_unknown_field`
        # (the session's) learns them when a query is refused for one, once per client.
        self.strip_paths: frozenset[tuple[str, ...]] = frozenset()
        self.on_unknown_field: Callable[[], Awaitable[frozenset]] | None = None
        self._learnt = False
        self.batch_sizes = batch_sizes or BatchSizer()  # learnt for this session
        self._http = httpx.AsyncClient(
            # `timeout` bounds each wait for progress (a read, a write, a free connection),
            # not the whole answer: a long answer that keeps arriving is not cut.
            base_url=self.base_url, transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=max_in_flight,
                                max_keepalive_connections=max_in_flight))

    def acting_as(self, api_key: str) -> Client:
        """A client for the same server and options that acts as another key's identity (a
        service account's, for the one step W&B lets only it take: making its own key).
        The caller closes it; nothing of it is kept."""
        client = Client(self.base_url, api_key, **self._options)
        client.strip_paths = self.strip_paths
        return client

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

    def library_key(self) -> Secret:
        """The key, for the one other client that must sign in as this one: W&B's own
        libraries, in their worker (core/wandb_library.py)."""
        return Secret(self._key)

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
        error = E.Offline(self._scrub(message), request_id=request_id)
        error.timed_out = isinstance(exc, httpx.TimeoutException) and \
            not isinstance(exc, NOT_SENT_ERRORS)
        return error

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
        """The `data` of a GraphQL answer; errors become typed exceptions. A query refused
        for a field the server lacks is sent again without it, once what it lacks is known."""
        if is_mutation(query):
            return await self._graphql(query, variables)
        try:
            return await self._graphql(self._stripped(query), variables)
        except E.BadRequest as exc:
            if self._learnt or self.on_unknown_field is None or \
                    not is_unknown_field_error(exc.message):
                raise
            self._learnt = True
            self.strip_paths = frozenset(await self.on_unknown_field())
            again = self._stripped(query)
            if again == query:
                raise
            return await self._graphql(again, variables)

    async def _post(self, query: str, variables: Mapping[str, Any] | None
                    ) -> tuple[str, httpx.Response, str]:
        """(operation name, answer, request id) of one GraphQL request."""
        target = operation_name(query)
        body = {"query": query, "variables": dict(variables or {}), "operationName": target
                if target != "anonymous" else None}
        response, request_id = await self._send(
            "POST", "/graphql", api="graphql", target=target, idempotent=not is_mutation(query),
            headers={"Authorization": self._graphql_auth(), "Content-Type": "application/json"},
            json_body=body)
        return target, response, request_id

    def _stripped(self, query: str) -> str:
        return strip(query, self.strip_paths) if self.strip_paths else query

    async def _graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict:
        target, response, request_id = await self._post(query, variables)
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
            message = self._scrub(first_message(errs))
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

    async def graphql_answer(self, query: str,
                             variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The whole answer, its `data` and every one of its `errors` (with their `path` and
        `locations`), for a caller that reads errors one by one: `doctor`, whose every
        validation error names something the server lacks. Answers in GraphQL's shape with
        HTTP 200, 400 or 422 (gqlgen's status for a document that fails validation) are
        returned; anything else raises as `graphql` does."""
        target, response, request_id = await self._post(query, variables)
        if response.status_code not in (200, 400, 422):
            raise self._status_error(response, target, request_id)
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict) or not (payload.get("errors") or
                                                 isinstance(payload.get("data"), dict)):
            if response.status_code != 200:  # not GraphQL's shape: as `graphql` says it
                raise self._status_error(response, target, request_id)
            if payload is None:
                raise E.BadResponse(f"{target}: {_what_came_back(response)}",
                                    request_id=request_id)
            raise E.BadResponse(f"{target}: the answer has no data", request_id=request_id)
        errors = payload.get("errors")
        if isinstance(errors, list):
            for error in errors:
                if isinstance(error, dict) and "message" in error:
                    error["message"] = self._scrub(str(error["message"]))
        return payload

    def _graphql_error(self, errs: Any, target: str, request_id: str) -> E.WbError:
        first = errs[0] if isinstance(errs, list) and errs and isinstance(errs[0], dict) else {}
        message = self._scrub(str(first.get("message") or "request failed"))
        return graphql_error_class(first)(f"{target}: {message}", request_id=request_id)

    async def paginate(self, query: str, variables: Mapping[str, Any],
                       path: tuple[str, ...], page_size: int = 100,
                       cursor_var: str = "cursor", size_var: str = "perPage",
                       ) -> AsyncIterator[dict]:
        """Yield every node of the connection at `path` in the answer, page by page (pages
        made smaller when the server refuses one for its size: `batch_sizes`)."""
        cursor: str | None = None
        kind = f"paginate:{operation_name(query)}"

        async def page(_: list[None], first: int) -> dict:
            return await self.graphql(query, {**variables, cursor_var: cursor,
                                              size_var: first})

        while True:
            [data] = await self.batch_sizes.run(kind, [None], page, (page_size,))
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
            request: Callable[..., tuple[str, dict[str, Any]]],
            take: Callable[[K, list[dict]], None],
            connection: Callable[[Any], Any] = lambda answer: answer, *,
            kind: str = "paginate_many", firsts: tuple[int, ...] = ()) -> None:
        """Page through one connection per key, up to `per_request` keys per request
        (GraphQL aliases r0, r1, ... built by `request(chunk, *firsts)` from (key, cursor)
        pairs and the `first:` of each nesting level, fitted to the node budget),
        requests of a round concurrently, until no key has a next page. `connection` finds
        the connection in an alias's answer; `take` receives each key's nodes, page by
        page. Sizes follow `batch_sizes` under `kind`: a chunk refused for its size is
        split and smaller chunks are sent from then on."""
        pending: dict[K, str | None] = dict.fromkeys(keys)

        async def one(chunk: list[tuple[K, str | None]], *fitted: int) -> dict[K, str | None]:
            data = await self.graphql(*request(chunk, *fitted))
            more: dict[K, str | None] = {}
            for i, (key, _) in enumerate(chunk):
                conn = connection(data.get(f"r{i}")) or {}
                take(key, [e["node"] for e in conn.get("edges") or [] if e.get("node")])
                info = conn.get("pageInfo") or {}
                if info.get("hasNextPage") and info.get("endCursor"):
                    more[key] = info["endCursor"]
            return more

        while pending:
            rounds = await self.batch_sizes.run_all(kind, list(pending.items()), per_request,
                                                    one, firsts)
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
