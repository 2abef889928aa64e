"""The `policy_verdicts` rows of run-store rows, each rule's verdict made once per fact.

A huge org's store holds hundreds of thousands of runs. Each run's applying rules are found
per place (the scopes name teams and projects), its accounts and start dates checked per
run only where a rule there has them; each rule's verdict of the one fact it looks at (tags,
config keys, title) is taken from a memo, and the row's figures per distinct set of rule
verdicts. `judge.judge_one` is the reference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .judge import fact_verdict, list_parser, rules_in_force, running_verdict
from .run_policy import Rule, RunPolicy

# The run-store columns these rows are read in (quota_runs q).
RUN_COLUMNS = ("q.team, q.project, q.name, q.display_name, q.username, q.state, q.created_at, "
               "q.heartbeat_at, q.tags, q.config_keys")


_MISSING = object()


NOT_JUDGED = 0  # the figure id of a run no rule in force applies to


def verdict_row(run: Any, figures: tuple) -> tuple:
    """The policy_verdicts row of a run (RUN_COLUMNS order, or a `RunFact`: the first seven
    fields are the same) and its figures (judged, unknown, broken, broken_ids)."""
    return (run[0], run[1], run[2], run[4], run[6], int(run[5] == "running"), *figures)


class VerdictJudge:
    """Judges rows batch by batch, keeping its memos between batches (a full refresh's
    pages are judged as they arrive).

    A run's verdict figures (judged, unknown, broken, broken_ids) are one of few distinct
    ones: each is numbered once (`figures[id]`), and a batch is judged to a list of ids."""

    def __init__(self, policy: RunPolicy, now: float) -> None:
        self.now = now
        self.rules = rules_in_force(policy, now)
        self.placed: dict[tuple[str, str], tuple] = {}  # (team, project) -> `_place`
        self.memo: dict[tuple[str, Any], str | None] = {}  # (rule id, fact) -> why
        self.single: dict[tuple[tuple[str, ...], Any], int] = {}  # (rule ids, fact) -> id
        self.combined: dict[tuple, int] = {}  # (rule ids, their whys) -> figure id
        self.figures: list[tuple[int, int, str | None, str | None]] = [(0, 0, None, None)]
        self.tags_of, self.keys_of = list_parser(), list_parser()

    def rows(self, rows: list[Any], *, facts: bool = False) -> list[tuple]:
        """policy_verdicts rows (team, project, name, username, created_at, running, judged,
        unknown, broken, broken_ids) of rows in RUN_COLUMNS order; `facts`: of `RunFact`s
        (the same first eight fields, then tags and config keys as tuples or None at theirs)
        instead, as a refresh reads them."""
        figures = self.figures
        return [verdict_row(r, figures[i])
                for r, i in zip(rows, self.figure_ids(rows, facts=facts), strict=True)]

    def figure_ids(self, rows: Iterable[Any], *, facts: bool = False) -> list[int]:
        """Each row's figure id (`rows`).

        Most runs carry a tag list of their own (a ticket key), so the verdict is made per
        rule from the one fact it looks at (`judge.fact_verdict`, memoized), and the
        figures per distinct set of rule verdicts."""
        placed, memo, now = self.placed, self.memo, self.now
        tags_of, keys_of = self.tags_of, self.keys_of
        tags_at, keys_at = (10, 11) if facts else (8, 9)
        # A place with one tag or config rule and no per-run checks (an org-wide ticket
        # rule): the figure follows from that one fact, so it is memoized per fact.
        single = self.single
        out: list[int] = []
        append = out.append
        for row in rows:
            place = placed.get((row[0], row[1]))
            if place is None:
                place = self._place(row[0], row[1])
            applying, ids, per_run, one = place
            if one is not None:
                fact = row[tags_at if one == "require_tag" else keys_at]
                if not facts:
                    fact = (tags_of if one == "require_tag" else keys_of)(fact)
                figure = single.get((ids, fact))
                if figure is None:
                    figure = single[(ids, fact)] = self._figure(
                        ids, applying, [fact_verdict(applying[0], fact)])
                append(figure)
                continue
            name, display, username, state, created = row[2:7]
            if per_run:
                applying = tuple(r for r in applying
                                 if (r.start is None or created >= r.start)
                                 and not (username and username in r.except_accounts))
                ids = tuple(r.id for r in applying)
            if not applying:
                append(NOT_JUDGED)
                continue
            whys = []
            for rule in applying:
                kind = rule.kind
                if kind == "max_running_hours":
                    whys.append(running_verdict(rule, state, created, now))
                    continue
                if kind == "require_tag":
                    fact = row[tags_at] if facts else tags_of(row[tags_at])
                elif kind == "require_config":
                    fact = row[keys_at] if facts else keys_of(row[keys_at])
                else:
                    fact = display or name
                key = (rule.id, fact)
                why = memo.get(key, _MISSING)
                if why is _MISSING:
                    why = memo[key] = fact_verdict(rule, fact)
                whys.append(why)
            append(self._figure(ids, applying, whys))
        return out

    def _place(self, team: str, project: str) -> tuple:
        """(applying rules, their ids, per-run checks?, the one fact rule's kind or None)."""
        here = tuple(r for r in self.rules if r.applies_to(team, project, None))
        per_run = any(r.start is not None or r.except_accounts for r in here)
        one = here[0].kind if len(here) == 1 and not per_run and \
            here[0].kind in ("require_tag", "require_config") else None
        place = self.placed[(team, project)] = (here, tuple(r.id for r in here), per_run, one)
        return place

    def _figure(self, ids: tuple[str, ...], applying: tuple[Rule, ...],
                whys: list[str | None]) -> int:
        key = (ids, tuple(whys))
        figure = self.combined.get(key)
        if figure is None:
            figure = self.combined[key] = len(self.figures)
            self.figures.append(_figures(applying, whys))
        return figure


def verdict_rows(policy: RunPolicy, now: float, rows: list[Any]) -> list[tuple]:
    """policy_verdicts rows of run-store rows in RUN_COLUMNS order (`VerdictJudge.rows`)."""
    return VerdictJudge(policy, now).rows(rows)


def _figures(rules: tuple[Rule, ...], whys: list[str | None]
             ) -> tuple[int, int, str | None, str | None]:
    """(judged, unknown, broken, broken_ids) of a judged run, as `judge.judge_one` finds."""
    broken = [(r, why) for r, why in zip(rules, whys, strict=True) if why]
    unknown = any(why == "" for why in whys)
    return (1, int(unknown and not broken),
            json.dumps([[r.id, why] for r, why in broken]) if broken else None,
            ",".join(r.id for r, _ in broken) if broken else None)
