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
from ..quotas.store import RunFact
from .run_policy import RunPolicy
from .verdict_rows import VerdictJudge, verdict_row
from .verdict_store import ReadVerdicts, Tally, fingerprint, judge_written, write_all


class RefreshJudge:
    """A `quotas.refresh.RunObserver` that judges the runs it is told of."""

    def __init__(self, policy: RunPolicy, now: float) -> None:
        self.policy, self.now = policy, now
        self.mark = fingerprint(policy, now)
        self.judge = VerdictJudge(policy, now)
        self.ids: list[int] = []  # each run's figure id, in the order told
        self.tally = Tally()

    @property
    def seen_runs(self) -> int:
        return len(self.ids)

    # ---- a full refresh ------------------------------------------------------------------

    def seen(self, runs: list[RunFact]) -> None:
        ids = self.judge.figure_ids(runs, facts=True)
        self.tally.add_figures(runs, ids, self.judge.figures)
        self.ids.extend(ids)

    def commit(self, conn: sqlite3.Connection, runs: list[RunFact]) -> None:
        """The verdicts of `runs`, just written into the emptied store in this order, written
        beside them. A run not seen here (a path of the refresh that did not tell of it)
        leaves the verdicts to the next check, which then judges every stored run."""
        if self.seen_runs != len(runs):
            return
        count, first, last = conn.execute(
            "SELECT COUNT(*), MIN(rowid), MAX(rowid) FROM quota_runs").fetchone()
        if count == len(runs) and (not runs or last - first + 1 == count):
            # Each run its own row, in the order read: the i-th run is rowid first + i.
            write_all(conn, self.policy, self.now,
                      ReadVerdicts(self.judge.figures, self.ids, first or 1), self.tally)
            return
        # A run read on two pages (the store keeps its last read): its last verdict, and the
        # counts made again (rare: found by a count, not looked for per run as pages come).
        figures = self.judge.figures
        last_read = {r[:3]: verdict_row(r, figures[i]) for r, i in zip(runs, self.ids,
                                                                     strict=True)}
        verdicts = list(last_read.values())
        tally = Tally()
        tally.add_rows(verdicts)
        write_all(conn, self.policy, self.now, verdicts, tally)

    # ---- an incremental refresh ----------------------------------------------------------

    def written(self, cache: Cache) -> None:
        judge_written(cache, self.policy, self.now, self.mark)
