"""The onboarding change kinds applied through the engine over real HTTP, read back from the
sandbox's own database. Each success has a forbidden twin: an identity W&B does not let do it
is refused, and nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from wbadmin.core.changes import Change, NotReversible, Plan
from wbadmin.core.onboarding.changes import (
    CreateProject,
    CreateTeam,
    DeleteProject,
    UpdateProject,
    access_to_visibility,
    visibility_to_access,
)

from .orgfixtures import project_row, run_plan, team_exists

TEAM = "data-science-nlp"


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


def admins_of(db, team: str) -> set[str]:
    return {r[0] for r in db.query(
        "SELECT u.username FROM team_members m JOIN users u ON u.id = m.user_id JOIN entities e "
        "ON e.id = m.team_id WHERE e.name = ? AND m.role = 'admin'", (team,))}


def test_create_team_with_a_named_admin(sandbox, sandbox_db, jpath) -> None:
    change = CreateTeam.make("fraud-detection", admin="bob")
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[change]), "alice", jpath)
    assert outcome.ok and outcome.verified, outcome.result
    assert team_exists(sandbox_db, "fraud-detection")
    assert admins_of(sandbox_db, "fraud-detection") == {"bob"}
    assert change.describe() == ("+ fraud-detection  create team (admin: bob)  "
                                 "(GraphQL createTeam)")
    with pytest.raises(NotReversible):
        change.inverse()
    # Applying it again makes no second createTeam call: the name is taken, and the engine's
    # re-read shows the team in place (so it is not reported as a failure to retry).
    (again,) = run_plan(sandbox.base_url, Plan(changes=[change]), "alice", jpath)
    assert "already taken" in again.result and "re-read shows the change in place" in again.result
    assert admins_of(sandbox_db, "fraud-detection") == {"bob"}


def test_forbidden_twin_only_org_admins_create_teams(sandbox, sandbox_db, jpath) -> None:
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[CreateTeam.make("bobs-team")]),
                          "bob", jpath)
    assert outcome.status == "failed" and "PermissionDenied" in outcome.result
    assert not team_exists(sandbox_db, "bobs-team")


def test_create_team_on_a_username_is_refused(sandbox, sandbox_db, jpath) -> None:
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[CreateTeam.make("carol")]),
                          "alice", jpath)
    assert outcome.status == "failed" and "already taken" in outcome.result
    assert not team_exists(sandbox_db, "carol")


def test_create_project_and_undo(sandbox, sandbox_db, jpath) -> None:
    change = CreateProject.make(TEAM, "toxicity-filter", description="Toxicity filter evals",
                                access="RESTRICTED")
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[change]), "bob", jpath)
    assert outcome.ok and outcome.verified, outcome.result
    assert project_row(sandbox_db, TEAM, "toxicity-filter") == {
        "name": "toxicity-filter", "description": "Toxicity filter evals",
        "access": "RESTRICTED"}
    assert "create project (“Toxicity filter evals”, visibility restricted)" in change.describe()
    undo = change.inverse()
    assert isinstance(undo, DeleteProject) and not undo.reversible
    (undone,) = run_plan(sandbox.base_url, Plan(changes=[undo]), "bob", jpath)
    assert undone.ok and undone.verified, undone.result
    assert project_row(sandbox_db, TEAM, "toxicity-filter") is None


def test_forbidden_twin_org_viewer_cannot_create_a_project(sandbox, sandbox_db, jpath) -> None:
    change = CreateProject.make(TEAM, "viewer-project", description="x")
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[change]), "victor", jpath)
    assert outcome.status == "failed" and "PermissionDenied" in outcome.result
    assert project_row(sandbox_db, TEAM, "viewer-project") is None


def test_create_project_never_edits_an_existing_one(sandbox, sandbox_db, jpath) -> None:
    before = project_row(sandbox_db, TEAM, "intent-classifier")
    change = CreateProject.make(TEAM, "intent-classifier", description="overwritten?")
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[change]), "alice", jpath)
    assert outcome.status == "failed" and "already exists" in outcome.result
    assert project_row(sandbox_db, TEAM, "intent-classifier") == before


def test_update_project_and_undo(sandbox, sandbox_db, jpath) -> None:
    current = {"description": "Intent classifier (data-science-nlp)", "access": "ENTITY_READ"}
    change = UpdateProject.make(TEAM, "intent-classifier", current=current,
                                description="Intent classifier v3", access="PRIVATE")
    assert change.summary() == ("description: Intent classifier (data-science-nlp) → Intent "
                                "classifier v3, visibility: entity_read → team")
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[change]), "bob", jpath)
    assert outcome.ok and outcome.verified, outcome.result
    assert project_row(sandbox_db, TEAM, "intent-classifier")["access"] == "PRIVATE"
    (undone,) = run_plan(sandbox.base_url, Plan(changes=[change.inverse()]), "bob", jpath)
    assert undone.ok and undone.verified, undone.result
    assert project_row(sandbox_db, TEAM, "intent-classifier") == {
        "name": "intent-classifier", **current}


def test_forbidden_twin_update_by_an_org_viewer(sandbox, sandbox_db, jpath) -> None:
    before = project_row(sandbox_db, TEAM, "intent-classifier")
    change = UpdateProject.make(TEAM, "intent-classifier", current=before, access="OPEN")
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[change]), "victor", jpath)
    assert outcome.status == "failed"
    assert project_row(sandbox_db, TEAM, "intent-classifier") == before


def test_update_never_creates_a_missing_project(sandbox, sandbox_db, jpath) -> None:
    change = UpdateProject.make(TEAM, "ghost", current={"description": ""}, description="x")
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[change]), "alice", jpath)
    assert outcome.status == "failed" and "not found" in outcome.result
    assert project_row(sandbox_db, TEAM, "ghost") is None


def test_delete_refuses_a_project_with_runs(sandbox, sandbox_db, jpath) -> None:
    change = DeleteProject.make(TEAM, "rag-pipeline-v2")
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[change]), "alice", jpath)
    assert outcome.status == "failed" and "never deletes runs" in outcome.result
    assert project_row(sandbox_db, TEAM, "rag-pipeline-v2") is not None


def test_kinds_rebuild_from_journal_records() -> None:
    for change in [CreateTeam.make("t1", admin="bob"),
                   CreateProject.make("t1", "p", description="d", access="PRIVATE"),
                   UpdateProject.make("t1", "p", current={"access": "PRIVATE"},
                                      access="RESTRICTED"),
                   DeleteProject.make("t1", "p")]:
        assert Change.from_record(change.to_record()) == change


def test_visibility_names() -> None:
    assert visibility_to_access("team") == "PRIVATE"
    assert visibility_to_access("Restricted") == "RESTRICTED"
    assert visibility_to_access("entity_read") == "ENTITY_READ"
    assert access_to_visibility("PRIVATE") == "team"
    assert access_to_visibility("USER_READ") == "user_read"
    with pytest.raises(ValueError, match="unknown visibility 'secret'"):
        visibility_to_access("secret")


def test_forbidden_twin_a_team_member_cannot_delete_a_project(sandbox, sandbox_db,
                                                              jpath) -> None:
    create = CreateProject.make(TEAM, "scratch", description="empty")
    assert run_plan(sandbox.base_url, Plan(changes=[create]), "alice", jpath)[0].ok
    (outcome,) = run_plan(sandbox.base_url, Plan(changes=[create.inverse()]), "carol", jpath)
    assert outcome.status == "failed" and "PermissionDenied" in outcome.result
    assert project_row(sandbox_db, TEAM, "scratch") is not None
