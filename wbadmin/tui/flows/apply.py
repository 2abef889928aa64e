"""Applying a confirmed plan through the change engine, with the outcome reported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...core.changes import Plan
from ...core.engine import Engine

if TYPE_CHECKING:
    from ..app import WbAdminApp


async def apply_plan(app: WbAdminApp, plan: Plan, refresh_scope: str | None) -> bool:
    """Apply on the app's loop (the client is async); True when every change applied."""
    session = app.session
    if not app.capabilities.can_change:
        app.notify("read-only: nothing was changed", severity="warning")
        return False
    client = session.client
    if client is None:
        app.notify("not connected yet: nothing was changed", severity="warning")
        return False
    actor = app.capabilities.username or "unknown"
    engine = Engine(session.journal, profile=session.profile.name)
    outcomes = await engine.apply(plan, client, actor)
    ok = all(o.status == "applied" for o in outcomes)
    for o in outcomes:
        mark = "✓" if o.status == "applied" else "✗"
        app.notify(f"{mark} {o.change.describe()}\n{o.result}", markup=False,
                   severity="information" if o.status == "applied" else "error",
                   timeout=6 if ok else 12)
    if refresh_scope:
        app.sync(refresh_scope)
    return ok
