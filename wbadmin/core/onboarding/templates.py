"""Onboarding templates: TOML files describing what a new team or a new hire gets in W&B.

A team template (`kind = "team"`) lists the projects to create, the team role of each group
of people the walkthrough asks for, service accounts, registry access and a quota policy. A
new-hire template (`kind = "hire"`) gives one job function its teams, roles and registry
access. `{team}` in names and descriptions is the team the walkthrough asks for.

    [template]
    kind = "team"
    description = "A research team: experiment projects, a CI account, model registry access"
    ticket = "[A-Z]+-[0-9]+"      # optional: creating the team needs a ticket matching this

    [groups]                      # who the walkthrough asks for -> their team role
    admins = "admin"
    members = "member"

    [[projects]]
    name = "{team}-experiments"
    description = "Training runs of {team}"
    visibility = "team"           # team | restricted | public | open
    workspace = "llm-finetune"    # optional: a saved workspace (layouts.py) made with it

    [[service_accounts]]
    name = "{team}-ci"

    [[registry_access]]
    registry = "model"
    role = "viewer"               # admin | member | viewer | restricted_viewer
    who = "team"                  # the team itself, or one of the groups

    [quota]                       # carried into a quota policy snippet, not applied to W&B
    period = "month"
    gpu_hours = { soft = 1500, hard = 2000 }

Which keys a template may have, and for which kind, is `SCHEMA` below (one place: a new key
joins it and gets its parse method). Every problem is reported with the file, the line and
the reason before anything is planned. Finding templates by name is `library.py`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import tomlfile
from ..settings import PolicyFileError
from .layouts import layout_names

SHIPPED_DIR = Path(__file__).with_name("templates")
KINDS = ("team", "hire")
VISIBILITIES = ("team", "restricted", "public", "open")
TEAM_ROLES = ("admin", "member", "viewer")
REGISTRY_ROLES = ("admin", "member", "viewer", "restricted_viewer")
PLACEHOLDERS = {"team": ("team", "hire")}  # name -> the template kinds that may use it
QUOTA_LIMITS = ("gpu_hours", "storage_gb", "concurrent_runs")
PERIODS = ("month", "week")
TICKET_MAX = 64  # a ticket key rides in every new project's description: keep it short
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_HEADER = re.compile(r"^\[(\[)?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")


@dataclass(frozen=True)
class Key:
    """One key of the template format: `[template]`'s own keys are "template.<key>", the rest
    are top-level tables. `kinds`: the kinds of template that may have it."""

    name: str
    kinds: tuple[str, ...]
    what: str


SCHEMA: tuple[Key, ...] = (
    Key("template.kind", KINDS, "team | hire (required)"),
    Key("template.name", KINDS, "the template's name (default: the file's name)"),
    Key("template.description", KINDS, "one line, shown in the template list"),
    Key("template.ticket", ("team",),
        "a regular expression; the walkthrough and `wbadmin onboard team --ticket` then "
        "require a ticket it matches in full (re.fullmatch), and record it in the journal and "
        "the new projects' descriptions"),
    Key("template", KINDS, "the table of the keys above (required)"),
    Key("groups", ("team",), "group -> team role: whom the walkthrough asks for (required)"),
    Key("projects", ("team",), "[[projects]]: name, description, visibility, workspace"),
    Key("projects.name", ("team",), "the project's name (required; may use {team})"),
    Key("projects.description", ("team",), "the new project's description"),
    Key("projects.visibility", ("team",), " | ".join(VISIBILITIES)),
    Key("projects.workspace", ("team",),
        "a workspace layout (onboarding/workspaces/<name>.toml, e.g. \"llm-finetune\"), "
        "saved in the project with wandb-workspaces: a change of the plan, undone by "
        "deleting the view; a project already holding it (by name) gets no second one"),
    Key("service_accounts", ("team",), "[[service_accounts]]: name"),
    Key("registry_access", KINDS, "[[registry_access]]: registry, role (, who: team templates)"),
    Key("quota", ("team",), "period and limits, carried into a quota policy snippet"),
    Key("teams", ("hire",), "[[teams]]: team (a name, \"{team}\" or \"*\"), role"),
)


def schema_keys(kind: str, table: str = "") -> set[str]:
    """The keys a `kind` template may have at the top level (`table` "") or in `[table]`."""
    prefix = f"{table}." if table else ""
    return {k.name.removeprefix(prefix) for k in SCHEMA if kind in k.kinds and
            k.name.startswith(prefix) and "." not in k.name.removeprefix(prefix)}


class TemplateError(PolicyFileError):
    """A template is unreadable or malformed: names the file, the line and the reason."""

    what = "template"


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    description: str = ""
    visibility: str = "team"
    workspace: str = ""     # a layout name (layouts.py), "" for none


@dataclass(frozen=True)
class ServiceAccountSpec:
    name: str


@dataclass(frozen=True)
class RegistryGrant:
    registry: str
    role: str
    who: str = "team"       # team templates: "team" or a group; hire templates: the person


@dataclass(frozen=True)
class TeamGrant:
    """A hire template's team: a literal name, "{team}" (asked for), or "*" (every team)."""

    team: str
    role: str


