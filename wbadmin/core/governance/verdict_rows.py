"""The `policy_verdicts` rows of run-store rows, judged once per distinct set of facts.

A huge org's store holds hundreds of thousands of runs but only a few thousand distinct
(rules that apply, tags, config keys) combinations: each run's applying rules are found per
place (the scopes name teams and projects), its accounts and start dates checked per run,
and the verdict of its facts taken from a memo. `judge.judge_one` is the reference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .judge import StoredRun, judge_one, list_parser, rules_in_force
from .run_policy import Rule, RunPolicy

# The run-store columns these rows are read in (quota_runs q).
RUN_COLUMNS = ("q.team, q.project, q.name, q.display_name, q.username, q.state, q.created_at, "
               "q.heartbeat_at, q.tags, q.config_keys")


class VerdictJudge:
    """Judges rows batch by batch, keeping its memos between batches (a full refresh's
    pages are judged as they arrive)."""

    def __init__(self, policy: RunPolicy, now: float) -> None:
        self.now = now
        self.rules = rules_in_force(policy, now)
        self.named = any(r.kind == "name_pattern" for r in self.rules)
        self.timed = any(r.kind == "max_running_hours" for r in self.rules)
        self.placed: dict[tuple[str, str], tuple[Rule, ...]] = {}
        self.facts: dict[tuple, tuple[int, int, str | None, str | None]] = {}
        self.memo: dict[tuple[str, Any], str | None] = {}
        self.tags_of, self.keys_of = list_parser(), list_parser()

    def rows(self, rows: Iterable[Any], *, parsed: bool = False) -> list[tuple]:
        """policy_verdicts rows (team, project, name, username, created_at, running, judged,
        unknown, broken, broken_ids) of rows in RUN_COLUMNS order; `parsed`: their tags and
        config keys are tuples (or None) already, not the store's JSON text."""
        rules, placed, facts = self.rules, self.placed, self.facts
        named, timed = self.named, self.timed
        out = []
        for row in rows:
            team, project, name, display, username, state, created = row[:7]
            here = placed.get((team, project))
            if here is None:  # the rules scoped to this place, before accounts and starts
                here = placed[(team, project)] = tuple(
                    r for r in rules if r.applies_to(team, project, None))
            applying = tuple(r.id for r in here
                             if (r.start is None or created >= r.start)
                             and not (username and username in r.except_accounts))
            key = (applying, row[8], row[9], (display or name) if named else None,
                   (state, created) if timed else None)
            verdict = facts.get(key)
            if verdict is None:
                tags, keys = (row[8], row[9]) if parsed else \
                    (self.tags_of(row[8]), self.keys_of(row[9]))
                run = StoredRun(team, project, name, display, username, state, created,
                                row[7], tags, keys)
                verdict = facts[key] = _judged(rules, run, self.now, self.memo)
            out.append((team, project, name, username, created, int(state == "running"),
                        *verdict))
        return out


def verdict_rows(policy: RunPolicy, now: float, rows: list[Any]) -> list[tuple]:
    """policy_verdicts rows of run-store rows in RUN_COLUMNS order (`VerdictJudge.rows`)."""
    return VerdictJudge(policy, now).rows(rows)


def _judged(rules: list[Rule], run: StoredRun, now: float, memo: dict
            ) -> tuple[int, int, str | None, str | None]:
    judged, unknown, broken = judge_one(rules, run, now, memo)
    return (int(judged), int(unknown and not broken),
            json.dumps([[r.id, why] for r, why in broken]) if broken else None,
            ",".join(r.id for r, _ in broken) if broken else None)
