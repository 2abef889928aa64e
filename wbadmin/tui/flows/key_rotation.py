"""Key rotation from the TUI: `K` on a service account (Access, `v`), and the start's offer
to delete old keys whose grace period is over — both through the core change path
(`core.access.key_rotation`), confirmed on the plan screen.

The new key leaves wbadmin by a file (0600) or a command's standard input, never on screen:
a TUI screen is what screenshots and screen shares capture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from ...core import errors as E
from ...core.access import key_rotation as rot
from ...core.access.key_hand_over import BadHandOver, HandOver
from ...core.access.plans import Review
from ...core.change_path import ChangePath, ChangeReport
from ..screens.plan import ChoiceScreen, InputScreen, PlanScreen

if TYPE_CHECKING:
    from ..app import WbAdminApp

GRACES = [("0", "delete the old key at once"), ("3600", "keep the old key 1 hour"),
          ("86400", "keep the old key 24 hours"), ("604800", "keep the old key 7 days")]


def _can_change(app: WbAdminApp) -> bool:
    if not app.capabilities.can_change:
        app.notify("read-only: nothing was changed", severity="warning")
        return False
    if app.session.client is None:
        app.notify("not connected yet: nothing was changed", severity="warning")
        return False
    return True


async def _confirm(app: WbAdminApp, review: Review, _changed: bool) -> bool:
    return bool(await app.push_screen_wait(PlanScreen(review.plan,
                                                      note="\n".join(review.notes))))


def _report(app: WbAdminApp, report: ChangeReport) -> None:
    for settled in report.reconciled:
        app.notify(settled.line(), markup=False, timeout=8)
    for o in report.outcomes:
        mark = {"applied": "✓", "scheduled": "⏲", "skipped": "·"}.get(o.status, "✗")
        app.notify(f"{mark} {o.change.target}\n{o.result}", markup=False, timeout=8,
                   severity="error" if o.status == "failed" else "information")
    if report.refresh_error:
        app.notify(f"could not refresh the cache: {report.refresh_error}", markup=False,
                   severity="warning", timeout=8)


async def _ask_hand_over(app: WbAdminApp, account: str) -> HandOver | None:
    kind = await app.push_screen_wait(ChoiceScreen(
        f"Rotate {account}'s key: hand the new key over to…",
        [("file", "a file (readable by you only)", True),
         ("command", "a command, on its standard input (a secret manager's CLI)", True)]))
    if kind is None:
        return None
    prompt = ("Write the new key to which file?" if kind == "file"
              else "Give the new key to which command? (it gets the key on stdin)")
    target = await app.push_screen_wait(InputScreen(prompt, "a path" if kind == "file"
                                                    else "e.g. vault kv put secret/ci key=-"))
    if not target:
        return None
    return HandOver(kind, target)


def start_rotation(app: WbAdminApp, account: str) -> None:
    if _can_change(app):
        _rotation(app, account)


@work(exclusive=True, group="change")
async def _rotation(app: WbAdminApp, account: str) -> None:
    hand_over = await _ask_hand_over(app, account)
    if hand_over is None:
        return
    grace = await app.push_screen_wait(ChoiceScreen(f"Rotate {account}'s key: the old key…",
                                                    [(v, t, True) for v, t in GRACES]))
    if grace is None:
        return
    request = rot.RotationRequest(account, hand_over, float(grace))
    path = ChangePath(app.session, lambda review, changed: _confirm(app, review, changed),
                      on_wait=lambda text: app.notify(text, timeout=6))
    try:
        report = await rot.rotate(path, request)
    except BadHandOver as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return
    except E.WbError as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return
    _report(app, report)


def offer_due_rotations(app: WbAdminApp) -> None:
    """At start (connected, not read-only): old keys past their grace period, as a plan."""
    if app.session.read_only or app.session.offline or not rot.due_rotations(app.session):
        return
    _finish(app)


@work(exclusive=True, group="change")
async def _finish(app: WbAdminApp) -> None:
    path = ChangePath(app.session, lambda review, changed: _confirm(app, review, changed),
                      on_wait=lambda text: app.notify(text, timeout=6))
    try:
        report = await rot.finish_rotations(path)
    except E.WbError as exc:
        app.notify(f"key deletions due: {exc}", markup=False, severity="warning", timeout=10)
        return
    _report(app, report)
