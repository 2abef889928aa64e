"""Batched requests against a stricter W&B (a cap on root fields and on nodes asked per
request, answered as a GraphQL complexity error or as a gateway timeout), over real HTTP:
the sync and the quota refresh split what is refused, end with exactly what the unrestricted
server gives, and keep the smaller sizes for the rest of the session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import key_of
from tests.quotas.sweeps import sweep_due
from tests.quotas.test_refresh import POLICY, snapshot, stored_runs
from wbadmin import clock
from wbadmin.core import errors as E
from wbadmin.core.batch_sizes import MAX_NODES, MAX_ROOT_FIELDS, BatchSizer
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client, RequestRecord
from wbadmin.core.quotas import QuotaService
from wbadmin.core.sync import Syncer
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.server import SandboxServer
from wbadmin.sandbox.server_variant import ServerVariant

ROOT_CAP, NODE_CAP = 4, 100
ANSWERS = ["error", "timeout"]
REFUSED = {"error": 400, "timeout": 504}
SYNCED = ("users", "teams", "team_members", "invites", "projects")


@pytest.fixture
def strict(sandbox_db: Database) -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def serve(answer: str, max_root_fields: int | None = ROOT_CAP,
              max_nodes: int | None = NODE_CAP) -> SandboxServer:
        server = SandboxServer(sandbox_db, variant=ServerVariant.of(
            max_root_fields=max_root_fields, max_nodes=max_nodes, over_cap_answer=answer))
        server.start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


def client(base_url: str, records: list[RequestRecord] | None = None,
           sizes: BatchSizer | None = None) -> Client:
    return Client(base_url, key_of("alice"), scim_username="alice", backoff_base=0.01,
                  max_retries=1, on_request=None if records is None else records.append,
                  batch_sizes=sizes)


def rows(path: Path, table: str) -> list[tuple]:
    """A cache table's rows without the times they were fetched at."""
    cache = Cache(path)
    try:
        columns = [c["name"] for c in cache.query(f"PRAGMA table_info({table})")
                   if c["name"] != "fetched_at"]
        return sorted(tuple(r) for r in cache.query(f"SELECT {', '.join(columns)} FROM {table}"))
    finally:
        cache.close()


def sync(base_url: str, path: Path, records: list[RequestRecord] | None = None,
         twice: bool = False) -> BatchSizer:
    async def main() -> BatchSizer:
        async with client(base_url, records) as c:
            cache = Cache(path)
            try:
                await Syncer(c, cache).full()
                if twice:
                    records.clear()  # type: ignore[union-attr]
                    await Syncer(c, cache).full()
            finally:
                cache.close()
            return c.batch_sizes

    return asyncio.run(main())


def refused(records: list[RequestRecord]) -> list[RequestRecord]:
    return [r for r in records if r.api == "graphql" and r.status != 200]


@pytest.mark.parametrize("answer", ANSWERS)
def test_a_full_sync_against_a_stricter_server_is_complete(answer, sandbox, strict,
                                                           tmp_path) -> None:
    server = strict(answer)
    records: list[RequestRecord] = []
    sizes = sync(server.base_url, tmp_path / "strict.db", records, twice=True)
    sync(sandbox.base_url, tmp_path / "open.db")
    for table in SYNCED:
        assert rows(tmp_path / "strict.db", table) == rows(tmp_path / "open.db", table), table
    assert rows(tmp_path / "strict.db", "teams")  # not two empty caches
    # The smaller sizes were kept: the second sync of the session was refused nothing.
    assert sizes.splits > 0
    teams = sizes.kept("sync.teams")
    assert teams is not None and teams.fields is not None and teams.fields <= ROOT_CAP
    projects = sizes.kept("sync.projects")
    assert projects is not None and projects.nodes is not None and projects.nodes <= NODE_CAP
    assert refused(records) == []
    assert {r.target for r in records} >= {"WbadminTeams", "WbadminProjects"}


def quota_session(base_url: str, path: Path, sizes: BatchSizer, now: float,
                  records: list[RequestRecord], full: bool = False) -> Any:
    async def main() -> Any:
        async with client(base_url, records, sizes) as c:
            cache = Cache(path)
            try:
                service = QuotaService(cache, POLICY, client=c, clock=lambda: now)
                refreshed = await service.refresh(full=full)
                return refreshed.kind, snapshot(service.report())
            finally:
                cache.close()

    return asyncio.run(main())


def change_runs(db: Database) -> None:
    """Runs move as W&B's would: one running run heartbeats and another finishes, and their
    projects' updatedAt follows."""
    running = db.query("SELECT r.id, r.project_id FROM runs r JOIN projects p ON p.id = "
                       "r.project_id JOIN entities e ON e.id = p.entity_id WHERE r.state = "
                       "'running' AND e.kind = 'team' ORDER BY r.id LIMIT 2")
    assert len(running) == 2
    now = int(clock.now())
    with db.transaction() as conn:
        conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (now, running[0]["id"]))
        conn.execute("UPDATE runs SET heartbeat_at = ?, state = 'finished' WHERE id = ?",
                     (now, running[1]["id"]))
        conn.execute(f"UPDATE projects SET updated_at = ? WHERE id IN "
                     f"({running[0]['project_id']}, {running[1]['project_id']})", (now,))


