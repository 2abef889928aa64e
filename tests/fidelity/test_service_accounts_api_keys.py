"""Service accounts and API keys: what real W&B does (wandb-api.md §4.5, §4.6;
wandb-sdk-wire.md §3.4, §5.1, §10). Also recorded elsewhere, through the real SDK:
tests/sandbox/test_sdk_users.py (create_service_account, generate/delete_api_key)."""

from __future__ import annotations

import pytest

from tests.conftest import key_of
from tests.fidelity.conftest import basic, graphql_logical_error

CREATE_SA = ("mutation CreateServiceAccount($entity: String!, $description: String!) {"
             " result: createServiceAccount(input: {description: $description,"
             " entityName: $entity}) { user { id } } }")
TEAM = ("query GetTeamEntity($name: String!) { entity(name: $name) { id name"
        " members { id username accountType apiKey } } }")
GENERATE = ("mutation GenerateApiKey($description: String) { result: generateApiKey("
            "input: {description: $description}) { apiKey { id name description } } }")
DELETE = ("mutation DeleteApiKey($id: String!) {"
          " result: deleteApiKey(input: {id: $id}) { success } }")
WHO = "query { viewer { username apiKeys { edges { node { id name description } } } } }"


def test_the_sdk_selects_only_the_new_accounts_id_and_it_sorts_last(gql) -> None:
    # wandb-sdk-wire.md §5.1 and §10: createServiceAccount { user { id } }; the SDK returns
    # members[-1] after reloading the team, so the new member must sort last.
    r = gql(CREATE_SA, {"entity": "data-science-nlp", "description": "fidelity bot"},
            who="bob")
    new_id = r.json()["data"]["result"]["user"]["id"]
    members = gql(TEAM, {"name": "data-science-nlp"}, who="bob").json()["data"]["entity"]
    assert members["members"][-1]["id"] == new_id
    assert members["members"][-1]["accountType"] == "SERVICE"


def test_a_plain_member_cannot_create_one(gql) -> None:
    # wandb-api.md §4.5: team-scoped accounts are created by a team admin; the refusal is a
    # logical error (wandb-sdk-wire.md §3.2), which the SDK swallows into None.
    r = gql(CREATE_SA, {"entity": "data-science-nlp", "description": "x"}, who="carol")
    graphql_logical_error(r)
    assert r.json()["data"]["result"] is None


def test_a_service_account_key_works_for_graphql(gql) -> None:
    # wandb-api.md §4.5: service accounts have their own API keys; their default entity is
    # their team (wandb-sdk-wire.md §7: viewer.entity drives default_entity).
    r = gql("query { viewer { username entity } }", who="ci-bot")
    assert r.status_code == 200 and r.json()["data"]["viewer"]["username"] == "ci-bot"


def test_generate_api_key_acts_as_the_caller(gql) -> None:
    # wandb-sdk-wire.md §5.1: generateApiKey has no user argument: it runs as the caller;
    # the SDK returns apiKey.name, which is the secret; §3.4: keys are at least 40 characters.
    r = gql(GENERATE, {"description": "fidelity"}, who="carol")
    key = r.json()["data"]["result"]["apiKey"]
    assert key["description"] == "fidelity" and len(key["name"]) >= 40
    owner = gql(WHO, headers={"Authorization": basic("api", key["name"])})
    assert owner.json()["data"]["viewer"]["username"] == "carol"


def test_delete_api_key_by_id_from_the_users_key_list(gql) -> None:
    # wandb-sdk-wire.md §5.1: deleteApiKey(input: {id}) with the id from user.apiKeys;
    # success only; afterwards the key no longer authenticates (401).
    secret = gql(GENERATE, {"description": "to delete"}, who="carol").json()[
        "data"]["result"]["apiKey"]["name"]
    keys = gql(WHO, who="carol").json()["data"]["viewer"]["apiKeys"]["edges"]
    key_id = next(e["node"]["id"] for e in keys if e["node"]["description"] == "to delete")
    r = gql(DELETE, {"id": key_id}, who="carol")
    assert r.json()["data"]["result"]["success"] is True
    assert gql(WHO, headers={"Authorization": basic("api", secret)}).status_code == 401


def test_nobody_else_may_delete_a_members_key(gql) -> None:
    # wandb-api.md §4.6: a member sees (and manages) their own keys; an org admin all keys.
    alice_key = gql(WHO).json()["data"]["viewer"]["apiKeys"]["edges"][0]["node"]["id"]
    graphql_logical_error(gql(DELETE, {"id": alice_key}, who="carol"))
    assert gql(WHO).status_code == 200


@pytest.mark.parametrize("who, sees", [("bob", True), ("carol", False)])
def test_only_team_admins_see_service_account_keys(gql, who: str, sees: bool) -> None:
    # wandb-api.md §4.6: a team admin also sees the SA keys of the teams they administer;
    # wandb-sdk-wire.md §7: members[].apiKey is nullable.
    members = gql(TEAM, {"name": "data-science-nlp"}, who=who).json()["data"]["entity"]
    service = [m for m in members["members"] if m["accountType"] == "SERVICE"]
    assert service and all((m["apiKey"] is not None) is sees for m in service)


def test_service_account_keys_are_real_keys(gql) -> None:
    # The key a team admin sees is the account's working key (wandb-api.md §4.5).
    members = gql(TEAM, {"name": "llm-platform-eng"}).json()["data"]["entity"]["members"]
    key = next(m["apiKey"] for m in members if m["username"] == "ci-bot")
    assert key == key_of("ci-bot")
