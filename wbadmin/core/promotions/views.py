"""Typed results of the promotion service, for the CLI (`to_json`) and the TUI screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..changes import Outcome
from .metrics import MetricRules, annotate, regressions
from .policy import PolicyStatus, Target
from .record import Record
from .webhooks import Delivery
from .wire import Actor, Version


def record_state(record: Record | None) -> dict[str, Any] | None:
    """A record as a change's before/after state."""
    return None if record is None else {"status": record.status,
                                        "approvals": len(record.approvals)}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested metadata as dotted keys (`metrics.accuracy`), for side-by-side diffs."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict) and item:
            out.update(flatten(item, name))
        else:
            out[name] = item
    return out


def metadata_diff(candidate: Version, holder: Version | None,
                  rules: MetricRules | None = None) -> list[dict[str, Any]]:
    """Rows `{key, candidate, current, changed, direction, change, relative, regression}`
    over both versions' metadata (wbadmin's own record left out); numbers are compared the
    way `rules` says is better (see metrics.py)."""
    mine = flatten({k: v for k, v in candidate.metadata.items() if k != "wbadmin"})
    theirs = flatten({k: v for k, v in (holder.metadata if holder else {}).items()
                      if k != "wbadmin"})
    # The metrics the producing runs recorded, beside the versions' own.
    mine.update({f"run.{k}": v for k, v in ((candidate.run or {}).get("summary") or {}).items()})
    if holder is not None:
        theirs.update({f"run.{k}": v for k, v in
                       ((holder.run or {}).get("summary") or {}).items()})
    keys = sorted(set(mine) | set(theirs))
    rows = [{"key": k, "candidate": mine.get(k), "current": theirs.get(k),
             "changed": mine.get(k) != theirs.get(k)} for k in keys]
    return annotate(rows, rules or MetricRules())


def version_json(version: Version | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {"ref": str(version.ref), "version": version.version, "aliases": version.aliases,
            "tags": version.tags, "created_at": version.created_at, "run": version.run}


@dataclass
class QueueItem:
    """One pending request in the queue."""

    version: Version
    record: Record
    policy: PolicyStatus | None   # None: the target is not declared in the policy
    holder: Version | None = None  # the target alias's holder, when the queue was asked for it
    metrics: MetricRules = field(default_factory=MetricRules)

    @property
    def regressions(self) -> list[str]:
        """The metrics that regress against the holder (none when the holder is not known)."""
        if self.holder is None:
            return []
        return regressions(metadata_diff(self.version, self.holder, self.metrics))

    @property
    def blockers(self) -> list[str]:
        if self.policy is None:
            return [f"{self.record.target} is not a promotion target in the policy"]
        return self.policy.blockers()

    def to_json(self) -> dict[str, Any]:
        r = self.record
        return {"version": str(self.version.ref), "registry": self.version.ref.registry,
                "collection": self.version.ref.collection, "target": r.target,
                "requested_by": r.requested_by, "requested_at": r.requested_at,
                "comment": r.comment, "ticket": r.ticket, "status": r.status,
                "approvals": [a.to_json() for a in r.approvals], "request_id": r.id or None,
                "policy": None if self.policy is None else self.policy.to_json(),
                "blockers": self.blockers}


@dataclass
class Detail:
    """Everything the detail pane shows about one version's request."""

    version: Version
    record: Record | None
    target: Target | None
    policy: PolicyStatus | None
    holder: Version | None          # the version holding the target alias now
    actor: Actor | None
    why_not: list[str] = field(default_factory=list)  # why this actor cannot approve now
    metrics: MetricRules = field(default_factory=MetricRules)

    @property
    def diff(self) -> list[dict[str, Any]]:
        return metadata_diff(self.version, self.holder, self.metrics)

    @property
    def regressions(self) -> list[str]:
        return regressions(self.diff)

    def to_json(self) -> dict[str, Any]:
        diff = self.diff
        return {"version": version_json(self.version),
                "request": None if self.record is None else self.record.to_json(),
                "policy": None if self.policy is None else self.policy.to_json(),
                "current_holder": version_json(self.holder),
                "lineage": self.version.run, "diff": diff, "regressions": regressions(diff),
                "regression_percent": self.metrics.regression_percent,
                "you": None if self.actor is None else {
                    "username": self.actor.username, "registry_role": self.actor.registry_role,
                    "can_approve": not self.why_not, "why_not": self.why_not}}


@dataclass
class Decision:
    """What a request / approve / reject / cancel / rollback did."""

    action: str
    version: Version
    record: Record | None
    changed: bool
    message: str
    moved: bool = False
    waiting: str | None = None      # the policy is satisfied but the alias move waits
    policy: PolicyStatus | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    notifications: list[Delivery] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "version": str(self.version.ref),
                "changed": self.changed, "moved": self.moved, "message": self.message,
                "waiting": self.waiting,
                "request": None if self.record is None else self.record.to_json(),
                "policy": None if self.policy is None else self.policy.to_json(),
                "journal": [{"entry": o.entry_id, "status": o.status, "change": o.change.kind,
                             "target": o.change.target, "result": o.result}
                            for o in self.outcomes],
                "notifications": [d.to_json() for d in self.notifications]}


@dataclass
class HistoryEntry:
    version: str
    target: str
    action: str
    by: str
    at: str
    why: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "target": self.target, "action": self.action,
                "by": self.by, "at": self.at, "why": self.why, **self.details}
