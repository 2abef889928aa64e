"""Read model of the Explorer: the org → team → project tree and registries, from the cache.

Every function here reads SQLite only (no network), so the TUI can call it on the event
loop for small answers and from a worker for large ones. Lists page through SQL (`LIMIT`)
instead of handing a widget every row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .cache import Cache


@dataclass(frozen=True)
class TeamRow:
    """A team's figures, as every command and screen shows them: `people` are its members who
    are persons (invitations not counted), `service_accounts` the rest; `members` both."""

    name: str
    people: int
    service_accounts: int
    projects: int | None
    storage_bytes: int | None
    last_activity_at: float | None
    readable: bool

    @property
    def members(self) -> int:
        return self.people + self.service_accounts


@dataclass(frozen=True)
class ProjectRow:
    team: str
    name: str
    access: str | None
    owner: str | None
    run_count: int | None
    last_run_at: float | None
    storage_bytes: int | None
    created_at: float | None
    updated_at: float | None = None


@dataclass(frozen=True)
class MemberRow:
    username: str
    name: str | None
    email: str | None
    role: str
    custom: bool
    service_account: bool
    last_active_at: float | None
    active: bool


@dataclass(frozen=True)
class InviteRow:
    id: str
    email: str | None
    username: str | None
    created_at: float | None


@dataclass(frozen=True)
class TeamDetail:
    team: TeamRow
    members: list[MemberRow]
    invites: list[InviteRow]

    @property
    def people(self) -> list[MemberRow]:
        return [m for m in self.members if not m.service_account]

    @property
    def service_accounts(self) -> list[MemberRow]:
        return [m for m in self.members if m.service_account]

    @property
    def admins(self) -> list[MemberRow]:
        return [m for m in self.people if m.role == "admin"]


@dataclass(frozen=True)
class ProjectDetail:
    project: ProjectRow
    access_note: str
    who: list[MemberRow]


@dataclass(frozen=True)
class CollectionRow:
    registry: str
    name: str
    type: str | None
    description: str | None
    tags: list[str]
    versions: int


@dataclass(frozen=True)
class VersionRow:
    index: int
    aliases: list[str]
    tags: list[str]
    created_at: float | None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OrgSummary:
    name: str | None
    teams: int
    users: int
    projects: int
    registries: int


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# What a filter can match by name, as (table, one, many).
FILTERED_KINDS = (("teams", "team", "teams"), ("projects", "project", "projects"),
                  ("registries", "registry", "registries"),
                  ("collections", "collection", "collections"))


@dataclass(frozen=True)
class FilterMatches:
    """How many teams, projects, registries and collections a filter matches by name (the
    Explorer shows a team or registry that does not match itself when something in it does),
    out of how many there are."""

    matched: dict[str, int]  # table -> how many match, in FILTERED_KINDS order
    total: int

    @property
    def count(self) -> int:
        return sum(self.matched.values())

    def headline(self) -> str:
        return f"{self.count:,} of {self.total:,} match"

    def breakdown(self) -> str:
        """'3 projects, 1 collection': the kinds that matched, in the tree's order."""
        return ", ".join(f"{n:,} {one if n == 1 else many}"
                         for table, one, many in FILTERED_KINDS
                         if (n := self.matched[table]))


def filter_matches(cache: Cache, text: str) -> FilterMatches:
    matched, total = {}, 0
    for table, _one, _many in FILTERED_KINDS:
        row = cache.query(f"SELECT COUNT(*), COALESCE(SUM(name LIKE ? ESCAPE '\\'), 0) "
                          f"FROM {table}", (_like(text),))[0]
        total += row[0]
        matched[table] = row[1]
    return FilterMatches(matched=matched, total=total)


