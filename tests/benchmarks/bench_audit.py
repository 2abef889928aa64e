"""Audit-log benchmark (issue 18), run on demand (not in the default test run):

    pytest tests/benchmarks/bench_audit.py -s -p no:cacheprovider -o addopts=""

Reading 90 days of W&B's audit log on the `large` preset through `wbadmin.core.audit`
(`read_audit_logs`: month windows, each paged through `next_cursor` at 20,000 entries), as
alice: events, requests and wall time, without and with 30 ms injected latency. Then the read
an incremental reader would make the next day: only the newest day. Then the same through
`wbadmin audit`'s store (core/audit_store.py: deduplicated, in a cache file): the 90-day read,
the timeline built from the cache, and the next day's read (only the new time).

Benchmarks report; they do not gate. Only correctness is asserted (nothing lost or repeated:
the read holds exactly the server's 90-day count).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.benchmarks.common import Results, seed_file
from tests.conftest import key_of
from wbadmin import clock
from wbadmin.core import audit, audit_store
from wbadmin.core.audit_timeline import timeline
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client, RequestRecord
from wbadmin.sandbox import audit as sandbox_audit
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.server import SandboxServer

pytestmark = pytest.mark.benchmark

DAY = 86_400
DAYS = 90
LATENCY_MS = 30.0
NEW_DAY_EVENTS = 50
RESULTS = Results("Audit-log benchmark")
record = RESULTS.record


@pytest.fixture(scope="module", autouse=True)
def _table() -> None:
    yield
    RESULTS.print_table()


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory):
    path = Path(tmp_path_factory.mktemp("bench_audit")) / "large.db"
    record("seed large", f"{seed_file(path, 'large'):.1f} s")
    db = Database(path)
    server = SandboxServer(db)
    server.start()
    yield server
    server.stop()
    db.close()


def _read(base_url: str, start: float, days: int) -> tuple[audit.AuditRead, list, float]:
    records: list[RequestRecord] = []

    async def go() -> audit.AuditRead:
        async with Client(base_url, key_of("alice"), on_request=records.append) as client:
            return await audit.read_audit_logs(client, start=start, days=days,
                                               username="alice")
    began = time.perf_counter()
    read = asyncio.run(go())
    return read, records, time.perf_counter() - began


@pytest.mark.parametrize("latency_ms", [0.0, LATENCY_MS])
def test_read_90_days_then_the_new_day(large: SandboxServer, latency_ms: float) -> None:
    large.faults.update(latency_ms=latency_ms)
    now = clock.now()
    start = now - DAYS * DAY
    first_day = start // DAY * DAY
    expected = large.db.scalar("SELECT COUNT(*) FROM audit_log WHERE timestamp >= ?",
                               (first_day,))
    read, records, wall = _read(large.base_url, start, DAYS)
    assert not read.truncated and len(read.entries) == expected
    label = f"{latency_ms:.0f} ms latency"
    record(f"90 days ({label}): events", f"{len(read.entries):,}")
    record(f"90 days ({label}): requests", str(len(records)),
           f"{len(audit.windows(read.path, start, DAYS))} windows of <= 31 days, "
           f"pages of {audit.PAGE_SIZE:,}")
    record(f"90 days ({label}): wall", f"{wall:.2f} s")
    day, day_records, day_wall = _read(large.base_url, now, 0)
    record(f"new day ({label}): events", f"{len(day.entries):,}")
    record(f"new day ({label}): requests", str(len(day_records)))
    record(f"new day ({label}): wall", f"{day_wall:.2f} s")
    large.faults.update(latency_ms=0.0)


def _refresh(base_url: str, cache: Cache, since: float, now: float
             ) -> tuple[audit_store.StoreRead, list, float]:
    records: list[RequestRecord] = []

    async def go() -> audit_store.StoreRead:
        async with Client(base_url, key_of("alice"), on_request=records.append) as client:
            return await audit_store.refresh(client, cache, "alice", since, now)
    began = time.perf_counter()
    read = asyncio.run(go())
    return read, [r for r in records if r.api == "audit"], time.perf_counter() - began


def test_the_store_reads_90_days_then_only_the_new_day(large: SandboxServer,
                                                       tmp_path: Path) -> None:
    """Through `wbadmin audit`'s store (core/audit_store.py, a cache file on disk): the first
    read of 90 days, the timeline built from it, then the next day's read, which fetches only
    the day of the last read (again, deduplicated) and the new one."""
    now = clock.now()
    since = now - DAYS * DAY
    expected = large.db.scalar("SELECT COUNT(*) FROM audit_log WHERE timestamp >= ?",
                               (since // DAY * DAY,))
    cache = Cache(tmp_path / "cache.sqlite3")
    read, records, wall = _refresh(large.base_url, cache, since, now)
    assert read.truncated_at is None and read.added == read.fetched == expected
    record("store, 90 days: events", f"{read.added:,}")
    record("store, 90 days: requests", str(len(records)))
    record("store, 90 days: wall", f"{wall:.2f} s", "read, deduplicated and written")
    began = time.perf_counter()
    events = timeline(audit_store.stored(cache, since, now), [], {})
    record("store, 90 days: timeline", f"{time.perf_counter() - began:.2f} s",
           f"{len(events):,} rows from the cache (what --offline shows)")

    tomorrow = now + DAY
    with large.db.transaction() as conn:  # the new day's events, as W&B logs them
        for i in range(NEW_DAY_EVENTS):
            sandbox_audit.record(conn, int(now + 3600 + i * 60), "user:login", 1,
                                 response_code=200)
    clock.start_at(tomorrow)
    try:
        next_day, day_records, day_wall = _refresh(large.base_url, cache,
                                                   tomorrow - DAYS * DAY, tomorrow)
    finally:
        clock.start_at(None)
    assert next_day.added == NEW_DAY_EVENTS and len(day_records) == 1
    record("store, next day: requests", str(len(day_records)),
           "one window: the last read's day and the new one")
    record("store, next day: events", f"{next_day.fetched:,} fetched, {next_day.added} new")
    record("store, next day: wall", f"{day_wall:.2f} s")
    cache.close()
