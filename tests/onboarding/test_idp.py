"""IdP import: Okta-style groups (CSV or JSON) mapped to teams and roles become a plan;
errors by line; `--apply` goes through the engine and a second run has nothing to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wbadmin.core.onboarding import idp
from wbadmin.core.onboarding.orgfile import OrgFileError

from .test_org_cli import journal_count, members

DOMAIN = "inference-systems.ai"
CSV = f"""group,email
# NLP research group, exported from Okta
nlp-researchers,carol@{DOMAIN}
nlp-researchers,grace@{DOMAIN}
nlp-researchers,new.researcher@partner-labs.io
nlp-leads,grace@{DOMAIN}
wandb-auditors,uma.iyer@{DOMAIN}
okta-everyone,carol@{DOMAIN}
"""
MAPPING = """
[groups.nlp-researchers]
team = "data-science-nlp"
role = "member"

[groups.nlp-leads]
team = "data-science-nlp"
role = "admin"

[groups.wandb-auditors]
team = "ai-governance"
role = "auditor"
org_role = "member"
"""
OKTA = {"groups": [
    {"id": "00g1", "profile": {"name": "nlp-researchers", "description": "NLP"},
     "users": [
         {"id": "00u1", "status": "ACTIVE",
          "profile": {"login": f"grace@{DOMAIN}", "email": f"grace@{DOMAIN}"}},
         {"id": "00u2", "status": "DEPROVISIONED",
          "profile": {"login": f"chidi.okonkwo@{DOMAIN}", "email": f"chidi.okonkwo@{DOMAIN}"}},
         {"id": "00u3", "status": "PROVISIONED",
          "profile": {"login": "new.researcher@partner-labs.io",
                      "email": "new.researcher@partner-labs.io"}}]}]}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_errors_by_line(tmp_path: Path) -> None:
    text = CSV.replace(f"nlp-leads,grace@{DOMAIN}", "nlp-leads,grace@@x") + ",bob\n"
    with pytest.raises(OrgFileError) as info:
        idp.parse_csv(Path("g.csv"), text)
    assert info.value.lines() == ["g.csv:6: malformed email 'grace@@x'",
                                  "g.csv:9: empty group"]
    with pytest.raises(OrgFileError, match=r"g\.csv:1: the header must name a `group` column"):
        idp.parse_csv(Path("g.csv"), "team,email\nx,y@z.io\n")
    groups = idp.parse_csv(Path("g.csv"), "Group,User\nadmins,bob\n")
    assert [(m.group, m.who, m.line) for m in groups.members] == [("admins", "bob", 2)]


def test_okta_json_shape(tmp_path: Path) -> None:
    text = json.dumps(OKTA, indent=2)
    groups = idp.parse_json(Path("g.json"), text)
    assert [(m.group, m.who) for m in groups.members] == [
        ("nlp-researchers", f"grace@{DOMAIN}"),
        ("nlp-researchers", "new.researcher@partner-labs.io")]
    assert groups.members[0].line == next(
        n for n, line in enumerate(text.splitlines(), 1) if f'"login": "grace@{DOMAIN}"' in line)
    assert groups.notes == [f"chidi.okonkwo@{DOMAIN} in nlp-researchers: Okta status "
                            "DEPROVISIONED, skipped"]
    with pytest.raises(OrgFileError, match=r"g.json:3: invalid JSON"):
        idp.parse_json(Path("g.json"), '{"groups": [\n  {"id": 1},\n  oops\n]}')
    with pytest.raises(OrgFileError, match=r"groups\[0\]: no profile.name"):
        idp.parse_json(Path("g.json"), '[{"id": "00g9"}]')


def test_mapping_errors_by_line() -> None:
    text = MAPPING.replace('org_role = "member"', 'org_role = "owner"') + \
        '\n[groups.empty]\nrole = "admin"\n'
    with pytest.raises(OrgFileError) as info:
        idp.parse_mapping(Path("m.toml"), text)
    assert info.value.lines() == [
        "m.toml:13: unknown org role 'owner' (one of: admin, member, viewer)",
        "m.toml:15: groups.empty maps to nothing: give a team and/or an org_role"]


def test_import_plans_then_applies_once(live, cli, sandbox_db, tmp_path: Path) -> None:
    groups = write(tmp_path, "groups.csv", CSV)
    mapping = write(tmp_path, "map.toml", MAPPING)
    r = cli("import-idp", str(groups), "--mapping", str(mapping), "--json")
    assert r.code == 2, r.err
    data = json.loads(r.out)
    assert [(c["kind"], c["target"], c["summary"]) for c in data["changes"]] == [
        ("team.add_member", "ai-governance/uma.iyer", "add auditor"),
        ("team.add_member", "data-science-nlp/grace", "add admin"),
        ("team.invite", "data-science-nlp/new.researcher@partner-labs.io", "invite"),
    ]
    assert "IdP group 'okta-everyone' has no mapping: ignored" in data["notes"]
    assert "grace: admin in data-science-nlp (highest of their groups)" in data["notes"]
    assert {u["target"] for u in data["unmanaged"]} >= {"data-science-nlp/bob"}
    assert "grace" not in members(sandbox_db, "data-science-nlp")
    applied = cli("import-idp", str(groups), "--mapping", str(mapping), "--apply", "--yes")
    assert applied.code == 0, applied.err
    assert members(sandbox_db, "data-science-nlp")["grace"] == "admin"
    assert members(sandbox_db, "ai-governance")["uma.iyer"] == "auditor"
    entries = journal_count(cli)
    again = cli("import-idp", str(groups), "--mapping", str(mapping))
    assert again.code == 0 and "No changes to apply" in again.out, again.out
    assert journal_count(cli) == entries


def test_okta_json_import_through_the_cli(live, cli, tmp_path: Path) -> None:
    groups = write(tmp_path, "okta.json", json.dumps(OKTA))
    mapping = write(tmp_path, "map.toml", MAPPING)
    r = cli("import-idp", str(groups), "--mapping", str(mapping))
    assert r.code == 2, r.err
    planned = [line for line in r.out.splitlines() if line.startswith("  + ")]
    assert [line.split()[1:4] for line in planned] == [
        ["data-science-nlp", "grace", "add"],
        ["data-science-nlp", "new.researcher@partner-labs.io", "invite"]]
    assert f"note: chidi.okonkwo@{DOMAIN} in nlp-researchers: Okta status DEPROVISIONED, " \
        "skipped" in r.out


def test_import_errors_exit_8_with_nothing_applied(live, cli, sandbox_db, tmp_path) -> None:
    groups = write(tmp_path, "groups.csv", CSV + "nlp-researchers,nobody\n")
    mapping = write(tmp_path, "map.toml", MAPPING.replace('"ai-governance"', '"no-such-team"'))
    r = cli("import-idp", str(groups), "--mapping", str(mapping), "--apply", "--yes")
    assert r.code == 8 and "Traceback" not in r.err
    assert r.err_lines[-1] == (f"wbadmin: {mapping}:11: groups.wandb-auditors: team "
                               "'no-such-team' does not exist in W&B (create it first); "
                               "nothing was applied")
    mapping.write_text(MAPPING)
    r = cli("import-idp", str(groups), "--mapping", str(mapping), "--apply", "--yes")
    assert r.code == 8 and r.err_lines[-1].startswith(
        f"wbadmin: {groups}:9: unknown user 'nobody'")
    assert "grace" not in members(sandbox_db, "data-science-nlp") and journal_count(cli) == 0