@dataclass(frozen=True)
class Limit:
    soft: float | None = None
    hard: float | None = None


@dataclass(frozen=True)
class QuotaSpec:
    period: str = "month"
    limits: tuple[tuple[str, Limit], ...] = ()   # (gpu_hours | storage_gb | concurrent_runs)


@dataclass(frozen=True)
class Template:
    name: str
    kind: str                       # team | hire
    description: str
    path: Path
    shipped: bool = False
    groups: tuple[tuple[str, str], ...] = ()          # team: (group, team role)
    projects: tuple[ProjectSpec, ...] = ()
    service_accounts: tuple[ServiceAccountSpec, ...] = ()
    registry_access: tuple[RegistryGrant, ...] = ()
    quota: QuotaSpec | None = None
    teams: tuple[TeamGrant, ...] = ()                 # hire
    ticket: re.Pattern[str] | None = None             # team: the ticket key it requires
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def asks_team(self) -> bool:
        """Whether filling it needs a team name (a team template always does)."""
        return self.kind == "team" or any(t.team == "{team}" for t in self.teams)

    def line(self, where: str) -> int | None:
        """The line of a part of the template (e.g. "projects.1.name"), for plan-time errors."""
        return _line_at(self.lines, where)

    def ticket_problem(self, ticket: str) -> str | None:
        """Why `ticket` cannot be recorded for this template (None: it can). Without a
        `ticket` pattern a ticket is optional, and any single word is recorded as given."""
        ticket = ticket.strip()
        if not ticket:
            if self.ticket is None:
                return None
            return f"template {self.name} requires a ticket matching {self.ticket.pattern}"
        if len(ticket) > TICKET_MAX or any(c.isspace() or not c.isprintable() for c in ticket):
            return (f"ticket {ticket[:TICKET_MAX]!r}: one word of at most {TICKET_MAX} "
                    "characters")
        if self.ticket is not None and not self.ticket.fullmatch(ticket):
            return f"ticket {ticket!r} does not match {self.ticket.pattern} (template {self.name})"
        return None


def parse_template(text: str, path: Path | str = "<template>") -> Template:
    path = Path(path)
    try:
        data = tomlfile.loads(text)
    except tomlfile.TomlSyntaxError as exc:
        raise TemplateError(path, exc.reason, exc.line) from None
    return _Parser(path, text).template(data)


# ---- parsing --------------------------------------------------------------------------------

def _line_at(lines: dict[str, int], where: str) -> int | None:
    """The line of `where` ("projects.1.name"), else of its nearest located parent."""
    while where:
        if where in lines:
            return lines[where]
        where = where.rpartition(".")[0]
    return None


def _locate(text: str) -> dict[str, int]:
    """Lines of tables and keys: "projects.0" is the first [[projects]] header,
    "projects.0.name" its name key; "quota.gpu_hours" a key of [quota]."""
    out: dict[str, int] = {}
    counts: dict[str, int] = {}
    current = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if head := _HEADER.match(line):
            name = re.sub(r"\s*\.\s*", ".", head.group(2)).replace('"', "")
            if head.group(1):
                index = counts.get(name, 0)
                counts[name] = index + 1
                name = f"{name}.{index}"
            current = name
            out.setdefault(current, number)
            continue
        if key := re.match(r'^"?([A-Za-z0-9_\-]+)"?\s*=', line):
            out.setdefault(f"{current}.{key.group(1)}" if current else key.group(1), number)
    return out


