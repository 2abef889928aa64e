"""Quota refresh against a sandbox playing an older W&B without `Entity.projects(filters:)`
(and without `order:` too): the facts probed from that server send the refresh down the
degraded reads, and a full then an incremental refresh give exactly what the same refreshes
give against the full sandbox (both servers serve one database)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import key_of
from wbadmin import clock
from wbadmin.core.client import Client
from wbadmin.core.server_facts import ServerFacts, probe
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.server import SandboxServer
from wbadmin.sandbox.server_variant import ServerVariant

from .conftest import QuotaWorld
from .test_refresh import POLICY, change_runs, refresh_and_report, snapshot, stored_runs


@pytest.fixture
def serve(sandbox_db: Database) -> Iterator:
    servers: list[SandboxServer] = []

    def start(without: list[str]) -> SandboxServer:
        server = SandboxServer(sandbox_db, variant=ServerVariant.of(without))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def facts_of(base_url: str) -> ServerFacts:
    async def go() -> ServerFacts:
        async with Client(base_url, key_of("alice"), scim_username="alice") as client:
            return await probe(client, "alice", base_url, clock.now())

    return asyncio.run(go())


def graphql_sent(world: QuotaWorld, fn, lacks) -> tuple:
    """`fn(service, lacks)` run as alice, with the GraphQL documents its client sent."""
    sent: list[str] = []

    async def go(service):
        service.client.on_request = lambda record: sent.append(record.target)
        return await fn(service, lacks)

    return world.run(go, POLICY), sent


async def refresh(service, lacks, full: bool = False):
    refreshed = await service.refresh(full=full, lacks=lacks)
    return refreshed, service.report()


@pytest.mark.parametrize("without", [
    ["Entity.projects(filters)"],
    ["Entity.projects(filters)", "Entity.projects(order)"],
], ids=["no-filters", "no-filters-no-order"])
def test_refresh_without_project_filters_equals_the_filtered_one(
        sandbox, serve, sandbox_db, tmp_path: Path, without: list[str]) -> None:
    older = serve(without)
    facts = facts_of(older.base_url)
    assert facts.lacks("Entity.projects(filters:)")
    assert facts.lacks("Entity.projects(order:)") == (len(without) == 2)
    assert facts.feature("Quotas").state == "degraded"
    assert facts.feature("Quotas").notices  # what is done instead, for the TUI to say

    on_older = QuotaWorld(older.base_url, tmp_path / "older.sqlite3")
    on_full = QuotaWorld(sandbox.base_url, tmp_path / "full.sqlite3")
    on_older.now = on_full.now = clock.now()
    (first_old, report_old), _ = graphql_sent(on_older, refresh, facts.lacks)
    first_full, report_full = on_full.run(refresh_and_report, POLICY)
    assert first_old.kind == first_full.kind == "full"
    assert snapshot(report_old) == snapshot(report_full)
    assert stored_runs(on_older.cache_path) == stored_runs(on_full.cache_path)

    change_runs(on_full, sandbox_db)
    on_older.now = on_full.now = clock.now() + 5
    (inc_old, report_old), _ = graphql_sent(on_older, refresh, facts.lacks)
    inc_full, report_full = on_full.run(refresh_and_report, POLICY)
    assert inc_old.kind == inc_full.kind == "incremental"
    assert snapshot(report_old) == snapshot(report_full)
    assert stored_runs(on_older.cache_path) == stored_runs(on_full.cache_path)
    assert inc_old.runs_read < first_old.runs_read / 5  # still incremental, not a re-read
    llm = report_old.team("llm-platform-eng")
    assert llm is not None and "quota-new-project" in {p.project for p in llm.projects}


def test_without_the_degraded_read_the_older_server_refuses_the_refresh(
        serve, tmp_path: Path) -> None:
    """What the degraded path is for: the filtered read fails on that server."""
    older = serve(["Entity.projects(filters)"])
    world = QuotaWorld(older.base_url, tmp_path / "older.sqlite3")
    with pytest.raises(Exception, match="filters"):
        world.run(refresh_and_report, POLICY)
