"""Artifacts in the sandbox, driven by the real `wandb` SDK: fetching registry versions by
alias and by version, editing aliases, tags and metadata with `save()`, protected aliases,
and listing collections. Every change is checked on a fresh fetch."""

from __future__ import annotations

import pytest
from wandb.errors import CommError

pytestmark = pytest.mark.sdk

ORG = "inference-systems"
CHATBOT = f"{ORG}/wandb-registry-model/support-chatbot-ft"
SOURCE = "llm-platform-eng/fine-tune-llama-3-support/support-chatbot-ft"


def fetch(api, ref: str):
    """A fresh copy: a new Api has no artifact cache."""
    return api.artifact(f"{CHATBOT}:{ref}")


def test_fetch_by_alias_and_by_version(sdk):
    api = sdk("alice")
    prod = fetch(api, "production")
    assert prod.version == "v5"
    assert "production" in prod.aliases
    assert prod.type == "model"
    assert prod.source_name == "support-chatbot-ft:v5"
    assert prod.source_project == "fine-tune-llama-3-support"
    assert "accuracy" in prod.metadata["metrics"]

    candidate = fetch(api, "v7")
    assert candidate.version == "v7"
    assert set(candidate.aliases) == {"latest"}
    # The seeded pending promotion: a tag plus a record in the metadata.
    assert "promote-to-production" in candidate.tags
    request = candidate.metadata["wbadmin"]["promotion"]
    assert request["target"] == "production" and request["status"] == "pending"


def test_restricted_registry_is_invisible_to_non_members(sdk):
    with pytest.raises((ValueError, CommError)):
        sdk("grace").artifact(f"{ORG}/wandb-registry-dataset/support-tickets-gold:gold")
    gold = sdk("alice").artifact(f"{ORG}/wandb-registry-dataset/support-tickets-gold:gold")
    assert gold.version == "v2"


def test_add_and_remove_alias_and_tag(sdk):
    api = sdk("alice")
    art = fetch(api, "v3")
    art.aliases.append("candidate")
    art.tags.append("reviewed")
    art.save()
    assert "candidate" in art.aliases  # rebuilt from the UpdateArtifact answer

    again = fetch(sdk("alice"), "candidate")
    assert again.version == "v3"
    assert "reviewed" in again.tags

    again.aliases.remove("candidate")
    again.tags.remove("reviewed")
    again.save()
    fresh = fetch(sdk("alice"), "v3")
    assert "candidate" not in fresh.aliases
    assert "reviewed" not in fresh.tags
    with pytest.raises((ValueError, CommError)):
        fetch(sdk("alice"), "candidate")


def test_viewer_cannot_add_any_alias(sdk):
    art = fetch(sdk("victor"), "v3")  # a registry viewer may look
    art.aliases.append("candidate")
    with pytest.raises(CommError, match="permission"):
        art.save()
    assert set(fetch(sdk("alice"), "v3").aliases) == set()


def test_member_adds_an_unprotected_alias(sdk):
    art = fetch(sdk("bob"), "v4")
    art.aliases.append("candidate")
    art.save()
    assert fetch(sdk("alice"), "candidate").version == "v4"


def test_moving_staging_takes_it_from_the_previous_holder(sdk):
    assert fetch(sdk("alice"), "staging").version == "v6"
    art = fetch(sdk("grace"), "v4")
    art.aliases.append("staging")
    art.save()
    assert fetch(sdk("alice"), "staging").version == "v4"
    assert "staging" not in fetch(sdk("alice"), "v6").aliases


def test_registry_admin_sets_protected_production(sdk):
    art = fetch(sdk("grace"), "v7")
    art.aliases.append("production")
    art.save()
    assert fetch(sdk("alice"), "production").version == "v7"
    assert "production" not in fetch(sdk("alice"), "v5").aliases


def test_registry_member_cannot_set_protected_production(sdk):
    art = fetch(sdk("bob"), "v7")
    art.aliases.append("production")
    with pytest.raises(CommError, match="permission"):
        art.save()
    assert fetch(sdk("alice"), "production").version == "v5"


def test_registry_member_cannot_remove_protected_alias(sdk):
    art = fetch(sdk("bob"), "staging")
    art.aliases.remove("staging")
    with pytest.raises(CommError, match="permission"):
        art.save()
    assert fetch(sdk("alice"), "staging").version == "v6"


