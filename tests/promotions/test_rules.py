"""The policy at work over real HTTP: asking twice, separation of duties, N-of-M approvals,
approvals that wait for an admin, gates, required fields, reject and cancel rules, and bad
input that changes nothing."""

from __future__ import annotations

import pytest

from wbadmin.core import errors as E
from wbadmin.core.promotions import NotPending, PolicyDenied, parse_ref

from .conftest import CHATBOT, World

V7 = f"{CHATBOT}:v7"


def test_asking_twice_changes_nothing(world: World) -> None:
    ref = parse_ref(f"{CHATBOT}:v4")
    first = world.as_("carol", lambda s: s.request(ref, "staging", "hard negatives"))
    state = world.state(str(ref))
    again = world.as_("carol", lambda s: s.request(ref, "staging", "hard negatives"))
    assert first.changed and not again.changed
    assert "already requested" in again.message
    assert world.state(str(ref)) == state
    with pytest.raises(E.Conflict, match="pending request to 'staging'"):
        world.as_("carol", lambda s: s.request(ref, "production", "skip staging"))
    assert world.state(str(ref)) == state


def test_a_viewer_cannot_request(world: World) -> None:
    ref = f"{CHATBOT}:v4"
    before = world.state(ref)
    with pytest.raises(E.PermissionDenied):
        world.as_("victor", lambda s: s.request(parse_ref(ref), "staging", "please"))
    assert world.state(ref) == before


def test_a_requester_never_approves_their_own_request(world: World) -> None:
    world.use("""
[registries.model.production]
users = ["bob", "carol"]
""")
    before = world.state(V7)
    with pytest.raises(PolicyDenied, match="requester never approves"):
        world.as_("bob", lambda s: s.approve(parse_ref(V7)))
    assert world.state(V7) == before
    # ... even an org admin who asked for it
    ref = parse_ref(f"{CHATBOT}:v3")
    world.as_("alice", lambda s: s.request(ref, "production", "alice asks"))
    with pytest.raises(PolicyDenied, match="requester never approves"):
        world.as_("alice", lambda s: s.approve(ref))


def test_two_of_many_approvals_by_different_identities(world: World) -> None:
    world.use("""
[registries.model.production]
approvals = 2
users = ["carol"]
""")
    first = world.as_("carol", lambda s: s.approve(parse_ref(V7), "numbers ok"))
    assert first.changed and not first.moved
    assert "1 of 2" in first.message
    assert world.version(f"{CHATBOT}:production").version == "v5"
    again = world.as_("carol", lambda s: s.approve(parse_ref(V7)))
    assert not again.changed and "already approved" in again.message
    with pytest.raises(PolicyDenied, match="victor may not approve"):
        world.as_("victor", lambda s: s.approve(parse_ref(V7)))

    second = world.as_("grace", lambda s: s.approve(parse_ref(V7), "ship it"))

    assert second.moved
    assert world.version(f"{CHATBOT}:production").version == "v7"
    record = world.record(V7)
    assert record.status == "approved" and record.approvers == ["carol", "grace"]


def test_a_named_approver_who_is_not_an_admin_leaves_the_move_to_an_admin(world: World) -> None:
    world.use("""
[registries.model.production]
approvals = 1
registry_admins = false
teams = ["data-science-nlp"]
""")
    done = world.as_("carol", lambda s: s.approve(parse_ref(V7)))
    assert done.changed and not done.moved
    assert "waits for a registry admin" in (done.waiting or "")
    assert world.record(V7).status == "pending"
    assert world.version(f"{CHATBOT}:production").version == "v5"
    # grace is neither in the team nor allowed as an admin by this policy
    with pytest.raises(PolicyDenied, match="grace may not approve"):
        world.as_("grace", lambda s: s.approve(parse_ref(V7)))
    world.use("""
[registries.model.production]
approvals = 1
teams = ["data-science-nlp"]
""")
    moved = world.as_("grace", lambda s: s.approve(parse_ref(V7)))
    assert moved.moved and world.version(f"{CHATBOT}:production").version == "v7"


def test_gates_block_until_they_pass(world: World) -> None:
    accuracy = world.version(V7).metadata["metrics"]["accuracy"]
    world.use("""
[registries.model.production]
gates = ["metrics.accuracy >= 0.999", "eval.toxicity <= 0.5"]
""")
    before = world.state(V7)
    detail = world.as_("grace", lambda s: s.show(parse_ref(V7)))
    assert detail.policy is not None and not detail.policy.satisfied
    assert [g.ok for g in detail.policy.gates] == [False, True]
    assert "metrics.accuracy >= 0.999" in detail.why_not[0]
    with pytest.raises(PolicyDenied, match=r"gate metrics\.accuracy >= 0\.999 fails"):
        world.as_("grace", lambda s: s.approve(parse_ref(V7)))
    assert world.state(V7) == before

    world.use(f"""
[registries.model.production]
gates = ["metrics.accuracy >= {accuracy - 0.01:.4f}", "eval.toxicity <= 0.5"]
""")
    assert world.as_("grace", lambda s: s.approve(parse_ref(V7))).moved


