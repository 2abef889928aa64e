"""The audit-log store behind `wbadmin audit`: reads only the time it lacks, keeps each entry
once however often its day is read, reads further back only when asked, resumes where the
safety cap stopped, and links a journal entry to the W&B event its change made."""

from __future__ import annotations

import pytest

from tests.conftest import SEED_NOW, key_of
from wbadmin.core import audit, audit_store
from wbadmin.core.audit_timeline import AuditFilter, Expected, expected, timeline
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.journal import Entry

pytestmark = pytest.mark.calendar  # day windows, at any date

DAY = 86_400


@pytest.fixture
def cache():
    cache = Cache(None)
    yield cache
    cache.close()


async def refresh(base_url: str, cache: Cache, since: float, now: float,
                  asked: list | None = None, **kw) -> audit_store.StoreRead:
    async with Client(base_url, key_of("alice"), backoff_base=0.01) as client:
        real = client.get_raw

        async def get_raw(path, params, **options):
            if asked is not None:
                asked.append((params["startDate"], params["numDays"]))
            return await real(path, params, **options)

        client.get_raw = get_raw  # type: ignore[method-assign]
        return await audit_store.refresh(client, cache, "alice", since, now, **kw)


def keys(cache: Cache) -> list[str]:
    return [k for k, _, _ in audit_store.stored(cache)]


async def test_overlapping_reads_keep_each_entry_once(sandbox, cache) -> None:
    first = await refresh(sandbox.base_url, cache, SEED_NOW - 20 * DAY, SEED_NOW)
    assert first.added == first.fetched > 20 and first.requests == 1
    held = keys(cache)
    assert len(held) == len(set(held)) == first.added
    # The same day again (the next read's first window re-reads it): nothing new.
    asked: list = []
    again = await refresh(sandbox.base_url, cache, SEED_NOW - 20 * DAY, SEED_NOW + 60, asked)
    assert asked == [(audit._day(SEED_NOW), "0")]
    # What it fetched again is what the store already held of that day (at 00:20 on a
    # calendar-pass date, possibly nothing yet), and none of it is kept twice.
    today = SEED_NOW // DAY * DAY
    assert again.fetched == len(audit_store.stored(cache, since=today)) and again.added == 0
    assert keys(cache) == held


async def test_earlier_time_is_read_only_once_asked_for(sandbox, cache) -> None:
    await refresh(sandbox.base_url, cache, SEED_NOW - 7 * DAY, SEED_NOW)
    week = len(keys(cache))
    asked: list = []
    wider = await refresh(sandbox.base_url, cache, SEED_NOW - 30 * DAY, SEED_NOW, asked)
    # Today's day (new since the last read), then the 23 days before the range.
    assert asked == [(audit._day(SEED_NOW), "0"), (audit._day(SEED_NOW - 30 * DAY), "22")]
    assert wider.range.read_from == SEED_NOW // DAY * DAY - 30 * DAY
    assert len(keys(cache)) == week + wider.added and wider.added > 0
    fresh = Cache(None)
    await refresh(sandbox.base_url, fresh, SEED_NOW - 30 * DAY, SEED_NOW)
    assert sorted(keys(fresh)) == sorted(keys(cache))  # as one read of the 30 days
    fresh.close()


async def test_a_capped_read_says_where_it_stopped_and_the_next_reads_on(sandbox, cache,
                                                                        monkeypatch) -> None:
    monkeypatch.setattr(audit, "MAX_ENTRIES", 40)
    capped = await refresh(sandbox.base_url, cache, SEED_NOW - 50 * DAY, SEED_NOW)
    assert capped.truncated_at is not None and capped.range.read_until == capped.truncated_at
    monkeypatch.setattr(audit, "MAX_ENTRIES", 200_000)
    rest = await refresh(sandbox.base_url, cache, SEED_NOW - 50 * DAY, SEED_NOW)
    assert rest.truncated_at is None and rest.range.read_until == SEED_NOW
    fresh = Cache(None)
    await refresh(sandbox.base_url, fresh, SEED_NOW - 50 * DAY, SEED_NOW)
    assert sorted(keys(fresh)) == sorted(keys(cache))  # no gap, no duplicate
    fresh.close()


