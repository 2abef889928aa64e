"""The Access screen: people, findings, marks and changes through a plan."""

from __future__ import annotations

import base64

import httpx
from textual.widgets import Button, DataTable, Input, OptionList

from tests.conftest import key_of
from tests.tui.conftest import make_app, settle
from wbadmin.tui.screens.access import AccessScreen
from wbadmin.tui.screens.plan import ChoiceScreen, PlanScreen, TypedConfirmScreen
from wbadmin.tui.widgets.fast_table import FastTable


def scim_user(base_url: str, username: str) -> dict:
    token = base64.b64encode(f"alice:{key_of('alice')}".encode()).decode()
    answer = httpx.get(f"{base_url}/scim/Users", params={"filter": f'userName eq "{username}"'},
                       headers={"Authorization": f"Basic {token}"})
    return answer.json()["Resources"][0]


async def open_access(app, pilot) -> AccessScreen:
    await settle(app, pilot)
    await pilot.press("2")
    await pilot.pause()
    await pilot.pause()
    assert isinstance(app.screen, AccessScreen)
    return app.screen


async def choose(app, pilot, value: str) -> None:
    assert isinstance(app.screen, ChoiceScreen), app.screen
    options = app.screen.query_one(OptionList)
    options.highlighted = [o[0] for o in app.screen.options].index(value)
    await pilot.press("enter")
    await pilot.pause()


async def test_people_and_findings_are_listed_and_filtered() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_access(app, pilot)
        assert len(screen.rows) == 43
        titles = {f.title: f for f in screen.found}
        assert titles["Teams without an admin"].severity == "high"
        assert "customer-insights" in titles["Teams without an admin"].teams
        await pilot.press("slash")
        screen.query_one("#people-filter", Input).value = "grace"
        await pilot.pause()
        assert [p.username for p in screen.rows] == ["grace"]
        assert "1 of 1 (of 43)" in str(screen.query_one("#people-count").render())


async def test_marked_people_get_one_plan(tmp_path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_access(app, pilot)
        base_url = app.session.profile.base_url
        table = screen.query_one("#people", FastTable)
        for name in ("bob", "carol"):
            table.move_cursor(row=[p.username for p in screen.rows].index(name))
            await pilot.press("space")
        assert screen.marked == {"bob", "carol"}
        await pilot.press("a")
        await pilot.pause()
        await choose(app, pilot, "vision-research")
        await choose(app, pilot, "member")
        assert isinstance(app.screen, PlanScreen)
        assert len(app.screen.plan.changes) == 2
        assert app.focused is app.screen.query_one("#cancel", Button)
        await pilot.press("tab", "enter")
        for _ in range(60):
            await pilot.pause(0.05)
            roles = [{r["teamName"] for r in scim_user(base_url, u)["teamRoles"]}
                     for u in ("bob", "carol")]
            if all("vision-research" in r for r in roles):
                break
        assert all("vision-research" in r for r in roles)
        # Applied: the marks are spent, so the next action is not on bob and carol again.
        await settle(app, pilot)
        assert screen.marked == set()
        assert not any(str(cells[0]) == "◉" for cells in table.cells)
        assert screen.query_one("#people-pane").border_subtitle == ""
        assert screen.targets() == [screen.selected().username]


async def test_marks_stay_when_the_plan_is_cancelled() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_access(app, pilot)
        table = screen.query_one("#people", FastTable)
        for name in ("bob", "carol"):
            table.move_cursor(row=[p.username for p in screen.rows].index(name))
            await pilot.press("space")
        await pilot.press("a")
        await pilot.pause()
        await choose(app, pilot, "vision-research")
        await choose(app, pilot, "member")
        assert isinstance(app.screen, PlanScreen)
        await pilot.press("enter")  # Cancel has the focus
        await settle(app, pilot)
        assert isinstance(app.screen, AccessScreen)
        assert screen.marked == {"bob", "carol"}
        assert screen.query_one("#people-pane").border_subtitle == "2 marked"


async def test_demoting_yourself_needs_the_typed_phrase() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_access(app, pilot)
        base_url = app.session.profile.base_url
        table = screen.query_one("#people", FastTable)
        table.move_cursor(row=[p.username for p in screen.rows].index("alice"))
        await pilot.press("g")
        await pilot.pause()
        await choose(app, pilot, "member")
        assert isinstance(app.screen, TypedConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AccessScreen)
        assert scim_user(base_url, "alice")["organizationRole"] == "admin"


async def test_fixing_a_team_without_an_admin() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_access(app, pilot)
        findings = screen.query_one("#findings", DataTable)
        findings.focus()
        findings.move_cursor(row=[f.title for f in screen.found].index("Teams without an admin"))
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        promoted = app.screen.plan.changes[0]
        assert promoted.target.startswith("customer-insights/")
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        for _ in range(60):
            await pilot.pause(0.05)
            admins = app.session.cache.scalar(
                "SELECT COUNT(*) FROM team_members WHERE team='customer-insights' AND "
                "role='admin'")
            if admins:
                break
        assert admins == 1
        admin = promoted.target.split("/", 1)[1]
        roles = {r["teamName"]: r["roleName"] for r in scim_user(
            app.session.profile.base_url, admin)["teamRoles"]}
        assert roles["customer-insights"] == "admin"  # read back through SCIM


async def test_no_change_is_offered_to_a_viewer_or_in_read_only() -> None:
    for app in (make_app(user="victor"), make_app(read_only=True)):
        async with app.run_test(size=(120, 36)) as pilot:
            await open_access(app, pilot)
            offered = {a.binding.action for a in app.screen.active_bindings.values()
                       if a.enabled}
            assert not offered & {"team_role", "add_to_team", "remove_from_team", "org_role",
                                  "toggle_active", "fix_finding"}
            assert "mark" in offered


async def test_a_csv_with_a_bad_row_plans_nothing(tmp_path) -> None:
    good = tmp_path / "ok.csv"
    good.write_text("email,team,role\ncarol@inference-systems.ai,vision-research,member\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("carol@inference-systems.ai,vision-research,member\n"
                   "not-an-email,vision-research,member\n")
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await open_access(app, pilot)
        await pilot.press("L")
        await pilot.pause()
        app.screen.query_one(Input).value = str(bad)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AccessScreen)  # no plan was offered
        assert any("line 2" in str(n.message) for n in app._notifications)
        await pilot.press("L")
        await pilot.pause()
        app.screen.query_one(Input).value = str(good)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert len(app.screen.plan.changes) == 1


async def test_sort_cycles_through_the_orders() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_access(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert screen.sort == "last_active"
        last = [p.last_active_at or 0 for p in screen.rows if not p.service_account]
        assert last == sorted(last, reverse=True)


async def test_the_access_screen_lists_each_finding_by_its_short_title() -> None:
    from wbadmin.core.access.findings import SHORT_TITLES

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        screen = app.screen
        table = screen.query_one("#findings")
        shown = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert shown == [f.short for f in screen.found]
        assert all(f.id in SHORT_TITLES for f in screen.found)
        assert len(shown) >= 5  # the demo org has plenty to report
