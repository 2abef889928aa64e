"""Change actions: offered only to those who may use them, and applied through a plan."""

from __future__ import annotations

import base64

import httpx
from textual.widgets import Button, DataTable, OptionList

from tests.conftest import key_of
from tests.tui.conftest import make_app, settle
from wbadmin.tui.screens.explorer import ExplorerScreen
from wbadmin.tui.screens.journal import JournalScreen
from wbadmin.tui.screens.plan import ChoiceScreen, PlanScreen, TypedConfirmScreen
from wbadmin.tui.widgets.detail import DetailPane


def offered(app, action: str) -> bool:
    return any(a.binding.action == action and a.enabled
               for a in app.screen.active_bindings.values())


async def open_team(app, pilot, team: str) -> None:
    app.run_jump(f"team {team}")
    await pilot.pause()
    await pilot.pause()


async def pick_role(app, pilot, team: str, member: str, role: str) -> None:
    """In `team`'s member list: `e` on `member`, then `role` in the picker."""
    await open_team(app, pilot, team)
    detail = app.screen.query_one(DetailPane)
    table = detail.query_one(DataTable)
    table.focus()
    table.move_cursor(row=detail.row_keys.index(member))
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(app.screen, ChoiceScreen)
    options = app.screen.query_one(OptionList)
    options.highlighted = [o[0] for o in app.screen.options].index(role)
    await pilot.press("enter")
    await pilot.pause()


async def wait_for_role(pilot, base_url: str, username: str, team: str, role: str) -> None:
    """Until W&B (SCIM) shows `role` (the apply runs on the app's loop), at most 5 s."""
    for _ in range(100):
        await pilot.pause(0.05)
        if scim_team_role(base_url, username, team) == role:
            break
    assert scim_team_role(base_url, username, team) == role


def scim_team_role(base_url: str, username: str, team: str) -> str | None:
    token = base64.b64encode(f"alice:{key_of('alice')}".encode()).decode()
    answer = httpx.get(f"{base_url}/scim/Users", params={"filter": f'userName eq "{username}"'},
                       headers={"Authorization": f"Basic {token}"})
    user = answer.json()["Resources"][0]
    return next((r["roleName"] for r in user["teamRoles"] if r["teamName"] == team), None)


async def test_org_admin_is_offered_role_edits() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await open_team(app, pilot, "data-science-nlp")
        assert offered(app, "edit_role")


async def test_read_only_offers_no_change_action() -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        assert "READ-ONLY" in app.screen.query_one("ShellHeader").badges
        await open_team(app, pilot, "data-science-nlp")
        assert not offered(app, "edit_role")
        app.switch_mode("journal")
        await pilot.pause()
        assert not offered(app, "undo")


async def test_viewer_identity_offers_no_change_action() -> None:
    app = make_app(user="victor")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        assert app.capabilities.username == "victor"
        await open_team(app, pilot, "data-science-nlp")
        assert not offered(app, "edit_role")


async def test_set_a_role_through_the_plan_then_undo_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        base_url = app.session.profile.base_url
        assert scim_team_role(base_url, "carol", "data-science-nlp") == "member"
        await pick_role(app, pilot, "data-science-nlp", "carol", "viewer")
        assert isinstance(app.screen, PlanScreen)
        assert app.focused is app.screen.query_one("#cancel", Button)  # Cancel has focus
        assert any("carol" in line and "viewer" in line for line in app.screen.plan.preview())
        await pilot.press("tab", "enter")  # to Apply
        await settle(app, pilot)
        await wait_for_role(pilot, base_url, "carol", "data-science-nlp", "viewer")
        # The journal has it, and undo puts the role back.
        app.switch_mode("journal")
        await pilot.pause()
        journal = app.screen
        assert isinstance(journal, JournalScreen)
        assert journal.entries[0].target == "data-science-nlp/carol"
        assert journal.entries[0].status == "applied"
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        await pilot.press("tab", "enter")
        await wait_for_role(pilot, base_url, "carol", "data-science-nlp", "member")
        # The undone entry says so, and is not offered for undo again.
        await settle(app, pilot)
        journal.reload()
        undo_id, undone_id = journal.entries[0].id, journal.entries[1].id
        journal.query_one("#journal-table").move_cursor(row=1)
        await pilot.pause()
        table = journal.query_one("#journal-table")
        assert str(table.get_cell_at((1, 6))) == f"undone #{undo_id}"
        assert not journal.check_action("undo", ())
        assert journal.undone == {undone_id: undo_id}
        # Times tick: later, the same entry reads older.
        first = str(table.get_cell_at((1, 1)))
        now = app.clock()
        app.clock = lambda: now + 3600
        journal._tick()
        assert str(table.get_cell_at((1, 1))) != first and "1h" in str(table.get_cell_at((1, 1)))


