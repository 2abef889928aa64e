"""Two admins deciding at once, as two clients racing in one event loop: neither approval is
lost, and the alias moves exactly once."""

from __future__ import annotations

import asyncio

import pytest

from wbadmin.core import errors as E
from wbadmin.core.journal import Journal
from wbadmin.core.promotions import parse_ref

from .conftest import CHATBOT, World

V7 = f"{CHATBOT}:v7"


def race(world: World, users: list[str]) -> list[object]:
    async def go() -> list[object]:
        clients = [world.client(u) for u in users]
        try:
            with Journal(world.journal_path) as journal:
                services = [world.service(c, journal) for c in clients]
                return await asyncio.gather(*(s.approve(parse_ref(V7), f"by {u}")
                                              for s, u in zip(services, users, strict=True)),
                                            return_exceptions=True)
        finally:
            for c in clients:
                await c.aclose()

    return asyncio.run(go())


def moves(world: World) -> list[object]:
    return [e for e in world.journal_entries() if e.kind == "registry.move_alias"]


@pytest.mark.parametrize("attempt", range(3))
def test_two_approvals_at_once_both_count_and_the_alias_moves_once(world: World,
                                                                  attempt: int) -> None:
    world.use("""
[registries.model.production]
approvals = 2
""")
    results = race(world, ["alice", "grace"])
    assert not [r for r in results if isinstance(r, BaseException)], results
    record = world.record(V7)
    assert sorted(record.approvers) == ["alice", "grace"]
    assert record.status == "approved"
    assert sum(1 for r in results if r.moved) == 1
    assert len(moves(world)) == 1
    assert world.version(f"{CHATBOT}:production").version == "v7"
    assert not [t for t in world.version(V7).tags if t.startswith("wbadmin-lock-")]
    promotes = [h for h in record.history if h["action"] == "promote"]
    assert len(promotes) == 1


def test_one_approval_needed_and_two_arrive(world: World) -> None:
    results = race(world, ["alice", "grace"])
    winners = [r for r in results if not isinstance(r, BaseException) and r.moved]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], E.Conflict) and "not pending" in str(losers[0])
    assert len(moves(world)) == 1
    assert len(world.record(V7).approvals) == 1