def test_a_required_ticket_is_checked_on_request(world: World) -> None:
    world.use("""
[registries.model.staging]
required = { ticket = "[A-Z]+-[0-9]+" }
""")
    ref = parse_ref(f"{CHATBOT}:v4")
    before = world.state(str(ref))
    with pytest.raises(E.BadRequest, match="ticket is required"):
        world.as_("carol", lambda s: s.request(ref, "staging", "no ticket"))
    with pytest.raises(E.BadRequest, match="does not match"):
        world.as_("carol", lambda s: s.request(ref, "staging", "bad", "nlp 12"))
    assert world.state(str(ref)) == before
    made = world.as_("carol", lambda s: s.request(ref, "staging", "ok", "NLP-12"))
    assert made.record.ticket == "NLP-12"


def test_reject_needs_a_reason_and_an_approver(world: World) -> None:
    before = world.state(V7)
    with pytest.raises(E.BadRequest, match="needs a reason"):
        world.as_("grace", lambda s: s.reject(parse_ref(V7), "  "))
    with pytest.raises(PolicyDenied, match="victor may not decide"):
        world.as_("victor", lambda s: s.reject(parse_ref(V7), "nope"))
    with pytest.raises(PolicyDenied, match="use `wbadmin promote cancel`"):
        world.as_("bob", lambda s: s.reject(parse_ref(V7), "changed my mind"))
    assert world.state(V7) == before

    done = world.as_("grace", lambda s: s.reject(parse_ref(V7), "toxicity regressed"))

    record = world.record(V7)
    assert done.changed and record.status == "rejected"
    assert record.reason == "toxicity regressed"
    assert "promote-to-production" not in world.version(V7).tags
    with pytest.raises(NotPending, match="rejected by grace"):
        world.as_("grace", lambda s: s.approve(parse_ref(V7)))


def test_only_the_requester_cancels(world: World) -> None:
    before = world.state(V7)
    with pytest.raises(PolicyDenied, match=r"only the requester \(bob\)"):
        world.as_("grace", lambda s: s.cancel(parse_ref(V7)))
    assert world.state(V7) == before
    world.as_("bob", lambda s: s.cancel(parse_ref(V7), "superseded"))
    assert world.record(V7).status == "cancelled"
    assert "promote-to-production" not in world.version(V7).tags


@pytest.mark.parametrize("ref, target, error, words", [
    (f"{CHATBOT}:v99", "production", E.NotFound, "no such version"),
    (f"{CHATBOT}:no-such-alias", "production", E.NotFound, "no such version or alias"),
    (f"{CHATBOT}:v4", "prod", E.BadRequest, "not a protected promotion target"),
    (f"{CHATBOT}:v4", "latest", E.BadRequest, "set by W&B itself"),
    (f"{CHATBOT}:v5", "production", E.Conflict, "already holds 'production'"),
    ("inference-systems/model/no-such-collection:v1", "production", E.NotFound,
     "no such version"),
])
def test_bad_requests_are_refused_and_change_nothing(world: World, ref: str, target: str,
                                                     error: type, words: str) -> None:
    before = world.state(f"{CHATBOT}:v4")
    with pytest.raises(error, match=words):
        world.as_("carol", lambda s: s.request(parse_ref(ref), target, "x"))
    assert world.state(f"{CHATBOT}:v4") == before
    assert world.journal_entries() == []


def test_decisions_on_a_version_without_a_request(world: World) -> None:
    with pytest.raises(E.NotFound, match="no promotion request"):
        world.as_("grace", lambda s: s.approve(parse_ref(f"{CHATBOT}:v2")))
    with pytest.raises(E.NotFound, match="no such version"):
        world.as_("grace", lambda s: s.show(parse_ref(f"{CHATBOT}:v42")))


def test_the_diff_shows_the_producing_runs_metrics(world: World, sandbox_db) -> None:
    """The detail compares what the runs that produced both versions recorded too."""
    import json

    detail = world.as_("alice", lambda s: s.show(parse_ref(V7)))
    rows = {r["key"]: r for r in detail.diff}
    loss = json.loads(sandbox_db.scalar(
        "SELECT r.summary FROM runs r JOIN artifacts a ON a.created_by_run_id = r.id JOIN "
        "artifact_collections c ON c.id = a.sequence_id WHERE c.name = 'support-chatbot-ft' "
        "AND a.version_index = 7"))["loss"]
    assert rows["run.loss"]["candidate"] == loss
    assert "run._runtime" not in rows
    assert rows["run.accuracy"]["current"] is not None  # v5, the production holder
