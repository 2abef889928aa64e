"""The production map: for every cached registry collection and each protected alias (the
promotion policy's targets), the version holding it, since when, the run that produced it, that
run's team and the team's admins, and who requested and approved the promotion.

Aliases, tags and metadata (wbadmin's promotion record) come from the cache's `versions`; the
producing run is not in the sync's listing, so `read_runs` asks W&B (the attested
RegistryVersions document, `artifact.createdBy`) for the holders the cache has no row of yet,
once per artifact: W&B never changes an artifact's producing run. "since" is the record's
decision time: W&B's audit log has no alias events, so without a record it is unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..cache import Cache
from ..client import Client
from . import wire
from .policy import Policy
from .record import BadRecord, Record, parse_record

UNKNOWN = "unknown"
NONE = "none"
NO_ADMIN_FINDING = "teams-without-admin"


@dataclass
class Holding:
    """One (collection, protected alias) of the map."""

    registry: str
    collection: str
    alias: str
    version: str | None = None            # None: no version holds the alias
    artifact_id: str | None = None
    record: Record | None = None          # the approved promotion to this alias, if any
    record_problem: str = ""              # a malformed record on the holder
    run_read: bool = False                # the producing run was asked of W&B
    team: str | None = None               # the producing run's entity
    project: str | None = None
    run: str | None = None
    admins: list[str] | None = None       # None: the team's members are not visible
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.collection}:{self.alias}"

    @property
    def outside_workflow(self) -> bool:
        """Held, with no approval record for this alias (moved through the SDK or the UI)."""
        return self.version is not None and self.record is None

    @property
    def traceable(self) -> bool | None:
        """Whether W&B names the producing run; None when it was not read yet."""
        return None if not self.run_read else self.run is not None

    @property
    def since(self) -> str:
        return (self.record.decided_at or UNKNOWN) if self.record else UNKNOWN

    @property
    def requested_by(self) -> str:
        return self.record.requested_by if self.record else NONE

    @property
    def approved_by(self) -> list[str]:
        return self.record.approvers if self.record else []

    @property
    def admins_text(self) -> str:
        if self.team is None:
            return UNKNOWN
        if self.admins is None:
            return "not visible to you"
        return ", ".join(self.admins) or f"none (see {NO_ADMIN_FINDING})"

    def to_json(self) -> dict[str, Any]:
        run_known = self.traceable
        return {
            "registry": self.registry, "collection": self.collection, "alias": self.alias,
            "version": self.version, "since": self.since if self.version else None,
            "run": None if self.version is None else (
                UNKNOWN if run_known is not True else
                {"team": self.team, "project": self.project, "id": self.run}),
            "run_read": self.run_read, "team": self.team, "project": self.project,
            "team_admins": self.admins,
            "team_admins_finding": NO_ADMIN_FINDING if self.admins == [] else None,
            "requested_by": self.requested_by if self.version else None,
            "approved_by": self.approved_by, "outside_workflow": self.outside_workflow,
            "record_problem": self.record_problem or None}


def _approved_record(metadata: Any, alias: str) -> tuple[Record | None, str]:
    """The holder's record when it approved the move to `alias`; else None (and why the
    record could not be read, when it is malformed)."""
    try:
        record = parse_record(metadata)
    except BadRecord as exc:
        return None, exc.message
    if record is None or record.target != alias or record.status != "approved":
        return None, ""
    return record, ""


def _metadata(text: str | None) -> Any:
    try:
        return json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}


def _team_admins(cache: Cache) -> dict[str, list[str]]:
    """Admins of every team this identity can read (people only, as W&B lists them)."""
    out: dict[str, list[str]] = {t[0]: [] for t in cache.query(
        "SELECT name FROM teams WHERE readable = 1")}
    for team, username in cache.query(
            "SELECT m.team, m.username FROM team_members m JOIN teams t ON t.name = m.team "
            "WHERE t.readable = 1 AND m.role = 'admin' AND m.account_type = 'USER' "
            "ORDER BY m.team, m.username"):
        out[team].append(username)
    return out


def holdings(cache: Cache, policy: Policy) -> list[Holding]:
    """The map over the cache: every collection × its registry's protected aliases, sorted."""
    runs = {r["artifact_id"]: r for r in cache.query("SELECT * FROM version_runs")}
    admins = _team_admins(cache)
    holders: dict[tuple[str, str, str], Any] = {}
    for row in cache.query("SELECT registry, collection, version_index, id, aliases, metadata "
                           "FROM versions"):
        for alias in json.loads(row["aliases"] or "[]"):
            holders[(row["registry"], row["collection"], alias)] = row
    out = []
    for registry, collection in cache.query("SELECT registry, name FROM collections "
                                            "ORDER BY registry, name"):
        for alias in policy.targets_of(registry):
            h = Holding(registry, collection, alias)
            row = holders.get((registry, collection, alias))
            if row is not None:
                h.version, h.artifact_id = f"v{row['version_index']}", row["id"]
                h.record, h.record_problem = _approved_record(_metadata(row["metadata"]), alias)
                if (run := runs.get(row["id"])) is not None:
                    h.run_read = True
                    h.team, h.project, h.run = (run["run_entity"], run["run_project"],
                                                run["run_name"])
                    h.admins = admins.get(h.team) if h.team else None
            out.append(h)
    return out


def unread(cache: Cache, policy: Policy) -> list[Holding]:
    """Held protected aliases whose producing run the cache has not read yet."""
    return [h for h in holdings(cache, policy) if h.version and not h.run_read]


async def read_runs(client: Client, cache: Cache, policy: Policy, org: str,
                    now: float) -> int:
    """Ask W&B for the producing runs the map lacks: one RegistryVersions listing per
    collection concerned. Returns the number of versions written."""
    missing = unread(cache, policy)
    wanted = {h.artifact_id for h in missing}
    rows = []
    for registry, collection in sorted({(h.registry, h.collection) for h in missing}):
        for version in await wire.registry_versions(client, org, registry=registry,
                                                    collection=collection):
            if version.artifact_id not in wanted:
                continue
            run = version.run or {}
            rows.append((version.artifact_id, run.get("entity"), run.get("project"),
                         run.get("name"), now))
    with cache.transaction() as conn:
        conn.executemany("INSERT OR REPLACE INTO version_runs VALUES (?,?,?,?,?)", rows)
    return len(rows)