@pytest.mark.parametrize("answer", ANSWERS)
def test_a_quota_refresh_against_a_stricter_server_is_complete(answer, sandbox, sandbox_db,
                                                               strict, tmp_path) -> None:
    server = strict(answer)
    strict_sizes, open_sizes = BatchSizer(), BatchSizer()
    records: list[RequestRecord] = []
    now = clock.now()
    first = quota_session(server.base_url, tmp_path / "strict.db", strict_sizes, now, records)
    assert first == quota_session(sandbox.base_url, tmp_path / "open.db", open_sizes, now, [])
    assert first[0] == "full"
    assert stored_runs(tmp_path / "strict.db") == stored_runs(tmp_path / "open.db")
    assert len(stored_runs(tmp_path / "strict.db")) > 100
    assert refused(records)  # the caps were met, and split around

    change_runs(sandbox_db)
    records.clear()
    now = clock.now() + 5
    for path in ("strict.db", "open.db"):  # the heart-beating run is read by a sweep
        sweep_due(tmp_path / path)
    inc = quota_session(server.base_url, tmp_path / "strict.db", strict_sizes, now, records)
    assert inc[0] == "incremental"
    assert inc == quota_session(sandbox.base_url, tmp_path / "open.db", open_sizes, now, [])
    assert stored_runs(tmp_path / "strict.db") == stored_runs(tmp_path / "open.db")
    # And both equal a full recomputation from scratch.
    fresh = quota_session(sandbox.base_url, tmp_path / "fresh.db", BatchSizer(), now, [],
                          full=True)
    assert inc[1] == fresh[1]
    assert stored_runs(tmp_path / "strict.db") == stored_runs(tmp_path / "fresh.db")
    # The sizes learnt in the first refresh were kept: only the incremental's own kind of
    # request (teams' changes) had anything left to learn.
    assert {r.target for r in refused(records)} <= {"WbadminQuotaChanges"}
    runs = strict_sizes.kept("quota.runs")
    assert runs is not None and runs.nodes is not None and runs.nodes <= NODE_CAP


@pytest.mark.parametrize("answer, cap, shown", [
    ("error", 1, "query too complex: 2 nodes asked, at most 1 allowed"),
    ("timeout", 50, "504 Gateway Time-out")])
def test_one_alias_still_refused_raises_the_servers_error(answer, cap, shown, strict) -> None:
    """Halving ends: one team's projects (with their last run: two nodes at the least) is
    refused whatever its page size, and the error is the server's, said once."""
    server = strict(answer, max_root_fields=None, max_nodes=cap)
    records: list[RequestRecord] = []

    async def main() -> None:
        async with client(server.base_url, records) as c:
            cache = Cache(None)
            try:
                await Syncer(c, cache).refresh_teams(["ml-infra"])
            finally:
                cache.close()

    with pytest.raises(E.WbError) as caught:
        asyncio.run(main())
    assert isinstance(caught.value, E.BadRequest if answer == "error" else E.ServerError)
    assert str(caught.value).startswith("WbadminProjects: ") and shown in str(caught.value)
    assert len(records) < 25  # a few halvings (and one retry of each 504), not a loop


def test_the_defaults_ask_within_their_caps() -> None:
    sizes = BatchSizer()
    assert sizes.fields("quota.changes", 50) == MAX_ROOT_FIELDS
    # Ten teams' changed projects, each with its new runs: 505,000 nodes before.
    firsts = sizes.firsts("quota.changes", 10, (500, 100))
    assert 10 * (firsts[0] + firsts[0] * firsts[1]) <= MAX_NODES
    assert sizes.firsts("sync.projects", 20, (200,)) == (200,)


@pytest.mark.parametrize("answer, status", [("error", 400), ("timeout", 504)])
def test_the_sandbox_counts_nodes_as_a_gateway_would(answer, status, strict) -> None:
    server = strict(answer, max_root_fields=None, max_nodes=1000)
    query = ("query Q($n: Int) { viewer { teams(first: 10) { edges { node { "
             "projects(first: $n) { edges { node { name } } } } } } } }")
    auth = ("api", key_of("alice"))

    def ask(n: int) -> httpx.Response:
        return httpx.post(f"{server.base_url}/graphql", auth=auth, timeout=10,
                          json={"query": query, "variables": {"n": n}})

    assert ask(99).status_code == 200  # 10 + 10 x 99 = 1000
    over = ask(100)
    assert over.status_code == status
    if answer == "error":
        error = over.json()["errors"][0]
        assert error["extensions"]["code"] == "QUERY_COMPLEXITY"
        assert "1010 nodes asked, at most 1000" in error["message"]
    else:
        assert "text/html" in over.headers["content-type"]
        assert "504 Gateway Time-out" in over.text
