"""Fetch the organization from W&B into the cache, in as few round trips as possible.

A full sync asks SCIM for every user (with org, team and registry roles), every team and
every custom role — one request each up to 9999 of them, then page by page (scim_list.py) —
then GraphQL for team details (members' account types, pending invites, storage) and
projects, many teams per request through field aliases, and the registries with one
paginated stream for collections and one for versions. Without SCIM (a non-admin, or a plan
without it) it degrades to what GraphQL shows: the viewer's own teams, admin/member roles.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import clock
from . import errors as E
from . import queries as Q
from .audit import apply_invite_times, window_days
from .batch_sizes import MAX_ROOT_FIELDS
from .cache import Cache
from .client import Client
from .identity import Identity
from .invite_log import InviteReport, read_invite_dates
from .scim_list import ScimList, read_scim_list
from .wire_strip import is_unknown_field_error
from .wire_time import parse_time

log = logging.getLogger("wbadmin.sync")

PREDEFINED_ROLES = {"admin", "member", "viewer"}
REGISTRY_PREFIX = "wandb-registry-"


@dataclass
class SyncReport:
    requests: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # The audit log (invite ages) was read only up to this instant: its safety cap was hit.
    audit_truncated_at: float | None = None


class Syncer:
    def __init__(self, client: Client, cache: Cache, *, team_batch: int = MAX_ROOT_FIELDS,
                 project_batch: int = MAX_ROOT_FIELDS, page_size: int = 200,
                 clock: Callable[[], float] = clock.now,
                 invite_max_age_days: int | None = None) -> None:
        self.client = client
        self.invite_max_age_days = invite_max_age_days  # None: [access] in the settings
        self.clock = clock
        self.cache = cache
        self.team_batch = team_batch
        self.project_batch = project_batch
        self.page_size = page_size
        self.identity: Identity | None = None

    # ---- who am I --------------------------------------------------------------------------

    async def identify(self) -> Identity:
        viewer = (await self.client.graphql(Q.VIEWER)).get("viewer")
        if not viewer:
            raise E.AuthError("the server does not recognise this API key")
        entity = viewer.get("entity")
        org = org_entity = None
        if entity:
            try:
                data = await self.client.graphql(Q.ORG_OF_ENTITY, {"entity": entity})
            except E.BadRequest as exc:
                if not is_unknown_field_error(exc.message):
                    raise
                data = {}  # a server without organizations as wbadmin reads them: no org
            ent = data.get("entity") or {}
            orgs = [ent["organization"]] if ent.get("organization") else \
                ((ent.get("user") or {}).get("organizations") or [])
            if orgs:
                org = orgs[0]["name"]
                org_entity = (orgs[0].get("orgEntity") or {}).get("name")
        teams = [e["node"]["name"] for e in ((viewer.get("teams") or {}).get("edges") or [])]
        self.identity = Identity(
            username=viewer["username"], name=viewer.get("name"), email=viewer.get("email"),
            entity=entity, org=org, org_entity=org_entity, teams=teams,
            is_service_account=viewer.get("email") is None and entity in teams)
        return self.identity

    # ---- full sync ---------------------------------------------------------------------------

    async def full(self, *, invites: bool = True) -> SyncReport:
        """The whole org into the cache. `invites=False` leaves dating the pending invites
        (the audit log: seconds in a busy org on a first read) to a `date_invites()` the
        caller runs after it, off the path to showing the structure."""
        started, sent = time.perf_counter(), self.client.requests_sent
        report = SyncReport()
        me = await self.identify()
        scim_users, scim_groups, scim_roles = await self._scim_snapshot(report)
        me.scim = scim_users is not None
        if scim_users is not None:
            mine = next((u for u in scim_users if u.get("userName") == me.username), None)
            me.org_role = (mine or {}).get("organizationRole")
        team_names = sorted({g["displayName"] for g in scim_groups} if scim_groups is not None
                            else set(me.teams))
        teams, projects, registries = await asyncio.gather(
            self._teams(team_names), self._projects(team_names), self._registries(me, report))
        now = self.clock()
        with self.cache.transaction() as conn:
            self._write_identity(conn, me)
            if scim_users is not None:
                self._write_users(conn, scim_users, now)
            if scim_roles is not None:
                Cache.replace_rows(conn, "custom_roles", (_role_row(r, now) for r in scim_roles))
            self._write_teams(conn, teams, projects, scim_users, now, full=True)
            if registries is not None:
                self._write_registries(conn, *registries, now)
            self.cache.mark(conn, "org", now)
        if invites:
            dated = await self.date_invites()
            report.warnings.extend(dated.warnings)
            report.audit_truncated_at = dated.truncated_at
        report.requests = self.client.requests_sent - sent
        report.seconds = time.perf_counter() - started
        report.counts = {t: self.cache.scalar(f"SELECT COUNT(*) FROM {t}") for t in
                         ("users", "teams", "team_members", "projects", "registries",
                          "collections", "versions")}
        return report

    async def _scim_snapshot(self, report: SyncReport):
        try:
            lists: tuple[ScimList, ...] = await asyncio.gather(
                *(read_scim_list(self.client, r) for r in ("Users", "Groups", "Roles")))
        except (E.PermissionDenied, E.AuthError, E.NotFound, E.Unsupported) as exc:
            report.warnings.append(f"SCIM is not available to this identity ({exc.message}); "
                                   "showing what GraphQL allows")
            return None, None, None
        report.warnings.extend(x.shortfall for x in lists if x.shortfall)
        return tuple(x.resources for x in lists)

    async def date_invites(self) -> InviteReport:
        """Date the cache's pending invites from the audit log (org admins only), reading only
        what earlier reads did not (invite_log.py). Runs after `full()` wrote the structure
        (its identity says whether SCIM, so the audit log, is ours)."""
        started, sent = time.perf_counter(), self.client.requests_sent
        me = self.identity
        report = InviteReport(pending=int(self.cache.scalar("SELECT COUNT(*) FROM invites")))
        if me is None or not me.scim:
            return report
        days = self.invite_max_age_days
        if days is None:
            from .settings import get_settings

            try:
                days = get_settings().access.invite_max_age_days
            except Exception:  # a broken config file is reported elsewhere
                days = 30
        dates = await read_invite_dates(
            self.client, self.cache, "" if me.is_service_account else me.username,
            window_days(days), self.clock())
        if dates.warning:
            report.warnings.append(dates.warning)
        report.truncated_at = dates.truncated_at
        if dates.times:
            with self.cache.transaction() as conn:
                report.dated = apply_invite_times(conn, dates.times)
        report.requests = self.client.requests_sent - sent
        report.seconds = time.perf_counter() - started
        return report

    # ---- teams and projects ------------------------------------------------------------------

    async def _teams(self, names: list[str]) -> dict[str, dict | None]:
        out: dict[str, dict | None] = {}

        async def batch(chunk: list[str]) -> None:
            doc, variables = Q.batched("WbadminTeams", "entity", Q.TEAM_SELECTION,
                                       {"name": "String!"}, [{"name": n} for n in chunk])
            data = await self.client.graphql(doc, variables)
            for i, name in enumerate(chunk):
                out[name] = data.get(f"r{i}")

        await self.client.batch_sizes.run_all("sync.teams", names, self.team_batch, batch)
        return out

    async def _projects(self, names: list[str], last_run: bool = False
                        ) -> dict[str, list[dict]]:
        """Every project of every team: one page of many teams per request, then the rest.

        `last_run` also asks for each project's newest run (one runs query per project on
        the server, so only when refreshing one team)."""
        selection = Q.PROJECTS_WITH_LAST_RUN_SELECTION if last_run else Q.PROJECTS_SELECTION
        out: dict[str, list[dict]] = {n: [] for n in names}

        def request(chunk: list[tuple[str, str | None]], first: int, *_: int
                    ) -> tuple[str, dict[str, Any]]:
            return Q.batched(
                "WbadminProjects", "models", selection,
                {"entityName": "String!", "first": "Int", "after": "String"},
                [{"entityName": t, "first": first, "after": c} for t, c in chunk])

        # With the last run, each project asks one more node (`lastRun: runs(first: 1)`).
        await self.client.paginate_many(
            names, self.project_batch, request, lambda team, nodes: out[team].extend(nodes),
            kind="sync.projects", firsts=(self.page_size, 1) if last_run else (self.page_size,))
        return out

    # ---- registries --------------------------------------------------------------------------

    async def _registries(self, me: Identity, report: SyncReport):
        if not me.org:
            return None
        try:
            registries = [n async for n in self.client.paginate(
                Q.FETCH_REGISTRIES, {"organization": me.org},
                ("organization", "orgEntity", "projects"), page_size=100)]
            registries = [r for r in registries if r["name"].startswith(REGISTRY_PREFIX)]
            collections, versions, members = await asyncio.gather(
                self._paged(Q.REGISTRY_COLLECTIONS, me.org, "artifactCollections"),
                self._paged(Q.REGISTRY_VERSIONS, me.org, "artifactMemberships"),
                self._registry_members(me, registries))
        except E.PermissionDenied as exc:
            report.warnings.append(f"registries are not readable: {exc.message}")
            return None
        return registries, collections, versions, members

    async def _paged(self, query: str, org: str, field_name: str) -> list[dict]:
        return [n async for n in self.client.paginate(
            query, {"organization": org}, ("organization", "orgEntity", field_name),
            page_size=self.page_size)]

    async def _registry_members(self, me: Identity, registries: list[dict]) -> dict[str, dict]:
        if not registries or not me.org_entity:
            return {}
        doc, variables = Q.batched(
            "WbadminRegistryMembers", "project", Q.REGISTRY_MEMBERS_SELECTION,
            {"name": "String!", "entityName": "String!"},
            [{"name": r["name"], "entityName": me.org_entity} for r in registries])
        try:
            data = await self.client.graphql(doc, variables)
        except E.PermissionDenied:
            return {}
        return {r["name"]: data.get(f"r{i}") or {} for i, r in enumerate(registries)}

    # ---- incremental refresh -----------------------------------------------------------------

    async def refresh_team(self, name: str) -> None:
        """Re-read one team's members, invites, storage and projects."""
        await self.refresh_teams([name])

    async def refresh_teams(self, names: list[str]) -> None:
        """Re-read these teams' members, invites, storage and projects (batched, as a full
        sync reads them), and the org's people and their roles where SCIM is ours."""
        if not names:
            return
        teams, projects = await asyncio.gather(self._teams(names),
                                               self._projects(names, last_run=True))
        scim_users, users_complete = None, True
        if self.identity is not None and self.identity.scim:
            # Roles of this team's members come from SCIM: one filtered call per member
            # would cost more than one list, so list.
            listed = await read_scim_list(self.client, "Users")
            scim_users, users_complete = listed.resources, listed.shortfall is None
            if listed.shortfall:
                log.warning("%s", listed.shortfall)
        now = self.clock()
        with self.cache.transaction() as conn:
            if scim_users is not None:
                # A short list must not forget the people it did not reach.
                self._write_users(conn, scim_users, now, complete=users_complete)
            self._write_teams(conn, teams, projects, scim_users, now, full=False)

    async def refresh_project(self, team: str, name: str) -> None:
        """Re-read one project (with its newest run)."""
        data = await self.client.graphql(Q.PROJECT, {"name": name, "entity": team})
        project = data.get("project")
        now = self.clock()
        with self.cache.transaction() as conn:
            if project is None:
                conn.execute("DELETE FROM projects WHERE team = ? AND name = ?", (team, name))
            else:
                self._write_project(conn, team, project, now, None)
            self.cache.mark(conn, f"project:{team}/{name}", now)

    async def refresh_collection(self, registry: str, name: str) -> None:
        """Re-read one registry collection's versions, aliases, tags and metadata."""
        me = self.identity or await self.identify()
        if not me.org:
            raise E.NotFound("this identity belongs to no organization with registries")
        versions = [n async for n in self.client.paginate(
            Q.REGISTRY_VERSIONS,
            {"organization": me.org,
             "registryFilter": json.dumps({"name": REGISTRY_PREFIX + registry}),
             "collectionFilter": json.dumps({"name": name})},
            ("organization", "orgEntity", "artifactMemberships"), page_size=self.page_size)]
        now = self.clock()
        with self.cache.transaction() as conn:
            conn.execute("DELETE FROM versions WHERE registry = ? AND collection = ?",
                         (registry, name))
            self._write_versions(conn, versions, now)
            conn.execute("UPDATE collections SET version_count = ?, fetched_at = ? WHERE "
                         "registry = ? AND name = ?", (len(versions), now, registry, name))
            self.cache.mark(conn, f"collection:{registry}/{name}", now)

    # ---- writing to the cache ----------------------------------------------------------------

    def _write_identity(self, conn, me: Identity) -> None:
        values = {"org": me.org or "", "org_entity": me.org_entity or "",
                  "identity": json.dumps(me.__dict__), "base_url": self.client.base_url}
        for key, value in values.items():
            conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                         "value = excluded.value", (key, value))

    def _write_users(self, conn, users: list[dict], now: float, complete: bool = True) -> None:
        """`complete`: these are all the org's people, so the others left it."""
        Cache.replace_rows(conn, "users", (_user_row(u, now) for u in users),
                           where="account_type = 'USER'" if complete else "0")  # 0: delete none

    def _write_teams(self, conn, teams: dict[str, dict | None],
                     projects: dict[str, list[dict]], scim_users: list[dict] | None,
                     now: float, full: bool) -> None:
        roles = _team_roles(scim_users) if scim_users is not None else {}
        # A full sync does not ask for each project's newest run: keep what a team refresh
        # learnt earlier rather than forget it.
        known_last_runs = {(r[0], r[1]): r[2] for r in conn.execute(
            "SELECT team, name, last_run_at FROM projects WHERE last_run_at IS NOT NULL")}
        # Likewise invite dates (from the audit log): W&B's member listing has none.
        sent_at = {(r[0], r[1]): r[2] for r in conn.execute(
            "SELECT team, id, created_at FROM invites WHERE created_at IS NOT NULL")}
        if full:
            for table in ("teams", "team_members", "invites", "projects"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM users WHERE account_type = 'SERVICE'")
        for name, team in teams.items():
            if not full:
                for table in ("team_members", "invites", "projects"):
                    conn.execute(f"DELETE FROM {table} WHERE team = ?", (name,))
            members = (team or {}).get("members") or []
            team_projects = projects.get(name, [])
            # Without the newest run, a project's updatedAt (moved by run logging) stands in.
            last_runs = [_last_run_at(p) or parse_time(p.get("updatedAt"))
                         for p in team_projects]
            last_activity = max((t for t in last_runs if t), default=None)
            service_accounts = 0
            for seq, m in enumerate(members):
                if m.get("pending"):
                    invite_id = m.get("id") or f"pending-{seq}"
                    conn.execute(
                        "INSERT OR REPLACE INTO invites (team, id, email, username, created_at,"
                        " fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (name, invite_id, m.get("email"), m.get("username"),
                         sent_at.get((name, invite_id)), now))
                    continue
                username = m.get("username") or m.get("name")
                is_sa = (m.get("accountType") or "").upper() == "SERVICE"
                service_accounts += is_sa
                role = roles.get((username, name)) or m.get("role") or "member"
                conn.execute(
                    "INSERT OR REPLACE INTO team_members (team, username, user_id, email, name,"
                    " role, custom, account_type, seq, fetched_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (name, username, m.get("id"), m.get("email"), m.get("name"), role,
                     int(role not in PREDEFINED_ROLES), "SERVICE" if is_sa else "USER", seq, now))
                if is_sa:
                    conn.execute(
                        "INSERT OR REPLACE INTO users (username, gql_id, name, email, org_role,"
                        " active, account_type, fetched_at) VALUES (?, ?, ?, NULL, NULL, 1,"
                        " 'SERVICE', ?)", (username, m.get("id"), m.get("name"), now))
            for p in team_projects:
                self._write_project(conn, name, p, now, known_last_runs.get((name, p["name"])))
            conn.execute(
                "INSERT OR REPLACE INTO teams (name, id, storage_bytes, member_count,"
                " service_accounts, project_count, last_activity_at, readable, fetched_at)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (name, (team or {}).get("id"), (team or {}).get("storageBytes"),
                 sum(1 for m in members if not m.get("pending")), service_accounts,
                 len(team_projects), last_activity, int(team is not None), now))
            self.cache.mark(conn, f"team:{name}", now)

    @staticmethod
    def _write_versions(conn, versions: list[dict], now: float) -> dict[tuple[str, str], int]:
        """Insert version rows; the number of versions per (registry, collection)."""
        counts: dict[tuple[str, str], int] = {}
        for v in versions:
            key = _version_key(v)
            art = v.get("artifact") or {}
            counts[key] = counts.get(key, 0) + 1
            conn.execute(
                "INSERT OR REPLACE INTO versions (registry, collection, version_index, id,"
                " aliases, tags, metadata, created_at, fetched_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (*key, v["versionIndex"], art.get("id"),
                 json.dumps(sorted(a["alias"] for a in v.get("aliases") or [])),
                 json.dumps([t["name"] for t in art.get("tags") or []]),
                 _json_text(art.get("metadata")), parse_time(v.get("createdAt")), now))
        return counts

    @staticmethod
    def _write_project(conn, team: str, p: dict, now: float, known_last_run: float | None
                       ) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO projects (team, name, id, access, owner, run_count,"
            " last_run_at, storage_bytes, created_at, updated_at, fetched_at)"
            " VALUES (?,?,?,?,?,?,?,NULL,?,?,?)",
            (team, p["name"], p.get("id"), p.get("access"),
             (p.get("user") or {}).get("username"), p.get("runCount"),
             _last_run_at(p) or known_last_run, parse_time(p.get("createdAt")),
             parse_time(p.get("updatedAt")), now))

    def _write_registries(self, conn, registries: list[dict], collections: list[dict],
                          versions: list[dict], members: dict[str, dict], now: float) -> None:
        for table in ("registries", "registry_members", "collections", "versions"):
            conn.execute(f"DELETE FROM {table}")
        for r in registries:
            short = r["name"].removeprefix(REGISTRY_PREFIX)
            conn.execute("INSERT INTO registries VALUES (?, ?, ?, ?, ?)",
                         (short, r.get("id"), r.get("description"), r.get("access"), now))
            m = members.get(r["name"]) or {}
            for u in m.get("members") or []:
                conn.execute("INSERT OR REPLACE INTO registry_members VALUES (?,?,?,?,?)",
                             (short, "user", u["username"], (u.get("role") or {}).get("name"),
                              now))
            for t in m.get("teamMembers") or []:
                conn.execute("INSERT OR REPLACE INTO registry_members VALUES (?,?,?,?,?)",
                             (short, "team", t["team"]["name"],
                              (t.get("role") or {}).get("name"), now))
        counts = self._write_versions(conn, versions, now)
        for c in collections:
            registry = ((c.get("project") or {}).get("name") or "").removeprefix(REGISTRY_PREFIX)
            tags = [e["node"]["name"] for e in ((c.get("tags") or {}).get("edges") or [])]
            conn.execute(
                "INSERT OR REPLACE INTO collections (registry, name, id, type, description,"
                " tags, version_count, fetched_at) VALUES (?,?,?,?,?,?,?,?)",
                (registry, c["name"], c.get("id"), (c.get("type") or {}).get("name"),
                 c.get("description"), json.dumps(tags), counts.get((registry, c["name"]), 0),
                 now))
            self.cache.mark(conn, f"collection:{registry}/{c['name']}", now)


