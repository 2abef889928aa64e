"""The diff's rules on a small hand-built org state (no network): what becomes a change, what
is drift left alone, and what is refused with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from wbadmin.core.onboarding.diff import Unmanaged, diff
from wbadmin.core.onboarding.orgfile import OrgFileError, parse
from wbadmin.core.onboarding.state import OrgState, Team, User
from wbadmin.core.org_roles import effective_org_role


def state() -> OrgState:
    s = OrgState(org="acme", org_entity="acme", actor="ann")
    for name, role, active in [("ann", "admin", True), ("ben", "member", True),
                               ("cy", "viewer", True), ("old", "member", False)]:
        s.users[name] = User(name, f"{name}@acme.io", role, active)
    s.teams["ml"] = Team("ml", members={"ann": "admin", "ben": "member"},
                         service_accounts={"ci: nightly": "ci"}, invites=["x@ext.io"],
                         projects={"p": {"description": "P", "access": "PRIVATE"}})
    s.service_account_names = {"ci"}
    s.custom_roles = {"auditor"}
    s.registries = {"model": {("user", "ben"): "viewer"}}
    return s


def plan_of(text: str, *, prune: bool = False):
    return diff(parse(Path("o.toml"), text), state(), prune=prune)


def problems(text: str) -> list[str]:
    with pytest.raises(OrgFileError) as info:
        plan_of(text)
    return info.value.lines()


def test_matching_parts_plan_nothing_and_absent_parts_are_not_managed() -> None:
    planned = plan_of('[teams.ml.members]\nann = "admin"\nben = "Member"\n')
    assert planned.plan.is_empty and not planned.drift


def test_extras_are_drift_until_pruned_and_removals_come_last() -> None:
    text = ('[teams.ml]\ninvites = []\n[teams.ml.members]\nann = "admin"\n'
            'cy = "viewer"\n')
    planned = plan_of(text)
    assert [c.kind for c in planned.plan] == ["team.add_member"]
    assert [(u.target, u.detail) for u in planned.unmanaged] == [
        ("ml/ben", "member in W&B, not in the file (--prune removes)"),
        ("ml/x@ext.io", "pending invite not in the file (--prune cancels)")]
    pruned = plan_of(text, prune=True)
    assert [c.kind for c in pruned.plan] == ["team.add_member", "team.remove_member",
                                             "team.cancel_invite"]
    assert pruned.unmanaged == []


def test_invites_of_org_users_are_not_drift_once_they_join() -> None:
    planned = plan_of('[teams.ml]\ninvites = ["cy@acme.io", "x@ext.io"]\n'
                      '[teams.ml.members]\nann = "admin"\nben = "member"\n')
    assert [(c.kind, c.target) for c in planned.plan] == [("team.invite", "ml/cy@acme.io")]
    joined = state()
    joined.teams["ml"].members["cy"] = "member"
    spec = parse(Path("o.toml"), '[teams.ml]\ninvites = ["cy@acme.io"]\n'
                                 '[teams.ml.members]\nann = "admin"\nben = "member"\n')
    after = diff(spec, joined)
    assert after.plan.is_empty and after.unmanaged == [
        Unmanaged("ml/x@ext.io", "pending invite not in the file (--prune cancels)")]


def test_custom_roles_only_for_org_members_and_case_sensitive() -> None:
    lines = problems('[org.roles]\nben = "admin"\nann = "admin"\ncy = "viewer"\n'
                     '[teams.ml.members]\nann = "admin"\nben = "auditor"\ncy = "Auditor"\n')
    assert lines == [
        "o.toml:7: ben cannot get the custom role 'auditor': W&B gives custom roles only to "
        "users whose org role is member (ben is admin)",
        "o.toml:8: unknown team role 'Auditor' for 'cy' (one of: admin, member, viewer, "
        "auditor; custom role names are case-sensitive)"]


def test_people_problems() -> None:
    lines = problems('[teams.ml.members]\nann = "admin"\nben = "member"\nci = "member"\n'
                     'ghost = "member"\nold = "member"\n"ben@acme.io" = "viewer"\n')
    assert [line.split(": ", 1)[1] for line in lines] == [
        "ci is a service account: list it under service_accounts",
        "unknown user 'ghost' (not in the organization; use their email address to invite "
        "them)",
        "old is deactivated in W&B: reactivate them before adding them to a team",
        "ben@acme.io is listed twice in ml"]


def test_new_team_takes_its_first_admin_and_names_are_checked() -> None:
    planned = plan_of('[teams.new-team.members]\nben = "member"\ncy = "admin"\n'
                      '[teams.new-team.projects."Eval runs"]\n')
    assert [(c.kind, c.target) for c in planned.plan] == [
        ("team.create", "new-team"), ("team.add_member", "new-team/ben"),
        ("project.create", "new-team/Eval runs")]
    assert planned.plan.changes[0].admin == "cy"
    assert problems('[teams.ben.members]\ncy = "admin"\n') == [
        "o.toml:1: the name 'ben' is already taken by a user or team in W&B"]
    assert problems('[teams.ml.projects."a:b"]\n') == [
        "o.toml:1: project name 'a:b' contains : (W&B refuses / \\ # ? % : and newlines)"]


def test_projects_registries_and_org() -> None:
    planned = plan_of('[org]\nname = "acme"\n[teams.ml.projects.p]\nvisibility = "restricted"\n'
                      '[registries.model.users]\nben = "member"\n[registries.model.teams]\n'
                      'ml = "viewer"\n')
    assert [(c.kind, c.summary()) for c in planned.plan] == [
        ("project.update", "visibility: team → restricted"),
        ("registry.set_role", "viewer → member"), ("registry.set_role", "add viewer")]
    assert problems('[org]\nname = "other"\n[registries.nope.users]\n') == [
        "o.toml:2: this file describes the org 'other', but W&B answers for 'acme' (wrong "
        "profile?)",
        "o.toml:3: unknown registry 'nope' (name it without the wandb-registry- prefix; "
        "wbadmin does not create registries)"]


def test_org_roles_and_the_deprecated_viewer() -> None:
    assert effective_org_role("member", "viewer") == "viewer"
    assert effective_org_role("member", "full") == "member"
    planned = plan_of('[org.roles]\nann = "admin"\nben = "viewer"\n')
    assert [(c.kind, c.target, c.summary()) for c in planned.plan] == [
        ("org.set_role", "org/ben", "member → viewer")]
    assert [u.target for u in planned.unmanaged] == ["org/cy"]  # old is deactivated
