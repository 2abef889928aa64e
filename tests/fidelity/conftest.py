"""Helpers for the fidelity record: GraphQL, SCIM and audit-log calls to the sandbox over real
HTTP, authenticated the way W&B documents (wandb-api.md §2, wandb-sdk-wire.md §3.1)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import key_of

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ORG = "inference-systems"


def basic(user: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()


def scim_auth(who: str) -> dict[str, str]:
    """Basic `username:key`; an org service account's is Basic `:key` (wandb-api.md §2.1)."""
    return {"Authorization": basic("" if who == "org-provisioner" else who, key_of(who))}


def graphql_auth(who: str) -> dict[str, str]:
    return {"Authorization": basic("api", key_of(who))}


def decode_id(value: str) -> str:
    return base64.b64decode(value).decode()


@pytest.fixture
def gql(sandbox) -> Callable[..., httpx.Response]:
    """`gql(query, variables, who=...)`: one POST /graphql as the SDK sends it."""

    def call(query: str, variables: dict | None = None, who: str = "alice",
             headers: dict[str, str] | None = None) -> httpx.Response:
        body = {"query": query, "variables": variables or {}, "operationName": ""}
        return httpx.post(f"{sandbox.base_url}/graphql", json=body, timeout=15,
                          headers=headers if headers is not None else graphql_auth(who))

    return call


@pytest.fixture
def scim(sandbox) -> Callable[..., httpx.Response]:
    """`scim("GET", "Users", who=..., prefix="/scim")`: one SCIM request."""

    def call(method: str, path: str, who: str = "alice", prefix: str = "/scim",
             headers: dict[str, str] | None = None, **kw) -> httpx.Response:
        return httpx.request(method, f"{sandbox.base_url}{prefix}/{path}", timeout=15,
                             headers={**scim_auth(who), **(headers or {})}, **kw)

    return call


def scim_error(response: httpx.Response, status: int) -> dict:
    """The SCIM error body W&B documents (wandb-api.md §3.6): the Error URN, a `detail`, and
    `status` as a string (§10)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["schemas"] == [ERROR_URN], body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert body["status"] == str(status), body
    return body


def graphql_logical_error(response: httpx.Response) -> str:
    """A logical error as W&B reports it (wandb-sdk-wire.md §3.2): HTTP 200, an `errors`
    array whose entries carry `message`, and `data` present (never a 5xx)."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" in body, body
    assert isinstance(body["errors"], list) and body["errors"], body
    assert all(isinstance(e.get("message"), str) for e in body["errors"]), body
    return body["errors"][0]["message"]
