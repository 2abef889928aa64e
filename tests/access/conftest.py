"""Fixtures for the access tests: the CLI fixtures (isolated home, LIVE profile against the
sandbox as alice), a synced cache for the service API, and readers of the sandbox's truth."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from tests.cli.conftest import cli, home, isolated_home, live, memory_keyring  # noqa: F401
from tests.conftest import key_of
from wbadmin.core.access import AccessService
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.sync import Syncer


def synced_cache(base_url: str, username: str = "alice") -> Cache:
    cache = Cache(None)

    async def go() -> None:
        async with Client(base_url, key_of(username), scim_username=username) as client:
            await Syncer(client, cache).full()

    asyncio.run(go())
    return cache


@pytest.fixture
def service(sandbox) -> AccessService:
    return AccessService(synced_cache(sandbox.base_url))


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch,
            request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Sign the LIVE profile in as another demo identity."""
    request.getfixturevalue("live")
    def switch(username: str) -> None:
        monkeypatch.setenv("WANDB_API_KEY", key_of(username))
    return switch


def scim_user(base_url: str, username: str) -> dict | None:
    """The user as SCIM shows it to alice (None: not in the org)."""
    answer = httpx.get(f"{base_url}/scim/Users", params={"filter": f'userName eq "{username}"'},
                       auth=("alice", key_of("alice")))
    found = answer.json()["Resources"]
    return found[0] if found else None


def team_role(base_url: str, username: str, team: str) -> str | None:
    user = scim_user(base_url, username) or {}
    return next((t["roleName"] for t in user.get("teamRoles") or [] if t["teamName"] == team),
                None)


def db_team_roles(db, team: str) -> dict[str, str]:
    """{username: role} of a team in the sandbox's own database (custom roles by name)."""
    return {r[0]: r[1] for r in db.query(
        "SELECT u.username, CASE m.role WHEN 'custom' THEN c.name ELSE m.role END FROM "
        "team_members m JOIN users u ON u.id = m.user_id JOIN entities e ON e.id = m.team_id "
        "LEFT JOIN custom_roles c ON c.id = m.custom_role_id WHERE e.name = ?", (team,))}
