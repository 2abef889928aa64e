"""Relay-style connections as W&B returns them: per-edge cursors, `pageInfo`, `totalCount`.

Cursors are opaque base64 offsets. The SDK pages with `pageInfo.endCursor` for some lists
and with the last edge's `cursor` for runs, so both must work.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from .context import GraphQLFault

MAX_PAGE = 10_000


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The offset after which the next page starts (-1 for the first page)."""
    if not cursor:
        return -1
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        prefix, _, offset = text.partition(":")
        if prefix != "cursor":
            raise ValueError
        return int(offset)
    except ValueError as exc:
        raise GraphQLFault(f"invalid cursor {cursor!r}") from exc


def page_bounds(after: str | None, first: int | None, default: int = 50) -> tuple[int, int]:
    """(offset, limit) for a page: the rows at offset..offset+limit-1."""
    if first is not None and first < 0:
        raise GraphQLFault("first must be non-negative")
    limit = min(default if first is None else first, MAX_PAGE)
    return decode_cursor(after) + 1, limit


def connection(rows: Sequence[Any], offset: int, total: int | None,
               node: Callable[[Any], Any], has_next: bool | None = None) -> dict[str, Any]:
    """A connection for `rows`, which start at `offset` in the full ordered list.

    Pass `total` when known (it becomes `totalCount`); otherwise pass `has_next`
    (fetch one row more than the page and trim it, for example).
    """
    edges = [{"cursor": encode_cursor(offset + i), "node": node(row)}
             for i, row in enumerate(rows)]
    if has_next is None:
        has_next = total is not None and offset + len(rows) < total
    return {
        "edges": edges,
        "totalCount": total,
        "pageInfo": {
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
            "hasNextPage": has_next,
            "hasPreviousPage": offset > 0,
        },
    }


def selects(info: Any, name: str) -> bool:
    """Whether the connection field being resolved asks for `name` directly (e.g.
    `totalCount`, which costs a COUNT). A fragment on the connection counts as asking."""
    for node in info.field_nodes:
        for selection in getattr(node.selection_set, "selections", None) or ():
            field = getattr(selection, "name", None)
            if field is None or selection.kind != "field":
                return True  # a fragment: it may ask; answer it
            if field.value == name:
                return True
    return False
