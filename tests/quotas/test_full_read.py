"""A full refresh's read over real HTTP against the sandbox: a project of many pages is
read whole, following its pages at once with larger ones; a run read on two pages counts
once; a read that fails leaves the store as it was and the cache ready for the next."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import key_of
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.quotas import QuotaService
from wbadmin.core.quotas import refresh as R
from wbadmin.core.quotas import service as S
from wbadmin.core.quotas.staged import SCHEMA, StagedRuns
from wbadmin.core.quotas.store import RunFact
from wbadmin.sandbox.db import Database

from .conftest import NOW, policy
from .test_refresh import stored_runs

TEAM, PROJECT = "llm-platform-eng", "kv-cache-experiments"
DEEP = 40  # running runs added to one project


class Recording(httpx.AsyncHTTPTransport):
    """Each GraphQL request's operation and variables."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/graphql"):
            body = json.loads(request.content)
            self.sent.append((body.get("operationName") or body["query"].split("(")[0],
                              body.get("variables") or {}))
        return await super().handle_async_request(request)


def deepen(db: Database) -> None:
    project = db.one("SELECT p.id FROM projects p JOIN entities e ON e.id = p.entity_id "
                     "WHERE e.name = ? AND p.name = ?", (TEAM, PROJECT))["id"]
    user = db.one("SELECT id FROM users WHERE username = 'carol'")["id"]
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO runs (project_id, name, display_name, state, user_id, created_at, "
            "heartbeat_at, gpu_count, summary) VALUES (?, ?, ?, 'running', ?, ?, ?, 2, ?)",
            [(project, f"deep{i:03d}", f"deep-{i}", user, NOW - 7200 + i, NOW - 60,
              '{"_step": 1}') for i in range(DEEP)])


def full(base_url: str, path: Path, transport: httpx.AsyncBaseTransport | None = None):
    async def go():
        async with Client(base_url, key_of("alice"), scim_username="alice",
                          transport=transport, backoff_base=0.05) as client:
            cache = Cache(path)
            try:
                return await QuotaService(cache, policy(""), client=client,
                                          clock=lambda: NOW).refresh(full=True)
            finally:
                cache.close()

    return asyncio.run(go())


def test_a_project_of_many_pages_is_read_whole_with_growing_pages(sandbox, sandbox_db,
                                                                  tmp_path, monkeypatch
                                                                  ) -> None:
    deepen(sandbox_db)
    full(sandbox.base_url, tmp_path / "default.sqlite3")
    recording = Recording()
    with monkeypatch.context() as patch:  # 3 runs a page, 2 projects a request
        patch.setattr(S, "QuotaRefresher",
                      functools.partial(R.QuotaRefresher, page_size=3, project_batch=2))
        report = full(sandbox.base_url, tmp_path / "small.sqlite3", recording)
    assert stored_runs(tmp_path / "small.sqlite3") == stored_runs(tmp_path / "default.sqlite3")
    assert report.runs_read >= DEEP
    # The deep project's pages after its first, each asked by the worker that read the one
    # before, with as many runs as a full request asks (3 x 2): 6 runs a page when it is
    # alone in its request, not 3.
    deep = [v for op, v in recording.sent if op == "WbadminQuotaRuns"
            and PROJECT in v.values() and any(k.endswith("_after") and c for k, c in v.items())]
    asked = [(v["s_first"], sum(k.endswith("_name") for k in v)) for v in deep]
    assert all(first * aliases == 6 for first, aliases in asked)
    assert (6, 1) in asked
    assert len(deep) < DEEP // 3


def run(name: str, state: str, gpus: int) -> RunFact:
    return RunFact("t", "p", name, None, "carol", state, NOW - 7200, NOW - 3600, gpus)


def test_a_run_read_on_two_pages_counts_once_as_last_read(tmp_path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    try:
        staged = StagedRuns(cache.conn)
        staged.add([run("a", "running", 2), run("b", "finished", 1)])
        staged.add([run("a", "finished", 2)])  # read again: it ended
        with cache.transaction() as conn:
            assert staged.write(conn) is False
        staged.close()
        states = dict(cache.query("SELECT name, state FROM quota_runs"))
        total = cache.scalar("SELECT SUM(gpu_seconds) FROM quota_daily")
        team = cache.scalar("SELECT SUM(gpu_seconds) FROM quota_team_daily")
    finally:
        cache.close()
    assert states == {"a": "finished", "b": "finished"}
    assert total == team == 3 * 3600.0  # a's 2 GPUs once, b's one


def test_a_full_read_that_fails_leaves_the_store_and_the_cache_ready(sandbox, tmp_path
                                                                     ) -> None:
    path = tmp_path / "cache.sqlite3"
    full(sandbox.base_url, path)
    before = stored_runs(path)

    async def broken(self, teams):  # the runs are read and staged; what comes after fails
        raise RuntimeError("connection lost")

    async def go() -> tuple[str, set[str]]:
        async with Client(sandbox.base_url, key_of("alice"), scim_username="alice") as client:
            cache = Cache(path)  # one connection for both refreshes
            try:
                service = QuotaService(cache, policy(""), client=client, clock=lambda: NOW)
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(R.QuotaRefresher, "_storage", broken)
                    with pytest.raises(RuntimeError):
                        await service.refresh(full=True)
                assert stored_runs(path) == before
                again = await service.refresh(full=True)
                return again.kind, {row[1] for row in cache.query("PRAGMA database_list")}
            finally:
                cache.close()

    kind, attached = asyncio.run(go())
    assert kind == "full" and stored_runs(path) == before
    assert SCHEMA not in attached  # the staging database is let go after each read
