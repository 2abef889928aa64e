"""The local SQLite cache of W&B data: instant reads, offline reading, shared by processes.

- WAL and a busy timeout, so two wbadmin processes can share one file.
- `PRAGMA application_id` marks the file as ours; `PRAGMA user_version` is the schema
  version, moved forward by the migrations in `cache_schema.py`.
- A corrupt, foreign or newer-than-us file is moved aside (never deleted: it may be
  someone's) and a fresh cache is built: the cache holds nothing that W&B does not.
- One connection per thread (SQLite connections must not cross threads; the TUI reads
  from worker threads).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import clock
from ..private_files import private_file
from .cache_schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger("wbadmin.cache")

BUSY_TIMEOUT_MS = 5_000
BAD_COPIES_KEPT = 3


@contextmanager
def bulk_load(conn: sqlite3.Connection, *tables: str) -> Iterator[None]:
    """A bulk write into `tables`, just emptied in the caller's transaction: their indexes
    and triggers are dropped for it and made again after, from their own SQL, in the same
    transaction. Sorting each index once costs about a third of updating it row by row, and
    a trigger costs its WHEN test on every row (a full quota refresh writes a huge org's
    669k runs at once). A failure leaves them dropped only inside the transaction the
    caller then rolls back."""
    marks = ", ".join("?" * len(tables))
    saved = conn.execute(
        f"SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ({marks}) AND type IN "
        "('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name", tables).fetchall()
    for kind, name, _ in saved:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    yield
    for _, _, sql in saved:
        conn.execute(sql)


class Cache:
    def __init__(self, path: str | Path | None) -> None:
        """`path=None` keeps the cache in memory (tests, `--no-cache`)."""
        self.path = None if path is None or str(path) == ":memory:" else Path(path)
        self._local = threading.local()
        self._memory_conn: sqlite3.Connection | None = None
        self.rebuilt_from: Path | None = None  # where a bad file was moved, if one was
        if self.path is not None:
            private_file(self.path)
        self._open_checked()

    # ---- opening, checking, migrating ----------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path is None:
            if self._memory_conn is None:
                self._memory_conn = sqlite3.connect(":memory:", check_same_thread=False,
                                                    isolation_level=None)
                self._memory_conn.row_factory = sqlite3.Row
            return self._memory_conn
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _open_checked(self) -> None:
        try:
            conn = self._connect()
            self._migrate(conn)
        except (sqlite3.DatabaseError, ForeignFile) as exc:
            if self.path is None:
                raise
            self._close_thread_conn()
            self._move_aside(str(exc))
            private_file(self.path)
            conn = self._connect()
            self._migrate(conn)
        self._local.conn = conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA quick_check").fetchone()  # raises on a file that is not SQLite
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        has_tables = conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] > 0
        if app_id != APPLICATION_ID and has_tables:
            raise ForeignFile("not a wbadmin cache")
        if version > SCHEMA_VERSION:
            raise ForeignFile(f"written by a newer wbadmin (schema {version})")
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(MIGRATIONS[number - 1]):
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _move_aside(self, reason: str) -> None:
        assert self.path is not None
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock.now()))
        target = self.path.with_name(f"{self.path.name}.bad-{stamp}")
        n = 1
        while target.exists():  # twice in one second: never overwrite an earlier copy
            target, n = self.path.with_name(f"{self.path.name}.bad-{stamp}.{n}"), n + 1
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                src.replace(Path(f"{target}{suffix}"))
        self.rebuilt_from = target
        log.warning("cache %s was unusable (%s); moved it to %s and started afresh",
                    self.path, reason, target)
        self._prune_bad_copies()

    def _prune_bad_copies(self) -> None:
        """Keep the newest BAD_COPIES_KEPT moved-aside files: a cache that keeps going bad
        must not fill the disk (the stamps sort by time)."""
        assert self.path is not None
        copies = sorted(p for p in self.path.parent.glob(f"{self.path.name}.bad-*")
                        if not p.name.endswith(("-wal", "-shm")))
        for old in copies[:-BAD_COPIES_KEPT]:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{old}{suffix}").unlink(missing_ok=True)

    def _close_thread_conn(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn is not self._memory_conn:
            conn.close()
        self._local.conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def data_version(self) -> int | None:
        """SQLite's `PRAGMA data_version` on this thread's connection: it moves when another
        connection (another process, or a worker thread) commits to the file. None in memory,
        where no other connection exists."""
        if self.path is None:
            return None
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def close_thread_connection(self) -> None:
        """Close the calling thread's connection (a worker thread that is done with it)."""
        self._close_thread_conn()

    def close(self) -> None:
        self._close_thread_conn()
        if self._memory_conn is not None:
            self._memory_conn.close()
            self._memory_conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ---- generic reads -------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def meta(self, key: str) -> str | None:
        return self.scalar("SELECT value FROM meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                         "SET value = excluded.value", (key, value))

    # ---- freshness -----------------------------------------------------------------------

    def fetched_at(self, scope: str) -> float | None:
        return self.scalar("SELECT fetched_at FROM sync_state WHERE scope = ?", (scope,))

    def age(self, scope: str = "org", now: float | None = None) -> float | None:
        """Seconds since `scope` was last refreshed, or None if it never was."""
        at = self.fetched_at(scope)
        return None if at is None else (clock.now() if now is None else now) - at

    def last_error(self, scope: str = "org") -> str | None:
        return self.scalar("SELECT error FROM sync_state WHERE scope = ?", (scope,))

    def mark(self, conn: sqlite3.Connection, scope: str, at: float,
             error: str | None = None) -> None:
        """Record a refresh of `scope` (inside the transaction that wrote its rows)."""
        if error is None:
            conn.execute(
                "INSERT INTO sync_state (scope, fetched_at, tried_at, error) VALUES (?, ?, ?, NULL)"
                " ON CONFLICT(scope) DO UPDATE SET fetched_at = excluded.fetched_at,"
                " tried_at = excluded.tried_at, error = NULL", (scope, at, at))
        else:
            conn.execute(
                "INSERT INTO sync_state (scope, fetched_at, tried_at, error) VALUES (?, NULL, ?, ?)"
                " ON CONFLICT(scope) DO UPDATE SET tried_at = excluded.tried_at,"
                " error = excluded.error", (scope, at, error))

    def record_failure(self, scope: str, error: str) -> None:
        with self.transaction() as conn:
            self.mark(conn, scope, clock.now(), error)

    # ---- bulk writes used by sync --------------------------------------------------------

    @staticmethod
    def replace_rows(conn: sqlite3.Connection, table: str, rows: Iterable[dict[str, Any]],
                     where: str = "", params: Sequence[Any] = ()) -> int:
        """Delete the rows matching `where` (all rows when empty) and insert `rows`."""
        conn.execute(f"DELETE FROM {table}" + (f" WHERE {where}" if where else ""), params)
        count = 0
        for row in rows:
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            conn.execute(f"INSERT OR REPLACE INTO {table} ({cols}) VALUES ({marks})",
                         [_sql_value(v) for v in row.values()])
            count += 1
        return count

    def info(self) -> dict[str, Any]:
        """What `wbadmin cache info` shows."""
        counts = {t: self.scalar(f"SELECT COUNT(*) FROM {t}") for t in
                  ("users", "teams", "team_members", "projects", "registries", "collections",
                   "versions", "custom_roles")}
        size = None
        if self.path is not None and self.path.exists():
            size = sum(Path(f"{self.path}{s}").stat().st_size for s in ("", "-wal", "-shm")
                       if Path(f"{self.path}{s}").exists())
        return {
            "path": str(self.path) if self.path else ":memory:",
            "schema_version": SCHEMA_VERSION,
            "size_bytes": size,
            "org": self.meta("org"),
            "base_url": self.meta("base_url"),
            "synced_at": self.fetched_at("org"),
            "last_error": self.last_error("org"),
            "rows": counts,
        }

    def clear(self) -> None:
        with self.transaction() as conn:
            for (table,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'").fetchall():
                conn.execute(f"DELETE FROM {table}")


class ForeignFile(Exception):
    pass


def _sql_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return int(value)
    return value


def _statements(script: str) -> list[str]:
    """Split a script into statements with SQLite's own tokenizer (comments may hold ';')."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out
