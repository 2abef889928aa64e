"""Template projects with ready workspaces (issue 20, item 3): a template's project names a
workspace layout; onboarding saves it with wandb-workspaces as a change of the plan —
shown, journaled, not made twice, undone with deleteView — over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import key_of
from tests.onboarding.orgfixtures import run_plan
from wbadmin.core import wandb_library
from wbadmin.core.changes import Plan
from wbadmin.core.onboarding.layouts import load_layout
from wbadmin.core.onboarding.templates import TemplateError, parse_template
from wbadmin.core.onboarding.workspace_change import SaveWorkspace
from wbadmin.core.redact import Secret

pytestmark = pytest.mark.sdk

TEMPLATE = '''[template]
kind = "team"
description = "LLM apps team: a fine-tuning project with its workspace"

[groups]
admins = "admin"
members = "member"

[[projects]]
name = "{team}-finetune"
description = "Fine-tuning runs of {team}"
workspace = "llm-finetune"

[[projects]]
name = "{team}-scratch"
'''


@pytest.fixture
def with_workspace(tmp_path: Path) -> Path:
    path = tmp_path / "llm-apps-team.toml"
    path.write_text(TEMPLATE)
    return path


def onboard(cli, template: Path, *extra: str):
    return cli("onboard", "team", str(template), "--name", "llm-apps", "--admin", "bob",
               "--member", "carol", *extra)


def workspaces(db) -> list[dict]:
    return [dict(r) for r in db.query(
        "SELECT v.id, v.name, v.display_name, v.type, p.name AS project, u.username AS author "
        "FROM views v JOIN projects p ON p.id = v.project_id JOIN users u "
        "ON u.id = v.created_by ORDER BY v.id")]


def test_the_workspace_key_names_a_shipped_layout() -> None:
    template = parse_template(TEMPLATE, Path("llm-apps-team.toml"))
    assert [p.workspace for p in template.projects] == ["llm-finetune", ""]
    layout = load_layout("llm-finetune")
    assert [s["name"] for s in layout["sections"]] == [
        "Loss", "Eval metrics", "Latency", "Token cost"]


def test_an_unknown_layout_is_the_templates_line_and_exit_8(cli, live, sandbox_db,
                                                           tmp_path: Path) -> None:
    bad = tmp_path / "bad-team.toml"
    bad.write_text(TEMPLATE.replace('"llm-finetune"', '"llm-finetuning"'))
    with pytest.raises(TemplateError, match="line 12"):
        parse_template(bad.read_text(), bad)
    result = onboard(cli, bad, "--yes")
    assert result.code == 8
    assert result.err_lines == [
        f"wbadmin: template {bad}, line 12: projects.0.workspace: no workspace layout "
        "'llm-finetuning' (known: llm-finetune)"]
    assert workspaces(sandbox_db) == []


def test_onboarding_saves_the_workspace_once_and_undo_deletes_it(cli, live, sandbox, sandbox_db,
                                                                 with_workspace, tmp_path):
    dry = onboard(cli, with_workspace, "--dry-run")
    assert dry.code == 0, dry.err
    assert "save workspace “LLM fine-tuning” (llm-finetune)" in dry.out

    done = onboard(cli, with_workspace, "--yes", "--json")
    assert done.code == 0, done.err
    outcomes = json.loads(done.out)["outcomes"]  # --json is the report alone: no library chatter
    assert all(o["status"] == "applied" for o in outcomes)
    [view] = workspaces(sandbox_db)
    assert (view["project"], view["display_name"], view["type"], view["author"]) == (
        "llm-apps-finetune", "LLM fine-tuning", "project-view", "alice")

    # W&B's own library loads it back as the layout says
    alice = wandb_library.LibraryIdentity(sandbox.base_url, Secret(key_of("alice")), "alice")
    url = f"{sandbox.base_url}/llm-apps/llm-apps-finetune?nw=" + \
        view["name"].removeprefix("nw-").removesuffix("-v")
    loaded = wandb_library.run(alice, "wbadmin.core.wandb_views:load_workspace", {"url": url})
    layout = load_layout("llm-finetune")
    kinds = {"line": "LinePlot", "bar": "BarPlot", "scalar": "ScalarChart",
             "scatter": "ScatterPlot"}
    assert loaded == {"name": "LLM fine-tuning", "sections": [
        {"name": s["name"], "open": s["open"], "panels": [kinds[p["kind"]] for p in s["panels"]]}
        for s in layout["sections"]]}

    again = onboard(cli, with_workspace, "--yes")
    assert again.code == 0, again.err
    assert "nothing left to change" in again.out
    assert len(workspaces(sandbox_db)) == 1  # no second workspace

    # A plan made before someone else saved the workspace: applying it refuses, and the
    # outcome is not "applied" (the re-read shows theirs; undoing it would delete theirs).
    stale = SaveWorkspace.make("llm-apps", "llm-apps-finetune", "llm-finetune")
    (refused,) = run_plan(sandbox.base_url, Plan(changes=[stale]), "alice",
                          tmp_path / "journal.db")
    assert refused.status == "failed" and "already has a workspace" in refused.result
    assert len(workspaces(sandbox_db)) == 1

    journal = json.loads(cli("journal", "--json").out)
    [saved] = [e for e in journal if e["kind"] == "workspace.save"]
    assert saved["target"] == "llm-apps/llm-apps-finetune" and saved["status"] == "applied"
    undone = cli("undo", str(saved["id"]), "--yes")
    assert undone.code == 0, undone.err
    assert workspaces(sandbox_db) == []
    # the project and the team stay: only the workspace was undone
    assert sandbox_db.scalar("SELECT COUNT(*) FROM projects WHERE name = 'llm-apps-finetune'")


def test_without_wandb_workspaces_the_plan_is_refused_before_anything_is_made(
        cli, live, sandbox_db, with_workspace, monkeypatch) -> None:
    real = wandb_library.importlib.util.find_spec
    monkeypatch.setattr(wandb_library.importlib.util, "find_spec",
                        lambda name, *a: None if name == "wandb_workspaces" else real(name, *a))
    result = onboard(cli, with_workspace, "--yes")
    assert result.code == 7
    assert result.err_lines[-1] == ("wbadmin: wandb_workspaces is not installed: install it "
                                    "with `pip install wandb-workspaces==0.4.13`")
    assert "Traceback" not in result.err
    assert not sandbox_db.scalar("SELECT COUNT(*) FROM entities WHERE name = 'llm-apps'")
