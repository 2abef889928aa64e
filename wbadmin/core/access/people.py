"""Read model of the Access screen: every person, their grants, and why they can reach things.

Reads the cache only (no network), like `explorer.py`. A person's access comes from three
scopes: the org role, a role in each team, and a role in each registry (directly, or through
a team that is a registry member; org admins administer every registry). The effective role
of a resource is the highest of the roles that reach it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..cache import Cache
from ..identity import Identity
from ..org_roles import effective_org_role

ORG_ROLES = ("admin", "member", "viewer")
TEAM_ROLES = ("admin", "member", "viewer")
REGISTRY_ROLES = ("admin", "member", "viewer", "restricted_viewer")
# Higher is more access. Custom team roles rank with the base role they inherit from.
RANK = {"restricted_viewer": 0, "viewer": 1, "member": 2, "admin": 3}
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


class AccessError(ValueError):
    """Bad input for an access change (unknown user/team/role, a broken rule): one line.

    `kind` is not_found | usage | permission | unsupported, for the CLI's exit code."""

    def __init__(self, message: str, kind: str = "usage", *, needs: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.needs = needs  # what the server must have for it (e.g. "SCIM"), if that is why


@dataclass(frozen=True)
class Person:
    username: str
    name: str | None
    email: str | None
    org_role: str | None
    seat: str | None
    active: bool
    service_account: bool
    last_active_at: float | None
    teams: dict[str, str] = field(default_factory=dict)        # team -> role
    registries: dict[str, str] = field(default_factory=dict)   # registry -> direct role

    @property
    def status(self) -> str:
        if self.service_account:
            return "service account"
        return "active" if self.active else "deactivated"


@dataclass(frozen=True)
class Grant:
    """One way a person reaches something: scope org|team|registry, the resource, the role
    and why (`direct`, `via team X`, `org admin`)."""

    scope: str
    resource: str
    role: str
    why: str


@dataclass(frozen=True)
class Reach:
    """One resource a person can reach, with every grant and the effective (highest) role."""

    scope: str
    resource: str
    effective: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class PersonDetail:
    person: Person
    reach: list[Reach]

    @property
    def effective_role(self) -> str | None:
        """The highest role the person holds anywhere."""
        roles = [r.effective for r in self.reach]
        return max(roles, key=lambda r: RANK.get(r, 1), default=None)


def rank(role: str | None, custom: dict[str, str] | None = None) -> int:
    if role is None:
        return -1
    if role in RANK:
        return RANK[role]
    return RANK.get((custom or {}).get(role, "member"), 2)


def custom_roles(cache: Cache) -> dict[str, str]:
    """Custom role name -> the predefined role it inherits from."""
    return {r["name"]: r["inherited_from"] or "member"
            for r in cache.query("SELECT name, inherited_from FROM custom_roles")}


def identity(cache: Cache) -> Identity | None:
    raw = cache.meta("identity")
    if not raw:
        return None
    try:
        return Identity(**json.loads(raw))
    except (TypeError, ValueError):
        return None


def deployment(cache: Cache) -> str | None:
    """'dedicated' when SCIM reports seats (a Dedicated/Self-Managed field), 'multi_tenant'
    when SCIM answered without them, None when SCIM was not available."""
    if not cache.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER' "
                        "AND scim_id IS NOT NULL"):
        return None
    seats = cache.scalar("SELECT COUNT(*) FROM users WHERE seat IS NOT NULL")
    return "dedicated" if seats else "multi_tenant"


# ---- people ---------------------------------------------------------------------------------

def _memberships(cache: Cache, username: str | None = None) -> dict[str, dict[str, str]]:
    """Team roles by person (of one person when `username` is given)."""
    out: dict[str, dict[str, str]] = {}
    where = "" if username is None else " WHERE username = ?"
    for r in cache.query(f"SELECT username, team, role FROM team_members{where} ORDER BY team",
                         () if username is None else (username,)):
        out.setdefault(r["username"], {})[r["team"]] = r["role"]
    return out


