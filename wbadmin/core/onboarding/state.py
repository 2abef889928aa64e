"""Today's org structure as org-as-code sees it: read fresh from W&B, never from a stale cache.

`fetch_state(client, cache)` runs a full sync (SCIM users and teams, GraphQL members, projects,
registries and their members) into the profile's cache, then reads the project descriptions
the cache does not keep (one batched `models(entityName)` query per 20 teams, paged like the
sync), and returns an `OrgState`. Org-as-code needs SCIM, i.e. an org admin: without it the
cache would hold only the caller's own teams and an export or plan would be silently partial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import errors as E
from .. import queries as Q
from ..access.people import identity
from ..cache import Cache
from ..client import Client
from ..org_roles import effective_org_role
from ..sync import Syncer

DESCRIPTIONS = """
    pageInfo { endCursor hasNextPage }
    edges { node { name description } }
"""


@dataclass
class User:
    username: str
    email: str | None
    org_role: str | None  # as org-as-code sees it: see `effective_org_role`
    active: bool


@dataclass
class Team:
    name: str
    members: dict[str, str] = field(default_factory=dict)           # username -> role
    service_accounts: dict[str, str] = field(default_factory=dict)  # description -> username
    invites: list[str] = field(default_factory=list)                # emails (pending)
    projects: dict[str, dict[str, str | None]] = field(default_factory=dict)  # name -> state


@dataclass
class OrgState:
    org: str
    org_entity: str
    actor: str | None
    users: dict[str, User] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    custom_roles: set[str] = field(default_factory=set)
    registries: dict[str, dict[tuple[str, str], str]] = field(default_factory=dict)
    service_account_names: set[str] = field(default_factory=set)  # all SA usernames

    def user_by_email(self, email: str) -> User | None:
        low = email.lower()
        return next((u for u in self.users.values() if (u.email or "").lower() == low), None)

    def entity_names(self) -> set[str]:
        """Every taken entity name: users (service accounts included) and teams."""
        return set(self.users) | set(self.teams) | self.service_account_names


def from_cache(cache: Cache, descriptions: dict[tuple[str, str], str | None]) -> OrgState:
    me = identity(cache)
    state = OrgState(org=cache.meta("org") or "", org_entity=cache.meta("org_entity") or "",
                     actor=me.username if me else None)
    for r in cache.query("SELECT username, email, org_role, seat, active, account_type "
                         "FROM users"):
        if r["account_type"] == "SERVICE":
            state.service_account_names.add(r["username"])
        else:
            state.users[r["username"]] = User(r["username"], r["email"],
                                              effective_org_role(r["org_role"], r["seat"]),
                                              bool(r["active"]))
    for r in cache.query("SELECT name FROM teams WHERE readable = 1"):
        state.teams[r["name"]] = Team(r["name"])
    for r in cache.query("SELECT team, username, name, role, account_type FROM team_members "
                         "ORDER BY team, seq"):
        team = state.teams.setdefault(r["team"], Team(r["team"]))
        if r["account_type"] == "SERVICE":
            team.service_accounts[r["name"] or r["username"]] = r["username"]
            state.service_account_names.add(r["username"])
        else:
            team.members[r["username"]] = r["role"]
    for r in cache.query("SELECT team, email, username FROM invites ORDER BY team, id"):
        if r["team"] in state.teams and (r["email"] or r["username"]):
            state.teams[r["team"]].invites.append(r["email"] or r["username"])
    for r in cache.query("SELECT team, name, access FROM projects"):
        if r["team"] in state.teams:
            state.teams[r["team"]].projects[r["name"]] = {
                "description": descriptions.get((r["team"], r["name"])) or "",
                "access": r["access"]}
    state.custom_roles = {r["name"] for r in cache.query("SELECT name FROM custom_roles")}
    for r in cache.query("SELECT name FROM registries"):
        state.registries[r["name"]] = {}
    for r in cache.query("SELECT registry, kind, name, role FROM registry_members"):
        state.registries.setdefault(r["registry"], {})[(r["kind"], r["name"])] = r["role"]
    return state


async def project_descriptions(client: Client, teams: list[str], *, batch: int = 20,
                               page_size: int = 200) -> dict[tuple[str, str], str | None]:
    """(team, project) -> description, for every project of `teams` (paged, batched)."""
    out: dict[tuple[str, str], str | None] = {}

    def request(chunk: list[tuple[str, str | None]], first: int) -> tuple[str, dict[str, Any]]:
        return Q.batched(
            "WbadminProjectDescriptions", "models", DESCRIPTIONS,
            {"entityName": "String!", "first": "Int", "after": "String"},
            [{"entityName": t, "first": first, "after": c} for t, c in chunk])

    def take(team: str, nodes: list[dict]) -> None:
        out.update(((team, n["name"]), n.get("description")) for n in nodes if n.get("name"))

    await client.paginate_many(teams, batch, request, take, kind="onboarding.descriptions",
                               firsts=(page_size,))
    return out


async def fetch_state(client: Client, cache: Cache) -> OrgState:
    """Sync the whole org now and read it back (raises PermissionDenied without SCIM)."""
    syncer = Syncer(client, cache)
    await syncer.full(invites=False)
    me = syncer.identity
    if me is None or not me.scim:
        who = me.username if me else "this identity"
        raise E.PermissionDenied(f"org-as-code needs an org admin: SCIM is not available to "
                                 f"{who}, so W&B shows only part of the org")
    teams = [r["name"] for r in cache.query("SELECT name FROM teams ORDER BY name")]
    return from_cache(cache, await project_descriptions(client, teams))
