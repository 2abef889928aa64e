"""The journal: an append-mostly SQLite audit trail of every change wbadmin makes.

One file per profile (`paths.journal_path`), separate from the cache: deleting the cache loses
nothing, deleting the journal loses the audit trail and undo. Each change gets a row written
*before* the API call (status 'pending', committed) and completed after it, so a crash leaves
a 'pending' row that the engine reconciles on the next start.

Several wbadmin processes may append at once: WAL mode, a busy timeout, short IMMEDIATE
transactions. The schema version is PRAGMA user_version, migrated forward on open.

The journal never stores secrets: every stored value passes through `scrub`, which masks
anything shaped like a W&B API key, a JWT, an Authorization header, a secret-named field, and
every key currently held as a `Secret` in this process.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from wbadmin.core.changes import Change
from wbadmin.core.redact import MASK, live_secrets, redact

from .. import clock
from ..private_files import private_file
from .when import _when, iso, parse_duration, parse_when  # noqa: F401 (the last two re-exported)

SCHEMA_VERSION = 2

# MIGRATIONS[n] takes a journal from version n-1 to n. Append, never edit a shipped step.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE entries (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: undo refers to it
            plan_id      TEXT NOT NULL,
            plan_title   TEXT NOT NULL DEFAULT '',
            seq          INTEGER NOT NULL,                   -- 1-based position in the plan
            created_at   REAL NOT NULL,                      -- epoch seconds (intent written)
            finished_at  REAL,                               -- outcome written / reconciled
            actor        TEXT NOT NULL,
            profile      TEXT,
            kind         TEXT NOT NULL,
            target       TEXT NOT NULL,
            via          TEXT NOT NULL DEFAULT '',
            before       TEXT NOT NULL DEFAULT 'null',        -- JSON; null = absent
            after        TEXT NOT NULL DEFAULT 'null',
            params       TEXT NOT NULL DEFAULT '{}',          -- JSON: rebuilds the change
            status       TEXT NOT NULL CHECK (status IN
                             ('pending', 'applied', 'failed', 'not_applied', 'conflict')),
            result       TEXT NOT NULL DEFAULT '',
            request_id   TEXT,
            verified     INTEGER,                  -- re-read showed `after`; NULL: unknown
            reversible   INTEGER NOT NULL,
            undo_of      INTEGER REFERENCES entries(id),
            owner        TEXT NOT NULL DEFAULT ''             -- host:pid that wrote the intent
        )""",
        "CREATE INDEX entries_created ON entries(created_at)",
        "CREATE INDEX entries_status ON entries(status)",
        "CREATE INDEX entries_target ON entries(target)",
        "CREATE INDEX entries_plan ON entries(plan_id, seq)",
        "CREATE INDEX entries_undo_of ON entries(undo_of)",
    ],
    # A change kept for later (a key rotation's old key, deleted after its grace period):
    # status 'scheduled' with its due time. SQLite cannot widen a CHECK: the table is rebuilt.
    2: [
        """CREATE TABLE entries_v2 (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            plan_id      TEXT NOT NULL,
            plan_title   TEXT NOT NULL DEFAULT '',
            seq          INTEGER NOT NULL,
            created_at   REAL NOT NULL,
            finished_at  REAL,
            actor        TEXT NOT NULL,
            profile      TEXT,
            kind         TEXT NOT NULL,
            target       TEXT NOT NULL,
            via          TEXT NOT NULL DEFAULT '',
            before       TEXT NOT NULL DEFAULT 'null',
            after        TEXT NOT NULL DEFAULT 'null',
            params       TEXT NOT NULL DEFAULT '{}',
            status       TEXT NOT NULL CHECK (status IN
                             ('pending', 'applied', 'failed', 'not_applied', 'conflict',
                              'scheduled')),
            result       TEXT NOT NULL DEFAULT '',
            request_id   TEXT,
            verified     INTEGER,
            reversible   INTEGER NOT NULL,
            undo_of      INTEGER REFERENCES entries(id),
            owner        TEXT NOT NULL DEFAULT '',
            due_at       REAL                      -- 'scheduled': when it is to be applied
        )""",
        "INSERT INTO entries_v2 (id, plan_id, plan_title, seq, created_at, finished_at, actor, "
        "profile, kind, target, via, before, after, params, status, result, request_id, "
        "verified, reversible, undo_of, owner) SELECT id, plan_id, plan_title, seq, created_at, "
        "finished_at, actor, profile, kind, target, via, before, after, params, status, result, "
        "request_id, verified, reversible, undo_of, owner FROM entries",
        "DROP TABLE entries",
        "ALTER TABLE entries_v2 RENAME TO entries",
        "CREATE INDEX entries_created ON entries(created_at)",
        "CREATE INDEX entries_status ON entries(status)",
        "CREATE INDEX entries_target ON entries(target)",
        "CREATE INDEX entries_plan ON entries(plan_id, seq)",
        "CREATE INDEX entries_undo_of ON entries(undo_of)",
    ],
}

