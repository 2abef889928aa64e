"""A full computation's runs, staged in the cache as they are read.

A full refresh of a huge org reads 669k runs over most of a minute, and the client waits
on the server for half of it. Turning runs into rows (and ended runs into GPU-seconds per
day) and binding those rows into SQLite cost seconds more once the reading was done; each
page of runs is staged instead as it arrives, in a database of its own in memory, attached
to the cache's connection (it takes no lock on the cache file, so nothing else waits while
the read goes on). The refresh's transaction then copies the staged rows into the emptied
store in one statement, so the store still changes all at once.

A run observer (run policies) may give each run an integer mark as it is told of a page
(`seen`); the mark is staged beside the run, for the observer to join its own rows with
when the transaction is handed to it (`commit`).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable

from .store import GpuDays, RunFact, UsageStore, add_gpu_days, rows_of

SCHEMA = "quota_read"
TABLE = f"{SCHEMA}.runs"
DAYS = f"{SCHEMA}.days"  # pieces of ended runs' GPU-seconds: (team, project, UTC day, s)
FLUSH_ROWS = 5_000  # rows kept in memory before they go into the staging database
_COLUMNS = ("team, project, name, display_name, username, state, created_at, heartbeat_at, "
            "gpus, gpu_known, tags, config_keys")


class StagedRuns:
    """The runs of one full read, each with the mark the observer gave it (NULL: none)."""

    def __init__(self, conn: sqlite3.Connection,
                 mark: Callable[[list[RunFact]], list[int] | None] | None = None) -> None:
        self.conn, self.mark = conn, mark
        self.count = 0          # runs staged
        self.marked = mark is not None  # every staged run has its mark
        self.newest = 0.0       # the newest server time among them (created, heartbeat)
        # Rows and ended runs' GPU-seconds per day not yet in the staging database.
        self._rows: list[tuple] = []
        self._pieces: GpuDays = defaultdict(float)
        # Runs read without GPU facts, held back until `fill` gives them theirs.
        self.unfilled: list[RunFact] = []
        self._unfilled_marks: list[int | None] = []
        # Keyed as the store is, so a run read twice is staged once, as last read, and the
        # copy into the store goes in key order (each index then grows at its end).
        # In a database of its own, in memory: it takes no lock on the cache file, and
        # letting it go at the end frees it at once (dropping a table of 669k rows from the
        # temporary file cost most of a second).
        if SCHEMA not in {row[1] for row in conn.execute("PRAGMA database_list")}:
            conn.execute(f"ATTACH DATABASE ':memory:' AS {SCHEMA}")
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} ({_COLUMNS}, mark, "
                     "PRIMARY KEY (team, project, name)) WITHOUT ROWID")
        conn.execute(f"DROP TABLE IF EXISTS {DAYS}")
        conn.execute(f"CREATE TABLE {DAYS} (team, project, day, seconds)")

    def add(self, runs: list[RunFact]) -> None:
        """A page of runs as read: the observer marks them, and they are staged (those
        without GPU facts are held back for `fill`)."""
        marks: list[int | None] | None = self.mark(runs) if self.mark is not None else None
        if marks is None or len(marks) != len(runs):
            self.marked, marks = False, [None] * len(runs)
        if not all(r.gpu_known for r in runs):
            later = [i for i, r in enumerate(runs) if not r.gpu_known]
            self.unfilled += [runs[i] for i in later]
            self._unfilled_marks += [marks[i] for i in later]
            now = [i for i, r in enumerate(runs) if r.gpu_known]
            runs, marks = [runs[i] for i in now], [marks[i] for i in now]
        self._stage(runs, marks)

    def fill(self, runs: list[RunFact]) -> None:
        """Stage the held-back runs: `unfilled`, in its order, with what GPU facts their
        files gave."""
        assert len(runs) == len(self.unfilled)
        marks, self.unfilled, self._unfilled_marks = self._unfilled_marks, [], []
        self._stage(runs, marks)

    def _stage(self, runs: list[RunFact], marks: list[int | None]) -> None:
        self._rows += rows_of(runs, marks)
        self.count += len(runs)
        pieces, newest = self._pieces, self.newest
        for run in runs:
            newest = max(newest, run.created_at, run.heartbeat_at)
            if run.gpus and run.state != "running":
                add_gpu_days(pieces, run.team, run.project, run.created_at,
                             run.heartbeat_at, run.gpus)
        self.newest = newest
        if len(self._rows) >= FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Into the staging database, in one transaction of its own (the connection is in
        autocommit mode, which would commit each row on its own; a transaction per page
        cost a second of a huge org's read)."""
        if not self._rows and not self._pieces:
            return
        own = not self.conn.in_transaction  # else: the caller's (`write`)
        if own:
            self.conn.execute("BEGIN")
        try:
            self.conn.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES "
                                  f"({', '.join('?' * 13)})", self._rows)
            self.conn.executemany(f"INSERT INTO {DAYS} VALUES (?, ?, ?, ?)",
                                  [(*k, v) for k, v in self._pieces.items()])
        except BaseException:
            if own:
                self.conn.execute("ROLLBACK")
            raise
        if own:
            self.conn.execute("COMMIT")
        self._rows, self._pieces = [], defaultdict(float)

    def write(self, conn: sqlite3.Connection) -> bool:
        """Into the emptied store, in `conn`'s transaction: True when no run was read twice
        (else the staged rows hold its last read, and the GPU-seconds counted as runs came
        are made again from them)."""
        self._flush()
        conn.execute(f"INSERT INTO quota_runs SELECT {_COLUMNS} FROM {TABLE} "
                     "ORDER BY team, project, name")
        distinct = conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0] == self.count
        if not distinct:  # a run read on two pages counts once, as last read
            delta: GpuDays = defaultdict(float)
            for row in conn.execute(f"SELECT team, project, created_at, heartbeat_at, gpus "
                                    f"FROM {TABLE} WHERE state != 'running' AND gpus > 0"):
                add_gpu_days(delta, *row)
            UsageStore.add_daily(conn, delta)
            return False
        # Summed here, in one statement each, rather than bound row by row (426k days).
        conn.execute(f"INSERT INTO quota_daily SELECT team, project, day, total FROM (SELECT "
                     f"team, project, day, SUM(seconds) AS total FROM {DAYS} GROUP BY team, "
                     "project, day) WHERE total != 0")
        conn.execute("INSERT INTO quota_team_daily SELECT team, day, total FROM (SELECT team, "
                     "day, SUM(gpu_seconds) AS total FROM quota_daily GROUP BY team, day) "
                     "WHERE total != 0")
        return True

    def close(self) -> None:
        self.conn.execute(f"DETACH DATABASE {SCHEMA}")
