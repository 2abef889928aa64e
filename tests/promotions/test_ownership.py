"""`wbadmin ownership` — the production map — and its findings in `wbadmin access findings`,
against the demo sandbox over real HTTP (a LIVE profile), each identity on a cache of its own.

The demo's model registry holds production and staging on versions the workflow promoted
(approved records), except reranker-xl production, moved straight through the SDK to v3."""

from __future__ import annotations

import json

import pytest

from tests.conftest import key_of
from wbadmin.sandbox.db import Database

PROTECTED = ("production", "staging")  # the built-in policy's targets


@pytest.fixture
def as_user(live, monkeypatch: pytest.MonkeyPatch):
    def switch(user: str) -> None:
        monkeypatch.setenv("WANDB_API_KEY", key_of(user))

    return switch


def truth(db: Database) -> dict[tuple[str, str, str], dict]:
    """What the sandbox stores for every held protected alias of a registry collection."""
    rows = db.query(
        "SELECT r.name, c.name, l.alias, a.version_index, a.metadata, x.name, p.name, e.name "
        "FROM aliases l JOIN artifacts a ON a.id = l.artifact_id JOIN artifact_collections c "
        "ON c.id = l.collection_id JOIN projects r ON r.id = c.project_id LEFT JOIN runs x ON "
        "x.id = a.created_by_run_id LEFT JOIN projects p ON p.id = x.project_id LEFT JOIN "
        "entities e ON e.id = p.entity_id WHERE c.kind = 'PORTFOLIO'")
    out = {}
    for registry, coll, alias, index, metadata, run, project, team in rows:
        if alias in PROTECTED:
            record = (json.loads(metadata).get("wbadmin") or {}).get("promotion") or {}
            approved = record.get("target") == alias and record.get("status") == "approved"
            out[(registry.removeprefix("wandb-registry-"), coll, alias)] = {
                "version": f"v{index}", "run": run, "project": project, "team": team,
                "requested_by": record["requested_by"] if approved else "none",
                "approved_by": [a["by"] for a in record["approvals"]] if approved else [],
                "since": record["decided_at"] if approved else "unknown"}
    return out


def team_admins(db: Database, team: str) -> list[str]:
    return sorted(r[0] for r in db.query(
        "SELECT u.username FROM team_members m JOIN users u ON u.id = m.user_id JOIN entities "
        "e ON e.id = m.team_id WHERE e.name = ? AND m.role = 'admin' AND "
        "u.account_type = 'USER'", (team,)))


def rows_of(cli, *flags: str) -> dict[tuple[str, str, str], dict]:
    r = cli("ownership", "--json", *flags)
    assert r.code == 0, r.err
    return {(h["registry"], h["collection"], h["alias"]): h for h in json.loads(r.out)}


def test_the_map_as_alice_covers_every_protected_alias_of_every_collection(
        cli, as_user, sandbox_db) -> None:
    as_user("alice")
    rows = rows_of(cli)
    collections = {(r[0].removeprefix("wandb-registry-"), r[1]) for r in sandbox_db.query(
        "SELECT r.name, c.name FROM artifact_collections c JOIN projects r ON r.id = "
        "c.project_id WHERE c.kind = 'PORTFOLIO'")}
    assert set(rows) == {(reg, coll, alias) for reg, coll in collections for alias in PROTECTED}
    held = truth(sandbox_db)
    for key, row in rows.items():
        want = held.get(key)
        if want is None:  # the dataset registry's collections hold neither alias
            assert row["version"] is None, key
            continue
        assert row["version"] == want["version"], key
        assert row["run"] == {"team": want["team"], "project": want["project"],
                              "id": want["run"]}, key
        assert row["team_admins"] == team_admins(sandbox_db, want["team"]), key
        assert (row["requested_by"], row["approved_by"], row["since"]) == (
            want["requested_by"], want["approved_by"], want["since"]), key
    moved = rows[("model", "reranker-xl", "production")]
    assert moved["version"] == "v3" and moved["outside_workflow"] is True
    assert (moved["requested_by"], moved["approved_by"], moved["since"]) == ("none", [],
                                                                           "unknown")
    assert [k for k, r in rows.items() if r["outside_workflow"]] == [
        ("model", "reranker-xl", "production")]
    chatbot = rows[("model", "support-chatbot-ft", "production")]
    assert chatbot["requested_by"] == "grace" and chatbot["approved_by"] == ["alice"]


def test_the_table_and_the_runs_read_once_per_identity(cli, as_user) -> None:
    as_user("alice")
    first = cli("ownership")
    assert first.code == 0, first.err
    assert "producing runs of 9 protected version(s) read from W&B" in first.err
    line = next(x for x in first.out.splitlines() if "reranker-xl" in x and "production" in x)
    assert "v3" in line and "unknown" in line and "none (outside the workflow)" in line
    again = cli("ownership")
    assert again.code == 0 and "read from W&B" not in again.err  # cached
    as_user("bob")  # another identity: a cache of its own, read again as bob
    assert "read from W&B" in cli("ownership").err


