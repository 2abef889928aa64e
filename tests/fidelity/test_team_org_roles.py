"""Team and org role changes, as real W&B makes them (wandb-api.md §3.3, §3.4, §4.2, §4.3;
wandb-sdk-wire.md §5.1, §10). Also recorded elsewhere, case by case:
tests/sandbox/test_scim_users.py (org roles, team roles), test_graphql_users.py and
test_sdk_users.py (invites, member removal)."""

from __future__ import annotations

import pytest

from tests.fidelity.conftest import PATCH_URN, graphql_logical_error, scim_error

TEAM = "data-science-nlp"
MEMBERS = ("query GetTeamEntity($name: String!) { entity(name: $name) {"
           " members { id username admin pending accountType } } }")
DELETE_INVITE = ("mutation DeleteInvite($id: String!, $entity: String) {"
                 " result: deleteInvite(input: {id: $id, entityName: $entity}) { success } }")


def user_id(scim, username: str) -> str:
    return scim("GET", "Users", params={"filter": f'userName eq "{username}"'}).json()[
        "Resources"][0]["id"]


def patch(scim, uid: str, *operations: dict, who: str = "alice"):
    return scim("PATCH", f"Users/{uid}", who=who,
                json={"schemas": [PATCH_URN], "Operations": list(operations)})


def team_roles(scim, username: str) -> dict[str, str]:
    user = scim("GET", f"Users/{user_id(scim, username)}").json()
    return {r["teamName"]: r["roleName"] for r in user["teamRoles"]}


def test_org_role_change_answers_the_user_with_its_role(scim) -> None:
    # wandb-api.md §3.3: replace organizationRole; the PATCH response shows organizationRole.
    r = patch(scim, user_id(scim, "carol"),
              {"op": "replace", "path": "organizationRole", "value": "admin"})
    assert r.status_code == 200 and r.json()["organizationRole"] == "admin"


def test_org_role_values_are_case_insensitive(scim) -> None:
    # wandb-api.md §3.3: org role values admin/viewer/member, case-insensitive (2024 doc).
    r = patch(scim, user_id(scim, "carol"),
              {"op": "replace", "path": "organizationRole", "value": "ADMIN"})
    assert r.status_code == 200 and r.json()["organizationRole"] == "admin"


def test_deprecated_viewer_org_role_becomes_member_with_viewer_seats(scim) -> None:
    # wandb-api.md §3.3: assigning `viewer` sets member, modelsSeat and weaveRole viewer, and
    # every team role viewer.
    r = patch(scim, user_id(scim, "carol"),
              {"op": "replace", "path": "organizationRole", "value": "viewer"})
    user = r.json()
    assert (user["organizationRole"], user["modelsSeat"], user["weaveRole"]) == (
        "member", "viewer", "viewer")
    assert set(team_roles(scim, "carol").values()) == {"viewer"}


def test_team_role_predefined_names_any_case_custom_names_exact(scim) -> None:
    # wandb-api.md §3.3 Team role: predefined names case-insensitive, custom role names
    # case-sensitive; one object per call.
    uid = user_id(scim, "carol")
    r = patch(scim, uid, {"op": "replace", "path": "teamRoles",
                          "value": [{"teamName": TEAM, "roleName": "Admin"}]})
    assert r.status_code == 200 and team_roles(scim, "carol")[TEAM] == "admin"
    ok = patch(scim, uid, {"op": "replace", "path": "teamRoles",
                           "value": [{"teamName": TEAM, "roleName": "ml-ops-engineer"}]})
    assert ok.status_code == 200 and team_roles(scim, "carol")[TEAM] == "ml-ops-engineer"
    scim_error(patch(scim, uid, {"op": "replace", "path": "teamRoles",
                                 "value": [{"teamName": TEAM, "roleName": "ML-Ops-Engineer"}]}),
               400)


def test_a_custom_role_is_for_org_members_only(scim) -> None:
    # wandb-api.md §3.3: "A custom role can only be given to a user whose org role is Member".
    r = patch(scim, user_id(scim, "alice"), {"op": "replace", "path": "teamRoles", "value": [
        {"teamName": TEAM, "roleName": "ml-ops-engineer"}]})
    scim_error(r, 400)
    assert team_roles(scim, "alice")[TEAM] == "admin"


def test_team_admins_cannot_change_roles_through_scim(scim) -> None:
    # wandb-api.md §2.1: SCIM takes an org admin's (or org service account's) key only.
    r = patch(scim, user_id(scim, "carol"), {"op": "replace", "path": "teamRoles",
                                             "value": [{"teamName": TEAM, "roleName": "admin"}]},
              who="bob")
    scim_error(r, 403)


def test_membership_through_groups_then_role(scim) -> None:
    # wandb-api.md §3.3 [UNCERTAIN whether teamRoles adds a member]: "Client: add membership
    # through Groups PATCH first, then set teamRoles" — that path works; §3.4: the member id
    # may be an email address.
    gid = scim("GET", "Groups", params={"filter": 'displayName eq "ml-infra"'}).json()[
        "Resources"][0]["id"]
    carol = scim("GET", f"Users/{user_id(scim, 'carol')}").json()
    r = scim("PATCH", f"Groups/{gid}", json={"schemas": [PATCH_URN], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": carol["emails"]["Value"]}]}]})
    assert "carol" in {m["Display"] for m in r.json()["members"]}
    patch(scim, carol["id"], {"op": "replace", "path": "teamRoles",
                              "value": [{"teamName": "ml-infra", "roleName": "viewer"}]})
    assert team_roles(scim, "carol")["ml-infra"] == "viewer"


@pytest.mark.parametrize("who, allowed", [("bob", True), ("carol", False)])
def test_removing_a_member_is_delete_invite_with_the_user_id(gql, who: str,
                                                             allowed: bool) -> None:
    # wandb-sdk-wire.md §5.1 and §10: Member.delete() sends deleteInvite(input: {id: <User
    # id>, entityName}); a team admin may, a member may not (a logical error).
    members = gql(MEMBERS, {"name": TEAM}, who="bob").json()["data"]["entity"]["members"]
    victor = next(m for m in members if m["username"] == "victor")
    r = gql(DELETE_INVITE, {"id": victor["id"], "entity": TEAM}, who=who)
    after = gql(MEMBERS, {"name": TEAM}, who="bob").json()["data"]["entity"]["members"]
    if allowed:
        assert r.json()["data"]["result"]["success"] is True
        assert "victor" not in {m["username"] for m in after}
    else:
        graphql_logical_error(r)
        assert "victor" in {m["username"] for m in after}


def test_team_admin_flag_follows_the_team_role(gql) -> None:
    # wandb-sdk-wire.md §5.1 GetTeamEntity: members { admin } (nullable) — true for admins.
    members = gql(MEMBERS, {"name": TEAM}).json()["data"]["entity"]["members"]
    admin = {m["username"]: m["admin"] for m in members if m["accountType"] != "SERVICE"}
    assert admin["bob"] is True and admin["carol"] is False
