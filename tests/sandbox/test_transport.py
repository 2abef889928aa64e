"""Bad input to /graphql over real HTTP: each gets a W&B-style error and changes nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import basic_api, key_of
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.server import MAX_BODY_BYTES, SandboxServer

VIEWER = "query Viewer { viewer { id username } }"
SERVER_INFO = "query ServerInfo { serverInfo { frontendHost } }"


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers=basic_api("alice"),
                      timeout=10) as c:
        yield c


@pytest.fixture
def unchanged(sandbox: SandboxServer) -> Iterator[None]:
    """Fails the test if the database changed while it ran."""
    before = dump(sandbox.db)
    yield
    assert dump(sandbox.db) == before, "a rejected request changed the database"


def dump(db: Database) -> list[str]:
    with db.lock:
        return list(db.conn.iterdump())


def wandb_error(response: httpx.Response, status: int) -> str:
    """Assert a W&B-style error answer (`{"errors": [{"message": ...}]}`); its first message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    errors = body["errors"]
    assert isinstance(errors, list) and errors
    for error in errors:
        assert isinstance(error["message"], str) and error["message"]
        assert error["message"] != "internal error"
    return errors[0]["message"]


def basic(raw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


# ---- well-formed requests work (the baseline the failures are measured against) -----------

def test_a_good_request_answers_data(client: httpx.Client) -> None:
    r = client.post("/graphql", json={"query": VIEWER})
    assert r.status_code == 200
    assert r.json() == {"data": {"viewer": {"id": r.json()["data"]["viewer"]["id"],
                                            "username": "alice"}}}


def test_empty_operation_name_is_accepted(client: httpx.Client, unchanged: None) -> None:
    # The SDK sends "operationName": "" for most queries.
    r = client.post("/graphql", json={"query": VIEWER, "variables": {}, "operationName": ""})
    assert r.status_code == 200 and r.json()["data"]["viewer"]["username"] == "alice"
    r = client.post("/graphql", json={"query": SERVER_INFO, "operationName": ""})
    assert r.status_code == 200 and r.json()["data"]["serverInfo"]["frontendHost"]


def test_named_operation_is_chosen(client: httpx.Client) -> None:
    r = client.post("/graphql", json={"query": VIEWER + "\n" + SERVER_INFO,
                                      "operationName": "ServerInfo"})
    assert r.status_code == 200 and list(r.json()["data"]) == ["serverInfo"]


# ---- malformed bodies ---------------------------------------------------------------------

@pytest.mark.parametrize("raw", [b"{not json", b'{"query": ', b"\xff\xfe garbage"])
def test_malformed_json(client: httpx.Client, unchanged: None, raw: bytes) -> None:
    r = client.post("/graphql", content=raw, headers={"Content-Type": "application/json"})
    assert "JSON" in wandb_error(r, 400)


@pytest.mark.parametrize("body", [[{"query": VIEWER}], "a string", 42, None,
                                  {"variables": {}}, {"query": ""}, {"query": 7}])
def test_body_that_is_not_a_request_object(client: httpx.Client, unchanged: None,
                                           body: object) -> None:
    r = client.post("/graphql", json=body)
    wandb_error(r, 400)


def test_variables_must_be_an_object(client: httpx.Client, unchanged: None) -> None:
    r = client.post("/graphql", json={"query": VIEWER, "variables": ["x"]})
    assert "variables" in wandb_error(r, 400)


def test_get_is_not_a_graphql_request(client: httpx.Client, unchanged: None) -> None:
    wandb_error(client.get("/graphql", params={"query": VIEWER}), 405)


# ---- bad GraphQL --------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["{ viewer { id ", "query { viewer { id } } }", "qurey { a }",
                                   "{ viewer(entityName: ) { id } }"])
def test_malformed_graphql(client: httpx.Client, unchanged: None, query: str) -> None:
    message = wandb_error(client.post("/graphql", json={"query": query}), 400)
    assert "Syntax Error" in message


@pytest.mark.parametrize("query, field", [
    ("{ viewer { id nonsenseField } }", "nonsenseField"),
    ("{ noSuchRoot }", "noSuchRoot"),
    ("{ serverInfo { frontendHost bogus } }", "bogus"),
    ("{ viewer(noSuchArg: 1) { id } }", "noSuchArg"),
])
def test_unknown_fields_and_arguments(client: httpx.Client, unchanged: None, query: str,
                                      field: str) -> None:
    message = wandb_error(client.post("/graphql", json={"query": query}), 400)
    assert field in message


def test_wrong_variable_type(client: httpx.Client, unchanged: None) -> None:
    query = "query Q($name: String) { viewer(entityName: $name) { id } }"
    r = client.post("/graphql", json={"query": query, "variables": {"name": {"a": 1}}})
    assert "$name" in wandb_error(r, 400)
    # A variable declared with a type its argument does not take fails validation.
    query = "query Q($name: Int) { viewer(entityName: $name) { id } }"
    r = client.post("/graphql", json={"query": query, "variables": {"name": 3}})
    assert "$name" in wandb_error(r, 400)


