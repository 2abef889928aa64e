"""`wbadmin report publish` and `wbadmin report list` over real HTTP against the sandbox (a LIVE
profile), with the real wandb-workspaces library saving the report in its worker: create,
update (same report, no duplicate, even with the cache deleted), list, undo; W&B's roles
decide who may publish, at plan time and with nothing made; a missing project needs
--create-project; --dry-run and --read-only write nothing; --json is JSON alone."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tests.cli.conftest import cache_file, journal_file, secret_forms
from tests.conftest import SEED_NOW, key_of
from wbadmin.core import wandb_library
from wbadmin.core.client import Client

pytestmark = pytest.mark.sdk

TEAM, PROJECT = "data-science-nlp", "intent-classifier"
TARGET = f"{TEAM}/{PROJECT}"
# The render tests' quota period, anchored to the seed, never to today's date.
START = time.strftime("%Y-%m-%d", time.gmtime(SEED_NOW - 30 * 86_400))
POLICY = (f'[defaults]\nperiod = "custom"\nstart = {START}\ndays = 30\n'
          "price_per_gpu_hour = 2.5\n[teams.data-science-nlp]\ngpu_hours = 400\n")


@pytest.fixture
def publish(cli, live, tmp_path: Path):
    policy = tmp_path / "quotas.toml"
    policy.write_text(POLICY)

    def run(*args: str, template: str = "governance", project: str = TARGET):
        return cli("report", "publish", template, "--project", project, "--teams", TEAM,
                   "--policy", str(policy), "--previous", *args)

    return run


def views(db) -> list[dict]:
    return [dict(r) for r in db.query(
        "SELECT v.id, v.type, v.display_name, v.description, u.username AS author, "
        "e.name AS entity, p.name AS project FROM views v JOIN users u ON u.id = v.created_by "
        "JOIN projects p ON p.id = v.project_id JOIN entities e ON e.id = p.entity_id "
        "ORDER BY v.id")]


def loaded_back(sandbox, url: str) -> dict:
    """The saved report as wandb-workspaces' Report.from_url reads it (in the worker)."""
    async def ask() -> wandb_library.LibraryIdentity:
        async with Client(sandbox.base_url, key_of("victor")) as client:
            return await wandb_library.verify(client, key_of("victor"))

    return wandb_library.run(asyncio.run(ask()), "wbadmin.core.reports.build_wandb:load_report",
                             {"url": url})


def project_exists(db, entity: str, name: str) -> bool:
    return bool(db.scalar("SELECT COUNT(*) FROM projects p JOIN entities e ON "
                          "e.id = p.entity_id WHERE e.name = ? AND p.name = ?", (entity, name)))


def test_alice_publishes_then_publishing_again_updates_the_same_report(
        publish, cli, sandbox, sandbox_db) -> None:
    r = publish("--yes", "--json")
    assert r.code == 0, r.err
    made = json.loads(r.out)  # stdout is the JSON alone: the plan and the library's output
    assert (made["action"], made["applied"], made["creates_project"]) == (
        "create", True, False)
    assert "everyone in the organization" in made["readers"]
    assert any("cost" in n and "readable beyond the team" in n for n in made["notes"])
    [row] = views(sandbox_db)
    assert (row["type"], row["author"], row["display_name"]) == ("runs", "alice",
                                                                 "Governance review")
    assert "[wbadmin:report=governance content=" in row["description"]

    report = loaded_back(sandbox, made["url"])
    assert (report["id"], report["title"], report["entity"], report["project"]) == (
        made["id"], "Governance review", TEAM, PROJECT)
    texts = [b["text"] for b in report["blocks"] if b["kind"] == "MarkdownBlock"]
    assert texts[0].startswith("## Compute and cost")
    assert any(TEAM in t and "GPU" in t for t in texts[1:])  # the figures, as markdown
    [grid] = [b for b in report["blocks"] if b["kind"] == "panels"]
    assert grid["panels"] == ["BarPlot", "RunComparer"]
    team_projects = {n for (n,) in sandbox_db.query(
        "SELECT p.name FROM projects p JOIN entities e ON e.id = p.entity_id "
        "WHERE e.name = ? AND p.is_registry = 0", (TEAM,))}
    assert {rs["entity"] for rs in grid["runsets"]} == {TEAM}
    assert {rs["project"] for rs in grid["runsets"]} == team_projects

    r = publish("--yes", "--json", "--title", "Governance review (December)")
    assert r.code == 0, r.err
    again = json.loads(r.out)
    assert (again["action"], again["id"]) == ("update", made["id"])
    assert [(v["id"], v["display_name"]) for v in views(sandbox_db)] == [
        (row["id"], "Governance review (December)")]

    r = cli("report", "list", "--json")
    assert r.code == 0, r.err
    [listed] = json.loads(r.out)
    assert (listed["id"], listed["title"], listed["template"], listed["project"],
            listed["author"]) == (made["id"], "Governance review (December)", "governance",
                                  TARGET, "alice")
    assert listed["url"].endswith(f"/{TARGET}/reports/Governance-review-(December)--"
                                  f"{made['id']}")
    r = cli("report", "list", "--team", TEAM)
    assert r.code == 0 and "Governance review (December)" in r.out and "alice" in r.out
    r = cli("report", "list", "--project", "ml-infra/gpu-burn-in")
    assert (r.code, r.out.strip()) == (0, "no report published by wbadmin in "
                                          "ml-infra/gpu-burn-in")
    r = cli("report", "list", "--project", f"{TEAM}/no-such-project")
    assert r.code == 5 and "not found" in r.err

    written = r.out + r.err + journal_file().read_text(errors="replace")
    for form in secret_forms(key_of("alice")):
        assert form not in written


