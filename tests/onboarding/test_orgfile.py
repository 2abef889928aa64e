"""Org-file parsing: every problem with its file and line, unknown keys warned, nothing that
needs W&B checked here (that is the diff's job, tested with the sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wbadmin.core.onboarding.orgfile import OrgFileError, load, parse
from wbadmin.core.onboarding.tomllines import TomlLines, split_key

GOOD = """\
# a comment
[org]
name = "inference-systems"

[org.roles]
alice = "admin"
"dana.levi" = "Member"

[teams.fraud-detection]
service_accounts = ["fraud-bot: nightly scoring"]
invites = ["new.hire@inference-systems.ai"]

[teams.fraud-detection.members]
bob = "admin"
"carol@inference-systems.ai" = "member"

[teams.fraud-detection.projects.scoring]
description = "Fraud scoring"
visibility = "restricted"

[registries.model.teams]
fraud-detection = "Restricted-Viewer"
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(OrgFileError) as info:
        parse(Path("org.toml"), text)
    return info.value.lines()


def test_a_good_file_parses_with_lines() -> None:
    spec = parse(Path("org.toml"), GOOD)
    assert spec.org == "inference-systems" and spec.org_line == 3
    assert [(e.key, e.value, e.line) for e in spec.org_roles] == [
        ("alice", "admin", 6), ("dana.levi", "member", 7)]
    (team,) = spec.teams
    assert (team.name, team.line) == ("fraud-detection", 9)
    assert [(e.key, e.value, e.line) for e in team.members] == [
        ("bob", "admin", 14), ("carol@inference-systems.ai", "member", 15)]
    assert [e.key for e in team.invites] == ["new.hire@inference-systems.ai"]
    assert [e.key for e in team.service_accounts] == ["fraud-bot: nightly scoring"]
    (project,) = team.projects
    assert (project.name, project.description, project.access, project.line) == (
        "scoring", "Fraud scoring", "RESTRICTED", 17)
    (registry,) = spec.registries
    assert [(e.key, e.value, e.line) for e in registry.teams] == [
        ("fraud-detection", "restricted_viewer", 22)]
    assert registry.users is None and spec.warnings == []


def test_every_problem_is_reported_with_its_line() -> None:
    text = GOOD.replace('"dana.levi" = "Member"', '"dana.levi" = "owner"') \
        .replace('visibility = "restricted"', 'visibility = "secret"') \
        .replace('bob = "admin"', 'bob = 3') \
        .replace('invites = ["new.hire@inference-systems.ai"]', 'invites = ["not-an-email"]') \
        .replace('fraud-detection = "Restricted-Viewer"', 'fraud-detection = "boss"')
    lines = problems_of(text)
    assert [line.split(": ", 1)[0] for line in lines] == [
        "org.toml:7", "org.toml:11", "org.toml:14", "org.toml:19", "org.toml:22"]
    assert "unknown org role 'owner' for 'dana.levi'" in lines[0]
    assert "malformed email address 'not-an-email'" in lines[1]
    assert "must be a role name (a string), not a number" in lines[2]
    assert "unknown visibility 'secret'" in lines[3]
    assert "unknown registry role 'boss'" in lines[4]


def test_syntax_errors_name_the_line() -> None:
    (line,) = problems_of('[org]\nname = "x"\n[teams.a.members]\nbob = \n')
    assert line.startswith("org.toml:4: invalid TOML")


def test_wrong_shapes() -> None:
    lines = problems_of('teams = ["a", "b"]\n')
    assert lines == ["org.toml:1: [teams] must be a table, not a list"]
    lines = problems_of('[teams.a]\nmembers = ["bob"]\n')
    assert lines == ["org.toml:2: [teams.a.members] must be a table, not a list"]


def test_unknown_keys_are_errors_unless_allowed() -> None:
    """A typo ([teams.x.memebers]) would leave that part unmanaged while CI passes."""
    text = GOOD.replace("[org]\n", "[org]\nowner = \"x\"\n").replace(
        'description = "Fraud scoring"', 'description = "Fraud scoring"\ncolor = "red"')
    with pytest.raises(OrgFileError) as err:
        parse(Path("org.toml"), text)
    assert err.value.lines() == [
        "org.toml:3: unknown key 'org.owner' (known: name, roles; --allow-unknown-keys "
        "ignores it)",
        "org.toml:20: unknown key 'teams.fraud-detection.projects.scoring.color' (known: "
        "description, visibility; --allow-unknown-keys ignores it)"]
    spec = parse(Path("org.toml"), text, allow_unknown_keys=True)
    assert spec.warnings == [
        "org.toml:3: unknown key 'org.owner' ignored (known: name, roles)",
        "org.toml:20: unknown key 'teams.fraud-detection.projects.scoring.color' ignored "
        "(known: description, visibility)"]


def test_a_misspelt_section_is_an_error() -> None:
    with pytest.raises(OrgFileError) as err:
        parse(Path("org.toml"), '[teams.ml-infra.memebers]\nbob = "admin"\n')
    assert "org.toml:1: unknown key 'teams.ml-infra.memebers'" in err.value.lines()[0]


def test_absent_parts_are_not_managed() -> None:
    spec = parse(Path("org.toml"), '[teams.a.members]\nbob = "admin"\n')
    (team,) = spec.teams
    assert team.invites is None and team.projects is None and team.service_accounts is None
    assert spec.org_roles is None and spec.registries is None


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(OrgFileError, match="no such file"):
        load(tmp_path / "missing.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[org]\nname = "caf\xe9"\n')
    with pytest.raises(OrgFileError, match="not UTF-8"):
        load(bad)


def test_toml_lines() -> None:
    assert split_key('a."b.c".d') == ("a", "b.c", "d")
    assert split_key("a b") is None
    where = TomlLines('x = [\n  "[not a header]",\n]\n[t."q.r"]\nk.l = 1\n'
                      'm = { n = 1 }\n')
    assert where.line(("x",)) == 1
    assert where.line(("t", "q.r")) == 4
    assert where.line(("t", "q.r", "k", "l")) == 5
    assert where.line(("t", "q.r", "m", "n")) == 6      # inside an inline table: its line
    assert where.line(("not a header",)) is None
