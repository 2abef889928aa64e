"""Doctor's smallest real reads: every read document wbadmin has, as its feature sends it,
and a validation error's wording (graphql-core's, gqlgen's, graphql-go's) read for what the
server lacks."""

from __future__ import annotations

import re

import pytest

from wbadmin.core.doctor_readcheck import lacking
from wbadmin.core.doctor_reads import BEHAVIOUR, NOT_SENT, ROUND_1, ROUND_2, Facts, build
from wbadmin.core.wire_documents import BATCHED_SELECTIONS, all_documents


def unnamed(text: str) -> str:
    """Without its variables' names (the batchers name them per alias)."""
    return re.sub(r"\$\w+", "$", text)


TABLE = {**ROUND_1, **BEHAVIOUR, **ROUND_2}
FACTS = Facts("alice", "alice", "org", "org", "team", True)


def test_every_read_document_is_read_and_no_write_is() -> None:
    documents = all_documents()
    queries = {w for w, text in documents.items() if not text.lstrip().startswith("mutation")}
    assert set(TABLE) == queries - set(NOT_SENT)
    for read in build(TABLE, FACTS):
        assert not read.document.lstrip().startswith("mutation")
        if read.where in BATCHED_SELECTIONS:  # the feature's selection, in its own batcher
            module, name = read.where.rsplit(".", 1)
            selection = getattr(__import__(module, fromlist=[name]), name)
            assert unnamed(selection).strip() in unnamed(read.document)
        else:
            assert read.document is documents[read.where]  # the very string it sends


@pytest.mark.parametrize(("message", "name"), [
    ("Cannot query field 'runCount' on type 'Project'.", "Project.runCount"),
    ('Cannot query field "runCount" on type "Project".', "Project.runCount"),
    ("Unknown argument 'filters' on field 'Entity.projects'.", "Entity.projects(filters:)"),
    ('Unknown argument "filters" on field "Entity.projects".', "Entity.projects(filters:)"),
    ('Unknown argument "filters" on field "projects" of type "Entity".',
     "Entity.projects(filters:)"),
    ("Unknown type 'JSONString'.", "JSONString"),
    ("Variable '$d3_name' is never used.", None),
])
def test_a_validation_error_names_what_the_server_lacks(message: str, name: str | None) -> None:
    assert lacking(message) == name


@pytest.fixture
def gqlgen_like():
    """A server that, like gqlgen, answers a document asking `Project.runCount` with HTTP
    422 and an error that has no `locations`; one that passes `filters` to a team entity's
    projects, with that field's error (an older server's resolver refusing the value); and
    everything else with empty data."""
    import json
    import re
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if "runCount" in body["query"]:
                status, answer = 422, {"errors": [
                    {"message": 'Cannot query field "runCount" on type "Project".'}]}
            else:
                refused = re.findall(r"(d\d+_r0): entity\([^)]*\) \{\s+projects\(\s*filters",
                                     body["query"])
                status, answer = 200, {"data": {}, "errors": [
                    {"message": "filters are not supported on a team entity", "path": [alias]}
                    for alias in refused]}
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_an_error_without_locations_is_found_its_document_by_halves(
        gqlgen_like, monkeypatch: pytest.MonkeyPatch) -> None:
    from wbadmin.core.client import Client
    from wbadmin.core.doctor_readcheck import read_check

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    reads = build(ROUND_1, FACTS)
    async with Client(gqlgen_like, "k" * 40) as client:
        found = await read_check(client, reads)
    asking = {r.where for r in reads if "runCount" in r.document}
    assert asking and set(found.missing) == {"Project.runCount"}
    assert found.missing["Project.runCount"] == asking  # only those, though no line was named
    assert found.verified == {r.where for r in reads} - asking
    assert found.requests < len(reads)  # halves, not one request per document


async def test_a_value_the_server_refuses_at_run_time_is_a_server_lack(
        gqlgen_like, monkeypatch: pytest.MonkeyPatch) -> None:
    from wbadmin.core.client import Client
    from wbadmin.core.doctor import FEATURES, Feature
    from wbadmin.core.doctor_apply import apply_reads
    from wbadmin.core.doctor_readcheck import read_check

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    async with Client(gqlgen_like, "k" * 40) as client:
        found = await read_check(client, build(BEHAVIOUR, FACTS))
    assert set(found.refused) == set(BEHAVIOUR) and found.verified == set(BEHAVIOUR)
    features = {name: Feature(name) for name in FEATURES}
    apply_reads(found, features, everything=False, team_read=True)
    assert features["Quotas"].server_lacks == [
        "the server refused WbadminQuotaChanges: filters are not supported on a team entity",
        "the server refused WbadminQuotaProjects: filters are not supported on a team entity"]
    assert all(not f.server_lacks for n, f in features.items() if n != "Quotas")
