"""Registries: roles, memberships, aliases and promotions, as real W&B has them
(wandb-api.md §4.7, §5, §7.5; wandb-sdk-wire.md §5.4, §5.5, §10). Also recorded elsewhere,
through the real SDK: tests/sandbox/test_sdk_registries.py, test_sdk_artifacts.py."""

from __future__ import annotations

import pytest

from tests.fidelity.conftest import ORG, PATCH_URN, decode_id, graphql_logical_error

REGISTRY = "wandb-registry-model"
COLLECTION = "support-chatbot-ft"
MEMBERS = ("query RegistryUserMembers($project: String!, $entity: String!) {"
           " project(name: $project, entityName: $entity) {"
           " members { id name username email role { name } } } }")
TEAM_MEMBERS = ("query RegistryTeamMembers($project: String!, $entity: String!) {"
                " project(name: $project, entityName: $entity) {"
                " teamMembers { team { id name } role { name } } } }")
MEMBERSHIP = ("query ArtifactMembershipByName($entity: String!, $project: String!,"
              " $name: String!) { project(name: $project, entityName: $entity) {"
              " artifactCollectionMembership(name: $name) { id versionIndex"
              " aliases { id alias } artifact { id } } } }")
ADD = ("mutation AddAliases($input: AddAliasesInput!) {"
       " result: addAliases(input: $input) { success } }")
DELETE = ("mutation DeleteAliases($input: DeleteAliasesInput!) {"
          " result: deleteAliases(input: $input) { success } }")


@pytest.fixture
def org_entity(gql) -> str:
    r = gql("query FetchOrganization($org: String!) { organization(name: $org) {"
            " orgEntity { name } } }", {"org": ORG})
    return r.json()["data"]["organization"]["orgEntity"]["name"]


def version(gql, org_entity: str, ref: str, who: str = "alice") -> dict:
    r = gql(MEMBERSHIP, {"entity": org_entity, "project": REGISTRY,
                         "name": f"{COLLECTION}:{ref}"}, who=who)
    return r.json()["data"]["project"]["artifactCollectionMembership"]


def alias_input(org_entity: str, artifact_id: str, alias: str) -> dict:
    # wandb-sdk-wire.md §5.4: the SDK's alias mutation input.
    return {"input": {"artifactID": artifact_id, "aliases": [
        {"alias": alias, "entityName": org_entity, "projectName": REGISTRY,
         "artifactCollectionName": COLLECTION}]}}


def test_registries_are_org_projects_prefixed_wandb_registry(gql, org_entity: str) -> None:
    # wandb-sdk-wire.md §5.5 and §10: registries are projects named wandb-registry-<name>
    # under the org entity.
    r = gql("query FetchRegistry($entity: String!, $name: String!) { entity(name: $entity)"
            " { project(name: $name) { name entity { name organization { name } } } } }",
            {"entity": org_entity, "name": REGISTRY})
    project = r.json()["data"]["entity"]["project"]
    assert project["name"] == REGISTRY and project["entity"]["organization"]["name"] == ORG


def test_member_roles_and_ids(gql, org_entity: str) -> None:
    # wandb-api.md §4.7: roles restricted_viewer, viewer, member, admin (the SDK's MemberRole);
    # wandb-sdk-wire.md §5.5: member ids decode as User:<int> / Entity:<int> client-side.
    vars_ = {"project": REGISTRY, "entity": org_entity}
    users = gql(MEMBERS, vars_).json()["data"]["project"]["members"]
    teams = gql(TEAM_MEMBERS, vars_).json()["data"]["project"]["teamMembers"]
    roles = {m["role"]["name"] for m in users} | {t["role"]["name"] for t in teams}
    assert roles <= {"restricted_viewer", "viewer", "member", "admin"}
    assert all(decode_id(m["id"]).split(":")[1].isdigit() for m in users)
    assert all(decode_id(t["team"]["id"]).startswith("Entity:") for t in teams)
    assert {m["username"]: m["role"]["name"] for m in users}["bob"] == "member"