def _registry_roles(cache: Cache, username: str | None = None) -> dict[str, dict[str, str]]:
    """Direct registry roles by person (of one person when `username` is given)."""
    out: dict[str, dict[str, str]] = {}
    extra = "" if username is None else " AND name = ?"
    for r in cache.query("SELECT registry, name, role FROM registry_members WHERE kind = 'user'"
                         f"{extra} ORDER BY registry", () if username is None else (username,)):
        out.setdefault(r["name"], {})[r["registry"]] = r["role"]
    return out


def _person(r, teams: dict[str, str], registries: dict[str, str]) -> Person:
    return Person(username=r["username"], name=r["name"], email=r["email"],
                  org_role=effective_org_role(r["org_role"], r["seat"]), seat=r["seat"],
                  active=bool(r["active"]),
                  service_account=r["account_type"] == "SERVICE",
                  last_active_at=r["last_active_at"], teams=teams, registries=registries)


SORTS = {"username": "u.username", "last_active": "COALESCE(u.last_active_at, 0) DESC",
         "org_role": "CASE u.org_role WHEN 'admin' THEN 0 WHEN 'member' THEN 1 ELSE 2 END",
         "status": "u.account_type, u.active DESC"}


def people(cache: Cache, text: str = "", *, org_role: str | None = None,
           status: str | None = None, team: str | None = None,
           sort: str = "username") -> list[Person]:
    """Every user and service account, filtered (text in username/name/email, org role,
    status active|deactivated|service account, team) and sorted (see SORTS)."""
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    order = SORTS.get(sort)
    if order is None:
        raise AccessError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    rows = cache.query(
        "SELECT u.* FROM users u WHERE (u.username LIKE ?1 ESCAPE '\\' OR COALESCE(u.name, '')"
        " LIKE ?1 ESCAPE '\\' OR COALESCE(u.email, '') LIKE ?1 ESCAPE '\\')"
        f" ORDER BY {order}, u.username", (like,))
    teams, registries = _memberships(cache), _registry_roles(cache)
    out = [_person(r, teams.get(r["username"], {}), registries.get(r["username"], {}))
           for r in rows]
    return [p for p in out
            if (org_role is None or p.org_role == org_role)
            and (status is None or p.status == status)
            and (team is None or team in p.teams)]


@dataclass(frozen=True)
class Window:
    """One screenful of people: `rows` of the `matching` people that pass the filter."""

    rows: list[Person]
    matching: int
    total: int


