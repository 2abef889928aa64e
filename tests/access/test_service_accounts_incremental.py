"""The service-account facts read the audit log through the identity's audit store: the first
read takes the window, a later one only what is new — over real HTTP against the demo sandbox,
as alice — and what they find is what a full read of the window finds."""

from __future__ import annotations

import asyncio
import json

from tests.access.conftest import synced_cache
from tests.conftest import SEED_NOW, key_of
from wbadmin.core import audit, audit_store
from wbadmin.core.access import service_accounts as sa
from wbadmin.core.access.people import identity
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client, RequestRecord
from wbadmin.sandbox import ids
from wbadmin.sandbox.audit import record

DAY = 86_400
DAYS = sa.log_days(90, 90)  # the default thresholds' window: 180 days
FACT_COLUMNS = "username, gql_id, last_key_at, last_event_at, run_teams"


def read_facts(base_url: str, cache: Cache, now: float) -> list[RequestRecord]:
    """read_facts as alice; the audit-log requests it sent."""
    sent: list[RequestRecord] = []

    async def go() -> None:
        async with Client(base_url, key_of("alice"), scim_username="alice",
                          on_request=sent.append) as client:
            me = identity(cache)
            assert me is not None and me.scim
            await sa.read_facts(client, cache, me, now, DAYS)

    asyncio.run(go())
    return [r for r in sent if r.api == "audit"]


def facts(cache: Cache) -> dict[str, tuple]:
    return {r[0]: tuple(r) for r in cache.query(f"SELECT {FACT_COLUMNS} FROM sa_facts")}


def full_read(base_url: str, cache: Cache, now: float) -> dict[str, tuple]:
    """What the window's whole log says of the cached accounts (the read before the store)."""
    async def go() -> list[dict]:
        async with Client(base_url, key_of("alice"), scim_username="alice") as client:
            read = await audit.read_audit_logs(client, start=now - DAYS * DAY, days=DAYS,
                                               username="alice")
            return read.entries

    by_id = {r[1]: r[0] for r in cache.query("SELECT username, gql_id FROM sa_facts")}
    seen = sa.activity(asyncio.run(go()), by_id)
    return {name: (name, gid, seen.last_key.get(name), seen.last_event.get(name),
                   json.dumps(sorted(seen.run_teams.get(name, ()))))
            for gid, name in by_id.items()}


def test_a_second_read_the_same_day_asks_one_audit_request(sandbox) -> None:
    cache = synced_cache(sandbox.base_url)
    first = read_facts(sandbox.base_url, cache, SEED_NOW)
    # The 180 days in month windows, a page each (the demo log is small).
    assert len(first) == len(audit.windows(audit.DEDICATED_PATH, SEED_NOW - DAYS * DAY,
                                           DAYS)) == 6
    found = facts(cache)
    assert found["ci-bot"][2] is not None  # its key creation is in the seeded log
    again = read_facts(sandbox.base_url, cache, SEED_NOW + 600)
    assert len(again) == 1  # today's window only, not the 180 days
    assert facts(cache) == found
    assert found == full_read(sandbox.base_url, cache, SEED_NOW)
    read = cache.query("SELECT log_from, log_until FROM sa_read")[0]
    assert (read[0], read[1]) == (SEED_NOW + 600 - DAYS * DAY, SEED_NOW + 600)


def test_the_next_day_reads_only_it_and_finds_its_key_creation(sandbox, sandbox_db) -> None:
    cache = synced_cache(sandbox.base_url)
    read_facts(sandbox.base_url, cache, SEED_NOW)
    bot = sandbox_db.scalar("SELECT id FROM users WHERE username = 'deploy-bot'")
    tomorrow = SEED_NOW + DAY
    with sandbox_db.transaction() as conn:  # W&B logs a new key for deploy-bot
        record(conn, tomorrow - 3600, sa.KEY_ACTION, 1, user_asset=ids.encode("User", bot),
               response_code=200)
    assert facts(cache)["deploy-bot"][2] is None
    sent = read_facts(sandbox.base_url, cache, tomorrow)
    assert len(sent) == 1  # the last read's day and the new one: one window
    assert facts(cache)["deploy-bot"][2] == tomorrow - 3600
    assert facts(cache) == full_read(sandbox.base_url, cache, tomorrow)


def test_a_store_holding_less_is_read_back_to_the_windows_start(sandbox) -> None:
    """`wbadmin audit` read the last week: the facts read adds the rest of the window."""
    cache = synced_cache(sandbox.base_url)

    async def week() -> None:
        async with Client(sandbox.base_url, key_of("alice"), scim_username="alice") as client:
            await audit_store.refresh(client, cache, "alice", SEED_NOW - 7 * DAY, SEED_NOW)

    asyncio.run(week())
    assert facts(cache) == {}
    read_facts(sandbox.base_url, cache, SEED_NOW)
    span = audit_store.load_range(cache)
    assert span is not None and span.read_from == (SEED_NOW - DAYS * DAY) // DAY * DAY
    assert facts(cache) == full_read(sandbox.base_url, cache, SEED_NOW)
    assert facts(cache)["ci-bot"][2] is not None  # 48 days back: before the week


def test_an_unreadable_log_stays_unknown_whatever_the_store_holds(sandbox, sandbox_db) -> None:
    """A read W&B refuses is "unknown", never what an earlier read left in the store."""
    cache = synced_cache(sandbox.base_url)
    read_facts(sandbox.base_url, cache, SEED_NOW)
    assert audit_store.stored(cache) and facts(cache)["ci-bot"][2] is not None
    with sandbox_db.transaction() as conn:  # alice is no longer an org admin
        conn.execute("UPDATE users SET org_role = 'member' WHERE username = 'alice'")
    read_facts(sandbox.base_url, cache, SEED_NOW + DAY)
    assert all(f[2] is None and f[3] is None for f in facts(cache).values())
    read = cache.query("SELECT log_from, log_until, note FROM sa_read")[0]
    assert read[0] is None and read[1] is None
    assert "the audit log is not readable" in read[2]


def test_sa_list_refresh_twice_the_same_day(live, cli, home) -> None:
    first = cli("sa", "list", "--refresh")
    again = cli("sa", "list", "--refresh")
    assert first.code == again.code == 0, first.err + again.err
    # The user listing (1 request) and the audit log: 6 month windows, then today's only.
    assert "180 days of audit log read (7 requests)" in first.err
    assert "180 days of audit log read (2 requests)" in again.err
    assert again.out == first.out
