"""Registries in the sandbox, driven by the real `wandb` SDK: listing and fetching them,
their user and team members with registry roles, membership edits (registry admins only),
registry-wide collection and version search, and deleting a registry."""

from __future__ import annotations

import pytest

from wbadmin.sandbox import seed_data as story

pytestmark = pytest.mark.sdk

ORG = story.ORG_NAME


def user_roles(registry) -> dict[str, str]:
    return {m.user.username: str(getattr(m.role, "value", m.role))
            for m in registry.user_members()}


def team_roles(registry) -> dict[str, str]:
    return {m.team.name: str(getattr(m.role, "value", m.role))
            for m in registry.team_members()}


def db_roles(db, registry: str) -> dict[str, str]:
    return {r[0]: r[1] for r in db.query(
        "SELECT u.username, pm.role FROM project_members pm JOIN users u ON u.id = pm.user_id "
        "JOIN projects p ON p.id = pm.project_id WHERE p.name = ?",
        (f"wandb-registry-{registry}",))}


def test_registries_lists_what_the_caller_may_see(sdk):
    regs = {r.name: r for r in sdk("alice").registries()}
    assert set(regs) == set(story.REGISTRIES)
    assert regs["model"].visibility == "organization"
    assert regs["dataset"].visibility == "restricted"
    assert regs["model"].full_name == "wandb-registry-model"
    assert regs["model"].organization == ORG
    assert list(regs["model"].artifact_types) == ["model"]
    assert regs["model"].allow_all_artifact_types is False
    # grace belongs to no team of the restricted dataset registry and holds no role there.
    assert {r.name for r in sdk("grace").registries()} == {"model"}


def test_registries_filter_by_name(sdk):
    found = [r.name for r in sdk("alice").registries(filter={"name": {"$regex": "data"}})]
    assert found == ["dataset"]


def test_registry_members_match_the_seed(sdk, sandbox_db):
    registry = sdk("alice").registry("model", organization=ORG)
    expected = {u: regs["model"] for u, (_, _, _, _, regs) in story.IDENTITIES.items()
                if "model" in regs}
    assert user_roles(registry) == expected == db_roles(sandbox_db, "model")
    assert team_roles(registry) == {"llm-platform-eng": "member"}
    team = next(m.team for m in registry.team_members())
    # The team comes with its members (as the SDK keeps them: raw member records).
    assert "alice" in {m.get("username") for m in team.members}
    assert len(registry.members()) == len(expected) + 1


def test_registry_admin_adds_members(sdk, sandbox_db):
    api = sdk("grace")
    registry = api.registry("model", organization=ORG)
    newcomer = sdk("alice").user("aarav.nakamura")
    team = sdk("alice").team("search-relevance")
    registry.add_members(newcomer, team)
    fresh = sdk("alice").registry("model", organization=ORG)
    assert user_roles(fresh)["aarav.nakamura"] == "restricted_viewer"
    assert team_roles(fresh)["search-relevance"] == "restricted_viewer"
    assert db_roles(sandbox_db, "model")["aarav.nakamura"] == "restricted_viewer"


def test_registry_member_cannot_add_members(sdk, sandbox_db):
    registry = sdk("bob").registry("model", organization=ORG)
    newcomer = sdk("alice").user("aarav.nakamura")
    with pytest.raises(Exception, match="permission"):
        registry.add_members(newcomer)
    assert "aarav.nakamura" not in db_roles(sandbox_db, "model")


def test_registry_admin_updates_and_removes_members(sdk, sandbox_db):
    registry = sdk("grace").registry("model", organization=ORG)
    carol = next(m for m in registry.user_members() if m.user.username == "carol")
    registry.update_member(carol.user, "viewer")
    assert user_roles(sdk("alice").registry("model", organization=ORG))["carol"] == "viewer"

    team = next(m for m in registry.team_members() if m.team.name == "llm-platform-eng")
    registry.update_member(team.team, "admin")
    assert team_roles(sdk("alice").registry("model", organization=ORG)) == {
        "llm-platform-eng": "admin"}

    registry.remove_members(carol.user)
    assert "carol" not in user_roles(sdk("alice").registry("model", organization=ORG))
    assert "carol" not in db_roles(sandbox_db, "model")


def test_registry_member_cannot_change_roles(sdk, sandbox_db):
    registry = sdk("bob").registry("model", organization=ORG)
    carol = next(m for m in registry.user_members() if m.user.username == "carol")
    with pytest.raises(Exception, match="permission"):
        registry.update_member(carol.user, "admin")
    with pytest.raises(Exception, match="permission"):
        registry.remove_members(carol.user)
    assert db_roles(sandbox_db, "model")["carol"] == "member"


def test_unknown_role_is_rejected(sdk, sandbox_db):
    registry = sdk("alice").registry("model", organization=ORG)
    carol = next(m for m in registry.user_members() if m.user.username == "carol")
    with pytest.raises(Exception, match="invalid registry role"):
        registry.update_member(carol.user, "owner")
    assert db_roles(sandbox_db, "model")["carol"] == "member"


def test_registry_collections_and_versions(sdk):
    registry = sdk("alice").registry("model", organization=ORG)
    assert {c.name for c in registry.collections()} == set(story.MODEL_COLLECTIONS)
    production = list(registry.versions(filter={"alias": "production"}))
    assert len(production) == len(story.MODEL_COLLECTIONS)
    assert all("production" in v.aliases for v in production)

    pending = list(sdk("alice").registries().versions(
        filter={"tag": {"$regex": "^promote-to-"}}))
    expected = {(c, f"v{v}") for c, v, *_ in story.PENDING_PROMOTIONS}
    assert {(v.name.split(":")[0], v.version) for v in pending} == expected
    accurate = list(registry.versions(filter={"metadata.metrics.accuracy": {"$gte": 0.0}}))
    assert len(accurate) == sum(n for *_, n in story.MODEL_COLLECTIONS.values())


def test_registry_search_hides_restricted_registries(sdk):
    names = {c.name for c in sdk("grace").registries().collections()}
    assert names == set(story.MODEL_COLLECTIONS)
    names = {c.name for c in sdk("alice").registries().collections()}
    assert names == set(story.MODEL_COLLECTIONS) | set(story.DATASET_COLLECTIONS)


def test_org_admin_deletes_a_registry(sdk, sandbox_db):
    sdk("alice").registry("dataset", organization=ORG).delete()
    assert {r.name for r in sdk("alice").registries()} == {"model"}
    assert sandbox_db.scalar("SELECT COUNT(*) FROM projects WHERE name = "
                             "'wandb-registry-dataset'") == 0


def test_registry_member_cannot_delete_a_registry(sdk, sandbox_db):
    with pytest.raises(ValueError):
        sdk("bob").registry("model", organization=ORG).delete()
    assert sandbox_db.scalar("SELECT COUNT(*) FROM projects WHERE name = "
                             "'wandb-registry-model'") == 1
