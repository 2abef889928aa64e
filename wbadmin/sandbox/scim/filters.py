"""List queries: W&B's `attr eq "value"` filters and RFC 7644 paging (startIndex/count)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .common import LIST_URN, MAX_PAGE, WANDB_PAGING, Paging, bad_request

__all__ = ["MAX_PAGE", "Paging", "list_response", "page_params", "parse_eq"]

# `attr eq "value"`; the value is a JSON-style string (\" and \\ escapes).
_EQ = re.compile(r'^\s*([A-Za-z][\w.]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def parse_eq(text: str, supported: Sequence[str]) -> tuple[str, str]:
    """(attribute as spelled in `supported`, value) for a supported `attr eq "value"` filter.

    Attribute names are case-insensitive (RFC 7643 §2.1); anything else — other operators,
    `and`/`or`, unknown attributes — is a 400, as W&B supports only these equality filters.
    """
    match = _EQ.match(text)
    if match:
        attr = match.group(1).lower()
        for name in supported:
            if name.lower() == attr:
                value = re.sub(r"\\(.)", r"\1", match.group(2))
                return name, value
    allowed = ", ".join(f'{name} eq "value"' for name in supported)
    raise bad_request(f"unsupported filter: {text!r}; supported filters: {allowed}")


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer, got {raw!r}") from None


def page_params(query: dict[str, str], paging: Paging = WANDB_PAGING) -> tuple[int, int]:
    """(startIndex >= 1, count in 0..cap); RFC 7644 §3.4.2.4: startIndex is 1-based, and
    out-of-range values are clamped, not refused (a `count` over the cap gets the cap)."""
    start = max(1, _int_param(query, "startIndex", 1))
    count = min(paging.cap, max(0, _int_param(query, "count", paging.cap)))
    return (start if paging.honours_start_index else 1), count


def list_response(resources: list[dict[str, Any]], total: int, start: int,
                  count: int) -> dict[str, Any]:
    """W&B's envelope; `itemsPerPage` is the page size (9999 unless `count` or the cap asks
    for less), as W&B answers, not RFC 7644's count of the resources on this page."""
    return {"Resources": resources, "itemsPerPage": count, "schemas": [LIST_URN],
            "startIndex": start, "totalResults": total}