async def test_anonymized_entries_are_kept_apart_without_pii(sandbox, cache) -> None:
    await refresh(sandbox.base_url, cache, SEED_NOW - 7 * DAY, SEED_NOW, anonymize=True)
    assert audit_store.load_range(cache) is None  # the full store is untouched
    entries = [e for _, _, e in audit_store.stored(cache, anonymize=True)]
    assert entries and not any(set(e) & set(audit.PII_FIELDS) for e in entries)


def journal_entry(kind: str, at: float, **params) -> Entry:
    return Entry(id=7, plan_id="p", plan_title="", seq=1, created_at=at, finished_at=at + 1,
                 actor="alice", profile="default", kind=kind, target="t", via="", before=None,
                 after=None, params=params, status="applied", result="", request_id=None,
                 verified=True, reversible=True, undo_of=None)


def test_what_each_change_maps_to() -> None:
    emails = {"grace": "grace@x.io"}
    at = float(SEED_NOW)
    assert expected(journal_entry("team.invite", at, team="t", email="a@x.io"), emails) == \
        Expected("team:invite_user", "t", "a@x.io")
    assert expected(journal_entry("team.add_member", at, team="t", username="grace",
                                  scim=False), emails) == Expected("team:invite_user", "t",
                                                                   "grace@x.io")
    assert expected(journal_entry("user.deactivate", at, username="grace"), emails) == \
        Expected("user:deactivate", email="grace@x.io")
    # No audit action: SCIM team membership, role changes, alias moves.
    for kind, params in [("team.add_member", {"team": "t", "username": "grace", "scim": True}),
                         ("team.set_role", {"team": "t", "username": "grace"}),
                         ("registry.set_role", {}), ("registry.move_alias", {})]:
        assert expected(journal_entry(kind, at, **params), emails) is None


def test_a_journal_entry_links_to_its_event_only() -> None:
    at = float(SEED_NOW)
    entry = journal_entry("team.invite", at, team="t", email="a@x.io")
    mine = {"timestamp": audit._iso(at + 1), "action": "team:invite_user",
            "actor_email": "alice@x.io", "entity_name": "t", "user_email": "a@x.io"}
    others = [{**mine, "actor_email": "bob@x.io"},                 # another actor
              {**mine, "entity_name": "u"},                        # another team
              {**mine, "timestamp": audit._iso(at + 3600)},        # much later
              {**mine, "action": "team:uninvite"}]                 # another action
    from wbadmin.core.wire_time import parse_time

    stored = [(audit_store.entry_key(e), parse_time(e["timestamp"]), e)
              for e in [mine, *others]]
    events = timeline(stored, [entry], {"alice": "alice@x.io"})
    linked = [e for e in events if e.source == "wandb" and e.journal_id == 7]
    assert [e.entry for e in linked] == [mine]
    [row] = [e for e in events if e.source == "wbadmin"]
    assert row.linked == [audit_store.entry_key(mine)]
    only_bob = timeline(stored, [entry], {"alice": "alice@x.io"}, AuditFilter(actor="bob@x.io"))
    assert [e.actor for e in only_bob] == ["bob@x.io"]


def test_entries_alike_in_every_field_are_both_kept_and_rereads_add_neither(cache) -> None:
    twice = {"timestamp": audit._iso(SEED_NOW), "action": "user:logout",
             "actor_email": "alice@x.io", "response_code": 200}
    span = audit_store.LogRange(audit.DEDICATED_PATH, SEED_NOW // DAY * DAY, SEED_NOW)
    assert audit_store.save(cache, [twice, dict(twice)], span) == 2
    assert audit_store.save(cache, [twice, dict(twice)], span) == 0  # the day read again
    assert len(keys(cache)) == 2
