"""Reports and workspaces through the real `wandb-workspaces` library against the sandbox:
saved, loaded back, compared, updated and deleted as W&B's own client does it, with W&B's
team roles deciding who may write (viewers read, members write their own, admins any)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import basic_api, key_of

pytestmark = pytest.mark.sdk

TEAM, PROJECT = "data-science-nlp", "intent-classifier"


@pytest.fixture
def signed_in(wandb_env, monkeypatch):
    """`signed_in("carol")`: the library's own `wandb.Api()` now acts as carol."""

    def sign_in(username: str) -> None:
        monkeypatch.setenv("WANDB_API_KEY", key_of(username))

    return sign_in


def _report(title: str = "Weekly evals", description: str = "for the Monday review"):
    import wandb_workspaces.reports.v2 as wr

    return wr.Report(
        entity=TEAM, project=PROJECT, title=title, description=description,
        blocks=[wr.H1("Intent classifier"), wr.P("Loss and accuracy of this week's runs."),
                wr.PanelGrid(runsets=[wr.Runset(entity=TEAM, project=PROJECT)],
                             panels=[wr.LinePlot(y=["loss"]), wr.ScalarChart(metric="acc")])])


def _views(db) -> list[dict]:
    return [dict(r) for r in db.query(
        "SELECT v.*, u.username AS author FROM views v LEFT JOIN users u "
        "ON u.id = v.created_by ORDER BY v.id")]


def test_a_report_saves_and_loads_back_as_written(signed_in, sandbox_db):
    import wandb_workspaces.reports.v2 as wr

    signed_in("carol")
    report = _report()
    sent_spec = report._to_model().spec.model_dump_json(by_alias=True, exclude_none=True)
    report.save()
    [row] = _views(sandbox_db)
    assert (row["type"], row["author"], row["created_using"]) == ("runs", "carol", "WANDB_SDK")
    assert row["spec"] == sent_spec  # stored exactly as the library sent it
    assert report.url.endswith(f"/{TEAM}/{PROJECT}/reports/Weekly-evals--{report.id}")

    loaded = wr.Report.from_url(report.url)
    assert (loaded.title, loaded.description, loaded.id) == (
        "Weekly evals", "for the Monday review", report.id)
    assert loaded.blocks[:2] == report.blocks[:2]
    [grid] = loaded.blocks[2:]
    assert [type(p).__name__ for p in grid.panels] == ["LinePlot", "ScalarChart"]
    assert [m.name for m in grid.panels[0].y] == ["loss"]
    assert (grid.runsets[0].entity, grid.runsets[0].project) == (TEAM, PROJECT)
    # and saved back unchanged, it is the spec it was
    resaved = loaded._to_model().spec.model_dump_json(by_alias=True, exclude_none=True)
    assert resaved == sent_spec


def test_saving_again_updates_the_same_report_and_delete_removes_it(signed_in, sandbox_db,
                                                                     sdk):
    import wandb_workspaces.reports.v2 as wr

    signed_in("carol")
    report = _report().save()
    first_id = report.id
    report.title = "Weekly evals (final)"
    report.save()
    assert report.id == first_id
    assert [(v["display_name"], v["type"]) for v in _views(sandbox_db)] == [
        ("Weekly evals (final)", "runs")]
    # W&B's public API lists it, with its author
    [listed] = list(sdk("victor").reports(f"{TEAM}/{PROJECT}"))
    assert (listed.display_name, listed.user["username"]) == (
        "Weekly evals (final)", "carol")

    assert wr.Report.from_url(report.url).delete() is True
    assert _views(sandbox_db) == []
    with pytest.raises(TypeError):
        wr.Report.from_url(report.url)  # `view` is null now: nothing to load


