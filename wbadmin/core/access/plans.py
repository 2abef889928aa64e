"""The Access service: validated Plans for every access change, from the cache.

`AccessService(cache)` checks names and roles against the cache (unknown user, team, role,
registry or a malformed email is an `AccessError` before anything is planned), picks the API
W&B requires (SCIM for role changes; GraphQL where the SDK uses it), and returns a `Plan` for
the engine. `review(plan)` applies the hard rules and returns the guard-rail concerns that
need a typed confirmation. The TUI's Access screen and `wbadmin access` share this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..cache import Cache
from ..changes import Plan
from ..changes_team import RemoveFromTeam, SetTeamRole
from ..org_roles import (
    effective_org_role,
    leaving_org_knock_ons,
    removal_knock_ons,
    viewer_knock_ons,
)
from . import guards
from .changes import AddToTeam, CancelInvite, Deactivate, Invite, Reactivate, SetOrgRole
from .changes_registry import CreateServiceAccount, SetRegistryRole
from .people import (
    EMAIL,
    ORG_ROLES,
    REGISTRY_ROLES,
    AccessError,
    Person,
    deployment,
    find_person,
    identity,
    require_person,
    require_registry,
    require_team,
    team_role_name,
)

GRAPHQL_OFFER = ("GraphQL can still invite by email or username as admin or member, remove "
                 "members, cancel invites and create service accounts in teams you administer")


@dataclass
class Review:
    """A plan ready for confirmation: concerns that need the typed `phrase`, and notes."""

    plan: Plan
    concerns: list[guards.Concern] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def phrase(self) -> str | None:
        return guards.phrase(self.concerns) if self.concerns else None


class AccessService:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        me = identity(cache)
        self.actor = me.username if me else None
        self.scim = bool(me and me.scim)
        self.org_entity = (me.org_entity if me else None) or cache.meta("org_entity") or ""
        self.deployment = deployment(cache)

    # ---- checks ---------------------------------------------------------------------------

    def require_scim(self, what: str) -> None:
        if not self.scim:
            raise AccessError(f"SCIM is not available to {self.actor or 'this identity'} "
                              f"(it needs an org admin, or a plan with SCIM), so {what} is "
                              f"not possible; {GRAPHQL_OFFER}", "permission", needs="SCIM")

    def require_team(self, name: str) -> None:
        """A known team. Without SCIM the cache holds only the identity's own teams, so any
        other name goes to W&B, which refuses it if it is unknown or not the caller's."""
        if self.scim or "/" in name or not name.strip():
            require_team(self.cache, name)

    def person(self, key: str) -> Person:
        """A person of the org. Without SCIM the cache knows only the people of the
        identity's own teams, so another username is taken as given: W&B judges it."""
        if not self.scim and find_person(self.cache, key) is None:
            if "@" in key and not EMAIL.match(key):
                raise AccessError(f"malformed email address {key!r}")
            return Person(username=key, name=None, email=key if "@" in key else None,
                          org_role=None, seat=None, active=True, service_account=False,
                          last_active_at=None)
        return require_person(self.cache, key)

    def _member_role(self, team: str, username: str) -> str | None:
        return self.cache.scalar("SELECT role FROM team_members WHERE team = ? AND username = ?",
                                 (team, username))

    def review(self, plan: Plan) -> Review:
        guards.check_rules(self.cache, plan)
        return Review(plan, guards.concerns(self.cache, plan, self.actor),
                      notes=self.knock_ons(plan))

    def knock_ons(self, plan: Plan) -> list[str]:
        """What W&B changes besides what the plan names (the org viewer role's seat, team
        and registry roles), so the plan shows it before it is confirmed."""
        notes: list[str] = []
        for change in plan:
            if isinstance(change, RemoveFromTeam):
                notes.extend(self._removal_knock_ons(change.team, change.username))
                continue
            if isinstance(change, Deactivate) and change.multi_tenant:
                notes.extend(leaving_org_knock_ons(
                    change.username,
                    [r[0] for r in self.cache.query(
                        "SELECT team FROM team_members WHERE username = ?", (change.username,))],
                    [r[0] for r in self.cache.query(
                        "SELECT registry FROM registry_members WHERE kind = 'user' AND name = ?",
                        (change.username,))]))
                continue
            if not isinstance(change, SetOrgRole) or (change.after or {}).get("role") != "viewer":
                continue
            who = change.username
            seat = self.cache.scalar("SELECT seat FROM users WHERE username = ?", (who,))
            teams = [(r[0], r[1]) for r in self.cache.query(
                "SELECT team, role FROM team_members WHERE username = ?", (who,))]
            registries = [r[0] for r in self.cache.query(
                "SELECT name FROM registries WHERE name NOT IN (SELECT registry FROM "
                "registry_members WHERE kind = 'user' AND name = ?)", (who,))]
            notes.extend(viewer_knock_ons(who, seat, teams, registries))
        return notes

    def _removal_knock_ons(self, team: str, username: str) -> list[str]:
        through = [(r[0], r[1]) for r in self.cache.query(
            "SELECT registry, role FROM registry_members WHERE kind = 'team' AND name = ?",
            (team,))]
        kept = [r[0] for r in self.cache.query(  # their own role, or another team's
            "SELECT registry FROM registry_members WHERE (kind = 'user' AND name = ?) OR "
            "(kind = 'team' AND name != ? AND name IN (SELECT team FROM team_members WHERE "
            "username = ?))", (username, team, username))]
        return removal_knock_ons(username, team, through, kept)

    # ---- team roles and membership ----------------------------------------------------------

    def set_team_role(self, team: str, user: str, role: str) -> Plan:
        self.require_team(team)
        person, role = self.person(user), team_role_name(self.cache, role)
        current = self._member_role(team, person.username)
        if current is None:
            raise AccessError(f"{person.username} is not a member of {team}; add them with a "
                              "role instead", "not_found")
        self.require_scim("setting a team role")
        plan = Plan(title=f"Set {person.username}'s role in {team} to {role}")
        if current != role:
            plan.add(SetTeamRole.make(team, person.username, role, current))
        return plan

    def add_to_team(self, team: str, user: str, role: str = "member") -> Plan:
        self.require_team(team)
        person, role = self.person(user), team_role_name(self.cache, role)
        if person.service_account:
            raise AccessError(f"{person.username} is a service account: W&B service accounts "
                              "belong to the one team they were created in")
        current = self._member_role(team, person.username)
        plan = Plan(title=f"Add {person.username} to {team} as {role}")
        if current is not None:
            if current != role:
                self.require_scim("changing a team role")
                plan.add(SetTeamRole.make(team, person.username, role, current))
            return plan
        if not self.scim and role not in ("admin", "member"):
            self.require_scim(f"adding with the {role} role")
        plan.add(AddToTeam.make(team, person.username, role, email=person.email,
                                scim=self.scim))
        return plan

    def remove_from_team(self, team: str, user: str) -> Plan:
        self.require_team(team)
        person = self.person(user)
        current = self._member_role(team, person.username)
        if current is None:
            raise AccessError(f"{person.username} is not a member of {team}", "not_found")
        return Plan(title=f"Remove {person.username} from {team}",
                    changes=[RemoveFromTeam.make(team, person.username, current)])

    def invite(self, team: str, who: str, admin: bool = False) -> Plan:
        self.require_team(team)
        if "@" in who:
            if not EMAIL.match(who):
                raise AccessError(f"malformed email address {who!r}")
            change = Invite.make(team, email=who, admin=admin)
        else:
            change = Invite.make(team, username=self.person(who).username, admin=admin)
        return Plan(title=f"Invite {who} to {team}", changes=[change])

    def cancel_invite(self, team: str, who: str) -> Plan:
        self.require_team(team)
        row = self.cache.query(
            "SELECT id, email, username FROM invites WHERE team = ? AND (LOWER(email) = "
            "LOWER(?) OR username = ? OR id = ?)", (team, who, who, who))
        if not row:
            raise AccessError(f"no pending invite for {who!r} in {team}", "not_found")
        r = row[0]
        return Plan(title=f"Cancel the invite of {who} to {team}", changes=[CancelInvite.make(
            team, email=r["email"], username=r["username"], invite_id=r["id"])])

    def create_service_account(self, team: str, description: str) -> Plan:
        self.require_team(team)
        if not description.strip():
            raise AccessError("a service account needs a description")
        return Plan(title=f"Create a service account in {team}",
                    changes=[CreateServiceAccount.make(team, description.strip())])

    # ---- org ------------------------------------------------------------------------------

    def set_org_role(self, user: str, role: str) -> Plan:
        person = self.person(user)
        if role.lower() not in ORG_ROLES:
            raise AccessError(f"unknown org role {role!r}; one of {', '.join(ORG_ROLES)}",
                              "not_found")
        self.require_scim("changing an org role")
        role = role.lower()
        plan = Plan(title=f"Set {person.username}'s org role to {role}")
        current = effective_org_role(person.org_role, person.seat)
        if current != role:
            plan.add(SetOrgRole.make(person.username, role, current))
        return plan

    def deactivate(self, user: str) -> Plan:
        person = self.person(user)
        self.require_scim("deactivating a user")
        plan = Plan(title=f"Deactivate {person.username}")
        if person.active:
            plan.add(Deactivate.make(person.username,
                                     multi_tenant=self.deployment == "multi_tenant"))
        return plan

    def reactivate(self, user: str) -> Plan:
        person = self.person(user)
        self.require_scim("reactivating a user")
        if self.deployment == "multi_tenant":
            raise AccessError(
                f"W&B Multi-tenant Cloud cannot reactivate users: deactivating "
                f"{person.username} removed them from the org; invite them again instead",
                "unsupported")
        plan = Plan(title=f"Reactivate {person.username}")
        if not person.active:
            plan.add(Reactivate.make(person.username))
        return plan

    # ---- registries -------------------------------------------------------------------------

    def set_registry_role(self, registry: str, name: str, role: str | None, *,
                          team: bool = False) -> Plan:
        """A user's (or with `team`, a team's) registry role; role None removes them."""
        short = require_registry(self.cache, registry)
        if role is not None:
            role = role.lower().replace("-", "_").replace(" ", "_")
            if role not in REGISTRY_ROLES:
                raise AccessError(f"unknown registry role {role!r}; one of "
                                  f"{', '.join(REGISTRY_ROLES)}", "not_found")
        if team:
            self.require_team(name)
            kind, member = "team", name
        else:
            person = self.person(name)
            kind, member = "user", person.username
            if person.service_account and role in ("viewer", "restricted_viewer"):
                raise AccessError("W&B service accounts cannot be registry viewers")
        current = self.cache.scalar("SELECT role FROM registry_members WHERE registry = ? "
                                    "AND kind = ? AND name = ?", (short, kind, member))
        plan = Plan(title=f"Set {kind} {member}'s role in registry {short} to {role or 'none'}")
        if current != role:
            plan.add(SetRegistryRole.make(short, kind, member, role, current, self.org_entity))
        return plan
