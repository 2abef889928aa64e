"""The Promotions screen's data drawn from the local cache, so the first frame (and offline
mode) needs no network: the cache's `versions` table keeps every registry version's tags,
aliases and metadata, which is where a promotion request lives (a `promote-to-<alias>` tag
plus `metadata.wbadmin.promotion`). The live service replaces these with fresh data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..core.cache import Cache
from ..core.permissions import Capabilities
from ..core.promotions.metrics import MetricRules
from ..core.promotions.policy import Policy, Target
from ..core.promotions.record import TAG_PREFIX, Record, Ref, parse_record
from ..core.promotions.views import Detail, HistoryEntry, QueueItem
from ..core.promotions.wire import ROLE_RANK, Actor, Version
from ..core.wire_time import parse_time

SORTS = ("age", "target", "collection", "requester")
CONFIRM_ALIASES = ("production",)  # moving these needs the collection's name typed


def _iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _version(org: str, row) -> Version:
    try:
        metadata = json.loads(row["metadata"] or "{}")
    except json.JSONDecodeError:
        metadata = {}
    return Version(ref=Ref(org, row["registry"], row["collection"], f"v{row['version_index']}"),
                   entity=org, artifact_id=row["id"] or "", index=row["version_index"],
                   aliases=json.loads(row["aliases"] or "[]"),
                   tags=json.loads(row["tags"] or "[]"),
                   metadata=metadata if isinstance(metadata, dict) else {},
                   created_at=_iso(row["created_at"]))


def _record(version: Version) -> Record | None:
    try:
        return parse_record(version.metadata)
    except Exception:  # a malformed record is the service's to report, not the queue's
        return None


def sort_items(items: Iterable[QueueItem], key: str) -> list[QueueItem]:
    """The service's orders, applied locally so `s` needs no network call."""
    keys = {"age": lambda i: (i.record.requested_at, str(i.version.ref)),
            "target": lambda i: (i.record.target, i.record.requested_at),
            "collection": lambda i: (i.version.ref.collection, i.version.index),
            "requester": lambda i: (i.record.requested_by, i.record.requested_at)}
    return sorted(items, key=keys[key])


def cached_queue(cache: Cache, policy: Policy | None) -> list[QueueItem]:
    """Open requests in the cache: versions tagged `promote-to-*` with an open record."""
    org = cache.meta("org") or ""
    rows = cache.query("SELECT * FROM versions WHERE tags LIKE ? ORDER BY registry, collection,"
                       " version_index", (f'%"{TAG_PREFIX}%',))
    items = []
    for row in rows:
        version = _version(org, row)
        record = _record(version)
        if record is None or not record.is_open:
            continue
        rules = policy.target(version.ref.registry, record.target) if policy else None
        items.append(QueueItem(version, record, None if rules is None
                               else rules.status(record, version.metadata),
                               holder=cached_holder(cache, version.ref, record.target),
                               metrics=policy.metrics if policy else MetricRules()))
    return sort_items(items, "age")


def cached_holder(cache: Cache, ref: Ref, alias: str) -> Version | None:
    """The cached version of `ref`'s collection that holds `alias`."""
    for row in cache.query("SELECT * FROM versions WHERE registry = ? AND collection = ? "
                           "ORDER BY version_index DESC", (ref.registry, ref.collection)):
        if alias in json.loads(row["aliases"] or "[]"):
            return _version(ref.org, row)
    return None


def cached_actor(cache: Cache, caps: Capabilities, registry: str) -> Actor | None:
    """The signed-in identity's effective role in a registry, as far as the cache knows: the
    highest of org admin (→ admin), the direct registry role and their teams' roles."""
    if caps.username is None:
        return None
    teams = tuple(caps.team_roles)
    roles = [r["role"] for r in cache.query(
        "SELECT role FROM registry_members WHERE registry = ? AND kind = 'user' AND name = ?",
        (registry, caps.username))]
    roles += [r["role"] for r in cache.query(
        "SELECT name, role FROM registry_members WHERE registry = ? AND kind = 'team'",
        (registry,)) if r["name"] in teams]
    if caps.is_org_admin:
        roles.append("admin")
    best = max(roles, key=lambda r: ROLE_RANK.get(r, 0), default=None)
    return Actor(caps.username, teams, best)


def approve_problems(record: Record, rules: Target | None, actor: Actor | None,
                     version: Version) -> list[str]:
    """Why `actor` cannot approve now (the service's checks, on cached data)."""
    if rules is None:
        return [f"{record.target} is not a promotion target in the policy"]
    if actor is None:
        return ["signed-in identity unknown (not synced yet)"]
    if not record.is_open:
        return [f"the request is {record.status}"]
    if actor.username == record.requested_by:
        return [f"{actor.username} requested it: a requester never approves their own request"]
    if not rules.may_approve(actor.username, actor.teams, actor.registry_admin):
        return [f"{actor.username} may not approve promotions to {rules.alias} in "
                f"{version.ref.registry} (allowed: {rules.approvers_text()})"]
    status = rules.status(record, version.metadata)
    return [b for b in status.blockers() if "approvals" not in b]


def cached_detail(cache: Cache, caps: Capabilities, policy: Policy | None,
                  item: QueueItem) -> Detail:
    version, record = item.version, item.record
    rules = policy.target(version.ref.registry, record.target) if policy else None
    actor = cached_actor(cache, caps, version.ref.registry)
    return Detail(version, record, rules, item.policy,
                  cached_holder(cache, version.ref, record.target), actor,
                  approve_problems(record, rules, actor, version),
                  metrics=policy.metrics if policy else MetricRules())


@dataclass(frozen=True)
class RollbackCandidate:
    """An alias wbadmin moved that can go back to its previous holder."""

    ref: Ref            # the collection (no version)
    alias: str
    holder: str         # vN holding the alias now
    previous: str | None

    @property
    def label(self) -> str:
        return (f"{self.ref.registry}/{self.ref.collection}:{self.alias}  "
                f"{self.holder} → {self.previous or 'unset'}")


def rollback_candidates(cache: Cache) -> list[RollbackCandidate]:
    org = cache.meta("org") or ""
    out = []
    for row in cache.query("SELECT * FROM versions WHERE metadata LIKE '%\"promotion\"%' "
                           "ORDER BY registry, collection, version_index"):
        version = _version(org, row)
        record = _record(version)
        if record and record.status == "approved" and record.target in version.aliases:
            out.append(RollbackCandidate(version.ref.at(None), record.target, version.version,
                                         record.previous))
    return out


def cached_history(cache: Cache, ref: Ref) -> list[HistoryEntry]:
    """Every request and decision on a collection's cached versions, oldest first (the same
    entries as `PromotionService.history`)."""
    entries = []
    for row in cache.query("SELECT * FROM versions WHERE registry = ? AND collection = ?",
                           (ref.registry, ref.collection)):
        version = _version(ref.org, row)
        record = _record(version)
        for item in record.history if record else []:
            details = {k: v for k, v in item.items()
                       if k not in ("action", "by", "at", "comment", "reason")}
            entries.append(HistoryEntry(
                version.version, str(item.get("target") or record.target),
                str(item.get("action")), str(item.get("by")), str(item.get("at")),
                str(item.get("reason") or item.get("comment") or ""), details))
    return sorted(entries, key=lambda e: (e.at, e.version))


def requested_ts(record: Record) -> float | None:
    return parse_time(record.requested_at)
