"""Applying an onboarding walkthrough from its screen: guard rails (typed confirmation), the
Plan dialog with Cancel focused, then the engine with a progress bar — re-reading W&B first so
nothing already there (or already applied by an interrupted run) is applied again — and the
summary with links."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work

from ...core.changes import Plan
from ...core.onboarding import walkthrough as W
from ..screens.plan import TypedConfirmScreen
from ..widgets.onboarding_progress import ApplyPane, DonePane
from ..widgets.onboarding_review import OnboardingPlanScreen

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
    client = app.session.client
    if client is None:
        app.notify("not connected yet: nothing was changed", severity="warning")
        return
    screen.applying = True
    screen.go("apply")
    pane = screen.query_one(ApplyPane)
    pane.start(len(plan), screen.done_lines)
    engine = app.session.engine()
    try:
        remaining, skipped = await W.remaining(wt, engine, client)
        pane.start(len(remaining), skipped)  # everything done before, re-read just now
        outcomes = await W.apply(wt, screen.store, engine, remaining, client,
                                 app.capabilities.username or "unknown",
                                 on_progress=pane.advance)
    except Exception as exc:  # the walkthrough is saved; resuming picks up from the journal
        pane.finish(Text(f"✗ stopped: {exc}. The walkthrough is kept: resume it from step 1.",
                         style="bold red"))
        return
    finally:
        screen.applying = False
        screen.refresh_bindings()
    app.sync("org")  # the cache (and every screen) shows what now exists
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
    summary.append("\no: open the highlighted link · n: a new walkthrough", style="dim")
    screen.query_one(DonePane).show(summary, wt.link_list(), app.session.profile.app_url)
    screen.go("done")
