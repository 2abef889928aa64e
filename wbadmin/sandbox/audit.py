"""W&B's audit-log API, served from the `audit_log` table.

Dedicated/Self-Managed answer `GET /admin/audit_logs`, Multi-tenant `GET /audit_logs`; the
org's deployment decides which one exists (the other is a 404). Org admins only (others 403),
Basic `username:API-KEY` (or `:API-KEY` for an org-scoped service account).

Query parameters (W&B docs, "Fetch audit logs"):
- `startDate` inclusive UTC start (`YYYY-MM-DD`, `…THH`, `…THH:mm`, `…THH:mm:ss`; Multi-tenant
  `YYYY-MM-DD` only). Omitted: midnight UTC today, or `numDays` days before it.
- `numDays` >= 0 (Multi-tenant 0..7): the range runs from `startDate` through the next
  `numDays` days, so 0 means the start day only. Not with `endDate`.
- `endDate` exclusive end (Dedicated only); switches to the paginated object.
- `limit` 1..20000 (Multi-tenant 1..1,000,000, the default), `cursor` (Dedicated: only with
  `limit` or `endDate`), `anonymize=true` (Dedicated only) drops PII fields.

Dedicated without `limit` and `endDate` streams newline-delimited JSON; otherwise (and always
on Multi-tenant) one object `{audit_logs, range_start_time, range_end_time, count,
next_cursor}`. Decisions where the docs are silent: entries are in (timestamp, id) order; a
range of `numDays` days from a startDate with a time of day keeps that time of day; `endDate`
on Multi-tenant is a 400 rather than silently ignored; errors are `{"error": message}`.

An older Dedicated server (the docs' earlier revisions: only `anonymize`, `numDays` and
`startDate`) is served when the sandbox's meta `audit_log_api` is `stream` (STREAM_ONLY): it
ignores `limit`, `endDate` and `cursor` and streams NDJSON whatever is asked.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import re
import time
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as quote_json
from typing import Any

from .. import clock
from . import auth, ids
from .db import Database

DEDICATED_PATH = "/admin/audit_logs"
MULTI_TENANT_PATH = "/audit_logs"
DAY = 86_400
MAX_LIMIT = {"dedicated": 20_000, "multi_tenant": 1_000_000}
MT_MAX_DAYS = 7
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")
PII_FIELDS = ("actor_email", "user_email", "entity_name", "project_name", "report_name",
              "artifact_qualified_name")
STREAM_ONLY_META, STREAM_ONLY = "audit_log_api", "stream"
# The org's plan on Multi-tenant: audit logs are for Enterprise plans only (reference §1);
# `pro` plays an org without Enterprise. The 403 and its wording are the sandbox's choice.
PLAN_META, NOT_ENTERPRISE = "plan", "pro"
OLD_SERVER_PARAMS = {"anonymize", "startDate", "numDays"}
JSON = "application/json"
NDJSON = "application/x-ndjson"

Answer = tuple[int, str, bytes, dict[str, str]]  # status, media type, body, extra headers

# What W&B records: every action and entry field the sandbox writes is one of these
# (`wandb-api.md` §7.5 "Action values", §7.4 "Entry fields"). The reference names no registry,
# alias, role-assignment, project-creation or automation actions, and no role field: the
# sandbox writes none. An action or field W&B is seen to log but the reference does not yet
# list goes in UNCONFIRMED (none today), so it stays visible as a guess.
ACTIONS = frozenset({
    "artifact:create", "artifact:delete", "artifact:read",
    "project:delete", "project:read",
    "organization:update_member",
    "report:read",
    "run:delete", "run:delete_many", "run:stop", "run:undelete_many", "run:update",
    "run:update_many",
    "sweep:create_agent",
    "team:create", "team:delete", "team:invite_user", "team:uninvite",
    "team:create_service_account",
    "user:create", "user:deactivate", "user:reactivate", "user:permanently_delete", "user:read",
    "user:update", "user:create_api_key", "user:delete_api_key", "user:initiate_login",
    "user:login", "user:logout",
})
FIELDS = frozenset({
    "timestamp", "action", "response_code", "cli_version",
    "actor_user_id", "actor_email", "actor_ip",
    "user_asset", "user_email",
    "entity_asset", "entity_name",
    "project_asset", "project_name",
    "artifact_asset", "artifact_digest", "artifact_qualified_name", "artifact_sequence_asset",
    "report_asset", "report_name",
})
UNCONFIRMED_ACTIONS: frozenset[str] = frozenset()
UNCONFIRMED_FIELDS: frozenset[str] = frozenset()


def record(conn: Any, ts: int, action: str, actor_id: int | None, **fields: Any) -> None:
    """One audit row, as W&B would log it (every emitter goes through here).

    `fields` are the entry's fields besides timestamp, action and the actor's id and email;
    None values are left out. An action or field W&B does not log is a bug, not a row."""
    unknown = {k for k in fields if k not in FIELDS | UNCONFIRMED_FIELDS}
    if action not in ACTIONS | UNCONFIRMED_ACTIONS or unknown:
        raise ValueError(f"not a W&B audit action/field: {action} {sorted(unknown)}")
    conn.execute("INSERT INTO audit_log (timestamp, action, actor_id, detail) VALUES (?, ?, ?, ?)",
                 (ts, action, actor_id, json.dumps({k: v for k, v in fields.items()
                                                     if v is not None}, sort_keys=True)))


class AuditError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Request:
    """One validated request: the resolved range and how to answer it."""

    start: int
    end: int
    anonymize: bool
    paginated: bool
    limit: int
    after: tuple[int, int] | None  # (timestamp, id) of the previous page's last entry


def rfc3339(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _parse_date(name: str, value: str, formats: tuple[str, ...]) -> int:
    for fmt in formats:
        try:
            return calendar.timegm(time.strptime(value, fmt))
        except ValueError:
            continue
    shapes = ", ".join(f.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
                       .replace("%H", "HH").replace("%M", "mm").replace("%S", "ss")
                       for f in formats)
    raise AuditError(400, f"invalid {name} {value!r}: use one of {shapes} (UTC)")


def _parse_int(name: str, value: str, low: int, high: int | None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise AuditError(400, f"invalid {name} {value!r}: expected an integer") from None
    if number < low or (high is not None and number > high):
        bound = f"from {low} through {high:,}" if high is not None else f">= {low}"
        raise AuditError(400, f"invalid {name} {number}: must be {bound}")
    return number


def encode_cursor(ts: int, row_id: int, start: int, end: int, anonymize: bool) -> str:
    raw = json.dumps({"version": 1, "ts": ts, "id": row_id, "start": start, "end": end,
                      "anonymize": anonymize}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(value: str, start: int, end: int, anonymize: bool) -> tuple[int, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(value.encode()))
        ts, row_id = int(data["ts"]), int(data["id"])
        same = (data["start"], data["end"], bool(data["anonymize"])) == (start, end, anonymize)
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise AuditError(400, "invalid cursor: pass next_cursor from the previous response "
                              "unchanged") from None
    if not same:
        raise AuditError(400, "the cursor belongs to another date range or anonymize value: "
                              "repeat the request that returned it with only cursor changed")
    return ts, row_id


def parse(query: dict[str, str], deployment: str, now: int) -> Request:
    """Validate the query parameters and resolve the date range (W&B's combination rules)."""
    mt = deployment == "multi_tenant"
    known = {"anonymize", "startDate", "numDays", "endDate", "limit", "cursor"}
    given = {k: v for k, v in query.items() if k in known}
    if mt and "endDate" in given:
        raise AuditError(400, "endDate is not supported on Multi-tenant Cloud: use startDate "
                              "and numDays (0-7)")
    if "numDays" in given and "endDate" in given:
        raise AuditError(400, "numDays cannot be combined with endDate: give one of them")
    num_days = _parse_int("numDays", given["numDays"], 0, MT_MAX_DAYS if mt else None) \
        if "numDays" in given else 0
    today = now // DAY * DAY
    start = (_parse_date("startDate", given["startDate"], DATE_FORMATS[:1] if mt else DATE_FORMATS)
             if "startDate" in given else today - num_days * DAY)
    if "endDate" in given:
        end = _parse_date("endDate", given["endDate"], DATE_FORMATS)
        if end <= start:
            raise AuditError(400, f"endDate ({rfc3339(end)}) must be after the start of the "
                                  f"range ({rfc3339(start)})")
    else:
        end = start + (num_days + 1) * DAY
    paginated = mt or "limit" in given or "endDate" in given
    if "cursor" in given and not paginated:
        raise AuditError(400, "cursor requires limit or endDate (a cursor pages the paginated "
                              "response; without them the answer is a stream)")
    limit = _parse_int("limit", given["limit"], 1, MAX_LIMIT[deployment]) \
        if "limit" in given else MAX_LIMIT[deployment]
    anonymize = not mt and given.get("anonymize", "").lower() == "true"
    after = _decode_cursor(given["cursor"], start, end, anonymize) if "cursor" in given \
        else None
    return Request(start, end, anonymize, paginated, limit, after)


def _entry(row: Any, anonymize: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"timestamp": rfc3339(row["timestamp"]), "action": row["action"]}
    if row["actor_id"] is not None:
        entry["actor_user_id"] = ids.encode("User", row["actor_id"])
        if row["actor_email"]:
            entry["actor_email"] = row["actor_email"]
    try:
        detail = json.loads(row["detail"] or "{}")
    except json.JSONDecodeError:
        detail = {}
    if isinstance(detail, dict):
        entry.update((k, v) for k, v in detail.items() if v is not None and k not in entry)
    if anonymize:
        for name in PII_FIELDS:
            entry.pop(name, None)
    return entry


# An entry's own names: a stored detail naming one of them (or holding a null, which an
# entry leaves out) is parsed and merged by `_entry`; any other is spliced in as it is.
_NOT_SPLICED = re.compile(r'"(?:timestamp|action|actor_user_id|actor_email)"|null')


def _entry_texts(rows: list[Any], anonymize: bool) -> list[str]:
    """Each row's entry as JSON text: what `json.dumps(_entry(row))` gives, without parsing
    and re-encoding the stored detail (always `json.dumps` of an object) where it can simply
    follow the entry's own fields — a 90-day read is tens of thousands of rows."""
    if anonymize:
        return [json.dumps(_entry(r, True)) for r in rows]
    actors: dict[int, str] = {}
    days: dict[int, str] = {}
    out = []
    for r in rows:
        _, ts, action, actor, detail, email = r  # _rows' columns, in order
        detail = detail or "{}"
        if detail[0] != "{" or detail[-1] != "}" or _NOT_SPLICED.search(detail):
            out.append(json.dumps(_entry(r, False)))
            continue
        day, second = divmod(int(ts), DAY)
        prefix = days.get(day) or days.setdefault(day, time.strftime(
            "%Y-%m-%dT", time.gmtime(day * DAY)))
        text = (f'{{"timestamp": "{prefix}{second // 3600:02d}:{second // 60 % 60:02d}:'
                f'{second % 60:02d}Z", "action": {quote_json(action)}')
        if actor is not None:
            gid = actors.get(actor) or actors.setdefault(actor, ids.encode("User", actor))
            text += f', "actor_user_id": "{gid}"'
            if email:
                text += f', "actor_email": {quote_json(email)}'
        out.append(text + (", " + detail[1:] if len(detail) > 2 else "}"))
    return out


def _rows(db: Database, req: Request) -> list[Any]:
    sql = ("SELECT a.id, a.timestamp, a.action, a.actor_id, a.detail, u.email AS actor_email "
           "FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id "
           "WHERE a.timestamp >= ? AND a.timestamp < ?")
    params: list[Any] = [req.start, req.end]
    if req.after is not None:
        sql += " AND (a.timestamp > ? OR (a.timestamp = ? AND a.id > ?))"
        params += [req.after[0], req.after[0], req.after[1]]
    sql += " ORDER BY a.timestamp, a.id"
    if req.paginated:
        sql += " LIMIT ?"
        params.append(req.limit + 1)  # one more tells whether another page follows
    return db.query(sql, tuple(params))


def authenticate(db: Database, header: str | None) -> auth.Identity:
    """Basic `username:API-KEY` (or `:API-KEY`); org admins and org service accounts only."""
    challenge = {"WWW-Authenticate": 'Basic realm="audit_logs"'}
    if not header or not header.lower().startswith("basic "):
        raise AuditError(401, "authentication required: use Basic auth with "
                              "base64(username:API-KEY)", challenge)
    username, key = auth.scim_key(header)
    ident = auth.identity_for_key(db, key)
    if ident is None:
        raise AuditError(401, "invalid API key", challenge)
    if username is not None:
        email = db.scalar("SELECT email FROM users WHERE id = ?", (ident.id,)) or ""
        if username.lower() not in (ident.username.lower(), email.lower()):
            raise AuditError(401, "the username does not match the API key", challenge)
    if not ident.is_org_admin:
        raise AuditError(403, "only organization admins can fetch audit logs")
    return ident


def handle(db: Database, path: str, query: dict[str, str], authorization: str | None,
           now: int | None = None) -> Answer:
    """(status, media type, body, headers) for one request to either audit-log path."""
    try:
        deployment = db.scalar("SELECT deployment FROM orgs ORDER BY id LIMIT 1") or "dedicated"
        own_path = MULTI_TENANT_PATH if deployment == "multi_tenant" else DEDICATED_PATH
        if path.rstrip("/") != own_path:
            raise AuditError(404, "not found")
        authenticate(db, authorization)
        if deployment == "multi_tenant" and db.get_meta(PLAN_META) == NOT_ENTERPRISE:
            raise AuditError(403, "audit logs are available to Enterprise organizations only")
        if deployment != "multi_tenant" and db.get_meta(STREAM_ONLY_META) == STREAM_ONLY:
            query = {k: v for k, v in query.items() if k in OLD_SERVER_PARAMS}
        req = parse(query, deployment, int(clock.now()) if now is None else now)
        rows = _rows(db, req)
    except AuditError as exc:
        return exc.status, JSON, json.dumps({"error": exc.message}).encode(), exc.headers
    if not req.paginated:
        body = "".join(t + "\n" for t in _entry_texts(rows, req.anonymize))
        return 200, NDJSON, body.encode(), {}
    page, more = rows[:req.limit], len(rows) > req.limit
    last = page[-1] if page else None
    rest = json.dumps({
        "range_start_time": rfc3339(req.start),
        "range_end_time": rfc3339(req.end),
        "count": len(page),
        "next_cursor": encode_cursor(last["timestamp"], last["id"], req.start, req.end,
                                     req.anonymize) if more and last is not None else None,
    })
    body = f'{{"audit_logs": [{", ".join(_entry_texts(page, req.anonymize))}], {rest[1:]}'
    return 200, JSON, body.encode(), {}
