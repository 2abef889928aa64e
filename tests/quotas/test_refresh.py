"""Full and incremental refresh against the sandbox over real HTTP: after runs are created,
heartbeat, finish or stop, an incremental refresh gives exactly what a full recomputation
gives, reads far fewer runs, never re-reads finished runs, and survives clock skew."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wbadmin import clock
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.quotas import QuotaService, wire
from wbadmin.core.quotas.refresh import RefreshReport
from wbadmin.core.quotas.store import UsageStore
from wbadmin.core.quotas.usage import UsageReport
from wbadmin.sandbox import ids
from wbadmin.sandbox.db import Database

from .conftest import QuotaWorld, policy
from .sweeps import sweep_due

POLICY = policy("""
[teams.llm-platform-eng]
gpu_hours = 500
[teams.data-science-nlp]
gpu_hours = { soft = 100, hard = 200 }
""")
TEAM, PROJECT = "llm-platform-eng", "kv-cache-experiments"


def snapshot(report: UsageReport) -> Any:
    """Everything a person sees of a report, rounded past float noise."""
    return json.loads(json.dumps(report.to_json(), sort_keys=True),
                      parse_float=lambda x: round(float(x), 4))


def stored_runs(cache_path) -> list[tuple]:
    cache = Cache(cache_path)
    try:
        return [tuple(r) for r in cache.query("SELECT * FROM quota_runs ORDER BY team, "
                                              "project, name")]
    finally:
        cache.close()


async def refresh_and_report(service: QuotaService, full: bool = False
                             ) -> tuple[RefreshReport, UsageReport]:
    refreshed = await service.refresh(full=full)
    return refreshed, service.report()


async def gql(client: Client, query: str, **variables: Any) -> dict:
    return await client.graphql(query, variables)


UPSERT = """mutation Upsert($input: UpsertBucketInput!) {
  upsertBucket(input: $input) { bucket { id name state } inserted } }"""
STOP = """mutation Stop($id: ID!) { stopRun(input: {id: $id}) { success } }"""


def change_runs(world: QuotaWorld, db: Database) -> set[str]:
    """Create, heartbeat, finish and stop runs the ways W&B would, through the API where it
    has a way (upsertBucket, stopRun) and the database otherwise (a heartbeat, GPU facts).
    Returns the names of the running runs only a sweep reads: one that only heart-beat,
    and one created two hours ago."""
    running = db.query(
        "SELECT r.id, r.name, e.name AS team, p.name AS project FROM runs r "
        "JOIN projects p ON p.id = r.project_id JOIN entities e ON e.id = p.entity_id "
        "WHERE r.state = 'running' AND e.kind = 'team' ORDER BY r.id")
    assert len(running) >= 3

    async def api(service: QuotaService) -> None:
        client = service.client
        assert client is not None
        for i in range(3):  # new runs, one in a brand-new project
            project = PROJECT if i < 2 else "quota-new-project"
            out = await gql(client, UPSERT, input={"name": f"qnew{i}", "entityName": TEAM,
                                                   "modelName": project})
            assert out["upsertBucket"]["inserted"]
        finish = running[0]
        await gql(client, UPSERT, input={"id": ids.encode("Run", finish["id"]),
                                         "state": "finished"})
        await gql(client, STOP, id=ids.encode("Run", running[1]["id"]))

    world.run(api)
    now = int(clock.now())
    with db.transaction() as conn:
        conn.execute("UPDATE runs SET gpu_count = 4, gpu_type = 'NVIDIA H100 80GB HBM3' "
                     "WHERE name LIKE 'qnew%'")
        # One running run created before the last refresh that it never saw (as a resumed
        # run is): only the next sweep reads it.
        conn.execute("UPDATE runs SET created_at = created_at - 7200 WHERE name = 'qnew2'")
        hb = running[2]
        conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (now, hb["id"]))
        conn.execute("UPDATE projects SET updated_at = ? WHERE id = (SELECT project_id FROM "
                     "runs WHERE id = ?)", (now, hb["id"]))
    return {str(hb["name"]), "qnew2"}


@pytest.mark.parametrize("nested_runs", [100, 1])
def test_incremental_refresh_equals_a_full_recomputation(world: QuotaWorld, sandbox_db,
                                                         tmp_path, monkeypatch,
                                                         nested_runs: int) -> None:
    """Also when a changed project has more new runs than the changes request carries
    (nested_runs=1: the rest are asked for project by project). A running run that only
    heart-beat is read by the next sweep, not by every refresh."""
    monkeypatch.setattr("wbadmin.core.quotas.refresh.NESTED_RUNS", nested_runs)
    # With one page run, also one stale run's name per alias (a project's silent running
    # runs are asked for in pieces).
    monkeypatch.setattr("wbadmin.core.quotas.refresh.STALE_NAMES", 1 if nested_runs == 1 else 100)
    world.now = clock.now()  # the sandbox's API stamps changes on the same clock (WBADMIN_NOW)
    first, _ = world.run(refresh_and_report, POLICY)
    assert first.kind == "full" and first.runs_read > 100
    swept = change_runs(world, sandbox_db)
    world.now = clock.now() + 5
    inc, inc_report = world.run(refresh_and_report, POLICY)
    assert inc.kind == "incremental"
    full, _ = world.run(lambda s: refresh_and_report(s, full=True), POLICY,
                        cache_path=tmp_path / "fresh.sqlite3")
    held = {r[2]: r for r in stored_runs(world.cache_path)}
    fresh = {r[2]: r for r in stored_runs(tmp_path / "fresh.sqlite3")}
    assert {n for n in held.keys() | fresh.keys() if held.get(n) != fresh.get(n)} == swept
    assert {"qnew0", "qnew1"} <= held.keys()  # new runs are read at once
    sweep_due(world.cache_path)
    inc, inc_report = world.run(refresh_and_report, POLICY)
    assert inc.kind == "incremental"
    full, full_report = world.run(lambda s: refresh_and_report(s, full=True), POLICY,
                                  cache_path=tmp_path / "fresh2.sqlite3")
    assert full.kind == "full"
    assert snapshot(inc_report) == snapshot(full_report)
    assert stored_runs(world.cache_path) == stored_runs(tmp_path / "fresh2.sqlite3")
    # The new runs are there, 4 GPUs each, two hours old.
    llm = inc_report.team(TEAM)
    assert llm is not None and "quota-new-project" in {p.project for p in llm.projects}
    assert inc.runs_read < full.runs_read / 5
    assert inc.requests < full.requests


def test_finished_runs_are_never_read_again(world: QuotaWorld, sandbox_db) -> None:
    first, _ = world.run(refresh_and_report, POLICY)
    assert first.kind == "full"
    # A finished run edited behind W&B's back (no heartbeat, project untouched) is not asked
    # for again: what has ended does not change.
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE runs SET gpu_count = 99 WHERE state = 'finished'")
    again, _ = world.run(refresh_and_report, POLICY)
    assert again.kind == "incremental"
    assert again.runs_read == 0
    assert all(r[8] != 99 for r in stored_runs(world.cache_path) if r[5] == "finished")


@pytest.mark.parametrize("skew_hours", [-3, 5])
def test_clock_skew_between_server_and_us(world: QuotaWorld, sandbox_db, tmp_path,
                                          skew_hours: int) -> None:
    """Our clock off by hours from the server's: the incremental boundary is taken from the
    server's own timestamps, so changes are still found, and results equal a full read."""
    world.now = clock.now() + skew_hours * 3600
    first, _ = world.run(refresh_and_report, POLICY)
    assert first.kind == "full"
    run = sandbox_db.one("SELECT r.id, r.project_id FROM runs r WHERE r.state = 'running' "
                         "ORDER BY r.id LIMIT 1")
    later = int(clock.now()) + 1  # the server writes (on its own clock) after the refresh
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE runs SET state = 'finished', heartbeat_at = ?, runtime_s = ? - "
                     "created_at WHERE id = ?", (later, later, run["id"]))
        conn.execute("UPDATE projects SET updated_at = ? WHERE id = ?", (later,
                                                                         run["project_id"]))
    world.now += 60
    inc, inc_report = world.run(refresh_and_report, POLICY)
    full, full_report = world.run(lambda s: refresh_and_report(s, full=True), POLICY,
                                  cache_path=tmp_path / "fresh.sqlite3")
    assert inc.runs_read == 1
    assert (inc.kind, full.kind) == ("incremental", "full")
    assert snapshot(inc_report) == snapshot(full_report)
    name = sandbox_db.scalar("SELECT name FROM runs WHERE id = ?", (run["id"],))
    assert [r[5] for r in stored_runs(world.cache_path) if r[2] == name] == ["finished"]


