"""SCIM authentication and routing over real HTTP: who may call, how, and on which paths."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.conftest import key_of
from wbadmin.sandbox import ids

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


def basic(user: str, key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)  # a string, as W&B sends it
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture
def base(sandbox) -> str:
    return sandbox.base_url


@pytest.mark.parametrize("prefix", ["/scim", "/scim/v2"])
@pytest.mark.parametrize("headers", [
    pytest.param(lambda: basic("alice", key_of("alice")), id="basic-user-key"),
    pytest.param(lambda: basic("alice@inference-systems.ai", key_of("alice")), id="basic-email"),
    pytest.param(lambda: basic("", key_of("org-provisioner")), id="basic-org-sa"),
    pytest.param(lambda: bearer(key_of("alice")), id="bearer-admin"),
    pytest.param(lambda: bearer(key_of("org-provisioner")), id="bearer-org-sa"),
])
def test_admin_and_org_service_account_can_list_users(base, prefix, headers):
    response = httpx.get(f"{base}{prefix}/Users", headers=headers())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    names = {u["userName"] for u in response.json()["Resources"]}
    assert {"alice", "bob", "victor"} <= names


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no-header"),
    pytest.param({"Authorization": "Basic !!!not-base64"}, id="garbage-basic"),
    pytest.param({"Authorization": "Bearer"}, id="empty-bearer"),
    pytest.param({"Authorization": "Token abc"}, id="unknown-scheme"),
    pytest.param(basic("alice", "sbx-" + "0" * 40), id="wrong-key"),
    pytest.param(basic("alice", ""), id="empty-key"),
])
def test_missing_or_bad_credentials_are_401(base, headers):
    body = assert_error(httpx.get(f"{base}/scim/Users", headers=headers), 401)
    assert body["detail"]


def test_basic_username_must_match_the_key_owner(base):
    # bob's name with alice's (admin) key: the key is valid but the pair is not.
    assert_error(httpx.get(f"{base}/scim/Users", headers=basic("bob", key_of("alice"))), 401)
    ok = httpx.get(f"{base}/scim/Users", headers=basic("ALICE", key_of("alice")))
    assert ok.status_code == 200  # usernames compare case-insensitively


@pytest.mark.parametrize("username", ["bob", "carol", "victor", "grace"])
def test_non_admin_users_are_403(base, username):
    # bob is a team admin, grace a registry admin: neither is an org admin.
    assert_error(httpx.get(f"{base}/scim/Users", headers=basic(username, key_of(username))), 403)
    assert_error(httpx.get(f"{base}/scim/Groups", headers=bearer(key_of(username))), 403)


@pytest.mark.parametrize("sa", ["ci-bot", "eval-runner", "deploy-bot"])
def test_team_scoped_service_accounts_are_403(base, sa):
    body = assert_error(httpx.get(f"{base}/scim/Users", headers=basic("", key_of(sa))), 403)
    assert "team-scoped" in body["detail"]


def test_forbidden_callers_cannot_write(base, sandbox_db):
    before = sandbox_db.scalar("SELECT COUNT(*) FROM users")
    new_user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x1",
                "emails": [{"value": "x1@example.com", "primary": True}]}
    assert_error(httpx.post(f"{base}/scim/Users", json=new_user,
                            headers=basic("bob", key_of("bob"))), 403)
    assert_error(httpx.post(f"{base}/scim/Users", json=new_user,
                            headers=basic("", key_of("ci-bot"))), 403)
    assert sandbox_db.scalar("SELECT COUNT(*) FROM users") == before
    # The admin twin succeeds.
    created = httpx.post(f"{base}/scim/Users", json=new_user,
                         headers=basic("alice", key_of("alice")))
    assert created.status_code == 201
    assert sandbox_db.scalar("SELECT COUNT(*) FROM users") == before + 1


def test_deactivated_admin_key_stops_working(base, sandbox_db):
    admin = basic("alice", key_of("alice"))
    dana = sandbox_db.one("SELECT id FROM users WHERE username = 'dana.levi'")
    assert dana is not None  # an org admin of the demo (index 3)
    with sandbox_db.transaction() as conn:
        conn.execute("INSERT INTO api_keys (user_id, key, name, created_at) VALUES (?, ?, 'k', 0)",
                     (dana["id"], "sbx-dana-" + "1" * 40))
    dana_auth = bearer("sbx-dana-" + "1" * 40)
    assert httpx.get(f"{base}/scim/Users", headers=dana_auth).status_code == 200
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "value": {"active": False}}]}
    uid = ids.encode("User", dana["id"])
    assert httpx.patch(f"{base}/scim/Users/{uid}", json=patch, headers=admin).status_code == 200
    assert_error(httpx.get(f"{base}/scim/Users", headers=dana_auth), 401)


def test_unknown_paths_are_404_and_unsupported_methods_405(base):
    admin = basic("alice", key_of("alice"))
    assert_error(httpx.get(f"{base}/scim/Widgets", headers=admin), 404)
    assert_error(httpx.get(f"{base}/scim/v2/Users/a/b", headers=admin), 404)
    response = httpx.put(f"{base}/scim/Users/{ids.encode('User', 1)}", json={}, headers=admin)
    assert_error(response, 405)
    assert "PATCH" in response.headers["allow"]


def test_authentication_comes_before_routing(base):
    # Even a path that does not exist answers 401 to an anonymous caller.
    assert_error(httpx.get(f"{base}/scim/Widgets"), 401)
