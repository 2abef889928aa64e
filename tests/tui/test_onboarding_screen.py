"""The Onboarding screen driven by Pilot on the embedded sandbox: pick a template, fill the
names, review, apply through the Plan dialog, the summary — then W&B (the sandbox, over HTTP)
shows the team, its projects and roles. Pausing and resuming after a restart, and why
applying is not offered to who may not."""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path

import httpx
from rich.console import Console

from wbadmin.tui.screenshot import make_demo_app
from wbadmin.tui.widgets.onboarding_review import OnboardingPlanScreen
from wbadmin.tui.widgets.org_tree import OrgTree

from .conftest import make_app, settle


def text_of(widget) -> str:
    """What a Static shows, as plain text."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def screen_text(app, selector: str) -> str:
    return text_of(app.screen.query_one(selector))


async def open_onboarding(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("5")
    await pilot.pause()


async def pick(app, pilot, option: str) -> None:
    options = app.screen.query_one("#ob-list")
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(option)
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def fill_research_team(app, pilot) -> None:
    await pick(app, pilot, "t:research-team")
    await pilot.press(*"vision-nlp", "tab", *"bob", "tab", *"carol, new.hire@example.com",
                      "tab", *"victor")
    await pilot.pause()


async def wandb(app, query: str, variables: dict) -> dict:
    """GraphQL against the app's embedded sandbox, as alice (W&B's Basic api:key)."""
    token = base64.b64encode(f"api:{app.session.key.reveal()}".encode()).decode()
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{app.session.profile.base_url}/graphql",
                                   json={"query": query, "variables": variables},
                                   headers={"Authorization": f"Basic {token}"})
    return answer.json()["data"]


async def test_a_team_walkthrough_end_to_end(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_onboarding(app, pilot)
        assert app.current_mode == "onboarding"
        stepper = screen_text(app, "#ob-stepper")
        assert stepper.startswith(" 1 Template   ›  2 Names & people  ›  3 Review plan  ›  "
                                  "4 Apply  ›  5 Done")
        assert "Nothing changes in W&B yet" in stepper
        await fill_research_team(app, pilot)
        assert "Name the team and say who joins it" in screen_text(app, "#ob-stepper")
        checks = screen_text(app, "#ob-group-members-check")
        assert "✓ carol (Carol Diaz)" in checks and "✉ new.hire@example.com: invitation" \
            in checks
        assert "✓ a new team" in screen_text(app, "#ob-team-check")
        assert "project vision-nlp-experiments (team)" in screen_text(app, "#ob-preview")
        await pilot.press("enter")  # enter in the last field: on to the review
        await pilot.pause()
        review = screen_text(app, "#ob-review-body")
        assert "create team (admin: bob)" in review and "[teams.vision-nlp]" in review
        assert "invite" in review and "Applying is not offered" not in review
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, OnboardingPlanScreen)
        assert app.focused.id == "cancel"  # as every plan: Cancel has the focus
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert screen.step == "done", screen_text(app, "#ob-now")
        summary = screen_text(app, "#ob-done-summary")
        assert "✓ 9 changes applied and verified by a re-read" in summary
        assert "vision-nlp-quota.toml" in summary
        # The sandbox has no web UI: what was made is listed, with no link to its port.
        assert "The sandbox has no web UI: the Explorer shows what now exists" in summary
        assert "o: open" not in summary
        links = screen.query_one("#ob-links")
        prompts = [str(links.get_option_at_index(i).prompt) for i in range(links.option_count)]
        assert "▤ project vision-nlp/vision-nlp-evals" in prompts
        assert not any("http" in p or "127.0.0.1" in p for p in prompts), prompts
        opened: list[str] = []
        app.open_url = lambda url, **_: opened.append(url)
        await pilot.press("o")
        assert opened == []

        # W&B (the sandbox, over HTTP) shows what the walkthrough created.
        team = await wandb(app, "query T($n: String!) { entity(name: $n) { isTeam members "
                                "{ username role pending } } }", {"n": "vision-nlp"})
        members = {m["username"]: m["role"] for m in team["entity"]["members"]
                   if not m["pending"]}
        assert team["entity"]["isTeam"]
        assert {k: v for k, v in members.items() if k in ("bob", "carol", "victor")} == {
            "bob": "admin", "carol": "member", "victor": "viewer"}
        assert "vision-nlp-ci" in members
        assert any(m["pending"] for m in team["entity"]["members"])  # the invitation
        project = await wandb(app, "query P($n: String!, $e: String!) { project(name: $n, "
                                   "entityName: $e) { access description } }",
                              {"n": "vision-nlp-sandbox", "e": "vision-nlp"})
        assert project["project"] == {"access": "RESTRICTED", "description":
                                      "Scratch space for quick trials; safe to clean up"}

        # ...and every screen shows the new team at once, without a refresh key.
        await pilot.press("1")
        await settle(app, pilot)
        tree = app.screen.query_one(OrgTree)
        assert "10 teams" in str(tree.root.label)
        labels = [" ".join(str(n.label).split()) for n in tree.root.children]
        assert any(label.startswith("vision-nlp ") for label in labels), labels
        await pilot.press("2")
        await settle(app, pilot)
        people = {p.username: p for p in app.screen.rows}
        assert people["carol"].teams.get("vision-nlp") == "member"
        await pilot.press("4")
        await settle(app, pilot)
        assert "vision-nlp" in [t.team for t in app.screen.rows]


async def test_paused_walkthrough_is_resumed_after_a_restart() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="wbadmin-tui-"))
    first = make_demo_app(workdir)
    async with first.run_test(size=(120, 36)) as pilot:
        await open_onboarding(first, pilot)
        await fill_research_team(first, pilot)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("P")  # pause at the review
        await pilot.pause()
        assert first.screen.step == "template"
    second = make_demo_app(workdir)  # a restart: a new app on the same files
    async with second.run_test(size=(120, 36)) as pilot:
        await open_onboarding(second, pilot)
        options = second.screen.query_one("#ob-list")
        prompts = [str(options.get_option_at_index(i).prompt).strip()
                   for i in range(options.option_count)]
        assert prompts[0] == "Paused walkthroughs"
        assert prompts[1].startswith("⏸ vision-nlp  research-team")
        assert "paused at step 3 Review plan" in prompts[1]
        wid = options.get_option_at_index(1).id
        await pick(second, pilot, wid)
        assert second.screen.step == "review"
        assert "create team (admin: bob)" in screen_text(second, "#ob-review-body")
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("tab", "enter")
        await settle(second, pilot)
        assert second.screen.step == "done"
        await pilot.press("n")
        await pilot.pause()
        options = second.screen.query_one("#ob-list")
        assert str(options.get_option_at_index(0).prompt) == "Team templates"  # none paused


async def test_read_only_mode_previews_but_does_not_offer_apply() -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.run_jump("onboarding")  # `:onboarding` reaches the screen too
        await pilot.pause()
        assert app.current_mode == "onboarding"
        assert "read-only mode" in screen_text(app, "#ob-banner")
        await fill_research_team(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        review = screen_text(app, "#ob-review-body")
        assert "create team (admin: bob)" in review  # the plan can still be previewed
        assert "Applying is not offered: read-only mode" in review
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, OnboardingPlanScreen)
        assert app.screen.check_action("apply", ()) is False


async def test_a_team_admin_is_told_why_a_new_team_is_not_offered() -> None:
    app = make_app(user="bob")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_onboarding(app, pilot)
        assert "bob is not an org admin: creating teams and setting roles need an org admin" \
            in screen_text(app, "#ob-banner")
        await fill_research_team(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert "Applying is not offered: creating a team needs an org admin (W&B's "\
            "createTeam); bob is not an org admin" in screen_text(app, "#ob-review-body")


async def test_bad_names_are_shown_before_anything_can_be_applied() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_onboarding(app, pilot)
        await pick(app, pilot, "t:research-team")
        await pilot.press(*"Vision NLP", "tab", *"nobody-here")
        await pilot.pause()
        assert "✗ use lowercase letters" in screen_text(app, "#ob-team-check")
        assert "✗ nobody-here: not in the org" in screen_text(app, "#ob-group-admins-check")
        await pilot.press("enter", "enter", "enter")
        await pilot.pause()
        review = screen_text(app, "#ob-review-body")
        assert "Nothing can be applied until these are fixed" in review
        assert "team name 'Vision NLP': use lowercase" in review
        assert "team name: team name" not in review  # said once
        assert app.screen.check_action("apply", ()) is False
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.step == "people"


async def test_an_interrupted_apply_is_resumed_without_applying_twice() -> None:
    import asyncio

    import pytest

    from wbadmin.core.engine import Engine
    from wbadmin.core.onboarding import walkthrough as W

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_onboarding(app, pilot)
        await fill_research_team(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        screen, client = app.screen, app.session.client
        wt = screen.wt
        # An earlier run died right after W&B took change 3 (its outcome never journaled).
        engine = Engine(app.session.journal, profile=app.session.profile.name)
        plan, _ = await W.remaining(wt, engine, client)
        change = plan.changes[2]
        real = change.apply

        async def dies_after_wandb_took_it(ctx):
            await real(ctx)
            raise asyncio.CancelledError

        change.apply = dies_after_wandb_took_it
        with pytest.raises(asyncio.CancelledError):
            await W.apply(wt, screen.store, engine, plan, client, "alice")
        await pilot.press("P")
        await pilot.pause()
        options = screen.query_one("#ob-list")
        prompt = str(options.get_option_at_index(1).prompt)
        assert "interrupted while applying" in prompt
        await pick(app, pilot, options.get_option_at_index(1).id)
        for _ in range(100):  # the re-read of W&B and the journal runs in a worker
            await pilot.pause(0.02)
            if screen.reread:
                break
        review = screen_text(app, "#ob-review-body")
        assert "applied earlier (journal entry 3)" in review
        assert "W&B already shows it" not in review and "· 6 changes" in \
            screen.query_one("#ob-step-review").border_title
        await pilot.press("a")
        await pilot.pause()
        assert "Plan: 6 changes" in text_of(app.screen.query_one("#dialog-title"))
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        assert screen.step == "done"
        assert "6 changes applied" in screen_text(app, "#ob-done-summary")
        assert "3 were already in place" in screen_text(app, "#ob-done-summary")
    targets = [e.target for e in app.session.journal.query()]
    assert len(targets) == len(set(targets)) == 9  # every change journaled (and applied) once


async def test_a_new_hire_by_job_function_with_completion_from_the_org() -> None:
    from textual.widgets import Input

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_onboarding(app, pilot)
        await pick(app, pilot, "t:ml-researcher")
        assert "Say who the new hire is" in screen_text(app, "#ob-stepper")
        await pilot.press(*"caro")
        await pilot.pause(0.2)
        user = app.screen.query_one("#ob-user", Input)
        assert user._suggestion == "carol"  # completed from the org's people
        await pilot.press("right")  # → accepts the completion
        assert user.value == "carol"
        await pilot.press("tab", *"search-rel")
        await pilot.pause(0.2)
        await pilot.press("right")
        assert app.screen.query_one("#ob-team", Input).value == "search-relevance"
        await pilot.press("enter")
        await pilot.pause()
        review = screen_text(app, "#ob-review-body")
        assert "search-relevance  carol" in review and "add member" in review
        assert "registry:dataset  carol" in review
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        assert app.screen.step == "done"
        team = await wandb(app, "query T($n: String!) { entity(name: $n) { members "
                                "{ username role } } }", {"n": "search-relevance"})
        assert {"username": "carol", "role": "member"} in team["entity"]["members"]


async def test_a_hire_wandb_moved_under_is_shown_and_confirmed_again() -> None:
    """The dialog showed only registry roles (carol is already a member of the team); while
    it was open someone made her a viewer of the team. Applying fills the template again from
    W&B, so the plan now also sets her back to member, and that is what is confirmed."""
    from tests.tui.test_changes import scim_set_team_role, scim_team_role
    from wbadmin.tui.flows.apply import MOVED

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_onboarding(app, pilot)
        await pick(app, pilot, "t:ml-researcher")
        await pilot.press(*"carol", "tab", *"data-science-nlp", "enter")
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        first = app.screen
        assert isinstance(first, OnboardingPlanScreen)
        assert not any("data-science-nlp" in line for line in first.plan.preview())
        base_url = app.session.profile.base_url
        scim_set_team_role(base_url, "carol", "data-science-nlp", "viewer")  # meanwhile
        await pilot.press("tab", "enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, OnboardingPlanScreen) and app.screen is not first:
                break
        again = app.screen
        assert isinstance(again, OnboardingPlanScreen) and again is not first
        assert MOVED in again.note
        assert any("data-science-nlp" in line and "viewer → member" in line
                   for line in again.plan.preview()), again.plan.preview()
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        assert app.screen.step == "done", screen_text(app, "#ob-now")
        assert scim_team_role(base_url, "carol", "data-science-nlp") == "member"


async def test_the_template_list_starts_on_its_first_template() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_onboarding(app, pilot)
        options = app.screen.query_one("#ob-list")
        assert app.focused is options
        first = options.get_option_at_index(options.highlighted)
        assert first.id is not None and not first.disabled  # a template, not a heading
        from wbadmin.core.onboarding.library import load_template

        described = load_template(first.id.removeprefix("t:")).description
        assert screen_text(app, "#ob-detail-body").startswith(described)  # and it is shown
