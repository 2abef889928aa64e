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
from ..quotas.store import RunFact, RunKey
from .run_policy import RunPolicy
from .verdict_rows import VerdictJudge
from .verdict_store import Tally, fingerprint, judge_written, write_all


class RefreshJudge:
    """A `quotas.refresh.RunObserver` that judges the runs it is told of."""

    def __init__(self, policy: RunPolicy, now: float) -> None:
        self.policy, self.now = policy, now
        self.mark = fingerprint(policy, now)
        self.judge = VerdictJudge(policy, now)
        self.verdicts: dict[RunKey, tuple] = {}
        self.tally = Tally()
        self.seen_runs = 0

    # ---- a full refresh ------------------------------------------------------------------

    def seen(self, runs: list[RunFact]) -> None:
        self.seen_runs += len(runs)
        page = {v[:3]: v for v in self.judge.rows(
            ((r.team, r.project, r.name, r.display_name, r.username, r.state, r.created_at,
              r.heartbeat_at, r.tags, r.config_keys) for r in runs), parsed=True)}
        # A run on two pages (the store keeps its last read): its first verdict's counts go.
        again = [self.verdicts[k] for k in page if k in self.verdicts]
        if again:
            self.tally.add_rows(again, -1)
        self.tally.add_rows(list(page.values()))
        self.verdicts.update(page)

    def commit(self, conn: sqlite3.Connection, runs: list[RunFact]) -> None:
        """The verdicts of `runs`, written beside them. A run not seen here (a path of the
        refresh that did not tell of it) leaves the verdicts to the next check, which then
        judges every stored run."""
        if self.seen_runs != len(runs):
            return
        write_all(conn, self.policy, self.now, list(self.verdicts.values()), self.tally)

    # ---- an incremental refresh ----------------------------------------------------------

    def written(self, cache: Cache) -> None:
        judge_written(cache, self.policy, self.now, self.mark)