async def test_demoting_the_last_admin_needs_a_typed_confirmation() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        base_url = app.session.profile.base_url
        await pick_role(app, pilot, "ai-governance", "grace", "member")  # its only admin
        assert isinstance(app.screen, TypedConfirmScreen)
        await pilot.press(*"wrong", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ExplorerScreen)
        assert scim_team_role(base_url, "grace", "ai-governance") == "admin"


def scim_set_team_role(base_url: str, username: str, team: str, role: str) -> None:
    """A change made outside wbadmin (W&B's UI, another admin), straight to SCIM."""
    token = base64.b64encode(f"alice:{key_of('alice')}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    user = httpx.get(f"{base_url}/scim/Users", params={"filter": f'userName eq "{username}"'},
                     headers=headers).json()["Resources"][0]
    r = httpx.patch(f"{base_url}/scim/Users/{user['id']}", headers=headers, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "teamRoles",
                        "value": [{"teamName": team, "roleName": role}]}]})
    assert r.status_code == 200, r.text


async def test_a_plan_wandb_moved_under_is_shown_and_confirmed_again() -> None:
    """The dialog showed member → viewer; meanwhile someone made carol an admin. Applying
    reads W&B again, and the new plan (admin → viewer) is what the person confirms."""
    from wbadmin.tui.flows.apply import MOVED

    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        base_url = app.session.profile.base_url
        await pick_role(app, pilot, "data-science-nlp", "carol", "viewer")
        assert isinstance(app.screen, PlanScreen)
        assert any("member → viewer" in line for line in app.screen.plan.preview())
        scim_set_team_role(base_url, "carol", "data-science-nlp", "admin")  # meanwhile
        first = app.screen
        await pilot.press("tab", "enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, PlanScreen) and app.screen is not first:
                break
        assert isinstance(app.screen, PlanScreen) and app.screen is not first
        assert any("admin → viewer" in line for line in app.screen.plan.preview())
        assert MOVED in app.screen.note
        assert scim_team_role(base_url, "carol", "data-science-nlp") == "admin"  # not yet
        await pilot.press("tab", "enter")
        await wait_for_role(pilot, base_url, "carol", "data-science-nlp", "viewer")
        entries = app.session.journal.query()
        assert [(e.target, e.before) for e in entries] == [("data-science-nlp/carol",
                                                            {"role": "admin"})]


async def test_the_role_picker_starts_on_the_current_role() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await open_team(app, pilot, "data-science-nlp")
        detail = app.screen.query_one(DetailPane)
        table = detail.query_one(DataTable)
        table.focus()
        table.move_cursor(row=detail.row_keys.index("carol"))
        await pilot.press("e")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, ChoiceScreen)
        options = picker.query_one(OptionList)
        current = options.get_option_at_index(options.highlighted)
        assert current.id == "member" and "(current)" in str(current.prompt)
        await pilot.press("enter")  # the current role again: nothing is planned
        await pilot.pause()
        assert not isinstance(app.screen, (ChoiceScreen, PlanScreen))
