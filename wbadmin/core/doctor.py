"""`wbadmin doctor`: what this server has, what this key may do, and so what wbadmin offers.

Reads only. What the *server* lacks (a field, SCIM, the audit-log API) is kept apart from what
*your role* may not do (SCIM and the audit log are for org admins): only the first makes a
feature degraded or unavailable for everyone on that server. Where `__type` cannot judge
(an argument's value) or introspection is refused, each feature's smallest real reads decide
(doctor_reads, doctor_readcheck, doctor_apply).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from . import audit
from . import errors as E
from .doctor_apply import apply_reads, reads_lines, reads_summary
from .doctor_readcheck import Read, ReadCheck, read_check
from .doctor_reads import BEHAVIOUR, ROUND_1, ROUND_2, Facts, build, learn
from .doctor_schema import SchemaCheck, check_schema
from .identity import Identity
from .wire_documents import all_documents, feature_of

FEATURES = ["Explorer", "Access", "Promotions", "Quotas", "Governance", "Onboarding", "Org-as-code",
            "Audit", "Reports"]
SERVER_FEATURES = "query WbadminServerFeatures { serverInfo { features { name isEnabled } } }"
FEATURES_READ = "wbadmin.core.doctor.SERVER_FEATURES"

# Without SCIM wbadmin still works from GraphQL, with less: what each feature loses.
WITHOUT_SCIM = {
    "Access": "people, org roles and seats are not listed (team members only); role "
              "changes and deactivations (SCIM) are refused",
    "Org-as-code": "org roles are not exported or applied",
}


@dataclass
class Feature:
    name: str
    state: str = "ready"                                     # ready | degraded | unavailable
    server_lacks: list[str] = field(default_factory=list)    # the server's, for everyone
    role_limits: list[str] = field(default_factory=list)     # yours, on this server
    unverified: list[str] = field(default_factory=list)      # what could not be checked
    # Mutations not checked (introspection refused, and a write cannot be read-tested): a
    # feature whose every read is verified is still "ready", this listed beside it.
    writes_unchecked: int = 0


@dataclass
class Diagnosis:
    base_url: str
    deployment: str
    round_trip_ms: float
    identity: dict[str, Any]
    server_features: dict[str, bool] | None
    server_features_note: str | None
    scim: str                      # "available at /scim" | "not for your role: ..." | ...
    audit_log: str
    schema: dict[str, Any]
    features: list[Feature]
    requests: int
    # The smallest real reads: every read document when introspection is refused, else the
    # arguments whose value `__type` cannot judge (see doctor_reads). Empty: not read.
    reads: dict[str, Any] = field(default_factory=dict)

    @property
    def server_lacks_something(self) -> bool:
        return any(f.server_lacks for f in self.features)

    def lines(self) -> list[str]:
        """The report for a person (the CLI prints it, the TUI panel shows it)."""
        who = self.identity
        role = f"org {who['org_role']}" if who["org_role"] else "org role unknown (SCIM)"
        out = [f"server     {self.base_url} ({self.deployment}), "
               f"round trip {self.round_trip_ms:.0f} ms",
               f"key        {who['username']} @ {who['org'] or '?'} ({role})"]
        if self.server_features is None:
            out.append(f"features   {self.server_features_note}")
        else:
            on = sum(self.server_features.values())
            out.append(f"features   serverInfo: {on} of {len(self.server_features)} enabled")
        out += [f"SCIM       {self.scim}", f"audit log  {self.audit_log}"]
        schema = self.schema
        if schema["refused"]:
            out.append(f"schema     {schema['refused']}")
        else:
            lacking = len(schema["missing"])
            out.append(f"schema     {schema['checked']} fields, arguments and input fields of "
                       f"{schema['types']} types checked: "
                       + ("all present" if not lacking else f"{lacking} missing"))
        out += reads_lines(self.reads)
        rows = [("FEATURE", "STATE", "WHY")]
        for feature in self.features:
            notes = [f"server: {n}" for n in feature.server_lacks] + \
                [f"your role: {n}" for n in feature.role_limits] + feature.unverified
            if feature.writes_unchecked:
                notes.append(f"{feature.writes_unchecked} writes not checked (mutations "
                             "cannot be checked without introspection)")
            rows.append((feature.name, feature.state, notes[0] if notes else ""))
            rows += [("", "", note) for note in notes[1:]]
        widths = [max(len(r[i]) for r in rows) for i in range(2)]
        out.append("")
        out += [f"{a.ljust(widths[0])}  {b.ljust(widths[1])}  {c}".rstrip() for a, b, c in rows]
        out += ["", f"{self.requests} requests, nothing written"]
        return out

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = not self.server_lacks_something
        return out


async def diagnose(client: Any, identity: Identity, *, deployment: str) -> Diagnosis:
    """Every check, reads only; `identity` is the key's (already verified by the caller)."""
    sent = client.requests_sent
    features = {name: Feature(name) for name in FEATURES}
    facts = Facts.of(identity)
    reads = ReadCheck()
    started = time.perf_counter()  # the round trip of a small read: features and arguments
    flags, flags_note = await _server_features(client, facts, reads)
    round_trip = (time.perf_counter() - started) * 1000
    scim = await _scim(client, identity, features)
    audit_state = await _audit(client, identity, features)
    schema = await check_schema(client, all_documents())
    if schema.refused:  # what `__type` would have said, the features' own reads say
        await read_check(client, build(ROUND_1, facts), reads, first_index=len(BEHAVIOUR) + 1)
        learn(reads.data, facts)
        await read_check(client, build(ROUND_2, facts), reads,
                         first_index=len(BEHAVIOUR) + len(ROUND_1) + 1)
    _apply_schema(schema, features)
    apply_reads(reads, features, everything=schema.refused is not None,
                team_read=facts.team_is_a_team)
    for feature in features.values():
        if feature.server_lacks and feature.state == "ready":
            feature.state = "degraded"
        elif feature.unverified and feature.state == "ready":
            feature.state = "unverified"  # not known to lack anything: not a failure
    return Diagnosis(
        base_url=client.base_url, deployment=deployment, round_trip_ms=round(round_trip, 1),
        identity={"username": identity.username, "org": identity.org,
                  "org_role": identity.org_role, "service_account": identity.is_service_account},
        server_features=flags, server_features_note=flags_note, scim=scim,
        audit_log=audit_state,
        schema={"types": schema.types, "checked": schema.checked, "requests": schema.requests,
                "refused": schema.refused, "types_per_request": schema.per_request,
                "missing": {name: sorted(where) for name, where in sorted(schema.missing.items())},
                "left_out": {name: sorted(paths) for name, paths in sorted(schema.leaves.items())
                             if name not in schema.essential}},
        features=list(features.values()), requests=client.requests_sent - sent,
        reads=reads_summary(reads, everything=schema.refused is not None))


