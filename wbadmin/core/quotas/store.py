"""The run-usage store in the SQLite cache: the runs wbadmin has seen, and GPU-seconds per day.

A run that has ended never changes, so its GPU-seconds are split into UTC days once and kept
in `quota_daily` (and, summed per team, in `quota_team_daily`, which the team gauges read);
period totals and the daily sparkline are sums over those tables. A running
run is counted live, up to now. When a run is written again (it ended, or a re-read), its old
contribution is taken out before the new one goes in, so a refresh can write any run twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from itertools import repeat
from typing import Any, NamedTuple

from ..cache import Cache
from .period import DAY, epoch_day


class RunFact(NamedTuple):
    """What quotas need of one run (times are the server's, epoch seconds). A tuple, not a
    dataclass: a full refresh of a huge org makes 669k of them, and a frozen dataclass cost
    three times as long to make."""

    team: str
    project: str
    name: str
    display_name: str | None
    username: str | None
    state: str
    created_at: float
    heartbeat_at: float
    gpus: int
    gpu_known: bool = True
    # What run policies judge (governance): None when not read.
    tags: tuple[str, ...] | None = None
    config_keys: tuple[str, ...] | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    def with_gpus(self, gpus: int, known: bool) -> RunFact:
        return self._replace(gpus=gpus, gpu_known=known)


def rows_of(runs: list[RunFact], marks: list[int | None] | None = None) -> list[tuple]:
    """quota_runs rows: tag and config-key lists as JSON text, written with orjson (a full
    refresh of a huge org writes 669k runs' lists; `json`, even behind a memo, cost a
    second: a ticket key makes most tag lists distinct). Imported here, not at start-up,
    where it costs every command 24 ms. With `marks`, each row ends with its run's mark
    (a staged read's, `staged.StagedRuns`)."""
    import orjson

    dumps = orjson.dumps
    # Runs share a few config-key lists (each encoded once here); most tag lists are a
    # run's own (each encoded inline, without a call per run).
    keys: dict[tuple[str, ...] | None, str | None] = {None: None}
    tails = repeat(()) if marks is None else zip(marks)  # (), or (mark,) per run
    return [(*r[:9], int(r.gpu_known), None if (t := r.tags) is None else dumps(t).decode(),
             keys[k] if (k := r.config_keys) in keys else keys.setdefault(k, dumps(k).decode()),
             *m) for r, m in zip(runs, tails, strict=marks is not None)]


GpuDays = dict[tuple[str, str, int], float]  # (team, project, UTC day) -> GPU-seconds


def add_gpu_days(delta: GpuDays, team: str, project: str, start: float, end: float,
                 gpus: float) -> None:
    """An ended run's GPU-seconds (`gpus` < 0: taken out) into `delta`, day by day."""
    for day, secs in day_split(start, end):
        delta[(team, project, day)] += secs * gpus


RunKey = tuple[str, str, str]  # (team, project, run name)
_HELD_CHUNK = 300  # 900 parameters per query, under SQLite's default limit of 999


def day_split(start: float, end: float) -> Iterable[tuple[int, float]]:
    """(UTC day, seconds) pieces of [start, end)."""
    t = start
    while t < end:
        day = epoch_day(t)
        stop = min(end, (day + 1) * DAY)
        yield day, stop - t
        t = stop


class UsageStore:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    # ---- state ---------------------------------------------------------------------------

    def get(self, key: str) -> Any:
        raw = self.cache.scalar("SELECT value FROM quota_state WHERE key = ?", (key,))
        return None if raw is None else json.loads(raw)

    @staticmethod
    def put(conn: sqlite3.Connection, key: str, value: Any) -> None:
        conn.execute("INSERT INTO quota_state VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                     "value = excluded.value", (key, json.dumps(value)))

    # ---- writing -------------------------------------------------------------------------

    @staticmethod
    def clear(conn: sqlite3.Connection) -> None:
        # quota_state first: without its `policy_live` no deleted run is queued for judging.
        # Run-policy verdicts and their counts go with the runs (the next judgement judges
        # every run again).
        for table in ("quota_state", "policy_verdicts", "policy_unjudged",
                      "policy_place_counts", "policy_day_counts", "policy_offender_counts",
                      "quota_runs", "quota_daily", "quota_team_daily", "quota_projects"):
            conn.execute(f"DELETE FROM {table}")

    @staticmethod
    def prune(conn: sqlite3.Connection, window_start: float) -> None:
        """Drop ended runs and days before `window_start` (a new period began)."""
        conn.execute("DELETE FROM quota_runs WHERE state != 'running' AND heartbeat_at < ?",
                     (window_start,))
        conn.execute("DELETE FROM quota_daily WHERE day < ?", (epoch_day(window_start),))
        conn.execute("DELETE FROM quota_team_daily WHERE day < ?", (epoch_day(window_start),))
        UsageStore.put(conn, "window_start", window_start)

    @staticmethod
    def held(conn: sqlite3.Connection, runs: Iterable[RunFact]) -> dict[RunKey, sqlite3.Row]:
        """The stored rows of those of `runs` the store holds, by (team, project, name):
        a few queries for thousands of runs instead of one each."""
        keys = list(dict.fromkeys((r.team, r.project, r.name) for r in runs))
        out: dict[RunKey, sqlite3.Row] = {}
        for start in range(0, len(keys), _HELD_CHUNK):
            chunk = keys[start:start + _HELD_CHUNK]
            values = ", ".join(["(?, ?, ?)"] * len(chunk))
            # A join, not `(team, project, name) IN (...)`: SQLite scans the table for that.
            for row in conn.execute(
                    f"WITH k(t, p, n) AS (VALUES {values}) SELECT q.team, q.project, q.name, "
                    "q.state, q.created_at, q.heartbeat_at, q.gpus, q.gpu_known FROM k JOIN "
                    "quota_runs q ON q.team = k.t AND q.project = k.p AND q.name = k.n",
                    [v for key in chunk for v in key]):
                out[(row["team"], row["project"], row["name"])] = row
        return out

    def write_runs(self, conn: sqlite3.Connection, runs: list[RunFact],
                   fresh: bool = False, held: dict[RunKey, sqlite3.Row] | None = None
                   ) -> None:
        """Insert or replace runs, keeping the daily GPU-seconds of ended runs exact.
        `fresh`: the store was just cleared (a full computation), so no run is there yet;
        `held`: what `held()` answered for these runs, when the caller asked already."""
        delta: GpuDays = defaultdict(float)
        if held is None:
            held = {} if fresh else self.held(conn, runs)
        for run in runs:
            old = held.get((run.team, run.project, run.name))
            if old is not None and old["state"] != "running" and old["gpus"]:
                add_gpu_days(delta, run.team, run.project, old["created_at"],
                             old["heartbeat_at"], -old["gpus"])
            if not run.running and run.gpus:
                add_gpu_days(delta, run.team, run.project, run.created_at, run.heartbeat_at,
                             run.gpus)
        # An upsert changes a stored run in place (REPLACE would delete and re-insert it,
        # rewriting every index of it).
        conn.executemany(
            "INSERT INTO quota_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(team, "
            "project, name) DO UPDATE SET display_name = excluded.display_name, username = "
            "excluded.username, state = excluded.state, created_at = excluded.created_at, "
            "heartbeat_at = excluded.heartbeat_at, gpus = excluded.gpus, "
            "gpu_known = excluded.gpu_known, tags = COALESCE(excluded.tags, tags), "
            "config_keys = COALESCE(excluded.config_keys, config_keys)",
            rows_of(runs))
        UsageStore.add_daily(conn, delta)

    @staticmethod
    def add_daily(conn: sqlite3.Connection, delta: GpuDays) -> None:
        """Move the daily GPU-seconds (per project and per team) by `delta`."""
        conn.executemany(
            "INSERT INTO quota_daily VALUES (?, ?, ?, ?) ON CONFLICT(team, project, day) "
            "DO UPDATE SET gpu_seconds = gpu_seconds + excluded.gpu_seconds",
            [(t, p, d, v) for (t, p, d), v in delta.items() if v])
        team_delta: dict[tuple[str, int], float] = defaultdict(float)
        for (t, _, d), v in delta.items():
            team_delta[(t, d)] += v
        conn.executemany(
            "INSERT INTO quota_team_daily VALUES (?, ?, ?) ON CONFLICT(team, day) "
            "DO UPDATE SET gpu_seconds = gpu_seconds + excluded.gpu_seconds",
            [(t, d, v) for (t, d), v in team_delta.items() if v])

    @staticmethod
    def write_projects(conn: sqlite3.Connection, team: str,
                       projects: Iterable[tuple[str, float | None]]) -> None:
        conn.executemany("INSERT OR REPLACE INTO quota_projects VALUES (?, ?, ?)",
                         [(team, name, updated) for name, updated in projects])

    @staticmethod
    def write_storage(conn: sqlite3.Connection, storage: dict[str, int | None],
                      now: float) -> None:
        conn.executemany("INSERT OR REPLACE INTO quota_teams VALUES (?, ?, ?)",
                         [(t, b, now) for t, b in storage.items()])

    # ---- reading -------------------------------------------------------------------------

    def teams(self) -> list[str]:
        return [r[0] for r in self.cache.query(
            "SELECT team FROM quota_projects UNION SELECT team FROM quota_teams ORDER BY 1")]

    def projects_of(self, team: str) -> list[str]:
        return [r[0] for r in self.cache.query(
            "SELECT project FROM quota_projects WHERE team = ? ORDER BY project", (team,))]

    def storage(self) -> dict[str, int | None]:
        return {r[0]: r[1] for r in self.cache.query("SELECT team, storage_bytes FROM "
                                                     "quota_teams")}

    def team_days(self, first_day: int, end_day: int) -> list[sqlite3.Row]:
        """(team, day, gpu_seconds) of ended runs in [first_day, end_day)."""
        return self.cache.query(
            "SELECT team, day, gpu_seconds FROM quota_team_daily WHERE day >= ? AND day < ?",
            (first_day, end_day))

    def project_totals(self, team: str, first_day: int, end_day: int,
                       only: Iterable[str] | None = None) -> dict[str, float]:
        """{project: gpu_seconds} of a team's ended runs in [first_day, end_day); `only`:
        just those projects."""
        sql = ("SELECT project, SUM(gpu_seconds) FROM quota_daily WHERE team = ? AND "
               "day >= ? AND day < ?")
        params: list[Any] = [team, first_day, end_day]
        if only is not None:
            names = list(only)
            sql += f" AND project IN ({', '.join('?' * len(names))})"
            params += names
        return {r[0]: r[1] for r in self.cache.query(sql + " GROUP BY project", params)}

    def project_counts(self) -> dict[str, int]:
        """How many projects the store knows per team."""
        return {r[0]: r[1] for r in self.cache.query(
            "SELECT team, COUNT(*) FROM quota_projects GROUP BY team")}

    def running(self) -> list[sqlite3.Row]:
        """(team, project, created_at, heartbeat_at, gpus) of every running run."""
        return self.cache.query("SELECT team, project, created_at, heartbeat_at, gpus FROM "
                                "quota_runs WHERE state = 'running'")

    def spans(self, team: str, start: float, end: float) -> list[sqlite3.Row]:
        """(created_at, heartbeat_at, state) of a team's runs active in [start, end)."""
        return self.cache.query(
            "SELECT created_at, heartbeat_at, state FROM quota_runs WHERE team = ? AND "
            "created_at < ? AND (heartbeat_at >= ? OR state = 'running')", (team, end, start))

    def stale_running(self, after: float, before: float) -> list[sqlite3.Row]:
        """Running runs whose last heartbeat is in [after, before) (maybe crashed)."""
        return self.cache.query("SELECT team, project, name FROM quota_runs WHERE state = "
                                "'running' AND heartbeat_at >= ? AND heartbeat_at < ?",
                                (after, before))

    def missing(self, start: float) -> dict[str, int]:
        """Runs without GPU facts, per team, active since `start`."""
        return {r[0]: r[1] for r in self.cache.query(
            "SELECT team, COUNT(*) FROM quota_runs WHERE gpu_known = 0 AND "
            "(heartbeat_at >= ? OR state = 'running') GROUP BY team", (start,))}

    def top(self, team: str, start: float, end: float, now: float, by: str,
            limit: int = 10, silent_s: float = 900.0) -> list[sqlite3.Row]:
        """Top runs (by="run") or users (by="user") of a team by GPU-seconds in [start, end),
        running runs counted as `usage` counts them (`now` is the server's time)."""
        stop = (f"CASE WHEN state = 'running' AND ? - heartbeat_at <= {silent_s} "
                "THEN MAX(?, heartbeat_at) ELSE heartbeat_at END")
        seconds = f"gpus * MAX(0, MIN({stop}, ?) - MAX(created_at, ?))"
        group = "username" if by == "user" else "project, name"
        label = "COALESCE(username, '?') AS username" if by == "user" else \
            "project, name, display_name, username, state, gpus"
        return self.cache.query(
            f"SELECT {label}, SUM({seconds}) AS gpu_seconds, COUNT(*) AS runs "
            "FROM quota_runs WHERE team = ? AND (heartbeat_at >= ? OR state = 'running') "
            f"AND created_at < ? GROUP BY {group} HAVING gpu_seconds > 0 "
            "ORDER BY gpu_seconds DESC LIMIT ?",
            (now, now, end, start, team, start, end, limit))

    def run_count(self) -> int:
        return int(self.cache.scalar("SELECT COUNT(*) FROM quota_runs") or 0)
