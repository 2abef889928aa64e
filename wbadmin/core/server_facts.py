"""What a W&B server has, cached per server: the server's half of `wbadmin doctor`.

The TUI and the CLI ask the same object: `facts.feature("Quotas")` (ready / degraded /
unavailable / unverified, with the reasons and the degraded paths taken), `facts.lacks(
"Entity.projects(filters:)")`, and `facts.refusal(change)` before a plan is confirmed. Role
limits are the key's, not the server's: they are never stored here (another identity on the
same server would inherit them).

Stored in the server's cache (`Session.server_cache()`, one per base URL) with the
`serverInfo` feature flags seen and the time probed; probed again when a day has passed or
the flags differ (an upgraded server). `doctor` writes them; a session that needs them and
has none probes them itself (`Session.server_facts()`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors as E

if TYPE_CHECKING:
    from .cache import Cache
    from .changes import Change, Plan
    from .doctor import Diagnosis

MAX_AGE_S = 86_400.0
META_KEY = "server_facts"
FORMAT = 1
DOCTOR = "see `wbadmin doctor`"

# What wbadmin does instead when the server lacks something it has another way around:
# missing name -> (feature, the line said once).
DEGRADED_PATHS: dict[str, tuple[str, str]] = {
    "Entity.projects(filters:)": (
        "Quotas", "this server has no Entity.projects(filters:); quota refresh reads ordered "
        "project lists instead"),
    "Entity.projects(order:)": (
        "Quotas", "this server has no Entity.projects(order:); quota refresh reads every "
        "project and keeps the changed ones itself"),
}
UNORDERED = ("Quotas", "this server has no Entity.projects(filters:) nor (order:); quota "
             "refresh reads every project and keeps the changed ones itself")


class ServerLacks(E.WbError):
    """Refused before anything was sent: the server lacks what this needs (exit 1)."""

    kind = "server_lacks"
    hint = DOCTOR


@dataclass(frozen=True)
class FeatureState:
    """A feature of wbadmin on this server: what the TUI greys and the CLI refuses."""

    name: str
    state: str = "ready"          # ready | degraded | unavailable | unverified
    reasons: tuple[str, ...] = ()  # what the server lacks, each a line for a person
    notices: tuple[str, ...] = ()  # degraded paths wbadmin takes instead, said once

    @property
    def usable(self) -> bool:
        """Offered at all (degraded still is; unavailable is greyed)."""
        return self.state != "unavailable"


@dataclass
class ServerFacts:
    server: str                                # Session.server: the base URL
    probed_at: float
    server_features: dict[str, bool] | None    # serverInfo { features }; None: an older server
    missing: dict[str, list[str]] = field(default_factory=dict)  # name -> documents using it
    introspection_refused: str | None = None
    scim: str = "unknown"    # present | absent | unknown (the key may not ask)
    scim_prefix: str | None = None
    audit: str = "unknown"   # paged JSON | NDJSON | absent | unknown shape | unknown
    # Per feature, the server's part of doctor's verdict: {"state", "server_lacks"}.
    features: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Missing scalar fields of queries -> their paths (field names from the root): left out.
    left_out: dict[str, list[list[str]]] = field(default_factory=dict)

    # ---- what the app asks -----------------------------------------------------------------

    def lacks(self, name: str) -> bool:
        """Whether the server is known to lack `name`, in doctor's naming: "Type.field",
        "Type.field(arg:)", "Type" (a type), "SCIM", "audit log"."""
        if name == "SCIM":
            return self.scim == "absent"
        if name == "audit log":
            return self.audit == "absent"
        return _normal(name) in self.missing

    def feature(self, name: str) -> FeatureState:
        known = self.features.get(name)
        if known is None:
            return FeatureState(name)
        return FeatureState(name, known["state"], tuple(known.get("server_lacks") or ()),
                            tuple(self.notices(name)))

    def all_features(self) -> list[FeatureState]:
        return [self.feature(name) for name in self.features]

    def notices(self, feature: str) -> list[str]:
        """The degraded paths `feature` takes on this server (a line each, said once)."""
        from .wire_documents import feature_of

        out = []
        unordered = self.lacks("Entity.projects(filters:)") and \
            self.lacks("Entity.projects(order:)")
        for missing, (owner, line) in DEGRADED_PATHS.items():
            if owner == feature and missing in self.missing:
                line = UNORDERED[1] if unordered else line
                if line not in out:
                    out.append(line)
        for name in sorted(self.left_out):
            if any(feature_of(where) == feature for where in self.missing.get(name, ())):
                out.append(f"this server has no {name}: wbadmin leaves it out of its reads "
                           "and shows it as unknown")
        return out

    @property
    def strip_paths(self) -> set[tuple[str, ...]]:
        """Fields to leave out of queries sent here, as paths of field names from the root."""
        return {tuple(path) for paths in self.left_out.values() for path in paths}

    def refusal(self, change: Change) -> str | None:
        """Why `change` cannot be made on this server (it needs what the server lacks), or
        None. Asked for a whole plan before it is confirmed: never a half-applied plan."""
        module = type(change).__module__
        for document in getattr(change, "documents", ()):
            where = f"{module}.{document}"
            lacking = sorted(name for name, used_by in self.missing.items()
                             if any(_same(where, other) for other in used_by))
            if lacking:
                return f"this server has no {', '.join(lacking)}, which {change.kind} needs"
        if getattr(change, "uses_scim", False) and self.scim == "absent":
            return f"this server has no SCIM API at {self.scim_prefix}, which {change.kind} needs"
        return None

    def refuse_plan(self, plan: Plan) -> None:
        """Raise ServerLacks (nothing sent) when any change of `plan` cannot be made here."""
        for change in plan:
            why = self.refusal(change)
            if why is not None:
                raise ServerLacks(f"{why} ({change.target}): nothing was changed")

    # ---- freshness and storage -------------------------------------------------------------

    def stale(self, now: float, flags: dict[str, bool] | None) -> bool:
        return now - self.probed_at >= MAX_AGE_S or now < self.probed_at \
            or flags != self.server_features

    def save(self, cache: Cache) -> None:
        cache.set_meta(META_KEY, json.dumps({"format": FORMAT, **asdict(self)}))

    @classmethod
    def load(cls, cache: Cache, server: str) -> ServerFacts | None:
        raw = cache.meta(META_KEY)
        try:
            data = json.loads(raw) if raw else None
            if not data or data.pop("format", None) != FORMAT or data.get("server") != server:
                return None
            return cls(**data)
        except (TypeError, ValueError):
            return None  # unreadable: probed again

    @classmethod
    def full(cls, server: str, now: float) -> ServerFacts:
        """Everything present: the embedded sandbox wbadmin starts itself (no variant)."""
        from .doctor import FEATURES

        return cls(server, now, None, scim="present", audit="paged JSON",
                   features={name: {"state": "ready", "server_lacks": []} for name in FEATURES})

    @classmethod
    def from_diagnosis(cls, diagnosis: Diagnosis, server: str, now: float,
                       previous: ServerFacts | None = None) -> ServerFacts:
        """The server's half of a diagnosis (its role limits dropped). What this key could
        not ask (SCIM, the audit log: org admins') is kept from `previous` when known."""
        schema = diagnosis.schema
        scim = "present" if diagnosis.scim.startswith("available") else \
            "absent" if diagnosis.scim.startswith("not found") else "unknown"
        audit = diagnosis.audit_log.split(": ", 1)[-1]
        audit = "paged JSON" if "paged JSON" in audit else "NDJSON" if "NDJSON" in audit \
            else "absent" if audit == "not found" else \
            "unknown shape" if audit == "unknown shape" else "unknown"
        facts = cls(server, now, diagnosis.server_features,
                    missing=_missing(diagnosis),
                    left_out={name: [list(p) for p in paths] for name, paths in
                              (schema.get("left_out") or {}).items()},
                    introspection_refused=schema["refused"], scim=scim,
                    scim_prefix=diagnosis.scim.rsplit(" at ", 1)[-1]
                    if " at " in diagnosis.scim else None, audit=audit,
                    features={f.name: {"state": f.state, "server_lacks": list(f.server_lacks)}
                              for f in diagnosis.features})
        if previous is not None:
            if facts.scim == "unknown":
                facts.scim, facts.scim_prefix = previous.scim, previous.scim_prefix
            if facts.audit == "unknown":
                facts.audit = previous.audit
            for name, known in previous.features.items():  # what only an admin could see
                mine = facts.features.setdefault(name, {"state": "ready", "server_lacks": []})
                for line in known.get("server_lacks") or []:
                    if ("SCIM" in line or "audit" in line) and line not in mine["server_lacks"]:
                        mine["server_lacks"].append(line)
                        mine["state"] = known["state"] if mine["state"] == "ready" \
                            else mine["state"]
        return facts


def _missing(diagnosis: Diagnosis) -> dict[str, list[str]]:
    """What `__type` found missing, and what the smallest real reads proved missing (with
    introspection refused, or an argument's value refused on a team entity)."""
    out = {name: list(where) for name, where in diagnosis.schema["missing"].items()}
    for name, where in ((diagnosis.reads or {}).get("missing") or {}).items():
        out[name] = sorted({*out.get(name, []), *where})
    return out


def _same(where: str, other: str) -> bool:
    """Whether two documents are one: the scan names a document repeated in two modules
    once, after the first."""
    if where == other:
        return True
    import importlib

    def text(name: str) -> object:
        module, _, attr = name.rpartition(".")
        try:
            return getattr(importlib.import_module(module), attr, None)
        except ImportError:
            return None

    mine = text(where)
    return mine is not None and mine == text(other)


def _normal(name: str) -> str:
    """doctor's naming: `Type.field(arg:)` ("(arg)" accepted too)."""
    if name.endswith(")") and not name.endswith(":)"):
        return name[:-1] + ":)"
    return name


async def probe(client: Any, username: str, server: str, now: float,
                previous: ServerFacts | None = None) -> ServerFacts:
    """The server's checks of `doctor` (reads only, about ten requests)."""
    from .doctor import diagnose
    from .identity import Identity

    me = Identity(username=username, name=None, email=None, entity=None, org=None,
                  org_entity=None)
    diagnosis = await diagnose(client, me, deployment="")
    return ServerFacts.from_diagnosis(diagnosis, server, now, previous)
