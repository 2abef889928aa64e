"""Judge a refresh's runs while it reads them.

A full refresh of a huge org reads hundreds of thousands of runs over a minute or more,
most of it waiting on the server; judging them all after it, from the store, took about ten
seconds more (reading them back, judging, counting). Each page of runs is judged as it
arrives instead, and the verdicts and their counts go into the store in the refresh's own
transaction, so the store never holds runs and verdicts that disagree.

An incremental refresh writes its runs batch by batch as answers arrive, on a thread of its
own; after each batch that thread judges the runs it queued, while the next answers are
still coming. Either way the check after the refresh is left with what the clock moves
(running-time limits) and the runs written after the last batch.
"""

from __future__ import annotations

import sqlite3

from ..cache import Cache
from ..quotas.staged import TABLE, StagedRuns
from ..quotas.store import RunFact
from .run_policy import RunPolicy
from .verdict_rows import VerdictJudge
from .verdict_store import StagedVerdicts, Tally, fingerprint, judge_written, write_all


class RefreshJudge:
    """A `quotas.refresh.RunObserver` that judges the runs it is told of."""

    def __init__(self, policy: RunPolicy, now: float) -> None:
        self.policy, self.now = policy, now
        self.mark = fingerprint(policy, now)
        self.judge = VerdictJudge(policy, now)
        self.seen_runs = 0
        self.tally = Tally()

    # ---- a full refresh ------------------------------------------------------------------

    def seen(self, runs: list[RunFact]) -> list[int] | None:
        """Each run's figure id (`VerdictJudge.figures`): the refresh stages it beside the
        run, and `commit` joins the two."""
        ids = self.judge.figure_ids(runs, facts=True)
        self.tally.add_figures(runs, ids, self.judge.figures)
        self.seen_runs += len(ids)
        return ids

    def commit(self, conn: sqlite3.Connection, staged: StagedRuns, distinct: bool) -> None:
        """The verdicts of the staged runs, just written into the emptied store, written
        beside them. Runs staged without their figure (a path of the refresh that did not
        tell of them) leave the verdicts to the next check, which then judges every
        stored run."""
        if not staged.marked or self.seen_runs != staged.count:
            return
        verdicts = StagedVerdicts(self.judge.figures, TABLE)
        tally = self.tally
        if not distinct:
            # A run read on two pages is staged as last read, but was counted twice: the
            # counts are made again (rare: found by a count, not looked for per page).
            tally = Tally()
            tally.add_rows(verdicts.rows(conn))
        write_all(conn, self.policy, self.now, verdicts, tally)

    # ---- an incremental refresh ----------------------------------------------------------

    def written(self, cache: Cache) -> None:
        judge_written(cache, self.policy, self.now, self.mark)
