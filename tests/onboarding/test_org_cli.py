"""`wbadmin export | plan | apply` in-process against the sandbox over real HTTP (LIVE profile,
alice unless switched). The round trip is empty, applying twice changes nothing, drift made by
another client is named, and bad input is reported by line with nothing applied."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import basic_api, key_of

from .orgfixtures import project_row, set_key, team_exists

TEAM = "data-science-nlp"

NEW_TEAM = """
[teams.fraud-detection]
service_accounts = ["fraud-bot: nightly scoring"]
invites = ["analyst@partner-labs.io"]

[teams.fraud-detection.members]
bob = "admin"
carol = "member"
"grace@inference-systems.ai" = "viewer"

[teams.fraud-detection.projects.scoring]
description = "Fraud scoring"
visibility = "restricted"
"""


def members(db, team: str) -> dict[str, str]:
    return {r[0]: r[1] for r in db.query(
        "SELECT u.username, CASE m.role WHEN 'custom' THEN c.name ELSE m.role END FROM "
        "team_members m JOIN users u ON u.id = m.user_id JOIN entities e ON e.id = m.team_id "
        "LEFT JOIN custom_roles c ON c.id = m.custom_role_id WHERE e.name = ?", (team,))}


def exported(cli, tmp_path: Path) -> Path:
    path = tmp_path / "org.toml"
    r = cli("export", "-o", str(path))
    assert r.code == 0 and "embedded sandbox" not in r.err, r.err
    return path


def journal_count(cli) -> int:
    return len(json.loads(cli("journal", "--json").out))


def test_export_is_deterministic_and_round_trips(live, cli, tmp_path) -> None:
    path = exported(cli, tmp_path)
    text = path.read_text()
    assert text.startswith("# The structure of the W&B organization 'inference-systems'")
    assert '[teams.data-science-nlp.members]\n"aarav.nakamura" = "admin"' in text
    assert cli("export").out == text  # stdout, byte for byte the same
    data = json.loads(cli("export", "--json").out)
    assert data["teams"]["customer-insights"]["members"]["uma.iyer"] == "viewer"
    assert data["registries"]["model"]["teams"] == {"llm-platform-eng": "member"}
    plan = cli("plan", str(path))
    assert plan.code == 0 and plan.out.rstrip().endswith(f"W&B matches {path}"), plan.out
    applied = cli("apply", str(path), "--yes")
    assert applied.code == 0 and "nothing to change" in applied.out
    assert journal_count(cli) == 0


def test_apply_creates_then_a_second_apply_changes_nothing(live, cli, sandbox_db,
                                                           tmp_path) -> None:
    path = exported(cli, tmp_path)
    text = path.read_text()
    project = f"teams.{TEAM}.projects.intent-classifier"
    text = set_key(text, project, "description", '"Intent classifier v3"')
    text = set_key(text, project, "visibility", '"team"')
    text = set_key(text, f"teams.{TEAM}.members", '"dana.levi"', '"member"')
    text = set_key(text, f"teams.{TEAM}.members", "carol", '"viewer"')
    text = set_key(text + NEW_TEAM, "registries.model.teams", "fraud-detection", '"member"')
    path.write_text(text)
    plan = cli("plan", str(path), "--json")
    assert plan.code == 2, plan.err
    changes = json.loads(plan.out)["changes"]
    kinds = [c["kind"] for c in changes]
    assert kinds == ["team.add_member", "team.set_role", "project.update", "team.create",
                     "team.add_member", "team.add_member", "team.invite",
                     "team.create_service_account", "project.create", "registry.set_role"]
    assert all(c["line"] for c in changes)  # every change points at its line in the file
    applied = cli("apply", str(path), "--yes")
    assert applied.code == 0, applied.err
    assert applied.out.count("✓") == len(kinds) and "still to change" not in applied.out
    assert members(sandbox_db, "fraud-detection") == {
        "bob": "admin", "carol": "member", "grace": "viewer", "fraud-bot-nightly-scoring": "member"}
    assert members(sandbox_db, TEAM)["dana.levi"] == "member"
    assert project_row(sandbox_db, "fraud-detection", "scoring") == {
        "name": "scoring", "description": "Fraud scoring", "access": "RESTRICTED"}
    assert project_row(sandbox_db, TEAM, "intent-classifier")["access"] == "PRIVATE"
    entries = journal_count(cli)
    assert entries == len(kinds)
    # The second time: nothing to do, nothing journaled, and plan says W&B matches.
    again = cli("apply", str(path), "--yes")
    assert again.code == 0 and "nothing to change" in again.out, again.out
    assert journal_count(cli) == entries
    assert cli("plan", str(path)).code == 0
    # Each new kind is journaled and undoable where W&B allows: the new project goes away.
    journal = json.loads(cli("journal", "--json").out)
    created = next(e for e in journal if e["kind"] == "project.create")
    assert next(e for e in journal if e["kind"] == "team.create")["reversible"] is False
    undo = cli("undo", str(created["id"]), "--yes")
    assert undo.code == 0, undo.err
    assert project_row(sandbox_db, "fraud-detection", "scoring") is None
    drift = json.loads(cli("plan", str(path), "--json").out)
    assert [c["kind"] for c in drift["changes"]] == ["project.create"] and drift["drift"]


def test_drift_made_by_another_client_is_named(sdk, live, cli, tmp_path) -> None:
    # `sdk` first: its environment clears WANDB_API_KEY, which `live` then sets for the CLI.
    path = exported(cli, tmp_path)
    api = sdk("alice")
    assert api.team(TEAM).invite("grace")  # an org user: added at once (Dedicated)
    answer = httpx.post(f"{live}/graphql", headers=basic_api("bob"), json={
        "query": 'mutation { upsertModel(input: {name: "rag-pipeline-v2", entityName: '
                 '"data-science-nlp", description: "edited in the UI"}) { project { id } } }'})
    assert "errors" not in answer.json()
    r = cli("plan", str(path))
    assert r.code == 2, r.err
    assert "! data-science-nlp/grace  member in W&B, not in the file (--prune removes)" in r.out
    assert ("rag-pipeline-v2  description: edited in the UI → Rag pipeline v2 "
            "(data-science-nlp)  (GraphQL upsertModel)  [line ") in r.out
    assert r.out.rstrip().endswith(f"drift: W&B differs from {path}")
    data = json.loads(cli("plan", str(path), "--json").out)
    assert data["drift"] is True
    assert [c["target"] for c in data["changes"]] == ["data-science-nlp/rag-pipeline-v2"]


@pytest.mark.sdk
def test_a_team_created_through_the_sdk_is_drift(sdk, live, cli, tmp_path) -> None:
    path = exported(cli, tmp_path)
    sdk("alice").create_team("sdk-made")
    r = cli("plan", str(path), "--json")
    assert r.code == 2
    assert {"target": "sdk-made", "detail": "team not in the file (W&B has no API to delete "
            "teams)"} in json.loads(r.out)["unmanaged"]


def test_prune_removes_only_when_asked_and_guards_the_last_admin(live, cli, sandbox_db,
                                                                tmp_path) -> None:
    path = exported(cli, tmp_path)
    text = path.read_text().replace('grace = "admin"\n"malik.johnson"',
                                    '"malik.johnson"')  # ai-governance's only admin
    path.write_text(text)
    before = members(sandbox_db, "ai-governance")
    plain = cli("apply", str(path), "--yes")
    assert plain.code == 0 and "ai-governance/grace  admin in W&B, not in the file" in plain.out
    assert members(sandbox_db, "ai-governance") == before
    held = cli("apply", str(path), "--prune", "--yes")
    assert held.code == 2 and held.err_lines[-1].startswith(
        "wbadmin: guard rail: team ai-governance would have no admin left")
    assert members(sandbox_db, "ai-governance") == before
    done = cli("apply", str(path), "--prune", "--yes", "--confirm", "ai-governance")
    assert done.code == 0, done.err
    assert "grace" not in members(sandbox_db, "ai-governance")


def test_bad_files_exit_8_with_every_line_and_nothing_applied(live, cli, sandbox_db,
                                                             tmp_path) -> None:
    path = exported(cli, tmp_path)
    good = path.read_text()
    broken = good + NEW_TEAM.replace("fraud-detection", "Fraud Detection").replace(
        "[teams.Fraud Detection", '[teams."Fraud Detection"') + """