def test_a_workspace_saves_and_loads_back(signed_in, sandbox_db):
    import wandb_workspaces.reports.v2 as wr
    import wandb_workspaces.workspaces as ws

    signed_in("priya.sharma")
    workspace = ws.Workspace(entity=TEAM, project=PROJECT, name="Fine-tuning", sections=[
        ws.Section(name="Loss", panels=[wr.LinePlot(y=["train/loss", "eval/loss"])],
                   is_open=True),
        ws.Section(name="Cost", panels=[wr.ScalarChart(metric="tokens/cost_usd")]),
    ]).save()
    [row] = _views(sandbox_db)
    assert (row["type"], row["display_name"], row["author"]) == (
        "project-view", "Fine-tuning", "priya.sharma")

    loaded = ws.Workspace.from_url(workspace.url)
    assert loaded.name == "Fine-tuning"
    assert [(s.name, s.is_open) for s in loaded.sections] == [("Loss", True), ("Cost", False)]
    assert [type(p).__name__ for s in loaded.sections for p in s.panels] == [
        "LinePlot", "ScalarChart"]
    assert [m.name for m in loaded.sections[0].panels[0].y] == ["train/loss", "eval/loss"]

    # saving a loaded workspace updates it in place
    loaded.sections[1].name = "Token cost"
    loaded.save()
    assert [(v["id"], v["display_name"]) for v in _views(sandbox_db)] == [
        (row["id"], "Fine-tuning")]
    assert [s.name for s in ws.Workspace.from_url(workspace.url).sections] == [
        "Loss", "Token cost"]


def test_a_team_viewer_reads_reports_but_may_not_write_them(signed_in, sandbox_db):
    import wandb_workspaces.reports.v2 as wr

    signed_in("carol")
    report = _report().save()
    signed_in("victor")  # View-Only in the team
    assert wr.Report.from_url(report.url).title == "Weekly evals"
    with pytest.raises(Exception, match="permission denied"):
        _report(title="Victor's").save()
    assert [v["display_name"] for v in _views(sandbox_db)] == ["Weekly evals"]


def test_a_member_may_not_delete_anothers_report_but_an_admin_may(signed_in, sandbox_db):
    import wandb_workspaces.reports.v2 as wr

    signed_in("carol")
    report = _report().save()
    signed_in("priya.sharma")  # a member, not the author
    theirs = wr.Report.from_url(report.url)
    with pytest.raises(Exception, match="permission denied"):
        theirs.delete()
    theirs.title = "Priya's now"
    with pytest.raises(Exception, match="permission denied"):
        theirs.save()
    assert [v["display_name"] for v in _views(sandbox_db)] == ["Weekly evals"]
    signed_in("alice")  # a team admin
    assert wr.Report.from_url(report.url).delete() is True
    assert _views(sandbox_db) == []


def test_a_report_with_drafts_is_deleted_only_with_them(sandbox, sandbox_db):
    def gql(query: str, variables: dict) -> dict:
        answer = httpx.post(f"{sandbox.base_url}/graphql", headers=basic_api("carol"),
                            json={"query": query, "variables": variables}).json()
        assert "errors" not in answer, answer
        return answer["data"]

    upsert = ("mutation U($e: String, $p: String, $name: String, $type: String, $parentId: ID) "
              "{ upsertView(input: {entityName: $e, projectName: $p, name: $name, type: $type, "
              "parentId: $parentId, spec: \"{}\"}) { view { id } inserted } }")
    where = {"e": TEAM, "p": PROJECT}
    report = gql(upsert, {**where, "name": "r1", "type": "runs"})["upsertView"]["view"]["id"]
    gql(upsert, {**where, "name": "r1-draft", "type": "runs/draft", "parentId": report})
    delete = ("mutation D($id: ID!, $drafts: Boolean) { deleteView(input: {id: $id, "
              "deleteDrafts: $drafts}) { success pendingDrafts } }")
    assert gql(delete, {"id": report, "drafts": False})["deleteView"] == {
        "success": False, "pendingDrafts": True}
    assert len(_views(sandbox_db)) == 2
    assert gql(delete, {"id": report, "drafts": True})["deleteView"] == {
        "success": True, "pendingDrafts": False}
    assert _views(sandbox_db) == []
