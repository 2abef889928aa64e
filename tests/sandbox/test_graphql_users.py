"""The users/teams/org area at the wire level: what the SDK hides (error shapes, ordering,
secrets shown or withheld, GraphQL language features), checked with plain httpx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import basic_api, key_of
from wbadmin.sandbox import ids

TEAM = "data-science-nlp"

GET_TEAM = """query GetTeamEntity($name: String!) { entity(name: $name) {
  id name isTeam entityType storageBytes readOnlyAdmin privateOnly codeSavingEnabled defaultAccess
  members { id admin role pending email username name accountType apiKey } } }"""


@pytest.fixture
def gql(sandbox):
    def call(user: str, query: str, variables: dict[str, Any] | None = None,
             operation: str | None = "") -> httpx.Response:
        body: dict[str, Any] = {"query": query, "operationName": operation}
        if variables is not None:
            body["variables"] = variables
        return httpx.post(f"{sandbox.base_url}/graphql", json=body, headers=basic_api(user),
                          timeout=15)
    return call


def _members(gql, user: str, team: str = TEAM) -> list[dict[str, Any]]:
    resp = gql(user, GET_TEAM, {"name": team})
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["entity"]["members"]


def test_viewer_probe_as_wandb_core_sends_it(gql):
    resp = gql("alice", "query Viewer { viewer { id entity username email flags "
                        "teams { edges { node { name } } } } }", operation="Viewer")
    assert resp.status_code == 200
    viewer = resp.json()["data"]["viewer"]
    assert viewer["id"] == ids.encode("User", 1)
    assert (viewer["entity"], viewer["username"], viewer["flags"]) == ("alice", "alice", "{}")


def test_empty_operation_name_fragments_and_aliases(gql):
    query = """#graphql
    query GetViewer { me: viewer { ...U } }
    fragment K on ApiKey { id name }
    fragment U on User { login: username apiKeys { edges { node { ...K } } } }"""
    resp = gql("bob", query, {}, operation="")
    assert resp.status_code == 200, resp.text
    me = resp.json()["data"]["me"]
    assert me["login"] == "bob"
    assert me["apiKeys"]["edges"][0]["node"]["name"] != key_of("bob")


def test_forbidden_mutation_error_shape(gql, sandbox_db):
    resp = gql("carol", """mutation CreateInvite($entity: String!, $email: String) {
      result: createInvite(input: {entityName: $entity, email: $email}) { invite { id } } }""",
               {"entity": TEAM, "email": "x@partner-labs.io"})
    assert resp.status_code == 200
    payload = resp.json()
    assert payload["data"] == {"result": None}
    [error] = payload["errors"]
    assert error["message"] == "permission denied"
    assert error["path"] == ["result"]
    assert error["extensions"] == {"code": "PERMISSION_ERROR"}
    assert sandbox_db.scalar("SELECT COUNT(*) FROM invites WHERE email = 'x@partner-labs.io'") == 0


def test_team_entity_non_null_fields_and_big_storage(gql, sandbox_db):
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE entities SET storage_bytes = ? WHERE name = ?", (5 * 10**12, TEAM))
    entity = gql("carol", GET_TEAM, {"name": TEAM}).json()["data"]["entity"]
    assert entity["storageBytes"] == 5 * 10**12  # beyond a 32-bit Int
    assert (entity["isTeam"], entity["entityType"], entity["readOnlyAdmin"]) == (
        True, "team", False)
    assert all(isinstance(m["name"], str) for m in entity["members"])
    assert gql("carol", GET_TEAM, {"name": "no-such-team"}).json()["data"] == {"entity": None}


def test_service_account_key_only_for_team_admins(gql, keys):
    def sa_key(user: str) -> str | None:
        return next(m for m in _members(gql, user) if m["username"] == "eval-runner")["apiKey"]

    assert sa_key("victor") is None
    assert sa_key("carol") is None
    assert sa_key("bob") == keys("eval-runner")    # team admin
    assert sa_key("alice") == keys("eval-runner")  # org admin
    # Human members never expose a key, whoever asks.
    assert all(m["apiKey"] is None for m in _members(gql, "alice")
               if m["accountType"] == "USER")


def test_new_service_account_listed_last(gql, sandbox_db):
    resp = gql("bob", """mutation CreateServiceAccount($entity: String!, $description: String!) {
      result: createServiceAccount(input: {description: $description, entityName: $entity}) {
        user { id username accountType } } }""", {"entity": TEAM, "description": "batch scorer"})
    user = resp.json()["data"]["result"]["user"]
    assert user["accountType"] == "SERVICE"
    last = _members(gql, "bob")[-1]
    assert (last["id"], last["accountType"], last["pending"]) == (user["id"], "SERVICE", False)
    assert len(last["apiKey"]) >= 40


def test_invite_payload_and_cancel_by_invite_id(gql, sandbox_db):
    resp = gql("alice", """mutation CreateInvite($entity: String!, $email: String,
      $admin: Boolean) {
      result: createInvite(input: {entityName: $entity, email: $email, admin: $admin}) {
        invite { id name email createdAt toUser { name } } } }""",
               {"entity": "ml-infra", "email": "temp@partner-labs.io", "admin": True})
    invite = resp.json()["data"]["result"]["invite"]
    assert (invite["name"], invite["email"], invite["toUser"]) == (
        "temp@partner-labs.io", "temp@partner-labs.io", None)
    pending = _members(gql, "alice", "ml-infra")[-1]
    assert (pending["id"], pending["pending"], pending["admin"]) == (invite["id"], True, True)
    delete = """mutation DeleteInvite($id: String, $entity: String) {
      result: deleteInvite(input: {id: $id, entityName: $entity}) { success } }"""
    assert gql("alice", delete, {"id": invite["id"], "entity": "ml-infra"}).json()["data"] == {
        "result": {"success": True}}
    assert not [m for m in _members(gql, "alice", "ml-infra") if m["pending"]]


def test_invite_by_username_stays_pending_on_multi_tenant(gql, sandbox_db):
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")
    resp = gql("bob", """mutation($entity: String!, $username: String) {
      result: createInvite(input: {entityName: $entity, username: $username}) {
        invite { email toUser { name } } } }""", {"entity": TEAM, "username": "grace"})
    invite = resp.json()["data"]["result"]["invite"]
    assert invite == {"email": "grace@inference-systems.ai", "toUser": {"name": "Grace Hopkins"}}
    grace = next(m for m in _members(gql, "bob") if m["username"] == "grace")
    assert grace["pending"] is True


def test_invite_requires_exactly_one_target(gql):
    resp = gql("alice", """mutation { result: createInvite(input: {entityName: "ml-infra"}) {
      invite { id } } }""")
    assert resp.status_code == 200
    assert "exactly one of email or username" in resp.json()["errors"][0]["message"]


def test_create_team_duplicate_and_invalid_names(gql):
    mutation = """mutation($name: String!) { result: createTeam(input: {teamName: $name}) {
      entity { id name available photoUrl limits } } }"""
    dup = gql("alice", mutation, {"name": TEAM}).json()
    assert dup["data"] == {"result": None} and "already taken" in dup["errors"][0]["message"]
    bad = gql("alice", mutation, {"name": "Bad Name!"}).json()
    assert "invalid team name" in bad["errors"][0]["message"]
    ok = gql("alice", mutation, {"name": "fresh-team"}).json()["data"]["result"]["entity"]
    assert ok["name"] == "fresh-team" and ok["available"] is False
    members = _members(gql, "alice", "fresh-team")
    assert [(m["username"], m["admin"]) for m in members] == [("alice", True)]


def test_organization_and_org_info_from_entity(gql):
    org = gql("victor", """query FetchOrganization($org: String!) { organization(name: $org) {
      id name orgEntity { __typename id name entityType } } }""",
              {"org": "inference-systems"}).json()["data"]["organization"]
    assert org["orgEntity"]["__typename"] == "Entity"
    assert org["orgEntity"]["entityType"] == "organization"
    info = """query FetchOrgInfoFromEntity($entity: String!) { entity(name: $entity) {
      organization { name orgEntity { name } } user { organizations { name orgEntity { name } } }
    } }"""
    personal = gql("carol", info, {"entity": "carol"}).json()["data"]["entity"]
    assert personal["organization"] is None
    assert [o["name"] for o in personal["user"]["organizations"]] == ["inference-systems"]
    team = gql("carol", info, {"entity": TEAM}).json()["data"]["entity"]
    assert team["organization"]["orgEntity"]["name"] == "inference-systems"
    assert team["user"] is None


def test_other_users_key_names_hidden_from_non_admins(gql):
    query = """query($u: String) { user(userName: $u) { username apiKeys {
      edges { node { name } } } } }"""
    assert gql("carol", query, {"u": "bob"}).json()["data"]["user"] == {
        "username": "bob", "apiKeys": None}
    shown = gql("alice", query, {"u": "bob"}).json()["data"]["user"]["apiKeys"]
    assert len(shown["edges"]) == 1


def test_users_paging(gql):
    query = """query($after: String) { users(query: "inference-systems.ai", first: 2,
      after: $after) { totalCount pageInfo { endCursor hasNextPage }
      edges { cursor node { username } } } }"""
    first = gql("alice", query, {"after": None}).json()["data"]["users"]
    assert [e["node"]["username"] for e in first["edges"]] == ["alice", "bob"]
    assert first["pageInfo"]["hasNextPage"] is True and first["totalCount"] > 2
    second = gql("alice", query, {"after": first["pageInfo"]["endCursor"]}).json()
    assert [e["node"]["username"] for e in second["data"]["users"]["edges"]] == [
        "carol", "victor"]


def test_delete_api_key_unknown_id(gql):
    resp = gql("alice", """mutation($id: String!) { result: deleteApiKey(input: {id: $id}) {
      success } }""", {"id": ids.encode("ApiKey", 99_999)})
    assert resp.status_code == 200
    assert resp.json()["errors"][0]["extensions"] == {"code": "NOT_FOUND"}


def test_remove_member_without_entity_name_is_rejected(gql, sandbox_db):
    resp = gql("alice", """mutation($id: String) { result: deleteInvite(input: {id: $id}) {
      success } }""", {"id": ids.encode("User", 3)})
    assert "entityName is required" in resp.json()["errors"][0]["message"]
    assert sandbox_db.scalar("SELECT COUNT(*) FROM team_members WHERE user_id = 3") > 0
