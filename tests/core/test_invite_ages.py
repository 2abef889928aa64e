"""Invite ages from W&B's audit log: a full sync by an org admin dates the pending invites
(W&B's member listing has no date); identities without the audit log leave them unknown."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import SEED_NOW, basic_api, key_of
from wbadmin import clock
from wbadmin.core import audit
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client, RequestRecord
from wbadmin.core.sync import Syncer

pytestmark = pytest.mark.calendar  # day windows and ages, at any date

DAY = 86_400
NOW = SEED_NOW // 3600 * 3600  # the seed floors its reference time to the hour
# The seed's invites (seed.py `s.invite(...)`): (team, email) -> days before the seed time.
SEEDED = {("data-science-nlp", "dave@inference-systems.ai"): 21,
          ("product-ai-agents", "new.hire@inference-systems.ai"): 2,
          ("llm-platform-eng", "contractor@partner-labs.io"): 45}


def client_for(base_url: str, user: str, log: list[RequestRecord] | None = None) -> Client:
    return Client(base_url, key_of(user), scim_username=user, backoff_base=0.01,
                  on_request=None if log is None else log.append)


@pytest.fixture
def cache():
    cache = Cache(None)
    yield cache
    cache.close()


def ages(cache: Cache) -> dict[tuple[str, str], float | None]:
    return {(r[0], r[1]): None if r[2] is None else (NOW - r[2]) / DAY
            for r in cache.query("SELECT team, email, created_at FROM invites")}


async def full_sync(base_url: str, user: str, cache: Cache, log=None, clock=lambda: NOW + DAY):
    async with client_for(base_url, user, log) as client:
        return await Syncer(client, cache, clock=clock).full()


async def test_org_admin_sync_dates_the_seeded_invites(sandbox, cache) -> None:
    log: list[RequestRecord] = []
    report = await full_sync(sandbox.base_url, "alice", cache, log)
    assert report.warnings == []
    assert ages(cache) == SEEDED
    # Newest first on the Dedicated path, one page each: today, 7 days, then 31-day windows
    # until the 46-day-old invite is dated (70 days of the 91).
    assert [(r.api, r.target, r.status) for r in log if r.api == "audit"] == [
        ("audit", "GET /admin/audit_logs", 200)] * 4


async def test_sync_without_scim_leaves_ages_unknown(sandbox, cache) -> None:
    log: list[RequestRecord] = []
    report = await full_sync(sandbox.base_url, "carol", cache, log)
    assert any("SCIM" in w for w in report.warnings)  # the sync itself still succeeds
    assert ages(cache) and set(ages(cache).values()) == {None}
    assert not [r for r in log if r.api == "audit"]


async def test_org_service_account_reads_with_an_empty_username(sandbox, cache) -> None:
    async with Client(sandbox.base_url, key_of("org-provisioner")) as client:
        report = await Syncer(client, cache, clock=lambda: NOW + DAY).full()
    assert report.warnings == []
    assert ages(cache) == SEEDED


async def test_window_is_three_times_the_threshold(sandbox, cache) -> None:
    # Threshold 10 days: 30 days back reaches the 2- and 21-day invites, not the 45-day one.
    async with client_for(sandbox.base_url, "alice") as client:
        await Syncer(client, cache, clock=lambda: NOW, invite_max_age_days=10).full()
    assert ages(cache) == {**SEEDED, ("llm-platform-eng", "contractor@partner-labs.io"): None}
    assert audit.window_days(30) == 90 and audit.window_days(45) == 90
    assert audit.window_days(0) == 1


async def test_multi_tenant_falls_back_to_the_other_path(sandbox, sandbox_db, cache) -> None:
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")
    log: list[RequestRecord] = []
    report = await full_sync(sandbox.base_url, "alice", cache, log)
    assert report.warnings == []
    assert ages(cache) == SEEDED
    calls = [(r.target, r.status) for r in log if r.api == "audit"]
    # 404 on the Dedicated path once, then newest first: today, 7 days, then 8-day windows
    # (numDays 0..7) until the 46-day-old invite is dated (48 days).
    assert calls[0] == ("GET /admin/audit_logs", 404)
    assert calls[1:] == [("GET /audit_logs", 200)] * 7


async def test_team_refresh_keeps_known_ages(sandbox, cache) -> None:
    async with client_for(sandbox.base_url, "alice") as client:
        syncer = Syncer(client, cache, clock=lambda: NOW + DAY)
        await syncer.full()
        await syncer.refresh_team("data-science-nlp")
    assert ages(cache) == SEEDED


async def test_new_graphql_invite_is_dated_now(sandbox, cache) -> None:
    mutation = """mutation CreateInvite($entity: String!, $email: String) {
      result: createInvite(input: {entityName: $entity, email: $email}) { invite { id } } }"""
    before = int(clock.now())
    resp = httpx.post(f"{sandbox.base_url}/graphql", headers=basic_api("alice"), json={
        "query": mutation, "variables": {"entity": "ml-infra", "email": "late@example.com"}})
    assert resp.json()["data"]["result"]["invite"]["id"]
    after = int(clock.now())
    await full_sync(sandbox.base_url, "alice", cache, clock=clock.now)
    sent = cache.scalar("SELECT created_at FROM invites WHERE email = 'late@example.com'")
    assert before <= sent <= after + 1


async def test_unreadable_audit_log_is_a_warning_not_a_failure(sandbox) -> None:
    async with client_for(sandbox.base_url, "carol") as client:
        dates = await audit.invite_sent_times(client, "carol", 90, NOW)
    assert dates.times is None and "not readable" in dates.warning
    assert "organization admins" in dates.warning
    # Neither path exists under this base URL: both 404, still a warning.
    async with client_for(sandbox.base_url + "/nowhere", "alice") as client:
        dates = await audit.invite_sent_times(client, "alice", 90, NOW)
    assert dates.times is None and "not readable" in dates.warning


async def test_reader_follows_cursors_and_reads_streams(sandbox, monkeypatch) -> None:
    monkeypatch.setattr(audit, "PAGE_SIZE", 2)  # small pages: several next_cursor hops
    log: list[RequestRecord] = []
    async with client_for(sandbox.base_url, "alice", log) as client:
        read = await audit.read_audit_logs(client, start=NOW - 60 * DAY, days=61,
                                           username="alice")
        assert read.path == audit.DEDICATED_PATH and not read.truncated
        assert len(log) > 2
        cut = await audit.read_audit_logs(client, start=NOW - 60 * DAY, days=61,
                                          username="alice", max_entries=1)
        assert cut.truncated and len(cut.entries) == 2  # the cap is checked per page
    # The NDJSON stream (no limit) parses to the same entries.
    stream = httpx.get(sandbox.base_url + audit.DEDICATED_PATH, auth=("alice", key_of("alice")),
                       params={"startDate": time.strftime("%Y-%m-%d",
                                                          time.gmtime(NOW - 60 * DAY)),
                               "numDays": "61"})
    assert stream.headers["content-type"].startswith("application/x-ndjson")
    entries, cursor = audit.parse_body(stream.text)
    assert cursor is None and entries == read.entries
    # The pending invites, and those the seeded history shows accepted since.
    times = audit.invite_times(entries)
    assert {k: times[k] for k in SEEDED} == {k: NOW - d * DAY for k, d in SEEDED.items()}
    assert len(times) > len(SEEDED)


def test_is_multi_tenant_by_host() -> None:
    assert audit.is_multi_tenant("https://api.wandb.ai")
    assert not audit.is_multi_tenant("https://acme.wandb.io")
    assert not audit.is_multi_tenant("http://127.0.0.1:8080")
