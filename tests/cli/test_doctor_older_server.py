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
    assert any(line.startswith("the server has no Project.runCount")
               for line in found["Explorer"]["server_lacks"])
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


def read_documents() -> list[str]:
    """Every query document wbadmin sends: what doctor reads when introspection is off."""
    from wbadmin.core.doctor_reads import NOT_SENT
    from wbadmin.core.wire_documents import all_documents

    return [w for w, text in all_documents().items()
            if not text.lstrip().startswith("mutation") and w not in NOT_SENT]


def test_introspection_off_every_feature_is_read_and_ready(home, cli, older) -> None:
    older(ServerVariant.of(introspection=False))
    r = cli("doctor", "--json")
    assert r.code == 0, r.err  # nothing is missing: every read went through
    report = json.loads(r.out)
    assert "refused `__type` introspection" in report["schema"]["refused"]
    reads = report["reads"]
    assert reads["documents"] == len(read_documents()) == reads["verified"]
    assert reads["missing"] == {} and reads["refused"] == {}
    assert 1 <= reads["requests"] <= 4  # batched: dozens of documents, a few requests
    found = features(r.out)
    assert all(f["state"] == "ready" and not f["server_lacks"] for f in found.values())
    assert found["Access"]["writes_unchecked"] > 0 and found["Explorer"]["writes_unchecked"] == 0
    text = cli("doctor")
    assert text.code == 0
    assert "mutations cannot be checked without introspection" in text.out
    assert "a feature whose every read is verified is ready" in text.out


def test_introspection_off_a_missing_field_is_named_by_the_reads(home, cli, older) -> None:
    older(ServerVariant.of(["Project.runCount"], introspection=False))
    r = cli("doctor", "--json")
    assert r.code == 1, r.err
    report = json.loads(r.out)
    assert "wbadmin.core.queries.PROJECT" in report["reads"]["missing"]["Project.runCount"]
    found = features(r.out)
    assert found["Explorer"]["state"] == "degraded"
    assert any(line.startswith("the server has no Project.runCount")
               for line in found["Explorer"]["server_lacks"])
    assert found["Onboarding"]["state"] == "degraded"  # its project read asks runCount too
    assert found["Promotions"]["state"] == "ready" and found["Quotas"]["state"] == "ready"
    text = cli("doctor")
    assert text.code == 1 and "Explorer     degraded  server: the server has no " \
        "Project.runCount" in text.out


def test_introspection_off_a_missing_argument_degrades_quotas(home, cli, older) -> None:
    older(ServerVariant.of(["Entity.projects(filters)"], introspection=False))
    r = cli("doctor", "--json")
    assert r.code == 1, r.err
    report = json.loads(r.out)
    assert set(report["reads"]["missing"]["Entity.projects(filters:)"]) == {
        "wbadmin.core.quotas.wire.PROJECTS_SELECTION", "wbadmin.core.quotas.wire.CHANGES_SELECTION"}
    found = features(r.out)
    assert found["Quotas"]["state"] == "degraded"  # its storage and run reads still work
    assert found["Quotas"]["server_lacks"] == ["the server has no Entity.projects(filters:)"]
    assert all(f["state"] == "ready" for n, f in found.items() if n != "Quotas")


@pytest.mark.parametrize("user", ["carol", "victor"])
def test_introspection_off_a_read_refused_to_the_role_is_not_a_server_lack(
        home, cli, older, monkeypatch, user: str) -> None:
    older(ServerVariant.of(introspection=False))
    monkeypatch.setenv("WANDB_API_KEY", key_of(user))
    r = cli("doctor", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["reads"]["role_limits"] == {  # the SDK's user listing: admins only
        "wbadmin.core.access.user_ids.SEARCH_USERS": "permission denied",
        "wbadmin.core.access.service_accounts.SA_USERS": "permission denied"}
    found = features(r.out)
    assert "WbadminSearchUsers is refused: permission denied" in found["Access"]["role_limits"]
    assert all(not f["server_lacks"] and f["state"] == "ready" for f in found.values())


def test_with_introspection_the_requests_stay_bounded(home, cli, older) -> None:
    server = older(ServerVariant.of())

    def counted() -> int:  # as the sandbox counts them (its health check is not counted)
        return httpx.get(f"{server.base_url}/_sandbox/health").json()["requests"]

    before = counted()
    r = cli("doctor", "--json")
    assert r.code == 0, r.err
    assert counted() - before <= 15  # identity, every check, `__type`, the argument reads
    reads = json.loads(r.out)["reads"]
    assert reads["documents"] == 2 and reads["requests"] == 1 and reads["verified"] == 2


def test_a_cap_on_root_fields_makes_the_probes_smaller(home, cli, older) -> None:
    older(ServerVariant.of(max_root_fields=5))
    r = cli("doctor", "--json")
    assert r.code == 0, r.err
    schema = json.loads(r.out)["schema"]
    assert schema["missing"] == {} and schema["refused"] is None
    assert schema["types_per_request"] <= 5


def test_introspection_off_a_cap_on_root_fields_makes_the_reads_smaller(home, cli,
                                                                        older) -> None:
    older(ServerVariant.of(introspection=False, max_root_fields=5))
    r = cli("doctor", "--json")
    assert r.code == 0, r.err  # refused for their size, not their content: asked in halves
    reads = json.loads(r.out)["reads"]
    assert reads["verified"] == reads["documents"] == len(read_documents())
    assert reads["per_request"] <= 5 and reads["refused"] == {}


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