def test_a_member_moves_an_unprotected_alias_and_it_stays_unique(gql, org_entity: str) -> None:
    # wandb-api.md §4.7: Members may add a non-protected alias; §10: an alias is unique in
    # its collection, so adding it moves it.
    v6, v7 = version(gql, org_entity, "v6"), version(gql, org_entity, "v7")
    for v in (v6, v7):
        r = gql(ADD, alias_input(org_entity, v["artifact"]["id"], "fidelity"), who="bob")
        assert r.json()["data"]["result"]["success"] is True
    assert "fidelity" not in {a["alias"] for a in version(gql, org_entity, "v6")["aliases"]}
    assert "fidelity" in {a["alias"] for a in version(gql, org_entity, "v7")["aliases"]}


def test_protected_aliases_need_a_registry_admin(gql, org_entity: str) -> None:
    # wandb-api.md §4.7: only registry admins (and Admin service accounts) add or remove a
    # protected alias; the refusal is a logical error (wandb-sdk-wire.md §3.2).
    v7 = version(gql, org_entity, "v7")
    graphql_logical_error(gql(ADD, alias_input(org_entity, v7["artifact"]["id"],
                                               "production"), who="bob"))
    prod = version(gql, org_entity, "production")
    graphql_logical_error(gql(DELETE, alias_input(org_entity, prod["artifact"]["id"],
                                                  "production"), who="bob"))
    assert version(gql, org_entity, "production")["versionIndex"] == prod["versionIndex"]
    r = gql(ADD, alias_input(org_entity, v7["artifact"]["id"], "production"), who="alice")
    assert r.json()["data"]["result"]["success"] is True
    assert version(gql, org_entity, "production")["versionIndex"] == 7


def test_viewers_add_no_alias_at_all(gql, org_entity: str) -> None:
    # wandb-api.md §4.7: adding even a non-protected alias needs Member.
    v7 = version(gql, org_entity, "v7", who="victor")
    graphql_logical_error(gql(ADD, alias_input(org_entity, v7["artifact"]["id"], "mine"),
                              who="victor"))


def test_latest_and_version_aliases_are_kept(gql, org_entity: str) -> None:
    # wandb-api.md §10: `latest` and `vN` maintained on link; the newest version holds latest.
    newest = version(gql, org_entity, "latest")
    assert newest["versionIndex"] == version(gql, org_entity, f"v{newest['versionIndex']}")[
        "versionIndex"]


def test_registry_roles_through_scim(scim) -> None:
    # wandb-api.md §3.3: registryRoles PATCH; the client sends add/remove [UNCERTAIN which
    # form W&B requires]; removal from one registry uses registryRoles[registryName eq "X"].
    uid = scim("GET", "Users", params={"filter": 'userName eq "carol"'}).json()[
        "Resources"][0]["id"]
    r = scim("PATCH", f"Users/{uid}", json={"schemas": [PATCH_URN], "Operations": [
        {"op": "add", "path": "registryRoles",
         "value": [{"registryName": "dataset", "roleName": "viewer"}]}]})
    assert {"registryName": "dataset", "roleName": "viewer"} in r.json()["registryRoles"]
    r = scim("PATCH", f"Users/{uid}", json={"schemas": [PATCH_URN], "Operations": [
        {"op": "remove", "path": 'registryRoles[registryName eq "dataset"]'}]})
    assert "dataset" not in {x["registryName"] for x in r.json()["registryRoles"]}


def test_alias_promotions_write_no_audit_entry(gql, org_entity: str, sandbox_db) -> None:
    # wandb-api.md §7.5: no registry, alias or role-assignment actions in audit logs.
    before = sandbox_db.scalar("SELECT COUNT(*) FROM audit_log")
    v7 = version(gql, org_entity, "v7")
    gql(ADD, alias_input(org_entity, v7["artifact"]["id"], "staging"), who="alice")
    assert sandbox_db.scalar("SELECT COUNT(*) FROM audit_log") == before
