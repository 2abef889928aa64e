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

Both print the CPU seconds spent meanwhile by wbadmin (this process) and by the sandbox (its
`/_sandbox/health` figure): on a shared VM whose speed drifts, the split says whose time a
wait was. The report times the team gauges; every project's usage is read on demand after
(timed as the `--json` line). Correctness is asserted (the store equals a fresh full
recomputation's); the goals print PASS/MISS and do not gate.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.benchmarks.bench_sync import serve
from tests.benchmarks.common import Results, seed_file, verdict
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


@dataclass
class Timed:
    refreshed: RefreshReport
    refresh_s: float          # wall time of the refresh
    report_s: float           # the usage report (team gauges; projects on demand)
    json_s: float             # every team's and project's usage as --json gives it
    client_cpu_s: float       # this process's CPU during the refresh and report
    server_cpu_s: float       # the sandbox process's CPU meanwhile
    usage: Any                # the report as JSON

    @property
    def total_s(self) -> float:
        return self.refresh_s + self.report_s


def server_cpu(base_url: str) -> float:
    return float(httpx.get(f"{base_url}/_sandbox/health", timeout=10).json()["cpu_seconds"])


def timed_refresh(base_url: str, cache_path: Path, now: float, full: bool) -> Timed:
    """Refresh the usage store at clock `now`, then compute the report, timed."""

    async def main() -> Timed:
        async with Client(base_url, key_of("alice"), scim_username="alice",
                          timeout=600) as client:
            cache = Cache(cache_path)
            try:
                service = QuotaService(cache, POLICY, client=client, clock=lambda: now)
                server0, cpu0 = server_cpu(base_url), time.process_time()
                t0 = time.perf_counter()
                refreshed = await service.refresh(full=full)
                t1 = time.perf_counter()
                usage = service.report()
                t2 = time.perf_counter()
                cpu, server = time.process_time() - cpu0, server_cpu(base_url) - server0
                as_json = usage.to_json()
                t3 = time.perf_counter()
                return Timed(refreshed, t1 - t0, t2 - t1, t3 - t2, cpu, server, as_json)
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


def change_in_bulk(path: Path, n: int, when: int, started_within: int = 600
                   ) -> tuple[int, int]:
    """n run changes as W&B would record them: a third of the running runs (or as many as
    there are) finish, as many heartbeat, the rest are new runs in active projects, started
    in the `started_within` seconds before `when`. Returns (changes, projects touched)."""
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
                start = when - rng.randint(0, started_within)
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
        full = timed_refresh(base_url, cache_path, time.time(), True)
        record("first full computation", f"{full.total_s:.1f} s",
               f"({full.refreshed.runs_read:,} runs from {full.refreshed.projects_read:,} "
               f"projects, {full.refreshed.requests:,} requests; report {full.report_s:.2f} s; "
               f"CPU: wbadmin {full.client_cpu_s:.1f} s, sandbox {full.server_cpu_s:.1f} s)")
        n = int(total * CHANGE_SHARE)
        create_through_api(base_url, sample, API_CREATES)
        # New runs start after the first computation began (a refresh reads runs created
        # since the last one began; an older run that only now appears is a resumed one).
        changed, touched = change_in_bulk(db_path, n - API_CREATES, int(time.time()),
                                          started_within=int(full.total_s))
        record("runs changed", f"{changed + API_CREATES:,}",
               f"of {total:,} ({API_CREATES} created through upsertBucket; "
               f"{touched:,} projects touched)")
        now = time.time() + 1
        inc = timed_refresh(base_url, cache_path, now, False)
        assert inc.refreshed.kind == "incremental"
        speedup = full.total_s / inc.total_s
        record("incremental refresh", f"{inc.total_s:.2f} s",
               f"({inc.refreshed.runs_read:,} runs from {inc.refreshed.projects_read:,} "
               f"projects, {inc.refreshed.requests:,} requests; report {inc.report_s:.2f} s) "
               f"goal <= {GOAL_INCREMENTAL_S:.0f} s: "
               f"{verdict(inc.total_s <= GOAL_INCREMENTAL_S)}")
        record("  CPU during it", f"{inc.client_cpu_s + inc.server_cpu_s:.2f} s",
               f"(wbadmin {inc.client_cpu_s:.2f} s, sandbox {inc.server_cpu_s:.2f} s; "
               f"{os.cpu_count()} cores)")
        record("  every project's usage (--json)", f"{inc.json_s:.2f} s",
               "(read on demand, after the report)")
        record("speed-up", f"{speedup:.1f}x",
               f"goal >= {GOAL_SPEEDUP:.0f}x: {verdict(speedup >= GOAL_SPEEDUP)}")
        check = timed_refresh(base_url, root / "fresh.sqlite3", now, True)
        record("check: fresh full recomputation", f"{check.refresh_s:.1f} s",
               f"({check.refreshed.runs_read:,} runs)")
    # The incremental store holds exactly what a fresh full computation finds, but for the
    # heartbeats of running runs, which the next sweep reads (every STALE_RECHECK_S).
    assert store_rows(cache_path) == store_rows(root / "fresh.sqlite3")
    assert [(t["team"], t["status"]) for t in inc.usage["teams"]] == \
        [(t["team"], t["status"]) for t in check.usage["teams"]]


def store_rows(path: Path) -> tuple[list[tuple], list[tuple]]:
    cache = Cache(path)
    try:
        runs = [tuple(r) for r in cache.query(
            "SELECT team, project, name, display_name, username, state, created_at, CASE WHEN "
            "state = 'running' THEN NULL ELSE heartbeat_at END, gpus, gpu_known, tags, "
            "config_keys FROM quota_runs ORDER BY 1, 2, 3")]
        days = [(r[0], r[1], r[2], round(r[3], 3)) for r in cache.query(
            "SELECT * FROM quota_daily WHERE gpu_seconds != 0 ORDER BY 1, 2, 3")]
        return runs, days
    finally:
        cache.close()
