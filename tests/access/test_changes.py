"""Access changes applied through the engine over real HTTP, read back from the sandbox.
Each success has a forbidden twin: an identity without the right is refused and nothing
changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import key_of
from wbadmin import clock
from wbadmin.core.access import AccessError, AccessService
from wbadmin.core.access.changes import Deactivate, Reactivate
from wbadmin.core.changes import NotReversible, Outcome, Plan
from wbadmin.core.client import Client
from wbadmin.core.engine import Engine
from wbadmin.core.journal import Journal
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_demo
from wbadmin.sandbox.server import SandboxServer

from .conftest import db_team_roles, scim_user, synced_cache, team_role


def run(base_url: str, plan: Plan, actor: str, journal: Path) -> list[Outcome]:
    async def go() -> list[Outcome]:
        async with Client(base_url, key_of(actor), scim_username=actor) as client:
            with Journal(journal) as j:
                return await Engine(j, profile="test").apply(plan, client, actor)
    return asyncio.run(go())


def service_of(base_url: str, username: str) -> AccessService:
    return AccessService(synced_cache(base_url, username))


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


def test_add_to_team_with_a_custom_role_via_scim_and_undo(sandbox, service, jpath) -> None:
    url = sandbox.base_url
    plan = service.add_to_team("ml-infra", "carol@inference-systems.ai", "auditor")
    assert [c.kind for c in plan] == ["team.add_member"] and plan.changes[0].via.startswith("SCIM")
    (outcome,) = run(url, plan, "alice", jpath)
    assert outcome.ok and outcome.verified, outcome.result
    assert team_role(url, "carol", "ml-infra") == "auditor"
    undo = Plan(changes=[plan.changes[0].inverse()])
    assert run(url, undo, "alice", jpath)[0].ok
    assert team_role(url, "carol", "ml-infra") is None


def test_custom_roles_only_for_org_members(service, sandbox_db) -> None:
    plan = service.add_to_team("ml-infra", "dana.levi", "auditor")  # dana is an org admin
    with pytest.raises(AccessError, match="only to users whose org role is member"):
        service.review(plan)
    with pytest.raises(AccessError, match="unknown role 'Auditor'"):
        service.add_to_team("ml-infra", "carol", "Auditor")  # custom names are case-sensitive


def test_team_admin_without_scim_adds_through_graphql(sandbox, sandbox_db, jpath) -> None:
    bob = service_of(sandbox.base_url, "bob")
    assert not bob.scim
    plan = bob.add_to_team("data-science-nlp", "grace", "member")
    assert plan.changes[0].via == "GraphQL createInvite"
    (outcome,) = run(sandbox.base_url, plan, "bob", jpath)
    assert outcome.ok and outcome.verified, outcome.result
    assert db_team_roles(sandbox_db, "data-science-nlp")["grace"] == "member"
    with pytest.raises(AccessError, match=r"SCIM is not available to bob.*GraphQL can still"):
        bob.add_to_team("data-science-nlp", "dana.levi", "viewer")
    with pytest.raises(AccessError, match="SCIM is not available"):
        bob.set_team_role("data-science-nlp", "carol", "admin")


def test_forbidden_twin_graphql_add_to_a_team_bob_does_not_admin(sandbox, sandbox_db,
                                                                 jpath) -> None:
    from wbadmin.core.access.changes import AddToTeam

    before = db_team_roles(sandbox_db, "ml-infra")
    plan = Plan(changes=[AddToTeam.make("ml-infra", "grace", "member", scim=False)])
    (outcome,) = run(sandbox.base_url, plan, "bob", jpath)
    assert outcome.status == "failed" and outcome.result.startswith("PermissionDenied")
    assert db_team_roles(sandbox_db, "ml-infra") == before


def test_invite_and_cancel_invite(sandbox, sandbox_db, service, jpath) -> None:
    url, email = sandbox.base_url, "new.person@example.com"
    with pytest.raises(AccessError, match="malformed email"):
        service.invite("product-ai-agents", "new.person@example")
    plan = service.invite("product-ai-agents", email)
    (outcome,) = run(url, plan, "alice", jpath)
    assert outcome.ok and outcome.verified, outcome.result
    assert sandbox_db.scalar("SELECT COUNT(*) FROM invites WHERE email = ?", (email,)) == 1
    cancel = Plan(changes=[plan.changes[0].inverse()])
    assert [c.kind for c in cancel] == ["team.cancel_invite"]
    assert run(url, cancel, "alice", jpath)[0].ok
    assert sandbox_db.scalar("SELECT COUNT(*) FROM invites WHERE email = ?", (email,)) == 0


def test_invite_forbidden_for_a_plain_member(sandbox, sandbox_db, jpath) -> None:
    carol = service_of(sandbox.base_url, "carol")
    plan = carol.invite("product-ai-agents", "someone@example.com")
    (outcome,) = run(sandbox.base_url, plan, "carol", jpath)
    assert outcome.status == "failed" and outcome.result.startswith("PermissionDenied")
    assert sandbox_db.scalar("SELECT COUNT(*) FROM invites WHERE email = ?",
                             ("someone@example.com",)) == 0


def test_cancel_a_seeded_invite_by_email(sandbox, sandbox_db, service, jpath) -> None:
    plan = service.cancel_invite("llm-platform-eng", "contractor@partner-labs.io")
    assert run(sandbox.base_url, plan, "alice", jpath)[0].ok
    assert sandbox_db.scalar("SELECT COUNT(*) FROM invites WHERE email = ?",
                             ("contractor@partner-labs.io",)) == 0


def test_org_role_change_and_its_forbidden_twin(sandbox, service, jpath) -> None:
    url = sandbox.base_url
    (outcome,) = run(url, service.set_org_role("dana.levi", "member"), "alice", jpath)
    assert outcome.ok and outcome.verified
    assert scim_user(url, "dana.levi")["organizationRole"] == "member"
    with pytest.raises(AccessError, match="SCIM is not available to bob") as err:
        service_of(url, "bob").set_org_role("carol", "admin")
    assert err.value.kind == "permission"
    assert scim_user(url, "carol")["organizationRole"] == "member"


def test_deactivate_and_reactivate_on_dedicated(sandbox, service, jpath) -> None:
    url = sandbox.base_url
    plan = service.deactivate("carol")
    assert plan.changes[0].reversible and plan.changes[0].after == {"active": False}
    assert run(url, plan, "alice", jpath)[0].verified
    assert scim_user(url, "carol")["active"] is False
    again = AccessService(synced_cache(url))
    assert run(url, again.reactivate("carol"), "alice", jpath)[0].verified
    assert scim_user(url, "carol")["active"] is True


@pytest.fixture
def multi_tenant():
    db = Database()
    seed_demo(db, seed=0, now=1_795_000_000, deployment="multi_tenant")
    server = SandboxServer(db)
    server.start()
    yield server
    server.stop()
    db.close()


def test_multi_tenant_deactivation_removes_and_cannot_be_undone(multi_tenant, jpath) -> None:
    url = multi_tenant.base_url
    service = service_of(url, "alice")
    assert service.deployment == "multi_tenant"
    plan = service.deactivate("carol")
    change = plan.changes[0]
    assert change.after is None and not change.reversible
    assert "removes from the org" in change.summary()
    with pytest.raises(NotReversible):
        change.inverse()
    assert run(url, plan, "alice", jpath)[0].verified
    assert scim_user(url, "carol") is None
    with pytest.raises(AccessError, match="Multi-tenant Cloud cannot reactivate") as err:
        service.reactivate("victor")
    assert err.value.kind == "unsupported"
    # Sent anyway, W&B's 400 comes back as a failure and nothing changes.
    (outcome,) = run(url, Plan(changes=[Reactivate.make("ivan.petrov")]), "alice", jpath)
    assert outcome.status == "failed" and "not supported in SaaS Cloud" in outcome.result
    assert scim_user(url, "ivan.petrov")["active"] is False
    assert Deactivate.make("x", multi_tenant=True).to_record()["reversible"] is False


def test_registry_roles_for_users_and_teams(sandbox, sandbox_db, service, jpath) -> None:
    url = sandbox.base_url
    role_of = ("SELECT pm.role FROM project_members pm JOIN users u ON u.id = pm.user_id "
               "JOIN projects p ON p.id = pm.project_id WHERE p.name = ? AND u.username = ?")
    plan = service.set_registry_role("model", "grace", "member")
    assert run(url, plan, "alice", jpath)[0].verified
    assert sandbox_db.scalar(role_of, ("wandb-registry-model", "grace")) == "member"
    add = service.set_registry_role("dataset", "carol", "viewer")
    assert add.changes[0].before is None
    assert run(url, add, "alice", jpath)[0].verified
    assert sandbox_db.scalar(role_of, ("wandb-registry-dataset", "carol")) == "viewer"
    team = service.set_registry_role("dataset", "ml-infra", "viewer", team=True)
    assert run(url, team, "alice", jpath)[0].verified
    assert sandbox_db.scalar(
        "SELECT t.role FROM project_team_members t JOIN entities e ON e.id = t.team_id JOIN "
        "projects p ON p.id = t.project_id WHERE p.name = 'wandb-registry-dataset' AND "
        "e.name = 'ml-infra'") == "viewer"
    remove = Plan(changes=[add.changes[0].inverse()])
    assert run(url, remove, "alice", jpath)[0].verified
    assert sandbox_db.scalar(role_of, ("wandb-registry-dataset", "carol")) is None
    with pytest.raises(AccessError, match="unknown registry role"):
        service.set_registry_role("model", "carol", "owner")


def test_registry_role_forbidden_for_a_registry_member(sandbox, sandbox_db, jpath) -> None:
    bob = service_of(sandbox.base_url, "bob")
    plan = bob.set_registry_role("model", "carol", "admin")
    (outcome,) = run(sandbox.base_url, plan, "bob", jpath)
    assert outcome.status == "failed" and outcome.result.startswith("PermissionDenied")
    assert sandbox_db.scalar(
        "SELECT pm.role FROM project_members pm JOIN users u ON u.id = pm.user_id WHERE "
        "u.username = 'carol' AND pm.project_id = (SELECT id FROM projects WHERE name = "
        "'wandb-registry-model')") == "member"


def test_create_service_account_and_its_forbidden_twin(sandbox, sandbox_db, service,
                                                      jpath) -> None:
    url = sandbox.base_url
    count = ("SELECT COUNT(*) FROM users u JOIN entities e ON e.id = u.sa_team_id WHERE "
             "u.account_type = 'SERVICE' AND e.name = 'ml-infra'")
    plan = service.create_service_account("ml-infra", "nightly gpu burn-in")
    assert not plan.changes[0].reversible
    (outcome,) = run(url, plan, "alice", jpath)
    assert outcome.ok and outcome.verified, outcome.result
    assert sandbox_db.scalar(count) == 1
    carol = service_of(url, "carol")
    (denied,) = run(url, carol.create_service_account("ml-infra", "sneaky"), "carol", jpath)
    assert denied.status == "failed" and denied.result.startswith("PermissionDenied")
    assert sandbox_db.scalar(count) == 1


def test_journal_dates_invites_for_the_stale_invite_finding(sandbox, service, jpath) -> None:
    import dataclasses

    from wbadmin.core.access.findings import findings, get
    from wbadmin.core.settings import AccessSettings

    run(sandbox.base_url, service.invite("ml-infra", "late@example.com"), "alice", jpath)
    fresh = AccessService(synced_cache(sandbox.base_url))
    cfg = dataclasses.replace(AccessSettings(), invite_max_age_days=30)
    with Journal(jpath) as journal:
        later = findings(fresh, cfg, now=clock.now() + 40 * 86_400, journal=journal,
                         include_empty=True)
    stale = get(later, "stale-invites")
    # The journal dates the new invite; the audit log dates the seeded ones.
    assert any(i.startswith("ml-infra: late@example.com (40 days") for i in stale.items)
    assert stale.count == sandbox.db.scalar("SELECT COUNT(*) FROM invites")  # late@ included
    assert {c.kind for c in stale.fix()} == {"team.cancel_invite"}
