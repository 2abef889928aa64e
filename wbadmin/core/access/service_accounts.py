"""Service accounts: who they are, what they reach, their keys, and what the audit log says.

Two halves: `read_facts` asks W&B (the user listing and the audit log) and keeps what it
learnt in the identity's cache (`sa_facts`, `sa_keys`, `sa_read`); `inventory` reads the cache
only, for the CLI, the findings and (later) the Access screen.

What W&B lets each viewer read:
- the accounts themselves are team members (`accountType SERVICE`), so anyone sees those of
  the teams they can read; an org admin also sees, in the SDK's user listing
  (`users(query:)`, "local administrators" only), accounts that belong to no team;
- keys: only that listing (the SDK's `User.api_keys`) names them through a document the SDK
  sends — the team member listing's `apiKey` is the secret itself and is never selected — so
  keys are known to org admins only. The same listing names people's keys too: kept by id
  and description (`person_keys`) for a person's detail; rotation is for service accounts;
- the audit log (key creations, last events, the teams whose runs it touched): org admins.
  It is read through the identity's audit store (audit_store.py, shared with `wbadmin
  audit`): only the days the store does not hold yet are asked, so a second read the same
  day is about one request, not the whole window.

Scope (org or team, reference §4.5): W&B's API does not say it. The one thing that tells is
an account the org admin's listing shows in no team: a team-scoped account always belongs to
its team, so that one is org-scoped. Anything else is "unknown" — never a guess.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import audit_store
from .. import errors as E
from ..audit import DAY
from ..cache import Cache
from ..client import Client
from ..identity import Identity
from .people import RANK

log = logging.getLogger("wbadmin.access.sa")

# The SDK's SearchUsers (UserFragment), narrowed. Of ApiKeyFragment only `id` and
# `description`: on W&B an ApiKey's `name` is the secret itself in generateApiKey's answer,
# and the key table shows a prefix of the secret, so a name is never read or kept — the id
# names a key well enough to rotate or revoke it (`deleteApiKey(id:)`).
SA_USERS = """
query WbadminServiceAccounts($query: String) {
  users(query: $query) {
    edges {
      node {
        id
        username
        name
        email
        teams { edges { node { name } } }
        apiKeys { edges { node { id description } } }
      }
    }
  }
}
"""
KEY_ACTION = "user:create_api_key"
# Audit actions of a run being logged or updated (§7.5 has no "run:create": a logging run
# updates its own record).
RUN_ACTIONS = frozenset({"run:update", "run:update_many"})
MAX_LOG_DAYS = 365


def log_days(idle_days: int, key_max_age_days: int) -> int:
    """How far back to read the audit log: twice the longer threshold, so that an account
    past it is seen to be (a key made within the window has a known age), at most a year."""
    return max(1, min(MAX_LOG_DAYS, 2 * max(idle_days, key_max_age_days)))


# ---- reading W&B ------------------------------------------------------------------------

@dataclass
class FactsRead:
    requests: int = 0
    warnings: list[str] | None = None


def _team_service_accounts(cache: Cache) -> dict[str, str | None]:
    """{username: User id} of the service accounts in the cached teams' member lists."""
    return {r[0]: r[1] for r in cache.query(
        "SELECT username, MAX(user_id) FROM team_members WHERE account_type = 'SERVICE' "
        "GROUP BY username")}


@dataclass
class Listing:
    """The org admin's user listing, split: service accounts and people, by username."""
    accounts: dict[str, dict[str, Any]]
    people: dict[str, dict[str, Any]]


async def _listing(client: Client, cache: Cache) -> Listing:
    """The service accounts of the org admin's user listing: those the team lists name, and
    the users without an email that SCIM does not list (SCIM never returns service accounts,
    §4.5; every person has an email). Everyone else it returns is a person (their keys are
    shown on their detail)."""
    data = await client.graphql(SA_USERS, {"query": ""})
    people = {r[0] for r in cache.query("SELECT username FROM users WHERE account_type = "
                                        "'USER' AND scim_id IS NOT NULL")}
    known = _team_service_accounts(cache)
    out = Listing({}, {})
    for node in _nodes(data):
        name = node.get("username")
        if not name:
            continue
        if name in known or (node.get("email") is None and name not in people):
            out.accounts[name] = node
        else:
            out.people[name] = node
    # A server may cut the listing short (the sandbox pages at 1000; the SDK's SearchUsers
    # asks no page): a team's account it left out is searched by its name. (A person left
    # out has no keys known: person_keys says so.)
    for name in sorted(set(known) - set(out.accounts)):
        data = await client.graphql(SA_USERS, {"query": name})
        if node := next((n for n in _nodes(data) if n.get("username") == name), None):
            out.accounts[name] = node
    return out


