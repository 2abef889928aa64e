"""How much one batched GraphQL request may ask, for one session (one `Client`).

wbadmin asks many teams or projects at once through field aliases. W&B publishes no
query-cost limit, but gateways time out, and cost limits elsewhere count two things: root
fields, and nodes asked (every connection's `first:` times its parent's: `projects(first:
500) { runs(first: 100) }` asks 500 + 50,000). The defaults stay well inside what such limits
allow and what one answer can carry in a few seconds:

- MAX_ROOT_FIELDS = 25 aliases per request (40 and 50 before): no SDK operation has more
  than one, so fewer is safer; 25 keeps an org of 200 teams to 8 requests per question,
  and a full sync at about a tenth of the requests of the obvious `wandb.Api()` script.
- MAX_NODES = 10,000 nodes asked per request: GitHub, the best-known node limit, allows
  500,000 with `first` <= 100, but W&B's run nodes carry `systemMetrics` (kilobytes each),
  so 10,000 keeps a worst-case answer to tens of megabytes. A shape over it has its
  largest `first:` halved until it fits (the rest comes as further pages).

A batch refused for its size — a 5xx after the client's retries, a read timeout, or an error
saying it is too complex / has too many root fields or nodes — is split in half and each
half sent again; the smaller size (aliases and nodes) is kept for that kind of batch for the
rest of the session. One alias is asked again with smaller pages while it asks more than
SMALL_REQUEST_NODES (or, after a complexity error, more than one node); past that it
raises the error as any failure does. Every retry halves something, so nothing loops forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from . import errors as E

log = logging.getLogger("wbadmin.batch")

T = TypeVar("T")
R = TypeVar("R")

MAX_ROOT_FIELDS = 25
MAX_NODES = 10_000
# A request asking no more than this that still fails with a 5xx or a timeout is not
# failing for its size: its error is raised rather than sent again smaller.
SMALL_REQUEST_NODES = 100

_TOO_BIG_WORDS = ("complex", "root fields", "too many nodes", "node limit", "query cost",
                  "timeout", "timed out")


def too_big(exc: BaseException) -> bool:
    """A request refused for its size (a query-cost limit, a gateway timeout), not for its
    content: worth asking again in smaller pieces."""
    if isinstance(exc, E.ServerError):
        return True
    if isinstance(exc, E.Offline):
        return exc.timed_out  # an answer too long in coming; not a server out of reach
    if isinstance(exc, E.BadRequest):
        text = str(exc).lower()
        return any(word in text for word in _TOO_BIG_WORDS)
    return False


def complexity_error(exc: BaseException) -> bool:
    """The server said outright that the request is too big (not a 5xx or a timeout, whose
    cause may be anything): then even one alias is worth asking with smaller pages."""
    return isinstance(exc, E.BadRequest) and too_big(exc)


def nodes_asked(fields: int, firsts: Sequence[int]) -> int:
    """Nodes asked by `fields` aliases, each nesting connections with these `first:`s
    (outermost first), counted as gateways count: the sum of the running products. An
    alias with no connection counts as one node."""
    per_alias, product = 0, 1
    for first in firsts:
        product *= max(1, first)
        per_alias += product
    return fields * max(1, per_alias)


@dataclass
class Learned:
    """What the server refused, per kind of batch: sizes at most these from now on."""

    fields: int | None = None
    nodes: int | None = None


class BatchSizer:
    def __init__(self, max_root_fields: int = MAX_ROOT_FIELDS,
                 max_nodes: int = MAX_NODES) -> None:
        self.max_root_fields = max_root_fields
        self.max_nodes = max_nodes
        self.learned: dict[str, Learned] = {}
        self.splits = 0  # requests refused for their size and asked again smaller

    def fields(self, kind: str, wanted: int) -> int:
        """Aliases per request of this kind: what the caller wants, within the caps and
        what the server refused before."""
        learned = self.learned.get(kind) or Learned()
        return max(1, min(wanted, self.max_root_fields, learned.fields or wanted))

    def firsts(self, kind: str, fields: int, wanted: Sequence[int]) -> tuple[int, ...]:
        """The `first:` of each nesting level for a request of `fields` aliases: the
        largest halved (the outer one on a tie) until the nodes asked fit the budget."""
        learned = self.learned.get(kind) or Learned()
        budget = min(self.max_nodes, learned.nodes or self.max_nodes)
        firsts = [max(1, f) for f in wanted]
        while firsts and nodes_asked(fields, firsts) > budget and max(firsts) > 1:
            i = firsts.index(max(firsts))
            firsts[i] = max(1, firsts[i] // 2)
        return tuple(firsts)

    def kept(self, kind: str) -> Learned | None:
        """The smaller sizes kept for this kind after a refusal (None: none refused)."""
        return self.learned.get(kind)

    def _refused(self, kind: str, fields: int, nodes: int, exc: E.WbError) -> None:
        learned = self.learned.setdefault(kind, Learned())
        smaller_fields = max(1, (fields + 1) // 2)
        learned.fields = min(learned.fields or smaller_fields, smaller_fields)
        smaller_nodes = max(1, nodes // 2)
        learned.nodes = min(learned.nodes or smaller_nodes, smaller_nodes)
        self.splits += 1
        log.info("%s: %d aliases asking %d nodes refused (%s); at most %d aliases and %d "
                 "nodes per request from now on", kind, fields, nodes, exc.message,
                 learned.fields, learned.nodes)

    @staticmethod
    def _smaller_pages_may_pass(exc: E.WbError, fitted: Sequence[int], asked: int) -> bool:
        if max(fitted, default=1) <= 1:
            return False  # nothing left to halve
        return complexity_error(exc) or asked > SMALL_REQUEST_NODES

    async def run(self, kind: str, chunk: list[T],
                  send: Callable[..., Awaitable[R]], firsts: Sequence[int] = ()) -> list[R]:
        """`send(chunk, *fitted_firsts)` for this chunk; when it is refused for its size,
        the halves are sent (concurrently), and so on. The results of every piece sent."""
        fitted = self.firsts(kind, len(chunk), firsts)
        try:
            return [await send(chunk, *fitted)]
        except E.WbError as exc:
            if not too_big(exc):
                raise
            asked = nodes_asked(len(chunk), fitted)
            if len(chunk) == 1 and not self._smaller_pages_may_pass(exc, fitted, asked):
                raise
            self._refused(kind, len(chunk), asked, exc)
        if len(chunk) == 1:  # smaller pages for the one alias (the node budget just halved)
            return await self.run(kind, chunk, send, firsts)
        half = (len(chunk) + 1) // 2
        parts = await asyncio.gather(self.run(kind, chunk[:half], send, firsts),
                                     self.run(kind, chunk[half:], send, firsts))
        return [r for part in parts for r in part]

    async def run_all(self, kind: str, items: list[T], wanted: int,
                      send: Callable[..., Awaitable[R]], firsts: Sequence[int] = ()
                      ) -> list[R]:
        """Every item, `fields(kind, wanted)` per request, requests concurrently."""
        size = self.fields(kind, wanted)
        parts = await asyncio.gather(*(self.run(kind, items[i:i + size], send, firsts)
                                       for i in range(0, len(items), size)))
        return [r for part in parts for r in part]
