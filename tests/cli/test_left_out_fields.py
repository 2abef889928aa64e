"""A field the server lacks is left out of what wbadmin asks (issue 17, "features follow the
server"): on first contact the refused query teaches wbadmin what the server lacks (doctor's
checks, once), the read is sent again without it, and its value shows as unknown; later
commands leave it out from the start. `doctor` says so of the same server."""

from __future__ import annotations

import json

from tests.cli.test_server_facts import Recorder, older  # noqa: F401  (fixture)
from wbadmin.sandbox.server_variant import ServerVariant

RUN_COUNT = ServerVariant.of(["Project.runCount"])


def refused(seen: list[tuple[str, str, str]]) -> int:
    """Requests that asked for runCount (which this server refuses)."""
    return sum(1 for _, path, body in seen if path == "/graphql" and "runCount" in body
               and "__type" not in body)


def test_a_missing_field_is_learnt_left_out_and_shown_as_unknown(home, cli, older) -> None:  # noqa: F811
    recorder: Recorder = older(RUN_COUNT)
    first = cli("sync")
    assert first.code == 0, first.err
    assert "Traceback" not in first.err
    seen = recorder.take()
    assert Recorder.probes(seen) > 0  # learnt what the server lacks, once
    assert refused(seen) == 1  # only the first, refused, read asked for it

    r = cli("projects", "data-science-nlp", "--json")
    assert r.code == 0, r.err
    projects = json.loads(r.out)
    assert projects and all(p.get("runs") is None for p in projects), projects
    again = cli("sync")
    assert again.code == 0, again.err
    seen = recorder.take()
    assert refused(seen) == 0 and Recorder.probes(seen) == 0  # known: left out from the start


def test_doctor_says_the_field_is_left_out(home, cli, older) -> None:  # noqa: F811
    older(RUN_COUNT)
    r = cli("doctor", "--json")
    assert r.code == 1
    explorer = {f["name"]: f for f in json.loads(r.out)["features"]}["Explorer"]
    assert explorer["state"] == "degraded"
    assert any("Project.runCount" in line and "leaves it out" in line
               for line in explorer["server_lacks"]), explorer


def test_a_missing_object_field_makes_its_feature_unavailable(home, cli, older) -> None:  # noqa: F811
    older(ServerVariant.of(["Project.artifactCollectionMembership"]))
    r = cli("doctor", "--json")
    assert r.code == 1
    found = {f["name"]: f for f in json.loads(r.out)["features"]}
    assert found["Promotions"]["state"] == "unavailable", found["Promotions"]
    assert any("Project.artifactCollectionMembership" in line
               for line in found["Promotions"]["server_lacks"])


def test_doctor_reports_a_server_without_the_org_fields_it_identifies_with(home, cli,
                                                                          older) -> None:  # noqa: F811
    older(ServerVariant.of(["Organization.orgEntity"]))
    r = cli("doctor", "--json")
    assert r.code == 1, r.err  # reported, not failed on the way to the report
    found = {f["name"]: f for f in json.loads(r.out)["features"]}
    assert any("Organization.orgEntity" in line for f in found.values()
               for line in f["server_lacks"])
