"""Identity-provider groups mapped to W&B teams and roles: a plan, like an org file.

Groups file, CSV (a header row; one member per row; `#` lines are comments):

    group,email                       # or: group,user  (a username or an email)
    ml-researchers,carol@inference-systems.ai

Groups file, JSON: an Okta-style export — the groups of `GET /api/v1/groups`, each with the
users of `GET /api/v1/groups/{id}/users` under "users" (a top-level list, or {"groups": [...]}):

    {"groups": [{"id": "00g1", "profile": {"name": "ml-researchers"},
                 "users": [{"id": "00u1", "status": "ACTIVE",
                            "profile": {"login": "carol@inference-systems.ai",
                                        "email": "carol@inference-systems.ai"}}]}]}

Users whose Okta status is not ACTIVE, PROVISIONED, RECOVERY, PASSWORD_EXPIRED or LOCKED_OUT
(e.g. SUSPENDED, DEPROVISIONED) are skipped with a note. Mapping (TOML):

    [groups.ml-researchers]
    team = "nlp-research"     # an existing W&B team
    role = "member"           # team role (default member; custom roles by name)
    org_role = "member"       # optional: admin | member | viewer

    [groups.wandb-admins]
    org_role = "admin"        # a group may set only the org role

People not in the W&B org (by email) become invitations. A person in several groups mapped to
one team gets the highest role, with a note. Groups without a mapping are listed as notes.
Only the mapped teams are managed; members of those teams who are in none of the mapped groups
are removed only with `prune`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import csvfile
from ..access.people import EMAIL, ORG_ROLES, rank
from ..changes_team import PREDEFINED_ROLES
from .diff import OrgPlan, diff
from .orgfile import Entry, OrgFileError, OrgSpec, Problem, TeamSpec, load_toml, read_text
from .state import OrgState
from .tomllines import TomlLines

ACTIVE = {"ACTIVE", "PROVISIONED", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT"}
MAPPING_KEYS = ("team", "role", "org_role")


@dataclass
class Member:
    group: str
    who: str          # email or username
    line: int | None


@dataclass
class Groups:
    path: Path
    members: list[Member] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Rule:
    group: str
    line: int | None
    team: str | None = None
    role: str = "member"
    org_role: str | None = None
    lines: dict[str, int | None] = field(default_factory=dict)  # key -> its line

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key) or self.line


@dataclass
class Mapping:
    path: Path
    rules: dict[str, Rule] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _who_ok(who: str) -> bool:
    return bool(who) and ("@" not in who or bool(EMAIL.match(who)))


def parse_csv(path: Path, text: str) -> Groups:
    out, problems = Groups(path), []
    try:
        rows = [(n, r) for n, r in csvfile.rows(text)
                if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    except csvfile.CsvProblem as exc:
        raise OrgFileError(path, [Problem(exc.line, exc.reason)]) from None
    if not rows:
        raise OrgFileError(path, [Problem(None, "no rows: expected a header `group,email`")])
    line0, header = rows[0]
    cols = [c.strip().lower() for c in header]
    who_col = next((c for c in ("email", "user", "username", "login") if c in cols), None)
    if "group" not in cols or who_col is None:
        raise OrgFileError(path, [Problem(line0, f"the header must name a `group` column and "
                                                 f"an `email` or `user` column, not "
                                                 f"{','.join(header)!r}")])
    gi, wi = cols.index("group"), cols.index(who_col)
    for n, row in rows[1:]:
        group = row[gi].strip() if gi < len(row) else ""
        who = row[wi].strip() if wi < len(row) else ""
        if not group:
            problems.append(Problem(n, "empty group"))
        elif not _who_ok(who):
            problems.append(Problem(n, f"malformed {who_col} {who!r}" if who
                                    else f"empty {who_col}"))
        else:
            out.members.append(Member(group, who, n))
            if group not in out.groups:
                out.groups.append(group)
    if problems:
        raise OrgFileError(path, problems)
    return out


def _line_of(text: str, needle: str) -> int | None:
    at = text.find(json.dumps(needle))
    return None if at < 0 else text.count("\n", 0, at) + 1


def parse_json(path: Path, text: str) -> Groups:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OrgFileError(path, [Problem(exc.lineno, f"invalid JSON: {exc.msg}")]) from None
    items = data.get("groups") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise OrgFileError(path, [Problem(1, "expected a list of Okta groups, or "
                                             "{\"groups\": [...]}")])
    out, problems = Groups(path), []
    for i, g in enumerate(items):
        profile = g.get("profile") if isinstance(g, dict) else None
        name = (profile or {}).get("name") if isinstance(profile, dict) else None
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(_line_of(text, str((g or {}).get("id", ""))) if
                                    isinstance(g, dict) else None,
                                    f"groups[{i}]: no profile.name"))
            continue
        name = name.strip()
        out.groups.append(name)
        users = g.get("users", [])
        if not isinstance(users, list):
            problems.append(Problem(_line_of(text, name), f"group {name!r}: users must be a "
                                                          "list"))
            continue
        for j, u in enumerate(users):
            up = u.get("profile") if isinstance(u, dict) else None
            who = (up or {}).get("email") or (up or {}).get("login") \
                if isinstance(up, dict) else None
            line = _line_of(text, who) if isinstance(who, str) else None
            if not isinstance(who, str) or not _who_ok(who.strip()):
                problems.append(Problem(line, f"group {name!r} users[{j}]: no valid "
                                              "profile.email or profile.login"))
                continue
            status = str(u.get("status") or "ACTIVE").upper()
            if status not in ACTIVE:
                out.notes.append(f"{who} in {name}: Okta status {status}, skipped")
                continue
            out.members.append(Member(name, who.strip(), line))
    if problems:
        raise OrgFileError(path, problems)
    return out


def load_groups(path: Path) -> Groups:
    text = read_text(path)
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        return parse_json(path, text)
    return parse_csv(path, text)


def parse_mapping(path: Path, text: str, *, allow_unknown_keys: bool = False) -> Mapping:
    data = load_toml(path, text)
    where, out, problems = TomlLines(text), Mapping(path), []

    def unknown(line: int | None, key: str, known: str) -> None:
        if allow_unknown_keys:
            out.warnings.append(f"{path}:{line}: unknown key {key!r} ignored")
        else:
            problems.append(Problem(line, f"unknown key {key!r} (known: {known}; "
                                          "--allow-unknown-keys ignores it)"))

    groups = data.get("groups")
    for k in data:
        if k != "groups":
            unknown(where.line((k,)), k, "groups")
    if not isinstance(groups, dict) or not groups:
        raise OrgFileError(path, [Problem(None, "no [groups.NAME] tables: nothing is mapped")])
    for group, rule in groups.items():
        line = where.line(("groups", group))
        if not isinstance(rule, dict):
            problems.append(Problem(line, f"groups.{group} must be a table"))
            continue
        for k in rule:
            if k not in MAPPING_KEYS:
                unknown(where.line(("groups", group, k)), f"groups.{group}.{k}",
                        ", ".join(MAPPING_KEYS))
        r = Rule(group, line, lines={k: where.line(("groups", group, k)) for k in rule})
        for k in MAPPING_KEYS:
            v = rule.get(k)
            if v is not None and (not isinstance(v, str) or not v.strip()):
                problems.append(Problem(where.line(("groups", group, k)),
                                        f"groups.{group}.{k} must be a non-empty string"))
        r.team = (rule.get("team") or "").strip() or None
        r.role = (rule.get("role") or "member").strip()
        org_role = rule.get("org_role")
        if isinstance(org_role, str) and org_role.strip():
            if org_role.strip().lower() not in ORG_ROLES:
                problems.append(Problem(where.line(("groups", group, "org_role")),
                                        f"unknown org role {org_role!r} (one of: "
                                        f"{', '.join(ORG_ROLES)})"))
            r.org_role = org_role.strip().lower()
        if r.team is None and r.org_role is None:
            problems.append(Problem(line, f"groups.{group} maps to nothing: give a team "
                                          "and/or an org_role"))
        out.rules[group] = r
    if problems:
        raise OrgFileError(path, problems)
    return out


def load_mapping(path: Path, *, allow_unknown_keys: bool = False) -> Mapping:
    return parse_mapping(path, read_text(path), allow_unknown_keys=allow_unknown_keys)


def _key(state: OrgState, who: str) -> str:
    """One name per person: the username when W&B knows them, else the email."""
    if "@" in who and (u := state.user_by_email(who)) is not None:
        return u.username
    return who


def plan(groups: Groups, mapping: Mapping, state: OrgState, *, prune: bool = False
         ) -> OrgPlan:
    """The OrgPlan that brings the mapped teams (and org roles) in line with the groups."""
    problems: list[Problem] = []
    for rule in mapping.rules.values():
        if rule.team is not None and rule.team not in state.teams:
            problems.append(Problem(rule.line_of("team"), f"groups.{rule.group}: team "
                                    f"{rule.team!r} does not exist in W&B (create it first)"))
        if rule.role.lower() not in PREDEFINED_ROLES and rule.role not in state.custom_roles:
            problems.append(Problem(rule.line_of("role"), f"groups.{rule.group}: unknown "
                                                          f"team role {rule.role!r}"))
    if problems:
        raise OrgFileError(mapping.path, problems)
    custom = {name: "member" for name in state.custom_roles}
    teams: dict[str, dict[str, tuple[str, int | None]]] = {}
    org_roles: dict[str, tuple[str, int | None]] = {}
    notes = list(groups.notes)
    for group in groups.groups:
        if group not in mapping.rules:
            notes.append(f"IdP group {group!r} has no mapping: ignored")
    for m in groups.members:
        rule = mapping.rules.get(m.group)
        if rule is None:
            continue
        who = _key(state, m.who)
        if rule.team is not None:
            role = rule.role.lower() if rule.role.lower() in PREDEFINED_ROLES else rule.role
            have = teams.setdefault(rule.team, {}).get(who)
            if have is None or rank(role, custom) > rank(have[0], custom):
                if have is not None:
                    notes.append(f"{who}: {role} in {rule.team} (highest of their groups)")
                teams[rule.team][who] = (role, m.line)
        if rule.org_role is not None:
            have_org = org_roles.get(who)
            if have_org is None or rank(rule.org_role) > rank(have_org[0]):
                org_roles[who] = (rule.org_role, m.line)
    spec = OrgSpec(groups.path, org=None, org_roles=[
        Entry(who, role, line) for who, (role, line) in sorted(org_roles.items())] or None,
        teams=[TeamSpec(team, None, members=[Entry(w, r, ln) for w, (r, ln) in
                                             sorted(members.items())])
               for team, members in sorted(teams.items())])
    planned = diff(spec, state, prune=prune)
    # Only the mapped teams' membership is the import's business: other users' org roles
    # and other parts of those teams are not drift here.
    planned.unmanaged = [u for u in planned.unmanaged if not u.target.startswith("org/")
                         and "not in the file (--prune" in u.detail]
    planned.notes = notes + planned.notes
    planned.plan.title = f"Import {groups.path.name} (IdP groups)"
    return planned