async def _server_features(client: Any, facts: Facts, reads: ReadCheck
                           ) -> tuple[dict[str, bool] | None, str | None]:
    """serverInfo's features, in one request with the argument reads (BEHAVIOUR): a
    server without `features` has that read refused alone, the others read again."""
    await read_check(client, [Read(FEATURES_READ, SERVER_FEATURES, {}),
                              *build(BEHAVIOUR, facts)], reads)
    data, refused = reads.take(FEATURES_READ)
    if data is None:  # an older server: no `features` on ServerInfo
        return None, f"no serverInfo.features (an older W&B Server): {refused}"
    return _flags(data), None


async def server_feature_flags(client: Any) -> tuple[dict[str, bool] | None, str | None]:
    """serverInfo's features alone (one request): whether stored server facts still hold."""
    try:
        data = await client.graphql(SERVER_FEATURES)
    except E.BadRequest as exc:  # an older server: no `features` on ServerInfo
        return None, f"no serverInfo.features (an older W&B Server): {exc}"
    return _flags(data), None


def _flags(data: dict) -> dict[str, bool]:
    found = ((data.get("serverInfo") or {}).get("features")) or []
    return {f["name"]: bool(f.get("isEnabled")) for f in found if f.get("name")}


async def _scim(client: Any, identity: Identity, features: dict[str, Feature]) -> str:
    try:
        await client.scim("GET", "Users", params={"count": "1"})
        return f"available at {client.scim_prefix}"
    except (E.AuthError, E.PermissionDenied):
        why = "SCIM is for org admins and org service accounts"
        for name, loses in WITHOUT_SCIM.items():
            features[name].role_limits.append(f"{loses} ({why})")
        return f"not for your role ({identity.username}): {why}"
    except E.NotFound:
        for name, loses in WITHOUT_SCIM.items():
            features[name].server_lacks.append(f"no SCIM API at {client.scim_prefix}: {loses}")
        return f"not found at {client.scim_prefix}"


async def _audit(client: Any, identity: Identity, features: dict[str, Feature]) -> str:
    path = audit.MULTI_TENANT_PATH if audit.is_multi_tenant(client.base_url) \
        else audit.DEDICATED_PATH
    try:
        response = await client.get_raw(path, {"numDays": "1"}, username=identity.username)
    except (E.AuthError, E.PermissionDenied):
        features["Audit"].role_limits.append("the audit log is for org admins")
        return f"{path}: not for your role"
    except E.NotFound:
        features["Audit"].state = "unavailable"
        features["Audit"].server_lacks.append(f"no audit-log API at {path}")
        return f"{path}: not found"
    try:
        entries, _ = audit.parse_body(response.text, f"GET {path}", response)
    except E.WbError as exc:
        features["Audit"].server_lacks.append(f"{path} answers in an unknown shape: {exc}")
        return f"{path}: unknown shape"
    shape = "paged JSON" if '"audit_logs"' in response.text[:4096] else "NDJSON"
    count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
    return f"{path}: available ({shape}, {count} in the last day)"


def _apply_schema(schema: SchemaCheck, features: dict[str, Feature]) -> None:
    if schema.refused:
        return  # the reads check instead (apply_reads)
    from .server_facts import DEGRADED_PATHS

    for missing, where in schema.missing.items():
        left_out = missing in schema.leaves and missing not in schema.essential
        for name in sorted({feature_of(w) for w in where}):
            feature = features[name]
            line = f"the server has no {missing}"
            if left_out:
                line += ": wbadmin leaves it out of its reads and shows it as unknown"
            elif missing in DEGRADED_PATHS:
                pass  # a read of its own stands in (ServerFacts.notices says which)
            elif missing not in schema.in_queries:
                line += ": changes that need it are refused before anything is sent"
            else:
                line += ": the reads that use it cannot be made"
                feature.state = "unavailable"
            feature.server_lacks.append(line)