STATUSES = ("pending", "applied", "failed", "not_applied", "conflict", "scheduled")
COLUMNS = ("id", "plan_id", "plan_title", "seq", "created_at", "finished_at", "actor", "profile",
           "kind", "target", "via", "before", "after", "params", "status", "result",
           "request_id", "verified", "reversible", "undo_of", "due_at")


class JournalError(RuntimeError):
    """The journal file cannot be used (newer schema, corrupt, unwritable)."""


# -- secrets -------------------------------------------------------------------------------

# W&B key format (wbauth/validation.py): optional `prefix-`, then >= 40 chars of [\w-]. The
# prefix is itself [\w-], so one run covers it. A digit is required so that long hyphenated
# names of words are kept; a real key (40 hex chars or longer) always has one in practice.
_KEYLIKE = re.compile(r"(?<![\w-])[\w-]{40,}(?![\w-])")
_JWT = re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_AUTH_HEADER = re.compile(r"(?i)\b(basic|bearer)\s+[\w+/=.:-]{8,}")
_SECRET_NAMES = {"apikey", "secret", "password", "passwd", "token", "accesstoken",
                 "refreshtoken", "authorization", "clientsecret", "privatekey"}


def _scrub_text(text: str) -> str:
    text = redact(text, live_secrets())
    text = _JWT.sub(MASK, text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _KEYLIKE.sub(lambda m: MASK if any(ch.isdigit() for ch in m.group()) else m.group(),
                        text)


def scrub(value: Any) -> Any:
    """`value` (JSON-shaped) with everything that looks like a secret masked."""
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {k: (MASK if str(k).replace("_", "").replace("-", "").lower() in _SECRET_NAMES
                    and v not in (None, "") else scrub(v))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value



# -- entries -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One journal row, JSON columns decoded."""

    id: int
    plan_id: str
    plan_title: str
    seq: int
    created_at: float
    finished_at: float | None
    actor: str
    profile: str | None
    kind: str
    target: str
    via: str
    before: Any
    after: Any
    params: dict[str, Any]
    status: str
    result: str
    request_id: str | None
    verified: bool | None
    reversible: bool
    undo_of: int | None
    due_at: float | None = None  # a 'scheduled' entry's due time

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        data = {k: row[k] for k in COLUMNS}
        for k in ("before", "after", "params"):
            data[k] = json.loads(data[k])
        data["verified"] = None if data["verified"] is None else bool(data["verified"])
        data["reversible"] = bool(data["reversible"])
        return cls(**data)

    def change(self) -> Change:
        """Rebuild the journaled change (raises UnknownChangeKind if its kind is not loaded)."""
        return Change.from_record({"kind": self.kind, "target": self.target,
                                   "before": self.before, "after": self.after,
                                   "params": self.params})

    @property
    def undoable(self) -> bool:
        return self.reversible and self.status == "applied"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 UTC."""
        data = {k: getattr(self, k) for k in COLUMNS}
        data["created_at"] = iso(self.created_at)
        data["finished_at"] = iso(self.finished_at)
        data["due_at"] = iso(self.due_at)
        return data


# -- the journal ---------------------------------------------------------------------------

class Journal:
    """The journal file of one profile. Thread-safe; safe to share the file between processes."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = clock.now,
                 timeout: float = 15.0) -> None:
        self.path = str(path)
        self.clock = clock
        if self.path != ":memory:":
            private_file(self.path)
        # Autocommit mode: every write is an explicit short BEGIN IMMEDIATE ... COMMIT.
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                     check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            # FULL: an intent row must survive a power cut, not only a crash of wbadmin.
            self._conn.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise JournalError(f"cannot open the journal {self.path}: {exc}") from exc
        except JournalError:
            self._conn.close()
            raise

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def data_version(self) -> int:
        """`PRAGMA data_version`: it moves when another process writes to the journal."""
        return int(self._read("PRAGMA data_version")[0][0])

    @property
    def schema_version(self) -> int:
        return self._read("PRAGMA user_version")[0][0]

    def _migrate(self) -> None:
        if self.schema_version == SCHEMA_VERSION:
            return
        with self._write() as conn:  # re-check under the write lock: another process may win
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"the journal {self.path} has schema version {version}, newer than this "
                    f"wbadmin understands ({SCHEMA_VERSION}); upgrade wbadmin")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step}")

    # -- writes ----------------------------------------------------------------------------

    def write_intent(self, *, plan_id: str, seq: int, actor: str, change: Change,
                     plan_title: str = "", profile: str | None = None, owner: str = "",
                     due_at: float | None = None, note: str = "") -> int:
        """Record that `change` is about to be applied (status 'pending'), committed before
        this returns; with `due_at`, that it is to be applied then (status 'scheduled', in
        the same transaction: a crash never leaves it 'pending'). Returns the entry id."""
        record = change.to_record()
        stored = {k: scrub(record[k]) for k in ("before", "after", "params")}
        redacted = any(stored[k] != record[k] for k in stored)
        # An entry whose state was masked cannot be inverted faithfully: never offer its undo.
        reversible = record["reversible"] and not redacted
        result = "secret values were masked in this entry; undo disabled" if redacted else ""
        status = "pending" if due_at is None else "scheduled"
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO entries (plan_id, plan_title, seq, created_at, actor, profile, kind,"
                " target, via, before, after, params, status, result, reversible, undo_of, owner,"
                " due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (plan_id, scrub(plan_title), seq, self.clock(), scrub(actor), profile,
                 record["kind"], scrub(record["target"]), scrub(record["via"]),
                 json.dumps(stored["before"]), json.dumps(stored["after"]),
                 json.dumps(stored["params"]), status, scrub(_join(result, note)),
                 int(reversible), change.undo_of, owner, due_at))
            return int(cur.lastrowid)

    def scheduled(self, profile: str | None = None, *, due_by: float | None = None
                  ) -> list[Entry]:
        """'scheduled' entries of this profile (those due by `due_by`), soonest first."""
        sql = "SELECT * FROM entries WHERE status = 'scheduled' AND profile IS ?"
        params: list[Any] = [profile]
        if due_by is not None:
            sql += " AND due_at <= ?"
            params.append(due_by)
        return [Entry.from_row(r) for r in self._read(sql + " ORDER BY due_at, id", params)]

    def close_scheduled(self, entry_id: int, status: str, result: str) -> bool:
        """Settle a 'scheduled' entry (done by a later entry, or no longer needed). False
        if it was no longer scheduled (another process settled it first)."""
        if status not in STATUSES or status in ("pending", "scheduled"):
            raise ValueError(f"not an outcome status: {status!r}")
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE entries SET status = ?, result = ?, finished_at = ? "
                "WHERE id = ? AND status = 'scheduled'",
                (status, scrub(result), self.clock(), entry_id))
            return cur.rowcount == 1

    def note_progress(self, entry_id: int, after: Any, result: str) -> None:
        """A 'pending' entry's `after` and result as a step learns them (a key rotation
        keeps the new key's id here before it hands the key over)."""
        with self._write() as conn:
            conn.execute("UPDATE entries SET after = ?, result = ? WHERE id = ?",
                         (json.dumps(scrub(after)), scrub(result), entry_id))

    def write_outcome(self, entry_id: int, status: str, result: str,
                      request_id: str | None = None, verified: bool | None = None) -> None:
        """Complete an entry: 'applied' / 'failed' with a one-line result and request id."""
        if status not in STATUSES or status in ("pending", "scheduled"):
            raise ValueError(f"not an outcome status: {status!r}")
        with self._write() as conn:
            prior = conn.execute("SELECT result FROM entries WHERE id = ?",
                                 (entry_id,)).fetchone()
            if prior is None:
                raise KeyError(f"no journal entry {entry_id}")
            conn.execute(
                "UPDATE entries SET status = ?, result = ?, request_id = ?, verified = ?,"
                " finished_at = ? WHERE id = ?",
                (status, scrub(_join(prior["result"], result)), scrub(request_id),
                 None if verified is None else int(verified), self.clock(), entry_id))

    def write_verification(self, entry_id: int, verified: bool | None, note: str = "") -> None:
        """Record what the re-read after apply showed (a note is appended to the result)."""
        with self._write() as conn:
            prior = conn.execute("SELECT result FROM entries WHERE id = ?",
                                 (entry_id,)).fetchone()
            if prior is None:
                raise KeyError(f"no journal entry {entry_id}")
            conn.execute("UPDATE entries SET verified = ?, result = ? WHERE id = ?",
                         (None if verified is None else int(verified),
                          scrub(_join(prior["result"], note)), entry_id))

    def resolve_pending(self, entry_id: int, status: str, result: str,
                        verified: bool | None) -> bool:
        """Settle a 'pending' entry (reconciliation). False if it was no longer pending, e.g.
        another process settled it first."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE entries SET status = ?, result = ?, verified = ?, finished_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (status, scrub(result), None if verified is None else int(verified),
                 self.clock(), entry_id))
            return cur.rowcount == 1

    # -- reads -----------------------------------------------------------------------------

    def get(self, entry_id: int) -> Entry | None:
        rows = self._read("SELECT * FROM entries WHERE id = ?", (entry_id,))
        return Entry.from_row(rows[0]) if rows else None

    def query(self, *, since: float | datetime | timedelta | str | None = None,
              until: float | datetime | timedelta | str | None = None,
              actor: str | None = None, target: str | None = None, kind: str | None = None,
              status: str | None = None, plan_id: str | None = None,
              profile: str | None = None, limit: int | None = None,
              newest_first: bool = True) -> list[Entry]:
        """Entries filtered by time (epoch, datetime, timedelta ago, or `parse_when` text),
        actor, target (the path or anything under it: "team" matches "team/bob"), kind,
        status, plan and profile."""
        now = self.clock()
        where, params = [], []
        if (start := _when(since, now)) is not None:
            where.append("created_at >= ?")
            params.append(start)
        if (end := _when(until, now)) is not None:
            where.append("created_at < ?")
            params.append(end)
        for column, value in (("actor", actor), ("kind", kind), ("status", status),
                              ("plan_id", plan_id), ("profile", profile)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if target is not None:
            prefix = target.rstrip("/")
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(target = ? OR target LIKE ? ESCAPE '\\')")
            params += [prefix, escaped + "/%"]
        sql = "SELECT * FROM entries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY created_at {order}, id {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [Entry.from_row(r) for r in self._read(sql, params)]

    def pending(self, profile: str | None = None) -> list[Entry]:
        """Entries whose outcome was never written (oldest first)."""
        rows = self._read("SELECT * FROM entries WHERE status = 'pending' AND profile IS ?"
                          " ORDER BY id", (profile,))
        return [Entry.from_row(r) for r in rows]

    def owner_of(self, entry_id: int) -> str:
        rows = self._read("SELECT owner FROM entries WHERE id = ?", (entry_id,))
        return rows[0]["owner"] if rows else ""

    def undone_by(self, entry_id: int) -> Entry | None:
        """The applied entry that undid `entry_id`, if any."""
        rows = self._read("SELECT * FROM entries WHERE undo_of = ? AND status = 'applied'"
                          " ORDER BY id DESC LIMIT 1", (entry_id,))
        return Entry.from_row(rows[0]) if rows else None

    # -- export ----------------------------------------------------------------------------

    def export_jsonl(self, fp: IO[str], entries: list[Entry] | None = None) -> int:
        """One JSON object per line (before/after as JSON values). Returns the count."""
        entries = self.query(newest_first=False) if entries is None else entries
        for entry in entries:
            fp.write(json.dumps(entry.to_dict(), ensure_ascii=False, sort_keys=False) + "\n")
        return len(entries)

    def export_csv(self, fp: IO[str], entries: list[Entry] | None = None) -> int:
        """CSV with a header row; before/after/params as JSON text. Returns the count."""
        entries = self.query(newest_first=False) if entries is None else entries
        writer = csv.DictWriter(fp, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for entry in entries:
            row = entry.to_dict()
            for k in ("before", "after", "params"):
                row[k] = json.dumps(row[k], ensure_ascii=False)
            for k in ("verified", "reversible"):
                row[k] = "" if row[k] is None else str(row[k]).lower()
            writer.writerow(row)
        return len(entries)


def _join(first: str, second: str) -> str:
    return "; ".join(p for p in (first, second) if p)
