"""W&B's audit log kept in the identity's cache, read incrementally (`wbadmin audit`).

The cache keeps every entry read (`audit_events`) and the one time range of the log read in
full (`audit_log_read`), per variant (`full`, or `anonymized`: entries read with
`anonymize=true` lack the PII fields, so they are never mixed with full ones):

- the first read takes the asked range, oldest first (the reader's date windows);
- a later read takes only what is new, from the UTC day of the last read's end to now (windows
  are day-aligned, so that day is read again: its entries are deduplicated), and reads further
  back only when asked for time before the range.

Entries have no id: an entry's key is its timestamp, action, actor and assets (hashed), so
two reads of the same time store each entry once. Entries alike in all of these (a double
click's two logouts in one second) are told apart by their place among their like in the
read (`#2`, ...): every read takes whole UTC days in the server's order, so a day read again
gives each the same key.

The reader's safety cap stays visible (`StoreRead.truncated_at`): the range records only
what was really read, and the next read goes on from there. Nothing is forgotten: the store
is what `--offline` reads.

Invite dating (invite_log.py) keeps its own small store: it reads newest first and stops as
soon as the pending invites are dated, keeping only invites, so a sync of a busy org never
writes the tens of thousands of entries this store holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .audit import DAY, PII_FIELDS, read_audit_logs
from .cache import Cache
from .client import Client

KEY_FIELDS = ("timestamp", "action", "actor_user_id", "actor_email", "user_asset",
              "user_email", "entity_asset", "project_asset", "artifact_asset",
              "artifact_sequence_asset", "report_asset")
FULL, ANONYMIZED = "full", "anonymized"


@dataclass
class LogRange:
    """The log read in full from `read_from` (a UTC day's start) to `read_until`."""
    path: str
    read_from: float
    read_until: float


@dataclass
class StoreRead:
    """What bringing the store up to date did."""
    fetched: int = 0           # entries the server sent (before deduplication)
    added: int = 0             # of them new to the store
    requests: int = 0
    truncated_at: float | None = None  # the reader's cap stopped it here
    range: LogRange | None = None


def entry_key(entry: dict[str, Any]) -> str:
    """The entry's identity: timestamp, action, actor and assets (W&B gives no id)."""
    parts = [str(entry.get(f) or "") for f in KEY_FIELDS]
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:20]


