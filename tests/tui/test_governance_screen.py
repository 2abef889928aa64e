"""The Governance screen (8) on the demo sandbox over real HTTP: the rules, each team's
compliance and the runs breaking a rule, as `policy check` judges the same store; `f` adds
a ticket tag to the marked runs through the change path; read-only offers no fix."""

from __future__ import annotations

from textual.widgets import Input

from tests.promotions.conftest import receiver  # noqa: F401  (fixture)
from tests.tui.conftest import make_app, wait_for
from tests.tui.test_access import choose
from wbadmin.core.governance import judge as J
from wbadmin.core.governance.run_policy import demo_policy
from wbadmin.tui.screens.governance import GovernanceScreen
from wbadmin.tui.screens.plan import ChoiceScreen, InputScreen, PlanScreen
from wbadmin.tui.screenshot import _governance


async def open_governance(app, pilot) -> GovernanceScreen:
    await _governance(app, pilot)
    screen = app.screen
    assert isinstance(screen, GovernanceScreen)
    return screen


async def test_rules_compliance_and_runs_are_the_judgement_of_the_store() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_governance(app, pilot)
        truth = J.judge(demo_policy(), J.stored_runs(app.session.cache), app.clock())
        assert truth.violations and truth.runs_judged > len(truth.violations)
        assert {(v.run.name, v.rule.id) for v in screen.runs} == \
            {(v.run.name, v.rule.id) for v in truth.violations}
        teams = screen.query_one("#gov-teams")
        shown = {str(teams.get_row_at(i)[0]): int(str(teams.get_row_at(i)[4]))
                 for i in range(teams.row_count)}
        assert shown == {t: p.violating for t, p in truth.teams.items()}
        assert screen.query_one("#gov-rules").row_count == 1
        assert app.screen.crumbs()[-1] == "governance"


async def test_f_tags_the_marked_runs_through_the_change_path() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_governance(app, pilot)
        before = len(screen.runs)
        picked = [screen.runs[0].run, screen.runs[1].run]
        await pilot.press("space", "space")  # marks two, the cursor moving down
        assert len(screen.marked) == 2
        await pilot.press("f")
        assert await wait_for(pilot, lambda: isinstance(app.screen, InputScreen))
        app.screen.query_one(Input).value = "GOV-123"
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert sorted(c.run for c in app.screen.plan.changes) == sorted(r.name for r in picked)
        await pilot.press("tab", "enter")
        assert await wait_for(pilot, lambda: len(screen.runs) == before - 2)
        assert screen.marked == set()
        entries = app.session.journal.query(kind="run.add_tags")
        assert len(entries) == 2 and all(e.status == "applied" for e in entries)
        stored = {r.name: r.tags for r in J.stored_runs(app.session.cache)}
        assert all("GOV-123" in stored[r.name] for r in picked)


async def test_a_tag_that_fixes_nothing_is_refused_and_read_only_offers_no_fix() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_governance(app, pilot)
        await pilot.press("f")
        assert await wait_for(pilot, lambda: isinstance(app.screen, InputScreen))
        app.screen.query_one(Input).value = "not a ticket"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PlanScreen)
        assert app.session.journal.query(kind="run.add_tags") == []
    app = make_app(user="alice", read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_governance(app, pilot)
        assert screen.check_action("fix", ()) is False
        assert screen.runs  # still judged and shown


async def test_f_can_notify_the_owners_through_the_policy_webhooks(tmp_path, monkeypatch,
                                                                  receiver) -> None:  # noqa: F811
    policy = tmp_path / "policies.toml"
    policy.write_text('[[rules]]\nid = "jira-ticket"\nrequire_tag = "[A-Z]+-[0-9]+"\n'
                      f'mode = "enforce"\n[[webhooks]]\nurl = "{receiver.url}/ok"\n'
                      'format = "json"\n')
    monkeypatch.setenv("WBADMIN_RUN_POLICY", str(policy))
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_governance(app, pilot)
        target = screen.runs[0]
        await pilot.press("space")
        await pilot.press("f")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await choose(app, pilot, "notify")
        assert await wait_for(pilot, lambda: len(receiver.bodies("/ok")) == 1)
        body = receiver.bodies("/ok")[0]
        assert (body["run"], body["owner"]) == (target.run.name, target.run.username)
        assert screen.marked == set()


async def test_the_production_map_pane_names_the_alias_moved_outside_the_workflow() -> None:
    from wbadmin.core.promotions.ownership import holdings
    from wbadmin.core.promotions.policy import load_policy

    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_governance(app, pilot)
        truth = [h for h in holdings(app.session.cache, load_policy()) if h.version]
        owners = screen.query_one("#gov-owners")
        assert owners.row_count == len(truth)
        outside = [i for i, h in enumerate(truth) if h.outside_workflow]
        assert [truth[i].ref for i in outside] == ["model/reranker-xl:production"]
        assert str(owners.get_row_at(outside[0])[0]).endswith("⚠")
        owners.focus()
        owners.move_cursor(row=outside[0])

        def detail() -> str:
            return str(screen.query_one("#gov-detail").render())

        assert await wait_for(pilot, lambda: "moved outside the workflow" in detail())
        assert "requested by none" in detail()
        # A reload (the background read of runs ends) keeps the admin's place: the cursor
        # stays on the holding and the detail keeps naming it, not a run.
        drawn = screen.judgement
        screen.load()
        assert await wait_for(pilot, lambda: screen.judgement is not drawn)
        await pilot.pause(0.2)
        assert owners.cursor_row == outside[0]
        assert "moved outside the workflow" in detail()
        screen.query_one("#gov-runs").focus()  # the detail follows the focused pane
        assert await wait_for(pilot, lambda: "moved outside the workflow" not in detail())
