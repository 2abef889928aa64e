"""The seed: deterministic, tells the demo story, and keeps its invariants at scale."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from tests.conftest import SEED, SEED_NOW, basic_api, key_of
from wbadmin.sandbox import seed_data as story
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import DAY, api_key_for, seed_demo, seed_preset
from wbadmin.sandbox.seed_scale import BIG_TEAM, PRESET_SCALES
from wbadmin.sandbox.server import SandboxServer

TABLES = ["orgs", "entities", "users", "api_keys", "custom_roles", "team_members", "invites",
          "projects", "project_members", "project_team_members", "runs",
          "artifact_collections", "artifacts", "memberships", "aliases", "artifact_tags",
          "audit_log"]
NAMED = [*story.IDENTITIES, "org-provisioner"]


def digest(db: Database) -> str:
    """One hash over every row of every table, in id order."""
    h = hashlib.sha256()
    for table in TABLES:
        for row in db.query(f"SELECT * FROM {table} ORDER BY rowid"):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def seeded(preset: str = "demo", seed: int = SEED, now: int = SEED_NOW) -> Database:
    db = Database()
    seed_preset(db, preset, seed=seed, now=now)
    return db


def rows(db: Database, sql: str, params: tuple = ()) -> list[tuple]:
    return [tuple(r) for r in db.query(sql, params)]


def team_id(db: Database, name: str) -> int:
    return db.scalar("SELECT id FROM entities WHERE name = ? AND kind = 'team'", (name,))


def admins_of(db: Database, team: str) -> list[str]:
    return [r[0] for r in db.query(
        "SELECT u.username FROM team_members m JOIN users u ON u.id = m.user_id "
        "WHERE m.team_id = ? AND m.role = 'admin'", (team_id(db, team),))]


# ---- determinism ---------------------------------------------------------------------------

def test_same_seed_and_time_give_identical_rows() -> None:
    assert digest(seeded()) == digest(seeded())


def test_different_seed_or_time_gives_different_rows() -> None:
    base = digest(seeded())
    assert digest(seeded(seed=SEED + 1)) != base
    assert digest(seeded(now=SEED_NOW + 7 * DAY)) != base


def test_keys_follow_the_seed() -> None:
    other = seeded(seed=SEED + 1)
    key = other.scalar("SELECT k.key FROM api_keys k JOIN users u ON u.id = k.user_id "
                       "WHERE u.username = 'alice'")
    assert key == api_key_for(SEED + 1, "alice") != key_of("alice")


# ---- the demo story ------------------------------------------------------------------------

def test_demo_org_teams_and_projects(sandbox_db: Database) -> None:
    db = sandbox_db
    assert rows(db, "SELECT name, deployment FROM orgs") == [("inference-systems", "dedicated")]
    assert db.get_meta("preset") == "demo"
    for team in ["llm-platform-eng", "data-science-nlp", "product-ai-agents", "ai-governance"]:
        assert team_id(db, team) is not None, team
    projects = {r[0] for r in db.query("SELECT name FROM projects WHERE is_registry = 0")}
    assert {"support-agent-rag-v1", "embedding-benchmarks", "fine-tune-llama-3-support",
            "rag-pipeline-v2"} <= projects
    people = db.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER'")
    assert 35 <= people <= 45


def test_every_person_has_a_personal_entity_and_a_long_key(sandbox_db: Database) -> None:
    db = sandbox_db
    assert rows(db, "SELECT u.username FROM users u LEFT JOIN entities e ON e.id = u.entity_id "
                    "WHERE u.account_type = 'USER' AND (e.kind IS NOT 'user' "
                    "OR e.name != u.username)") == []
    assert rows(db, "SELECT u.username FROM users u WHERE NOT EXISTS "
                    "(SELECT 1 FROM api_keys k WHERE k.user_id = u.id)") == []
    assert db.scalar("SELECT MIN(LENGTH(key)) FROM api_keys") >= 40
    for name in NAMED:
        assert len(key_of(name)) >= 40


def test_named_identities_have_their_roles(sandbox_db: Database) -> None:
    db = sandbox_db
    roles = dict(rows(db, "SELECT username, org_role FROM users"))
    assert (roles["alice"], roles["bob"], roles["carol"], roles["victor"], roles["grace"]) == (
        "admin", "member", "member", "viewer", "member")
    assert "bob" in admins_of(db, "data-science-nlp")
    assert {"alice"} <= set(admins_of(db, "llm-platform-eng"))


def test_admin_gaps_deactivations_and_stale_invites(sandbox_db: Database) -> None:
    db = sandbox_db
    assert admins_of(db, story.NO_ADMIN_TEAM) == []
    assert admins_of(db, story.SINGLE_ADMIN_TEAM) == ["grace"]
    assert db.scalar("SELECT COUNT(*) FROM users WHERE active = 0") >= 1
    stale = db.scalar("SELECT COUNT(*) FROM invites WHERE created_at < ?", (SEED_NOW - 14 * DAY,))
    assert stale >= 1


def test_service_accounts_and_custom_roles(sandbox_db: Database) -> None:
    db = sandbox_db
    accounts = dict(rows(db, "SELECT username, sa_scope FROM users "
                             "WHERE account_type = 'SERVICE'"))
    assert accounts["org-provisioner"] == "org"
    assert {"ci-bot", "eval-runner", "deploy-bot"} <= {u for u, s in accounts.items()
                                                       if s == "team"}
    assert {r[0] for r in db.query("SELECT name FROM custom_roles")} == {
        name for name, *_ in story.CUSTOM_ROLES}
    assert db.scalar("SELECT COUNT(*) FROM team_members WHERE role = 'custom' "
                     "AND custom_role_id IS NOT NULL") >= 1


def test_runs_within_90_days_with_gpus(sandbox_db: Database) -> None:
    db = sandbox_db
    oldest, newest, with_gpus, states = db.one(
        "SELECT MIN(created_at), MAX(created_at), SUM(gpu_count > 0),"
        " COUNT(DISTINCT state) FROM runs")
    now = SEED_NOW // 3600 * 3600
    assert oldest >= now - 90 * DAY and newest <= now
    assert with_gpus > 0 and states >= 3
    assert db.scalar("SELECT COUNT(*) FROM runs WHERE runtime_s < 0 OR heartbeat_at < "
                     "created_at") == 0


def test_pending_promotions_are_tagged(sandbox_db: Database) -> None:
    db = sandbox_db
    tagged = rows(db, "SELECT a.metadata FROM artifacts a JOIN artifact_tags t "
                      "ON t.artifact_id = a.id WHERE t.name = 'promote-to-production'")
    assert len(tagged) >= 1
    for (metadata,) in tagged:
        request = json.loads(metadata)["wbadmin"]["promotion"]
        assert request["status"] == "pending" and request["target"] == "production"


def test_demo_identities_sign_in_over_http(sandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        for name in NAMED:
            r = client.post("/graphql", json={"query": "{ viewer { username } }"},
                            headers=basic_api(name))
            assert r.status_code == 200 and r.json()["data"]["viewer"]["username"] == name


# ---- scale ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def large_db() -> Database:
    db = Database()
    seed_preset(db, "large", seed=SEED, now=SEED_NOW)
    return db


def test_large_is_deterministic_and_keeps_the_demo(large_db: Database) -> None:
    again = seeded("large")
    assert digest(again) == digest(large_db)
    demo = seeded("demo")
    # The demo part is unchanged: same keys, same named identities' teams.
    for name in NAMED:
        assert large_db.scalar("SELECT k.key FROM api_keys k JOIN users u ON u.id = k.user_id "
                               "WHERE u.username = ?", (name,)) == key_of(name)
    for team in ["data-science-nlp", story.SINGLE_ADMIN_TEAM, story.NO_ADMIN_TEAM]:
        assert admins_of(large_db, team) == admins_of(demo, team)


def test_large_sizes_and_integrity(large_db: Database) -> None:
    db, scale = large_db, PRESET_SCALES["large"]
    assert db.get_meta("preset") == "large"
    people = db.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER'")
    assert people == scale.users
    assert db.scalar("SELECT COUNT(*) FROM entities WHERE kind = 'team'") == scale.teams
    assert db.scalar("SELECT COUNT(*) FROM projects WHERE is_registry = 0") == scale.projects
    assert db.scalar("SELECT COUNT(*) FROM runs") == scale.runs
    assert db.query("PRAGMA foreign_key_check") == []
    assert db.scalar("SELECT COUNT(*) FROM users u WHERE NOT EXISTS "
                     "(SELECT 1 FROM api_keys k WHERE k.user_id = u.id)") == 0
    assert db.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER' AND "
                     "entity_id IS NULL") == 0
    assert db.scalar("SELECT COUNT(*) FROM projects p JOIN entities e ON e.id = p.entity_id "
                     "WHERE e.name = ?", (BIG_TEAM,)) == scale.big_team_projects


def test_large_keeps_the_story_shapes(large_db: Database) -> None:
    db = large_db
    admin_counts = [r[0] for r in db.query(
        "SELECT (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id "
        "AND m.role = 'admin') FROM entities t WHERE t.kind = 'team'")]
    assert admin_counts.count(0) >= 3 and admin_counts.count(1) >= 10
    assert db.scalar("SELECT COUNT(*) FROM entities t WHERE t.kind = 'team' AND NOT EXISTS "
                     "(SELECT 1 FROM team_members m WHERE m.team_id = t.id)") == 0
    assert db.scalar("SELECT COUNT(*) FROM users WHERE active = 0") >= 20
    assert db.scalar("SELECT COUNT(*) FROM invites WHERE created_at < ?",
                     (SEED_NOW - 30 * DAY,)) >= 5
    now = SEED_NOW // 3600 * 3600
    assert tuple(db.one("SELECT MIN(created_at) >= ?, SUM(gpu_count > 0) > 0,"
                        " COUNT(DISTINCT state) FROM runs", (now - 90 * DAY,))) == (1, 1, 5)
    assert db.scalar("SELECT COUNT(*) FROM artifact_tags WHERE name LIKE 'promote-to-%'") > 3
    # Every registry collection has a `latest` version.
    assert db.scalar("SELECT COUNT(*) FROM artifact_collections c WHERE NOT EXISTS "
                     "(SELECT 1 FROM aliases a WHERE a.collection_id = c.id "
                     "AND a.alias = 'latest')") == 0


def test_large_sandbox_serves_the_big_team(large_db: Database) -> None:
    with SandboxServer(large_db) as server, httpx.Client(base_url=server.base_url) as client:
        for name in NAMED:
            r = client.post("/graphql", json={"query": "{ viewer { username } }"},
                            headers=basic_api(name))
            assert r.json()["data"]["viewer"]["username"] == name
        r = client.post("/graphql", headers=basic_api("alice"), json={
            "query": "query T($name: String!) { entity(name: $name) { name isTeam "
                     "members { username admin } } }", "variables": {"name": BIG_TEAM}})
        entity = r.json()["data"]["entity"]
        assert entity["isTeam"] and len(entity["members"]) >= 100
        assert {"username": "alice", "admin": True} in entity["members"]


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        seed_preset(Database(), "gigantic")


def test_seed_demo_matches_preset_demo() -> None:
    db = Database()
    seed_demo(db, seed=SEED, now=SEED_NOW)
    assert digest(db) == digest(seeded("demo"))
