"""The audit screen (7): W&B's audit log and wbadmin's journal on one timeline, over the
embedded sandbox's real audit-log API."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import make_app, settle
from wbadmin.core.access.changes import CancelInvite
from wbadmin.core.audit_timeline import WANDB, WBADMIN
from wbadmin.core.changes import Plan
from wbadmin.core.session import Session
from wbadmin.tui.app import WbAdminApp
from wbadmin.tui.screens.audit import PAGE, AuditScreen
from wbadmin.tui.screens.explorer import ExplorerScreen
from wbadmin.tui.screenshot import (
    APP_NOW,
    STALE_INVITE,
    cancel_stale_invite,
    make_demo_app,
    settle_audit,
)

TEAM, INVITEE = STALE_INVITE
DAVE = "dave@inference-systems.ai"  # invited to data-science-nlp by bob (the demo seed)


async def open_audit(app, pilot) -> AuditScreen:
    await settle(app, pilot)
    await pilot.press("7")
    await settle_audit(app, pilot)
    screen = app.screen
    assert isinstance(screen, AuditScreen)
    return screen


async def cancel_invite_as_bob(app, pilot) -> None:
    """bob, admin of data-science-nlp, cancels its invite to dave (through the engine)."""
    await settle(app, pilot)
    plan = Plan("cancel", [CancelInvite.make("data-science-nlp", email=DAVE)])
    [outcome] = await app.session.engine().apply(plan, app.session.client, "bob")
    assert outcome.status == "applied", outcome


def note(screen: AuditScreen) -> str:
    box = screen.query_one("#audit-note")
    return str(box.content) if box.display else ""


async def test_alice_sees_every_actor_of_wandb_and_the_journal_newest_first() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await cancel_stale_invite(app)
        screen = await open_audit(app, pilot)
        rows = screen.rows
        assert {e.source for e in rows} == {WANDB, WBADMIN}
        assert len({e.actor for e in rows if e.source == WANDB}) > 3  # not only wbadmin's
        assert [e.at for e in rows] == sorted((e.at for e in rows), reverse=True)
        assert screen.table.row_count == len(rows) <= PAGE
        assert note(screen) == ""
        # The change made through wbadmin is linked both ways to the event W&B logged.
        mine = next(e for e in rows if e.kind == "team.cancel_invite")
        [key] = mine.linked
        event = next(e for e in rows if e.key == key)
        assert (event.action, event.team, event.user) == ("team:uninvite", TEAM, INVITEE)
        assert event.journal_id == mine.journal_id
        screen.table.move_cursor(row=rows.index(event))
        await pilot.pause()
        detail = str(screen.query_one("#audit-detail").content)
        assert f"caused by wbadmin journal entry #{mine.journal_id}" in detail
        assert INVITEE in detail
        assert f"← #{mine.journal_id}" in str(screen.table.get_row_at(rows.index(event))[-1])


async def test_source_period_and_search_narrow_the_rows() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await cancel_stale_invite(app)
        screen = await open_audit(app, pilot)
        week = list(screen.rows)
        await pilot.press("s")  # W&B only
        assert screen.rows and {e.source for e in screen.rows} == {WANDB}
        await pilot.press("s")  # wbadmin only
        assert [e.kind for e in screen.rows] == ["team.cancel_invite"]
        await pilot.press("s")  # all again
        assert screen.rows == week
        await pilot.press("slash", *"uninvite", "enter")  # enter: back to the rows
        await pilot.pause()
        assert app.screen is screen and app.focused is screen.table
        assert {e.action for e in screen.rows} == {"team:uninvite"}
        assert {e.source for e in screen.rows} == {WANDB, WBADMIN}
        assert screen.table.row_count == len(screen.rows)
        await pilot.press("escape")
        await pilot.pause()
        assert screen.rows == week
        await pilot.press("p")  # 30 days: older events, read from W&B for the new period
        await settle_audit(app, pilot)
        assert screen.period == "30d" and len(screen.rows) > len(week)
        assert min(e.at for e in screen.rows) < APP_NOW - 7 * 86400
        assert "last 30d" in app.screen.query_one("#header").crumbs


async def test_enter_opens_the_team_or_the_person_in_the_explorer() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await cancel_stale_invite(app)
        screen = await open_audit(app, pilot)
        event = next(e for e in screen.rows if e.action == "team:uninvite")
        screen.table.move_cursor(row=screen.rows.index(event))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExplorerScreen)
        assert app.history[-1].kind == "team" and app.history[-1].team == TEAM
        await pilot.press("7")
        await settle_audit(app, pilot)
        login = next(e for e in screen.rows if e.action == "user:login"
                     and e.actor == "bob@inference-systems.ai")
        screen.table.move_cursor(row=screen.rows.index(login))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExplorerScreen)
        assert (app.history[-1].kind, app.history[-1].name) == ("user", "bob")


async def test_a_team_admin_is_told_in_one_line_and_sees_the_journal() -> None:
    app = make_app(user="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await cancel_invite_as_bob(app, pilot)
        await pilot.press("7")
        await settle_audit(app, pilot)
        screen = app.screen
        assert note(screen).startswith("the audit log is not readable: only org admins")
        assert "\n" not in note(screen)
        assert [(e.source, e.kind, e.actor) for e in screen.rows] == [
            (WBADMIN, "team.cancel_invite", "bob")]
        assert DAVE in str(screen.query_one("#audit-detail").content)


async def test_offline_shows_the_cached_log_and_says_so(tmp_path: Path) -> None:
    online = make_demo_app(tmp_path)
    async with online.run_test(size=(160, 48)) as pilot:
        await settle(online, pilot)
        await cancel_stale_invite(online)
        read = await open_audit(online, pilot)
        seen = [(e.source, e.key, e.journal_id) for e in read.rows]
    session = Session.resolve(force_sandbox=True, offline=True,
                              flags={"cache_path": tmp_path / "cache.sqlite3",
                                     "journal_path": tmp_path / "journal.sqlite3"})
    app = WbAdminApp(session, launcher=None, clock=lambda: APP_NOW)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("7")
        await settle_audit(app, pilot)
        screen = app.screen
        assert [(e.source, e.key, e.journal_id) for e in screen.rows] == seen
        assert note(screen).startswith("offline: W&B's audit log as read up to")
        await pilot.press("r")
        await pilot.pause()
        assert any("offline" in str(n.message) for n in app._notifications)
        assert session.client is None  # nothing went to the network


async def test_a_long_log_is_loaded_a_page_at_a_time() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_audit(app, pilot)
        await pilot.press("p", "p")  # 90 days of the demo org's log
        await settle_audit(app, pilot)
        total = len(screen.rows)
        assert total > PAGE and screen.table.row_count == PAGE
        assert f"{PAGE} of {total:,}" in str(screen.query_one("#audit-count").content)
        screen.table.move_cursor(row=PAGE - 1)
        await pilot.pause()
        assert screen.table.row_count == min(2 * PAGE, total)


async def test_enter_on_an_artifact_event_opens_its_registry_collection() -> None:
    """An artifact read names only ids: the cached registry versions tell which collection."""
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_audit(app, pilot)
        read = next(e for e in screen.rows if e.action == "artifact:read")
        registry, collection = app.session.cache.query(
            "SELECT registry, collection FROM versions WHERE id = ?",
            (read.entry["artifact_asset"],))[0]
        screen.table.move_cursor(row=screen.rows.index(read))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExplorerScreen)
        place = app.history[-1]
        assert (place.kind, place.registry, place.name) == ("collection", registry, collection)