def people_window(cache: Cache, text: str = "", *, limit: int = 500,
                  sort: str = "username") -> Window:
    """The first `limit` people matching `text`, filtered, sorted and cut in SQL, with team
    and registry roles read for those rows only: fast enough for a keystroke on 10,000 people."""
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    order = SORTS.get(sort)
    if order is None:
        raise AccessError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    where = ("u.username LIKE ?1 ESCAPE '\\' OR COALESCE(u.name, '') LIKE ?1 ESCAPE '\\' "
             "OR COALESCE(u.email, '') LIKE ?1 ESCAPE '\\'")
    rows = cache.query(f"SELECT u.* FROM users u WHERE {where} ORDER BY {order}, u.username "
                       "LIMIT ?2", (like, limit))
    matching = cache.scalar(f"SELECT COUNT(*) FROM users u WHERE {where}", (like,)) \
        if text else cache.scalar("SELECT COUNT(*) FROM users")
    names = [r["username"] for r in rows]
    teams: dict[str, dict[str, str]] = {}
    regs: dict[str, dict[str, str]] = {}
    for i in range(0, len(names), 500):  # SQLite caps bound parameters
        chunk = names[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for r in cache.query(f"SELECT username, team, role FROM team_members WHERE username "
                             f"IN ({marks}) ORDER BY team", chunk):
            teams.setdefault(r["username"], {})[r["team"]] = r["role"]
        for r in cache.query(f"SELECT name, registry, role FROM registry_members WHERE "
                             f"kind = 'user' AND name IN ({marks}) ORDER BY registry", chunk):
            regs.setdefault(r["name"], {})[r["registry"]] = r["role"]
    return Window(rows=[_person(r, teams.get(r["username"], {}), regs.get(r["username"], {}))
                        for r in rows],
                  matching=matching, total=cache.scalar("SELECT COUNT(*) FROM users"))


def find_person(cache: Cache, key: str) -> Person | None:
    """A person by username or email (case-insensitive for emails)."""
    rows = cache.query("SELECT * FROM users WHERE username = ? OR LOWER(email) = LOWER(?) "
                       "ORDER BY username = ? DESC LIMIT 1", (key, key, key))
    if not rows:
        # Without SCIM the users table is empty: team members still name people.
        rows = cache.query(
            "SELECT username, name, email, NULL AS org_role, NULL AS seat, 1 AS active, "
            "account_type, NULL AS last_active_at FROM team_members WHERE username = ? "
            "OR LOWER(email) = LOWER(?) LIMIT 1", (key, key))
        if not rows:
            return None
    r = rows[0]
    return _person(r, _memberships(cache, r["username"]).get(r["username"], {}),
                   _registry_roles(cache, r["username"]).get(r["username"], {}))


def require_person(cache: Cache, key: str) -> Person:
    if "@" in key and not EMAIL.match(key):
        raise AccessError(f"malformed email address {key!r}")
    person = find_person(cache, key)
    if person is None:
        raise AccessError(f"unknown user {key!r} (not in the org as cached; "
                          "`wbadmin sync` to refresh)", "not_found")
    return person


def require_team(cache: Cache, name: str) -> None:
    if cache.scalar("SELECT 1 FROM teams WHERE name = ?", (name,)) is None:
        raise AccessError(f"unknown team {name!r}", "not_found")


def require_registry(cache: Cache, name: str) -> str:
    short = name.removeprefix("wandb-registry-")
    if cache.scalar("SELECT 1 FROM registries WHERE name = ?", (short,)) is None:
        raise AccessError(f"unknown registry {name!r}", "not_found")
    return short


def team_role_name(cache: Cache, role: str) -> str:
    """A valid team role: a predefined name (any case) or an exact custom role name."""
    if role.lower() in TEAM_ROLES:
        return role.lower()
    if role in custom_roles(cache):
        return role
    names = ", ".join([*TEAM_ROLES, *sorted(custom_roles(cache))])
    raise AccessError(f"unknown role {role!r}; team roles are {names} "
                      "(custom role names are case-sensitive)", "not_found")


# ---- a person's reach -------------------------------------------------------------------------

def detail(cache: Cache, key: str) -> PersonDetail | None:
    person = find_person(cache, key)
    if person is None:
        return None
    custom = custom_roles(cache)
    reach: list[Reach] = []
    if person.org_role:
        reach.append(Reach("org", cache.meta("org") or "org", person.org_role,
                           (Grant("org", cache.meta("org") or "org", person.org_role,
                                  "org role"),)))
    for team, role in sorted(person.teams.items()):
        shown = role if role in RANK else f"{role} (custom, based on {custom.get(role, '?')})"
        reach.append(Reach("team", team, custom.get(role, role) if role not in RANK else role,
                           (Grant("team", team, shown, "team member"),)))
    team_regs: dict[str, list[tuple[str, str]]] = {}
    for r in cache.query("SELECT registry, name, role FROM registry_members WHERE kind = 'team'"):
        if r["name"] in person.teams:
            team_regs.setdefault(r["registry"], []).append((r["name"], r["role"]))
    for (registry,) in cache.query("SELECT name FROM registries ORDER BY name"):
        grants = []
        if registry in person.registries:
            grants.append(Grant("registry", registry, person.registries[registry], "direct"))
        for team, role in team_regs.get(registry, []):
            grants.append(Grant("registry", registry, role, f"via team {team}"))
        if person.org_role == "admin":
            grants.append(Grant("registry", registry, "admin", "org admin"))
        if grants:
            best = max(grants, key=lambda g: rank(g.role))
            reach.append(Reach("registry", registry, best.role, tuple(grants)))
    return PersonDetail(person, reach)


def team_admins(cache: Cache, team: str) -> list[str]:
    return [r[0] for r in cache.query(
        "SELECT m.username FROM team_members m LEFT JOIN users u ON u.username = m.username "
        "WHERE m.team = ? AND m.role = 'admin' AND m.account_type = 'USER' "
        "AND COALESCE(u.active, 1) = 1 ORDER BY m.username", (team,))]


def org_admins(cache: Cache) -> list[str]:
    return [r[0] for r in cache.query(
        "SELECT username FROM users WHERE org_role = 'admin' AND active = 1 "
        "AND account_type = 'USER' ORDER BY username")]
