"""Reading a whole SCIM list, page by page (RFC 7644 §3.4.2.4: `startIndex` is 1-based).

W&B documents at most 9999 resources per request and never mentions `startIndex`, so the
first page asks for 9999: an org of up to 9999 people is one request, as it always was, and a
server that ignores `startIndex` still gives the most it can. Later pages start after what
came back (not after the `count` asked for), so a server that caps pages lower is followed
page by page. Reading stops when `totalResults` is reached, and short of it — reported, never
silently — on an empty page, a page of ids already read, or after a bound on the pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import errors as E
from .client import Client, ScimResponse
from .wire_answers import json_kind

PAGE_SIZE = 9999  # W&B's documented maximum per request (wandb-api.md §3.1)
EXTRA_PAGES = 10  # beyond twice the pages the first page implies: servers that shrink pages
MAX_PAGES = 10_000  # whatever totalResults claims: 70,000 people even at 7 a page


@dataclass
class ScimList:
    resources: list[dict[str, Any]]
    total: int | None  # totalResults as last answered (None: the server sent none)
    requests: int
    shortfall: str | None = None  # why reading stopped before totalResults, as a warning


async def read_scim_list(client: Client, resource: str, params: dict[str, str] | None = None,
                         *, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES
                         ) -> ScimList:
    """Every resource of `resource` ("Users", "Groups", "Roles"), deduplicated by id."""
    by_id: dict[Any, dict[str, Any]] = {}
    start, requests, total = 1, 0, None
    bound: int | None = None
    while True:
        answer = await client.scim("GET", resource, params={
            **(params or {}), "startIndex": str(start), "count": str(page_size)})
        requests += 1
        data = list_response(answer, resource)
        page = [r for r in data.get("Resources") or [] if isinstance(r, dict)]
        total = _int_or_none(data.get("totalResults"))
        new = 0
        for item in page:
            key = item.get("id")
            if not isinstance(key, str | int):
                key = ("no id", len(by_id))  # kept as is: nothing to tell it apart by
            if key not in by_id:
                by_id[key] = item
                new += 1
        if total is None or len(by_id) >= total:  # no totalResults: one page is all we know
            return ScimList(list(by_id.values()), total, requests)
        if bound is None:
            bound = min(max_pages, 2 * math.ceil(total / max(1, len(page))) + EXTRA_PAGES)
        reason = _stop_reason(len(page), new, start, requests, bound)
        if reason:
            shortfall = f"SCIM {resource}: read {len(by_id)} of {total}, the rest are missing: " \
                        f"{reason}"
            return ScimList(list(by_id.values()), total, requests, shortfall)
        start += len(page)


def list_response(answer: ScimResponse, resource: str) -> dict[str, Any]:
    """The ListResponse of a page; BadResponse for anything else, so that a proxy's or an
    older server's `{}` never reads as an org with nobody in it. RFC 7644 §3.4.2 makes
    `Resources` optional only when `totalResults` is 0."""
    data = answer.data
    if not isinstance(data, dict):
        what = json_kind(data) if data is not None else "an empty body"
    elif isinstance(data.get("Resources"), list) or data.get("totalResults") == 0:
        return data
    else:
        what = "no Resources"
    raise E.BadResponse(f"SCIM GET {resource}: {answer.answered} {what}, not a SCIM "
                        "ListResponse", request_id=answer.request_id)


def _stop_reason(returned: int, new: int, start: int, requests: int,
                 max_pages: int) -> str | None:
    """Why reading on could not get further (None: go on)."""
    if not returned:
        return f"the server sent an empty page at startIndex {start}"
    if not new:
        return (f"the server sent the same resources again at startIndex {start} "
                "(it may not support startIndex)")
    if requests >= max_pages:
        return f"gave up after {max_pages} pages"
    return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
