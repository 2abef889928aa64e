"""Invite dates from the audit log, read incrementally and kept in the identity's cache.

A busy org's 90 days of audit log are tens of thousands of entries (seconds to read), and
only its few `team:invite_user` entries matter. So the cache keeps the invites found
(`invite_events`) and the one time range of the log read in full (`invite_log_read`):

- the first read goes newest first, in growing windows (today, then 7 days, then a path's
  window maximum at a time), and stops as soon as every pending invite is dated or the
  horizon (`audit.window_days`) is reached;
- a later read takes only what is new, from the day of the last read (windows are
  day-aligned; invites already held are deduplicated) to now, then reads further back only
  while pending invites remain undated and the horizon is not reached.

Invites older than the horizon are forgotten (a fresh read would not see them either).
The reader's safety cap (`AuditRead.truncated_at`) stays visible, and the range records only
what was really read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import errors as E
from .audit import (
    DAY,
    WINDOW_DAYS,
    AuditRead,
    InviteDates,
    invite_times,
    read_audit_logs,
    truncation_notice,
)
from .cache import Cache
from .client import Client

FIRST_WINDOWS_DAYS = (1, 7)  # then the path's maximum (WINDOW_DAYS), while needed


@dataclass
class LogRead:
    """The audit log read in full from `read_from` (a UTC day's start) to `read_until`."""
    path: str
    read_from: float
    read_until: float


@dataclass
class InviteReport:
    """What dating the pending invites did (a step of its own after the structure sync)."""
    pending: int = 0
    dated: int = 0
    requests: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    truncated_at: float | None = None  # the audit read stopped at its cap here


def _day_start(ts: float) -> float:
    return ts // DAY * DAY


def load_range(cache: Cache) -> LogRead | None:
    row = cache.conn.execute(
        "SELECT path, read_from, read_until FROM invite_log_read WHERE id = 1").fetchone()
    return None if row is None else LogRead(row[0], row[1], row[2])


def _save(cache: Cache, read: AuditRead, span: LogRead | None) -> None:
    """Keep the read's invites, and (when it was read in full) the range covered."""
    with cache.transaction() as conn:
        conn.executemany("INSERT OR IGNORE INTO invite_events VALUES (?, ?, ?)",
                         [(team, email, at) for (team, email), at in
                          invite_times(read.entries).items()])
        if span is not None:
            conn.execute("INSERT OR REPLACE INTO invite_log_read VALUES (1, ?, ?, ?)",
                         (span.path, span.read_from, span.read_until))


def _forget_before(cache: Cache, horizon: float, span: LogRead | None) -> LogRead | None:
    """Drop what lies before the horizon; a range that no longer meets it starts over."""
    with cache.transaction() as conn:
        conn.execute("DELETE FROM invite_events WHERE sent_at < ?", (horizon,))
        if span is not None and span.read_until < horizon:
            conn.execute("DELETE FROM invite_log_read")
            span = None
    if span is not None:
        span.read_from = max(span.read_from, horizon)
    return span


def known_times(cache: Cache) -> dict[tuple[str, str], float]:
    """{(team, email lower-cased): newest invite time} of the invites kept."""
    return {(r[0], r[1]): r[2] for r in cache.conn.execute(
        "SELECT team, email, MAX(sent_at) FROM invite_events GROUP BY team, email")}


def undated_invites(cache: Cache) -> int:
    """Pending invites (the cache's `invites`) with no invite kept for them."""
    return int(cache.scalar(
        "SELECT COUNT(*) FROM invites i WHERE i.email IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM invite_events e WHERE e.team = i.team AND e.email = lower(i.email))"))


async def read_invite_dates(client: Client, cache: Cache, username: str | None, days: int,
                            now: float) -> InviteDates:
    """Bring the kept invites up to date and return them; never raises a WbError (invite
    ages are a nicety, never a reason to fail a sync). The pending invites are the cache's:
    the structure is written first."""
    horizon = _day_start(now - days * DAY)
    today = _day_start(now)
    span = _forget_before(cache, horizon, load_range(cache))
    if span is not None and span.read_until > now:  # the clock went back: start over
        span = None
    truncated_at: float | None = None
    try:
        read = None
        if span is not None:  # what is new since the last read
            start = _day_start(span.read_until)
            try:
                read = await read_audit_logs(client, start=start,
                                             days=int((today - start) // DAY),
                                             username=username, path=span.path)
            except E.NotFound:  # the server moved to the other path: read afresh
                span = None
            else:
                truncated_at = read.truncated_at
                span.read_until = now if truncated_at is None else truncated_at
                sizes: list[int] = []
        if read is None or span is None:  # the first read: today (both paths tried)
            read = await read_audit_logs(client, start=today, days=0, username=username)
            truncated_at = read.truncated_at
            span = LogRead(read.path, today, now if truncated_at is None else truncated_at)
            sizes = list(FIRST_WINDOWS_DAYS[1:])
        _save(cache, read, span)
        while truncated_at is None and span.read_from > horizon and undated_invites(cache):
            size = min(sizes.pop(0) if sizes else WINDOW_DAYS[span.path],
                       WINDOW_DAYS[span.path])
            start = max(horizon, span.read_from - size * DAY)
            read = await read_audit_logs(
                client, start=start, days=int((span.read_from - start) // DAY) - 1,
                username=username, path=span.path)
            truncated_at = read.truncated_at
            if truncated_at is None:  # else a gap remains before read_from: not covered
                span.read_from = start
            _save(cache, read, span)
    except E.WbError as exc:
        return InviteDates(None, f"invite ages are unknown: the audit log is not readable "
                                 f"({exc.message})")
    times = known_times(cache)
    if truncated_at is None:
        return InviteDates(times)
    return InviteDates(times, truncation_notice(truncated_at), truncated_at)
