"""Every GraphQL document the pinned SDK sends for the admin surface validates against the
sandbox schema (a W&B-faithful subset). Catches drift when the SDK pin moves."""

from __future__ import annotations

import importlib

import pytest
from graphql import parse, validate

from wbadmin.sandbox.gql.executor import get_schema

MODULES = ["wandb.apis._generated.operations", "wandb.sdk.artifacts._generated.operations"]

# The operations behind the SDK calls wbadmin's fidelity tests exercise.
REQUIRED = {
    "GET_VIEWER_GQL", "GET_DEFAULT_ENTITY_GQL", "SEARCH_USERS_GQL", "GET_TEAM_ENTITY_GQL",
    "CREATE_INVITE_GQL", "DELETE_INVITE_GQL", "CREATE_SERVICE_ACCOUNT_GQL", "CREATE_TEAM_GQL",
    "GENERATE_API_KEY_GQL", "DELETE_API_KEY_GQL", "CREATE_USER_FROM_ADMIN_GQL",
    "GET_PROJECTS_GQL", "GET_PROJECT_GQL", "CREATE_PROJECT_GQL",
    "ARTIFACT_MEMBERSHIP_BY_NAME_GQL", "ADD_ALIASES_GQL", "DELETE_ALIASES_GQL",
    "UPDATE_ARTIFACT_GQL", "ARTIFACT_COLLECTION_ALIASES_GQL",
    "ARTIFACT_TYPE_ARTIFACT_COLLECTIONS_GQL", "PROJECT_ARTIFACT_COLLECTIONS_GQL",
    "FETCH_ORG_INFO_FROM_ENTITY_GQL", "FETCH_ORGANIZATION_GQL", "FETCH_REGISTRIES_GQL",
    "FETCH_REGISTRY_GQL", "REGISTRY_USER_MEMBERS_GQL", "REGISTRY_TEAM_MEMBERS_GQL",
    "CREATE_REGISTRY_MEMBERS_GQL", "DELETE_REGISTRY_MEMBERS_GQL",
    "UPDATE_USER_REGISTRY_ROLE_GQL", "UPDATE_TEAM_REGISTRY_ROLE_GQL",
    "REGISTRY_COLLECTIONS_GQL", "REGISTRY_VERSIONS_GQL", "UPSERT_REGISTRY_GQL",
    "LINK_ARTIFACT_GQL", "UNLINK_ARTIFACT_GQL", "ADD_ARTIFACT_COLLECTION_TAGS_GQL",
    "DELETE_ARTIFACT_COLLECTION_TAGS_GQL",
}


def sdk_documents() -> dict[str, str]:
    docs = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if name.endswith("_GQL") and isinstance(value, str):
                docs[name] = value
    return docs


def invalid(docs: dict[str, str]) -> dict[str, str]:
    schema = get_schema()
    out = {}
    for name, text in docs.items():
        errors = validate(schema, parse(text))
        if errors:
            out[name] = errors[0].message
    return out


@pytest.mark.sdk
def test_every_required_sdk_operation_validates() -> None:
    docs = sdk_documents()
    assert set(docs) >= REQUIRED, f"renamed in the SDK: {sorted(REQUIRED - set(docs))}"
    failing = {k: v for k, v in invalid(docs).items() if k in REQUIRED}
    assert failing == {}


# wandb-workspaces: what saving, loading and deleting reports and workspaces sends (its share
# links, the access-token documents, are not served).
WORKSPACES_REQUIRED = {"SpecificReport", "upsertView", "deleteView", "ProjectInternalId",
                       "UpsertView2", "View"}


def workspaces_documents() -> dict[str, str]:
    """{operation name: document} of every GraphQL string in the pinned wandb-workspaces'
    reports v2 and workspaces modules."""
    import ast
    import inspect

    from graphql import GraphQLError
    from graphql.language import OperationDefinitionNode

    docs = {}
    for module_name in ("wandb_workspaces.reports.v2.gql", "wandb_workspaces.workspaces.internal"):
        tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                try:
                    parsed = parse(node.value)
                except GraphQLError:
                    continue
                for d in parsed.definitions:
                    if isinstance(d, OperationDefinitionNode) and d.name:
                        docs[d.name.value] = node.value
    return docs


@pytest.mark.sdk
def test_wandb_workspaces_reports_and_workspaces_validate() -> None:
    docs = workspaces_documents()
    assert set(docs) >= WORKSPACES_REQUIRED, sorted(WORKSPACES_REQUIRED - set(docs))
    failing = {k: v for k, v in invalid(docs).items() if k in WORKSPACES_REQUIRED}
    assert failing == {}


if __name__ == "__main__":  # `python -m tests.sandbox.test_schema_coverage`: the full list
    docs = sdk_documents()
    bad = invalid(docs)
    print(f"{len(docs) - len(bad)} of {len(docs)} SDK documents validate; not supported:")
    for name, message in sorted(bad.items()):
        print(f"  {name}: {message}")
