"""Reads the TUI makes after an org sync has shown the tree, in the same worker, so the
first frame never waits for them: invite ages from the audit log, and what W&B tells of the
service accounts (keys, their last creation, the accounts' last activity — the Access
screen's service-account findings)."""

from __future__ import annotations

from typing import Any

from ..core.access import service_accounts as sa
from ..core.audit import truncation_notice
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
        from .app import _one_line

        app.notify(f"service accounts: {_one_line(exc)}", severity="warning", markup=False)
        return
    app.post_message(DataRefreshed("service-accounts"))


async def read_producing_runs(app: Any, syncer: Any) -> None:
    """The runs that produced the protected aliases' holders (the production map and its
    findings), for the holders the cache has none of yet: each artifact's is read once."""
    from ..core.promotions import load_policy
    from ..core.promotions.ownership import read_runs, unread

    session = app.session
    me = syncer.identity or session.cached_identity()
    try:
        policy = load_policy()
        if me is None or not me.org or not unread(session.cache, policy):
            return
        await read_runs(syncer.client, session.cache, policy, me.org, app.clock())
    except Exception as exc:  # a nicety: the findings say "not read yet"
        from .app import _one_line

        app.notify(f"producing runs: {_one_line(exc)}", severity="warning", markup=False)
        return
    app.post_message(DataRefreshed("producing-runs"))


async def date_invites(app: Any, syncer: Any) -> None:
    """Invite ages from the audit log (a first read of a busy org's log takes seconds); the
    screen reloads with them. A later sync cancels it, losing nothing read so far (the cache
    keeps it)."""
    try:
        dated = await syncer.date_invites()
    except Exception as exc:  # a nicety: never an error state for the whole app
        from .app import _one_line

        app.notify(f"invite ages are unknown: {_one_line(exc)}", severity="warning",
                   markup=False)
        return
    if dated.truncated_at is not None:  # invite ages partly unknown
        app.notify(truncation_notice(dated.truncated_at),
                   title="Audit log", severity="warning", timeout=10)
    app.post_message(DataRefreshed("invites"))
