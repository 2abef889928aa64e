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
from operator import itemgetter
from typing import Any

from .judge import fact_verdict, list_parser, rules_in_force, running_verdict
from .run_policy import Rule, RunPolicy

# The run-store columns these rows are read in (quota_runs q).
RUN_COLUMNS = ("q.team, q.project, q.name, q.display_name, q.username, q.state, q.created_at, "
               "q.heartbeat_at, q.tags, q.config_keys")


_MISSING = object()
_PLACE = itemgetter(0, 1)  # (team, project) of a row or a RunFact
_IDS, _ONE = itemgetter(1), itemgetter(3)  # of a place (`VerdictJudge._place`)


def _misses(found: list[Any]) -> Iterable[int]:
    """The indices of the Nones in `found`, each found by `list.index` (at C speed: most
    lookups hit)."""
    j = -1
    while True:
        try:
            j = found.index(None, j + 1)
        except ValueError:
            return
        yield j


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
        rows = rows if isinstance(rows, list) else list(rows)
        at = (10, 11) if facts else (8, 9)
        placed = self.placed
        places = list(map(placed.get, map(_PLACE, rows)))
        for j in _misses(places):
            places[j] = placed.get(_PLACE(rows[j])) or self._place(*_PLACE(rows[j]))
        ones = set(map(_ONE, places))
        if len(ones) == 1 and None not in ones:
            return self._one_fact(rows, places, ones.pop(), at, facts)
        out: list[int] = []
        for row, place in zip(rows, places, strict=True):
            out.append(self._per_run(place, row, at, facts))
        return out

    def _one_fact(self, rows: list[Any], places: list[tuple], one: str, at: tuple[int, int],
                  facts: bool) -> list[int]:
        """Rows whose places each have one rule of the kind `one` (tags or config keys) and
        no per-run checks (an org-wide ticket rule): a figure follows from the rules' ids
        and that one fact, memoized. The lookups are made by `map` (a Python step per run
        cost a second of a huge read); only the facts not seen before are judged here."""
        tags = one == "require_tag"
        found = list(map(itemgetter(at[0] if tags else at[1]), rows))
        if not facts:
            found = list(map(self.tags_of if tags else self.keys_of, found))
        keys = list(zip(map(_IDS, places), found, strict=True))
        single = self.single
        got = list(map(single.get, keys))
        for j in _misses(got):
            key = keys[j]
            figure = single.get(key)
            if figure is None:
                applying = places[j][0]
                figure = single[key] = self._figure(
                    key[0], applying, [fact_verdict(applying[0], key[1])])
            got[j] = figure
        return got

    def _per_run(self, place: tuple, row: Any, at: tuple[int, int], facts: bool) -> int:
        """A row's figure: each applying rule's verdict of its fact (memoized), and the
        figure of their set."""
        applying, ids, per_run, _ = place
        name, display, username, state, created = row[2:7]
        if per_run:
            applying = tuple(r for r in applying
                             if (r.start is None or created >= r.start)
                             and not (username and username in r.except_accounts))
            ids = tuple(r.id for r in applying)
        if not applying:
            return NOT_JUDGED
        memo = self.memo
        whys = []
        for rule in applying:
            kind = rule.kind
            if kind == "max_running_hours":
                whys.append(running_verdict(rule, state, created, self.now))
                continue
            if kind == "require_tag":
                fact = row[at[0]] if facts else self.tags_of(row[at[0]])
            elif kind == "require_config":
                fact = row[at[1]] if facts else self.keys_of(row[at[1]])
            else:
                fact = display or name
            key = (rule.id, fact)
            why = memo.get(key, _MISSING)
            if why is _MISSING:
                why = memo[key] = fact_verdict(rule, fact)
            whys.append(why)
        return self._figure(ids, applying, whys)

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