def strip_pii(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry without the fields `anonymize=true` drops (for a server that keeps them,
    and Multi-tenant, which has no such parameter)."""
    return {k: v for k, v in entry.items() if k not in PII_FIELDS}


def _day_start(ts: float) -> float:
    return ts // DAY * DAY


def _variant(anonymize: bool) -> str:
    return ANONYMIZED if anonymize else FULL


def load_range(cache: Cache, anonymize: bool = False) -> LogRange | None:
    row = cache.conn.execute("SELECT path, read_from, read_until FROM audit_log_read "
                             "WHERE variant = ?", (_variant(anonymize),)).fetchone()
    return None if row is None else LogRange(row[0], row[1], row[2])


def save(cache: Cache, entries: Iterable[dict[str, Any]], span: LogRange | None,
         anonymize: bool = False) -> int:
    """Keep the entries (deduplicated) and the range read in full; how many were new."""
    from .wire_time import parse_time

    variant = _variant(anonymize)
    rows = []
    alike: dict[str, int] = {}
    for entry in entries:
        if anonymize:
            entry = strip_pii(entry)
        at = parse_time(entry.get("timestamp"))
        if at is None:
            continue  # an entry without a time cannot be placed on the timeline
        key = entry_key(entry)
        alike[key] = n = alike.get(key, 0) + 1
        rows.append((variant, key if n == 1 else f"{key}#{n}", at,
                     str(entry.get("action") or ""), json.dumps(entry, sort_keys=True)))
    with cache.transaction() as conn:
        before = conn.total_changes
        conn.executemany("INSERT OR IGNORE INTO audit_events VALUES (?, ?, ?, ?, ?)", rows)
        added = conn.total_changes - before
        if span is not None:
            conn.execute("INSERT OR REPLACE INTO audit_log_read VALUES (?, ?, ?, ?)",
                         (variant, span.path, span.read_from, span.read_until))
    return added


def stored(cache: Cache, since: float | None = None, until: float | None = None,
           anonymize: bool = False) -> list[tuple[str, float, dict[str, Any]]]:
    """(key, time, entry) of the kept entries in [since, until), oldest first."""
    rows = cache.conn.execute(
        "SELECT key, at, entry FROM audit_events WHERE variant = ? AND at >= ? AND at < ? "
        "ORDER BY at, key",
        (_variant(anonymize), -1e18 if since is None else since,
         1e18 if until is None else until)).fetchall()
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


def stored_of(cache: Cache, since: float, until: float, *, actors: Iterable[str],
              actions: Iterable[str]) -> list[dict[str, Any]]:
    """The kept full entries in [since, until) whose actor (`actor_user_id`) is one of
    `actors` or whose action is one of `actions`, oldest first. Chosen in SQLite: a busy
    org's log is mostly people's entries, and decoding them all costs seconds."""
    actors, actions = list(actors), list(actions)
    rows = cache.conn.execute(
        f"SELECT entry FROM audit_events WHERE variant = ? AND at >= ? AND at < ? AND ("
        f"action IN ({','.join('?' * len(actions)) or 'NULL'}) OR "
        f"json_extract(entry, '$.actor_user_id') IN ({','.join('?' * len(actors)) or 'NULL'})"
        f") ORDER BY at, key", (FULL, since, until, *actions, *actors)).fetchall()
    return [json.loads(r[0]) for r in rows]


async def refresh(client: Client, cache: Cache, username: str | None, since: float,
                  now: float, *, anonymize: bool = False) -> StoreRead:
    """Read what the store lacks of [since, now] and keep it. Raises the reader's typed
    errors (PermissionDenied: not an org admin; NotFound: no audit API; ...); a read that
    fails keeps nothing of its own (the range stays what was read in full), but the new
    time read before a failing read further back is kept."""
    report = StoreRead()
    sent = client.requests_sent
    span = load_range(cache, anonymize)
    start_day, today = _day_start(since), _day_start(now)
    if span is not None and (span.read_until > now or span.read_until < start_day):
        span = None  # the clock went back, or a gap before the asked start: start over
    try:
        if span is None:  # the whole asked range, both paths tried
            read = await read_audit_logs(client, start=start_day,
                                         days=int((today - start_day) // DAY),
                                         username=username, anonymize=anonymize)
            span = LogRange(read.path, start_day,
                            now if read.truncated_at is None else read.truncated_at)
            report.truncated_at = read.truncated_at
            report.fetched += len(read.entries)
            report.added += save(cache, read.entries, span, anonymize)
        else:
            first = _day_start(span.read_until)  # what is new since the last read
            read = await read_audit_logs(client, start=first, days=int((today - first) // DAY),
                                         username=username, path=span.path,
                                         anonymize=anonymize)
            span.read_until = now if read.truncated_at is None else read.truncated_at
            report.truncated_at = read.truncated_at
            report.fetched += len(read.entries)
            report.added += save(cache, read.entries, span, anonymize)
            if start_day < span.read_from and report.truncated_at is None:  # further back
                read = await read_audit_logs(
                    client, start=start_day, days=int((span.read_from - start_day) // DAY) - 1,
                    username=username, path=span.path, anonymize=anonymize)
                if read.truncated_at is None:  # else a gap remains before read_from
                    span.read_from = start_day
                report.truncated_at = read.truncated_at
                report.fetched += len(read.entries)
                report.added += save(cache, read.entries, span, anonymize)
    finally:
        report.requests = client.requests_sent - sent
    report.range = span
    return report
