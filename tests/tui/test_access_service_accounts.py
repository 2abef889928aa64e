"""The Access screen's service-account findings in the TUI (issue 18): the app reads what W&B
tells of the service accounts after the tree is shown, so an org admin's findings are judged,
not "not read yet" (which `wbadmin sa list --refresh` would otherwise be needed for); a team
admin's stay "not visible to you"."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from tests.conftest import key_of
from wbadmin.core import humanize
from wbadmin.core.access import service_accounts as sa
from wbadmin.tui.app import WATCH_S
from wbadmin.tui.screens.access import AccessScreen
from wbadmin.tui.widgets.fast_table import FastTable

from .conftest import make_app, settle
from .test_breadcrumb import crumbs
from .test_live import LIVE_WAIT_S, another_process, wait_until


async def test_an_org_admin_sees_the_service_account_findings_judged() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        found = [f for f in app.screen.found if "service-account" in f.id]
        assert found, [f.id for f in app.screen.found]
        for finding in found:
            assert "not read yet" not in finding.hidden, finding
        assert app.session.cache.scalar("SELECT keys_readable FROM sa_read") == 1


async def test_a_team_admin_is_told_what_is_not_visible() -> None:
    app = make_app(user="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        found = {f.id: f for f in app.screen.found}
        assert all("not read yet" not in f.hidden for f in found.values())


# ---- the service-account view (`v`) ------------------------------------------------------

async def open_service_accounts(app, pilot) -> AccessScreen:
    await settle(app, pilot)
    await pilot.press("2")
    await settle(app, pilot)
    await pilot.press("v")
    await pilot.pause()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, AccessScreen)
    return screen


def shown_rows(screen: AccessScreen) -> list[tuple[str, ...]]:
    table = screen.query_one("#people", FastTable)
    return [tuple(str(cell) for cell in row) for row in table.cells]


def detail_text(screen: AccessScreen) -> str:
    return str(screen.query_one("#person-detail", Static).render())


def expected_rows(app) -> list[tuple[str, ...]]:
    """What `wbadmin sa list` says of the same cache, in the table's words."""
    now = app.clock()

    def when(ts: float | None) -> str:
        return "unknown" if ts is None else humanize.ago(ts, now)

    return [(a.username, a.team or "—", a.scope,
             "not visible" if a.keys is None else str(len(a.keys)),
             when(a.last_key_at), when(a.last_activity_at))
            for a in sa.inventory(app.session.cache).accounts]


async def move_to(pilot, screen: AccessScreen, name: str) -> None:
    names = [a.username for a in screen.accounts]
    screen.query_one("#people", FastTable).move_cursor(row=names.index(name))
    await pilot.pause()
    await pilot.pause()


async def test_v_switches_the_table_between_people_and_service_accounts() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        pane = screen.query_one("#people-pane")
        assert pane.border_title == "Service accounts"
        assert screen.query_one("#people", FastTable).columns == [
            "name", "team", "scope", "keys", "key made", "active"]
        rows = shown_rows(screen)
        assert rows == expected_rows(app)
        # An org admin sees every account, the one in no team too, and their keys.
        assert [r[0] for r in rows] == ["ci-bot", "deploy-bot", "eval-runner",
                                        "org-provisioner"]
        assert {r[3] for r in rows} == {"1"}
        assert rows[1][4] == "unknown"  # deploy-bot: no key made in the audit log read
        assert screen.selected_service_account() == "ci-bot"
        assert screen.selected() is None  # nothing a people action could take
        assert crumbs(app)[-3:] == ("access", "service accounts", "ci-bot")
        await pilot.press("v")
        await pilot.pause()
        await pilot.pause()
        assert pane.border_title == "People"
        assert len(screen.rows) == 43 and screen.selected_service_account() is None
        assert screen.query_one("#people", FastTable).columns[1] == "user"
        assert crumbs(app)[-2:] == ("access", screen.selected().username)