def test_metadata_and_description_round_trip(sdk):
    art = fetch(sdk("alice"), "v7")
    art.metadata["wbadmin"]["promotion"]["status"] = "approved"
    art.description = "approved for production"
    art.save()
    fresh = fetch(sdk("alice"), "v7")
    assert fresh.metadata["wbadmin"]["promotion"]["status"] == "approved"
    assert fresh.metadata["metrics"] == art.metadata["metrics"]
    assert fresh.description == "approved for production"


def test_metadata_edit_without_write_access_changes_nothing(sdk):
    # bob is no member of the source team: the SDK skips UpdateArtifact for him.
    art = fetch(sdk("bob"), "v7")
    art.metadata["wbadmin"]["promotion"]["status"] = "approved"
    art.save()
    assert fetch(sdk("alice"), "v7").metadata["wbadmin"]["promotion"]["status"] == "pending"


def test_artifact_collections_and_their_aliases(sdk, sandbox_db):
    api = sdk("alice")
    collections = list(api.artifact_collections(f"{ORG}/wandb-registry-model", "model"))
    expected = {r[0] for r in sandbox_db.query(
        "SELECT c.name FROM artifact_collections c JOIN projects p ON p.id = c.project_id "
        "WHERE p.name = 'wandb-registry-model'")}
    assert {c.name for c in collections} == expected
    chatbot = next(c for c in collections if c.name == "support-chatbot-ft")
    assert not chatbot.is_sequence()
    assert set(chatbot.aliases) == {"latest", "production", "staging"}
    assert "llm-platform-eng" in chatbot.tags

    source = list(api.artifact_collections("llm-platform-eng/fine-tune-llama-3-support",
                                           "model"))
    assert [c.name for c in source] == ["support-chatbot-ft"]
    assert source[0].is_sequence()
    assert set(source[0].aliases) == {"latest"}


def test_collection_tags_round_trip(sdk):
    coll = next(c for c in sdk("grace").artifact_collections(
        f"{ORG}/wandb-registry-model", "model") if c.name == "toxicity-filter")
    coll.tags = [*coll.tags, "safety"]
    coll.save()
    fresh = next(c for c in sdk("alice").artifact_collections(
        f"{ORG}/wandb-registry-model", "model") if c.name == "toxicity-filter")
    assert "safety" in fresh.tags


def test_viewer_cannot_tag_a_collection(sdk):
    coll = next(c for c in sdk("victor").artifact_collections(
        f"{ORG}/wandb-registry-model", "model") if c.name == "toxicity-filter")
    coll.tags = [*coll.tags, "safety"]
    with pytest.raises(CommError):
        coll.save()
    fresh = next(c for c in sdk("alice").artifact_collections(
        f"{ORG}/wandb-registry-model", "model") if c.name == "toxicity-filter")
    assert "safety" not in fresh.tags


def test_source_artifact_in_its_team_project(sdk):
    src = sdk("alice").artifact(f"{SOURCE}:latest")
    assert src.version == "v7"
    assert not src.is_link
    assert src.aliases == ["latest"]
    # A restricted project is invisible to people outside it.
    with pytest.raises((ValueError, CommError)):
        sdk("bob").artifact("ai-governance/red-team-evals/red-team-prompts:latest")


def test_link_and_unlink_into_a_registry(sdk, sandbox_db):
    src = sdk("alice").artifact(f"{SOURCE}:v2")
    linked = src.link(f"{ORG}/wandb-registry-model/chatbot-experiments", aliases=["candidate"])
    assert linked.version == "v0"
    fresh = sdk("alice").artifact(f"{ORG}/wandb-registry-model/chatbot-experiments:candidate")
    assert fresh.source_version == "v2"
    assert set(fresh.aliases) == {"latest", "candidate"}
    fresh.unlink()
    assert sandbox_db.scalar(
        "SELECT COUNT(*) FROM memberships m JOIN artifact_collections c ON c.id = "
        "m.collection_id WHERE c.name = 'chatbot-experiments'") == 0


def test_viewer_cannot_link_into_a_registry(sdk, sandbox_db):
    src = sdk("victor").artifact("data-science-nlp/intent-classifier/intent-classifier:v1")
    with pytest.raises(CommError, match="permission"):
        src.link(f"{ORG}/wandb-registry-model/intent-experiments")
    assert sandbox_db.scalar("SELECT COUNT(*) FROM artifact_collections "
                             "WHERE name = 'intent-experiments'") == 0
