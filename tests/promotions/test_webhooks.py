"""Webhooks on request, approval, rejection and rollback, delivered to a local receiver:
Slack-compatible and generic JSON bodies; a failing webhook is retried and reported while the
decision still happens."""

from __future__ import annotations

import socket

from wbadmin.core.promotions import parse_ref, webhooks

from .conftest import CHATBOT, Receiver, World

V7 = f"{CHATBOT}:v7"


def hooks(receiver: Receiver, *extra: str) -> str:
    text = f"""
[registries.model.production]
[registries.model.staging]

[[webhooks]]
url = "{receiver.url}/slack"

[[webhooks]]
url = "{receiver.url}/json"
format = "json"
events = ["approve", "rollback"]
"""
    return text + "".join(extra)


def test_request_approve_and_rollback_are_posted(world: World, receiver: Receiver) -> None:
    world.use(hooks(receiver))
    ref = parse_ref(f"{CHATBOT}:v4")
    made = world.as_("carol", lambda s: s.request(ref, "staging", "new tokenizer"))
    assert [d.ok for d in made.notifications] == [True]

    approved = world.as_("grace", lambda s: s.approve(parse_ref(V7), "ship"))
    assert [d.ok for d in approved.notifications] == [True, True]
    world.as_("grace", lambda s: s.rollback(parse_ref(CHATBOT, version=False), "production",
                                            "latency"))

    slack = [b["text"] for b in receiver.bodies("/slack")]
    assert len(slack) == 3
    assert "support-chatbot-ft:v4" in slack[0] and "requested by carol" in slack[0]
    assert "new tokenizer" in slack[0]
    assert "approved by grace" in slack[1] and "alias moved" in slack[1]
    assert "rolled back by grace" in slack[2] and "back on v5" in slack[2]
    generic = receiver.bodies("/json")
    assert [b["event"] for b in generic] == ["approve", "rollback"]
    assert generic[0]["version"] == V7 and generic[0]["moved"] is True
    assert generic[0]["from"] == "v5" and generic[0]["to"] == "v7"
    assert generic[0]["ticket"] == "NLP-231" and generic[0]["source"] == "wbadmin"


def test_rejection_is_posted(world: World, receiver: Receiver) -> None:
    world.use(hooks(receiver))
    world.as_("grace", lambda s: s.reject(parse_ref(V7), "toxicity too high"))
    (body,) = receiver.bodies("/slack")
    assert "rejected by grace" in body["text"] and "toxicity too high" in body["text"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_failing_webhook_is_retried_and_reported_but_the_decision_stands(
        world: World, receiver: Receiver, monkeypatch) -> None:
    monkeypatch.setattr(webhooks, "BACKOFF", 0.01)
    world.use(hooks(receiver, f"""
[[webhooks]]
url = "{receiver.url}/fail"

[[webhooks]]
url = "http://127.0.0.1:{_closed_port()}/down"
"""))
    decision = world.as_("grace", lambda s: s.approve(parse_ref(V7)))

    assert decision.moved
    assert world.version(f"{CHATBOT}:production").version == "v7"
    assert len(decision.notifications) == 4
    failed = [d for d in decision.notifications if not d.ok]
    assert len(failed) == 2
    assert all(d.attempts == webhooks.ATTEMPTS for d in failed)
    assert {d.error for d in failed} == {"HTTP 500", "ConnectError"}
    assert len(receiver.bodies("/fail")) == webhooks.ATTEMPTS
    assert len(receiver.bodies("/slack")) == 1
    # deliveries name scheme://host only, never the path (webhook paths hold secrets)
    assert all(d.where.count("/") == 2 for d in decision.notifications)
