"""Applying an onboarding walkthrough from its screen: guard rails (typed confirmation), the
Plan dialog with Cancel focused, then the core change path with a progress bar — the plan made
again from W&B first, so nothing already there (or already applied by an interrupted run) is
applied again, and confirmed again if W&B moved while the dialog was open — and the summary
with links."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work

from ...core import errors as E
from ...core.access.plans import Review
from ...core.change_path import ChangePath
from ...core.changes import Outcome, Plan
from ...core.engine import Engine
from ...core.onboarding import walkthrough as W
from ...core.onboarding.template_plan import fill_template
from ..screens.plan import TypedConfirmScreen
from ..widgets.onboarding_progress import ApplyPane, DonePane
from ..widgets.onboarding_review import OnboardingPlanScreen
from .apply import MOVED

if TYPE_CHECKING:
    from ..app import WbAdminApp
    from ..screens.onboarding import OnboardingScreen


def apply_walkthrough(screen: OnboardingScreen) -> None:
    _apply_flow(screen.app, screen)


def _home(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


@work(exclusive=True, group="change")
async def _apply_flow(app: WbAdminApp, screen: OnboardingScreen) -> None:
    wt, plan = screen.wt, screen.plan
    if wt is None or plan.is_empty:
        return
    concerns = screen.filled.concerns if screen.filled else []
    if concerns and not await app.push_screen_wait(TypedConfirmScreen(
            "; ".join(c.message for c in concerns), " ".join(c.phrase for c in concerns))):
        return
    shown = Plan(title=plan.title, changes=list(plan.changes))
    note = "Stops at the first failure: later changes build on earlier ones. " \
           "The walkthrough is saved after every change."
    if not await app.push_screen_wait(OnboardingPlanScreen(shown, note=note)):
        return
    session = app.session
    if session.client is None:
        app.notify("not connected yet: nothing was changed", severity="warning")
        return
    screen.applying = True
    screen.go("apply")
    pane = screen.query_one(ApplyPane)
    pane.start(len(plan), screen.done_lines)
    skipped: list[str] = []

    async def fresh() -> Review:
        """The plan from W&B: a walkthrough not started yet is filled again once W&B's
        state of what it touches is in the cache; then what W&B (or the journal, for one
        that was interrupted) already shows is dropped."""
        template, filled = screen.template, screen.filled
        if wt.started_at is None and template is not None and filled is not None:
            await path.read_targets(filled.plan)
            filled = fill_template(template, wt.get_inputs(), session.cache)
            if not filled.ok:
                raise E.Conflict(f"W&B changed and the template no longer fits: "
                                 f"{filled.problems[0]}")
            wt.freeze(filled)
            screen.filled = filled
        remaining, done = await W.remaining(wt, session.engine(), session.client)
        skipped[:] = done
        remaining.title = plan.title  # compared with what was shown; journaled as the wt's
        return Review(remaining, notes=list(wt.notes))

    async def moved(review: Review, _changed: bool) -> bool:  # W&B moved: confirm again
        return bool(await app.push_screen_wait(OnboardingPlanScreen(review.plan, note=MOVED)))

    async def apply(engine: Engine, remaining: Plan, actor: str) -> list[Outcome]:
        pane.start(len(remaining), skipped)  # everything done before, re-read just now
        return await W.apply(wt, screen.store, engine,
                             Plan(title=wt.plan_title, changes=remaining.changes),
                             session.client, actor, on_progress=pane.advance)

    path = ChangePath(session, moved, on_wait=lambda text: app.notify(text, timeout=6))
    try:
        report = await path.run_with(fresh, shown, apply=apply)
    except Exception as exc:  # the walkthrough is saved; resuming picks up from the journal
        pane.finish(Text(f"✗ stopped: {exc}. The walkthrough is kept: resume it from step 1.",
                         style="bold red"))
        return
    finally:
        screen.applying = False
        screen.refresh_bindings()
    for settled in report.reconciled:
        app.notify(settled.line(), markup=False, timeout=8)
    if report.refresh_error:
        app.notify(f"could not refresh the cache: {report.refresh_error}", markup=False,
                   severity="warning", timeout=8)
    if report.declined:
        screen.go("review")
        screen.reread_remaining()
        return
    if report.nothing_to_do:
        wt.status, wt.step = "applied", "done"
        screen.store.save(wt)
        pane.finish(Text("✓ nothing left to change: W&B already shows all of it.",
                         style="bold green"), title="Nothing to apply")
        return
    outcomes = report.outcomes
    failed = [o for o in outcomes if not o.ok]
    if failed:
        o = failed[0]
        done = sum(1 for x in outcomes if x.ok)
        pane.finish(Text(f"✗ stopped at {o.change.target}: {o.result}. Later changes were not "
                         "attempted; fix it, then resume the walkthrough from step 1 (esc).",
                         style="bold red"),
                    title=f"Stopped: {done} of {len(outcomes)} changes applied")
        return
    verified = all(o.verified is not False for o in outcomes)
    summary = Text()
    summary.append(f"✓ {len(outcomes)} change{'s' * (len(outcomes) != 1)} applied"
                   + (" and verified by a re-read" if verified else "") + ".",
                   style="bold green")
    if skipped:
        summary.append(f" {len(skipped)} were already in place.", style="dim")
    summary.append(f"\n{wt.subject} is set up in W&B. Undo any change from the Journal (6).",
                   style="dim")
    if wt.quota_path:
        summary.append("\nQuota policy written to ")
        summary.append(_home(wt.quota_path), style="bold")
        summary.append(": merge it into your quota policy (W&B has no quotas; wbadmin applied "
                       "nothing there).", style="dim")
    web = app.session.web_app_url
    summary.append("\no: open the highlighted link · n: a new walkthrough" if web else
                   "\nThe sandbox has no web UI: the Explorer shows what now exists · "
                   "n: a new walkthrough", style="dim")
    screen.query_one(DonePane).show(summary, wt.link_list(), web)
    screen.go("done")
