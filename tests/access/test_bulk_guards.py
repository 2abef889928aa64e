"""Guard rails and bulk plans (marked people, CSV), planned from a cache synced over HTTP."""

from __future__ import annotations

import pytest

from wbadmin.core.access import bulk
from wbadmin.core.access.people import AccessError


def test_demoting_the_last_team_admin_needs_a_typed_confirmation(service) -> None:
    review = service.review(service.set_team_role("ai-governance", "grace", "member"))
    assert [c.kind for c in review.concerns] == ["last_team_admin"]
    assert review.phrase == "ai-governance"
    assert "ai-governance would have no admin left (now: grace)" in review.concerns[0].message


def test_removing_the_last_team_admin_is_caught_too(service) -> None:
    review = service.review(service.remove_from_team("ai-governance", "grace"))
    assert review.phrase == "ai-governance"


def test_demoting_yourself_needs_a_typed_confirmation(service) -> None:
    review = service.review(service.set_org_role("alice", "member"))
    assert [c.kind for c in review.concerns] == ["self_demotion"]
    assert review.phrase == "alice" and "org role admin → member" in review.concerns[0].message
    team = service.review(service.set_team_role("ml-infra", "alice", "member"))
    assert {c.kind for c in team.concerns} >= {"self_demotion"}


def test_demoting_every_org_admin_is_caught(service) -> None:
    admins = ["alice", "dana.levi", "rosa.moreno"]
    planned = bulk.plan_marked(service, admins, "set_org_role", role="member")
    assert planned.ok and len(planned.plan) == 3
    kinds = {c.kind for c in service.review(planned.plan).concerns}
    assert {"last_org_admin", "self_demotion"} <= kinds


def test_ordinary_changes_need_no_typed_confirmation(service) -> None:
    assert service.review(service.set_team_role("data-science-nlp", "carol", "admin")).phrase \
        is None


def test_marked_people_get_one_plan(service) -> None:
    planned = bulk.plan_marked(service, ["carol", "victor", "bob"], "set_team_role",
                               team="data-science-nlp", role="viewer")
    assert planned.ok
    assert [r.action for r in planned.rows] == ["member → viewer", "no change", "admin → viewer"]
    assert [c.target for c in planned.plan] == ["data-science-nlp/carol",
                                                "data-science-nlp/bob"]


def test_a_bad_mark_makes_the_whole_plan_empty(service) -> None:
    planned = bulk.plan_marked(service, ["carol", "nobody"], "remove_from_team",
                               team="ml-infra")
    assert not planned.ok and planned.plan.is_empty
    assert planned.error_lines()[0].startswith("line 1: carol is not a member of ml-infra")


CSV_GOOD = """email,team,role
carol@inference-systems.ai,data-science-nlp,admin
grace@inference-systems.ai,ml-infra,member
bob@inference-systems.ai,data-science-nlp,admin
"""


def test_csv_rows_become_one_plan_with_an_outcome_per_row(service) -> None:
    planned = bulk.plan_csv(service, CSV_GOOD)
    assert planned.ok
    assert [(r.line, r.action) for r in planned.rows] == [
        (2, "member → admin"), (3, "add member"), (4, "no change")]
    assert [c.kind for c in planned.plan] == ["team.set_role", "team.add_member"]


def test_csv_bad_rows_are_reported_by_line_and_nothing_is_planned(service) -> None:
    text = CSV_GOOD + "\n".join([
        "not-an-email,ml-infra,member",
        "nobody@inference-systems.ai,ml-infra,member",
        "carol@inference-systems.ai,no-such-team,member",
        "carol@inference-systems.ai,ml-infra,owner",
        "carol@inference-systems.ai,data-science-nlp,viewer",
        "dana.levi@inference-systems.ai,ml-infra,auditor",
        "too,few"]) + "\n"
    planned = bulk.plan_csv(service, text)
    assert planned.plan.is_empty
    lines = planned.error_lines()
    assert lines[0] == "line 5: malformed email 'not-an-email'"
    assert lines[1].startswith("line 6: unknown user 'nobody@inference-systems.ai'")
    assert lines[2] == "line 7: unknown team 'no-such-team'"
    assert lines[3].startswith("line 8: unknown role 'owner'")
    assert lines[4] == ("line 9: carol@inference-systems.ai in data-science-nlp is already "
                        "on line 2")
    assert lines[5].startswith("line 10: dana.levi cannot get the custom role 'auditor'")
    assert lines[6].startswith("line 11: expected 3 columns")


def test_an_empty_csv_is_refused(service) -> None:
    with pytest.raises(AccessError, match="no rows"):
        bulk.plan_csv(service, "email,team,role\n\n")
