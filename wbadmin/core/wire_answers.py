"""What W&B answered, read for a person: the typed error a GraphQL `errors` entry stands for,
the server's own words, `Retry-After`, and what came back when it is not JSON at all (a
proxy's login page, an HTML error, a truncated body)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from .. import clock
from . import errors as E


def graphql_error_class(error: Mapping[str, Any]) -> type[E.WbError]:
    """The typed error one GraphQL `errors` entry stands for."""
    message = str(error.get("message") or "")
    code = str((error.get("extensions") or {}).get("code") or "").upper()
    low = message.lower()
    # W&B reports logical errors as HTTP 200 + errors; its codes and wording are not a
    # documented contract, so classification is by code first, then by wording.
    if code in ("PERMISSION_ERROR", "FORBIDDEN") or "permission" in low \
            or "not authorized" in low or "forbidden" in low:
        return E.PermissionDenied
    if code == "NOT_FOUND" or "not found" in low or "does not exist" in low:
        return E.NotFound
    if code == "CONFLICT" or "already" in low or "conflict" in low:
        return E.Conflict
    if code == "UNAUTHENTICATED" or "not logged in" in low:
        return E.AuthError
    return E.BadRequest


def parse_retry_after(value: str | None) -> float | None:
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


def first_message(errs: Any) -> str:
    """The first GraphQL error's message."""
    first = errs[0] if isinstance(errs, list) and errs and isinstance(errs[0], dict) else {}
    return str(first.get("message") or "request failed")


def json_kind(value: Any) -> str:
    """What a JSON value is, for a message ("a JSON array")."""
    kinds = {type(None): "null", list: "a JSON array", str: "a JSON string",
             bool: "a JSON boolean", int: "a JSON number", float: "a JSON number"}
    return kinds.get(type(value), "JSON")


def server_message(response: httpx.Response) -> str:
    """The server's own words: GraphQL `errors[0].message` or SCIM `detail`; for a body that
    is not JSON (a proxy's error page, a gateway timeout), where it came from and what it
    looks like (an HTML page by its title)."""
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


def json_of(response: httpx.Response, target: str) -> Any:
    # orjson reads a refresh's large answers in two thirds of `json`'s time; what it refuses
    # (not UTF-8, a BOM, NaN) is read by `json`, as httpx would. (It reads an integer past
    # 64 bits as a float; GraphQL's Int has 32 and no W&B answer has one.) Imported here, not
    # at start-up, where it costs every command 24 ms.
    import orjson

    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        pass
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