def org_summary(cache: Cache) -> OrgSummary:
    return OrgSummary(
        name=cache.meta("org") or None,
        teams=cache.scalar("SELECT COUNT(*) FROM teams"),
        users=cache.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER'"),
        projects=cache.scalar("SELECT COUNT(*) FROM projects"),
        registries=cache.scalar("SELECT COUNT(*) FROM registries"))


# A team's figures are counted from the rows every list shows (its members, its projects), not
# kept beside them: refreshing one project or one team can then never leave `teams` saying 6
# projects while `projects TEAM` lists 5. W&B's member list holds the team's service accounts
# too: counted once, as accounts.
_TEAM_FIGURES = (
    "SELECT t.*, (SELECT COUNT(*) FROM team_members m WHERE m.team = t.name AND "
    "m.account_type != 'SERVICE') AS people, (SELECT COUNT(*) FROM team_members m WHERE "
    "m.team = t.name AND m.account_type = 'SERVICE') AS accounts, CASE WHEN t.project_count "
    "IS NULL THEN NULL ELSE (SELECT COUNT(*) FROM projects p WHERE p.team = t.name) END AS "
    "project_rows FROM teams t")


def teams(cache: Cache, text: str = "") -> list[TeamRow]:
    rows = cache.query(f"{_TEAM_FIGURES} WHERE t.name LIKE ? ESCAPE '\\' ORDER BY t.name",
                       (_like(text),))
    return [_team(r) for r in rows]


def team(cache: Cache, name: str) -> TeamRow | None:
    rows = cache.query(f"{_TEAM_FIGURES} WHERE t.name = ?", (name,))
    return _team(rows[0]) if rows else None


def _team(r) -> TeamRow:
    return TeamRow(name=r["name"], people=r["people"], service_accounts=r["accounts"],
                   projects=r["project_rows"], storage_bytes=r["storage_bytes"],
                   last_activity_at=r["last_activity_at"], readable=bool(r["readable"]))


def projects(cache: Cache, team_name: str, text: str = "", offset: int = 0,
             limit: int = 200) -> list[ProjectRow]:
    rows = cache.query(
        "SELECT * FROM projects WHERE team = ? AND name LIKE ? ESCAPE '\\' ORDER BY name "
        "LIMIT ? OFFSET ?", (team_name, _like(text), limit, offset))
    return [_project(r) for r in rows]


def count_projects(cache: Cache, team_name: str, text: str = "") -> int:
    return cache.scalar("SELECT COUNT(*) FROM projects WHERE team = ? AND name LIKE ? "
                        "ESCAPE '\\'", (team_name, _like(text)))


def project_counts(cache: Cache, text: str = "") -> dict[str, int]:
    """Projects per team whose name contains `text`: one grouped query for every team."""
    return {r[0]: r[1] for r in cache.query(
        "SELECT team, COUNT(*) FROM projects WHERE name LIKE ? ESCAPE '\\' GROUP BY team",
        (_like(text),))}


def _project(r) -> ProjectRow:
    return ProjectRow(team=r["team"], name=r["name"], access=r["access"], owner=r["owner"],
                      run_count=r["run_count"], last_run_at=r["last_run_at"],
                      storage_bytes=r["storage_bytes"], created_at=r["created_at"],
                      updated_at=r["updated_at"])


def members(cache: Cache, team_name: str) -> list[MemberRow]:
    rows = cache.query(
        "SELECT m.*, u.last_active_at, COALESCE(u.active, 1) AS active FROM team_members m "
        "LEFT JOIN users u ON u.username = m.username WHERE m.team = ? "
        "ORDER BY m.account_type = 'SERVICE', CASE m.role WHEN 'admin' THEN 0 ELSE 1 END, "
        "m.username",
        (team_name,))
    return [MemberRow(username=r["username"], name=r["name"], email=r["email"], role=r["role"],
                      custom=bool(r["custom"]), service_account=r["account_type"] == "SERVICE",
                      last_active_at=r["last_active_at"], active=bool(r["active"]))
            for r in rows]