def _keys(node: dict[str, Any]) -> list[dict[str, Any]]:
    """A listed user's keys: id and description only (SA_USERS selects nothing else)."""
    return sorted(({"id": k["id"], "description": k.get("description")}
                   for k in _edges(node.get("apiKeys")) if k.get("id")), key=lambda k: k["id"])


def _nodes(data: dict[str, Any]) -> list[dict[str, Any]]:
    return _edges(data.get("users"))


def _edges(conn: Any) -> list[dict[str, Any]]:
    return [e.get("node") or {} for e in ((conn or {}).get("edges") or []) if e]


@dataclass
class Activity:
    """What the audit log says of each account (by username)."""
    last_key: dict[str, float]
    last_event: dict[str, float]
    run_teams: dict[str, set[str]]


def activity(entries: Iterable[dict[str, Any]], by_id: dict[str, str]) -> Activity:
    """Last key creation, last event and run teams of the accounts (`by_id`: User id ->
    username) in these audit-log entries."""
    from ..wire_time import parse_time

    out = Activity({}, {}, {})
    for e in entries:
        at = parse_time(e.get("timestamp"))
        if at is None:
            continue
        if e.get("action") == KEY_ACTION and (who := by_id.get(e.get("user_asset"))):
            out.last_key[who] = max(at, out.last_key.get(who, at))
        if actor := by_id.get(e.get("actor_user_id")):
            out.last_event[actor] = max(at, out.last_event.get(actor, at))
            if e.get("action") in RUN_ACTIONS and e.get("entity_name"):
                out.run_teams.setdefault(actor, set()).add(e["entity_name"])
    return out


@dataclass
class LogRange:
    """The part of the window the audit store holds in full."""
    read_from: float
    read_until: float
    truncated: bool


async def _read_log(client: Client, cache: Cache, me: Identity, start: float,
                    now: float) -> LogRange:
    """Bring the audit store up to date for the window: W&B is asked only what it lacks.
    Raises the reader's typed errors."""
    got = await audit_store.refresh(client, cache,
                                    "" if me.is_service_account else me.username, start, now)
    span = got.range
    assert span is not None
    return LogRange(max(start, span.read_from), min(now, span.read_until),
                    got.truncated_at is not None or span.read_from > _window(start, now)[0])


def _window(start: float, now: float) -> tuple[float, float]:
    """The day-aligned window the reader takes: its first day whole, today whole."""
    return start // DAY * DAY, now // DAY * DAY + DAY


def _logged(cache: Cache, start: float, now: float, by_id: dict[str, str]) -> Activity:
    """What the store's entries of the window say of the accounts (`by_id`)."""
    first, end = _window(start, now)
    return activity(audit_store.stored_of(cache, first, end, actors=by_id,
                                          actions=[KEY_ACTION]), by_id)


async def read_facts(client: Client, cache: Cache, me: Identity, now: float,
                     days: int) -> FactsRead:
    """Ask W&B what it tells this identity of the service accounts and keep it in the cache.
    Never raises for a read W&B refuses: the refusal is kept as the note."""
    sent = client.requests_sent
    notes: list[str] = []
    listed: Listing | None = None
    logged: LogRange | None = None
    start = now - days * DAY
    if me.scim:
        try:
            listed = await _listing(client, cache)
        except (E.PermissionDenied, E.NotFound) as exc:
            notes.append(f"keys are not readable ({exc.message})")
        try:
            logged = await _read_log(client, cache, me, start, now)
            if logged.truncated:
                notes.append("the audit log was read only in part (its size cap)")
        except E.WbError as exc:
            notes.append(f"the audit log is not readable ({exc.message})")
    else:
        notes.append(f"keys and the audit log are W&B's org admins' only: not visible to "
                     f"{me.username}")
    listing = listed.accounts if listed else None
    ids = {**{n: i for n, i in _team_service_accounts(cache).items() if i},
           **{n: node.get("id") for n, node in (listing or {}).items() if node.get("id")}}
    by_id = {gid: name for name, gid in ids.items()}
    seen = _logged(cache, start, now, by_id) if logged else Activity({}, {}, {})
    last_key, last_event, run_teams = seen.last_key, seen.last_event, seen.run_teams
    with cache.transaction() as conn:
        for table in ("sa_facts", "sa_keys", "sa_read", "person_keys"):
            conn.execute(f"DELETE FROM {table}")
        for name, gid in ids.items():
            node = (listing or {}).get(name) or {}
            teams = [t.get("name") for t in _edges(node.get("teams")) if t.get("name")]
            conn.execute(
                "INSERT INTO sa_facts (username, gql_id, name, teams, last_key_at, "
                "last_event_at, run_teams, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, gid, node.get("name"), json.dumps(teams if node else None),
                 last_key.get(name), last_event.get(name),
                 json.dumps(sorted(run_teams.get(name, ()))), now))
            for key in _keys(node):
                conn.execute("INSERT OR REPLACE INTO sa_keys VALUES (?, ?, ?)",
                             (name, key["id"], key["description"]))
        conn.executemany("INSERT INTO person_keys VALUES (?, ?, ?)",
                         [(name, json.dumps(_keys(node)), now)
                          for name, node in (listed.people if listed else {}).items()])
        conn.execute(
            "INSERT INTO sa_read (id, keys_readable, log_from, log_until, note, fetched_at) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            (int(listing is not None), logged.read_from if logged else None,
             logged.read_until if logged else None, "; ".join(notes) or None, now))
    return FactsRead(client.requests_sent - sent, notes)