def test_the_map_as_bob_shows_his_teams_admins_only(cli, as_user, sandbox_db) -> None:
    as_user("bob")
    rows = rows_of(cli)
    mine = rows[("model", "intent-classifier", "production")]
    assert mine["team"] == "data-science-nlp"
    assert mine["team_admins"] == team_admins(sandbox_db, "data-science-nlp")
    assert "bob" in mine["team_admins"]
    theirs = rows[("model", "support-chatbot-ft", "production")]
    # bob is not in llm-platform-eng: its admins are not visible to him, not "none"
    assert theirs["team"] == "llm-platform-eng" and theirs["team_admins"] is None
    assert theirs["team_admins_finding"] is None
    assert rows[("model", "reranker-xl", "production")]["outside_workflow"] is True
    table = cli("ownership").out
    assert "not visible to you" in table


def findings_of(cli) -> tuple[int, dict[str, dict]]:
    r = cli("access", "findings", "--json")
    return r.code, {f["id"]: f for f in json.loads(r.out)}


def test_the_alias_moved_outside_the_workflow_is_a_high_finding(cli, as_user) -> None:
    for user in ("alice", "bob", "carol", "victor"):
        as_user(user)
        code, found = findings_of(cli)
        f = found["protected-alias-outside-workflow"]
        assert f["severity"] == "high" and f["visible"] and f["count"] == 1, user
        assert f["items"][0].startswith("model/reranker-xl:production is v3"), user
        assert code == 1, user  # a high finding: cron sees it


def test_an_untraceable_production_version(cli, as_user, sandbox_db) -> None:
    with sandbox_db.transaction() as conn:  # W&B names no run for toxicity-filter v0
        conn.execute("UPDATE artifacts SET created_by_run_id = NULL WHERE description = "
                     "'toxicity-filter v0'")
    as_user("alice")
    _, found = findings_of(cli)
    f = found["production-version-untraceable"]
    assert f["visible"] and f["items"] == [
        "model/toxicity-filter:production is v0: W&B names no run that produced it"]
    assert rows_of(cli)[("model", "toxicity-filter", "production")]["run"] == "unknown"


def test_a_requester_who_left_or_was_deactivated(cli, as_user, sandbox_db) -> None:
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE users SET active = 0 WHERE username = 'carol'")  # rag-embedder
        conn.execute("DELETE FROM team_members WHERE user_id = (SELECT id FROM users WHERE "
                     "username = 'grace') AND team_id = (SELECT id FROM entities WHERE name = "
                     "'llm-platform-eng')")  # support-chatbot-ft's requester
    as_user("alice")
    _, found = findings_of(cli)
    f = found["promotion-requester-gone"]
    assert sorted(f["items"]) == [
        "model/rag-embedder-v1:production (v1): requested by carol, deactivated",
        "model/rag-embedder-v1:staging (v2): requested by carol, deactivated",
        "model/support-chatbot-ft:production (v5): requested by grace, no longer in "
        "llm-platform-eng",
        "model/support-chatbot-ft:staging (v6): requested by grace, no longer in "
        "llm-platform-eng"]
    assert f["people"] == ["carol", "grace"]
    as_user("bob")  # who is deactivated is SCIM's: not visible to bob, never "none"
    _, found = findings_of(cli)
    f = found["promotion-requester-gone"]
    assert f["count"] is None and "not visible to bob" in f["note"]


def test_a_responsible_team_without_an_admin_links_to_teams_without_admin(
        cli, as_user, sandbox_db) -> None:
    with sandbox_db.transaction() as conn:  # search-relevance (reranker-xl) loses its admins
        conn.execute("UPDATE team_members SET role = 'member' WHERE role = 'admin' AND "
                     "team_id = (SELECT id FROM entities WHERE name = 'search-relevance')")
    as_user("alice")
    row = rows_of(cli)[("model", "reranker-xl", "production")]
    assert row["team_admins"] == [] and row["team_admins_finding"] == "teams-without-admin"
    line = next(x for x in cli("ownership").out.splitlines()
                if "reranker-xl" in x and "production" in x)
    assert "none (see teams-without-admin)" in line
    _, found = findings_of(cli)
    no_admin = found["teams-without-admin"]
    assert "search-relevance: no active admin" in no_admin["items"]
    assert "search-relevance (model/reranker-xl:production)" in no_admin["note"]
    # ...and no second finding of its own
    assert not [f for f in found.values() if f["id"] != "teams-without-admin"
                and "search-relevance" in " ".join(f["items"]) and "admin" in f["title"]]


def test_help_documents_exit_codes_and_a_bad_policy_is_one_line(cli, as_user, tmp_path) -> None:
    r = cli("ownership", "--help")
    assert r.code == 0 and "exit" in r.out.lower() and "producing run" in r.out
    bad = tmp_path / "p.toml"
    bad.write_text("[registries.model.production]\napprovals = 0\n")
    as_user("alice")
    r = cli("ownership", "--policy", str(bad))
    assert r.code != 0 and len(r.err_lines) == 1 and "Traceback" not in r.err
    assert "approvals must be" in r.err
