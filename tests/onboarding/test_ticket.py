"""Ticket-gated team creation: a template with `ticket = "<regex>"` needs a ticket matching
it in full; the ticket is on every journal entry of the plan (its title), in the team's
creation and in the new projects' descriptions — shown over real HTTP by the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wbadmin.core.onboarding.template_plan import Inputs
from wbadmin.core.onboarding.templates import SCHEMA, TemplateError, parse_template, schema_keys

from .orgfixtures import project_row, team_exists

REGULATED = '''# A team whose creation needs a change ticket.
[template]
kind = "team"
description = "Regulated team: created under a change ticket"
ticket = "[A-Z]+-[0-9]+"

[groups]
admins = "admin"
members = "member"

[[projects]]
name = "{team}-models"
description = "Audited models of {team}"

[[projects]]
name = "{team}-scratch"
'''


@pytest.fixture
def regulated(tmp_path: Path) -> Path:
    path = tmp_path / "regulated-team.toml"
    path.write_text(REGULATED)
    return path


def onboard(cli, template: Path | str, *extra: str):
    return cli("onboard", "team", str(template), "--name", "risk-models", "--admin", "bob",
               "--member", "carol", *extra)


# ---- the format ---------------------------------------------------------------------------------

def test_the_schema_is_one_table_and_ticket_is_a_team_template_key() -> None:
    assert "ticket" in schema_keys("team", "template")
    assert "ticket" not in schema_keys("hire", "template")
    assert schema_keys("team") == {"template", "groups", "projects", "service_accounts",
                                   "registry_access", "quota"}
    assert schema_keys("hire") == {"template", "teams", "registry_access"}
    assert all(k.what for k in SCHEMA)
    template = parse_template(REGULATED, Path("regulated-team.toml"))
    assert template.ticket is not None and template.ticket.pattern == "[A-Z]+-[0-9]+"
    assert template.ticket_problem("NLP-123") is None
    assert "does not match" in template.ticket_problem("NLP-123x")  # the whole ticket
    assert "requires a ticket matching [A-Z]+-[0-9]+" in template.ticket_problem("")


@pytest.mark.parametrize(("line", "reason"), [
    ('ticket = "[Z-A]+-[0-9]+"', "template.ticket '[Z-A]+-[0-9]+' is not a regular "
                                 "expression: bad character range Z-A at position 1"),
    ('ticket = "+NLP"', "template.ticket '+NLP' is not a regular expression: nothing to "
                        "repeat at position 0"),
    ('ticket = ""', 'template.ticket must be a regular expression a ticket key matches, '
                    'e.g. "[A-Z]+-[0-9]+"'),
    ("ticket = 3", 'template.ticket must be a regular expression a ticket key matches, '
                   'e.g. "[A-Z]+-[0-9]+"'),
])
def test_a_bad_ticket_pattern_names_the_file_and_line(line: str, reason: str) -> None:
    text = REGULATED.replace('ticket = "[A-Z]+-[0-9]+"', line)
    with pytest.raises(TemplateError) as caught:
        parse_template(text, Path("teams/regulated.toml"))
    assert str(caught.value) == f"template teams/regulated.toml, line 5: {reason}"


def test_a_hire_template_takes_no_ticket() -> None:
    text = ('[template]\nkind = "hire"\nticket = "X-[0-9]+"\n[[teams]]\nteam = "*"\n'
            'role = "viewer"\n')
    with pytest.raises(TemplateError, match=r"line 3: unknown key 'ticket' in template"):
        parse_template(text, Path("h.toml"))


def test_an_inputs_ticket_survives_the_walkthrough_file() -> None:
    inputs = Inputs(team="t", people={"admins": ["bob"]}, ticket="NLP-1")
    assert Inputs.from_dict(json.loads(json.dumps(inputs.to_dict()))) == inputs
    assert Inputs.from_dict({"team": "t"}).ticket == ""  # files written before tickets


# ---- the CLI over real HTTP ---------------------------------------------------------------

def test_cli_a_missing_or_wrong_ticket_is_a_usage_error_and_nothing_is_made(
        cli, live, sandbox_db, regulated: Path) -> None:
    missing = onboard(cli, regulated, "--yes")
    assert missing.code == 2
    assert missing.err_lines == ["wbadmin: template regulated-team requires a ticket matching "
                                 "[A-Z]+-[0-9]+: give --ticket KEY"]
    wrong = onboard(cli, regulated, "--ticket", "nlp-123", "--yes")
    assert wrong.code == 2
    assert wrong.err_lines == ["wbadmin: ticket 'nlp-123' does not match [A-Z]+-[0-9]+ "
                               "(template regulated-team)"]
    partial = onboard(cli, regulated, "--ticket", "NLP-123 extra", "--yes")
    assert partial.code == 2 and "one word" in partial.err
    assert not team_exists(sandbox_db, "risk-models")
    assert json.loads(cli("onboard", "resume", "--json").out) == []


def test_cli_the_ticket_is_journaled_and_in_every_new_project_description(
        cli, live, sandbox_db, regulated: Path) -> None:
    dry = onboard(cli, regulated, "--ticket", "NLP-123", "--dry-run")
    assert dry.code == 0, dry.err
    assert "Onboard team risk-models (regulated-team, ticket NLP-123)" in dry.out
    assert "create team (admin: bob, ticket NLP-123)" in dry.out
    done = onboard(cli, regulated, "--ticket", "NLP-123", "--yes", "--json")
    assert done.code == 0, done.err
    assert all(o["status"] == "applied" for o in json.loads(done.out)["outcomes"])
    assert project_row(sandbox_db, "risk-models", "risk-models-models")["description"] == \
        "Audited models of risk-models · ticket NLP-123"
    assert project_row(sandbox_db, "risk-models", "risk-models-scratch")["description"] == \
        "ticket NLP-123"
    journal = cli("journal", "--json")
    assert journal.code == 0, journal.err
    entries = [e for e in json.loads(journal.out) if e["plan_title"].startswith(
        "Onboard team risk-models")]
    assert len(entries) == 4  # the team, two projects, carol
    assert all(e["plan_title"].startswith("Onboard team risk-models (regulated-team, ticket "
                                          "NLP-123) · walkthrough ") for e in entries)
    created = next(e for e in entries if e["kind"] == "team.create")
    assert created["params"]["ticket"] == "NLP-123"


def test_cli_without_a_ticket_pattern_a_ticket_is_optional_and_recorded_if_given(
        cli, live, sandbox_db) -> None:
    done = cli("onboard", "team", "research-team", "--name", "vision-nlp", "--admin", "bob",
               "--ticket", "ops/4711", "--yes")
    assert done.code == 0, done.err
    assert project_row(sandbox_db, "vision-nlp", "vision-nlp-evals")["description"] == \
        "Offline evaluations and benchmark tracking of vision-nlp · ticket ops/4711"
    titles = {e["plan_title"] for e in json.loads(cli("journal", "--json").out)}
    assert any(t.startswith("Onboard team vision-nlp (research-team, ticket ops/4711)")
               for t in titles), titles


def test_cli_a_bad_ticket_pattern_in_a_user_template_is_exit_8_with_file_and_line(
        cli, live, sandbox_db, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(REGULATED.replace('"[A-Z]+-[0-9]+"', '"(NLP-[0-9]+"'))
    result = onboard(cli, broken, "--ticket", "NLP-1", "--yes")
    assert result.code == 8
    assert result.err_lines == [f"wbadmin: template {broken}, line 5: template.ticket "
                                "'(NLP-[0-9]+' is not a regular expression: missing ), "
                                "unterminated subpattern at position 0"]
    assert not team_exists(sandbox_db, "risk-models")
