"""W&B's audit logs (org admins only), and the invite dates wbadmin reads from them.

W&B's team member listing gives no invite date; the audit log's `team:invite_user` entries do
(`entity_name` = team, `user_email` = invitee, `timestamp` = when it was sent).

The API differs by deployment: Dedicated/Self-Managed answer `/admin/audit_logs`, Multi-tenant
`/audit_logs` (Basic `username:key` on both). The deployment's path is tried first (guessed
from the host); a 404 there tries the other path once. Two answer shapes exist: newline-
delimited JSON (older Dedicated servers, or no `limit`) and a paginated object followed through
`next_cursor`. Multi-tenant takes at most 8 days per request (`numDays` 0..7), so a longer
window is read as several windows, the first alone (it learns whether the path exists) and the
rest concurrently.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import errors as E
from .client import Client

DEDICATED_PATH = "/admin/audit_logs"
MULTI_TENANT_PATH = "/audit_logs"
MULTI_TENANT_HOSTS = {"api.wandb.ai", "api.forge.coreweave.com"}
DAY = 86_400
PAGE_SIZE = 20_000  # Dedicated's maximum `limit`
MT_MAX_NUM_DAYS = 7
MAX_PAGES = 5  # per window: a busy org logs many reads; stop rather than download months
INVITE_ACTION = "team:invite_user"
MAX_WINDOW_DAYS = 90


@dataclass
class AuditRead:
    entries: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""
    truncated: bool = False  # a page limit stopped the read before next_cursor ran out


def is_multi_tenant(base_url: str) -> bool:
    return (urlsplit(base_url).hostname or "").lower() in MULTI_TENANT_HOSTS


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def parse_body(text: str, target: str = "audit logs") -> tuple[list[dict], str | None]:
    """(entries, next_cursor) from either shape: the paginated object or NDJSON lines."""
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
    if isinstance(payload, dict):  # a stream of exactly one entry
        return [payload], None
    if isinstance(payload, list):
        return [e for e in payload if isinstance(e, dict)], None
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise E.BadResponse(f"{target}: line {n} of the answer is not JSON") from None
        if isinstance(entry, dict):
            entries.append(entry)
    return entries, None


def _windows(path: str, start: float, days: int) -> list[dict[str, str]]:
    """Query parameters covering the days from `start`'s day through `days` days later."""
    if path == DEDICATED_PATH:
        # `limit` asks for pages; an older server ignores it and streams NDJSON instead.
        return [{"startDate": _day(start), "numDays": str(days), "limit": str(PAGE_SIZE)}]
    out, offset = [], 0
    while offset <= days:
        span = min(MT_MAX_NUM_DAYS, days - offset)
        out.append({"startDate": _day(start + offset * DAY), "numDays": str(span)})
        offset += span + 1
    return out


async def _read_window(client: Client, path: str, params: dict[str, str],
                       username: str | None, max_pages: int) -> tuple[list[dict], bool]:
    entries: list[dict] = []
    cursor: str | None = None
    for _ in range(max_pages):
        page_params = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get_raw(path, page_params, username=username, api="audit")
        page, cursor = parse_body(response.text, f"GET {path}")
        entries.extend(page)
        if cursor is None:
            return entries, False
    return entries, True


async def read_audit_logs(client: Client, *, start: float, days: int,
                          username: str | None = None, max_pages: int = MAX_PAGES
                          ) -> AuditRead:
    """Every entry from `start`'s UTC day through `days` days later (both paths, both shapes).

    Raises the client's typed errors: PermissionDenied (not an org admin), NotFound (neither
    path exists), AuthError, and so on."""
    paths = [DEDICATED_PATH, MULTI_TENANT_PATH]
    if is_multi_tenant(client.base_url):
        paths.reverse()
    for i, path in enumerate(paths):
        first, *rest = _windows(path, start, days)
        try:
            entries, truncated = await _read_window(client, path, first, username, max_pages)
        except E.NotFound:
            if i + 1 < len(paths):
                continue
            raise
        results = await asyncio.gather(*(_read_window(client, path, p, username, max_pages)
                                         for p in rest))
        for more, cut in results:
            entries.extend(more)
            truncated = truncated or cut
        return AuditRead(entries, path, truncated)
    raise AssertionError("unreachable")


def invite_times(entries: Iterable[dict]) -> dict[tuple[str, str], float]:
    """{(team, invitee email lower-cased): newest `team:invite_user` time} (a re-sent invite
    replaces the earlier one)."""
    from .sync import parse_time

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


async def invite_sent_times(client: Client, username: str | None, days: int, now: float
                            ) -> tuple[dict[tuple[str, str], float] | None, str | None]:
    """(times, warning): times is None when the audit log cannot be read; never raises a
    WbError (invite ages are a nicety, never a reason to fail a sync)."""
    try:
        read = await read_audit_logs(client, start=now - days * DAY, days=days,
                                     username=username)
    except E.WbError as exc:
        return None, (f"invite ages are unknown: the audit log is not readable "
                      f"({exc.message})")
    warning = None
    if read.truncated:
        warning = (f"the audit log holds more than {MAX_PAGES * PAGE_SIZE:,} entries per "
                   f"window; some invite ages may be unknown")
    return invite_times(read.entries), warning


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
