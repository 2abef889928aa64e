"""Full and incremental sync of the demo org into the cache, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import key_of
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.sync import Syncer, parse_time


def client_for(sandbox, user: str) -> Client:
    return Client(sandbox.base_url, key_of(user), scim_username=user, backoff_base=0.01)


@pytest.fixture
def cache(tmp_path) -> Cache:
    cache = Cache(tmp_path / "cache.sqlite3")
    yield cache
    cache.close()


async def test_full_sync_as_org_admin_matches_the_org(sandbox, sandbox_db, cache) -> None:
    async with client_for(sandbox, "alice") as client:
        report = await Syncer(client, cache).full()
    db = sandbox_db
    assert report.warnings == []
    people = db.scalar(
        "SELECT COUNT(*) FROM users WHERE account_type='USER' AND org_id IS NOT NULL")
    assert cache.scalar("SELECT COUNT(*) FROM users WHERE account_type='USER'") == people
    assert cache.scalar("SELECT COUNT(*) FROM teams") == db.scalar(
        "SELECT COUNT(*) FROM entities WHERE kind='team'")
    assert cache.scalar("SELECT COUNT(*) FROM team_members") == db.scalar(
        "SELECT COUNT(*) FROM team_members")
    assert cache.scalar("SELECT COUNT(*) FROM projects") == db.scalar(
        "SELECT COUNT(*) FROM projects WHERE is_registry=0")
    assert cache.scalar("SELECT COUNT(*) FROM registries") == 2
    assert cache.scalar("SELECT COUNT(*) FROM versions") == db.scalar(
        "SELECT COUNT(*) FROM memberships m JOIN artifact_collections c ON c.id=m.collection_id"
        " WHERE c.kind='PORTFOLIO'")
    assert cache.scalar("SELECT role FROM team_members WHERE team='data-science-nlp' AND "
                        "username='bob'") == "admin"
    assert cache.scalar("SELECT org_role FROM users WHERE username='alice'") == "admin"
    custom = cache.scalar("SELECT COUNT(*) FROM team_members WHERE custom=1")
    assert custom == db.scalar("SELECT COUNT(*) FROM team_members WHERE role='custom'")
    assert cache.scalar("SELECT COUNT(*) FROM invites") == db.scalar("SELECT COUNT(*) FROM invites")
    prod = cache.scalar("SELECT version_index FROM versions WHERE collection='support-chatbot-ft'"
                        " AND aliases LIKE '%\"production\"%'")
    assert prod == 5
    # Batching: a handful of round trips for the whole org, not one per team.
    assert report.requests <= 15
    assert cache.age("org") is not None and cache.age("org") < 60


async def test_sync_without_scim_shows_what_graphql_allows(sandbox, cache) -> None:
    async with client_for(sandbox, "carol") as client:
        report = await Syncer(client, cache).full()
    assert any("SCIM" in w for w in report.warnings)
    teams = {r[0] for r in cache.query("SELECT name FROM teams")}
    assert teams == {"data-science-nlp", "product-ai-agents"}
    assert cache.scalar("SELECT COUNT(*) FROM users WHERE account_type='USER'") == 0


async def test_refresh_team_picks_up_a_change(sandbox, sandbox_db, cache) -> None:
    async with client_for(sandbox, "alice") as client:
        syncer = Syncer(client, cache)
        await syncer.full()
        with sandbox_db.transaction() as conn:
            conn.execute("UPDATE team_members SET role='viewer' WHERE user_id=(SELECT id FROM"
                         " users WHERE username='carol') AND team_id=(SELECT id FROM entities"
                         " WHERE name='data-science-nlp')")
        await syncer.refresh_team("data-science-nlp")
    assert cache.scalar("SELECT role FROM team_members WHERE team='data-science-nlp' AND "
                        "username='carol'") == "viewer"


async def test_the_cache_reads_back_after_reopening(sandbox, tmp_path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = Cache(path)
    async with client_for(sandbox, "alice") as client:
        await Syncer(client, cache).full()
    cache.close()
    again = Cache(path)
    assert again.rebuilt_from is None
    assert again.scalar("SELECT COUNT(*) FROM teams") == 9
    assert again.meta("org") == "inference-systems"


async def test_refresh_project_reads_its_newest_run(sandbox, sandbox_db, cache) -> None:
    async with client_for(sandbox, "alice") as client:
        syncer = Syncer(client, cache)
        await syncer.full()
        assert cache.scalar("SELECT last_run_at FROM projects WHERE name='rag-pipeline-v2'") \
            is None  # the full sync skips per-project runs queries
        await syncer.refresh_project("data-science-nlp", "rag-pipeline-v2")
    newest = sandbox_db.scalar(
        "SELECT MAX(heartbeat_at) FROM runs r JOIN projects p ON p.id=r.project_id WHERE "
        "p.name='rag-pipeline-v2' AND r.created_at=(SELECT MAX(created_at) FROM runs WHERE "
        "project_id=p.id)")
    assert cache.scalar("SELECT last_run_at FROM projects WHERE name='rag-pipeline-v2'") == newest
    assert cache.age("project:data-science-nlp/rag-pipeline-v2") is not None


async def test_refresh_collection_sees_a_moved_alias(sandbox, sandbox_db, cache) -> None:
    async with client_for(sandbox, "alice") as client:
        syncer = Syncer(client, cache)
        await syncer.full()
        other = cache.scalar("SELECT COUNT(*) FROM versions WHERE collection!='support-chatbot-ft'")
        with sandbox_db.transaction() as conn:
            conn.execute(
                "UPDATE aliases SET artifact_id=(SELECT a.id FROM artifacts a JOIN "
                "artifact_collections c ON c.id=a.sequence_id WHERE c.name='support-chatbot-ft'"
                " AND c.kind='SEQUENCE' AND a.version_index=7) WHERE alias='production' AND "
                "collection_id=(SELECT id FROM artifact_collections WHERE name="
                "'support-chatbot-ft' AND kind='PORTFOLIO')")
        await syncer.refresh_collection("model", "support-chatbot-ft")
    holder = cache.scalar("SELECT version_index FROM versions WHERE collection="
                          "'support-chatbot-ft' AND aliases LIKE '%\"production\"%'")
    assert holder == 7
    assert cache.scalar("SELECT COUNT(*) FROM versions WHERE collection='support-chatbot-ft'") == 8
    assert cache.scalar("SELECT COUNT(*) FROM versions WHERE collection!='support-chatbot-ft'") \
        == other


@pytest.mark.parametrize("text, expected", [
    ("2026-11-26T14:22:31", datetime(2026, 11, 26, 14, 22, 31, tzinfo=UTC).timestamp()),
    ("2026-11-26T14:22:31.250000", datetime(2026, 11, 26, 14, 22, 31, 250000,
                                            tzinfo=UTC).timestamp()),
    ("2026-11-26T14:22:31Z", datetime(2026, 11, 26, 14, 22, 31, tzinfo=UTC).timestamp()),
    ("2026-11-26T16:22:31+02:00", datetime(2026, 11, 26, 14, 22, 31, tzinfo=UTC).timestamp()),
    ("1970-01-01T00:00:00", 0.0),
    ("not a time", None), ("", None), (None, None), (1764166951, None),
])
def test_w_and_b_timestamps_read_as_utc_epoch_seconds(text: Any, expected: float | None
                                                      ) -> None:
    assert parse_time(text) == expected
