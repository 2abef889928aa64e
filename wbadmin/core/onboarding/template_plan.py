"""Filling a template: names and people in, a Plan of Changes out (nothing is applied here).

The plan holds only what W&B does not show yet (from the cache), so filling the same template
again after a successful apply plans nothing. Onboarding only grants: a person who already has
a higher role than the template's keeps it (a note says so). People not in the org become
invitations. Problems — names W&B would reject, unknown users, teams or registries, roles
W&B does not allow — are collected with the template line they come from, and a filled
template with any problem has an empty plan: nothing is applied half-way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..access import guards
from ..access.changes import AddToTeam, Invite
from ..access.changes_registry import CreateServiceAccount, SetRegistryRole
from ..access.people import (
    EMAIL,
    RANK,
    AccessError,
    custom_roles,
    find_person,
    identity,
    rank,
    team_role_name,
)
from ..cache import Cache
from ..changes import Change, Plan
from ..changes_team import SetTeamRole
from .changes import CreateProject, CreateTeam, UpdateProject
from .names import name_taken, project_name_problem, team_name_problem
from .quota_snippet import quota_snippet
from .templates import Template, fill
from .workspace_change import SaveWorkspace

# Template words -> W&B's GraphQL project `access` (Team, Restricted, Public, Open in the App).
ACCESS = {"team": "PRIVATE", "restricted": "RESTRICTED", "public": "USER_READ",
          "open": "USER_WRITE"}


@dataclass(frozen=True)
class Problem:
    """Why the template cannot be applied as filled: where (file:line, or the input) + why."""

    where: str
    reason: str

    @property
    def place(self) -> str:
        """`where`, unless the reason names it already ("team name 'X': …")."""
        return "" if self.reason.startswith(self.where) else self.where

    def __str__(self) -> str:
        return f"{self.place}: {self.reason}" if self.place else self.reason


@dataclass(frozen=True)
class Link:
    """Something the plan creates or grants, with its W&B page (a path under the app URL)."""

    kind: str       # team | project | service account | person | invite | registry | quota
    label: str
    path: str = ""


@dataclass
class Inputs:
    """What the walkthrough asks for: the team (team templates, `{team}` of hire templates),
    the people of each group (team templates), the new hire (hire templates) and the ticket
    the team is created under (team templates; required when the template has `ticket`)."""

    team: str = ""
    people: dict[str, list[str]] = field(default_factory=dict)
    user: str = ""
    ticket: str = ""

    def to_dict(self) -> dict:
        return {"team": self.team, "people": self.people, "user": self.user,
                "ticket": self.ticket}

    @classmethod
    def from_dict(cls, data: dict) -> Inputs:
        people = {str(k): [str(p) for p in v] for k, v in (data.get("people") or {}).items()}
        return cls(team=str(data.get("team") or ""), people=people,
                   user=str(data.get("user") or ""), ticket=str(data.get("ticket") or ""))


@dataclass
class Filled:
    template: Template
    inputs: Inputs
    plan: Plan
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    concerns: list[guards.Concern] = field(default_factory=list)
    quota: str | None = None     # the quota policy snippet (team templates with [quota])

    @property
    def ok(self) -> bool:
        return not self.problems


def with_ticket(description: str, ticket: str) -> str:
    """A new project's description carrying the ticket it was created under."""
    if not ticket:
        return description
    return f"{description} · ticket {ticket}" if description else f"ticket {ticket}"


def split_people(text: str) -> list[str]:
    """"bob, carol dave@x.ai" -> ["bob", "carol", "dave@x.ai"] (commas or spaces)."""
    return [p for p in text.replace(",", " ").split() if p]


