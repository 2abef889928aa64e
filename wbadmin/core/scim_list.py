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

from .client import Client

PAGE_SIZE = 9999  # W&B's documented maximum per request (wandb-api.md §3.1)
EXTRA_PAGES = 10  # beyond twice the pages the first page implies: servers that shrink pages


@dataclass
class ScimList:
    resources: list[dict[str, Any]]
    total: int | None  # totalResults as last answered (None: the server sent none)
    requests: int
    shortfall: str | None = None  # why reading stopped before totalResults, as a warning


async def read_scim_list(client: Client, resource: str, params: dict[str, str] | None = None,
                         *, page_size: int = PAGE_SIZE) -> ScimList:
    """Every resource of `resource` ("Users", "Groups", "Roles"), deduplicated by id."""
    by_id: dict[Any, dict[str, Any]] = {}
    start, requests, total = 1, 0, None
    max_pages: int | None = None
    while True:
        answer = await client.scim("GET", resource, params={
            **(params or {}), "startIndex": str(start), "count": str(page_size)})
        requests += 1
        data = answer.data if isinstance(answer.data, dict) else {}
        page = [r for r in data.get("Resources") or [] if isinstance(r, dict)]
        total = _int_or_none(data.get("totalResults"))
        new = 0
        for item in page:
            key = item.get("id", ("no id", len(by_id)))  # an id-less resource is kept as is
            if key not in by_id:
                by_id[key] = item
                new += 1
        if total is None or len(by_id) >= total:
            return ScimList(list(by_id.values()), total, requests)
        if max_pages is None:
            max_pages = 2 * math.ceil(total / max(1, len(page))) + EXTRA_PAGES
        reason = _stop_reason(len(page), new, requests, max_pages)
        if reason:
            shortfall = (f"SCIM {resource}: read {len(by_id)} of {total} (the server {reason} "
                         f"at startIndex {start}); the rest are missing")
            return ScimList(list(by_id.values()), total, requests, shortfall)
        start += len(page)


def _stop_reason(returned: int, new: int, requests: int, max_pages: int) -> str | None:
    """Why reading on could not get further (None: go on)."""
    if not returned:
        return "sent an empty page"
    if not new:
        return "sent the same resources again (it may not support startIndex)"
    if requests >= max_pages:
        return f"needed more than {max_pages} pages"
    return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
