"""The promotion request as it lives in W&B: a `promote-to-<alias>` tag on the version plus
`metadata["wbadmin"]["promotion"]`, so every admin and CI job reads the same queue.

The record keeps the seed's format (target, requested_by, requested_at, comment, ticket?,
status, approvals, history) and adds: `id` (one per request), `revision` (bumped on every
write; the conflict check compares it), `writer` (a nonce of the last write), `previous`
(the version that held the target alias before the move, for rollback), `decided_by`,
`decided_at`, `reason`. Unknown keys are kept as they are.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ... import clock
from .. import errors as E

TAG_PREFIX = "promote-to-"
REGISTRY_PREFIX = "wandb-registry-"
STATUSES = ("pending", "approved", "rejected", "cancelled", "rolled_back")
OPEN = "pending"
_KNOWN = {"id", "revision", "writer", "target", "requested_by", "requested_at", "comment",
          "ticket", "status", "approvals", "history", "previous", "decided_by", "decided_at",
          "reason"}
_REF = re.compile(r"^(?P<org>[^/:\s]+)/(?P<registry>[^/:\s]+)/(?P<collection>[^/:\s]+)"
                  r"(?::(?P<version>[^/:\s]+))?$")
VERSION_RE = re.compile(r"^v(\d+)$")


class BadRecord(E.BadResponse):
    """A promotion record in W&B that is not in wbadmin's format."""

    hint = "fix or remove metadata.wbadmin.promotion on that version"


class BadReference(E.BadRequest):
    kind = "usage"
    hint = "write ORG/REGISTRY/COLLECTION:vN (e.g. acme/model/chatbot:v7)"


def now_iso(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock.now() if ts is None else ts))


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def tag_for(alias: str) -> str:
    return f"{TAG_PREFIX}{alias}"


@dataclass(frozen=True)
class Ref:
    """ORG/REGISTRY/COLLECTION[:vN|:alias]. `registry` is the short name ("model")."""

    org: str
    registry: str
    collection: str
    version: str | None = None

    @property
    def project(self) -> str:
        return REGISTRY_PREFIX + self.registry

    @property
    def collection_path(self) -> str:
        return f"{self.org}/{self.registry}/{self.collection}"

    def __str__(self) -> str:
        return self.collection_path + (f":{self.version}" if self.version else "")

    def at(self, version: str | None) -> Ref:
        return Ref(self.org, self.registry, self.collection, version)


def parse_ref(text: str, *, version: bool | None = True) -> Ref:
    """`version=True`: a version or alias is required; False: forbidden; None: optional."""
    match = _REF.match(text.strip())
    if not match:
        raise BadReference(f"not a registry version: {text!r}")
    registry = match["registry"]
    if registry.startswith(REGISTRY_PREFIX):
        registry = registry[len(REGISTRY_PREFIX):]
    if not registry:
        raise BadReference(f"no registry name in {text!r}")
    ver = match["version"]
    if version is True and not ver:
        raise BadReference(f"{text!r} names no version: add :vN")
    if version is False and ver:
        raise BadReference(f"{text!r} names a version; give the collection only",
                           hint="write ORG/REGISTRY/COLLECTION")
    return Ref(match["org"], registry, match["collection"], ver)


@dataclass
class Approval:
    by: str
    at: str
    comment: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"by": self.by, "at": self.at, "comment": self.comment}


@dataclass
class Record:
    """One version's promotion record (see the module docstring for the keys)."""

    target: str
    requested_by: str
    requested_at: str
    comment: str = ""
    ticket: str | None = None
    status: str = OPEN
    approvals: list[Approval] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    id: str = ""
    revision: int = 0
    writer: str = ""
    previous: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def approvers(self) -> list[str]:
        return [a.by for a in self.approvals]

    def approved_by(self, username: str) -> bool:
        return username in self.approvers

    def event(self, action: str, by: str, at: str, **details: Any) -> dict[str, Any]:
        """Append a history entry (who, when, why) and return it."""
        entry = {"id": new_id(), "request": self.id, "action": action, "by": by, "at": at,
                 **{k: v for k, v in details.items() if v not in (None, "")}}
        self.history.append(entry)
        return entry

    def field_value(self, name: str) -> Any:
        """A request field for the policy's `required` checks (ticket, comment, ...)."""
        if name in ("ticket", "comment", "target", "requested_by"):
            return getattr(self, name)
        return self.extra.get(name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update({"id": self.id, "revision": self.revision, "writer": self.writer,
                    "target": self.target, "requested_by": self.requested_by,
                    "requested_at": self.requested_at, "comment": self.comment,
                    "status": self.status, "approvals": [a.to_json() for a in self.approvals],
                    "history": list(self.history)})
        for key in ("ticket", "previous", "decided_by", "decided_at", "reason"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def _text(raw: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise BadRecord(f"promotion record: {key!r} must be a non-empty string")
    return value


def parse_record(metadata: Any) -> Record | None:
    """The record in a version's metadata (a dict, or its JSON text), or None if there is none.
    Raises BadRecord when it is there but malformed."""
    if not isinstance(metadata, dict):
        return None
    raw = (metadata.get("wbadmin") or {}).get("promotion") \
        if isinstance(metadata.get("wbadmin"), dict) else None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRecord("promotion record: not a JSON object")
    status = raw.get("status", OPEN)
    if status not in STATUSES:
        raise BadRecord(f"promotion record: unknown status {status!r}")
    approvals = []
    for item in raw.get("approvals") or []:
        if not isinstance(item, dict) or not isinstance(item.get("by"), str):
            raise BadRecord("promotion record: an approval has no 'by'")
        approvals.append(Approval(item["by"], str(item.get("at") or ""),
                                  str(item.get("comment") or "")))
    history = raw.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise BadRecord("promotion record: history must be a list of objects")
    revision = raw.get("revision", 0)
    if not isinstance(revision, int):
        raise BadRecord("promotion record: revision must be an integer")
    return Record(
        target=_text(raw, "target") or "", requested_by=_text(raw, "requested_by") or "",
        requested_at=_text(raw, "requested_at") or "", comment=str(raw.get("comment") or ""),
        ticket=_text(raw, "ticket", False), status=status, approvals=approvals,
        history=list(history), id=str(raw.get("id") or ""), revision=revision,
        writer=str(raw.get("writer") or ""), previous=_text(raw, "previous", False),
        decided_by=_text(raw, "decided_by", False), decided_at=_text(raw, "decided_at", False),
        reason=_text(raw, "reason", False),
        extra={k: v for k, v in raw.items() if k not in _KNOWN})


def with_record(metadata: dict[str, Any], record: Record) -> dict[str, Any]:
    """A copy of `metadata` holding `record` (other keys untouched)."""
    out = dict(metadata)
    ours = dict(out.get("wbadmin") or {}) if isinstance(out.get("wbadmin"), dict) else {}
    ours["promotion"] = record.to_json()
    out["wbadmin"] = ours
    return out


def lookup(metadata: Any, path: str) -> Any:
    """`metrics.accuracy` in nested metadata; a literal dotted key wins. Missing → None."""
    if not isinstance(metadata, dict):
        return None
    if path in metadata:
        return metadata[path]
    head, _, rest = path.partition(".")
    if not rest:
        return metadata.get(path)
    return lookup(metadata.get(head), rest)