def test_a_deleted_cache_still_updates_the_same_report(publish, sandbox_db) -> None:
    assert publish("--yes").code == 0
    [first] = views(sandbox_db)
    cache_file().unlink()
    r = publish("--yes")
    assert r.code == 0, r.err
    assert "update report “Governance review”" in r.out
    assert [v["id"] for v in views(sandbox_db)] == [first["id"]]


def test_undo_deletes_the_report_the_publish_created(publish, cli, sandbox_db) -> None:
    r = publish("--yes", "--json")
    assert r.code == 0, r.err
    entry = json.loads(r.out)["entry"]
    assert len(views(sandbox_db)) == 1
    r = cli("undo", str(entry), "--yes")
    assert r.code == 0, r.err
    assert "delete report “Governance review”" in r.out
    assert views(sandbox_db) == []


def test_a_team_admin_publishes_to_his_teams_project(publish, monkeypatch,
                                                     sandbox_db) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("bob"))
    r = publish("--yes", "--json", template="research", project=f"{TEAM}/rag-pipeline-v2")
    assert r.code == 0, r.err
    members = sandbox_db.scalar("SELECT COUNT(*) FROM team_members tm JOIN entities e ON "
                                "e.id = tm.team_id WHERE e.name = ?", (TEAM,))
    # a private project: the plan names who reads it, and carries no figures to warn about
    assert json.loads(r.out)["readers"] == (
        f"team {TEAM}'s members ({members}) and the organization's admins")
    [row] = views(sandbox_db)
    assert (row["author"], row["project"], row["display_name"]) == (
        "bob", "rag-pipeline-v2", "Research review: sweeps and training")


@pytest.mark.parametrize(("user", "project", "why"), [
    ("carol", "ml-infra/gpu-burn-in", "carol is not a member of team ml-infra"),
    ("victor", TARGET, "victor is a viewer of team data-science-nlp"),
])
def test_who_may_not_write_the_project_is_refused_with_nothing_made(
        publish, monkeypatch, sandbox_db, user: str, project: str, why: str) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of(user))
    projects = sandbox_db.scalar("SELECT COUNT(*) FROM projects")
    r = publish("--yes", project=project)
    assert r.code == 4, r.err
    assert why in r.err and "nothing made" in r.err
    assert "Traceback" not in r.err and "✓" not in r.out
    assert views(sandbox_db) == []
    assert sandbox_db.scalar("SELECT COUNT(*) FROM projects") == projects


def test_a_member_may_not_update_a_report_someone_else_published(
        publish, monkeypatch, sandbox_db) -> None:
    assert publish("--yes").code == 0
    before = views(sandbox_db)
    monkeypatch.setenv("WANDB_API_KEY", key_of("carol"))  # a member of the same team
    r = publish("--yes", "--title", "Carol's version")
    assert r.code == 4, r.err
    assert "published by alice" in r.err
    assert views(sandbox_db) == before


def test_a_missing_project_is_made_only_with_create_project(publish, sandbox_db) -> None:
    missing = f"{TEAM}/q4-governance"
    r = publish("--yes", project=missing)
    assert r.code == 2, r.err
    assert "does not exist" in r.out and "--create-project" in r.err
    assert not project_exists(sandbox_db, TEAM, "q4-governance")
    assert views(sandbox_db) == []

    r = publish("--yes", "--create-project", "--json", project=missing)
    assert r.code == 0, r.err
    assert json.loads(r.out)["creates_project"] is True
    assert project_exists(sandbox_db, TEAM, "q4-governance")
    assert [v["project"] for v in views(sandbox_db)] == ["q4-governance"]


def test_dry_run_and_read_only_write_nothing(publish, sandbox_db) -> None:
    r = publish("--dry-run", "--json")
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    assert (plan["dry_run"], plan["action"]) == (True, "create")
    assert "create report “Governance review”" in plan["plan"][0]
    assert views(sandbox_db) == []
    assert not journal_file().exists() or "report.create" not in journal_file().read_text()

    r = publish("--yes", "--read-only")
    assert r.code == 4, r.err
    assert "read-only" in r.err
    assert views(sandbox_db) == []
