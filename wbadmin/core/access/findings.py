"""Access triage: findings over the cached org, each with a Plan that fixes it.

Every finding has an id, a severity (high | medium | low), the items it counts, the people
and teams affected, and `fix()` → Plan (empty, with `fix_note` saying why, when the fix
needs a person's judgement). Thresholds come from `[access]` in the config file.

Who is looking: findings are computed from what this identity can see. The org's people —
their org roles, whether they are active, when they were last — and the members of every team
come from SCIM, which W&B opens to org admins only; for anyone else a finding that needs them
is `hidden` (with the reason), never "none". Findings over teams judge the viewer's own teams
only (the note says so), and count team admins whether active or not (W&B does not say).

Unknowns: what the viewer can see but not judge — an invite W&B gives no date for, a registry
grant to a team whose members it cannot read — is counted in `unknown`; a finding with nothing
found but something unknown shows "?" (`shown_count` None), never 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ... import clock
from ..changes import Plan
from ..changes_team import RemoveFromTeam, SetTeamRole
from ..promotions.policy import Policy
from ..settings import AccessSettings
from .changes import CancelInvite, SetOrgRole
from .changes_registry import SetRegistryRole
from .findings_ownership import OwnershipFindings
from .findings_sa import ServiceAccountFindings
from .plans import AccessService

DAY = 86_400.0
SEVERITIES = ("high", "medium", "low")


# Short forms of the titles, by finding id; {0} is the title's first number.
SHORT_TITLES = {
    "teams-without-admin": "No team admin",
    "teams-single-admin": "One team admin",
    "too-many-org-admins": "Too many org admins",
    "deactivated-in-teams": "Deactivated, in teams",
    "stale-invites": "Invites over {0}d",
    "service-accounts-restricted": "Restricted-registry SAs",
    "admin-of-many-teams": "Admin of {0}+ teams",
    "inactive-admins": "Org admins idle {0}d+",
    "registry-admins-not-org-admins": "Registry admins ≠ org",
    "service-accounts-admin": "Admin service accounts",
    "service-accounts-idle": "SAs idle {0}d+",
    "service-account-keys-old": "SA keys over {0}d",
    "service-account-keys-unknown-age": "SA keys of unknown age",
    "service-accounts-many-keys": "SAs with several keys",
    "org-service-accounts-many-teams": "Org SAs in many teams",
    "protected-alias-outside-workflow": "Aliases off-workflow",
    "production-version-untraceable": "Untraceable production",
    "promotion-requester-gone": "Requesters gone",
}


@dataclass
class Finding:
    id: str
    title: str
    severity: str
    items: list[str]                      # one line per thing found
    people: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    note: str = ""                        # caveats (e.g. invites of unknown age)
    fix_note: str = ""                    # what the fix does, or why there is none
    make_fix: Callable[[], Plan] | None = field(default=None, repr=False)
    hidden: str = ""                      # why this identity cannot judge it ("": it can)
    unknown: int = 0                      # things seen but not judgeable (see `note`)

    @property
    def short(self) -> str:
        """A title that fits a narrow table (at most 23 cells); the full one is in the detail.
        The numbers of the title (a threshold from the settings) are kept in it."""
        form = SHORT_TITLES.get(self.id)
        return form.format(*re.findall(r"\d+", self.title)) if form else self.title

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def shown_count(self) -> int | None:
        """The count to show: None ("?") when this identity cannot say "none" — the finding is
        hidden from it, or nothing was found but some things could not be judged."""
        if self.hidden or (not self.items and self.unknown):
            return None
        return self.count

    def fix(self) -> Plan:
        """The Plan that fixes this finding (empty when it needs a person's judgement)."""
        return self.make_fix() if self.make_fix else Plan(title=f"{self.title}: no automatic fix")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "short": self.short,
                "severity": self.severity,
                "visible": not self.hidden, "count": self.shown_count, "unknown": self.unknown,
                "items": self.items, "people": self.people, "teams": self.teams,
                "note": self.hidden or self.note, "fix": self.fix_note}