class _Filler:
    def __init__(self, template: Template, inputs: Inputs, cache: Cache) -> None:
        self.t, self.inputs, self.cache = template, inputs, cache
        me = identity(cache)
        self.actor = me.username if me else None
        self.scim = bool(me and me.scim)
        self.org_entity = (me.org_entity if me else None) or cache.meta("org_entity") or ""
        self.org = cache.meta("org") or self.org_entity
        self.filled = Filled(template, inputs, Plan(title=""))
        self.custom = custom_roles(cache)
        # (email, role) -> teams: invitations carry admin or member only; one note each
        self.invited_as_member: dict[tuple[str, str], list[str]] = {}

    def finish(self) -> Filled:
        for (email, role), teams in self.invited_as_member.items():
            where = teams[0] if len(teams) == 1 else f"{len(teams)} teams"
            self.filled.notes.append(f"{email} is invited to {where} as member: W&B "
                                     f"invitations carry admin or member only; set {role} "
                                     "once they have joined")
        return self.filled

    # ---- helpers ----------------------------------------------------------------------------

    def problem(self, where: str, reason: str) -> None:
        self.filled.problems.append(Problem(where, reason))

    def at(self, part: str) -> str:
        line = self.t.line(part)
        return f"{self.t.path}, line {line}" if line else str(self.t.path)

    def add(self, change: Change, link: Link | None = None) -> None:
        self.filled.plan.add(change)
        if link is not None:
            self.filled.links.append(link)

    def role_of(self, team: str, username: str) -> str | None:
        return self.cache.scalar("SELECT role FROM team_members WHERE team = ? AND username = ?",
                                 (team, username))

    def team_role(self, role: str, part: str) -> str | None:
        try:
            return team_role_name(self.cache, role)
        except AccessError as exc:
            self.problem(self.at(part), str(exc))
            return None

    def registry_exists(self, name: str, part: str) -> bool:
        if self.cache.scalar("SELECT 1 FROM registries WHERE name = ?", (name,)) is None:
            self.problem(self.at(part), f"unknown registry {name!r} (not in the org as cached)")
            return False
        return True

    def person(self, key: str, where: str) -> tuple[str | None, str | None]:
        """(username, None) for an org user, (None, email) for someone to invite."""
        found = find_person(self.cache, key)
        if found is not None:
            if found.service_account:
                self.problem(where, f"{found.username} is a service account: W&B service "
                                    "accounts belong to the one team they were created in")
                return None, None
            if not found.active:
                self.problem(where, f"{found.username} is deactivated")
                return None, None
            return found.username, None
        if "@" in key:
            if not EMAIL.match(key):
                self.problem(where, f"malformed email address {key!r}")
                return None, None
            return None, key
        self.problem(where, f"unknown user {key!r} (not in the org as cached; give an email "
                            "address to invite someone new)")
        return None, None

    # ---- people into a team ----------------------------------------------------------------

    def grant_team(self, team: str, username: str | None, email: str | None, role: str,
                   *, new_team: bool) -> None:
        if username is None:
            self.invite(team, email or "", role)
            return
        current = None if new_team else self.role_of(team, username)
        if current is None:
            # Without SCIM, GraphQL adds as admin or member only; any other role is planned
            # the SCIM way, and the walkthrough says it needs an org admin to apply.
            scim = self.scim or role not in ("admin", "member")
            person = find_person(self.cache, username)
            self.add(AddToTeam.make(team, username, role, email=person.email if person else None,
                                    scim=scim),
                     Link("person", f"{username} → {team} as {role}", username))
        elif current != role:
            if rank(current, self.custom) >= rank(role, self.custom):
                self.filled.notes.append(f"{username} keeps {current} in {team} (the template "
                                         f"gives {role}; onboarding never lowers a role)")
                return
            self.add(SetTeamRole.make(team, username, role, current),
                     Link("person", f"{username} → {team} as {role}", username))

    def invite(self, team: str, email: str, role: str) -> None:
        pending = self.cache.scalar("SELECT 1 FROM invites WHERE team = ? AND LOWER(email) = "
                                    "LOWER(?)", (team, email))
        if pending:
            self.filled.notes.append(f"{email} already has a pending invite to {team}")
            return
        if role not in ("admin", "member"):
            self.invited_as_member.setdefault((email, role), []).append(team)
        self.add(Invite.make(team, email=email, admin=role == "admin"),
                 Link("invite", f"{email} invited to {team}", team))

    def grant_registry(self, registry: str, kind: str, name: str, role: str) -> None:
        current = self.cache.scalar("SELECT role FROM registry_members WHERE registry = ? AND "
                                    "kind = ? AND name = ?", (registry, kind, name))
        if current == role:
            return
        if current is not None and RANK.get(current, 0) >= RANK.get(role, 0):
            self.filled.notes.append(f"{name} keeps {current} in registry {registry} (the "
                                     f"template gives {role})")
            return
        who = name if kind == "user" else f"team {name}"
        self.add(SetRegistryRole.make(registry, kind, name, role, current, self.org_entity),
                 Link("registry", f"{who} → registry {registry} as {role}",
                      f"orgs/{self.org}/registry/{registry}"))

    # ---- team templates ------------------------------------------------------------------------

    def team(self) -> None:
        team = self.inputs.team.strip()
        bad_name = team_name_problem(team)
        if bad_name:
            self.problem("team name", bad_name)
        ticket = self.inputs.ticket.strip()
        if bad_ticket := self.t.ticket_problem(ticket):
            self.problem("ticket", bad_ticket)
        values = {"team": team}
        new_team = self.cache.scalar("SELECT 1 FROM teams WHERE name = ?", (team,)) is None
        if new_team and not bad_name:
            users = [r[0] for r in self.cache.query("SELECT username FROM users")]
            if taken := name_taken(team, users):
                self.problem("team name", taken)
        roles = {g: self.team_role(role, f"groups.{g}") for g, role in self.t.groups}
        seen: dict[str, str] = {}
        people: list[tuple[str, str | None, str | None, str]] = []   # group, user, email, role
        for group in self.inputs.people:
            if group not in roles:
                self.problem(f"people: {group}", f"the template has no group {group!r} "
                                                 f"(groups: {', '.join(roles)})")
        for group, _ in self.t.groups:
            for key in self.inputs.people.get(group, []):
                username, email = self.person(key, f"{group}: {key}")
                who = username or email
                if who is None or roles[group] is None:
                    continue
                if who in seen:
                    self.problem(f"{group}: {key}", f"{who} is also listed in {seen[who]}")
                    continue
                seen[who] = group
                people.append((group, username, email, roles[group] or "member"))
        if bad_name:
            return  # every problem with the people is reported too; nothing more to plan
        first_admin = next((u for _, u, _, r in people if u and r == "admin"), None)
        # The journal keeps the title on every entry of the plan: the ticket rides in it.
        self.filled.plan.title = f"Onboard team {team} ({self.t.name}" + (
            f", ticket {ticket})" if ticket else ")")
        if new_team:
            self.add(CreateTeam.make(team, first_admin, ticket=ticket or None),
                     Link("team", f"team {team}", team))
            if first_admin is None:
                self.filled.notes.append(f"nobody is named admin: {self.actor or 'you'} "
                                         "(who creates the team) becomes its admin")
        self.projects(team, values, new_team)
        for _, username, email, role in people:
            if new_team and username is not None and username == first_admin:
                continue  # createTeam made them admin
            self.grant_team(team, username, email, role, new_team=new_team)
        self.service_accounts(team, values, new_team)
        for i, grant in enumerate(self.t.registry_access):
            if not self.registry_exists(grant.registry, f"registry_access.{i}.registry"):
                continue
            if grant.who == "team":
                self.grant_registry(grant.registry, "team", team, grant.role)
                continue
            for _, username, email, _ in (p for p in people if p[0] == grant.who):
                if username is not None:
                    self.grant_registry(grant.registry, "user", username, grant.role)
                else:
                    self.filled.notes.append(f"{email}: registry {grant.registry} access is "
                                             "granted once they have joined (fill the "
                                             "template again then)")
        if self.t.quota is not None:
            self.filled.quota = quota_snippet(team, self.t)
            self.filled.links.append(Link("quota", f"quota policy for {team}", ""))

    def projects(self, team: str, values: dict[str, str], new_team: bool) -> None:
        for i, spec in enumerate(self.t.projects):
            name = fill(spec.name, values)
            if problem := project_name_problem(name):
                self.problem(self.at(f"projects.{i}.name"), problem)
                continue
            access = ACCESS[spec.visibility]
            rows = [] if new_team else self.cache.query(
                "SELECT access FROM projects WHERE team = ? AND name = ?", (team, name))
            link = Link("project", f"project {team}/{name}", f"{team}/{name}")
            if not rows:
                description = with_ticket(fill(spec.description, values),
                                          self.inputs.ticket.strip())
                self.add(CreateProject.make(team, name, access=access,
                                            description=description), link)
            elif rows[0]["access"] and rows[0]["access"] != access:
                self.add(UpdateProject.make(team, name, current={"access": rows[0]["access"]},
                                            access=access), link)
            if spec.workspace:  # W&B is asked whether it is there already when planning
                self.add(SaveWorkspace.make(team, name, spec.workspace))

    def service_accounts(self, team: str, values: dict[str, str], new_team: bool) -> None:
        for spec in self.t.service_accounts:
            name = fill(spec.name, values)
            exists = not new_team and self.cache.scalar(
                "SELECT 1 FROM team_members WHERE team = ? AND account_type = 'SERVICE' AND "
                "(name = ? OR username = ?)", (team, name, name))
            if not exists:
                self.add(CreateServiceAccount.make(team, name),
                         Link("service account", f"service account {name} in {team}",
                              f"{team}/service-accounts"))

    # ---- hire templates ------------------------------------------------------------------------

    def hire(self) -> None:
        key = self.inputs.user.strip()
        if not key:
            self.problem("user", "the new hire's username or email address is required")
            return
        username, email = self.person(key, f"user: {key}")
        if username is None and email is None:
            return
        who = username or email or key
        self.filled.plan.title = f"Onboard {who} as {self.t.name}"
        known = {r[0] for r in self.cache.query("SELECT name FROM teams")}
        for i, grant in enumerate(self.t.teams):
            role = self.team_role(grant.role, f"teams.{i}.role")
            if role is None:
                continue
            for team in self.expand(grant.team, i, known):
                self.grant_team(team, username, email, role, new_team=False)
        for i, grant in enumerate(self.t.registry_access):
            if not self.registry_exists(grant.registry, f"registry_access.{i}.registry"):
                continue
            if username is None:
                self.filled.notes.append(f"{email}: registry {grant.registry} access is granted "
                                         "once they have joined (fill the template again then)")
                continue
            self.grant_registry(grant.registry, "user", username, grant.role)

    def expand(self, team: str, index: int, known: set[str]) -> list[str]:
        if team == "*":
            return sorted(known)
        if team == "{team}":
            team = self.inputs.team.strip()
            if not team:
                self.problem("team", f"template {self.t.name} asks for a team (--team)")
                return []
            where = "team"
        else:
            where = self.at(f"teams.{index}.team")
        if team not in known:
            self.problem(where, f"unknown team {team!r}")
            return []
        return [team]


def fill_template(template: Template, inputs: Inputs, cache: Cache) -> Filled:
    """The plan for `template` filled with `inputs`, checked against the cached org."""
    filler = _Filler(template, inputs, cache)
    if template.kind == "team":
        filler.team()
    else:
        filler.hire()
    filled = filler.finish()
    if not filled.problems:
        try:
            guards.check_rules(cache, filled.plan)  # W&B's custom-role rule
            filled.concerns = guards.concerns(cache, filled.plan, filler.actor)
        except AccessError as exc:
            filled.problems.append(Problem("roles", str(exc)))
    if filled.problems:
        filled.plan.changes.clear()
        filled.links.clear()
    return filled
