"""`f` on the Governance screen: a ticket tag added to the marked runs — typed, checked
against the tag rules they break, planned from each run's tags as W&B shows them now, and
confirmed on the plan screen — through the core change path (journaled, undoable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from ...core import errors as E
from ...core.access.plans import Review
from ...core.change_path import ChangePath
from ...core.governance.fix import add_tag
from ..screens.plan import ChoiceScreen, InputScreen, PlanScreen

if TYPE_CHECKING:
    from ...core.governance.judge import StoredRun
    from ..app import WbAdminApp
    from ..screens.governance import GovernanceScreen


def start_tag_fix(app: WbAdminApp, screen: GovernanceScreen, runs: list[StoredRun]) -> None:
    if not app.capabilities.can_change:
        app.notify("read-only: nothing was changed", severity="warning")
        return
    if app.session.client is None:
        app.notify("not connected yet: nothing was changed", severity="warning")
        return
    _tag_fix(app, screen, runs)


@work(exclusive=True, group="change")
async def _tag_fix(app: WbAdminApp, screen: GovernanceScreen, runs: list[StoredRun]) -> None:
    hooks = screen.policy.webhooks if screen.policy else ()
    if hooks:
        how = await app.push_screen_wait(ChoiceScreen(
            f"{len(runs)} run(s) breaking a rule: fix how?",
            [("tag", "add a ticket tag (through the change path, undoable)", True),
             ("notify", f"notify their owners ({len(hooks)} webhook(s), once per run)",
              True)]))
        if how is None:
            return
        if how == "notify":
            await _notify(app, screen, runs)
            return
    patterns = sorted({v.rule.pattern.pattern for v in screen.runs
                       if v.rule.kind == "require_tag" and v.rule.pattern is not None
                       and v.run in runs})
    tag = await app.push_screen_wait(InputScreen(
        f"Tag {len(runs)} run(s) with which ticket? (must match {' and '.join(patterns)})",
        "e.g. NLP-231"))
    if not tag:
        return
    import re

    if not all(re.fullmatch(p, tag) for p in patterns):
        app.notify(f"{tag!r} does not match {' and '.join(patterns)}: it would fix nothing",
                   markup=False, severity="error", timeout=8)
        return

    async def confirm(review: Review, _changed: bool) -> bool:
        return bool(await app.push_screen_wait(PlanScreen(review.plan,
                                                          note="\n".join(review.notes))))

    path = ChangePath(app.session, confirm, on_wait=lambda text: app.notify(text, timeout=6))
    try:
        report = await add_tag(path, runs, tag)
    except E.WbError as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return
    for settled in report.reconciled:
        app.notify(settled.line(), markup=False, timeout=8)
    if report.nothing_to_do:
        app.notify("nothing to change: W&B already shows these tags", timeout=5)
    failed = report.failed
    for o in failed:
        app.notify(f"✗ {o.change.target}\n{o.result}", markup=False, severity="error",
                   timeout=12)
    applied = [o for o in report.outcomes if o.status == "applied"]
    if applied:
        app.notify(f"✓ {tag} added to {len(applied)} run(s) (undo from the journal)",
                   markup=False, timeout=6)
    if report.outcomes and not failed:
        screen.clear_marks()
    screen.load()


async def _notify(app: WbAdminApp, screen: GovernanceScreen, runs: list[StoredRun]) -> None:
    from ...core.governance.notices import NoticeSender

    assert screen.policy is not None
    chosen = [v for v in screen.runs if v.run in runs]
    sender = NoticeSender(app.session.server_cache(), clock=app.session.clock,
                          app_url=app.session.web_app_url)
    before = len(sender.sent_before(chosen))
    results = await sender.send(chosen, screen.policy.webhooks)
    sent = sum(1 for r in results if r.sent)
    failed = [d for r in results for d in r.deliveries if not d.ok]
    app.notify(f"{sent} notice(s) sent; {before} of these were noticed before",
               markup=False, timeout=6)
    for delivery in failed[:3]:
        app.notify(delivery.line(), markup=False, severity="warning", timeout=10)
    if sent:
        screen.clear_marks()
