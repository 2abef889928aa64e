"""The `policy_verdicts` rows of run-store rows, judged once per distinct set of facts.

A huge org's store holds hundreds of thousands of runs but only a few thousand distinct
(rules that apply, tags, config keys) combinations: each run's applying rules are found per
place (the scopes name teams and projects), its accounts and start dates checked per run,
and the verdict of its facts taken from a memo. `judge.judge_one` is the reference.
"""

from __future__ import annotations

import json
from typing import Any

from .judge import StoredRun, judge_one, list_parser, rules_in_force
from .run_policy import Rule, RunPolicy

# The run-store columns these rows are read in (quota_runs q).
RUN_COLUMNS = ("q.team, q.project, q.name, q.display_name, q.username, q.state, q.created_at, "
               "q.heartbeat_at, q.tags, q.config_keys")


def verdict_rows(policy: RunPolicy, now: float, rows: list[Any]) -> list[tuple]:
    """policy_verdicts rows (team, project, name, username, created_at, running, judged,
    unknown, broken, broken_ids) of run-store rows in RUN_COLUMNS order."""
    rules = rules_in_force(policy, now)
    named = any(r.kind == "name_pattern" for r in rules)
    timed = any(r.kind == "max_running_hours" for r in rules)
    placed: dict[tuple[str, str], tuple[Rule, ...]] = {}
    facts: dict[tuple, tuple[int, int, str | None, str | None]] = {}
    memo: dict[tuple[str, Any], str | None] = {}
    tags_of, keys_of = list_parser(), list_parser()
    out = []
    for row in rows:
        team, project, name, display, username, state, created = row[:7]
        here = placed.get((team, project))
        if here is None:  # the rules scoped to this place, before accounts and start dates
            here = placed[(team, project)] = tuple(
                r for r in rules if r.applies_to(team, project, None))
        applying = tuple(r.id for r in here
                         if (r.start is None or created >= r.start)
                         and not (username and username in r.except_accounts))
        key = (applying, row[8], row[9], (display or name) if named else None,
               (state, created) if timed else None)
        verdict = facts.get(key)
        if verdict is None:
            run = StoredRun(team, project, name, display, username, state, created, row[7],
                            tags_of(row[8]), keys_of(row[9]))
            verdict = facts[key] = _judged(rules, run, now, memo)
        out.append((team, project, name, username, created, int(state == "running"),
                    *verdict))
    return out


def _judged(rules: list[Rule], run: StoredRun, now: float, memo: dict
            ) -> tuple[int, int, str | None, str | None]:
    judged, unknown, broken = judge_one(rules, run, now, memo)
    return (int(judged), int(unknown and not broken),
            json.dumps([[r.id, why] for r, why in broken]) if broken else None,
            ",".join(r.id for r, _ in broken) if broken else None)