def _version_key(v: dict) -> tuple[str, str]:
    coll = v.get("artifactCollection") or {}
    registry = ((coll.get("project") or {}).get("name") or "").removeprefix(REGISTRY_PREFIX)
    return registry, coll.get("name") or ""


def _user_row(u: dict, now: float) -> dict[str, Any]:
    emails = u.get("emails")
    email = emails.get("Value") if isinstance(emails, dict) else (
        (emails[0] or {}).get("value") if isinstance(emails, list) and emails else None)
    return {"username": u["userName"], "scim_id": u.get("id"), "name": u.get("displayName"),
            "email": email, "org_role": u.get("organizationRole"),
            "active": bool(u.get("active", True)), "account_type": "USER",
            "seat": u.get("modelsSeat"), "last_active_at": parse_time(u.get("lastActiveAt")),
            "created_at": parse_time((u.get("meta") or {}).get("created")),
            "fetched_at": now}


def _role_row(r: dict, now: float) -> dict[str, Any]:
    perms = [p.get("name") if isinstance(p, dict) else p for p in r.get("permissions") or []]
    return {"id": r.get("id"), "name": r.get("name"), "description": r.get("description"),
            "inherited_from": r.get("inheritedFrom"), "permissions": perms, "fetched_at": now}


def _team_roles(users: list[dict]) -> dict[tuple[str, str], str]:
    out = {}
    for u in users:
        for tr in u.get("teamRoles") or []:
            out[(u["userName"], tr.get("teamName"))] = tr.get("roleName")
    return out


def _last_run_at(project: dict) -> float | None:
    edges = ((project.get("lastRun") or {}).get("edges")) or []
    if not edges:
        return None
    node = edges[0].get("node") or {}
    return parse_time(node.get("heartbeatAt")) or parse_time(node.get("createdAt"))


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value or {})
