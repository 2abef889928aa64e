"""Service-account facts benchmark, run on demand (not in the default test run):

    pytest tests/benchmarks/bench_sa_facts.py -s -p no:cacheprovider -o addopts=""

`service_accounts.read_facts` on the `large` preset as alice, with the default thresholds'
window (180 days of audit log), into a cache file synced first: the first read (the user
listing and the whole window, kept in the audit store) and a second read the same day
(the listing and only today's window). Audit requests, all requests and wall time of each.
For comparison, the whole window read as `read_facts` read it before the store (every
`--refresh` and every daily TUI read).

Benchmarks report; they do not gate. Only correctness is asserted: the second read finds
what the first did, and what the full read finds.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tests.benchmarks.common import Results, seed_file
from tests.conftest import SEED_NOW, key_of
from wbadmin.core import audit
from wbadmin.core.access import service_accounts as sa
from wbadmin.core.access.people import identity
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client, RequestRecord
from wbadmin.core.sync import Syncer
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.server import SandboxServer

pytestmark = pytest.mark.benchmark

DAY = 86_400
DAYS = sa.log_days(90, 90)
RESULTS = Results("Service-account facts benchmark")
record = RESULTS.record


@pytest.fixture(scope="module", autouse=True)
def _table() -> None:
    yield
    RESULTS.print_table()


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory):
    path = Path(tmp_path_factory.mktemp("bench_sa")) / "large.db"
    record("seed large", f"{seed_file(path, 'large'):.1f} s")
    db = Database(path)
    server = SandboxServer(db)
    server.start()
    yield server
    server.stop()
    db.close()


def _client(base_url: str, sent: list[RequestRecord]) -> Client:
    return Client(base_url, key_of("alice"), scim_username="alice", on_request=sent.append)


def _facts(base_url: str, cache: Cache, now: float) -> tuple[list[RequestRecord], float]:
    sent: list[RequestRecord] = []

    async def go() -> None:
        async with _client(base_url, sent) as client:
            me = identity(cache)
            assert me is not None
            await sa.read_facts(client, cache, me, now, DAYS)
    began = time.perf_counter()
    asyncio.run(go())
    return sent, time.perf_counter() - began


def _rows(cache: Cache) -> list[tuple]:
    return [tuple(r) for r in cache.query(
        "SELECT username, last_key_at, last_event_at, run_teams FROM sa_facts ORDER BY 1")]


def test_first_and_second_read(large: SandboxServer, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")

    async def sync() -> None:
        async with _client(large.base_url, []) as client:
            await Syncer(client, cache).full()
    asyncio.run(sync())
    now = SEED_NOW
    rows = []
    for label, at in (("first read", now), ("second read, same day", now + 600)):
        sent, wall = _facts(large.base_url, cache, at)
        audit_sent = [r for r in sent if r.api == "audit"]
        record(f"{label}: audit requests", str(len(audit_sent)))
        record(f"{label}: requests", str(len(sent)), "the user listing included")
        record(f"{label}: wall", f"{wall:.2f} s")
        rows.append(_rows(cache))
    assert rows[0] == rows[1]
    stored = cache.scalar("SELECT COUNT(*) FROM audit_events")
    record("audit store: entries", f"{stored:,}", f"{DAYS} days")

    sent = []

    async def full() -> list[dict]:
        async with _client(large.base_url, sent) as client:
            read = await audit.read_audit_logs(client, start=now - DAYS * DAY, days=DAYS,
                                               username="alice")
            return read.entries
    began = time.perf_counter()
    entries = asyncio.run(full())
    record("before the store, every read: audit requests", str(len(sent)))
    record("before the store, every read: wall", f"{time.perf_counter() - began:.2f} s",
           "the window only, no listing, nothing written")
    by_id = {r[1]: r[0] for r in cache.query("SELECT username, gql_id FROM sa_facts")}
    seen = sa.activity(entries, by_id)
    assert rows[0] == sorted((n, seen.last_key.get(n), seen.last_event.get(n),
                              json.dumps(sorted(seen.run_teams.get(n, ()))))
                             for n in by_id.values())
    cache.close()
