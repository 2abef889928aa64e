"""Guard rails: what a plan would do to the admins of the org and of each team.

W&B's own tracker is full of admins who locked themselves out, so a plan that would leave
the org or a team without an admin, or that lowers the signed-in person's own access, is held
until the person types a confirmation (`Concern.phrase`). The W&B rule that custom team roles
go only to users whose org role is member is not overridable: it raises `AccessError`.

The check simulates the plan on the cached roles; it needs no network.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cache import Cache
from ..changes import Plan
from ..changes_team import RemoveFromTeam, SetTeamRole
from .changes import AddToTeam, Deactivate, Reactivate, SetOrgRole
from .people import RANK, AccessError, custom_roles


@dataclass(frozen=True)
class Concern:
    """One guard-rail hit: `kind` last_org_admin | last_team_admin | self_demotion."""

    kind: str
    subject: str      # the team or user concerned
    message: str

    @property
    def phrase(self) -> str:
        return self.subject


@dataclass
class _Roles:
    org: dict[str, str]
    teams: dict[str, dict[str, str]]
    active: dict[str, bool]

    @classmethod
    def of(cls, cache: Cache) -> _Roles:
        org = {r["username"]: r["org_role"] for r in cache.query(
            "SELECT username, org_role FROM users WHERE account_type = 'USER'")}
        active = {r["username"]: bool(r["active"]) for r in cache.query(
            "SELECT username, active FROM users")}
        teams: dict[str, dict[str, str]] = {}
        for r in cache.query("SELECT team, username, role FROM team_members "
                             "WHERE account_type = 'USER'"):
            teams.setdefault(r["team"], {})[r["username"]] = r["role"]
        return cls(org, teams, active)

    def copy(self) -> _Roles:
        return _Roles(dict(self.org), {t: dict(m) for t, m in self.teams.items()},
                      dict(self.active))

    def org_admins(self) -> set[str]:
        return {u for u, r in self.org.items() if r == "admin" and self.active.get(u, True)}

    def team_admins(self, team: str) -> set[str]:
        return {u for u, r in self.teams.get(team, {}).items()
                if r == "admin" and self.active.get(u, True)}

    def apply(self, plan: Plan) -> None:
        for c in plan:
            role = (c.after or {}).get("role")
            if isinstance(c, SetOrgRole):
                self.org[c.username] = role or "member"
            elif isinstance(c, (SetTeamRole, AddToTeam)):
                self.teams.setdefault(c.team, {})[c.username] = role or "member"
            elif isinstance(c, RemoveFromTeam):
                self.teams.get(c.team, {}).pop(c.username, None)
            elif isinstance(c, Deactivate):
                self.active[c.username] = False
                if c.multi_tenant:
                    self.org.pop(c.username, None)
                    for members in self.teams.values():
                        members.pop(c.username, None)
            elif isinstance(c, Reactivate):
                self.active[c.username] = True


def _rank(role: str | None, custom: dict[str, str]) -> int:
    if role is None:
        return -1
    return RANK.get(role, RANK.get(custom.get(role, "member"), 2))


def check_rules(cache: Cache, plan: Plan) -> None:
    """W&B's hard rules; raises AccessError naming the first change that breaks one."""
    custom = custom_roles(cache)
    after = _Roles.of(cache)
    after.apply(plan)
    for c in plan:
        role = (c.after or {}).get("role")
        if isinstance(c, (SetTeamRole, AddToTeam)) and role and role.lower() not in RANK:
            if role not in custom:
                raise AccessError(f"unknown role {role!r}", "not_found")
            org_role = after.org.get(c.username)
            if org_role != "member":
                raise AccessError(
                    f"{c.username} cannot get the custom role {role!r} in {c.team}: W&B gives "
                    f"custom roles only to users whose org role is member ({c.username} is "
                    f"{org_role or 'unknown'})")


def concerns(cache: Cache, plan: Plan, actor: str | None) -> list[Concern]:
    """The guard-rail hits of `plan` (empty: nothing needs a typed confirmation)."""
    custom = custom_roles(cache)
    before = _Roles.of(cache)
    after = before.copy()
    after.apply(plan)
    out: list[Concern] = []
    if before.org_admins() and not after.org_admins():
        who = ", ".join(sorted(before.org_admins()))
        out.append(Concern("last_org_admin", who.split(", ")[0],
                           f"the org would have no admin left (now: {who})"))
    for team in sorted(set(before.teams) | set(after.teams)):
        had, has = before.team_admins(team), after.team_admins(team)
        if had and not has:
            out.append(Concern("last_team_admin", team,
                               f"team {team} would have no admin left "
                               f"(now: {', '.join(sorted(had))})"))
    if actor:
        lowered = []
        if _rank(after.org.get(actor), custom) < _rank(before.org.get(actor), custom):
            lowered.append(f"org role {before.org.get(actor)} → {after.org.get(actor) or '—'}")
        for team, members in before.teams.items():
            old, new = members.get(actor), after.teams.get(team, {}).get(actor)
            if old is not None and _rank(new, custom) < _rank(old, custom):
                lowered.append(f"{team} {old} → {new or 'removed'}")
        if before.active.get(actor, True) and not after.active.get(actor, True):
            lowered.append("deactivated")
        if lowered:
            out.append(Concern("self_demotion", actor,
                               f"you ({actor}) would lower your own access: "
                               + "; ".join(lowered)))
    return out


def phrase(found: list[Concern]) -> str:
    """What the person types to go ahead: the names concerned, space-separated."""
    return " ".join(dict.fromkeys(c.phrase for c in found))
