"""Reads the TUI makes after an org sync has shown the tree, in the same worker, so the
first frame never waits for them: what W&B tells of the service accounts (keys, their last
creation, the accounts' last activity — the Access screen's service-account findings)."""

from __future__ import annotations

from typing import Any

from ..core.access import service_accounts as sa
from .messages import DataRefreshed

FACTS_MAX_AGE_S = 86_400.0  # read again after a day, as `wbadmin sa list --refresh` would


async def read_service_accounts(app: Any, syncer: Any) -> None:
    """Once a day per identity; never an error state for the app (a refusal is the note
    the findings show)."""
    session = app.session
    cache = session.cache
    fetched = cache.scalar("SELECT fetched_at FROM sa_read WHERE id = 1")
    now = app.clock()
    if fetched is not None and 0 <= now - fetched < FACTS_MAX_AGE_S:
        return
    me = syncer.identity or session.cached_identity()
    if me is None:
        return
    access = session.settings.access
    days = sa.log_days(access.service_account_idle_days, access.key_max_age_days)
    try:
        await sa.read_facts(syncer.client, cache, me, now, days)
    except Exception as exc:  # a nicety: the findings say "not read yet"
        app.notify(f"service accounts: {exc}", severity="warning", markup=False)
        return
    app.post_message(DataRefreshed("service-accounts"))
