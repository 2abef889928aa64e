"""`doctor` against the sandbox playing an older or stricter W&B (`ServerVariant`): a field
or an argument it lacks, introspection off, a cap on root fields. Each is named with the
feature it degrades, and the exit code says whether the server lacks something."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import basic_api, key_of
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.server import SandboxServer
from wbadmin.sandbox.server_variant import ServerVariant


@pytest.fixture
def older(sandbox_db: Database, monkeypatch: pytest.MonkeyPatch):
    servers: list[SandboxServer] = []

    def serve(variant: ServerVariant) -> SandboxServer:
        server = SandboxServer(sandbox_db, variant=variant)
        server.start()
        servers.append(server)
        monkeypatch.setenv("WANDB_BASE_URL", server.base_url)
        monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        return server

    yield serve
    for server in servers:
        server.stop()


def features(out: str) -> dict[str, dict]:
    return {f["name"]: f for f in json.loads(out)["features"]}


def test_a_field_the_server_lacks_degrades_its_features(home, cli, older) -> None:
    older(ServerVariant.of(["Project.runCount"]))
    r = cli("doctor", "--json")
    assert r.code == 1, r.err
    found = features(r.out)
    assert found["Explorer"]["state"] == "degraded"
    assert "the server has no Project.runCount" in found["Explorer"]["server_lacks"]
    assert found["Promotions"]["state"] == "ready"
    assert json.loads(r.out)["schema"]["missing"]["Project.runCount"]
    text = cli("doctor")
    assert text.code == 1 and "Explorer     degraded  server: the server has no " \
        "Project.runCount" in text.out


def test_an_argument_the_server_lacks_is_named(home, cli, older) -> None:
    older(ServerVariant.of(["Entity.projects(filters)"]))
    r = cli("doctor", "--json")
    assert r.code == 1
    found = features(r.out)
    assert "the server has no Entity.projects(filters:)" in found["Quotas"]["server_lacks"]
    assert found["Explorer"]["server_lacks"] == []


def test_introspection_off_is_unverified_not_a_failure(home, cli, older) -> None:
    older(ServerVariant.of(introspection=False))
    r = cli("doctor", "--json")
    assert r.code == 0, r.err  # nothing is known to be missing
    report = json.loads(r.out)
    assert "refused `__type` introspection" in report["schema"]["refused"]
    found = features(r.out)
    assert found["Explorer"]["state"] == "unverified"
    assert found["Audit"]["state"] == "ready"  # REST: no GraphQL to check


def test_a_cap_on_root_fields_makes_the_probes_smaller(home, cli, older) -> None:
    older(ServerVariant.of(max_root_fields=5))
    r = cli("doctor", "--json")
    assert r.code == 0, r.err
    schema = json.loads(r.out)["schema"]
    assert schema["missing"] == {} and schema["refused"] is None
    assert schema["types_per_request"] <= 5


def test_the_sandbox_answers_as_an_older_server_would(older) -> None:
    server = older(ServerVariant.of(["Project.runCount"], introspection=False,
                                    max_root_fields=1))
    url = f"{server.base_url}/graphql"
    lacking = httpx.post(url, json={"query": '{ project(name: "x", entityName: "y") '
                                             "{ runCount } }"}, headers=basic_api("alice"))
    assert lacking.status_code == 400
    assert "Cannot query field 'runCount' on type 'Project'" in lacking.text
    probe = httpx.post(url, json={"query": '{ __type(name: "Project") { name } }'},
                       headers=basic_api("alice"))
    assert probe.status_code == 400 and "introspection" in probe.text.lower()
    two = httpx.post(url, json={"query": "{ a: viewer { id } b: viewer { id } }"},
                     headers=basic_api("alice"))
    assert two.status_code == 400 and "QUERY_COMPLEXITY" in two.text


@pytest.mark.parametrize("bad", ["Project", "Nope.field", "Project.nope",
                                 "Entity.projects(nope)"])
def test_a_bad_without_is_one_clear_line(cli, bad: str) -> None:
    r = cli("sandbox", "serve", "--without", bad, "--port", "0")
    assert r.code == 2 and len(r.err_lines) == 1 and "bad --without" in r.err, r.err


