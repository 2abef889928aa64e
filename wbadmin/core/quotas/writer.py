"""An incremental quota refresh's run writer: runs go to the usage store as their answers
arrive, while later requests are still being answered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .store import RunFact, RunKey, UsageStore

if TYPE_CHECKING:
    from .refresh import QuotaRefresher, RefreshReport


class RunWriter:
    """An incremental refresh's runs, written to the store as their answers arrive, while
    later requests are still being answered (one transaction per batch of what arrived).

    A run may come twice (a recent run that is also asked for by name): each batch reads
    what the store holds inside its own transaction, so a rewrite replaces the run's
    earlier contribution. If the refresh stops half-way, the watermark has not moved, and
    the next refresh reads and rewrites these runs again."""

    def __init__(self, refresher: QuotaRefresher, report: RefreshReport) -> None:
        self.refresher, self.report = refresher, report
        # Runs to write; None ends the writing; a future is set once what came before it
        # is written (`flush`).
        self.queue: asyncio.Queue[list[RunFact] | asyncio.Future[None] | None] = \
            asyncio.Queue()
        self.written: dict[RunKey, RunFact] = {}
        # SQLite work (reads, writes, the WAL checkpoints some commits run) goes to a thread
        # of its own with its own connection: on the event loop it held up the next
        # requests, and the server waited. An in-memory cache has one shared connection.
        self.pool = None if refresher.cache.path is None else \
            ThreadPoolExecutor(1, thread_name_prefix="wbadmin-quota-writer")
        self.task = asyncio.create_task(self._consume())

    def add(self, runs: list[RunFact]) -> None:
        if runs:
            self.queue.put_nowait(runs)

    async def flush(self) -> None:
        """Wait until every run added so far is in the store (a writer that failed raises
        its error here)."""
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait(written)
        await asyncio.wait({written, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if not written.done():
            await self.task
            raise RuntimeError("the run writer stopped before writing what it was given")

    async def finish(self) -> list[RunFact]:
        """Every run written, once each (the last read of it)."""
        self.queue.put_nowait(None)
        await self.task
        await self._off_loop(self.refresher.cache.close_thread_connection)
        return list(self.written.values())

    def cancel(self) -> None:
        """Stop writing (the refresh failed or is done); a failure of the writer's own is
        then not the one to report. A write under way completes (one transaction)."""
        if not self.task.done():
            self.task.cancel()
        elif not self.task.cancelled():
            self.task.exception()  # retrieved: asyncio does not log it as lost
        if self.pool is not None:
            self.pool.submit(self.refresher.cache.close_thread_connection)
            self.pool.shutdown(wait=False)

    async def _off_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.pool is None:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def _consume(self) -> None:
        done = False
        while not done:
            batch: list[RunFact] = []
            marks: list[asyncio.Future[None]] = []
            item = await self.queue.get()
            while True:  # everything that has arrived meanwhile goes in one transaction
                if item is None:
                    done = True
                    break
                if isinstance(item, asyncio.Future):
                    marks.append(item)
                else:
                    batch += item
                if self.queue.empty():
                    break
                item = self.queue.get_nowait()
            if batch:
                await self._write(_dedupe(batch))
            for mark in marks:
                if not mark.done():
                    mark.set_result(None)

    async def _write(self, runs: list[RunFact]) -> None:
        refresher, cache = self.refresher, self.refresher.cache
        held = await self._off_loop(lambda: UsageStore.held(cache.conn, runs))
        runs = await refresher._fill_gpus(
            runs, lambda r: not r.gpu_known and (r.team, r.project, r.name) not in held,
            self.report)
        runs = _keep_tried(runs, held)

        def commit() -> None:
            with cache.transaction() as conn:  # what it holds is read in the transaction
                refresher.store.write_runs(conn, runs)

        await self._off_loop(commit)
        observer = refresher.observer
        if observer is not None:
            await self._off_loop(observer.written, cache)
        for r in runs:
            self.written[(r.team, r.project, r.name)] = r


def _dedupe(runs: list[RunFact]) -> list[RunFact]:
    """One fact per run (the last read wins): a run may come from two questions."""
    return list({(r.team, r.project, r.name): r for r in runs}.values())


def _keep_tried(runs: list[RunFact], held: dict[RunKey, Any]) -> list[RunFact]:
    """A run seen before keeps the GPU count found for it then (from its metadata file)."""
    out = []
    for r in runs:
        old = None if r.gpu_known else held.get((r.team, r.project, r.name))
        out.append(r if old is None else r.with_gpus(old["gpus"], bool(old["gpu_known"])))
    return out
