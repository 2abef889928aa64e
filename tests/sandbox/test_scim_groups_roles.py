"""SCIM /Groups (W&B teams) and /Roles (custom roles) against the sandbox over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import key_of
from wbadmin.sandbox import ids
from wbadmin.sandbox.db import Database

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ROLE_URN = "urn:ietf:params:scim:schemas:core:2.0:Role"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
TABLES = ("users", "entities", "team_members", "project_members", "custom_roles", "audit_log",
          "meta")


def auth(username: str) -> dict[str, str]:
    raw = f"{'' if username == 'org-provisioner' else username}:{key_of(username)}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


@pytest.fixture(params=["/scim", "/scim/v2"])
def scim(request, sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url + request.param, headers=auth("alice")) as c:
        yield c


@pytest.fixture
def admin(sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url + "/scim", headers=auth("alice")) as c:
        yield c


@pytest.fixture
def bob(sandbox) -> Iterator[httpx.Client]:
    """An org member who is a team admin: SCIM is still off limits."""
    with httpx.Client(base_url=sandbox.base_url + "/scim", headers=auth("bob")) as c:
        yield c


def snapshot(db: Database) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in db.query(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in TABLES}


def ops(*operations: dict) -> dict:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["schemas"] == [ERROR_URN] and body["status"] == str(status)
    return body["detail"]


def uid(db: Database, username: str) -> str:
    return ids.encode("User", db.scalar("SELECT id FROM users WHERE username = ?", (username,)))


def gid(db: Database, team: str) -> str:
    return ids.encode("Entity", db.scalar("SELECT id FROM entities WHERE name = ?", (team,)))


def rid(db: Database, role: str) -> str:
    return ids.encode("Role", db.scalar("SELECT id FROM custom_roles WHERE name = ?", (role,)))


def members(group: dict) -> list[str]:
    return [m["Display"] for m in group["members"] or []]


def db_members(db: Database, team: str) -> set[str]:
    return {r[0] for r in db.query(
        "SELECT u.username FROM team_members m JOIN users u ON u.id = m.user_id "
        "JOIN entities e ON e.id = m.team_id WHERE e.name = ?", (team,))}


# ---- Groups: read --------------------------------------------------------------------------

def test_get_group_has_wandb_shape(scim, sandbox_db):
    group = scim.get(f"/Groups/{gid(sandbox_db, 'data-science-nlp')}").json()
    assert group["displayName"] == "data-science-nlp"
    assert group["schemas"] == [GROUP_URN]
    assert group["meta"]["resourceType"] == "Group"
    assert group["meta"]["location"] == f"Groups/{group['id']}"
    bob = next(m for m in group["members"] if m["Display"] == "bob")
    assert bob == {"Value": uid(sandbox_db, "bob"), "Ref": "", "Type": "", "Display": "bob"}
    # Service accounts (eval-runner is in this team) are not SCIM members.
    assert "eval-runner" not in members(group)
    assert "eval-runner" in db_members(sandbox_db, "data-science-nlp")


def test_list_and_filter_groups(scim, sandbox_db):
    body = scim.get("/Groups").json()
    teams = sandbox_db.scalar("SELECT COUNT(*) FROM entities WHERE kind = 'team'")
    assert body["schemas"] == [LIST_URN] and body["itemsPerPage"] == 9999
    assert body["totalResults"] == len(body["Resources"]) == teams
    names = {g["displayName"] for g in body["Resources"]}
    assert "ml-infra" in names and "inference-systems" not in names and "alice" not in names
    one = scim.get("/Groups", params={"filter": 'displayName eq "ml-infra"'}).json()
    assert [g["displayName"] for g in one["Resources"]] == ["ml-infra"]
    none = scim.get("/Groups", params={"filter": 'displayName eq "alice"'}).json()
    assert none["Resources"] == [] and none["totalResults"] == 0
    page = scim.get("/Groups", params={"startIndex": 2, "count": 2}).json()
    assert [g["id"] for g in page["Resources"]] == [g["id"] for g in body["Resources"]][1:3]
    error(scim.get("/Groups", params={"filter": 'displayName sw "ml"'}), 400)
    error(scim.get("/Groups", params={"filter": 'userName eq "bob"'}), 400)


def test_unknown_group_is_404(scim, sandbox_db):
    error(scim.get(f"/Groups/{ids.encode('Entity', 9999)}"), 404)
    # A user's personal entity or the org entity is not a group.
    personal = sandbox_db.scalar("SELECT entity_id FROM users WHERE username = 'bob'")
    error(scim.get(f"/Groups/{ids.encode('Entity', personal)}"), 404)


def test_member_cannot_read_groups(bob):
    error(bob.get("/Groups"), 403)


# ---- Groups: create ------------------------------------------------------------------------

def test_create_group_adds_members_and_org_service_accounts(scim, sandbox_db):
    body = {"schemas": [GROUP_URN], "displayName": "wandb-support",
            "members": [{"value": uid(sandbox_db, "carol")},
                        {"value": "grace@inference-systems.ai", "display": "grace"}]}
    response = scim.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["displayName"] == "wandb-support" and members(group) == ["carol", "grace"]
    assert response.headers["location"] == f"Groups/{group['id']}"
    assert scim.get(f"/Groups/{group['id']}").json()["displayName"] == "wandb-support"
    # Every org-scoped service account joined; team-scoped ones did not.
    assert db_members(sandbox_db, "wandb-support") == {"carol", "grace", "org-provisioner"}
    entry = sandbox_db.one("SELECT detail FROM audit_log WHERE action = 'team:create'")
    assert json.loads(entry[0])["entity_name"] == "wandb-support"
    # carol's User now shows the team.
    carol = scim.get(f"/Users/{uid(sandbox_db, 'carol')}").json()
    assert {"teamName": "wandb-support", "roleName": "member"} in carol["teamRoles"]


def test_create_group_with_no_members_and_a_bucket(admin, sandbox_db):
    body = {"schemas": [GROUP_URN], "displayName": "research-team", "members": [],
            "storageBucket": {"name": "wandbstorage", "provider": "AZURE"}}
    response = admin.post("/Groups", json=body)
    assert response.status_code == 201
    assert response.json()["members"] is None  # users only: the org SA is not listed


@pytest.mark.parametrize("body,status", [
    ({"displayName": "ml-infra", "members": []}, 409),
    ({"displayName": "ML-Infra", "members": []}, 409),
    ({"displayName": "bob", "members": []}, 409),
    ({"members": []}, 400),
    ({"displayName": "has space", "members": []}, 400),
    ({"displayName": "t1", "members": [{"value": "nobody@example.com"}]}, 400),
    ({"displayName": "t1", "members": [{"value": ids.encode("User", 9999)}]}, 400),
    ({"displayName": "t1", "members": ["carol"]}, 400),
    ({"displayName": "t1", "members": [], "storageBucket": {"name": "b", "provider": "aws"}}, 400),
    ({"displayName": "t1", "members": [], "storageBucket": {"provider": "GCP"}}, 400),
])
def test_create_group_rejections(admin, sandbox_db, body, status):
    before = snapshot(sandbox_db)
    error(admin.post("/Groups", json={"schemas": [GROUP_URN], **body}), status)
    assert snapshot(sandbox_db) == before


def test_invalid_bucket_provider_lists_the_allowed_values(admin):
    detail = error(admin.post("/Groups", json={
        "schemas": [GROUP_URN], "displayName": "t3", "members": [],
        "storageBucket": {"name": "b", "provider": "S3"}}), 400)
    assert "COREWEAVE, AWS, AZURE, GCP, MINIO" in detail


def test_create_group_forbidden_for_member(bob, sandbox_db):
    before = snapshot(sandbox_db)
    error(bob.post("/Groups", json={"schemas": [GROUP_URN], "displayName": "t2",
                                    "members": []}), 403)
    assert snapshot(sandbox_db) == before


# ---- Groups: membership --------------------------------------------------------------------

def test_patch_members_add_and_remove(scim, sandbox_db):
    team = gid(sandbox_db, "ml-infra")
    carol_version = sandbox_db.scalar("SELECT version FROM users WHERE username = 'carol'")
    added = scim.patch(f"/Groups/{team}", json=ops(
        {"op": "add", "path": "members", "value": [{"value": uid(sandbox_db, "carol")},
                                                   {"value": "Victor@Inference-Systems.ai"}]}))
    assert added.status_code == 200, added.text
    assert members(added.json())[-2:] == ["carol", "victor"]
    assert sandbox_db.scalar("SELECT role FROM team_members m JOIN users u ON u.id = m.user_id "
                             "WHERE u.username = 'carol' AND m.team_id = ?",
                             (ids.decode(team, "Entity"),)) == "member"
    assert sandbox_db.scalar("SELECT version FROM users WHERE username = 'carol'") == \
        carol_version + 1
    # Adding an existing member is harmless.
    again = scim.patch(f"/Groups/{team}", json=ops(
        {"op": "add", "path": "members", "value": [{"value": uid(sandbox_db, "carol")}]}))
    assert members(again.json()).count("carol") == 1
    by_id = scim.patch(f"/Groups/{team}", json=ops(
        {"op": "remove", "path": f'members[value eq "{uid(sandbox_db, "carol")}"]'}))
    assert "carol" not in members(by_id.json())
    by_email = scim.patch(f"/Groups/{team}", json=ops(
        {"op": "remove", "path": 'members[value eq "victor@inference-systems.ai"]'}))
    assert "victor" not in members(by_email.json())
    assert not {"carol", "victor"} & db_members(sandbox_db, "ml-infra")


def test_remove_all_members_gives_null_and_keeps_service_accounts(scim, sandbox_db):
    team = gid(sandbox_db, "llm-platform-eng")
    response = scim.patch(f"/Groups/{team}", json=ops({"op": "remove", "path": "members"}))
    assert response.status_code == 200
    assert response.json()["members"] is None
    assert scim.get(f"/Groups/{team}").json()["members"] is None
    assert db_members(sandbox_db, "llm-platform-eng") == {"ci-bot"}  # SAs are not touched


def test_replace_members_with_patch_and_put(scim, sandbox_db):
    team = gid(sandbox_db, "customer-insights")
    replaced = scim.patch(f"/Groups/{team}", json=ops(
        {"op": "replace", "path": "members", "value": [{"value": uid(sandbox_db, "carol")}]}))
    assert members(replaced.json()) == ["carol"]
    put = scim.put(f"/Groups/{team}", json={
        "schemas": [GROUP_URN], "displayName": "customer-insights",
        "members": [{"value": uid(sandbox_db, "bob")}, {"value": "carol@inference-systems.ai"}]})
    assert put.status_code == 200 and sorted(members(put.json())) == ["bob", "carol"]
    pathless = scim.patch(f"/Groups/{team}", json=ops(
        {"op": "replace", "value": {"members": [{"value": uid(sandbox_db, "bob")}]}}))
    assert members(pathless.json()) == ["bob"]
    assert db_members(sandbox_db, "customer-insights") == {"bob"}


def test_replace_members_keeps_roles_of_those_who_stay(admin, sandbox_db):
    team = gid(sandbox_db, "data-science-nlp")
    admin.put(f"/Groups/{team}", json={"schemas": [GROUP_URN], "displayName": "data-science-nlp",
                                       "members": [{"value": uid(sandbox_db, "bob")}]})
    assert sandbox_db.scalar("SELECT role FROM team_members m JOIN users u ON u.id = m.user_id "
                             "WHERE u.username = 'bob' AND m.team_id = ?",
                             (ids.decode(team, "Entity"),)) == "admin"


@pytest.mark.parametrize("operation", [
    {"op": "add", "path": "members", "value": [{"value": "stranger@example.com"}]},
    {"op": "add", "path": "members", "value": [{"value": ids.encode("User", 9999)}]},
    {"op": "remove", "path": 'members[value eq "stranger@example.com"]'},
    {"op": "remove", "path": 'members[display eq "bob"]'},
    {"op": "replace", "path": "displayName", "value": "renamed"},
    {"op": "replace", "path": "externalId", "value": "x"},
    {"op": "add", "path": 'members[value eq "x"]', "value": [{"value": "x"}]},
])
def test_patch_group_rejections_change_nothing(admin, sandbox_db, operation):
    team = gid(sandbox_db, "ml-infra")
    before = snapshot(sandbox_db)
    # A valid add first: the failing operation must roll it back too.
    body = ops({"op": "add", "path": "members", "value": [{"value": uid(sandbox_db, "carol")}]},
               operation)
    error(admin.patch(f"/Groups/{team}", json=body), 400)
    assert snapshot(sandbox_db) == before


def test_service_account_ids_are_not_members(admin, sandbox_db):
    before = snapshot(sandbox_db)
    error(admin.patch(f"/Groups/{gid(sandbox_db, 'ml-infra')}", json=ops(
        {"op": "add", "path": "members", "value": [{"value": uid(sandbox_db, "ci-bot")}]})), 400)
    assert snapshot(sandbox_db) == before


def test_patch_group_bad_envelope_and_unknown_group(admin, sandbox_db):
    team = gid(sandbox_db, "ml-infra")
    error(admin.patch(f"/Groups/{team}", content=b"{oops"), 400)
    error(admin.patch(f"/Groups/{team}", json={"Operations": []}), 400)
    error(admin.patch(f"/Groups/{ids.encode('Entity', 9999)}",
                      json=ops({"op": "remove", "path": "members"})), 404)
    error(admin.put(f"/Groups/{team}", json={"displayName": "other", "members": []}), 400)


def test_patch_group_forbidden_for_team_admin(bob, sandbox_db):
    before = snapshot(sandbox_db)
    error(bob.patch(f"/Groups/{gid(sandbox_db, 'data-science-nlp')}",
                    json=ops({"op": "remove", "path": "members"})), 403)
    assert snapshot(sandbox_db) == before


def test_teams_cannot_be_deleted_through_scim(scim, sandbox_db):
    before = snapshot(sandbox_db)
    response = scim.delete(f"/Groups/{gid(sandbox_db, 'ml-infra')}")
    assert "not supported" in error(response, 405)
    assert "DELETE" not in response.headers["allow"]
    assert snapshot(sandbox_db) == before
    error(scim.delete(f"/Groups/{ids.encode('Entity', 9999)}"), 404)


# ---- Roles ---------------------------------------------------------------------------------

def test_get_and_list_roles(scim, sandbox_db):
    response = scim.get(f"/Roles/{rid(sandbox_db, 'ml-ops-engineer')}")
    assert response.status_code == 200
    role = response.json()
    assert role["schemas"] == [""]
    assert role["name"] == "ml-ops-engineer" and role["inheritedFrom"] == "member"
    assert role["organizationID"] == ids.encode("Organization", 1)
    assert role["meta"]["resourceType"] == "Role"
    assert role["meta"]["location"] == f"Roles/{role['id']}"
    assert response.headers["etag"] == role["meta"]["version"]
    perms = {p["name"]: p["isInherited"] for p in role["permissions"]}
    assert perms["artifact:read"] is True and perms["project:update"] is False
    listed = scim.get("/Roles").json()
    assert listed["itemsPerPage"] == 9999
    assert [r["name"] for r in listed["Resources"]] == ["ml-ops-engineer", "auditor"]
    viewer_based = listed["Resources"][1]
    assert {"name": "launchagent:read", "isInherited": True} in viewer_based["permissions"]
    filtered = scim.get("/Roles", params={"filter": 'name eq "auditor"'}).json()
    assert [r["name"] for r in filtered["Resources"]] == ["auditor"]
    error(scim.get(f"/Roles/{ids.encode('Role', 99)}"), 404)
    error(scim.get(f"/Roles/{ids.encode('User', 1)}"), 404)


def test_create_role(scim, sandbox_db):
    body = {"schemas": [ROLE_URN], "name": "Sample custom role",
            "description": "A sample custom role", "inheritedFrom": "member",
            "permissions": [{"name": "project:update"}, {"name": "artifact:read"}]}
    response = scim.post("/Roles", json=body)
    assert response.status_code == 201, response.text
    role = response.json()
    assert role["schemas"] == [""] and role["name"] == "Sample custom role"
    custom = [p["name"] for p in role["permissions"] if not p["isInherited"]]
    assert custom == ["project:update"]  # artifact:read is inherited from member
    assert scim.get(f"/Roles/{role['id']}").json()["name"] == "Sample custom role"
    assert sandbox_db.scalar("SELECT inherited_from FROM custom_roles WHERE name = ?",
                             ("Sample custom role",)) == "member"


@pytest.mark.parametrize("body,status", [
    ({"name": "auditor", "inheritedFrom": "viewer"}, 409),
    ({"name": "Admin", "inheritedFrom": "member"}, 409),
    ({"inheritedFrom": "member"}, 400),
    ({"name": "r1", "inheritedFrom": "admin"}, 400),
    ({"name": "r1"}, 400),
    ({"name": "r1", "inheritedFrom": "member", "permissions": [{"name": "world:destroy"}]}, 400),
    ({"name": "r1", "inheritedFrom": "member", "permissions": ["run:stop"]}, 400),
])
def test_create_role_rejections(admin, sandbox_db, body, status):
    before = snapshot(sandbox_db)
    error(admin.post("/Roles", json={"schemas": [ROLE_URN], **body}), status)
    assert snapshot(sandbox_db) == before


def test_role_names_are_case_sensitive(admin):
    response = admin.post("/Roles", json={"schemas": [ROLE_URN], "name": "Auditor",
                                          "inheritedFrom": "viewer"})
    assert response.status_code == 201


def test_patch_role_permissions_and_fields(scim, sandbox_db):
    role = rid(sandbox_db, "auditor")
    tag = scim.get(f"/Roles/{role}").headers["etag"]
    added = scim.patch(f"/Roles/{role}", headers={"If-Match": tag}, json=ops(
        {"op": "add", "path": "permissions", "value": [{"name": "run:stop"},
                                                       {"name": "project:delete"}]}))
    assert added.status_code == 200, added.text
    custom = {p["name"] for p in added.json()["permissions"] if not p["isInherited"]}
    assert custom == {"audit_log:read", "run:read_metadata", "run:stop", "project:delete"}
    assert added.headers["etag"] != tag
    removed = scim.patch(f"/Roles/{role}", json=ops(
        {"op": "remove", "path": "permissions", "value": [{"name": "run:stop"}]},
        {"op": "remove", "path": 'permissions[name eq "project:delete"]'},
        {"op": "replace", "path": "description", "value": "Reads audit logs"},
        {"op": "replace", "value": {"name": "compliance-auditor"}}))
    body = removed.json()
    assert {p["name"] for p in body["permissions"] if not p["isInherited"]} == \
        {"audit_log:read", "run:read_metadata"}
    assert body["name"] == "compliance-auditor" and body["description"] == "Reads audit logs"
    # The holder's teamRoles follow the new name.
    holder = sandbox_db.scalar("SELECT user_id FROM team_members WHERE custom_role_id = ?",
                               (ids.decode(role, "Role"),))
    user = scim.get(f"/Users/{ids.encode('User', holder)}").json()
    assert {"teamName": "ai-governance", "roleName": "compliance-auditor"} in user["teamRoles"]


@pytest.mark.parametrize("operation,status", [
    ({"op": "remove", "path": "permissions", "value": [{"name": "project:read"}]}, 400),
    ({"op": "add", "path": "permissions", "value": [{"name": "nope:nope"}]}, 400),
    ({"op": "replace", "path": "name", "value": "ml-ops-engineer"}, 409),
    ({"op": "replace", "path": "name", "value": "viewer"}, 409),
    ({"op": "replace", "path": "inheritedFrom", "value": "admin"}, 400),
    ({"op": "replace", "path": "organizationID", "value": "x"}, 400),
    ({"op": "remove", "path": "name"}, 400),
])
def test_patch_role_rejections(admin, sandbox_db, operation, status):
    before = snapshot(sandbox_db)
    body = ops({"op": "add", "path": "permissions", "value": [{"name": "run:stop"}]}, operation)
    error(admin.patch(f"/Roles/{rid(sandbox_db, 'auditor')}", json=body), status)
    assert snapshot(sandbox_db) == before


def test_put_role_replaces_the_definition(scim, sandbox_db):
    role = rid(sandbox_db, "ml-ops-engineer")
    response = scim.put(f"/Roles/{role}", json={
        "schemas": [ROLE_URN], "name": "Updated custom role", "description": "Updated",
        "inheritedFrom": "viewer",
        "permissions": [{"name": "project:read"}, {"name": "run:stop"}]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["inheritedFrom"] == "viewer" and body["name"] == "Updated custom role"
    assert [p["name"] for p in body["permissions"] if not p["isInherited"]] == ["run:stop"]
    # Without permissions the custom ones are kept while the base changes.
    kept = scim.put(f"/Roles/{role}", json={"schemas": [ROLE_URN], "name": "Updated custom role",
                                            "inheritedFrom": "member"})
    assert kept.json()["inheritedFrom"] == "member"
    assert [p["name"] for p in kept.json()["permissions"] if not p["isInherited"]] == ["run:stop"]
    assert kept.json()["description"] == ""


def test_role_if_match_mismatch_is_412(admin, sandbox_db):
    role = rid(sandbox_db, "auditor")
    before = snapshot(sandbox_db)
    stale = {"If-Match": 'W/"0"'}
    error(admin.patch(f"/Roles/{role}", headers=stale, json=ops(
        {"op": "replace", "path": "description", "value": "x"})), 412)
    error(admin.put(f"/Roles/{role}", headers=stale,
                    json={"name": "auditor", "inheritedFrom": "viewer"}), 412)
    error(admin.delete(f"/Roles/{role}", headers=stale), 412)
    assert snapshot(sandbox_db) == before


def test_delete_role_falls_back_to_inherited_role(scim, sandbox_db):
    role = rid(sandbox_db, "ml-ops-engineer")
    pk = ids.decode(role, "Role")
    holders = sandbox_db.query("SELECT team_id, user_id FROM team_members "
                               "WHERE custom_role_id = ?", (pk,))
    assert holders
    response = scim.delete(f"/Roles/{role}")
    assert response.status_code == 204 and response.content == b""
    for team_id, user_id in holders:
        assert sandbox_db.one("SELECT role, custom_role_id FROM team_members WHERE team_id = ? "
                              "AND user_id = ?", (team_id, user_id))[:] == ("member", None)
    error(scim.get(f"/Roles/{role}"), 404)
    error(scim.delete(f"/Roles/{role}"), 404)
    elif_roles = scim.get(f"/Users/{uid(sandbox_db, 'elif.yilmaz')}").json()["teamRoles"]
    assert "ml-ops-engineer" not in {t["roleName"] for t in elif_roles}


def test_delete_viewer_based_role_gives_viewer(admin, sandbox_db):
    role = rid(sandbox_db, "auditor")
    holder = sandbox_db.scalar("SELECT user_id FROM team_members WHERE custom_role_id = ?",
                               (ids.decode(role, "Role"),))
    assert admin.delete(f"/Roles/{role}").status_code == 204
    assert sandbox_db.scalar("SELECT role FROM team_members WHERE user_id = ? AND team_id = ?",
                             (holder, ids.decode(gid(sandbox_db, "ai-governance"), "Entity"))) \
        == "viewer"


def test_roles_forbidden_for_member(bob, sandbox_db):
    before = snapshot(sandbox_db)
    error(bob.get("/Roles"), 403)
    error(bob.post("/Roles", json={"name": "r2", "inheritedFrom": "member"}), 403)
    error(bob.delete(f"/Roles/{rid(sandbox_db, 'auditor')}"), 403)
    assert snapshot(sandbox_db) == before


def test_org_service_account_manages_roles(sandbox, sandbox_db):
    with httpx.Client(base_url=sandbox.base_url + "/scim/v2",
                      headers={"Authorization": f"Bearer {key_of('org-provisioner')}"}) as sa:
        created = sa.post("/Roles", json={"schemas": [ROLE_URN], "name": "sa-made",
                                          "inheritedFrom": "viewer"})
        assert created.status_code == 201
        assert sa.delete(f"/Roles/{created.json()['id']}").status_code == 204
