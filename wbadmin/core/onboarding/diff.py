"""The org file against W&B: a Plan of Changes, and what differs but is not changed.

Only what the file lists is managed: a team's members when it has a `members` table, its
pending invites when it lists `invites`, and so on; `[org.roles]` manages the org roles of
the users it names and reports users it does not name. Differences the plan fixes become
Changes; differences it leaves alone are `Unmanaged` (still drift, for `plan`'s exit code):
members, invites and registry members missing from the file (removed only with `prune`,
because removing people is dangerous), and teams, projects and service accounts W&B cannot
delete (or wbadmin never deletes). Problems that need W&B to detect (unknown users, taken
names, unknown custom roles) are collected with their file line and raised together as an
`OrgFileError` before anything is applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..access.changes import AddToTeam, CancelInvite, Invite, SetOrgRole
from ..access.changes_registry import CreateServiceAccount, SetRegistryRole
from ..changes import Change, Plan
from ..changes_team import PREDEFINED_ROLES, RemoveFromTeam, SetTeamRole, normalize_role
from ..org_roles import viewer_knock_ons
from .changes import CreateProject, CreateTeam, UpdateProject
from .names import name_taken, project_name_problem, team_name_problem
from .orgfile import Entry, OrgFileError, OrgSpec, Problem, RegistrySpec, TeamSpec
from .state import OrgState, Team


@dataclass(frozen=True)
class Unmanaged:
    """Drift the plan does not fix: `target` as in change targets, `detail` says why."""

    target: str
    detail: str


@dataclass
class OrgPlan:
    path: Path
    plan: Plan
    unmanaged: list[Unmanaged] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: dict[int, int | None] = field(default_factory=dict)  # id(change) -> file line

    @property
    def drift(self) -> bool:
        return not self.plan.is_empty or bool(self.unmanaged)

    def line_of(self, change: Change) -> int | None:
        return self.lines.get(id(change))


class _Differ:
    def __init__(self, spec: OrgSpec, state: OrgState, prune: bool) -> None:
        self.spec, self.state, self.prune = spec, state, prune
        self.problems: list[Problem] = []
        self.out = OrgPlan(spec.path, Plan(title=f"Make W&B match {spec.path.name}"))
        self.removals: list[tuple[Change, int | None]] = []
        self.org_roles = {u.username: u.org_role for u in state.users.values()}
        self.knocked_on: set[str] = set()  # people this plan makes org viewers

    def add(self, change: Change, line: int | None) -> None:
        self.out.plan.add(change)
        self.out.lines[id(change)] = line

    def bad(self, line: int | None, reason: str) -> None:
        self.problems.append(Problem(line, reason))

    def drift(self, target: str, detail: str) -> None:
        self.out.unmanaged.append(Unmanaged(target, detail))

    # -- people ------------------------------------------------------------------------------

    def user(self, who: str, line: int | None) -> tuple[str | None, str | None] | None:
        """(username, email) of a file entry; username None: not in the org (an invitation).
        None: a problem was recorded."""
        if "@" in who:
            found = self.state.user_by_email(who)
            return (found.username, who) if found else (None, who)
        if who in self.state.service_account_names:
            self.bad(line, f"{who} is a service account: list it under service_accounts")
            return None
        found_user = self.state.users.get(who)
        if found_user is None:
            self.bad(line, f"unknown user {who!r} (not in the organization; use their email "
                           "address to invite them)")
            return None
        return who, found_user.email

    def team_role(self, entry: Entry, username: str | None) -> str | None:
        role = entry.value
        if role.lower() in PREDEFINED_ROLES:
            return role.lower()
        if role not in self.state.custom_roles:
            known = ", ".join([*PREDEFINED_ROLES, *sorted(self.state.custom_roles)])
            self.bad(entry.line, f"unknown team role {role!r} for {entry.key!r} (one of: "
                                 f"{known}; custom role names are case-sensitive)")
            return None
        org_role = self.org_roles.get(username) if username else "member"
        if org_role != "member":
            self.bad(entry.line, f"{entry.key} cannot get the custom role {role!r}: W&B gives "
                                 f"custom roles only to users whose org role is member "
                                 f"({entry.key} is {org_role or 'unknown'})")
            return None
        return role

    # -- org -------------------------------------------------------------------------------

    def org(self) -> None:
        spec, state = self.spec, self.state
        if spec.org and state.org and spec.org != state.org:
            self.bad(spec.org_line, f"this file describes the org {spec.org!r}, but W&B "
                                    f"answers for {state.org!r} (wrong profile?)")
        if spec.org_roles is None:
            return
        listed = set()
        for entry in spec.org_roles:
            found = self.user(entry.key, entry.line)
            if found is None:
                continue
            username, _ = found
            if username is None:
                self.bad(entry.line, f"{entry.key} is not in the organization: org roles "
                                     "apply to org users (invite them to a team first)")
                continue
            listed.add(username)
            current = self.org_roles.get(username)
            self.org_roles[username] = entry.value
            if current != entry.value:
                self.add(SetOrgRole.make(username, entry.value, current), entry.line)
                if entry.value == "viewer":
                    self.becomes_viewer(username)
        for u in sorted(state.users.values(), key=lambda u: u.username):
            if u.active and u.username not in listed:
                self.drift(f"org/{u.username}", f"org {u.org_role or 'user'}, not in "
                                                "[org.roles]")

    def becomes_viewer(self, username: str) -> None:
        """W&B's knock-on of the org viewer role, said in the plan and applied to the state
        the rest of the file is compared with, so that one apply is enough: every team role
        of the person becomes viewer, and they get the viewer role in the org's registries."""
        teams = [(t.name, t.members[username]) for t in self.state.teams.values()
                 if username in t.members]
        registries = [name for name, members in self.state.registries.items()
                      if ("user", username) not in members]
        self.out.notes.extend(viewer_knock_ons(username, None, teams, registries))
        self.knocked_on.add(username)
        for team in self.state.teams.values():
            if username in team.members:
                team.members[username] = "viewer"
        for name in registries:
            self.state.registries[name][("user", username)] = "viewer"

    # -- teams -----------------------------------------------------------------------------

    def new_team(self, spec: TeamSpec) -> Team | None:
        problem = team_name_problem(spec.name) or name_taken(spec.name,
                                                             self.state.entity_names())
        if problem:
            self.bad(spec.line, problem)
            return None
        admin = None
        for entry in spec.members or []:
            found = self.state.users.get(entry.key) or (
                self.state.user_by_email(entry.key) if "@" in entry.key else None)
            if entry.value.lower() == "admin" and found is not None and found.active:
                admin = found.username
                break
        if admin is None:
            self.bad(spec.line, f"new team {spec.name} needs an admin among its members (an "
                                "org user with role \"admin\"): wbadmin never creates a team "
                                "without one")
            return None
        self.add(CreateTeam.make(spec.name, admin=admin), spec.line)
        return Team(spec.name, members={admin: "admin"})

    def team(self, spec: TeamSpec) -> None:
        current = self.state.teams.get(spec.name)
        if current is None:
            current = self.new_team(spec)
            if current is None:
                return
        listed_users: set[str] = set()
        listed_emails: set[str] = set()
        for entry in spec.members or []:
            found = self.user(entry.key, entry.line)
            if found is None:
                continue
            username, email = found
            role = self.team_role(entry, username)
            if role is None:
                continue
            if email:
                listed_emails.add(email.lower())
            if username is None:
                self.invite(current, email or entry.key, role, entry.line)
                continue
            if username in listed_users:
                self.bad(entry.line, f"{entry.key} is listed twice in {spec.name}")
                continue
            listed_users.add(username)
            if username in self.knocked_on and role != "viewer":
                self.bad(entry.line, f"{entry.key} becomes an org viewer in this file, and W&B "
                                     f"makes an org viewer a viewer in every team: {role!r} in "
                                     f"{spec.name} cannot hold (write viewer here, or give "
                                     f"{entry.key} another org role)")
                continue
            have = current.members.get(username)
            if have is None and not self.state.users[username].active:
                self.bad(entry.line, f"{username} is deactivated in W&B: reactivate them "
                                     "before adding them to a team")
            elif have is None:
                self.add(AddToTeam.make(spec.name, username, role, email=email), entry.line)
            elif normalize_role(have) != role:
                self.add(SetTeamRole.make(spec.name, username, role, have), entry.line)
        for entry in spec.invites or []:
            listed_emails.add(entry.key.lower())
            found = self.state.user_by_email(entry.key)
            if found is not None:
                # An org user: once the invite is accepted (or, on Dedicated, at once) they
                # are a member the file accounts for, not drift.
                listed_users.add(found.username)
                if found.username in current.members:
                    continue
            self.invite(current, entry.key, "member", entry.line)
        self.service_accounts(spec, current)
        self.projects(spec, current)
        self.extras(spec, current, listed_users, listed_emails)

    def invite(self, team: Team, email: str, role: str, line: int | None) -> None:
        if email.lower() in {e.lower() for e in team.invites}:
            return  # already invited: pending acceptance
        if role not in ("admin", "member"):
            self.out.notes.append(f"{team.name}/{email}: invited as member; W&B invitations "
                                  f"carry only admin or member, so {role!r} is set by a later "
                                  "apply, once they have joined")
        self.add(Invite.make(team.name, email=email, admin=role == "admin"), line)

    def service_accounts(self, spec: TeamSpec, current: Team) -> None:
        if spec.service_accounts is None:
            return
        listed = {e.key for e in spec.service_accounts}
        for entry in spec.service_accounts:
            if entry.key not in current.service_accounts:
                self.add(CreateServiceAccount.make(spec.name, entry.key), entry.line)
        for description, username in sorted(current.service_accounts.items()):
            if description not in listed:
                self.drift(f"{spec.name}/{username}", "service account not in the file "
                           "(W&B has no API to delete service accounts)")

    def projects(self, spec: TeamSpec, current: Team) -> None:
        if spec.projects is None:
            return
        listed = set()
        for p in spec.projects:
            listed.add(p.name)
            have = current.projects.get(p.name)
            if have is None:
                if problem := project_name_problem(p.name):
                    self.bad(p.line, problem)
                    continue
                self.add(CreateProject.make(spec.name, p.name, description=p.description or "",
                                            access=p.access), p.line)
                continue
            description = p.description if p.description is not None and \
                p.description != (have.get("description") or "") else None
            access = p.access if p.access is not None and p.access != have.get("access") \
                else None
            if description is not None or access is not None:
                self.add(UpdateProject.make(spec.name, p.name, current=have,
                                            description=description, access=access), p.line)
        for name in sorted(set(current.projects) - listed):
            self.drift(f"{spec.name}/{name}", "project not in the file (wbadmin never deletes "
                                              "projects)")

    def extras(self, spec: TeamSpec, current: Team, users: set[str], emails: set[str]) -> None:
        if spec.members is not None:
            for username, role in sorted(current.members.items()):
                if username in users:
                    continue
                if self.prune:
                    self.removals.append((RemoveFromTeam.make(spec.name, username, role),
                                          spec.line))
                else:
                    self.drift(f"{spec.name}/{username}", f"{role} in W&B, not in the file "
                                                          "(--prune removes)")
        if spec.invites is not None:
            for email in sorted(current.invites, key=str.lower):
                if email.lower() in emails:
                    continue
                if self.prune:
                    key = {"email": email} if "@" in email else {"username": email}
                    self.removals.append((CancelInvite.make(spec.name, **key), spec.line))
                else:
                    self.drift(f"{spec.name}/{email}", "pending invite not in the file "
                                                       "(--prune cancels)")

    # -- registries ------------------------------------------------------------------------

    def registry(self, spec: RegistrySpec, file_teams: set[str]) -> None:
        members = self.state.registries.get(spec.name)
        if members is None:
            self.bad(spec.line, f"unknown registry {spec.name!r} (name it without the "
                                "wandb-registry- prefix; wbadmin does not create registries)")
            return
        for kind, entries in (("user", spec.users), ("team", spec.teams)):
            if entries is None:
                continue
            listed = set()
            for entry in entries:
                name = entry.key
                if kind == "user":
                    if "@" in name and (u := self.state.user_by_email(name)) is not None:
                        name = u.username
                    sa = name in self.state.service_account_names
                    if name not in self.state.users and not sa:
                        self.bad(entry.line, f"unknown user {entry.key!r}")
                        continue
                    if sa and entry.value in ("viewer", "restricted_viewer"):
                        self.bad(entry.line, "W&B service accounts cannot be registry viewers")
                        continue
                elif name not in self.state.teams and name not in file_teams:
                    self.bad(entry.line, f"unknown team {name!r}")
                    continue
                listed.add(name)
                have = members.get((kind, name))
                if have != entry.value:
                    self.add(SetRegistryRole.make(spec.name, kind, name, entry.value, have,
                                                  self.state.org_entity), entry.line)
            for (k, name), role in sorted(members.items()):
                if k != kind or name in listed:
                    continue
                if k == "user" and role == "viewer" and self.org_roles.get(name) == "viewer":
                    continue  # implied: W&B gives an org viewer the viewer role in registries
                if self.prune:
                    self.removals.append((SetRegistryRole.make(
                        spec.name, kind, name, None, role, self.state.org_entity), spec.line))
                else:
                    label = name if kind == "user" else f"team:{name}"
                    self.drift(f"registry:{spec.name}/{label}", f"{role} in W&B, not in the "
                                                                "file (--prune removes)")

    def run(self) -> OrgPlan:
        self.org()
        file_teams = {t.name for t in self.spec.teams or []}
        seen: set[str] = set()
        for team in self.spec.teams or []:
            seen.add(team.name)
            self.team(team)
        if self.spec.teams is not None:
            for name in sorted(set(self.state.teams) - seen):
                self.drift(name, "team not in the file (W&B has no API to delete teams)")
        for registry in self.spec.registries or []:
            self.registry(registry, file_teams)
        if self.spec.registries is not None:
            listed = {r.name for r in self.spec.registries}
            for name in sorted(set(self.state.registries) - listed):
                self.drift(f"registry:{name}", "registry not in the file")
        for change, line in self.removals:  # removals last: new admins are in place first
            self.add(change, line)
        if self.problems:
            raise OrgFileError(self.spec.path, sorted(self.problems, key=lambda p: p.line or 0))
        return self.out


def diff(spec: OrgSpec, state: OrgState, *, prune: bool = False) -> OrgPlan:
    """The plan that makes W&B match `spec` (raises OrgFileError listing every problem)."""
    return _Differ(spec, state, prune).run()
