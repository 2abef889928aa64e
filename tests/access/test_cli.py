"""`wbadmin access ...` in-process against the sandbox over real HTTP (LIVE profile, alice
unless switched). Every refusal is one line, a non-zero exit, and no change in the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import db_team_roles, scim_user, team_role

TEAM = "data-science-nlp"


def test_user_shows_roles_and_why(live, cli) -> None:
    r = cli("access", "user", "grace@inference-systems.ai")
    assert r.code == 0, r.err
    assert r.out.startswith("grace  Grace Hopkins  <grace@inference-systems.ai>")
    assert "org role member, seat full, active" in r.out
    assert any(line.split()[:3] == ["registry", "model", "admin"] and "via team" in line
               for line in r.out.splitlines())
    data = json.loads(cli("access", "user", "grace", "--json").out)
    assert data["teams"] == {"ai-governance": "admin", "llm-platform-eng": "member"}
    assert data["effective_role"] == "admin"


def test_user_unknown_or_malformed(live, cli) -> None:
    r = cli("access", "user", "nobody@inference-systems.ai")
    assert r.code == 5 and len(r.err_lines) <= 2
    assert r.err_lines[-1].startswith("wbadmin: unknown user 'nobody@inference-systems.ai'")
    bad = cli("access", "user", "bob@@x")
    assert bad.code == 2 and bad.err_lines[-1] == "wbadmin: malformed email address 'bob@@x'"


def test_set_role_applies_and_journals(live, cli) -> None:
    r = cli("access", "set-role", TEAM, "carol@inference-systems.ai", "ml-ops-engineer", "--yes")
    assert r.code == 0, r.err
    assert "member → ml-ops-engineer" in r.out and r.out.rstrip().splitlines()[-1][0] == "✓"
    assert team_role(live, "carol", TEAM) == "ml-ops-engineer"
    entries = json.loads(cli("journal", "--json").out)
    assert entries[-1]["kind"] == "team.set_role" and entries[-1]["verified"] is True
    # The cache was refreshed: the next read shows the new role.
    data = json.loads(cli("access", "user", "carol", "--json").out)
    assert data["teams"][TEAM] == "ml-ops-engineer"


def test_set_role_bad_input_changes_nothing(live, sandbox_db, cli) -> None:
    before = db_team_roles(sandbox_db, TEAM)
    for args, code, start in [
        ((TEAM, "nobody", "admin"), 5, "wbadmin: unknown user 'nobody'"),
        (("no-team", "carol", "admin"), 5, "wbadmin: unknown team 'no-team'"),
        ((TEAM, "carol", "owner"), 5, "wbadmin: unknown role 'owner'"),
        ((TEAM, "carol@", "admin"), 2, "wbadmin: malformed email address 'carol@'"),
        (("ml-infra", "carol", "admin"), 5, "wbadmin: carol is not a member of ml-infra"),
    ]:
        r = cli("access", "set-role", *args, "--yes")
        assert r.code == code and r.err_lines[-1].startswith(start), (args, r.err)
    assert db_team_roles(sandbox_db, TEAM) == before


def test_set_role_last_admin_needs_the_typed_phrase(live, cli) -> None:
    r = cli("access", "set-role", "ai-governance", "grace", "member", "--yes")
    assert r.code == 2
    assert "team ai-governance would have no admin left" in r.err_lines[-1]
    assert "--confirm 'ai-governance'" in r.err_lines[-1]
    assert team_role(live, "grace", "ai-governance") == "admin"
    wrong = cli("access", "set-role", "ai-governance", "grace", "member", "--confirm", "yes")
    assert wrong.code == 2 and team_role(live, "grace", "ai-governance") == "admin"
    ok = cli("access", "set-role", "ai-governance", "grace", "member",
             "--confirm", "ai-governance")
    assert ok.code == 0, ok.err
    assert team_role(live, "grace", "ai-governance") == "member"


def test_set_role_without_scim_says_so_and_offers_graphql(as_user, sandbox_db, cli) -> None:
    as_user("bob")  # team admin of data-science-nlp, not an org admin
    before = db_team_roles(sandbox_db, TEAM)
    r = cli("access", "set-role", TEAM, "carol", "admin", "--yes")
    assert r.code == 4
    assert "SCIM is not available to bob" in r.err_lines[-1]
    assert "GraphQL can still invite" in r.err_lines[-1]
    assert db_team_roles(sandbox_db, TEAM) == before


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "roles.csv"
    path.write_text(text)
    return str(path)


def test_apply_csv_dry_run_then_apply(live, sandbox_db, tmp_path, cli) -> None:
    path = _csv(tmp_path, "email,team,role\ncarol@inference-systems.ai,data-science-nlp,admin\n"
                          "grace@inference-systems.ai,ml-infra,viewer\n")
    dry = cli("access", "apply", path, "--dry-run")
    assert dry.code == 0, dry.err
    assert "line 2: carol@inference-systems.ai data-science-nlp admin: member → admin" in dry.out
    assert "line 3: grace@inference-systems.ai ml-infra viewer: add viewer" in dry.out
    assert "dry run: nothing changed" in dry.err
    assert team_role(live, "carol", TEAM) == "member"
    r = cli("access", "apply", path, "--yes", "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert [row["outcome"][0] for row in rows] == ["✓", "✓"]
    assert team_role(live, "carol", TEAM) == "admin"
    assert db_team_roles(sandbox_db, "ml-infra")["grace"] == "viewer"


def test_apply_csv_with_a_bad_row_applies_nothing(live, sandbox_db, tmp_path, cli) -> None:
    before = db_team_roles(sandbox_db, TEAM)
    path = _csv(tmp_path, "carol@inference-systems.ai,data-science-nlp,admin\n"
                          "carol.inference-systems.ai,ml-infra,member\n"
                          "victor@inference-systems.ai,nope,member\n")
    r = cli("access", "apply", path, "--yes")
    assert r.code == 8  # a bad file, by line (exit 2 is for flags and arguments)
    assert f"{path}:2: malformed email 'carol.inference-systems.ai'" in r.err
    assert r.err_lines[-1] == (f"wbadmin: {path}:3: unknown team 'nope' (2 bad rows); "
                               "nothing applied")
    assert db_team_roles(sandbox_db, TEAM) == before


def test_apply_csv_refused_by_the_server(as_user, sandbox_db, tmp_path, cli) -> None:
    as_user("bob")  # no SCIM: adds go through createInvite; bob is no admin of ml-infra
    before = db_team_roles(sandbox_db, "ml-infra")
    path = _csv(tmp_path, "grace@inference-systems.ai,ml-infra,member\n")
    r = cli("access", "apply", path, "--yes")
    assert r.code == 4 and "PermissionDenied" in r.err_lines[-1]
    assert db_team_roles(sandbox_db, "ml-infra") == before


def test_findings_exit_1_on_high_severity(live, cli) -> None:
    r = cli("access", "findings", "--json")
    assert r.code == 1, r.err
    found = {f["id"]: f for f in json.loads(r.out)}
    assert found["teams-without-admin"]["teams"] == ["customer-insights"]
    assert found["inactive-admins"]["people"] == ["rosa.moreno"]
    assert found["registry-admins-not-org-admins"]["people"] == ["grace"]
    text = cli("access", "findings")
    assert text.code == 1
    assert "[HIGH] teams-without-admin: Teams without an admin (1)" in text.out
    assert "wbadmin access fix deactivated-in-teams" in text.out


def test_fix_a_finding_and_it_is_gone(live, sandbox_db, cli) -> None:
    r = cli("access", "fix", "deactivated-in-teams", "--yes")
    assert r.code == 0, r.err
    assert sandbox_db.scalar("SELECT COUNT(*) FROM team_members m JOIN users u ON "
                             "u.id = m.user_id WHERE u.active = 0") == 0
    found = {f["id"] for f in json.loads(cli("access", "findings", "--json").out)}
    assert "deactivated-in-teams" not in found
    fixed = cli("access", "fix", "teams-without-admin", "--yes")
    assert fixed.code == 0, fixed.err
    assert "admin" in db_team_roles(sandbox_db, "customer-insights").values()
    assert cli("access", "fix", "nope").code == 5


def test_read_only_refuses_changes(live, cli) -> None:
    r = cli("access", "set-role", TEAM, "carol", "admin", "--yes", "--read-only")
    assert r.code == 4 and "read-only" in r.err_lines[-1]
    assert scim_user(live, "carol")["teamRoles"]
