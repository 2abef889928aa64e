"""SCIM /Users against the sandbox over real HTTP: W&B's shapes, quirks and status codes,
in both deployments (Dedicated is the demo default; Multi-tenant is switched on per test)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import key_of
from wbadmin.sandbox import ids
from wbadmin.sandbox.db import Database

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
TEAMS_URN = "urn:ietf:params:scim:schemas:extension:teams:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
TABLES = ("users", "entities", "team_members", "project_members", "custom_roles", "audit_log",
          "meta", "invites")


def auth(username: str) -> dict[str, str]:
    raw = f"{'' if username == 'org-provisioner' else username}:{key_of(username)}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


@pytest.fixture(params=["/scim", "/scim/v2"])
def scim(request, sandbox) -> Iterator[httpx.Client]:
    """alice (org admin) on both base paths W&B documents."""
    with httpx.Client(base_url=sandbox.base_url + request.param, headers=auth("alice")) as c:
        yield c


@pytest.fixture
def admin(sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url + "/scim", headers=auth("alice")) as c:
        yield c


def multi_tenant(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")


def snapshot(db: Database) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in db.query(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in TABLES}


def uid(db: Database, username: str) -> str:
    return ids.encode("User", db.scalar("SELECT id FROM users WHERE username = ?", (username,)))


def ops(*operations: dict) -> dict:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["schemas"] == [ERROR_URN] and body["status"] == str(status)
    return body["detail"]


def new_user(name: str, **extra) -> dict:
    return {"schemas": [USER_URN], "userName": name,
            "emails": [{"value": f"{name}@example.com", "primary": True}], **extra}


def audits(db: Database, action: str, of: str | None = None) -> list[dict]:
    """Audit entries with this action, oldest first; `of` keeps those about that user (the
    seed writes a history of its own, deactivations and role changes included)."""
    entries = [json.loads(r[0]) for r in db.query(
        "SELECT detail FROM audit_log WHERE action = ? ORDER BY id", (action,))]
    return [e for e in entries if of is None or e.get("user_asset") == uid(db, of)]


# ---- get / list ----------------------------------------------------------------------------

def test_get_user_has_wandb_shape(scim, sandbox_db):
    response = scim.get(f"/Users/{uid(sandbox_db, 'bob')}")
    assert response.status_code == 200
    user = response.json()
    assert user["userName"] == "bob" and user["displayName"] == "Bob Okafor"
    assert user["emails"] == {"Value": "bob@inference-systems.ai", "Display": "", "Type": "",
                              "Primary": True}
    assert user["schemas"] == [USER_URN] and user["active"] is True
    assert user["organizationRole"] == "member"
    assert {"teamName": "data-science-nlp", "roleName": "admin"} in user["teamRoles"]
    assert user["registryRoles"] == [{"registryName": "model", "roleName": "member"}]
    team = ids.encode("Entity", sandbox_db.scalar(
        "SELECT id FROM entities WHERE name = 'data-science-nlp'"))
    assert {"value": team} in user["groups"]
    assert user["modelsSeat"] == "full" and user["weaveRole"] == "full"
    meta = user["meta"]
    assert meta["resourceType"] == "User" and meta["location"] == f"Users/{user['id']}"
    assert meta["created"].endswith("Z") and meta["lastModified"].endswith("Z")
    assert response.headers["etag"] == meta["version"] == 'W/"1"'
    assert "daysActive" in user and "lastActiveAt" in user


def test_get_unknown_malformed_or_service_account_id_is_404(scim, sandbox_db):
    error(scim.get(f"/Users/{ids.encode('User', 99999)}"), 404)
    error(scim.get("/Users/not-an-id"), 404)
    error(scim.get(f"/Users/{ids.encode('Entity', 1)}"), 404)
    for sa in ("ci-bot", "org-provisioner"):
        error(scim.get(f"/Users/{uid(sandbox_db, sa)}"), 404)


def test_list_users_returns_every_human_and_no_service_account(scim, sandbox_db):
    body = scim.get("/Users").json()
    humans = sandbox_db.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER'")
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == len(body["Resources"]) == humans
    assert body["itemsPerPage"] == 9999 and body["startIndex"] == 1
    names = {u["userName"] for u in body["Resources"]}
    assert not names & {"ci-bot", "eval-runner", "deploy-bot", "org-provisioner"}
    # Deactivated Dedicated users are still listed, as inactive.
    assert any(u["userName"] == "ivan.petrov" and u["active"] is False for u in body["Resources"])


@pytest.mark.parametrize("flt,expected", [
    ('userName eq "carol"', ["carol"]),
    ('username EQ "CAROL"', ["carol"]),
    ('emails.value eq "grace@inference-systems.ai"', ["grace"]),
    ('userName eq "nobody"', []),
    ('userName eq "ci-bot"', []),
])
def test_list_filters(scim, flt, expected):
    body = scim.get("/Users", params={"filter": flt}).json()
    assert [u["userName"] for u in body["Resources"]] == expected
    assert body["totalResults"] == len(expected)


@pytest.mark.parametrize("flt", ['userName co "car"', 'displayName eq "Carol Diaz"',
                                 'userName eq "a" and active eq true', "userName",
                                 "userName eq bob"])
def test_unsupported_filters_are_400(scim, flt):
    assert "unsupported filter" in error(scim.get("/Users", params={"filter": flt}), 400)


def test_paging_with_start_index_and_count(scim):
    everyone = [u["id"] for u in scim.get("/Users").json()["Resources"]]
    page = scim.get("/Users", params={"startIndex": 3, "count": 5}).json()
    assert [u["id"] for u in page["Resources"]] == everyone[2:7]
    assert page["startIndex"] == 3 and page["itemsPerPage"] == 5
    assert page["totalResults"] == len(everyone)
    assert scim.get("/Users", params={"count": 0}).json()["Resources"] == []
    beyond = scim.get("/Users", params={"startIndex": len(everyone) + 1}).json()
    assert beyond["Resources"] == [] and beyond["totalResults"] == len(everyone)
    error(scim.get("/Users", params={"count": "many"}), 400)


# ---- create --------------------------------------------------------------------------------

def test_create_user_dedicated(scim, sandbox_db):
    body = new_user("dev-user2", displayName="Dev User 2", modelsSeat="viewer", weaveRole="none")
    response = scim.post("/Users", json=body)
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["userName"] == "dev-user2" and user["displayName"] == "Dev User 2"
    assert user["emails"]["Value"] == "dev-user2@example.com"
    assert user["modelsSeat"] == "viewer" and user["weaveRole"] == "none"
    assert user["organizationRole"] == "member" and user["active"] is True
    assert user["teamRoles"] == [] and user["groups"] == [] and user["registryRoles"] == []
    assert "lastModified" not in user["meta"]  # W&B omits it on create
    assert response.headers["location"] == f"Users/{user['id']}"
    again = scim.get(f"/Users/{user['id']}")
    assert again.status_code == 200 and again.json()["userName"] == "dev-user2"
    row = sandbox_db.one("SELECT * FROM users WHERE username = 'dev-user2'")
    assert row["org_role"] == "member" and row["models_seat"] == "viewer"
    assert audits(sandbox_db, "user:create")[-1]["user_email"] == "dev-user2@example.com"


def test_create_user_multi_tenant_with_teams_extension(admin, sandbox_db):
    multi_tenant(sandbox_db)
    body = new_user("dev-user3", modelsSeat="none")
    body["schemas"].append(TEAMS_URN)
    body[TEAMS_URN] = {"teams": ["ml-infra"]}
    response = admin.post("/Users", json=body)
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["schemas"] == [USER_URN, TEAMS_URN]
    assert user["organizationRole"] == "member"
    assert user["teamRoles"] == [{"teamName": "ml-infra", "roleName": "member"}]
    team = sandbox_db.scalar("SELECT id FROM entities WHERE name = 'ml-infra'")
    assert user["groups"] == [{"value": ids.encode("Entity", team)}]
    assert "modelsSeat" not in user and "weaveRole" not in user  # Dedicated-only fields
    # The seat fields of a Dedicated body are ignored on Multi-tenant.
    assert sandbox_db.scalar("SELECT models_seat FROM users WHERE username = 'dev-user3'") == "full"


def test_create_user_multi_tenant_unknown_team_is_400(admin, sandbox_db):
    multi_tenant(sandbox_db)
    before = snapshot(sandbox_db)
    body = new_user("dev-user4")
    body[TEAMS_URN] = {"teams": ["ml-infra", "no-such-team"]}
    error(admin.post("/Users", json=body), 400)
    assert snapshot(sandbox_db) == before


@pytest.mark.parametrize("body,status", [
    (new_user("bob"), 409),
    (new_user("BOB"), 409),
    (new_user("ci-bot"), 409),
    ({**new_user("fresh"), "emails": [{"value": "Carol@Inference-Systems.ai", "primary": True}]},
     409),
    (new_user("data-science-nlp"), 409),  # a team already holds the name
    ({"schemas": [USER_URN], "emails": [{"value": "a@b.c", "primary": True}]}, 400),
    ({"schemas": [USER_URN], "userName": "noemail"}, 400),
    ({**new_user("bademail"), "emails": [{"value": "not-an-email"}]}, 400),
    ({**new_user("badseat"), "modelsSeat": "gold"}, 400),
    ({**new_user("badweave"), "weaveRole": 3}, 400),
])
def test_create_user_conflicts_and_bad_bodies(admin, sandbox_db, body, status):
    before = snapshot(sandbox_db)
    error(admin.post("/Users", json=body), status)
    assert snapshot(sandbox_db) == before


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_create_user_malformed_json_is_400(admin, sandbox_db, raw):
    before = snapshot(sandbox_db)
    error(admin.post("/Users", content=raw, headers={"Content-Type": "application/scim+json"}),
          400)
    assert snapshot(sandbox_db) == before


def test_create_user_when_seats_are_full(admin, sandbox_db):
    used = sandbox_db.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER' "
                             "AND active = 1 AND models_seat != 'none'")
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET seats = ?", (used,))
    before = snapshot(sandbox_db)
    assert error(admin.post("/Users", json=new_user("late")), 400) == "Seat limit reached"
    assert snapshot(sandbox_db) == before
    # Without a Models seat the user fits.
    assert admin.post("/Users", json=new_user("late", modelsSeat="none")).status_code == 201


def test_create_user_multi_tenant_seat_limit(admin, sandbox_db):
    multi_tenant(sandbox_db)
    used = sandbox_db.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER' "
                             "AND active = 1 AND models_seat != 'none'")
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET seats = ?", (used,))
    assert error(admin.post("/Users", json=new_user("late")), 400) == "Seat limit reached"


def test_org_service_account_can_create_and_a_member_cannot(sandbox, sandbox_db):
    url = sandbox.base_url + "/scim/Users"
    error(httpx.post(url, json=new_user("by-bob"), headers=auth("bob")), 403)
    assert sandbox_db.scalar("SELECT COUNT(*) FROM users WHERE username = 'by-bob'") == 0
    ok = httpx.post(url, json=new_user("by-sa"), headers=auth("org-provisioner"))
    assert ok.status_code == 201


# ---- delete --------------------------------------------------------------------------------

def test_delete_user(scim, sandbox_db, sandbox):
    target = uid(sandbox_db, "carol")
    response = scim.delete(f"/Users/{target}")
    assert response.status_code == 204 and response.content == b""
    error(scim.get(f"/Users/{target}"), 404)
    assert "carol" not in {u["userName"] for u in scim.get("/Users").json()["Resources"]}
    pk = ids.decode(target, "User")
    assert sandbox_db.scalar("SELECT COUNT(*) FROM team_members WHERE user_id = ?", (pk,)) == 0
    assert sandbox_db.scalar("SELECT COUNT(*) FROM project_members WHERE user_id = ?", (pk,)) == 0
    assert audits(sandbox_db, "user:permanently_delete")[-1]["user_email"] == \
        "carol@inference-systems.ai"
    # Her key no longer opens anything.
    gql = httpx.post(sandbox.base_url + "/graphql", json={"query": "{ viewer { id } }"},
                     headers={"Authorization": "Basic " + base64.b64encode(
                         f"api:{key_of('carol')}".encode()).decode()})
    assert gql.status_code == 401
    error(scim.delete(f"/Users/{target}"), 404)


def test_delete_service_account_or_unknown_is_404(admin, sandbox_db):
    before = snapshot(sandbox_db)
    error(admin.delete(f"/Users/{uid(sandbox_db, 'org-provisioner')}"), 404)
    error(admin.delete(f"/Users/{ids.encode('User', 424242)}"), 404)
    assert snapshot(sandbox_db) == before


def test_deleted_user_can_be_created_again(admin, sandbox_db):
    target = uid(sandbox_db, "carol")
    assert admin.delete(f"/Users/{target}").status_code == 204
    again = admin.post("/Users", json={**new_user("carol"),
                                       "emails": [{"value": "carol@inference-systems.ai"}]})
    assert again.status_code == 201 and again.json()["id"] == target
    assert again.json()["teamRoles"] == []


def test_delete_forbidden_for_member(sandbox, sandbox_db):
    before = snapshot(sandbox_db)
    url = f"{sandbox.base_url}/scim/Users/{uid(sandbox_db, 'carol')}"
    error(httpx.delete(url, headers=auth("bob")), 403)
    assert snapshot(sandbox_db) == before


# ---- ETags ---------------------------------------------------------------------------------

def test_if_match_guards_patch_and_delete(scim, sandbox_db):
    target = uid(sandbox_db, "carol")
    tag = scim.get(f"/Users/{target}").headers["etag"]
    change = ops({"op": "replace", "path": "displayName", "value": "Carol D."})
    ok = scim.patch(f"/Users/{target}", json=change, headers={"If-Match": tag})
    assert ok.status_code == 200
    new_tag = ok.headers["etag"]
    assert new_tag != tag and ok.json()["meta"]["version"] == new_tag == 'W/"2"'
    before = snapshot(sandbox_db)
    stale = ops({"op": "replace", "path": "displayName", "value": "Stale"})
    error(scim.patch(f"/Users/{target}", json=stale, headers={"If-Match": tag}), 412)
    error(scim.delete(f"/Users/{target}", headers={"If-Match": tag}), 412)
    assert snapshot(sandbox_db) == before
    assert scim.patch(f"/Users/{target}", json=stale, headers={"If-Match": "*"}).status_code == 200
    assert scim.get(f"/Users/{target}").json()["displayName"] == "Stale"


# ---- PATCH: envelope -----------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]},
    {"schemas": [PATCH_URN], "Operations": []},
    {"schemas": [PATCH_URN]},
    ops({"op": "merge", "path": "displayName", "value": "x"}),
    ops({"op": "replace", "path": "userName", "value": "x"}),
    ops({"op": "replace", "path": "nickName", "value": "x"}),
    ops({"op": "replace", "path": "displayName[", "value": "x"}),
    ops({"op": "replace", "value": "not an object"}),
    ops({"op": "add", "path": "registryRoles"}),
    ops({"op": "remove"}),
    ops({"op": "replace", "value": {"active": "maybe"}}),
])
def test_bad_patch_is_400_and_changes_nothing(admin, sandbox_db, body):
    before = snapshot(sandbox_db)
    error(admin.patch(f"/Users/{uid(sandbox_db, 'carol')}", json=body), 400)
    assert snapshot(sandbox_db) == before


def test_patch_is_all_or_nothing(admin, sandbox_db):
    before = snapshot(sandbox_db)
    body = ops({"op": "replace", "path": "displayName", "value": "Carol New"},
               {"op": "replace", "path": "organizationRole", "value": "owner"})
    error(admin.patch(f"/Users/{uid(sandbox_db, 'carol')}", json=body), 400)
    assert snapshot(sandbox_db) == before


def test_patch_unknown_user_is_404(admin):
    error(admin.patch(f"/Users/{ids.encode('User', 9999)}",
                      json=ops({"op": "replace", "path": "displayName", "value": "x"})), 404)


def test_patch_forbidden_for_member(sandbox, sandbox_db):
    before = snapshot(sandbox_db)
    url = f"{sandbox.base_url}/scim/Users/{uid(sandbox_db, 'carol')}"
    body = ops({"op": "replace", "path": "organizationRole", "value": "admin"})
    error(httpx.patch(url, json=body, headers=auth("bob")), 403)
    error(httpx.patch(url, json=body, headers={"Authorization": "Basic " + base64.b64encode(
        f":{key_of('ci-bot')}".encode()).decode()}), 403)
    assert snapshot(sandbox_db) == before


# ---- PATCH: active -------------------------------------------------------------------------

def test_deactivate_and_reactivate_dedicated(scim, sandbox_db):
    target = uid(sandbox_db, "carol")
    off = scim.patch(f"/Users/{target}", json=ops({"op": "replace", "value": {"active": False}}))
    assert off.status_code == 200 and off.json()["active"] is False
    # Dedicated keeps the user (and their teams); the list shows them inactive.
    listed = scim.get("/Users", params={"filter": 'userName eq "carol"'}).json()["Resources"]
    assert listed[0]["active"] is False and listed[0]["teamRoles"]
    assert audits(sandbox_db, "user:deactivate")[-1]["user_email"] == \
        "carol@inference-systems.ai"
    on = scim.patch(f"/Users/{target}", json=ops({"op": "Replace", "value": {"active": "True"}}))
    assert on.status_code == 200 and on.json()["active"] is True
    assert len(audits(sandbox_db, "user:reactivate")) == 1
    assert on.json()["meta"]["version"] == 'W/"3"'


def test_reactivation_needs_a_free_seat(admin, sandbox_db):
    used = sandbox_db.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER' "
                             "AND active = 1 AND models_seat != 'none'")
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET seats = ?", (used,))
    before = snapshot(sandbox_db)
    body = ops({"op": "replace", "value": {"active": True}})
    assert error(admin.patch(f"/Users/{uid(sandbox_db, 'ivan.petrov')}", json=body), 400) == \
        "Seat limit reached"
    assert snapshot(sandbox_db) == before


def test_deactivate_multi_tenant_removes_user_from_org(admin, sandbox_db):
    multi_tenant(sandbox_db)
    target = uid(sandbox_db, "carol")
    response = admin.patch(f"/Users/{target}", json=ops({"op": "replace",
                                                         "value": {"active": False}}))
    assert response.status_code == 200
    assert response.json()["active"] is False and response.json()["teamRoles"] == []
    error(admin.get(f"/Users/{target}"), 404)
    pk = ids.decode(target, "User")
    assert sandbox_db.scalar("SELECT org_id FROM users WHERE id = ?", (pk,)) is None
    assert sandbox_db.scalar("SELECT COUNT(*) FROM team_members WHERE user_id = ?", (pk,)) == 0
    assert len(audits(sandbox_db, "user:deactivate", of="carol")) == 1
    # Restoring access means re-adding the user (same account).
    again = admin.post("/Users", json={**new_user("carol"),
                                       "emails": [{"value": "carol@inference-systems.ai",
                                                   "primary": True}]})
    assert again.status_code == 201 and again.json()["id"] == target


def test_reactivate_multi_tenant_is_400(admin, sandbox_db):
    multi_tenant(sandbox_db)
    before = snapshot(sandbox_db)
    for username in ("ivan.petrov", "carol"):
        response = admin.patch(f"/Users/{uid(sandbox_db, username)}",
                               json=ops({"op": "replace", "value": {"active": True}}))
        assert response.json() == {
            "schemas": [ERROR_URN],
            "detail": "User reactivation operations are not supported in SaaS Cloud",
            "status": "400"}
    assert snapshot(sandbox_db) == before


# ---- PATCH: organizationRole ---------------------------------------------------------------

def test_organization_role_admin_and_member(scim, sandbox_db):
    target = uid(sandbox_db, "carol")
    up = scim.patch(f"/Users/{target}",
                    json=ops({"op": "replace", "path": "organizationRole", "value": "Admin"}))
    assert up.status_code == 200 and up.json()["organizationRole"] == "admin"
    assert up.json()["modelsSeat"] == "full"  # member/admin leave seats alone
    # carol can now use SCIM herself.
    with httpx.Client(base_url=str(scim.base_url), headers=auth("carol")) as carol:
        assert carol.get("/Users").status_code == 200
    down = scim.patch(f"/Users/{target}",
                      json=ops({"op": "replace", "path": "organizationRole", "value": "member"}))
    assert down.json()["organizationRole"] == "member"
    # W&B's entry names the member, not the role (`wandb-api.md` §7.4 lists no role field).
    assert audits(sandbox_db, "organization:update_member", of="carol") == [
        {"user_asset": target, "user_email": "carol@inference-systems.ai"}] * 2


def test_organization_role_viewer_side_effects(admin, sandbox_db):
    carol = ids.decode(uid(sandbox_db, "carol"), "User")
    project = sandbox_db.scalar("SELECT p.id FROM projects p JOIN entities e ON e.id = p.entity_id"
                                " WHERE e.name = 'data-science-nlp' AND p.is_registry = 0 "
                                "ORDER BY p.id LIMIT 1")
    with sandbox_db.transaction() as conn:
        conn.execute("INSERT INTO project_members VALUES (?, ?, 'admin')", (project, carol))
    response = admin.patch(f"/Users/{uid(sandbox_db, 'carol')}",
                           json=ops({"op": "replace", "path": "organizationRole",
                                     "value": "viewer"}))
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["organizationRole"] == "member"
    assert user["modelsSeat"] == "viewer" and user["weaveRole"] == "viewer"
    assert user["teamRoles"] and all(t["roleName"] == "viewer" for t in user["teamRoles"])
    # Registry viewer in the org-visible registry only; the restricted one is untouched.
    assert user["registryRoles"] == [{"registryName": "model", "roleName": "viewer"}]
    assert sandbox_db.scalar("SELECT role FROM project_members WHERE project_id = ? AND "
                             "user_id = ?", (project, carol)) == "viewer"


def test_organization_role_viewer_on_custom_role_holder(admin, sandbox_db):
    response = admin.patch(f"/Users/{uid(sandbox_db, 'elif.yilmaz')}",
                           json=ops({"op": "replace", "path": "organizationRole",
                                     "value": "viewer"}))
    assert all(t["roleName"] == "viewer" for t in response.json()["teamRoles"])
    assert sandbox_db.scalar("SELECT COUNT(*) FROM team_members m JOIN users u ON u.id = "
                             "m.user_id WHERE u.username = 'elif.yilmaz' AND "
                             "m.custom_role_id IS NOT NULL") == 0


def test_organization_role_viewer_needs_a_seat(admin, sandbox_db):
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE users SET models_seat = 'none' WHERE username = 'carol'")
        used = conn.execute("SELECT COUNT(*) FROM users WHERE account_type = 'USER' AND "
                            "active = 1 AND models_seat != 'none'").fetchone()[0]
        conn.execute("UPDATE orgs SET seats = ?", (used,))
    before = snapshot(sandbox_db)
    body = ops({"op": "replace", "path": "organizationRole", "value": "viewer"})
    assert error(admin.patch(f"/Users/{uid(sandbox_db, 'carol')}", json=body), 400) == \
        "Seat limit reached"
    assert snapshot(sandbox_db) == before


@pytest.mark.parametrize("value", ["owner", "", 3])
def test_organization_role_invalid_is_400(admin, sandbox_db, value):
    before = snapshot(sandbox_db)
    error(admin.patch(f"/Users/{uid(sandbox_db, 'carol')}",
                      json=ops({"op": "replace", "path": "organizationRole", "value": value})), 400)
    assert snapshot(sandbox_db) == before


def test_organization_role_multi_tenant(admin, sandbox_db):
    multi_tenant(sandbox_db)
    response = admin.patch(f"/Users/{uid(sandbox_db, 'carol')}",
                           json=ops({"op": "replace", "path": "organizationRole",
                                     "value": "admin"}))
    assert response.status_code == 200 and response.json()["organizationRole"] == "admin"


# ---- PATCH: teamRoles ----------------------------------------------------------------------

def team_role(db: Database, username: str, team: str) -> tuple:
    row = db.one("SELECT m.role, r.name FROM team_members m JOIN users u ON u.id = m.user_id "
                 "JOIN entities e ON e.id = m.team_id LEFT JOIN custom_roles r ON "
                 "r.id = m.custom_role_id WHERE u.username = ? AND e.name = ?", (username, team))
    return tuple(row) if row else ()


def test_team_roles_predefined_names_are_case_insensitive(scim, sandbox_db):
    response = scim.patch(f"/Users/{uid(sandbox_db, 'carol')}", json=ops(
        {"op": "replace", "path": "teamRoles",
         "value": [{"teamName": "data-science-nlp", "roleName": "ADMIN"}]}))
    assert response.status_code == 200
    assert {"teamName": "data-science-nlp", "roleName": "admin"} in response.json()["teamRoles"]
    assert team_role(sandbox_db, "carol", "data-science-nlp") == ("admin", None)


def test_team_roles_custom_role_is_case_sensitive(admin, sandbox_db):
    target = uid(sandbox_db, "carol")
    ok = admin.patch(f"/Users/{target}", json=ops(
        {"op": "replace", "path": "teamRoles",
         "value": [{"teamName": "product-ai-agents", "roleName": "ml-ops-engineer"}]}))
    assert ok.status_code == 200
    assert {"teamName": "product-ai-agents", "roleName": "ml-ops-engineer"} in \
        ok.json()["teamRoles"]
    assert team_role(sandbox_db, "carol", "product-ai-agents") == ("custom", "ml-ops-engineer")
    before = snapshot(sandbox_db)
    error(admin.patch(f"/Users/{target}", json=ops(
        {"op": "replace", "path": "teamRoles",
         "value": [{"teamName": "data-science-nlp", "roleName": "ML-Ops-Engineer"}]})), 400)
    assert snapshot(sandbox_db) == before


@pytest.mark.parametrize("username,team,role,detail", [
    ("alice", "ml-infra", "ml-ops-engineer", "organization role is member"),  # org admin
    ("carol", "ml-infra", "member", "not a member"),
    ("carol", "no-such-team", "member", "not found"),
    ("carol", "data-science-nlp", "superuser", "not found"),
])
def test_team_roles_rejections(admin, sandbox_db, username, team, role, detail):
    before = snapshot(sandbox_db)
    response = admin.patch(f"/Users/{uid(sandbox_db, username)}", json=ops(
        {"op": "replace", "path": "teamRoles", "value": [{"teamName": team, "roleName": role}]}))
    assert detail in error(response, 400)
    assert snapshot(sandbox_db) == before


# ---- PATCH: registryRoles ------------------------------------------------------------------

def test_registry_roles_add_replace_and_remove(scim, sandbox_db):
    target = uid(sandbox_db, "carol")
    added = scim.patch(f"/Users/{target}", json=ops(
        {"op": "add", "path": "registryRoles",
         "value": [{"registryName": "dataset", "roleName": "restricted_viewer"}]}))
    assert added.status_code == 200
    assert {"registryName": "dataset", "roleName": "restricted_viewer"} in \
        added.json()["registryRoles"]
    # The docs' examples add with "replace"; the full project name is accepted too.
    replaced = scim.patch(f"/Users/{target}", json=ops(
        {"op": "replace", "path": "registryRoles",
         "value": [{"registryName": "wandb-registry-model", "roleName": "Admin"}]}))
    assert sorted((r["registryName"], r["roleName"]) for r in replaced.json()["registryRoles"]) \
        == [("dataset", "restricted_viewer"), ("model", "admin")]
    one = scim.patch(f"/Users/{target}", json=ops(
        {"op": "remove", "path": 'registryRoles[registryName eq "dataset"]'}))
    assert one.json()["registryRoles"] == [{"registryName": "model", "roleName": "admin"}]
    everything = scim.patch(f"/Users/{target}", json=ops(
        {"op": "remove", "path": "registryRoles"}))
    assert everything.json()["registryRoles"] == []
    assert sandbox_db.scalar("SELECT COUNT(*) FROM project_members WHERE user_id = ?",
                             (ids.decode(target, "User"),)) == 0


def test_registry_roles_replace_without_value_removes(admin, sandbox_db):
    target = uid(sandbox_db, "bob")
    response = admin.patch(f"/Users/{target}", json=ops(
        {"op": "replace", "path": 'registryRoles[registryName eq "model"]'}))
    assert response.json()["registryRoles"] == []
    admin.patch(f"/Users/{target}", json=ops(
        {"op": "add", "path": "registryRoles",
         "value": [{"registryName": "model", "roleName": "viewer"}]}))
    cleared = admin.patch(f"/Users/{target}", json=ops({"op": "replace", "path": "registryRoles"}))
    assert cleared.json()["registryRoles"] == []


@pytest.mark.parametrize("operation", [
    {"op": "add", "path": "registryRoles",
     "value": [{"registryName": "nope", "roleName": "member"}]},
    {"op": "add", "path": "registryRoles",
     "value": [{"registryName": "model", "roleName": "owner"}]},
    {"op": "remove", "path": 'registryRoles[registryName eq "nope"]'},
    {"op": "remove", "path": 'registryRoles[roleName eq "member"]'},
    {"op": "add", "path": "registryRoles", "value": ["model"]},
])
def test_registry_roles_rejections(admin, sandbox_db, operation):
    before = snapshot(sandbox_db)
    error(admin.patch(f"/Users/{uid(sandbox_db, 'bob')}", json=ops(operation)), 400)
    assert snapshot(sandbox_db) == before


# ---- PATCH: Dedicated-only attributes ------------------------------------------------------

def test_dedicated_attribute_updates(scim, sandbox_db):
    target = uid(sandbox_db, "carol")
    response = scim.patch(f"/Users/{target}", json=ops(
        {"op": "replace", "path": "emails", "value": [{"value": "c.diaz@example.com",
                                                       "primary": True}]},
        {"op": "replace", "path": "displayName", "value": "Carol Diaz-Ruiz"},
        {"op": "replace", "path": "modelsSeat", "value": "viewer"},
        {"op": "replace", "path": "weaveRole", "value": "none"}))
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["emails"]["Value"] == "c.diaz@example.com"
    assert user["displayName"] == "Carol Diaz-Ruiz"
    assert user["modelsSeat"] == "viewer" and user["weaveRole"] == "none"
    assert user["meta"]["version"] == 'W/"2"'  # one request, one version
    row = sandbox_db.one("SELECT * FROM users WHERE username = 'carol'")
    assert (row["email"], row["name"], row["models_seat"], row["weave_role"]) == \
        ("c.diaz@example.com", "Carol Diaz-Ruiz", "viewer", "none")
    seat_changes = audits(sandbox_db, "organization:update_member", of="carol")
    assert len(seat_changes) == 2 and all("modelsSeat" not in a and "weaveRole" not in a
                                          for a in seat_changes)


def test_email_update_conflict_is_409(admin, sandbox_db):
    before = snapshot(sandbox_db)
    error(admin.patch(f"/Users/{uid(sandbox_db, 'carol')}", json=ops(
        {"op": "replace", "path": "emails",
         "value": [{"value": "BOB@inference-systems.ai", "primary": True}]})), 409)
    assert snapshot(sandbox_db) == before


def test_models_seat_upgrade_needs_a_free_seat(admin, sandbox_db):
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE users SET models_seat = 'none' WHERE username = 'carol'")
        used = conn.execute("SELECT COUNT(*) FROM users WHERE account_type = 'USER' AND "
                            "active = 1 AND models_seat != 'none'").fetchone()[0]
        conn.execute("UPDATE orgs SET seats = ?", (used,))
    target = uid(sandbox_db, "carol")
    error(admin.patch(f"/Users/{target}", json=ops(
        {"op": "replace", "path": "modelsSeat", "value": "full"})), 400)
    # Changing the seat kind of someone already holding one needs no free seat.
    ok = admin.patch(f"/Users/{uid(sandbox_db, 'bob')}", json=ops(
        {"op": "replace", "path": "modelsSeat", "value": "viewer"}))
    assert ok.status_code == 200


@pytest.mark.parametrize("operation", [
    {"op": "replace", "path": "emails", "value": [{"value": "x@example.com", "primary": True}]},
    {"op": "replace", "path": "displayName", "value": "New Name"},
    {"op": "replace", "path": "modelsSeat", "value": "viewer"},
    {"op": "replace", "path": "weaveRole", "value": "viewer"},
])
def test_dedicated_only_attributes_are_400_on_multi_tenant(admin, sandbox_db, operation):
    multi_tenant(sandbox_db)
    before = snapshot(sandbox_db)
    detail = error(admin.patch(f"/Users/{uid(sandbox_db, 'carol')}", json=ops(operation)), 400)
    assert "not supported in SaaS Cloud" in detail
    assert snapshot(sandbox_db) == before


def test_multi_tenant_users_have_no_seat_fields(admin, sandbox_db):
    multi_tenant(sandbox_db)
    user = admin.get(f"/Users/{uid(sandbox_db, 'carol')}").json()
    assert "modelsSeat" not in user and "weaveRole" not in user
    assert user["organizationRole"] == "member"
