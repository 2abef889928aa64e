"""The TUI's thread pool: quitting never waits on it.

Textual runs thread workers (and `asyncio.to_thread`) on the event loop's default executor,
and `asyncio.run` waits for that executor's threads before it returns. A worker blocked on
a slow start of the embedded sandbox, or on another process's org lock, would keep the
terminal from its user after `q`. The work such a thread does is safe to abandon: a change
being applied is journaled `pending` first and settled at the next start.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


class NoWaitExecutor(ThreadPoolExecutor):
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        # Queued work is dropped and running work abandoned, whatever the caller asked.
        super().shutdown(wait=False, cancel_futures=True)
