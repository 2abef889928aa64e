"""The org file: the org's structure as reviewed code (TOML).

    [org]
    name = "inference-systems"          # the org this file describes (checked at plan time)

    [org.roles]                         # org roles (only listed users are managed)
    alice = "admin"
    "dana.levi" = "member"

    [teams.data-science-nlp]
    service_accounts = ["eval-runner: scheduled evaluations"]   # by description
    invites = ["dave@inference-systems.ai"]                      # pending invitations

    [teams.data-science-nlp.members]    # username (or email) = team role
    bob = "admin"                       # admin | member | viewer | a custom role's name
    "new.hire@inference-systems.ai" = "member"   # not in the org yet: invited

    [teams.data-science-nlp.projects.intent-classifier]
    description = "Intent classifier"
    visibility = "team"                 # team | restricted | W&B's access value

    [registries.model.users]            # registry roles: admin | member | viewer |
    grace = "admin"                     # restricted_viewer
    [registries.model.teams]
    ai-governance = "member"

`parse(path, text)` checks everything that needs no W&B (syntax, types, roles, visibility,
emails) and raises `OrgFileError` listing every problem with its line; unknown keys become
warnings. Checks that need W&B (unknown users, taken names, custom roles) are diff.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import tomlfile
from ..access.people import EMAIL, ORG_ROLES, REGISTRY_ROLES
from ..settings import ConfigFileError
from .changes import visibility_to_access
from .tomllines import TomlLines

TOP_KEYS = ("org", "teams", "registries")
ORG_KEYS = ("name", "roles")
TEAM_KEYS = ("members", "invites", "service_accounts", "projects")
PROJECT_KEYS = ("description", "visibility")
REGISTRY_KEYS = ("users", "teams")


@dataclass(frozen=True)
class Problem:
    line: int | None
    reason: str

    def text(self, path: Path | str) -> str:
        return f"{path}:{self.line}: {self.reason}" if self.line else f"{path}: {self.reason}"


class OrgFileError(ConfigFileError):
    """Everything wrong with an org file (or the plan built from it), each with its line."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(path, first.reason, first.line)
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        self.message = f"{first.text(path)}{more}; nothing was applied"
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message

    def lines(self) -> list[str]:
        return [p.text(self.path) for p in self.problems]


@dataclass
class Entry:
    """A `key = value` of the file with its line."""

    key: str
    value: str
    line: int | None


@dataclass
class ProjectSpec:
    name: str
    line: int | None
    description: str | None = None   # None: not managed
    access: str | None = None        # W&B's access value; None: not managed


@dataclass
class TeamSpec:
    name: str
    line: int | None
    # None: the key is absent, so that part of the team is not managed by the file.
    members: list[Entry] | None = None           # who -> role
    invites: list[Entry] | None = None           # email (value == key)
    service_accounts: list[Entry] | None = None  # description
    projects: list[ProjectSpec] | None = None


@dataclass
class RegistrySpec:
    name: str
    line: int | None
    users: list[Entry] | None = None
    teams: list[Entry] | None = None


