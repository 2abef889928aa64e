"""The run policy's verdicts kept per run in the cache, so a check judges only what changed.

A huge org's run store holds hundreds of thousands of runs; judging all of them on every
check costs seconds, and so does grouping every kept verdict. Each run's verdict is kept
(`policy_verdicts`) with the counts the figures are made of (per place and broken-rule set,
per creation day, per offender). A run written again is queued (the cache's triggers on
`quota_runs`) and judged again at the next check, which moves the counts by the difference;
running runs are judged again on every check when a rule limits running time (that verdict
moves with the clock); a changed policy (its fingerprint: the rules in force) or a full
refresh judges every run and makes the counts afresh.

`judge.judge` judges a list of runs in memory and is the reference this must equal.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..cache import Cache, bulk_load
from ..quotas.period import DAY
from .judge import Judgement, Place, Violation, rules_in_force, stored_runs
from .run_policy import RunPolicy
from .verdict_rows import RUN_COLUMNS, verdict_rows

FINGERPRINT_KEY = "policy_fingerprint"


def fingerprint(policy: RunPolicy, now: float) -> str:
    """What the verdicts were judged under: the rules in force, as they are written."""
    parts = [[r.id, r.kind, r.mode, r.pattern.pattern if r.pattern else None, list(r.keys),
              r.hours, list(r.teams), [list(p) for p in r.projects],
              [list(p) for p in r.except_projects], list(r.except_accounts), r.start]
             for r in rules_in_force(policy, now)]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


LIVE_KEY = "policy_live"  # quota_state: the kept verdicts and counts are whole (see below)


def _kept_mark(conn: Any) -> str | None:
    """The fingerprint the kept verdicts were judged under (None: none kept)."""
    row = conn.execute("SELECT value FROM quota_state WHERE key = ?",
                       (FINGERPRINT_KEY,)).fetchone()
    return None if row is None else json.loads(row[0])


def _prepare(cache: Cache, policy: RunPolicy, now: float) -> None:
    """A changed policy (its fingerprint) makes every kept verdict void."""
    mark = fingerprint(policy, now)
    with cache.transaction() as conn:
        if _kept_mark(conn) != mark:
            conn.execute("DELETE FROM quota_state WHERE key = ?", (LIVE_KEY,))
            conn.execute("INSERT OR REPLACE INTO quota_state VALUES (?, ?)",
                         (FINGERPRINT_KEY, json.dumps(mark)))


class Tally:
    """The moves of the three count tables, per run (`add`) or over many verdict rows
    (`add_rows`); applied to the tables as moves (`apply`) or into emptied ones (`insert`)."""

    def __init__(self) -> None:
        self.places: Counter[tuple[str, str, str]] = Counter()
        self.unknown: Counter[tuple[str, str, str]] = Counter()
        self.days: Counter[tuple[str, int]] = Counter()
        self.bad: Counter[tuple[str, int]] = Counter()
        self.offenders: Counter[tuple[str, str]] = Counter()

    def add(self, team: str, project: str, username: str | None, created_at: float,
            judged: int, unknown: int, broken_ids: str | None, sign: int) -> None:
        if not judged:
            return
        place = (team, project, broken_ids or "")
        self.places[place] += sign
        self.unknown[place] += sign * unknown
        day = (team, int(created_at // DAY))
        self.days[day] += sign
        if broken_ids:
            self.bad[day] += sign
            if username is not None:
                self.offenders[(team, username)] += sign

    def add_rows(self, verdicts: list[tuple], sign: int = 1) -> None:
        """`add` over verdict rows, with Counters (an add per run costs more than the
        judging)."""
        judged = [v for v in verdicts if v[6]]
        bad = [v for v in judged if v[9]]
        moves = (
            (self.places, [(v[0], v[1], v[9] or "") for v in judged]),
            (self.unknown, [(v[0], v[1], v[9] or "") for v in judged if v[7]]),
            (self.days, [(v[0], int(v[4] // DAY)) for v in judged]),
            (self.bad, [(v[0], int(v[4] // DAY)) for v in bad]),
            (self.offenders, [(v[0], v[3]) for v in bad if v[3] is not None]))
        for counter, keys in moves:
            if sign > 0:
                counter.update(keys)
            else:
                counter.subtract(keys)

    def add_figures(self, runs: list[Any], ids: list[int], figures: list[tuple]) -> None:
        """`add_rows` over runs (`RunFact`s) and their figure ids (`StagedVerdicts`): the
        runs are counted by figure first (a page holds few distinct ones), and each count
        then moves the tables' keys of its figure."""
        pairs = [(r, i) for r, i in zip(runs, ids, strict=True) if figures[i][0]]
        by_place = Counter([(r[0], r[1], i) for r, i in pairs])
        by_day = Counter([(r[0], int(r[6] // DAY), i) for r, i in pairs])
        by_offender = Counter([(r[0], r[4], i) for r, i in pairs
                               if figures[i][3] and r[4] is not None])
        for (team, project, i), n in by_place.items():
            place = (team, project, figures[i][3] or "")
            self.places[place] += n
            if figures[i][1]:
                self.unknown[place] += n
        for (team, day, i), n in by_day.items():
            self.days[(team, day)] += n
            if figures[i][3]:
                self.bad[(team, day)] += n
        for (team, username, _), n in by_offender.items():
            self.offenders[(team, username)] += n

    def insert(self, conn: Any) -> None:
        """Into the count tables, emptied before."""
        conn.executemany("INSERT INTO policy_place_counts VALUES (?,?,?,?,?)",
                         [(*k, n, self.unknown[k]) for k, n in self.places.items() if n])
        conn.executemany("INSERT INTO policy_day_counts VALUES (?,?,?,?)",
                         [(*k, n, self.bad[k]) for k, n in self.days.items() if n])
        conn.executemany("INSERT INTO policy_offender_counts VALUES (?,?,?)",
                         [(*k, n) for k, n in self.offenders.items() if n])

    def apply(self, conn: Any) -> None:
        conn.executemany(
            "INSERT INTO policy_place_counts VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET "
            "n = n + excluded.n, unknown = unknown + excluded.unknown",
            [(*k, n, self.unknown[k]) for k, n in self.places.items()
             if n or self.unknown[k]])
        conn.executemany(
            "INSERT INTO policy_day_counts VALUES (?,?,?,?) ON CONFLICT DO UPDATE SET "
            "n = n + excluded.n, bad = bad + excluded.bad",
            [(*k, n, self.bad[k]) for k, n in self.days.items() if n or self.bad[k]])
        conn.executemany(
            "INSERT INTO policy_offender_counts VALUES (?,?,?) ON CONFLICT DO UPDATE SET "
            "n = n + excluded.n", [(*k, n) for k, n in self.offenders.items() if n])
        # Only the keys moved here can have fallen to 0 (a scan of the tables costs more).
        conn.executemany("DELETE FROM policy_place_counts WHERE team = ? AND project = ? AND "
                         "broken_ids = ? AND n = 0", list(self.places))
        conn.executemany("DELETE FROM policy_day_counts WHERE team = ? AND day = ? AND n = 0",
                         list(self.days))
        conn.executemany("DELETE FROM policy_offender_counts WHERE team = ? AND username = ? "
                         "AND n = 0", list(self.offenders))


def _judge_new(cache: Cache, policy: RunPolicy, now: float) -> int:
    """Bring the kept verdicts and their counts up to date; how many runs were judged.

    While the verdicts are live, every write of a stored run queues it (the cache's
    triggers on quota_runs): only those, and running runs when a rule limits running time
    (that verdict moves with the clock), are judged again, and the counts move by the
    difference. Otherwise (the first check, a changed policy, a full refresh) every run is
    judged and the counts are made afresh."""
    conn = cache.conn
    with cache.transaction():
        live = conn.execute("SELECT 1 FROM quota_state WHERE key = ?", (LIVE_KEY,)).fetchone()
        if live is None:
            judged = _judge_all(cache, policy, now)
        else:
            judged = _judge_queued(cache, policy, now)
        conn.execute("INSERT OR REPLACE INTO quota_state VALUES (?, 'true')", (LIVE_KEY,))
    return judged


def _count(counts: Tally, verdict: tuple, sign: int) -> None:
    v = verdict
    counts.add(v[0], v[1], v[3], v[4], v[6], v[7], v[9], sign=sign)


@dataclass
class StagedVerdicts:
    """A full refresh's verdicts as read: each run staged in `table` (`quotas.staged`)
    with its figure id (`VerdictJudge.figures`) as its mark."""

    figures: list[tuple[int, int, str | None, str | None]]
    table: str

    def _select(self, conn: Any) -> str:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS policy_figures (id INTEGER PRIMARY "
                     "KEY, judged, unknown, broken, broken_ids)")
        conn.execute("DELETE FROM temp.policy_figures")
        conn.executemany("INSERT INTO temp.policy_figures VALUES (?,?,?,?,?)",
                         [(i, *f) for i, f in enumerate(self.figures)])
        return ("SELECT s.team, s.project, s.name, s.username, s.created_at, "
                "s.state = 'running', f.judged, f.unknown, f.broken, f.broken_ids "
                f"FROM {self.table} s JOIN temp.policy_figures f ON f.id = s.mark")

    def insert(self, conn: Any) -> None:
        # One statement joins the staged runs with their figures: binding 669k verdict
        # rows one by one cost seconds more, on top of making them.
        conn.execute(f"INSERT INTO policy_verdicts {self._select(conn)}")

    def rows(self, conn: Any) -> list[Any]:
        """Every staged run's verdict row."""
        return conn.execute(self._select(conn)).fetchall()


def write_all(conn: Any, policy: RunPolicy, now: float,
              verdicts: list[tuple] | StagedVerdicts, tally: Tally) -> None:
    """Every run's verdict and the counts afresh, judged under `policy` at `now`: the kept
    verdicts are then live (a write of a stored run queues it to be judged again)."""
    for table in ("policy_verdicts", "policy_unjudged", "policy_place_counts",
                  "policy_day_counts", "policy_offender_counts"):
        conn.execute(f"DELETE FROM {table}")
    with bulk_load(conn, "policy_verdicts"):
        if isinstance(verdicts, StagedVerdicts):
            verdicts.insert(conn)
        else:
            conn.executemany("INSERT INTO policy_verdicts VALUES (?,?,?,?,?,?,?,?,?,?)",
                             verdicts)
    tally.insert(conn)
    conn.execute("INSERT OR REPLACE INTO quota_state VALUES (?, ?)",
                 (FINGERPRINT_KEY, json.dumps(fingerprint(policy, now))))
    conn.execute("INSERT OR REPLACE INTO quota_state VALUES (?, 'true')", (LIVE_KEY,))


def _judge_all(cache: Cache, policy: RunPolicy, now: float) -> int:
    rows = cache.conn.execute(f"SELECT {RUN_COLUMNS} FROM quota_runs q").fetchall()
    out = verdict_rows(policy, now, rows)
    tally = Tally()
    tally.add_rows(out)
    write_all(cache.conn, policy, now, out, tally)
    return len(out)


# The queue drives both reads (CROSS JOIN keeps it the outer loop: a few thousand key
# lookups instead of a scan of a million-row table).
_QUEUED = ("FROM policy_unjudged u CROSS JOIN {table} q ON q.team = u.team "
           "AND q.project = u.project AND q.name = u.name")


def judge_written(cache: Cache, policy: RunPolicy, now: float, mark: str) -> None:
    """Judge the runs a refresh has written so far (on its writer's thread, while later
    answers are still coming), if the kept verdicts are live and were judged under `mark`
    (`fingerprint(policy, now)`); else the check after the refresh judges every run.
    Running runs are left to the check, whose clock moves their running-time verdicts."""
    with cache.transaction() as conn:
        live = conn.execute("SELECT 1 FROM quota_state WHERE key = ?", (LIVE_KEY,)).fetchone()
        if live is not None and _kept_mark(conn) == mark:
            _judge_queued(cache, policy, now, clock_moved=False)


def _judge_queued(cache: Cache, policy: RunPolicy, now: float, clock_moved: bool = True
                  ) -> int:
    """Judge the queued runs again; only verdicts that changed are written (a run that only
    heart-beat, the common case, keeps its verdict), and the counts move by the difference.
    `clock_moved`: running runs are judged again too when a rule limits running time."""
    conn = cache.conn
    if clock_moved and any(r.kind == "max_running_hours" for r in policy.rules):
        conn.execute("INSERT OR IGNORE INTO policy_unjudged SELECT team, project, name "
                     "FROM policy_verdicts WHERE running = 1")
    old = {tuple(v[:3]): tuple(v) for v in conn.execute(
        "SELECT q.* " + _QUEUED.format(table="policy_verdicts"))}
    rows = conn.execute(f"SELECT {RUN_COLUMNS} "
                        + _QUEUED.format(table="quota_runs")).fetchall()
    conn.execute("DELETE FROM policy_unjudged")
    out = verdict_rows(policy, now, rows)
    counts, changed = Tally(), []
    for v in out:
        before = old.pop(v[:3], None)
        if before == v:
            continue
        if before is not None:
            _count(counts, before, -1)
        _count(counts, v, 1)
        changed.append(v)
    for gone in old.values():  # queued, then deleted from the store
        _count(counts, gone, -1)
    # An upsert changes a kept verdict in place (REPLACE deletes and re-inserts it,
    # rewriting every index of it).
    conn.executemany(
        "INSERT INTO policy_verdicts VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(team, project, "
        "name) DO UPDATE SET username = excluded.username, created_at = excluded.created_at, "
        "running = excluded.running, judged = excluded.judged, unknown = excluded.unknown, "
        "broken = excluded.broken, broken_ids = excluded.broken_ids", changed)
    conn.executemany("DELETE FROM policy_verdicts WHERE team = ? AND project = ? AND name = ?",
                     list(old))
    counts.apply(conn)
    return len(out)


def judge_store(cache: Cache, policy: RunPolicy, now: float, team: str | None = None, *,
                limit: int | None = None, projects: bool = True) -> Judgement:
    """The judgement of the run store, from the kept verdicts (judging the rest first).
    `limit`: list only the newest runs' violations (the figures count them all);
    `projects`: the per-project figures too (a huge org has tens of thousands)."""
    _prepare(cache, policy, now)
    _judge_new(cache, policy, now)
    out = Judgement(policy, now)
    where, args = ("WHERE n > 0 AND team = ?", (team,)) if team else ("WHERE n > 0", ())
    conn = cache.conn
    # Summed per project and per team in SQL: a huge org has tens of thousands of places.
    sums = "SUM(n), SUM(unknown), SUM(CASE WHEN broken_ids = '' THEN 0 ELSE n END)"
    if projects:
        for t, p, n, unknown, bad in conn.execute(
                f"SELECT team, project, {sums} FROM policy_place_counts {where} "
                "GROUP BY team, project", args):
            out.projects[(t, p)] = Place(n, bad, unknown)
    for t, n, unknown, bad in conn.execute(
            f"SELECT team, {sums} FROM policy_place_counts {where} GROUP BY team", args):
        out.teams[t] = Place(n, bad, unknown)
        out.runs_judged += n
    at = "team, project" if projects else "team, ''"
    for t, p, ids, n in conn.execute(
            f"SELECT {at}, broken_ids, SUM(n) FROM policy_place_counts {where} AND "
            f"broken_ids != '' GROUP BY {at}, broken_ids", args):
        for rule_id in ids.split(","):
            if projects:
                out.projects[(t, p)].by_rule[rule_id] += n
            out.teams[t].by_rule[rule_id] += n
            out.broken_rules[rule_id] += n
    for day, n, bad in conn.execute(
            f"SELECT day, SUM(n), SUM(bad) FROM policy_day_counts {where} GROUP BY day "
            "ORDER BY day", args):
        out.trend[int(day)] = (int(n), int(bad))
    out.offenders = Counter({u: int(n) for u, n in conn.execute(
        f"SELECT username, SUM(n) FROM policy_offender_counts {where} GROUP BY username",
        args)})
    where = "WHERE v.judged = 1 AND v.team = ?" if team else "WHERE v.judged = 1"
    rules = {r.id: r for r in policy.rules}
    bad_rows = conn.execute(
        "SELECT q.team, q.project, q.name, q.display_name, q.username, q.state, q.created_at, "
        "q.heartbeat_at, q.tags, q.config_keys, v.broken FROM policy_verdicts v JOIN quota_runs "
        f"q ON q.team = v.team AND q.project = v.project AND q.name = v.name {where} "
        "AND v.broken IS NOT NULL ORDER BY q.created_at DESC"
        + ("" if limit is None else f" LIMIT {int(limit)}"), args).fetchall()
    runs = stored_runs(cache, rows=[r[:10] for r in bad_rows])
    for run, row in zip(runs, bad_rows, strict=True):
        for rule_id, why in json.loads(row[10]):
            if rule_id in rules:
                out.violations.append(Violation(rules[rule_id], run, why))
    out.violations.reverse()  # oldest first, as judge.judge lists them
    return out