class _Parser:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = _locate(text)
        self.kind = "team"

    def fail(self, where: str, reason: str) -> TemplateError:
        return TemplateError(self.path, reason, _line_at(self.lines, where))

    def text(self, table: dict[str, Any], key: str, where: str, *, required: bool = False,
             default: str = "") -> str:
        value = table.get(key)
        if value is None:
            if required:
                raise self.fail(where, f"{where}: `{key}` is required")
            return default
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}", f"{where}.{key} must be a string")
        self.placeholders(value, f"{where}.{key}")
        return value.strip()

    def placeholders(self, value: str, where: str) -> None:
        for name in _PLACEHOLDER.findall(value):
            kinds = PLACEHOLDERS.get(name)
            if kinds is None or self.kind not in kinds:
                allowed = ", ".join("{" + p + "}" for p, k in PLACEHOLDERS.items()
                                    if self.kind in k)
                raise self.fail(where, f"unknown placeholder {{{name}}} in {where} "
                                       f"(a {self.kind} template may use {allowed})")

    def choice(self, value: str, allowed: tuple[str, ...], where: str) -> str:
        if value.lower() not in allowed:
            raise self.fail(where, f"{where} is {value!r}; one of {', '.join(allowed)}")
        return value.lower()

    def keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(f"{where}.{key}" if where else key,
                                f"unknown key {key!r} in {where or 'the template'} "
                                f"(known: {known})")

    def tables(self, data: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"{key} must be an array of tables ([[{key}]])")
        return [(f"{key}.{i}", v) for i, v in enumerate(value)]

    # ---- the whole file -----------------------------------------------------------------

    def template(self, data: dict[str, Any]) -> Template:
        head = data.get("template")
        if not isinstance(head, dict):
            raise self.fail("template", "a [template] table with `kind` (team or hire) is "
                                        "required")
        kind = head.get("kind")
        if not isinstance(kind, str):
            raise self.fail("template.kind", "template.kind is required: team or hire")
        self.kind = self.choice(kind, KINDS, "template.kind")
        self.keys(head, schema_keys(self.kind, "template"), "template")
        name = self.text(head, "name", "template", default=self.path.stem)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name):
            raise self.fail("template.name", f"template.name {name!r}: use letters, digits, "
                                             "'-', '_' and '.'")
        description = self.text(head, "description", "template")
        common = dict(name=name, kind=self.kind, description=description, path=self.path,
                      shipped=self.path.parent == SHIPPED_DIR, lines=self.lines)
        self.keys(data, schema_keys(self.kind), "")
        if self.kind == "team":
            groups = self.groups(data)
            return Template(**common, groups=groups, projects=self.projects(data),
                            service_accounts=self.service_accounts(data),
                            registry_access=self.registry_access(data, {g for g, _ in groups}),
                            quota=self.quota(data), ticket=self.ticket(head))
        teams = self.teams(data)
        access = self.registry_access(data, set())
        if not teams and not access:
            raise self.fail("template", "a hire template needs [[teams]] or "
                                        "[[registry_access]]")
        return Template(**common, teams=teams, registry_access=access)

    def ticket(self, head: dict[str, Any]) -> re.Pattern[str] | None:
        """`ticket = "[A-Z]+-[0-9]+"`: compiled now, so a bad pattern is a load error with its
        line (no placeholders: `{3}` is a regex repeat here)."""
        value = head.get("ticket")
        if value is None:
            return None
        where = "template.ticket"
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"{where} must be a regular expression a ticket key "
                                   "matches, e.g. \"[A-Z]+-[0-9]+\"")
        try:
            return re.compile(value.strip())
        except re.error as exc:
            raise self.fail(where, f"{where} {value.strip()!r} is not a regular expression: "
                                   f"{exc.msg} at position {exc.pos}") from None

    def groups(self, data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        groups = data.get("groups", {})
        if not isinstance(groups, dict) or not groups:
            raise self.fail("groups", "a team template needs [groups]: each group of people "
                                      "and its team role, e.g. admins = \"admin\"")
        out = []
        for group, role in groups.items():
            where = f"groups.{group}"
            if not re.fullmatch(r"[a-z][a-z0-9_\-]*", group):
                raise self.fail(where, f"group name {group!r}: lowercase letters, digits, "
                                       "'-' and '_'")
            if not isinstance(role, str) or not role.strip():
                raise self.fail(where, f"{where} must be a team role (admin, member, viewer "
                                       "or a custom role's name)")
            out.append((group, role.lower() if role.lower() in TEAM_ROLES else role.strip()))
        return tuple(out)

    def projects(self, data: dict[str, Any]) -> tuple[ProjectSpec, ...]:
        out, seen = [], {}
        for where, table in self.tables(data, "projects"):
            self.keys(table, schema_keys(self.kind, "projects"), where)
            name = self.text(table, "name", where, required=True)
            if name in seen:
                raise self.fail(f"{where}.name", f"project {name!r} is listed twice (first "
                                                 f"at line {seen[name]})")
            seen[name] = self.lines.get(f"{where}.name") or 0
            out.append(ProjectSpec(name, self.text(table, "description", where),
                                   self.choice(self.text(table, "visibility", where,
                                                         default="team"),
                                               VISIBILITIES, f"{where}.visibility"),
                                   self.workspace(table, where)))
        return tuple(out)

    def workspace(self, table: dict[str, Any], where: str) -> str:
        name = self.text(table, "workspace", where)
        if name and name not in layout_names():
            raise self.fail(f"{where}.workspace", f"{where}.workspace: no workspace layout "
                                                  f"{name!r} (known: "
                                                  f"{', '.join(layout_names())})")
        return name

    def service_accounts(self, data: dict[str, Any]) -> tuple[ServiceAccountSpec, ...]:
        out = []
        for where, table in self.tables(data, "service_accounts"):
            self.keys(table, {"name"}, where)
            out.append(ServiceAccountSpec(self.text(table, "name", where, required=True)))
        return tuple(out)

    def registry_access(self, data: dict[str, Any], groups: set[str]
                        ) -> tuple[RegistryGrant, ...]:
        out = []
        for where, table in self.tables(data, "registry_access"):
            allowed = {"registry", "role", "who"} if self.kind == "team" else {"registry",
                                                                                "role"}
            self.keys(table, allowed, where)
            registry = self.text(table, "registry", where, required=True)
            role = self.choice(self.text(table, "role", where, required=True).replace(
                "-", "_").replace(" ", "_"), REGISTRY_ROLES, f"{where}.role")
            who = self.text(table, "who", where, default="team" if self.kind == "team"
                            else "user")
            if self.kind == "team" and who != "team" and who not in groups:
                raise self.fail(f"{where}.who", f"{where}.who is {who!r}: \"team\" or one of "
                                                f"the groups ({', '.join(sorted(groups))})")
            out.append(RegistryGrant(registry.removeprefix("wandb-registry-"), role, who))
        return tuple(out)

    def teams(self, data: dict[str, Any]) -> tuple[TeamGrant, ...]:
        out = []
        for where, table in self.tables(data, "teams"):
            self.keys(table, {"team", "role"}, where)
            team = self.text(table, "team", where, required=True)
            if team not in ("{team}", "*") and _PLACEHOLDER.search(team):
                raise self.fail(f"{where}.team", f"{where}.team: a team name, \"{{team}}\" "
                                                 "(asked for) or \"*\" (every team)")
            role = self.text(table, "role", where, required=True)
            out.append(TeamGrant(team, role.lower() if role.lower() in TEAM_ROLES else role))
        return tuple(out)

    def quota(self, data: dict[str, Any]) -> QuotaSpec | None:
        table = data.get("quota")
        if table is None:
            return None
        if not isinstance(table, dict):
            raise self.fail("quota", "quota must be a table ([quota])")
        self.keys(table, {"period", *QUOTA_LIMITS}, "quota")
        period = self.choice(self.text(table, "period", "quota", default="month"), PERIODS,
                             "quota.period")
        limits = []
        for key in QUOTA_LIMITS:
            if key in table:
                limits.append((key, self.limit(table[key], f"quota.{key}")))
        if not limits:
            raise self.fail("quota", f"[quota] sets no limit (any of {', '.join(QUOTA_LIMITS)})")
        return QuotaSpec(period, tuple(limits))

    def limit(self, value: Any, where: str) -> Limit:
        """`2000` (a hard limit) or `{ soft = 1500, hard = 2000 }`."""
        if isinstance(value, dict):
            self.keys(value, {"soft", "hard"}, where)
            soft, hard = value.get("soft"), value.get("hard")
        else:
            soft, hard = None, value
        for label, number in (("soft", soft), ("hard", hard)):
            if number is None:
                continue
            if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
                raise self.fail(where, f"{where}: the {label} limit must be a number >= 0 "
                                       f"(got {number!r})")
        if soft is None and hard is None:
            raise self.fail(where, f"{where}: give a soft or a hard limit")
        if soft is not None and hard is not None and soft > hard:
            raise self.fail(where, f"{where}: the soft limit ({soft}) is above the hard limit "
                                   f"({hard})")
        return Limit(soft, hard)


def fill(text: str, values: dict[str, str]) -> str:
    """Placeholders replaced (`{team}`); the parser allowed no others."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
