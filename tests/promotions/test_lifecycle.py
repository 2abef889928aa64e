"""The whole lifecycle against the sandbox, checked through the real `wandb` SDK: request,
approve (the alias moves, the tag is cleared), history, rollback (journaled) and its undo."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import key_of
from wbadmin.core import errors as E
from wbadmin.core.client import Client
from wbadmin.core.engine import Engine
from wbadmin.core.journal import Journal
from wbadmin.core.promotions import PolicyDenied, parse_ref

from .conftest import CHATBOT, SDK_PATH, World

pytestmark = pytest.mark.sdk


def sdk_holder(api, alias: str = "production") -> str:
    return api.artifact(f"{SDK_PATH}:{alias}").version


def sdk_tags(api, version: str) -> list[str]:
    return list(api.artifact(f"{SDK_PATH}:{version}").tags)


def test_approve_moves_the_alias_and_clears_the_tag(world: World, sdk) -> None:
    api = sdk("alice")
    assert sdk_holder(api) == "v5"
    assert "promote-to-production" in sdk_tags(api, "v7")
    ref = parse_ref(f"{CHATBOT}:v7")

    decision = world.as_("grace", lambda s: s.approve(ref, "evals look good"))

    assert decision.moved and decision.changed
    api = sdk("alice")
    assert sdk_holder(api) == "v7"
    assert "promote-to-production" not in sdk_tags(api, "v7")
    assert not any(t.startswith("wbadmin-lock-") for t in sdk_tags(api, "v7"))
    meta = api.artifact(f"{SDK_PATH}:v7").metadata["wbadmin"]["promotion"]
    assert meta["status"] == "approved" and meta["previous"] == "v5"
    assert [a["by"] for a in meta["approvals"]] == ["grace"]
    kinds = [(e.kind, e.status) for e in world.journal_entries()]
    assert kinds == [("registry.move_alias", "applied"), ("promotion.record", "applied")]


def test_a_viewer_cannot_approve_and_nothing_changes(world: World, sdk) -> None:
    ref = f"{CHATBOT}:v7"
    before = world.state(ref)
    with pytest.raises(PolicyDenied, match="victor may not approve"):
        world.as_("victor", lambda s: s.approve(parse_ref(ref)))
    assert world.state(ref) == before
    assert sdk_holder(sdk("alice")) == "v5"
    assert world.journal_entries() == []


def test_request_then_approve_then_history(world: World, sdk) -> None:
    ref = parse_ref(f"{CHATBOT}:v4")
    made = world.as_("carol", lambda s: s.request(ref, "staging", "faster decoding"))
    assert made.changed and made.record.requested_by == "carol"
    assert "promote-to-staging" in sdk_tags(sdk("alice"), "v4")
    assert sdk_holder(sdk("alice"), "staging") == "v6"

    world.as_("grace", lambda s: s.approve(ref, "ok"))

    api = sdk("alice")
    assert sdk_holder(api, "staging") == "v4"
    assert "promote-to-staging" not in sdk_tags(api, "v4")
    history = world.as_("alice", lambda s: s.history(ref.at(None)))
    actions = [(h.version, h.action, h.by) for h in history if h.version == "v4"]
    assert actions == [("v4", "request", "carol"), ("v4", "approve", "grace"),
                       ("v4", "promote", "grace")]
    assert next(h for h in history if h.action == "request" and h.version == "v4"
                ).why == "faster decoding"


def test_rollback_returns_the_alias_and_is_undoable(world: World, sdk) -> None:
    ref = parse_ref(f"{CHATBOT}:v7")
    world.as_("grace", lambda s: s.approve(ref))
    assert sdk_holder(sdk("alice")) == "v7"

    back = world.as_("grace", lambda s: s.rollback(ref.at(None), "production", "regression"))

    assert sdk_holder(sdk("alice")) == "v5"
    assert world.record(f"{CHATBOT}:v7").status == "rolled_back"
    move = back.outcomes[0]
    assert move.change.kind == "registry.move_alias" and move.ok

    async def undo() -> None:
        async with Client(world.base_url, key_of("grace"), scim_username="grace") as client:
            with Journal(world.journal_path) as journal:
                outcomes = await Engine(journal, profile="test").undo(move.entry_id, client,
                                                                      "grace")
                assert outcomes[0].ok and outcomes[0].verified

    asyncio.run(undo())
    assert sdk_holder(sdk("alice")) == "v7"


def test_only_registry_admins_roll_back(world: World, sdk) -> None:
    ref = parse_ref(f"{CHATBOT}:v7")
    world.as_("grace", lambda s: s.approve(ref))
    with pytest.raises(PolicyDenied, match="only registry admins"):
        world.as_("bob", lambda s: s.rollback(ref.at(None), "production"))
    assert sdk_holder(sdk("alice")) == "v7"


def test_rollback_of_an_alias_wbadmin_did_not_move_is_refused(world: World) -> None:
    # The demo's reranker-xl production was moved straight through the SDK (no record).
    reranker = CHATBOT.replace("support-chatbot-ft", "reranker-xl")
    with pytest.raises(E.Conflict, match="previous holder is unknown"):
        world.as_("grace", lambda s: s.rollback(parse_ref(reranker, version=False),
                                                "production"))
