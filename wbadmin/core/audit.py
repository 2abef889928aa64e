"""W&B's audit logs (org admins only), and the invite dates wbadmin reads from them.

W&B's team member listing gives no invite date; the audit log's `team:invite_user` entries do
(`entity_name` = team, `user_email` = invitee, `timestamp` = when it was sent).

The API differs by deployment: Dedicated/Self-Managed answer `/admin/audit_logs`, Multi-tenant
`/audit_logs` (Basic `username:key` on both). The deployment's path is tried first (guessed
from the host); a 404 there tries the other path once.

A range is read as date windows (`startDate` + `numDays`), each until it is exhausted: a
paginated answer is followed through `next_cursor` until it is null; an NDJSON answer (an
older Dedicated server streams one whatever is asked, ignoring `limit`) is the whole window at
once, which is why Dedicated is windowed too: the window bounds one answer's size. Multi-tenant
takes at most 8 days per request (`numDays` 0..7). The first window is read alone (it learns
whether the path exists), the rest a few at a time, oldest first.

The only limit is a safety cap on the entries kept (memory). Reaching it is never silent: the
read says where it stopped (`AuditRead.truncated_at`: every entry before that instant was read,
in the server's (timestamp) order), and a later start reads on from there.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from . import errors as E
from .client import Client
from .wire_answers import answered, what_came_back

DEDICATED_PATH = "/admin/audit_logs"
MULTI_TENANT_PATH = "/audit_logs"
MULTI_TENANT_HOSTS = {"api.wandb.ai", "api.forge.coreweave.com"}
DAY = 86_400
PAGE_SIZE = 20_000  # Dedicated's maximum `limit` (Multi-tenant takes more)
# Days per request: Multi-tenant's maximum (numDays 7); on Dedicated, a month bounds what an
# older server streams in one answer while a 90-day read stays 3 requests.
WINDOW_DAYS = {DEDICATED_PATH: 31, MULTI_TENANT_PATH: 8}
CONCURRENT_WINDOWS = 4
# Entries kept per read: a busy org logs many reads, and every entry is held in memory. It is
# checked after each answer, so a read may hold a few pages (windows, from an NDJSON server)
# more before it stops.
MAX_ENTRIES = 200_000
INVITE_ACTION = "team:invite_user"
# What `anonymize=true` drops (wandb-api.md §7.5; the docs give no exact list).
PII_FIELDS = ("actor_email", "user_email", "entity_name", "project_name", "report_name",
              "artifact_qualified_name")
MAX_WINDOW_DAYS = 90


@dataclass
class AuditRead:
    entries: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""
    # Set when the safety cap stopped the read: every entry before this instant was read;
    # none at or after it is promised.
    truncated_at: float | None = None

    @property
    def truncated(self) -> bool:
        return self.truncated_at is not None


@dataclass(frozen=True)
class Window:
    params: dict[str, str]
    start: float  # the first instant it covers
    end: float    # the first instant after it


@dataclass
class WindowRead:
    entries: list[dict[str, Any]]
    exhausted: bool  # False: the budget ran out while a next_cursor remained


def is_multi_tenant(base_url: str) -> bool:
    return (urlsplit(base_url).hostname or "").lower() in MULTI_TENANT_HOSTS


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_body(text: str, target: str = "audit logs",
               response: httpx.Response | None = None) -> tuple[list[dict], str | None]:
    """(entries, next_cursor) from either shape: the paginated object or NDJSON lines.
    Anything else (a proxy's page, a JSON error object, a cut line) is BadResponse naming
    the URL and what came back when `response` is given."""
    text = text.strip()
    if not text:
        return [], None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("audit_logs"), list):
        cursor = payload.get("next_cursor")
        return ([e for e in payload["audit_logs"] if isinstance(e, dict)],
                cursor if isinstance(cursor, str) and cursor else None)
    if isinstance(payload, dict):  # a stream of exactly one entry, or not an entry at all
        if _is_entry(payload):
            return [payload], None
        raise _not_audit_logs(target, response, "a JSON object that is no audit-log entry")
    if payload is not None:
        raise _not_audit_logs(target, response, "JSON in neither audit-log shape")
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise _not_audit_logs(target, response,
                                  f"a body whose line {n} is not JSON") from None
        if isinstance(entry, dict):
            entries.append(entry)
    return entries, None


def _is_entry(payload: dict) -> bool:
    """An entry has an action or a time (wandb-api.md §7.4; every field is optional, but an
    error object like {"error": ...} has neither)."""
    return "action" in payload or "timestamp" in payload


def _not_audit_logs(target: str, response: httpx.Response | None, what: str) -> E.BadResponse:
    if response is None:
        return E.BadResponse(f"{target}: the answer holds {what}")
    if "json" not in response.headers.get("content-type", "json"):
        return E.BadResponse(f"{target}: {what_came_back(response)}")
    return E.BadResponse(f"{target}: {answered(response)} {what}")


def windows(path: str, start: float, days: int, *, anonymize: bool = False) -> list[Window]:
    """Windows covering `start`'s UTC day through `days` days later, oldest first.

    `limit` asks for pages (an older Dedicated server ignores it and streams the window).
    `anonymize` asks Dedicated to drop PII fields (Multi-tenant has no such parameter)."""
    extra = {"anonymize": "true"} if anonymize and path == DEDICATED_PATH else {}
    size = WINDOW_DAYS[path]
    first_day = start // DAY * DAY
    out, offset = [], 0
    while offset <= days:
        span = min(size, days + 1 - offset)  # days in this window
        day = first_day + offset * DAY
        out.append(Window({"startDate": _day(day), "numDays": str(span - 1),
                           "limit": str(PAGE_SIZE), **extra}, day, day + span * DAY))
        offset += span
    return out


async def _read_window(client: Client, path: str, window: Window, username: str | None,
                       budget: int) -> WindowRead:
    """The window's entries, page after page until next_cursor is null or `budget` entries
    are held (the read's safety cap)."""
    entries: list[dict] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        params = {**window.params, **({"cursor": cursor} if cursor else {})}
        response = await client.get_raw(path, params, username=username, api="audit")
        page, cursor = parse_body(response.text, f"GET {path}", response)
        entries.extend(page)
        if cursor is None:
            return WindowRead(entries, True)
        if len(entries) >= budget:
            return WindowRead(entries, False)
        if cursor in seen:  # a server that pages in a circle would never end
            raise E.BadResponse(f"GET {path}: the server returned the same next_cursor twice")
        seen.add(cursor)


def _last_time(entries: list[dict], default: float) -> float:
    from .wire_time import parse_time

    for entry in reversed(entries):
        at = parse_time(entry.get("timestamp"))
        if at is not None:
            return at
    return default


async def _read_windows(client: Client, path: str, spans: list[Window], first: WindowRead,
                        username: str | None, cap: int) -> AuditRead:
    """Every window's entries in order, stopping (and saying where) at `cap` entries."""
    read = AuditRead([], path)
    done: list[WindowRead] = [first]
    for i, window in enumerate(spans):
        if i == len(done):  # the next few windows, concurrently, each within what is left
            batch = spans[i:i + CONCURRENT_WINDOWS]
            left = cap - len(read.entries)
            done += await asyncio.gather(*(_read_window(client, path, w, username, left)
                                           for w in batch))
        got = done[i]
        read.entries.extend(got.entries)
        if not got.exhausted:
            read.truncated_at = _last_time(got.entries, window.start)
            return read
        if len(read.entries) >= cap and i + 1 < len(spans):
            read.truncated_at = window.end
            return read
    return read


async def read_audit_logs(client: Client, *, start: float, days: int,
                          username: str | None = None, max_entries: int | None = None,
                          path: str | None = None, anonymize: bool = False) -> AuditRead:
    """Every entry from `start`'s UTC day through `days` days later (both paths, both shapes),
    up to `max_entries` (default MAX_ENTRIES; beyond it the read is `truncated`). `path`: the
    one already known to answer (no other is tried). `anonymize`: `anonymize=true` (Dedicated).

    Raises the client's typed errors: PermissionDenied (not an org admin), NotFound (neither
    path exists), AuthError, BadResponse, and so on."""
    cap = MAX_ENTRIES if max_entries is None else max_entries
    paths = [DEDICATED_PATH, MULTI_TENANT_PATH]
    if is_multi_tenant(client.base_url):
        paths.reverse()
    if path is not None:
        paths = [path]
    for i, tried in enumerate(paths):
        spans = windows(tried, start, days, anonymize=anonymize)
        try:
            first = await _read_window(client, tried, spans[0], username, cap)
        except E.NotFound:
            if i + 1 < len(paths):
                continue
            raise
        return await _read_windows(client, tried, spans, first, username, cap)
    raise AssertionError("unreachable")


def invite_times(entries: Iterable[dict]) -> dict[tuple[str, str], float]:
    """{(team, invitee email lower-cased): newest `team:invite_user` time} (a re-sent invite
    replaces the earlier one)."""
    from .wire_time import parse_time

    out: dict[tuple[str, str], float] = {}
    for e in entries:
        if e.get("action") != INVITE_ACTION:
            continue
        team, email, at = e.get("entity_name"), e.get("user_email"), parse_time(e.get("timestamp"))
        if not team or not email or at is None:
            continue  # anonymized or incomplete entries cannot be matched
        key = (team, str(email).lower())
        out[key] = max(at, out.get(key, at))
    return out


def window_days(invite_max_age_days: int) -> int:
    """How far back to read: three times the stale-invite threshold, at most 90 days."""
    return max(1, min(MAX_WINDOW_DAYS, 3 * invite_max_age_days))


@dataclass
class InviteDates:
    times: dict[tuple[str, str], float] | None  # None: the audit log cannot be read
    warning: str | None = None
    truncated_at: float | None = None  # the audit read stopped at its cap here


def truncation_notice(truncated_at: float) -> str:
    """One line naming the date reached and how to read further."""
    return (f"the audit log was read only up to {_iso(truncated_at)} (wbadmin stops at "
            f"{MAX_ENTRIES:,} entries): invites sent after it may have no age; a shorter "
            f"window (a lower access.invite_max_age_days; the window is 3 times it) starts "
            f"later")


async def invite_sent_times(client: Client, username: str | None, days: int, now: float
                            ) -> InviteDates:
    """When each invite was sent; never raises a WbError (invite ages are a nicety, never a
    reason to fail a sync)."""
    try:
        read = await read_audit_logs(client, start=now - days * DAY, days=days,
                                     username=username)
    except E.WbError as exc:
        return InviteDates(None, f"invite ages are unknown: the audit log is not readable "
                                 f"({exc.message})")
    if read.truncated_at is None:
        return InviteDates(invite_times(read.entries))
    return InviteDates(invite_times(read.entries),
                       truncation_notice(read.truncated_at), read.truncated_at)


def apply_invite_times(conn: Any, times: dict[tuple[str, str], float]) -> int:
    """Fill the cache's `invites.created_at` where (team, email) match; how many were dated."""
    dated = 0
    for team, invite_id, email in conn.execute(
            "SELECT team, id, email FROM invites WHERE email IS NOT NULL").fetchall():
        at = times.get((team, email.lower()))
        if at is not None:
            conn.execute("UPDATE invites SET created_at = ? WHERE team = ? AND id = ?",
                         (at, team, invite_id))
            dated += 1
    return dated
