"""Quota usage benchmark (issue 7), run on demand (not in the default test run):

    pytest tests/benchmarks/bench_quotas.py -s -p no:cacheprovider -o addopts=""

On the `huge` preset (1,000,000 runs, 50,000 projects, 500 teams; WBADMIN_BENCH_PRESET=large
for a quicker look), served by the sandbox in a process of its own:

1. the first full computation: every project's runs active since the usage window began
   (the start of the previous month), GPU facts, storage, and the usage report;
2. then 1 % of the runs change (10,000 for huge): new runs created through the sandbox's API
   (upsertBucket) and, in bulk, through its database as W&B's would change, stamped with the
   server's clock (runs finish, running runs heartbeat, new runs appear; each touched
   project's updatedAt moves);
3. the incremental refresh and the report. Goal: <= 2 s and >= 20x faster than the full.

Correctness is asserted (a fresh full recomputation gives the same report); the goals print
PASS/MISS and do not gate.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks.bench_sync import serve
from tests.benchmarks.common import Results, seed_file
from tests.conftest import key_of
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.quotas import QuotaService
from wbadmin.core.quotas.policy import parse_policy
from wbadmin.core.quotas.refresh import RefreshReport
from wbadmin.core.sync import Syncer
from wbadmin.sandbox.db import Database

pytestmark = pytest.mark.benchmark

PRESET = os.environ.get("WBADMIN_BENCH_PRESET", "huge")
CHANGE_SHARE = 0.01
API_CREATES = 50  # runs created through upsertBucket (the rest of the changes in bulk)
GOAL_INCREMENTAL_S = 2.0
GOAL_SPEEDUP = 20.0
POLICY = parse_policy("""
[defaults]
period = "month"
price_per_gpu_hour = 2.40
[teams.foundation-models]
gpu_hours = { soft = 50000, hard = 80000 }
""", Path("bench.toml"))

RESULTS = Results(f"Quota benchmark ({PRESET})")
record = RESULTS.record



@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    RESULTS.print_table()


def timed_refresh(base_url: str, cache_path: Path, now: float, full: bool
                  ) -> tuple[RefreshReport, float, float, Any]:
    """(refresh report, refresh seconds, report seconds, report JSON) at clock `now`."""

    async def main() -> tuple[RefreshReport, float, float, Any]:
        async with Client(base_url, key_of("alice"), scim_username="alice",
                          timeout=600) as client:
            cache = Cache(cache_path)
            try:
                service = QuotaService(cache, POLICY, client=client, clock=lambda: now)
                t0 = time.perf_counter()
                refreshed = await service.refresh(full=full)
                t1 = time.perf_counter()
                usage = service.report()
                t2 = time.perf_counter()
                return refreshed, t1 - t0, t2 - t1, usage.to_json()
            finally:
                cache.close()

    return asyncio.run(main())


def sync(base_url: str, cache_path: Path) -> float:
    async def main() -> None:
        async with Client(base_url, key_of("alice"), scim_username="alice",
                          timeout=600) as client:
            cache = Cache(cache_path)
            try:
                await Syncer(client, cache).full()
            finally:
                cache.close()

    start = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - start


def create_through_api(base_url: str, projects: list[tuple[str, str]], n: int) -> None:
    upsert = """mutation Upsert($input: UpsertBucketInput!) {
      upsertBucket(input: $input) { inserted } }"""

    async def main() -> None:
        async with Client(base_url, key_of("alice"), scim_username="alice") as client:
            for i in range(n):
                team, project = projects[i % len(projects)]
                await client.graphql(upsert, {"input": {
                    "name": f"bench{i:05d}", "entityName": team, "modelName": project}})

    asyncio.run(main())


def change_in_bulk(path: Path, n: int, when: int) -> tuple[int, int]:
    """n run changes as W&B would record them: a third of the running runs (or as many as
    there are) finish, as many heartbeat, the rest are new runs in active projects.
    Returns (changes, projects touched)."""
    rng = random.Random(7)
    db = Database(path)
    try:
        running = [tuple(r) for r in db.query(
            "SELECT id, project_id, created_at FROM runs WHERE state = 'running'")]
        rng.shuffle(running)
        k = min(len(running) // 2, n // 3)
        finishing, beating = running[:k], running[k:2 * k]
        creating = n - 2 * k
        active = sorted({p for _, p, _ in running})
        users = [r[0] for r in db.query("SELECT id FROM users WHERE account_type = 'USER' "
                                        "LIMIT 500")]
        next_id = int(db.scalar("SELECT MAX(id) FROM runs")) + 1
        touched: set[int] = set()
        with db.transaction() as conn:
            conn.executemany(
                "UPDATE runs SET state = 'finished', heartbeat_at = ?, runtime_s = ? - "
                "created_at WHERE id = ?", [(when, when, rid) for rid, _, _ in finishing])
            conn.executemany("UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                             [(when, rid) for rid, _, _ in beating])
            touched |= {p for _, p, _ in finishing + beating}
            rows = []
            for i in range(creating):
                project = active[rng.randrange(len(active))]
                start = when - rng.randint(0, 600)
                rows.append((next_id + i, project, f"b{next_id + i:07x}", f"bench-{i}",
                             "running", users[i % len(users)], start, when,
                             when - start, rng.choice([1, 2, 4, 8])))
                touched.add(project)
            conn.executemany(
                "INSERT INTO runs (id, project_id, name, display_name, state, user_id, "
                "created_at, heartbeat_at, runtime_s, gpu_count) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows)
            conn.executemany("UPDATE projects SET updated_at = MAX(updated_at, ?) WHERE id = ?",
                             [(when, p) for p in touched])
        return len(finishing) + len(beating) + creating, len(touched)
    finally:
        db.close()


def test_full_then_incremental(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("quotas")
    db_path, cache_path = root / f"{PRESET}.db", root / "cache.sqlite3"
    record(f"seed {PRESET} (file)", f"{seed_file(db_path, PRESET):.1f} s")
    runs = Database(db_path)
    total = int(runs.scalar("SELECT COUNT(*) FROM runs"))
    sample = [(r[0], r[1]) for r in runs.query(
        "SELECT e.name, p.name FROM runs r JOIN projects p ON p.id = r.project_id JOIN "
        "entities e ON e.id = p.entity_id WHERE r.state = 'running' AND e.kind = 'team' "
        "GROUP BY p.id LIMIT 20")]
    runs.close()
    with serve(db_path, "process") as base_url:
        record("sync (Syncer.full: teams, projects)", f"{sync(base_url, cache_path):.1f} s")
        full, full_s, full_report_s, _ = timed_refresh(base_url, cache_path, time.time(),
                                                       True)
        record("first full computation", f"{full_s + full_report_s:.1f} s",
               f"({full.runs_read:,} runs from {full.projects_read:,} projects, "
               f"{full.requests:,} requests; report {full_report_s:.2f} s)")
        n = int(total * CHANGE_SHARE)
        create_through_api(base_url, sample, API_CREATES)
        changed, touched = change_in_bulk(db_path, n - API_CREATES, int(time.time()))
        record("runs changed", f"{changed + API_CREATES:,}",
               f"of {total:,} ({API_CREATES} created through upsertBucket; "
               f"{touched:,} projects touched)")
        now = time.time() + 1
        inc, inc_s, inc_report_s, inc_report = timed_refresh(base_url, cache_path, now, False)
        assert inc.kind == "incremental"
        inc_total = inc_s + inc_report_s
        speedup = (full_s + full_report_s) / inc_total
        verdict = "PASS" if inc_total <= GOAL_INCREMENTAL_S else "MISS"
        record("incremental refresh", f"{inc_total:.2f} s",
               f"({inc.runs_read:,} runs from {inc.projects_read:,} projects, "
               f"{inc.requests:,} requests; report {inc_report_s:.2f} s) goal <= "
               f"{GOAL_INCREMENTAL_S:.0f} s: {verdict}")
        record("speed-up", f"{speedup:.1f}x",
               f"goal >= {GOAL_SPEEDUP:.0f}x: {'PASS' if speedup >= GOAL_SPEEDUP else 'MISS'}")
        check, check_s, _, check_report = timed_refresh(base_url, root / "fresh.sqlite3",
                                                        now, True)
        record("check: fresh full recomputation", f"{check_s:.1f} s",
               f"({check.runs_read:,} runs)")
    # The incremental store holds exactly what a fresh full computation finds.
    assert store_rows(cache_path) == store_rows(root / "fresh.sqlite3")
    assert len(inc_report["teams"]) == len(check_report["teams"])


def store_rows(path: Path) -> tuple[list[tuple], list[tuple]]:
    cache = Cache(path)
    try:
        runs = [tuple(r) for r in cache.query("SELECT * FROM quota_runs ORDER BY 1, 2, 3")]
        days = [(r[0], r[1], r[2], round(r[3], 3)) for r in cache.query(
            "SELECT * FROM quota_daily WHERE gpu_seconds != 0 ORDER BY 1, 2, 3")]
        return runs, days
    finally:
        cache.close()