# ---- the inventory, from the cache ------------------------------------------------------

@dataclass(frozen=True)
class Key:
    id: str
    description: str | None


@dataclass(frozen=True)
class ServiceAccount:
    username: str
    description: str | None
    teams: dict[str, str]                 # team -> role
    scope: str                            # org | team | unknown
    scope_why: str
    registries: dict[str, str]            # registry -> highest role, with why in `reach`
    reach: list[str]                      # what it reaches, one line each
    keys: list[Key] | None                # None: not visible to this identity
    last_key_at: float | None             # None: unknown (see Inventory.log_note)
    last_event_at: float | None
    last_run_at: float | None
    run_teams: list[str]                  # teams whose projects it logged runs in

    @property
    def team(self) -> str | None:
        return next(iter(sorted(self.teams)), None)

    @property
    def last_activity_at(self) -> float | None:
        times = [t for t in (self.last_event_at, self.last_run_at) if t is not None]
        return max(times) if times else None

    def to_dict(self) -> dict[str, Any]:
        from ..journal import iso

        return {"username": self.username, "description": self.description,
                "team": self.team, "teams": self.teams, "scope": self.scope,
                "scope_why": self.scope_why, "registries": self.registries,
                "reach": self.reach,
                "keys": None if self.keys is None else [
                    {"id": k.id, "description": k.description} for k in self.keys],
                "last_key_created_at": iso(self.last_key_at),
                "last_activity_at": iso(self.last_activity_at),
                "last_audit_event_at": iso(self.last_event_at),
                "last_run_at": iso(self.last_run_at), "run_teams": self.run_teams}


@dataclass(frozen=True)
class Inventory:
    accounts: list[ServiceAccount]
    read: bool                 # read_facts ran for this cache
    keys_readable: bool
    log_from: float | None     # the audit log read covers log_from..log_until; None: not read
    log_until: float | None
    note: str

    def get(self, username: str) -> ServiceAccount | None:
        return next((a for a in self.accounts if a.username == username), None)


def person_keys(cache: Cache, username: str) -> list[Key] | None:
    """A person's keys (ids and descriptions), as the org admin's user listing returned them;
    None: not visible to this identity (not an org admin), or not read yet (`keys_unknown`
    says which)."""
    raw = cache.scalar("SELECT keys FROM person_keys WHERE username = ?", (username,))
    if raw is None:
        return None
    return [Key(k["id"], k.get("description")) for k in _loads(raw) or []]


