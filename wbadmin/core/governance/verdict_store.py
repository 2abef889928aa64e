"""The run policy's verdicts kept per run in the cache, so a check judges only what changed.

A huge org's run store holds hundreds of thousands of runs; judging all of them on every
check costs seconds. Each run's verdict is kept (`policy_verdicts`) and dropped when the
run is written again (the cache's triggers on `quota_runs`), when the policy changes (its
fingerprint: the rules in force), and, for running runs, on every check when a rule limits
running time (that verdict moves with the clock). The figures per team and project, the
offenders and the trend are then SQL over the kept verdicts.

`judge.judge` judges a list of runs in memory and is the reference this must equal.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from ..cache import Cache
from ..quotas.period import DAY
from .judge import Judgement, Violation, judge_one, rules_in_force, stored_runs
from .run_policy import RunPolicy

FINGERPRINT_KEY = "policy_fingerprint"


def fingerprint(policy: RunPolicy, now: float) -> str:
    """What the verdicts were judged under: the rules in force, as they are written."""
    parts = [[r.id, r.kind, r.mode, r.pattern.pattern if r.pattern else None, list(r.keys),
              r.hours, list(r.teams), [list(p) for p in r.projects],
              [list(p) for p in r.except_projects], list(r.except_accounts), r.start]
             for r in rules_in_force(policy, now)]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _prepare(cache: Cache, policy: RunPolicy, now: float) -> None:
    """Drop the verdicts that no longer hold."""
    mark = fingerprint(policy, now)
    with cache.transaction() as conn:
        row = conn.execute("SELECT value FROM quota_state WHERE key = ?",
                           (FINGERPRINT_KEY,)).fetchone()
        if row is None or json.loads(row[0]) != mark:
            conn.execute("DELETE FROM policy_verdicts")
            conn.execute("INSERT OR REPLACE INTO quota_state VALUES (?, ?)",
                         (FINGERPRINT_KEY, json.dumps(mark)))
        elif any(r.kind == "max_running_hours" for r in policy.rules):
            conn.execute("DELETE FROM policy_verdicts WHERE running = 1")


def _judge_new(cache: Cache, policy: RunPolicy, now: float) -> int:
    """Judge the runs without a kept verdict; how many."""
    rows = cache.conn.execute(
        "SELECT q.team, q.project, q.name, q.display_name, q.username, q.state, q.created_at, "
        "q.heartbeat_at, q.tags, q.config_keys FROM quota_runs q LEFT JOIN policy_verdicts v "
        "ON v.team = q.team AND v.project = q.project AND v.name = q.name "
        "WHERE v.name IS NULL").fetchall()
    if not rows:
        return 0
    runs = stored_runs(cache, rows=rows)
    rules = rules_in_force(policy, now)
    memo: dict[tuple[str, Any], str | None] = {}
    out = []
    for run in runs:
        judged, unknown, broken = judge_one(rules, run, now, memo)
        out.append((run.team, run.project, run.name, run.username, run.created_at,
                    int(run.state == "running"), int(judged), int(unknown and not broken),
                    json.dumps([[r.id, why] for r, why in broken]) if broken else None,
                    ",".join(r.id for r, _ in broken) if broken else None))
    with cache.transaction() as conn:
        conn.executemany("INSERT OR REPLACE INTO policy_verdicts VALUES (?,?,?,?,?,?,?,?,?,?)",
                         out)
    return len(out)


def judge_store(cache: Cache, policy: RunPolicy, now: float, team: str | None = None, *,
                limit: int | None = None) -> Judgement:
    """The judgement of the run store, from the kept verdicts (judging the rest first).
    `limit`: list only the newest runs' violations (the figures count them all)."""
    _prepare(cache, policy, now)
    _judge_new(cache, policy, now)
    out = Judgement(policy, now)
    where, args = ("WHERE judged = 1 AND team = ?", (team,)) if team else (
        "WHERE judged = 1", ())
    conn = cache.conn
    # One pass for the places and the rules they break: the combinations of broken rules
    # are few, so grouping by them replaces reading each verdict's JSON.
    for t, p, ids, n, unknown in conn.execute(
            f"SELECT team, project, broken_ids, COUNT(*), SUM(unknown) FROM policy_verdicts "
            f"{where} GROUP BY team, project, broken_ids", args):
        for place in (out.teams[t], out.projects[(t, p)]):
            place.judged += n
            place.unknown += unknown or 0
            if ids:
                place.violating += n
                for rule_id in ids.split(","):
                    place.by_rule[rule_id] += n
        if ids:
            for rule_id in ids.split(","):
                out.broken_rules[rule_id] += n
        out.runs_judged += n
    for day, n, bad in conn.execute(
            f"SELECT CAST(created_at / {DAY} AS INTEGER), COUNT(*), SUM(broken IS NOT NULL) "
            f"FROM policy_verdicts {where} GROUP BY 1 ORDER BY 1", args):
        out.trend[int(day)] = (n, bad or 0)
    out.offenders = Counter({u: n for u, n in conn.execute(
        f"SELECT username, COUNT(*) FROM policy_verdicts {where} AND broken IS NOT NULL AND "
        f"username IS NOT NULL GROUP BY username", args)})
    rules = {r.id: r for r in policy.rules}
    bad_rows = conn.execute(
        "SELECT q.team, q.project, q.name, q.display_name, q.username, q.state, q.created_at, "
        "q.heartbeat_at, q.tags, q.config_keys, v.broken FROM policy_verdicts v JOIN quota_runs "
        f"q ON q.team = v.team AND q.project = v.project AND q.name = v.name {_on_v(where)} "
        "AND v.broken IS NOT NULL ORDER BY q.created_at DESC"
        + ("" if limit is None else f" LIMIT {int(limit)}"), args).fetchall()
    runs = stored_runs(cache, rows=[r[:10] for r in bad_rows])
    for run, row in zip(runs, bad_rows, strict=True):
        for rule_id, why in json.loads(row[10]):
            if rule_id in rules:
                out.violations.append(Violation(rules[rule_id], run, why))
    out.violations.reverse()  # oldest first, as judge.judge lists them
    return out


def _on_v(where: str) -> str:
    return where.replace("judged", "v.judged").replace("team =", "v.team =")
