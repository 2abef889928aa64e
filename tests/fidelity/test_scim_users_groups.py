"""SCIM users and groups (= teams) and custom roles: what real W&B does (wandb-api.md §2.1,
§2.2, §3, §10). Also recorded elsewhere, per operation: tests/sandbox/test_scim_users.py,
test_scim_groups_roles.py, test_scim_auth.py, test_scim_paging.py."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import key_of
from tests.fidelity.conftest import GROUP_URN, LIST_URN, PATCH_URN, USER_URN, scim_error


def first_id(scim, path: str, flt: str) -> str:
    return scim("GET", path, params={"filter": flt}).json()["Resources"][0]["id"]


@pytest.mark.parametrize("path", ["Users", "Groups", "Roles"])
def test_list_response_envelope(scim, path: str) -> None:
    # wandb-api.md §3.1, §3.3, §3.5: itemsPerPage 9999, startIndex 1, the ListResponse URN;
    # §2: SCIM speaks application/scim+json.
    r = scim("GET", path)
    assert r.headers["content-type"].startswith("application/scim+json")
    body = r.json()
    assert set(body) == {"Resources", "itemsPerPage", "schemas", "startIndex", "totalResults"}
    assert body["schemas"] == [LIST_URN]
    assert body["itemsPerPage"] == 9999 and body["startIndex"] == 1
    assert body["totalResults"] == len(body["Resources"])


def test_start_index_and_count_page_the_list(scim) -> None:
    # wandb-api.md §3.1 [UNCERTAIN]: W&B does not document startIndex/count; the sandbox's
    # documented choice is RFC 7644's (1-based, count defaulting to 9999).
    everyone = [u["id"] for u in scim("GET", "Users").json()["Resources"]]
    page = scim("GET", "Users", params={"startIndex": "3", "count": "2"}).json()
    assert [u["id"] for u in page["Resources"]] == everyone[2:4]
    assert page["startIndex"] == 3 and page["totalResults"] == len(everyone)


@pytest.mark.parametrize("prefix", ["/scim", "/scim/v2"])
def test_both_base_paths_are_served(scim, prefix: str) -> None:
    # wandb-api.md §2.2 [UNCERTAIN]: which prefix each deployment takes; "Emulator: serve both".
    r = scim("GET", "Users", prefix=prefix, params={"filter": 'userName eq "bob"'})
    assert r.status_code == 200 and r.json()["Resources"][0]["userName"] == "bob"


def test_user_resource_quirks(scim) -> None:
    # wandb-api.md §3.2: `emails` is one object with capitalised keys; meta carries
    # resourceType, location "Users/<id>" and version; §3.3: GET returns a weak ETag equal
    # to meta.version.
    uid = first_id(scim, "Users", 'userName eq "carol"')
    r = scim("GET", f"Users/{uid}")
    user = r.json()
    assert user["schemas"] == [USER_URN]
    assert isinstance(user["emails"], dict)
    assert set(user["emails"]) == {"Value", "Display", "Type", "Primary"}
    assert user["meta"]["resourceType"] == "User" and user["meta"]["location"] == f"Users/{uid}"
    assert r.headers["etag"].startswith('W/"') and r.headers["etag"] == user["meta"]["version"]
    # Dedicated/SM only (the demo org's mode): seats.
    assert user["modelsSeat"] in ("full", "viewer", "none")


def test_create_is_201_and_delete_204(scim) -> None:
    # wandb-api.md §3.3: POST → 201 with the User; DELETE → 204.
    r = scim("POST", "Users", json={"schemas": [USER_URN], "userName": "fidelity.check",
                                    "emails": [{"value": "fidelity@example.com",
                                                "primary": True}]})
    assert r.status_code == 201 and r.json()["userName"] == "fidelity.check"
    deleted = scim("DELETE", f"Users/{r.json()['id']}")
    assert deleted.status_code == 204 and not deleted.content


def test_if_match_mismatch_is_412(scim) -> None:
    # wandb-api.md §3.3 ETags: PATCH may send If-Match; a mismatch returns 412.
    uid = first_id(scim, "Users", 'userName eq "carol"')
    r = scim("PATCH", f"Users/{uid}", headers={"If-Match": 'W/"stale"'},
             json={"schemas": [PATCH_URN], "Operations": [
                 {"op": "replace", "path": "displayName", "value": "C. Diaz"}]})
    scim_error(r, 412)


@pytest.mark.parametrize("status, call", [
    (400, lambda scim: scim("GET", "Users", params={"filter": 'title eq "x"'})),
    (401, lambda scim: scim("GET", "Users", headers={"Authorization": "Bearer " + "x" * 40})),
    (403, lambda scim: scim("GET", "Users", who="carol")),
    (404, lambda scim: scim("GET", "Users/VXNlcjo5OTk5OTk=")),
    (409, lambda scim: scim("POST", "Users", json={
        "schemas": [USER_URN], "userName": "carol",
        "emails": [{"value": "someone.else@example.com", "primary": True}]})),
])
def test_error_bodies(scim, status: int, call) -> None:
    # wandb-api.md §3.6, §10: {"schemas": [Error URN], "detail": "…", "status": "<code>"}
    # with `status` a string, for every documented code.
    scim_error(call(scim), status)


def test_reactivation_on_multi_tenant_is_the_documented_400(scim, sandbox_db) -> None:
    # wandb-api.md §3.3: the exact body, `status` a string.
    uid = first_id(scim, "Users", 'userName eq "carol"')
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")
    r = scim("PATCH", f"Users/{uid}", json={"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "value": {"active": True}}]})
    assert scim_error(r, 400)["detail"] == \
        "User reactivation operations are not supported in SaaS Cloud"


def test_service_accounts_are_invisible_to_users(scim) -> None:
    # wandb-api.md §3.3: GET and list never return service accounts.
    names = {u["userName"] for u in scim("GET", "Users").json()["Resources"]}
    assert "alice" in names and not names & {"ci-bot", "org-provisioner", "eval-runner"}


@pytest.mark.parametrize("authorization", [
    "Basic " + base64.b64encode(f"alice:{key_of('alice')}".encode()).decode(),
    "Basic " + base64.b64encode(f":{key_of('org-provisioner')}".encode()).decode(),
    "Bearer " + key_of("alice"),
])
def test_documented_credentials(scim, authorization: str) -> None:
    # wandb-api.md §2.1: Basic user:key, Basic :key (org service account), Bearer <key>.
    assert scim("GET", "Users", headers={"Authorization": authorization}).status_code == 200


def test_team_scoped_service_account_keys_are_rejected(scim) -> None:
    # wandb-api.md §2.1: "Keys of team-scoped service accounts are rejected by SCIM";
    # §10: "Reject team-scoped SA keys with 401/403" (the sandbox answers 403).
    r = scim("GET", "Users", headers={
        "Authorization": "Basic " + base64.b64encode(f":{key_of('ci-bot')}".encode()).decode()})
    scim_error(r, 403)


def test_group_resource_quirks(scim) -> None:
    # wandb-api.md §3.4: members [{Value, Ref, Type, Display}] capitalised, Display the
    # username; meta location "Groups/<id>".
    gid = first_id(scim, "Groups", 'displayName eq "data-science-nlp"')
    group = scim("GET", f"Groups/{gid}").json()
    assert group["schemas"] == [GROUP_URN] and group["displayName"] == "data-science-nlp"
    assert all(set(m) == {"Value", "Ref", "Type", "Display"} for m in group["members"])
    assert "bob" in {m["Display"] for m in group["members"]}
    assert group["meta"]["resourceType"] == "Group"
    assert group["meta"]["location"] == f"Groups/{gid}"


def test_remove_all_members_leaves_members_null(scim) -> None:
    # wandb-api.md §3.4: after "remove all members", `members` is null.
    gid = first_id(scim, "Groups", 'displayName eq "ai-governance"')
    r = scim("PATCH", f"Groups/{gid}", json={"schemas": [PATCH_URN], "Operations": [
        {"op": "remove", "path": "members"}]})
    assert r.status_code == 200 and r.json()["members"] is None


def test_teams_cannot_be_deleted(scim) -> None:
    # wandb-api.md §3.4: deleting a team is not supported through SCIM.
    gid = first_id(scim, "Groups", 'displayName eq "ai-governance"')
    assert scim("DELETE", f"Groups/{gid}").status_code >= 400
    assert scim("GET", f"Groups/{gid}").status_code == 200


def test_role_resource_schemas_is_one_empty_string(scim) -> None:
    # wandb-api.md §3.5: `schemas: [""]` on Role resources; inheritedFrom member|viewer;
    # permissions [{name, isInherited}].
    roles = scim("GET", "Roles").json()["Resources"]
    assert roles and all(r["schemas"] == [""] for r in roles)
    assert {r["inheritedFrom"] for r in roles} <= {"member", "viewer"}
    assert all(set(p) == {"name", "isInherited"} for r in roles for p in r["permissions"])