def test_gpus_come_from_system_metrics_or_the_metadata_file(world: QuotaWorld,
                                                            sandbox_db) -> None:
    refreshed, report = world.run(refresh_and_report, POLICY)
    stored = {r[2]: r for r in stored_runs(world.cache_path)}
    files = sandbox_db.query("SELECT r.name, r.gpu_count, f.content FROM run_files f "
                             "JOIN runs r ON r.id = f.run_id")
    assert files, "the demo seed has runs with stats off"
    recovered = missing = 0
    for row in files:
        if row["name"] not in stored:
            continue
        meta = json.loads(row["content"])
        if "gpu_count" in meta:  # no samples, but the metadata file names the GPUs
            assert stored[row["name"]][8:10] == (row["gpu_count"], 1)
            recovered += 1
        else:  # nothing anywhere: 0 GPUs, flagged
            assert stored[row["name"]][8:10] == (0, 0)
            missing += 1
    assert recovered and missing and refreshed.metadata_files >= recovered + missing
    others = [r for name, r in stored.items() if name not in {f["name"] for f in files}]
    truth = dict(sandbox_db.query("SELECT name, gpu_count FROM runs"))
    assert all(r[8] == truth[r[2]] and r[9] == 1 for r in others)
    assert report.missing == sum(t.missing for t in report.teams) > 0