@dataclass
class OrgSpec:
    path: Path
    org: str | None = None
    org_line: int | None = None
    org_roles: list[Entry] | None = None
    teams: list[TeamSpec] | None = None
    registries: list[RegistrySpec] | None = None
    warnings: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, path: Path, text: str, allow_unknown_keys: bool = False) -> None:
        self.path, self.where = path, TomlLines(text)
        self.allow_unknown_keys = allow_unknown_keys
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def line(self, *path: str) -> int | None:
        return self.where.line(path)

    def bad(self, path: tuple[str, ...], reason: str) -> None:
        self.problems.append(Problem(self.line(*path), reason))

    def table(self, value: Any, path: tuple[str, ...], known: tuple[str, ...] | None = None
              ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.bad(path, f"[{'.'.join(path)}] must be a table, not {_kind(value)}")
            return {}
        for key in value if known is not None else ():
            if key not in known:
                # A typo ([teams.x.memebers]) would leave that part unmanaged while CI
                # passes: an error, unless the person says otherwise.
                line = self.line(*path, key)
                name = ".".join((*path, key))
                if self.allow_unknown_keys:
                    at = f"{self.path}:{line}" if line else str(self.path)
                    self.warnings.append(f"{at}: unknown key {name!r} ignored "
                                         f"(known: {', '.join(known)})")
                else:
                    self.problems.append(Problem(line, f"unknown key {name!r} (known: "
                                                 f"{', '.join(known)}; --allow-unknown-keys "
                                                 "ignores it)"))
        return {k: v for k, v in value.items() if known is None or k in known}

    def roles(self, value: Any, path: tuple[str, ...], allowed: tuple[str, ...] | None,
              what: str) -> list[Entry]:
        out = []
        for key, role in self.table(value, path).items():
            at = (*path, key)
            if not isinstance(role, str) or not role.strip():
                self.bad(at, f"{what} of {key!r} must be a role name (a string), "
                             f"not {_kind(role)}")
                continue
            role = role.strip()
            if allowed is not None:
                role = role.lower().replace("-", "_") if what == "registry role" \
                    else role.lower()
                if role not in allowed:
                    self.bad(at, f"unknown {what} {role!r} for {key!r} (one of: "
                                 f"{', '.join(allowed)})")
                    continue
            if "@" in key and not EMAIL.match(key):
                self.bad(at, f"malformed email address {key!r}")
                continue
            out.append(Entry(key, role, self.line(*at)))
        return out

    def strings(self, value: Any, path: tuple[str, ...], what: str) -> list[Entry]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad(path, f"{'.'.join(path)} must be a list of {what}s (strings)")
            return []
        line = self.line(*path)
        out = []
        for v in value:
            if not v.strip():
                self.bad(path, f"an empty {what} in {'.'.join(path)}")
            else:
                out.append(Entry(v.strip(), v.strip(), line))
        return out


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _project(r: _Reader, team: str, name: str, value: Any) -> ProjectSpec:
    path = ("teams", team, "projects", name)
    spec = ProjectSpec(name, r.line(*path))
    data = r.table(value, path, PROJECT_KEYS)
    if "description" in data:
        if isinstance(data["description"], str):
            spec.description = data["description"]
        else:
            r.bad((*path, "description"), "description must be a string")
    if "visibility" in data:
        try:
            spec.access = visibility_to_access(str(data["visibility"]))
        except ValueError as exc:
            r.bad((*path, "visibility"), str(exc))
    return spec


def _team(r: _Reader, name: str, value: Any) -> TeamSpec:
    path = ("teams", name)
    spec = TeamSpec(name, r.line(*path))
    data = r.table(value, path, TEAM_KEYS)
    if "members" in data:
        spec.members = r.roles(data["members"], (*path, "members"), None, "team role")
    if "invites" in data:
        spec.invites = r.strings(data["invites"], (*path, "invites"), "email")
        for e in spec.invites:
            if not EMAIL.match(e.key):
                r.bad((*path, "invites"), f"malformed email address {e.key!r} in invites")
    if "service_accounts" in data:
        spec.service_accounts = r.strings(data["service_accounts"],
                                          (*path, "service_accounts"), "description")
    if "projects" in data:
        spec.projects = [_project(r, name, project, pvalue) for project, pvalue
                         in r.table(data["projects"], (*path, "projects")).items()]
    return spec


def load_toml(path: Path, text: str) -> dict[str, Any]:
    """tomllib, with a syntax error as an OrgFileError at its line."""
    try:
        return tomlfile.loads(text)
    except tomlfile.TomlSyntaxError as exc:
        line = exc.line or len(text.splitlines()) or None  # "at end of document"
        raise OrgFileError(path, [Problem(line, exc.reason)]) from None


def parse(path: Path, text: str, *, allow_unknown_keys: bool = False) -> OrgSpec:
    """The spec of an org file; raises OrgFileError with every problem found (an unknown
    key among them, unless `allow_unknown_keys`: then a warning)."""
    data = load_toml(path, text)
    r = _Reader(path, text, allow_unknown_keys)
    spec = OrgSpec(path)
    top = r.table(data, (), TOP_KEYS)
    org = r.table(top.get("org", {}), ("org",), ORG_KEYS)
    if "name" in org:
        if isinstance(org["name"], str) and org["name"].strip():
            spec.org, spec.org_line = org["name"].strip(), r.line("org", "name")
        else:
            r.bad(("org", "name"), "org.name must be the organization's name (a string)")
    if "roles" in org:
        spec.org_roles = r.roles(org["roles"], ("org", "roles"), ORG_ROLES, "org role")
    if "teams" in top:
        spec.teams = [_team(r, name, value)
                      for name, value in r.table(top["teams"], ("teams",)).items()]
    if "registries" in top:
        spec.registries = []
    for name, value in r.table(top.get("registries", {}), ("registries",)).items():
        path_ = ("registries", name)
        reg = RegistrySpec(name, r.line(*path_))
        rdata = r.table(value, path_, REGISTRY_KEYS)
        if "users" in rdata:
            reg.users = r.roles(rdata["users"], (*path_, "users"), REGISTRY_ROLES,
                                "registry role")
        if "teams" in rdata:
            reg.teams = r.roles(rdata["teams"], (*path_, "teams"), REGISTRY_ROLES,
                                "registry role")
        spec.registries.append(reg)  # type: ignore[union-attr]
    spec.warnings = r.warnings
    if r.problems:
        raise OrgFileError(path, sorted(r.problems, key=lambda p: p.line or 0))
    return spec


def load(path: Path, *, allow_unknown_keys: bool = False) -> OrgSpec:
    """Read and parse an org file; unreadable or non-UTF-8 files are OrgFileErrors too."""
    return parse(path, read_text(path), allow_unknown_keys=allow_unknown_keys)


def read_text(path: Path) -> str:
    """An org, mapping or group file's text; unreadable or non-UTF-8: an OrgFileError."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise OrgFileError(path, [Problem(None, "no such file")]) from None
    except UnicodeDecodeError:
        raise OrgFileError(path, [Problem(None, "it is not UTF-8 text")]) from None
    except OSError as exc:
        raise OrgFileError(path, [Problem(None, exc.strerror or str(exc))]) from None
