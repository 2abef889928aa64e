"""Invite dates read incrementally: the cache keeps the invites the audit log showed and the
range read, so a later sync reads only the new day(s); the first read goes newest first and
stops once every pending invite is dated; the safety cap still shows."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import SEED_NOW, basic_api, key_of
from wbadmin import clock
from wbadmin.core import audit, invite_log
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.sync import Syncer

pytestmark = pytest.mark.calendar  # day windows and ages, at any date

DAY = 86_400
NOW = SEED_NOW // 3600 * 3600  # the seed floors its reference time to the hour
# The seed's pending invites: (team, email) -> days before the seed time.
SEEDED = {("data-science-nlp", "dave@inference-systems.ai"): 21,
          ("product-ai-agents", "new.hire@inference-systems.ai"): 2,
          ("llm-platform-eng", "contractor@partner-labs.io"): 45}


def day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


@pytest.fixture
def cache():
    cache = Cache(None)
    yield cache
    cache.close()


def ages(cache: Cache) -> dict[tuple[str, str], float | None]:
    return {(r[0], r[1]): None if r[2] is None else (NOW - r[2]) / DAY
            for r in cache.query("SELECT team, email, created_at FROM invites")}


async def sync(base_url: str, cache: Cache, at, **kw) -> tuple[object, list[tuple[str, str]]]:
    """A full sync by alice at clock `at`; its report and the audit windows it asked for,
    (startDate, numDays) in order (the requests go to the sandbox unchanged)."""
    asked: list[tuple[str, str]] = []
    async with Client(base_url, key_of("alice"), scim_username="alice",
                      backoff_base=0.01) as client:
        real = client.get_raw

        async def get_raw(path, params, **options):
            if options.get("api") == "audit":
                asked.append((params["startDate"], params["numDays"]))
            return await real(path, params, **options)

        client.get_raw = get_raw  # type: ignore[method-assign]
        report = await Syncer(client, cache, clock=at if callable(at) else lambda: at,
                              **kw).full()
    return report, asked


async def test_first_sync_stops_once_every_pending_invite_is_dated(sandbox, cache) -> None:
    now = NOW + DAY
    today = now // DAY * DAY
    report, asked = await sync(sandbox.base_url, cache, now)
    assert report.warnings == [] and ages(cache) == SEEDED
    # Today, 7 days, then 31-day windows: the 46-day-old invite is in the second, and the
    # remaining 21 days of the 91 are never asked for.
    assert asked == [(day(today), "0"), (day(today - 7 * DAY), "6"),
                     (day(today - 38 * DAY), "30"), (day(today - 69 * DAY), "30")]
    span = invite_log.load_range(cache)
    assert (span.read_from, span.read_until) == (today - 69 * DAY, now)


async def test_a_second_sync_reads_only_the_new_days(sandbox, cache) -> None:
    first = NOW + DAY
    await sync(sandbox.base_url, cache, first)
    report, asked = await sync(sandbox.base_url, cache, first + DAY)
    # From the day the first read ended, through today: one request of two days.
    assert asked == [(day(first), "1")]
    assert report.warnings == [] and ages(cache) == SEEDED
    _, asked = await sync(sandbox.base_url, cache, first + DAY + 60)
    assert asked == [(day(first + DAY), "0")]
    assert ages(cache) == SEEDED


async def test_a_new_invite_is_dated_by_the_next_sync(sandbox, cache) -> None:
    await sync(sandbox.base_url, cache, clock.now)
    mutation = """mutation CreateInvite($entity: String!, $email: String) {
      result: createInvite(input: {entityName: $entity, email: $email}) { invite { id } } }"""
    before = int(clock.now())
    resp = httpx.post(f"{sandbox.base_url}/graphql", headers=basic_api("alice"), json={
        "query": mutation, "variables": {"entity": "ml-infra", "email": "Late@Example.com"}})
    assert resp.json()["data"]["result"]["invite"]["id"]
    after = int(clock.now())
    _, asked = await sync(sandbox.base_url, cache, clock.now)
    assert len(asked) == 1  # only what is new since the first sync
    sent = cache.scalar("SELECT created_at FROM invites WHERE email = 'Late@Example.com'")
    assert sent is not None and before <= sent <= after + 1


async def test_a_later_sync_reads_back_only_for_undated_invites(sandbox, cache) -> None:
    now = NOW + DAY
    today = now // DAY * DAY
    # A 10-day threshold reads 30 days: the 46-day-old invite stays undated.
    _, asked = await sync(sandbox.base_url, cache, now, invite_max_age_days=10)
    horizon = (now - 30 * DAY) // DAY * DAY
    assert asked[-1][0] == day(horizon) and len(asked) == 3  # today, 7 days, 23 days
    assert ages(cache)[("llm-platform-eng", "contractor@partner-labs.io")] is None
    # The default (90 days): today again, then one 31-day window further back dates it.
    _, asked = await sync(sandbox.base_url, cache, now + 60)
    assert asked == [(day(today), "0"), (day(horizon - 31 * DAY), "30")]
    assert ages(cache) == SEEDED
    # All dated: nothing further back is read.
    _, asked = await sync(sandbox.base_url, cache, now + 120)
    assert asked == [(day(today), "0")]


async def test_the_cap_stays_visible_and_bounds_the_range(sandbox, sandbox_db, cache,
                                                         monkeypatch) -> None:
    monkeypatch.setattr(audit, "PAGE_SIZE", 2)
    monkeypatch.setattr(audit, "MAX_ENTRIES", 3)
    now = NOW + DAY
    today = now // DAY * DAY
    with sandbox_db.transaction() as conn:  # today's first entries: the cap stops at the 4th
        conn.executemany("INSERT INTO audit_log (timestamp, action) VALUES (?, 'project:read')",
                         [(today + i,) for i in range(6)])
    report, asked = await sync(sandbox.base_url, cache, now)
    assert report.audit_truncated_at == today + 3
    assert any("read only up to" in w for w in report.warnings)
    assert [a[0] for a in asked] == [day(today)] * 2  # stopped: nothing further back read
    span = invite_log.load_range(cache)
    assert (span.read_from, span.read_until) == (today, today + 3)  # only what was read
    # Without the cap, the next sync reads on from there and further back.
    monkeypatch.setattr(audit, "MAX_ENTRIES", 10_000)
    monkeypatch.setattr(audit, "PAGE_SIZE", 20_000)
    report, asked = await sync(sandbox.base_url, cache, now + 60)
    assert report.audit_truncated_at is None and report.warnings == []
    assert asked[0] == (day(today), "0") and ages(cache) == SEEDED


async def test_a_server_that_moved_path_is_read_afresh(sandbox, sandbox_db, cache) -> None:
    now = NOW + DAY
    await sync(sandbox.base_url, cache, now)
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")
    report, _ = await sync(sandbox.base_url, cache, now + 60)  # the known path 404s
    assert report.warnings == [] and ages(cache) == SEEDED
    assert invite_log.load_range(cache).path == audit.MULTI_TENANT_PATH