async def test_the_detail_shows_the_account_in_full_and_never_a_key_value() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        await move_to(pilot, screen, "eval-runner")
        account = sa.inventory(app.session.cache).get("eval-runner")
        assert account is not None and account.keys
        text = detail_text(screen)
        assert "team: data-science-nlp (member)" in text
        assert f"scope: {account.scope} ← {account.scope_why}" in text
        for line in account.reach:
            assert f"  {line}\n" in text, line
        for key in account.keys:
            assert f"{key.id}  {key.description or ''}".rstrip() in text
        assert key_of("eval-runner") not in text
        assert "last key made: unknown" in text
        assert f"logged runs in: {', '.join(account.run_teams)}" in text
        # The findings that name it, with what they say of it.
        assert "Service accounts with access to restricted registries" in text
        assert "    restricted registry dataset via team data-science-nlp\n" in text
        assert "Service-account keys of unknown age" in text
        assert crumbs(app)[-1] == "eval-runner"


async def test_people_only_keys_do_nothing_to_a_service_account_but_say_why() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        for key in ("e", "g", "d", "a", "x", "space", "L"):
            app.clear_notifications()
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen, (key, app.screen)  # no dialog, no plan
            notes = [str(n.message) for n in app._notifications]
            assert len(notes) == 1 and notes[0].startswith(
                "ci-bot is a service account: "), (key, notes)
            assert "is for people" in notes[0]
        assert screen.marked == set()
        assert screen.selected_service_account() == "ci-bot"  # the cursor did not move


async def test_the_filter_runs_over_name_team_and_description() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        box = screen.query_one("#people-filter", Input)
        await pilot.press("slash")
        assert "service accounts" in box.placeholder
        for text, names in (("eval", ["eval-runner"]),  # its name
                            ("product-ai", ["deploy-bot"]),  # its team
                            ("release automation", ["deploy-bot"]),  # its description
                            ("nobody-by-this-name", [])):
            box.value = text
            await pilot.pause()
            await pilot.pause()
            assert [r[0] for r in shown_rows(screen)] == names, text
        assert "No service account matches." in detail_text(screen)
        assert "0 of 4" in str(screen.query_one("#people-count", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert len(shown_rows(screen)) == 4


@pytest.mark.parametrize("user", ["bob", "carol"])
async def test_a_non_org_admin_sees_fewer_accounts_and_their_keys_not_visible(user) -> None:
    app = make_app(user=user)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        rows = shown_rows(screen)
        assert rows == expected_rows(app)
        names = [r[0] for r in rows]
        assert names and "org-provisioner" not in names  # in no team: an org admin's only
        assert all(r[3] == "not visible" and r[4] == r[5] == "unknown" for r in rows), rows
        text = detail_text(screen)
        assert "keys: not visible to you" in text
        assert f"not visible to {user}" in text  # why: the inventory's note


async def test_the_view_follows_the_cache_and_the_app_s_own_read() -> None:
    """Another process emptying the keys (as a read elsewhere would) reaches the view; the
    app's own read of the facts (`r`, once they are a day old) brings them back."""
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        assert {r[3] for r in shown_rows(screen)} == {"1"}
        another_process(str(app.session.cache.path),
                        "DELETE FROM sa_keys")
        assert await wait_until(pilot, lambda: {r[3] for r in shown_rows(screen)} == {"0"},
                                LIVE_WAIT_S), shown_rows(screen)
        assert "keys: 0" in detail_text(screen)
        another_process(str(app.session.cache.path),
                        "UPDATE sa_read SET fetched_at = 0")  # a day old and more
        await pilot.pause(WATCH_S * 2)
        await pilot.press("r")
        assert await wait_until(pilot, lambda: {r[3] for r in shown_rows(screen)} == {"1"},
                                LIVE_WAIT_S), shown_rows(screen)
        assert screen.view == "service accounts" and screen.selected_service_account()
        assert "keys: 1 (ids only, never a value)" in detail_text(screen)
