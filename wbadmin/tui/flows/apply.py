"""Applying a confirmed plan through the core change path, with the outcome reported.

The plan the person confirmed was made from the cache; the change path reads its targets
from W&B again and, if W&B moved while the dialog was open, shows the new plan and asks
again before anything is applied."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...core.access import AccessError
from ...core.access.plans import AccessService, Review
from ...core.change_path import ChangePath
from ...core.changes import Plan
from ..screens.plan import PlanScreen, TypedConfirmScreen

if TYPE_CHECKING:
    from ..app import WbAdminApp

MOVED = "W&B changed while the plan was open: this is the plan now"


async def apply_plan(app: WbAdminApp, plan: Plan, refresh_scope: str | None = None) -> bool:
    """Apply on the app's loop (the client is async); True when every change applied.
    (`refresh_scope` is kept for callers: the change path refreshes what it changed.)"""
    session = app.session
    if not app.capabilities.can_change:
        app.notify("read-only: nothing was changed", severity="warning")
        return False
    if session.client is None:
        app.notify("not connected yet: nothing was changed", severity="warning")
        return False

    async def confirm(review: Review, changed: bool) -> bool:
        if review.phrase and not await app.push_screen_wait(TypedConfirmScreen(
                "; ".join(c.message for c in review.concerns), review.phrase)):
            return False
        return bool(await app.push_screen_wait(PlanScreen(
            review.plan, note=MOVED if changed else "\n".join(review.notes))))

    def review_of(fresh: Plan) -> Review:
        return AccessService(session.cache).review(fresh)

    path = ChangePath(session, confirm, on_wait=lambda text: app.notify(text, timeout=6))
    try:
        report = await path.run_intent(plan, review_of)
    except AccessError as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return False
    for settled in report.reconciled:
        app.notify(settled.line(), markup=False, timeout=8)
    if report.nothing_to_do:
        app.notify("nothing to change: W&B already shows this", timeout=5)
        return True
    if report.declined:
        return False
    outcomes = report.outcomes
    ok = all(o.status == "applied" for o in outcomes)
    for o in outcomes:
        mark = "✓" if o.status == "applied" else "✗"
        app.notify(f"{mark} {o.change.describe()}\n{o.result}", markup=False,
                   severity="information" if o.status == "applied" else "error",
                   timeout=6 if ok else 12)
    if report.refresh_error:
        app.notify(f"could not refresh the cache: {report.refresh_error}", markup=False,
                   severity="warning", timeout=8)
    return ok
