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


def server_message(response: httpx.Response) -> str:
    """The server's own words: GraphQL `errors[0].message` or SCIM `detail`; a proxy's
    HTML error page (a gateway timeout) by its title."""
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        title = re.search(r"<(?:title|h1)[^>]*>([^<]{1,80})", response.text, re.I)
        return title.group(1).strip() if title else response.text.strip()[:200]
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
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise E.BadResponse(f"{target}: {what_came_back(response)}") from None


def what_came_back(response: httpx.Response) -> str:
    """Where the answer came from and what it looks like: a proxy's login page, an HTML
    error, a truncated body. Its first words only (it may be long; it never holds our key)."""
    kind = response.headers.get("content-type", "no content type").split(";")[0].strip()
    text = " ".join(response.text[:400].split())
    if "html" in kind or text.lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<(?:title|h1)[^>]*>([^<]{1,80})", response.text, re.I)
        shown = f"an HTML page{f' ({title.group(1).strip()!r})' if title else ''}"
    elif not text:
        shown = "an empty body"
    else:
        shown = f"{kind}: {text[:60]!r}{'…' if len(text) > 60 else ''}"
    return (f"{response.request.url.copy_with(query=None)} answered HTTP "
            f"{response.status_code} with {shown}, not JSON")