def team_detail(cache: Cache, name: str) -> TeamDetail | None:
    row = team(cache, name)
    if row is None:
        return None
    invites = [InviteRow(id=r["id"], email=r["email"], username=r["username"],
                         created_at=r["created_at"])
               for r in cache.query("SELECT * FROM invites WHERE team = ? ORDER BY id", (name,))]
    return TeamDetail(team=row, members=members(cache, name), invites=invites)


ACCESS_NOTES = {
    "PRIVATE": "team members only",
    "RESTRICTED": "restricted: only members invited to the project (and team admins)",
    "ENTITY_READ": "team members; anyone in the org can view",
    "USER_READ": "team members; anyone in the org can view",
    "OPEN": "public: anyone can view and write",
}


def project_detail(cache: Cache, team_name: str, name: str) -> ProjectDetail | None:
    rows = cache.query("SELECT * FROM projects WHERE team = ? AND name = ?", (team_name, name))
    if not rows:
        return None
    project = _project(rows[0])
    who = members(cache, team_name)
    if project.access == "RESTRICTED":
        who = [m for m in who if m.role == "admin"]
    note = ACCESS_NOTES.get(project.access or "", project.access or "unknown visibility")
    return ProjectDetail(project=project, access_note=note, who=who)


def registries(cache: Cache) -> list[tuple[str, int]]:
    return [(r["name"], r["n"]) for r in cache.query(
        "SELECT r.name, COUNT(c.name) AS n FROM registries r LEFT JOIN collections c "
        "ON c.registry = r.name GROUP BY r.name ORDER BY r.name")]


def collections(cache: Cache, registry: str, text: str = "") -> list[CollectionRow]:
    return [CollectionRow(registry=r["registry"], name=r["name"], type=r["type"],
                          description=r["description"], tags=json.loads(r["tags"]),
                          versions=r["version_count"] or 0)
            for r in cache.query("SELECT * FROM collections WHERE registry = ? AND name LIKE ? "
                                 "ESCAPE '\\' ORDER BY name", (registry, _like(text)))]


def versions(cache: Cache, registry: str, collection: str) -> list[VersionRow]:
    return [VersionRow(index=r["version_index"], aliases=json.loads(r["aliases"]),
                       tags=json.loads(r["tags"]), created_at=r["created_at"],
                       metadata=json.loads(r["metadata"] or "{}"))
            for r in cache.query("SELECT * FROM versions WHERE registry = ? AND collection = ? "
                                 "ORDER BY version_index DESC", (registry, collection))]


def registry_members(cache: Cache, registry: str) -> list[tuple[str, str, str]]:
    return [(r["kind"], r["name"], r["role"]) for r in cache.query(
        "SELECT * FROM registry_members WHERE registry = ? ORDER BY kind DESC, name",
        (registry,))]


def completions(cache: Cache, kind: str, prefix: str, limit: int = 20) -> list[str]:
    """Names for `:` jump completion: team, project, user, registry."""
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = {
        "team": "SELECT name FROM teams WHERE name LIKE ? ESCAPE '\\' ORDER BY name LIMIT ?",
        "project": "SELECT DISTINCT name FROM projects WHERE name LIKE ? ESCAPE '\\' "
                   "ORDER BY name LIMIT ?",
        "user": "SELECT username FROM users WHERE username LIKE ? ESCAPE '\\' "
                "ORDER BY username LIMIT ?",
        "registry": "SELECT name FROM registries WHERE name LIKE ? ESCAPE '\\' "
                    "ORDER BY name LIMIT ?",
    }.get(kind)
    if sql is None:
        return []
    return [r[0] for r in cache.query(sql, (like, limit))]


def find_project(cache: Cache, name: str) -> list[str]:
    """Teams holding a project of this name (a name can repeat across teams)."""
    return [r[0] for r in cache.query("SELECT team FROM projects WHERE name = ? ORDER BY team",
                                      (name,))]