def keys_unknown(cache: Cache, username: str) -> str:
    """Why a person's keys are not known, in a few words."""
    if cache.scalar("SELECT 1 FROM users WHERE username = ? AND account_type = 'SERVICE' "
                    "UNION SELECT 1 FROM sa_facts WHERE username = ?", (username, username)):
        return f"a service account's: `wbadmin sa show {username}` lists them"
    read = cache.query("SELECT keys_readable FROM sa_read WHERE id = 1")
    if not read:
        return "not read yet (`wbadmin sa list --refresh` reads them)"
    if not read[0][0]:
        return "not visible to you (W&B lists keys to org admins only)"
    return f"not known: W&B's user listing did not return {username}"


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def inventory(cache: Cache) -> Inventory:
    read = cache.query("SELECT * FROM sa_read WHERE id = 1")
    r0 = read[0] if read else None
    keys_readable = bool(r0 and r0["keys_readable"])
    facts = {r["username"]: r for r in cache.query("SELECT * FROM sa_facts")}
    keys: dict[str, list[Key]] = {}
    for r in cache.query("SELECT username, key_id, description FROM sa_keys ORDER BY key_id"):
        keys.setdefault(r[0], []).append(Key(r[1], r[2]))
    members: dict[str, dict[str, str]] = {}
    described: dict[str, str | None] = {}
    for r in cache.query("SELECT username, team, role, name FROM team_members WHERE "
                         "account_type = 'SERVICE' ORDER BY team"):
        members.setdefault(r[0], {})[r[1]] = r[2]
        described.setdefault(r[0], r[3])
    for r in cache.query("SELECT username, name FROM users WHERE account_type = 'SERVICE'"):
        described.setdefault(r[0], r[1])
    for r in cache.query("SELECT username, name FROM sa_facts"):
        described.setdefault(r[0], r[1])
    names = sorted(set(members) | set(facts))
    runs = {r[0]: (r[1], _loads(r[2]) or []) for r in cache.query(
        "SELECT username, MAX(heartbeat_at), json_group_array(DISTINCT team) FROM quota_runs "
        "WHERE username IS NOT NULL GROUP BY username")}
    out = []
    for name in names:
        f = facts.get(name)
        listed_teams = _loads(f["teams"]) if f else None
        teams = members.get(name, {})
        if listed_teams == [] and keys_readable:
            scope, why = "org", "in no team (a team-scoped account always belongs to its team)"
        else:
            scope, why = "unknown", "W&B's API does not say whether it is org- or team-scoped"
        last_run, quota_teams = runs.get(name, (None, []))
        run_teams = sorted(set(_loads(f["run_teams"]) if f else []) | set(quota_teams))
        registries, reach = _reach(cache, name, teams, scope)
        out.append(ServiceAccount(
            username=name, description=described.get(name), teams=teams, scope=scope,
            scope_why=why, registries=registries, reach=reach,
            # Keys are known of an account the listing returned (its teams are then a list).
            keys=keys.get(name, []) if keys_readable and listed_teams is not None else None,
            last_key_at=f["last_key_at"] if f else None,
            last_event_at=f["last_event_at"] if f else None, last_run_at=last_run,
            run_teams=run_teams))
    note = (r0["note"] or "") if r0 else ("keys and the audit log not read yet: "
                                          "`wbadmin sa list --refresh` reads them")
    return Inventory(out, r0 is not None, keys_readable, r0["log_from"] if r0 else None,
                     r0["log_until"] if r0 else None, note)


def _reach(cache: Cache, name: str, teams: dict[str, str], scope: str
           ) -> tuple[dict[str, str], list[str]]:
    """Registry roles (direct, or through its teams) and one line per thing it reaches."""
    grants: dict[str, list[tuple[str, str]]] = {}
    for r in cache.query("SELECT registry, kind, name, role FROM registry_members WHERE "
                         "(kind = 'user' AND name = ?) ORDER BY registry", (name,)):
        grants.setdefault(r[0], []).append((r[3], "direct"))
    if teams:
        marks = ",".join("?" * len(teams))
        for r in cache.query(f"SELECT registry, name, role FROM registry_members WHERE "
                             f"kind = 'team' AND name IN ({marks}) ORDER BY registry",
                             list(teams)):
            grants.setdefault(r[0], []).append((r[2], f"via team {r[1]}"))
    registries = {reg: max((g[0] for g in gs), key=lambda role: RANK.get(role, 2))
                  for reg, gs in grants.items()}
    reach = [f"team {t}: {role}" for t, role in sorted(teams.items())]
    for team in sorted(teams):
        # W&B: a service account reads and writes its team's non-restricted projects (§4.5).
        projects = [r[0] for r in cache.query(
            "SELECT name FROM projects WHERE team = ? AND COALESCE(access, '') != "
            "'RESTRICTED' ORDER BY name", (team,))]
        reach.append(f"projects of {team}: {', '.join(projects) or 'none'}")
    if scope == "org":
        reach.append("every non-restricted project of the org (org-scoped, §4.5)")
    reach += [f"registry {reg}: {registries[reg]} ({'; '.join(w for _, w in gs)})"
              for reg, gs in sorted(grants.items())]
    return registries, reach
