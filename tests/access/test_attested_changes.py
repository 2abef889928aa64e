"""Registry roles and service accounts through attested GraphQL only (issue 17).

W&B's SDK never sends `user(userName:)` nor selects a new service account's `username`; these
changes now find a user's id through the SDK's SearchUsers (org admins) or team member lists
(anyone else), and read the account's username back from the team, as the SDK reloads it.
Every document each change sends is checked against the SDK's own (tests/attested_graphql.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.attested_graphql import EXCEPTIONS, deviations
from tests.conftest import key_of
from wbadmin.core.access import AccessService
from wbadmin.core.access.changes_registry import SetRegistryRole
from wbadmin.core.changes import Outcome, Plan
from wbadmin.core.client import Client
from wbadmin.core.engine import Engine
from wbadmin.core.journal import Journal

from .conftest import synced_cache

ROLE_OF = ("SELECT pm.role FROM project_members pm JOIN users u ON u.id = pm.user_id "
           "JOIN projects p ON p.id = pm.project_id WHERE p.name = ? AND u.username = ?")


class RecordingClient(Client):
    """A real client to the sandbox that also keeps every GraphQL document it sent."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.documents: list[str] = []

    async def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict:
        self.documents.append(query)
        return await super().graphql(query, variables)


def run(base_url: str, plan: Plan, actor: str, journal: Path) -> tuple[list[Outcome], list[str]]:
    """The plan's outcomes, and what it sent that the SDK never does (listed exceptions aside)."""
    async def go() -> tuple[list[Outcome], list[str]]:
        async with RecordingClient(base_url, key_of(actor), scim_username=actor) as client:
            with Journal(journal) as j:
                outcomes = await Engine(j, profile="test").apply(plan, client, actor)
            return outcomes, [d for doc in client.documents for d in deviations(doc)
                              if d not in EXCEPTIONS]
    return asyncio.run(go())


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


def test_org_admin_adds_someone_from_a_team_she_is_not_in(sandbox, sandbox_db, jpath) -> None:
    """alice is in no team with jia.wang (vision-research): SearchUsers finds her."""
    service = AccessService(synced_cache(sandbox.base_url, "alice"))
    plan = service.set_registry_role("model", "jia.wang", "viewer")
    (outcome,), unattested = run(sandbox.base_url, plan, "alice", jpath)
    assert outcome.verified, outcome.result
    assert sandbox_db.scalar(ROLE_OF, ("wandb-registry-model", "jia.wang")) == "viewer"
    assert unattested == []


def test_registry_admin_who_is_not_org_admin_adds_and_changes_roles(sandbox, sandbox_db,
                                                                    jpath) -> None:
    """grace is an org member and the model registry's admin: SearchUsers refuses her, her
    teams' member lists give the id of someone to add; a member's role changes by the
    registry's own member list."""
    assert sandbox_db.scalar("SELECT org_role FROM users WHERE username = 'grace'") == "member"
    service = AccessService(synced_cache(sandbox.base_url, "grace"))
    plan = service.set_registry_role("model", "beatriz.silva", "member")
    plan.changes += service.set_registry_role("model", "carol", "viewer").changes
    outcomes, unattested = run(sandbox.base_url, plan, "grace", jpath)
    assert all(o.verified for o in outcomes), [o.result for o in outcomes]
    assert sandbox_db.scalar(ROLE_OF, ("wandb-registry-model", "beatriz.silva")) == "member"
    assert sandbox_db.scalar(ROLE_OF, ("wandb-registry-model", "carol")) == "viewer"
    assert unattested == []


def test_registry_admin_cannot_add_someone_she_cannot_see(sandbox, sandbox_db, jpath) -> None:
    """jia.wang shares no team with grace nor with the registry: one clear failure, no change."""
    change = SetRegistryRole.make("model", "user", "jia.wang", "member", None,
                                  "inference-systems")
    (outcome,), unattested = run(sandbox.base_url, Plan(changes=[change]), "grace", jpath)
    assert outcome.status == "failed"
    assert "user 'jia.wang' not found" in outcome.result
    assert "org admin" in outcome.result
    assert sandbox_db.scalar(ROLE_OF, ("wandb-registry-model", "jia.wang")) is None
    assert unattested == []


def test_service_account_creation_reports_its_username(sandbox, sandbox_db, jpath) -> None:
    service = AccessService(synced_cache(sandbox.base_url, "alice"))
    plan = service.create_service_account("ml-infra", "nightly gpu burn-in")
    (outcome,), unattested = run(sandbox.base_url, plan, "alice", jpath)
    assert outcome.ok and outcome.verified, outcome.result
    username = sandbox_db.scalar("SELECT username FROM users WHERE account_type = 'SERVICE' "
                                 "AND name = 'nightly gpu burn-in'")
    assert username == "nightly-gpu-burn-in"
    assert "service account nightly-gpu-burn-in created in ml-infra" in outcome.result
    assert unattested == []
