"""GraphQL transport and authentication: what real W&B does (wandb-sdk-wire.md §1, §3, §4,
§7; wandb-api.md §2.3). Also recorded elsewhere: malformed bodies and documents
(tests/sandbox/test_transport.py), the SDK's construction (tests/sandbox/test_sdk_users.py)."""

from __future__ import annotations

import pytest

from tests.conftest import key_of
from tests.fidelity.conftest import basic, decode_id, graphql_logical_error

VIEWER = ("query Viewer { viewer { id entity username email flags"
          " teams { edges { node { name } } } } }")


def test_basic_api_key_is_the_graphql_credential(gql) -> None:
    # wandb-api.md §2.3, wandb-sdk-wire.md §1.3: Basic base64("api:" + key) on every request.
    r = gql(VIEWER)
    assert r.status_code == 200 and r.json()["data"]["viewer"]["username"] == "alice"


def test_the_sdk_headers_are_accepted(gql) -> None:
    # wandb-sdk-wire.md §3.1: what Api() sends besides auth.
    r = gql(VIEWER, headers={"Authorization": basic("api", key_of("carol")),
                             "User-Agent": "W&B Public Client 0.31.0",
                             "Use-Admin-Privileges": "true", "X-Wandb-Username": "",
                             "X-Wandb-User-Email": "", "Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.json()["data"]["viewer"]["username"] == "carol"


@pytest.mark.parametrize("authorization", [
    basic("api", "x" * 40),                   # a well-formed key nobody has
    basic("api", key_of("alice")[:-1] + "0"),  # one character off
    None,                                     # no credentials at all
])
def test_a_bad_or_missing_key_is_401_with_errors(gql, authorization: str | None) -> None:
    # wandb-sdk-wire.md §3.2 and §1.4: 401/403 with {"errors": [{"message": m}]}; the SDK's
    # constructor raises AuthenticationError on it.
    r = gql(VIEWER, headers={"Authorization": authorization} if authorization else {})
    assert r.status_code == 401
    assert isinstance(r.json()["errors"][0]["message"], str)


def test_logical_errors_are_200_with_errors_never_5xx(gql) -> None:
    # wandb-sdk-wire.md §3.2: "report logical errors as 200 + errors or as 4xx, never 5xx".
    r = gql("mutation CreateTeam($teamName: String!, $teamAdminUserName: String) {"
            " result: createTeam(input: {teamName: $teamName,"
            " teamAdminUserName: $teamAdminUserName}) { entity { id name } } }",
            {"teamName": "not-allowed", "teamAdminUserName": "carol"}, who="carol")
    assert "permission" in graphql_logical_error(r).lower()
    assert r.json()["data"] == {"result": None}


def test_validation_errors_are_400(gql) -> None:
    # wandb-sdk-wire.md §3.2: a 400 with `errors` (the SDK raises with its message, no retry).
    r = gql("query { viewer { id noSuchField } }")
    assert r.status_code == 400 and "noSuchField" in r.json()["errors"][0]["message"]


def test_viewer_probe_is_a_named_operation_without_variables(sandbox) -> None:
    # wandb-sdk-wire.md §4: wandb-core's Viewer probe carries operationName and no variables;
    # any non-null viewer is accepted.
    import httpx

    r = httpx.post(f"{sandbox.base_url}/graphql", timeout=15,
                   headers={"Authorization": basic("api", key_of("bob"))},
                   json={"query": VIEWER, "operationName": "Viewer"})
    assert r.status_code == 200 and r.json()["data"]["viewer"]["entity"] == "bob"


def test_server_features_probe_answers_registry_search(gql) -> None:
    # wandb-sdk-wire.md §4: ServerFeaturesQuery must be answered, with
    # ARTIFACT_REGISTRY_SEARCH on (api.registries() raises without it); features by name.
    r = gql("query ServerFeaturesQuery { serverInfo { features { name isEnabled } } }")
    features = {f["name"]: f["isEnabled"] for f in r.json()["data"]["serverInfo"]["features"]}
    assert features["ARTIFACT_REGISTRY_SEARCH"] is True
    assert all(isinstance(v, bool) for v in features.values())


def test_ids_are_base64_type_and_integer_strings(gql) -> None:
    # wandb-sdk-wire.md §7 and §10: ids are JSON strings, base64("<Type>:<int>"); registry
    # member operations decode them client-side.
    viewer = gql(VIEWER).json()["data"]["viewer"]
    kind, number = decode_id(viewer["id"]).split(":")
    assert kind == "User" and number.isdigit()


def test_org_entity_type_is_lowercase_organization(gql) -> None:
    # wandb-sdk-wire.md §5.1 and §10: FetchOrganization's orgEntity.entityType must be
    # "organization" (lowercase) or the SDK's pydantic model rejects it.
    r = gql("query FetchOrganization($org: String!) { organization(name: $org) { id name "
            "orgEntity { __typename id name entityType } } }", {"org": "inference-systems"})
    org_entity = r.json()["data"]["organization"]["orgEntity"]
    assert org_entity["__typename"] == "Entity" and org_entity["entityType"] == "organization"


def test_type_probes_answer_field_and_input_field_names(gql) -> None:
    # wandb-sdk-wire.md §1.5: newer wandb-core probes types with __type(name:) (TypeFields,
    # ProbeTypeInputFields); W&B's servers answer them.
    fields = gql("query TypeFields($typeName: String!) { TypeInfo: __type(name: $typeName) "
                 "{ fields { name } } }", {"typeName": "Project"}).json()["data"]["TypeInfo"]
    assert {"name", "entityName"} <= {f["name"] for f in fields["fields"]}
    inputs = gql("query ProbeTypeInputFields($typeName: String!) { TypeInfo: "
                 "__type(name: $typeName) { inputFields { name } } }",
                 {"typeName": "CreateInviteInput"}).json()["data"]["TypeInfo"]
    assert {"entityName", "email"} <= {f["name"] for f in inputs["inputFields"]}
