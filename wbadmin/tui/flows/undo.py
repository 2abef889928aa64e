"""Undo a journal entry: the engine plans the inverse (refusing when the target moved on),
the person reviews it, the engine applies it as a new journaled plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from ...core import changes_team  # noqa: F401  (registers the team change kinds)
from ...core.engine import UndoRefused
from ..screens.plan import PlanScreen
from .apply import apply_plan

if TYPE_CHECKING:
    from ..app import WbAdminApp


def start_undo_flow(app: WbAdminApp, entry_id: int) -> None:
    _flow(app, entry_id)


@work(exclusive=True, group="change")
async def _flow(app: WbAdminApp, entry_id: int) -> None:
    if not app.capabilities.can_change or app.session.client is None:
        app.notify("read-only, offline or not connected: nothing was changed",
                   severity="warning")
        return
    engine = app.session.engine()
    try:
        plan = await engine.plan_undo(entry_id, app.session.client)
    except UndoRefused as exc:
        app.notify(str(exc), markup=False, title="Undo refused", severity="warning", timeout=10)
        return
    if not await app.push_screen_wait(PlanScreen(plan)):
        return
    team = plan.changes[0].target.split("/", 1)[0] if plan.changes else None
    await apply_plan(app, plan, f"team:{team}" if team else None)
    reload = getattr(app.screen, "reload", None)
    if callable(reload):
        reload()