@pytest.mark.calendar
def test_a_new_period_drops_what_no_period_needs(world: QuotaWorld, tmp_path) -> None:
    world.run(refresh_and_report, POLICY)  # month M: the store starts on M-1's first day
    before = len(stored_runs(world.cache_path))
    # Mid-month M+1, whatever day of M the clock is on: M-1 is no longer needed.
    first = datetime.fromtimestamp(world.now, UTC).date().replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    world.now = datetime(following.year, following.month, 15, tzinfo=UTC).timestamp()
    inc, inc_report = world.run(refresh_and_report, POLICY)
    full, full_report = world.run(lambda s: refresh_and_report(s, full=True), POLICY,
                                  cache_path=tmp_path / "fresh.sqlite3")
    assert (inc.kind, full.kind) == ("incremental", "full")
    assert len(stored_runs(world.cache_path)) < before
    assert snapshot(inc_report) == snapshot(full_report)
    assert stored_runs(world.cache_path) == stored_runs(tmp_path / "fresh.sqlite3")


def test_batched_requests_send_a_shared_value_once() -> None:
    """The filter every alias asks is one variable, so the server parses it once."""
    calls = [{"name": "a", "entityName": "t", "FILTERS": '{"x": 1}', "FIRST": 5, "AFTER": None},
             {"name": "b", "entityName": "t", "FILTERS": '{"x": 1}', "FIRST": 5, "AFTER": "c1"}]
    doc, variables = wire.batched("Q", "project", wire.RUNS_SELECTION, calls,
                                  {"name": "String!", "entityName": "String!"},
                                  {"FILTERS": "JSONString", "FIRST": "Int", "AFTER": "String"})
    assert variables["s_filters"] == '{"x": 1}' and variables["s_first"] == 5
    assert (variables["a0_after"], variables["a1_after"]) == (None, "c1")
    assert doc.count("$s_filters") == 3  # declared once, used by both aliases
    assert "a0_filters" not in variables


@pytest.mark.parametrize("samples, gpus", [
    ({}, None),  # no samples at all: unknown, reported as missing
    ({"system.cpu": 12.5, "system.memory": 40}, 0),  # sampled, no GPU
    ({"system.gpu.0.gpu": 91, "system.gpu.1.temp": 60, "system.gpu.0.temp": 58,
      "system.cpu": 3}, 2),
    ({"system.gpu.12.powerWatts": 300.5}, 1),
    ({"system.cpu": 1, "note": '"system.gpu.3.gpu": 1'}, 0),  # text in a value is no key
])
def test_gpus_are_read_from_the_samples_text(samples: dict[str, Any], gpus: int | None) -> None:
    text = json.dumps(samples)
    assert wire.gpus_from_system_metrics(text) == gpus
    assert wire.gpus_from_system_metrics(json.dumps(samples, indent=1)) == gpus
    assert wire.gpus_from_system_metrics(samples) == gpus  # already decoded


def test_a_refresh_that_fails_half_way_is_made_good_by_the_next(world: QuotaWorld, sandbox_db,
                                                                tmp_path, monkeypatch) -> None:
    """Runs are written as they arrive; if the refresh then fails, the watermark has not
    moved, so the next refresh reads them again and the store equals a full read."""
    from wbadmin.core.quotas.refresh import QuotaRefresher

    world.now = clock.now()
    world.run(refresh_and_report, POLICY)
    change_runs(world, sandbox_db)
    world.now = clock.now() + 5
    sweep_due(world.cache_path)  # every changed run is read
    before = Cache(world.cache_path)
    watermark = UsageStore(before).get("watermark")
    before.close()

    async def broken(self, jobs):  # the follow-up requests fail after the first answers
        await asyncio.sleep(0.2)  # the writer has had its turn
        raise RuntimeError("connection lost")

    with monkeypatch.context() as patch:
        patch.setattr(QuotaRefresher, "_runs", broken)
        with pytest.raises(RuntimeError):
            world.run(refresh_and_report, POLICY)
    after = Cache(world.cache_path)
    assert UsageStore(after).get("watermark") == watermark
    assert after.scalar("SELECT COUNT(*) FROM quota_runs WHERE name LIKE 'qnew%'") == 3
    after.close()
    again, report = world.run(refresh_and_report, POLICY)
    assert again.kind == "incremental"
    _, full_report = world.run(lambda s: refresh_and_report(s, full=True), POLICY,
                               cache_path=tmp_path / "fresh.sqlite3")
    assert snapshot(report) == snapshot(full_report)
    assert stored_runs(world.cache_path) == stored_runs(tmp_path / "fresh.sqlite3")