def test_missing_required_variable(client: httpx.Client, unchanged: None) -> None:
    query = "query Q($name: String!) { viewer(entityName: $name) { id } }"
    for variables in [None, {}, {"name": None}]:
        r = client.post("/graphql", json={"query": query, "variables": variables})
        assert "$name" in wandb_error(r, 400)


def test_unknown_operation_name(client: httpx.Client, unchanged: None) -> None:
    r = client.post("/graphql", json={"query": VIEWER, "operationName": "NoSuchOperation"})
    assert "NoSuchOperation" in wandb_error(r, 400)


def test_several_operations_need_a_name(client: httpx.Client, unchanged: None) -> None:
    for name in [None, ""]:
        r = client.post("/graphql", json={"query": VIEWER + "\n" + SERVER_INFO,
                                          "operationName": name})
        wandb_error(r, 400)


def test_operation_name_must_be_a_string(client: httpx.Client, unchanged: None) -> None:
    wandb_error(client.post("/graphql", json={"query": VIEWER, "operationName": 5}), 400)


# ---- size limits --------------------------------------------------------------------------

def test_oversized_body_with_content_length(client: httpx.Client, unchanged: None) -> None:
    padding = "#" * (MAX_BODY_BYTES + 1)
    r = client.post("/graphql", json={"query": VIEWER + padding})
    assert "too large" in wandb_error(r, 413)


def test_oversized_chunked_body(client: httpx.Client, unchanged: None) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "' + VIEWER.encode()
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536
        yield b'"}'

    r = client.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    wandb_error(r, 413)


def test_body_just_under_the_limit_is_served(client: httpx.Client) -> None:
    query = VIEWER + " " * (MAX_BODY_BYTES - len(VIEWER) - 100)
    r = client.post("/graphql", json={"query": query})
    assert r.status_code == 200 and r.json()["data"]["viewer"]["username"] == "alice"


# ---- authentication -----------------------------------------------------------------------

def unauthenticated(response: httpx.Response) -> None:
    wandb_error(response, 401)
    assert "data" not in response.json() or response.json()["data"] is None


def test_missing_auth(sandbox: SandboxServer, unchanged: None) -> None:
    unauthenticated(httpx.post(sandbox.base_url + "/graphql", json={"query": VIEWER}))


@pytest.mark.parametrize("headers", [
    basic("api:" + "x" * 40),                         # well-formed, unknown key
    basic("api:" + key_of("alice")[:-1] + "0"),       # one character off
    basic("api:"),                                    # no key
    basic("alice"),                                   # no colon
    {"Authorization": "Basic !!!not-base64!!!"},
    {"Authorization": "Bearer " + key_of("alice")},   # GraphQL takes Basic only
    {"Authorization": "Digest " + key_of("alice")},
    {"Authorization": ""},
])
def test_bad_auth(sandbox: SandboxServer, unchanged: None, headers: dict[str, str]) -> None:
    unauthenticated(httpx.post(sandbox.base_url + "/graphql", json={"query": VIEWER},
                               headers=headers))


def test_short_key(sandbox: SandboxServer, unchanged: None) -> None:
    unauthenticated(httpx.post(sandbox.base_url + "/graphql", json={"query": VIEWER},
                               headers=basic("api:sbx-short")))


def test_deactivated_users_key(sandbox: SandboxServer, unchanged: None) -> None:
    username = sandbox.db.scalar(
        "SELECT username FROM users WHERE active = 0 AND account_type = 'USER' ORDER BY id")
    assert username is not None
    unauthenticated(httpx.post(sandbox.base_url + "/graphql", json={"query": VIEWER},
                               headers=basic_api(username)))


def test_auth_is_checked_before_the_body(sandbox: SandboxServer, unchanged: None) -> None:
    # Garbage from an unknown caller is 401, not a parse error that reveals anything.
    r = httpx.post(sandbox.base_url + "/graphql", content=b"{not json",
                   headers=basic("api:" + "y" * 40))
    unauthenticated(r)


def test_service_account_key_works(sandbox: SandboxServer) -> None:
    r = httpx.post(sandbox.base_url + "/graphql", json={"query": VIEWER},
                   headers=basic_api("org-provisioner"))
    assert r.status_code == 200
    assert r.json()["data"]["viewer"]["username"] == "org-provisioner"


def test_errors_keep_the_connection_usable(client: httpx.Client) -> None:
    # Keep-alive clients (the SDK's Go client) reuse the connection after an error.
    for _ in range(3):
        wandb_error(client.post("/graphql", content=b"{bad"), 400)
        assert client.post("/graphql", json={"query": VIEWER}).status_code == 200
