"""Make an incremental quota refresh a sweep, for tests that compare it with a full one."""

from __future__ import annotations

from pathlib import Path

from wbadmin.core.cache import Cache
from wbadmin.core.quotas.refresh import STALE_RECHECK_S
from wbadmin.core.quotas.store import UsageStore


def sweep_due(cache_path: Path) -> None:
    """The next incremental refresh is a sweep (every running run's heartbeat is read), as
    STALE_RECHECK_S after the last one; our clock stays where the server's is, so no clock
    skew comes into the counts."""
    cache = Cache(cache_path)
    try:
        with cache.transaction() as conn:
            UsageStore.put(conn, "stale_checked_at",
                           float(UsageStore(cache).get("stale_checked_at")) - STALE_RECHECK_S)
    finally:
        cache.close()
