"""Onboarding templates: the format, errors by file and line, the shipped templates, and
filling them into plans against the demo org (synced over real HTTP)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.access.conftest import synced_cache
from wbadmin.core.onboarding.library import list_templates, load_template
from wbadmin.core.onboarding.template_plan import Inputs, fill_template, split_people
from wbadmin.core.onboarding.templates import TemplateError, parse_template

HEAD = '[template]\nkind = "team"\n\n[groups]\nadmins = "admin"\n'


@pytest.fixture(scope="module")
def cache(request):
    """One synced cache of the demo org for the read-only filling tests."""
    from tests.conftest import SEED_NOW
    from wbadmin.sandbox.db import Database
    from wbadmin.sandbox.seed import seed_demo
    from wbadmin.sandbox.server import SandboxServer

    db = Database()
    seed_demo(db, seed=0, now=SEED_NOW)
    server = SandboxServer(db)
    server.start()
    try:
        yield synced_cache(server.base_url)
    finally:
        server.stop()
        db.close()


# ---- the format ---------------------------------------------------------------------------------

def test_every_shipped_template_is_valid_and_the_job_functions_are_there() -> None:
    listing = {e.name: e for e in list_templates()}
    assert all(e.error is None for e in listing.values()), [e.error for e in listing.values()]
    kinds = {name: e.template.kind for name, e in listing.items()}
    assert {n for n, k in kinds.items() if k == "team"} >= {
        "research-team", "ml-platform-team", "product-ai-team"}
    assert {n for n, k in kinds.items() if k == "hire"} >= {
        "ml-researcher", "prompt-engineer", "product-manager", "auditor"}
    research = listing["research-team"].template
    assert research.shipped and research.groups[0] == ("admins", "admin")
    assert [p.visibility for p in research.projects] == ["team", "team", "restricted"]
    assert dict(research.quota.limits)["gpu_hours"].hard == 2000
    product = listing["product-ai-team"].template  # its evals project comes with a workspace
    assert [p.workspace for p in product.projects] == ["", "llm-finetune"]


def test_the_shipped_templates_are_package_data() -> None:
    pyproject = tomllib.loads(Path("pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]
    assert "templates/*.toml" in data["wbadmin.core.onboarding"]


@pytest.mark.parametrize(("text", "line", "reason"), [
    ('[template]\nkind = "team"\nname = \n', 3, "invalid TOML"),
    ('[groups]\nadmins = "admin"\n', None, "[template] table"),
    ('[template]\nkind = "squad"\n', 2, "template.kind is 'squad'; one of team, hire"),
    (HEAD + '\n[[projects]]\nname = "a"\n\n[[projects]]\nname = "b"\nvisibilty = "team"\n',
     12, "unknown key 'visibilty' in projects.1"),
    (HEAD + '\n[[projects]]\nname = "{team}-x"\nvisibility = "secret"\n', 9,
     "projects.0.visibility is 'secret'"),
    (HEAD + '\n[[projects]]\nname = "{tem}-runs"\n', 8, "unknown placeholder {tem}"),
    (HEAD + '\n[[projects]]\nname = "x"\n\n[[projects]]\nname = "x"\n', 11,
     "project 'x' is listed twice (first at line 8)"),
    (HEAD + '\n[quota]\ngpu_hours = { soft = 900, hard = 500 }\n', 8,
     "soft limit (900) is above the hard limit (500)"),
    (HEAD + '\n[quota]\nstorage_gb = -3\n', 8, "must be a number >= 0"),
    (HEAD + '\n[[registry_access]]\nregistry = "model"\nrole = "viewer"\nwho = "leads"\n', 10,
     "\"team\" or one of the groups (admins)"),
    ('[template]\nkind = "hire"\n\n[[teams]]\nteam = "{team}-lab"\nrole = "member"\n', 5,
     "a team name, \"{team}\" (asked for) or \"*\""),
    ('[template]\nkind = "hire"\n\n[[teams]]\nteam = "{user}"\nrole = "member"\n', 5,
     "unknown placeholder {user} in teams.0.team (a hire template may use {team})"),
    ('[template]\nkind = "hire"\n', 1, "needs [[teams]] or [[registry_access]]"),
])
def test_template_errors_name_the_file_the_line_and_the_reason(text: str, line: int | None,
                                                               reason: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(text, Path("teams/x.toml"))
    assert caught.value.line == line
    assert reason in str(caught.value)
    where = f"teams/x.toml, line {line}" if line else "teams/x.toml"
    assert str(caught.value).startswith(f"template {where}: ")


def test_user_templates_win_and_broken_ones_are_listed_with_the_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    folder = tmp_path / "wbadmin" / "templates"
    folder.mkdir(parents=True)
    (folder / "auditor.toml").write_text('[template]\nkind = "hire"\ndescription = "ours"\n'
                                         '[[teams]]\nteam = "*"\nrole = "viewer"\n')
    (folder / "broken.toml").write_text('[template]\nkind = "team"\n[groups]\nadmins = 3\n')
    listing = {e.name: e for e in list_templates()}
    assert listing["auditor"].template.description == "ours"
    assert not listing["auditor"].template.shipped
    assert listing["broken"].template is None
    assert "broken.toml, line 4: groups.admins must be a team role" in listing["broken"].error
    with pytest.raises(TemplateError, match="no template named 'nope'"):
        load_template("nope")


def test_people_are_split_on_commas_and_spaces() -> None:
    assert split_people("bob, carol  dave@x.ai,") == ["bob", "carol", "dave@x.ai"]


# ---- filling -------------------------------------------------------------------------------------

def test_a_team_template_becomes_a_plan_in_dependency_order(cache) -> None:
    filled = fill_template(load_template("research-team"), Inputs(
        team="vision-nlp", people={"admins": ["bob"], "members": ["carol", "Dana@Example.com"],
                                   "viewers": ["victor"]}), cache)
    assert filled.ok, filled.problems
    kinds = [c.kind for c in filled.plan]
    assert kinds == ["team.create", "project.create", "project.create", "project.create",
                     "team.add_member", "team.invite", "team.add_member",
                     "team.create_service_account", "registry.set_role"]
    create = filled.plan.changes[0]
    assert create.admin == "bob"  # createTeam makes bob admin: no separate add for him
    assert [c.target for c in filled.plan.changes[1:4]] == [
        "vision-nlp/vision-nlp-experiments", "vision-nlp/vision-nlp-evals",
        "vision-nlp/vision-nlp-sandbox"]
    assert filled.plan.changes[3].after["access"] == "RESTRICTED"
    assert filled.plan.changes[5].email == "Dana@Example.com"  # not in the org: an invitation
    assert filled.plan.changes[6].after == {"role": "viewer"}
    assert filled.plan.changes[-1].target == "registry:model/team:vision-nlp"
    assert filled.notes == [] and filled.concerns == []
    quota = tomllib.loads(filled.quota)
    assert quota["teams"]["vision-nlp"] == {
        "period": "month", "gpu_hours": {"soft": 1500, "hard": 2000},
        "storage_gb": {"soft": 400, "hard": 500}, "concurrent_runs": {"soft": 12, "hard": 16}}
    assert {link.path for link in filled.links} >= {"vision-nlp", "vision-nlp/vision-nlp-evals",
                                                    "vision-nlp/service-accounts"}


def test_names_w_and_b_would_reject_are_caught_at_plan_time(cache, tmp_path: Path) -> None:
    template = load_template("research-team")
    bad = fill_template(template, Inputs(team="Vision NLP", people={"admins": ["bob"]}), cache)
    assert not bad.ok and bad.plan.is_empty
    assert str(bad.problems[0]).startswith("team name 'Vision NLP': use lowercase")
    taken = fill_template(template, Inputs(team="carol", people={}), cache)
    assert "already taken by a user or team" in str(taken.problems[0])
    path = tmp_path / "slashes.toml"
    path.write_text(HEAD + '\n[[projects]]\nname = "{team}/runs"\n')
    slashes = fill_template(load_template(str(path)), Inputs(team="vision-nlp"), cache)
    assert str(slashes.problems[0]).startswith(f"{path}, line 8: project name "
                                               "'vision-nlp/runs' contains /")
    assert slashes.plan.is_empty


def test_unknown_people_and_service_accounts_are_problems_not_half_plans(cache) -> None:
    filled = fill_template(load_template("research-team"), Inputs(
        team="vision-nlp", people={"admins": ["bob"], "members": ["nobody-here", "ci-bot"],
                                   "viewers": ["bob"]}), cache)
    reasons = [str(p) for p in filled.problems]
    assert any(r.startswith("members: nobody-here: unknown user 'nobody-here'") for r in reasons)
    assert any("ci-bot is a service account" in r for r in reasons)
    assert any(r.startswith("viewers: bob: bob is also listed in admins") for r in reasons)
    assert filled.plan.is_empty and not filled.links


def test_an_existing_team_gets_only_what_is_missing_and_no_role_is_lowered(cache) -> None:
    filled = fill_template(load_template("research-team"), Inputs(
        team="data-science-nlp", people={"members": ["bob", "grace"]}), cache)
    assert filled.ok, filled.problems
    assert "team.create" not in [c.kind for c in filled.plan]
    assert "data-science-nlp/grace" in [c.target for c in filled.plan]
    assert not any(c.target == "data-science-nlp/bob" for c in filled.plan)
    assert any(n.startswith("bob keeps admin in data-science-nlp") for n in filled.notes)


def test_hire_templates_by_job_function(cache) -> None:
    auditor = fill_template(load_template("auditor"), Inputs(user="zed@example.com"), cache)
    teams = {r[0] for r in cache.query("SELECT name FROM teams")}
    assert auditor.ok and {c.team for c in auditor.plan} == teams
    assert all(c.kind == "team.invite" and not c.admin for c in auditor.plan)
    # One note for all the invitations, not one per team.
    assert [n for n in auditor.notes if "invited to" in n] == [
        f"zed@example.com is invited to {len(teams)} teams as member: W&B invitations carry "
        "admin or member only; set viewer once they have joined"]
    researcher = load_template("ml-researcher")
    missing = fill_template(researcher, Inputs(user="carol"), cache)
    assert str(missing.problems[0]) == "team: template ml-researcher asks for a team (--team)"
    carol = fill_template(researcher, Inputs(user="carol", team="search-relevance"), cache)
    assert [(c.kind, c.target) for c in carol.plan] == [
        ("team.add_member", "search-relevance/carol"),
        ("registry.set_role", "registry:dataset/carol")]  # already a model registry member
    unknown = fill_template(researcher, Inputs(user="carol", team="nope"), cache)
    assert str(unknown.problems[0]) == "team: unknown team 'nope'"
