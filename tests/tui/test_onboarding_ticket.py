"""A template that requires a ticket, driven by Pilot on the embedded sandbox: the form asks
for the ticket and checks it as it is typed, the review refuses a plan without one, a paused
walkthrough keeps it, and W&B (the sandbox, over HTTP) shows it in the new projects."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tests.onboarding.test_ticket import REGULATED
from wbadmin.tui.widgets.onboarding_review import OnboardingPlanScreen

from .conftest import make_app, settle
from .test_onboarding_screen import open_onboarding, pick, screen_text, wandb


async def test_the_form_requires_the_ticket_and_the_plan_carries_it(
        isolated_dirs: Path) -> None:
    folder = isolated_dirs / "XDG_CONFIG_HOME" / "wbadmin" / "templates"
    folder.mkdir(parents=True)
    (folder / "regulated-team.toml").write_text(REGULATED)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_onboarding(app, pilot)
        await pick(app, pilot, "t:regulated-team")
        assert "required: matching [A-Z]+-[0-9]+" in screen_text(app, "#ob-ticket-check")
        await pilot.press(*"risk-models", "tab", "tab", *"bob", "enter", "enter")
        await pilot.pause()
        review = screen_text(app, "#ob-review-body")
        assert "Nothing can be applied until these are fixed" in review
        assert "template regulated-team requires a ticket matching [A-Z]+-[0-9]+" in review
        assert app.screen.check_action("apply", ()) is False

        await pilot.press("escape")  # back to the names: the ticket field has the focus
        await pilot.pause()
        assert app.focused is app.screen.query_one("#ob-ticket", Input)
        await pilot.press(*"nlp-7")
        await pilot.pause()
        assert "✗ does not match [A-Z]+-[0-9]+" in screen_text(app, "#ob-ticket-check")
        await pilot.press(*["backspace"] * 5, *"NLP-7")
        await pilot.pause()
        assert "✓ recorded in the journal" in screen_text(app, "#ob-ticket-check")
        await pilot.press("escape")  # back to the list: kept as paused, ticket and all...
        await pilot.pause()
        options = app.screen.query_one("#ob-list")
        await pick(app, pilot, options.get_option_at_index(1).id)  # ...and resumed
        assert app.screen.query_one("#ob-ticket", Input).value == "NLP-7"

        await pilot.press("enter", "enter", "enter")
        await pilot.pause()
        review = screen_text(app, "#ob-review-body")
        assert "Ticket NLP-7: on every journal entry of this plan" in review
        assert "create team (admin: bob, ticket NLP-7)" in review
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, OnboardingPlanScreen)
        assert "ticket NLP-7" in app.screen.plan.title
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        assert app.screen.step == "done", screen_text(app, "#ob-now")
        project = await wandb(app, "query P($n: String!, $e: String!) { project(name: $n, "
                                   "entityName: $e) { description } }",
                              {"n": "risk-models-models", "e": "risk-models"})
        assert project["project"]["description"] == "Audited models of risk-models · ticket NLP-7"
        titles = {e.plan_title for e in app.session.journal.query()}
        assert any(t.startswith("Onboard team risk-models (regulated-team, ticket NLP-7)")
                   for t in titles), titles
