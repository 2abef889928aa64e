"""Fixtures for the quota tests: a usage store filled by hand (arithmetic), the quota service
against the sandbox over real HTTP (refresh), a webhook receiver, and the CLI fixtures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from tests.cli.conftest import cli, live  # noqa: F401  (fixtures)
from tests.conftest import SEED_NOW, key_of
from tests.core.conftest import isolated_home, memory_keyring  # noqa: F401  (autouse)
from tests.promotions.conftest import Receiver, receiver  # noqa: F401  (fixture)
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.quotas import QuotaService
from wbadmin.core.quotas.policy import QuotaPolicy, parse_policy
from wbadmin.core.quotas.store import RunFact, UsageStore

T = TypeVar("T")
# The demo clock: the seed floors SEED_NOW to the hour; half an hour later.
NOW = SEED_NOW // 3600 * 3600 + 1800


def ts(text: str) -> float:
    """'2026-11-03 12:00' (UTC) as epoch seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def policy(text: str, name: str = "quotas.toml") -> QuotaPolicy:
    return parse_policy(text, Path(name))


def run(team: str, name: str, start: str, end: str, gpus: int, *, state: str = "finished",
        project: str = "p1", user: str = "u1", known: bool = True) -> RunFact:
    return RunFact(team, project, name, name, user, state, ts(start), ts(end), gpus, known)


@pytest.fixture
def store_cache() -> Iterator[Cache]:
    cache = Cache(None)
    yield cache
    cache.close()


def fill(cache: Cache, runs: list[RunFact], teams: tuple[str, ...] = ("t1", "t2")) -> None:
    store = UsageStore(cache)
    with cache.transaction() as conn:
        store.write_runs(conn, runs)
        for team in teams:
            UsageStore.write_projects(conn, team, sorted({(r.project, None) for r in runs
                                                           if r.team == team}))
        UsageStore.write_storage(conn, dict.fromkeys(teams, 0), 0)


@dataclass
class QuotaWorld:
    """The quota service as alice against the sandbox, with one cache file and a clock."""

    base_url: str
    cache_path: Path
    now: float = NOW

    def run(self, fn: Callable[[QuotaService], Awaitable[T]], pol: QuotaPolicy | None = None,
            cache_path: Path | None = None) -> T:
        async def go() -> T:
            async with Client(self.base_url, key_of("alice"), scim_username="alice",
                              backoff_base=0.05) as client:
                cache = Cache(cache_path or self.cache_path)
                try:
                    service = QuotaService(cache, pol or policy(""), client=client,
                                           clock=lambda: self.now)
                    return await fn(service)
                finally:
                    cache.close()

        return asyncio.run(go())


@pytest.fixture
def world(sandbox, tmp_path: Path) -> QuotaWorld:
    return QuotaWorld(sandbox.base_url, tmp_path / "cache.sqlite3")