def _plan(title: str, changes: list) -> Callable[[], Plan]:
    return lambda: Plan(title=title, changes=list(changes))


def _needs_scim(what: str) -> Callable[[Callable[[_Triage], Finding]],
                                         Callable[[_Triage], Finding]]:
    """A finding over `what` only SCIM shows: hidden from an identity SCIM is closed to."""
    def decorate(method: Callable[[_Triage], Finding]) -> Callable[[_Triage], Finding]:
        def judged(self: _Triage) -> Finding:
            found = method(self)
            if self.knows_people:
                return found
            who = self.s.actor or "this identity"
            return Finding(found.id, found.title, found.severity, [],
                           hidden=f"not visible to {who}: it needs {what}, which W&B shows to "
                                  "org admins only (SCIM)")
        return judged
    return decorate


_needs_people = _needs_scim("the org's people (roles, activity)")
_needs_every_team = _needs_scim("every team's admins")


class _Triage(ServiceAccountFindings, OwnershipFindings):
    def __init__(self, service: AccessService, settings: AccessSettings, now: float,
                 journal: Any, policy: Policy | None = None) -> None:
        self.s, self.cache, self.cfg, self.now, self.journal = (
            service, service.cache, settings, now, journal)
        self.knows_people = service.scim
        self.policy = policy  # None: the promotion policy file (or the built-in one)

    def rows(self, sql: str, params: tuple = ()) -> list:
        return self.cache.query(sql, params)

    def scope_note(self) -> str:
        """Without SCIM the cache holds only the viewer's own teams: say what was judged."""
        if self.knows_people:
            return ""
        teams = [r[0] for r in self.rows("SELECT name FROM teams WHERE readable = 1 "
                                         "ORDER BY name")]
        return (f"judged over your {len(teams)} team(s) only ({', '.join(teams) or 'none'}), "
                "admins counted whether active or not: W&B shows the org's other teams and "
                "who is deactivated to org admins only")

    def candidate(self, team: str) -> str | None:
        """The member to promote: active, a person, not viewer, most recently active."""
        rows = self.rows(
            "SELECT m.username FROM team_members m JOIN users u ON u.username = m.username "
            "WHERE m.team = ? AND m.account_type = 'USER' AND u.active = 1 AND m.role != "
            "'admin' ORDER BY m.role = 'viewer', u.org_role != 'admin', "
            "COALESCE(u.last_active_at, 0) DESC, m.username LIMIT 1", (team,))
        return rows[0][0] if rows else None

    def promote(self, teams: list[str]) -> tuple[list, list[str]]:
        changes, notes = [], []
        for team in teams:
            who = self.candidate(team)
            if who is None:
                notes.append(f"{team}: no active member to promote")
                continue
            role = self.cache.scalar("SELECT role FROM team_members WHERE team = ? AND "
                                     "username = ?", (team, who))
            changes.append(SetTeamRole.make(team, who, "admin", role))
            notes.append(f"{team}: promote {who}")
        return changes, notes

    def admin_counts(self) -> dict[str, int]:
        """Admins of each team this identity can read: active ones where SCIM says who is
        active, else every admin (W&B does not tell a team admin who is deactivated)."""
        active = "u.active = 1" if self.knows_people else "COALESCE(u.active, 1) = 1"
        return {r[0]: r[1] for r in self.rows(
            "SELECT t.name, (SELECT COUNT(*) FROM team_members m LEFT JOIN users u ON "
            "u.username = m.username WHERE m.team = t.name AND m.role = 'admin' AND "
            f"m.account_type = 'USER' AND {active}) FROM teams t WHERE t.readable = 1 "
            "ORDER BY t.name")}

    # ---- the findings ---------------------------------------------------------------------

    def no_admin(self) -> Finding:
        teams = [t for t, n in self.admin_counts().items() if n == 0]
        changes, notes = self.promote(teams)
        note = "; ".join(n for n in (self.responsible_without_admin(teams), self.scope_note())
                         if n)
        return Finding("teams-without-admin", "Teams without an admin", "high",
                       [f"{t}: no {'active ' if self.knows_people else ''}admin"
                        for t in teams], teams=teams, note=note,
                       fix_note="; ".join(notes),
                       make_fix=_plan("Give admin-less teams an admin", changes))

    def single_admin(self) -> Finding:
        counts = self.admin_counts()
        teams = [t for t, n in counts.items() if n == 1]
        active = "u.active = 1" if self.knows_people else "COALESCE(u.active, 1) = 1"
        admins = {t: self.rows("SELECT m.username FROM team_members m LEFT JOIN users u ON "
                               "u.username = m.username WHERE m.team = ? AND m.role = 'admin' "
                               f"AND m.account_type = 'USER' AND {active}", (t,))[0][0]
                  for t in teams}
        changes, notes = self.promote(teams)
        return Finding("teams-single-admin", "Teams with a single admin", "medium",
                       [f"{t}: only {admins[t]}" for t in teams], people=sorted(
                           set(admins.values())), teams=teams, note=self.scope_note(),
                       fix_note="; ".join(notes),
                       make_fix=_plan("Give single-admin teams a second admin", changes))

    @_needs_people
    def too_many_org_admins(self) -> Finding:
        limit = self.cfg.max_org_admins
        admins = self.rows("SELECT username, last_active_at FROM users WHERE org_role = 'admin' "
                           "AND active = 1 AND account_type = 'USER' "
                           "ORDER BY COALESCE(last_active_at, 0), username")
        excess = len(admins) - limit
        items = [f"{len(admins)} org admins, more than the configured {limit}"] \
            if excess > 0 else []
        demote = [r[0] for r in admins if r[0] != self.s.actor][:max(excess, 0)]
        return Finding("too-many-org-admins", "More org admins than configured", "medium",
                       items, people=[r[0] for r in admins] if items else [],
                       fix_note=f"demote the least recently active: {', '.join(demote)}"
                       if demote else "",
                       make_fix=_plan("Reduce the org admins", [
                           SetOrgRole.make(u, "member", "admin") for u in demote]))

    @_needs_people
    def deactivated_in_teams(self) -> Finding:
        rows = self.rows("SELECT m.username, m.team, m.role FROM team_members m JOIN users u ON "
                         "u.username = m.username WHERE u.active = 0 ORDER BY m.username, m.team")
        return Finding("deactivated-in-teams", "Deactivated users still holding team roles",
                       "medium", [f"{r[0]}: {r[2]} in {r[1]}" for r in rows],
                       people=sorted({r[0] for r in rows}), teams=sorted({r[1] for r in rows}),
                       fix_note="remove them from those teams",
                       make_fix=_plan("Remove deactivated users from teams", [
                           RemoveFromTeam.make(r[1], r[0], r[2]) for r in rows]))

    def invite_sent_at(self) -> dict[tuple[str, str], float]:
        if self.journal is None:
            return {}
        out = {}
        for e in self.journal.query(kind="team.invite", status="applied", newest_first=False):
            who = (e.params.get("email") or e.params.get("username") or "").lower()
            out[(e.params.get("team"), who)] = e.created_at
        return out

    def stale_invites(self) -> Finding:
        days, sent = self.cfg.invite_max_age_days, self.invite_sent_at()
        stale, unknown = [], 0
        for r in self.rows("SELECT * FROM invites ORDER BY team, email"):
            who = r["email"] or r["username"] or r["id"]
            at = r["created_at"] or sent.get((r["team"], (who or "").lower()))
            if at is None:
                unknown += 1
            elif self.now - at > days * DAY:
                stale.append((r, who, int((self.now - at) // DAY)))
        note = (f"{unknown} pending invite(s) of unknown age left out: W&B does not list when "
                "an invite was sent, and wbadmin's journal did not send them") if unknown else ""
        return Finding("stale-invites", f"Invites older than {days} days", "low",
                       [f"{r['team']}: {who} ({age} days)" for r, who, age in stale],
                       teams=sorted({r["team"] for r, _, _ in stale}), note=note,
                       unknown=unknown,
                       fix_note="cancel them" if stale else "",
                       make_fix=_plan("Cancel stale invites", [
                           CancelInvite.make(r["team"], email=r["email"],
                                             username=r["username"], invite_id=r["id"])
                           for r, _, _ in stale]))

    def service_accounts_restricted(self) -> Finding:
        direct = self.rows(
            "SELECT rm.registry, rm.name, rm.role FROM registry_members rm JOIN registries r ON "
            "r.name = rm.registry JOIN users u ON u.username = rm.name WHERE rm.kind = 'user' "
            "AND u.account_type = 'SERVICE' AND r.access = 'RESTRICTED' ORDER BY 1, 2")
        via = self.rows(
            "SELECT rm.registry, m.username, rm.name AS team FROM registry_members rm JOIN "
            "registries r ON r.name = rm.registry JOIN team_members m ON m.team = rm.name "
            "WHERE rm.kind = 'team' AND m.account_type = 'SERVICE' AND r.access = 'RESTRICTED' "
            "ORDER BY 1, 2")
        items = [f"{r[1]}: {r[2]} in restricted registry {r[0]}" for r in direct]
        items += [f"{r[1]}: restricted registry {r[0]} via team {r[2]}" for r in via]
        # Grants this identity sees but cannot judge: to a team whose members it cannot read,
        # or to a name it knows neither as a person nor as a service account.
        unknown = self.rows(
            "SELECT rm.registry, rm.kind, rm.name FROM registry_members rm JOIN registries r ON "
            "r.name = rm.registry WHERE r.access = 'RESTRICTED' AND CASE rm.kind "
            "WHEN 'team' THEN NOT EXISTS (SELECT 1 FROM teams t WHERE t.name = rm.name AND "
            "t.readable = 1) ELSE NOT EXISTS (SELECT 1 FROM users u WHERE u.username = rm.name) "
            "AND NOT EXISTS (SELECT 1 FROM team_members m WHERE m.username = rm.name) END "
            "ORDER BY 1, 2, 3")
        notes = ["restricted projects' explicit members are not in the cache and not checked"]
        if not self.knows_people:
            notes.insert(0, "judged over the registries and teams you can see")
        if unknown:
            notes.insert(0, f"{len(unknown)} grant(s) not judged, their members or account type "
                            "not visible to you: " + ", ".join(
                                f"{r[1]} {r[2]} in {r[0]}" for r in unknown))
        fix: list = [SetRegistryRole.make(r[0], "user", r[1], None, r[2], self.s.org_entity)
                     for r in direct]
        # A team's grant covers all its members: the service account leaves that team.
        roles = {(r[0], r[1]): r[2] for r in self.rows(
            "SELECT team, username, role FROM team_members WHERE account_type = 'SERVICE'")}
        fix += [RemoveFromTeam.make(team, sa, roles.get((team, sa), "member"))
                for team, sa in sorted({(r[2], r[1]) for r in via})]
        return Finding(
            "service-accounts-restricted", "Service accounts with access to restricted "
            "registries", "medium", items,
            people=sorted({r[1] for r in direct} | {r[1] for r in via}),
            teams=sorted({r[2] for r in via}),
            note="; ".join(notes), unknown=len(unknown),
            fix_note="remove direct registry grants, and take service accounts out of the "
            "teams that grant the access (review: their jobs may need that team)"
            if items else "", make_fix=_plan("Remove service accounts from restricted "
                                             "registries", fix))

    @_needs_every_team
    def many_teams(self) -> Finding:
        n = self.cfg.many_teams_threshold
        rows = self.rows("SELECT username, COUNT(*), GROUP_CONCAT(team, ', ') FROM team_members "
                         "WHERE role = 'admin' AND account_type = 'USER' GROUP BY username "
                         "HAVING COUNT(*) >= ? ORDER BY username", (n,))
        admins: dict[str, list[str]] = {}
        for team, username in self.rows("SELECT team, username FROM team_members WHERE role = "
                                        "'admin' AND account_type = 'USER' ORDER BY team"):
            admins.setdefault(team, []).append(username)
        fix = []
        for username, _, teams in rows:
            # Keep the teams they alone administer, and the first others up to n - 1;
            # elsewhere another admin remains, so they become members there.
            kept = [t for t in teams.split(", ") if admins.get(t) == [username]]
            for team in sorted(teams.split(", ")):
                if team in kept:
                    continue
                if len(kept) < n - 1:
                    kept.append(team)
                else:
                    fix.append(SetTeamRole.make(team, username, "member", "admin"))
        return Finding("admin-of-many-teams", f"Users who are admin of {n} or more teams", "low",
                       [f"{r[0]}: admin of {r[1]} teams ({r[2]})" for r in rows],
                       people=[r[0] for r in rows],
                       fix_note=f"keep them admin of at most {n - 1} teams (those they alone "
                       "administer first); member elsewhere — review the choice",
                       make_fix=_plan(f"Admin of at most {n - 1} teams", fix))

    @_needs_people
    def inactive_admins(self) -> Finding:
        days = self.cfg.inactive_admin_days
        rows = self.rows("SELECT username, last_active_at FROM users WHERE org_role = 'admin' "
                         "AND active = 1 AND account_type = 'USER' AND (last_active_at IS NULL "
                         "OR last_active_at < ?) ORDER BY username", (self.now - days * DAY,))
        items = [f"{r[0]}: " + ("never active" if r[1] is None else
                                f"last active {int((self.now - r[1]) // DAY)} days ago")
                 for r in rows]
        return Finding("inactive-admins", f"Org admins inactive for {days} days", "high", items,
                       people=[r[0] for r in rows], fix_note="demote them to member",
                       make_fix=_plan("Demote inactive org admins", [
                           SetOrgRole.make(r[0], "member", "admin") for r in rows
                           if r[0] != self.s.actor]))

    @_needs_people
    def registry_admins(self) -> Finding:
        rows = self.rows("SELECT rm.registry, rm.name, u.org_role FROM registry_members rm JOIN "
                         "users u ON u.username = rm.name WHERE rm.kind = 'user' AND rm.role = "
                         "'admin' AND u.account_type = 'USER' AND COALESCE(u.org_role, '') != "
                         "'admin' ORDER BY 1, 2")
        return Finding("registry-admins-not-org-admins", "Registry admins who are not org admins",
                       "medium", [f"{r[1]}: admin of registry {r[0]} (org {r[2]})" for r in rows],
                       people=sorted({r[1] for r in rows}),
                       fix_note="make them registry members",
                       make_fix=_plan("Registry admins to members", [
                           SetRegistryRole.make(r[0], "user", r[1], "member", "admin",
                                                self.s.org_entity) for r in rows]))


def findings(service: AccessService, settings: AccessSettings, *, now: float | None = None,
             journal: Any = None, include_empty: bool = False,
             policy: Policy | None = None) -> list[Finding]:
    """Every finding with something to report (all of them with `include_empty`), most severe
    first. `policy` names the protected aliases (default: the promotion policy file)."""
    t = _Triage(service, settings, clock.now() if now is None else now, journal, policy)
    found = [t.no_admin(), t.inactive_admins(), t.service_accounts_restricted(),
             t.single_admin(), t.too_many_org_admins(), t.deactivated_in_teams(),
             t.registry_admins(), t.stale_invites(), t.many_teams(), t.sa_admins(),
             t.sa_idle(), t.sa_old_keys(), t.sa_unknown_key_age(), t.sa_many_keys(),
             t.sa_org_many_teams(), t.alias_outside_workflow(), t.production_untraceable(),
             t.requester_gone()]
    found = [f for f in found if include_empty or f.shown_count != 0]
    return sorted(found, key=lambda f: SEVERITIES.index(f.severity))


def get(found: list[Finding], finding_id: str) -> Finding | None:
    return next((f for f in found if f.id == finding_id), None)