[teams.carol.members]
bob = "admin"

[teams.data-science-nlp.projects."a/b"]
description = "bad name"
"""
    path.write_text(set_key(broken, "teams.ml-infra.members", "nobody", '"admin"'))
    before = members(sandbox_db, TEAM)
    r = cli("apply", str(path), "--yes")
    assert r.code == 8, r.err
    assert "Traceback" not in r.err
    reasons = "\n".join(r.err_lines)
    assert "team name 'Fraud Detection': use lowercase letters" in reasons
    assert "the name 'carol' is already taken" in reasons
    assert "project name 'a/b' contains /" in reasons
    assert "unknown user 'nobody'" in reasons
    assert r.err_lines[-1].endswith("(4 problems); nothing was applied")
    assert all(line.startswith(f"wbadmin: {path}:") for line in r.err_lines)
    assert members(sandbox_db, TEAM) == before and journal_count(cli) == 0
    assert not team_exists(sandbox_db, "fraud-detection")
    # A syntax error is caught before any network call.
    path.write_text('[org]\nname = \n')
    r = cli("plan", str(path))
    assert r.code == 8 and r.err_lines == [
        f"wbadmin: {path}:2: invalid TOML: Invalid value; nothing was applied"]
    missing = cli("plan", str(tmp_path / "nope.toml"))
    assert missing.code == 8 and "no such file" in missing.err


def test_new_team_without_an_admin_is_refused(live, cli, sandbox_db, tmp_path) -> None:
    path = tmp_path / "org.toml"
    path.write_text('[teams.fraud-detection.members]\ncarol = "member"\n')
    r = cli("plan", str(path))
    assert r.code == 8 and f"{path}:1: new team fraud-detection needs an admin" in r.err


def test_read_only_and_non_admin_are_refused(live, cli, sandbox_db, tmp_path, monkeypatch
                                             ) -> None:
    path = exported(cli, tmp_path)
    path.write_text(path.read_text() + NEW_TEAM)
    r = cli("apply", str(path), "--yes", "--read-only")
    assert r.code == 4 and r.err_lines[-1].startswith("wbadmin: read-only mode")
    assert not team_exists(sandbox_db, "fraud-detection")
    assert cli("apply", str(path), "--dry-run", "--read-only").code == 0
    assert not team_exists(sandbox_db, "fraud-detection")
    monkeypatch.setenv("WANDB_API_KEY", key_of("bob"))
    r = cli("apply", str(path), "--yes")
    assert r.code == 4 and "org-as-code needs an org admin" in r.err_lines[-1]
    assert len(r.err_lines) == 1 and not team_exists(sandbox_db, "fraud-detection")


def test_no_confirmation_without_a_terminal(live, cli, sandbox_db, tmp_path) -> None:
    path = exported(cli, tmp_path)
    path.write_text(path.read_text() + NEW_TEAM)
    r = cli("apply", str(path))
    assert r.code == 2 and "pass --yes to confirm" in r.err_lines[-1]
    assert not team_exists(sandbox_db, "fraud-detection")
    offline = cli("plan", str(path), "--offline")  # never 2 (that would read as drift)
    assert offline.code == 7 and "without --offline" in offline.err_lines[-1]


def test_an_org_viewer_file_applies_once_and_says_what_wandb_does_besides(
        live, cli, sandbox_db, tmp_path) -> None:
    """W&B turns org `viewer` into a member with a viewer seat who is a viewer in every team
    and gets registry viewer roles. The plan says so; one apply is enough; `plan` is then
    clean (exit 0, "No changes")."""
    path = exported(cli, tmp_path)
    text = path.read_text()
    assert '"dana.levi" = "member"' in text
    path.write_text(text.replace('"dana.levi" = "member"', '"dana.levi" = "viewer"')
                    .replace('"dana.levi" = "admin"', '"dana.levi" = "viewer"'))
    plan = cli("plan", str(path))
    assert plan.code == 2
    assert "dana.levi's seat becomes viewer" in plan.out
    assert "W&B grants dana.levi the viewer role in registr" in plan.out
    r = cli("apply", str(path), "--yes")
    assert r.code == 0, r.err
    row = sandbox_db.query("SELECT org_role, models_seat FROM users WHERE username = ?",
                           ("dana.levi",))[0]
    assert (row[0], row[1]) == ("member", "viewer")
    again = cli("plan", str(path))
    assert again.code == 0, again.out
    assert "No changes to apply" in again.out
    assert journal_count(cli) == 1  # the org role, once: the knock-ons were W&B's


def test_a_file_that_keeps_a_new_org_viewer_a_team_member_is_refused(live, cli, sandbox_db,
                                                                     tmp_path) -> None:
    path = exported(cli, tmp_path)
    text = path.read_text()
    org_line = '[org.roles]'
    head, tail = text.split(org_line, 1)
    # noah.okonkwo: an org member and a member of ml-infra; only the org role is changed.
    path.write_text(head + org_line + tail.replace('"noah.okonkwo" = "member"',
                                                   '"noah.okonkwo" = "viewer"', 1))
    r = cli("apply", str(path), "--yes")
    assert r.code == 8, r.err
    assert "noah.okonkwo becomes an org viewer in this file" in r.err
    assert "'member' in ml-infra cannot hold" in r.err
    assert journal_count(cli) == 0
