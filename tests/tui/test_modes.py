"""Offline mode, key overrides from the config file, and panels an identity may not read."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import make_app, settle
from wbadmin.core.session import Session
from wbadmin.core.settings import clear_settings_cache
from wbadmin.tui.app import WbAdminApp
from wbadmin.tui.screenshot import APP_NOW, make_demo_app
from wbadmin.tui.widgets.detail import DetailPane
from wbadmin.tui.widgets.header import ShellHeader
from wbadmin.tui.widgets.org_tree import OrgTree


async def test_offline_reads_the_cache_and_says_so(tmp_path: Path) -> None:
    online = make_demo_app(tmp_path)
    async with online.run_test(size=(120, 36)) as pilot:
        await settle(online, pilot)
    session = Session.resolve(force_sandbox=True, offline=True,
                              flags={"cache_path": tmp_path / "cache.sqlite3",
                                     "journal_path": tmp_path / "journal.sqlite3"})
    app = WbAdminApp(session, launcher=None, clock=lambda: APP_NOW + 600)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        header = app.screen.query_one(ShellHeader)
        assert header.badges == ("OFFLINE",)
        assert header.age_seconds == 600
        teams = [n for n in app.screen.query_one(OrgTree).root.children
                 if n.data.kind == "team"]
        assert len(teams) == 9
        await pilot.press("r")
        await pilot.pause()
        assert any("offline" in str(n.message) for n in app._notifications)
        assert session.client is None  # nothing went to the network
        assert not any(
            a.binding.action == "edit_role" and a.enabled
            for a in app.screen.active_bindings.values())


async def test_keys_can_be_rebound_in_the_config_file(isolated_dirs: Path) -> None:
    config = isolated_dirs / "XDG_CONFIG_HOME" / "wbadmin" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[keys]\ncopy = "c"\n')
    clear_settings_cache()
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.run_jump("team ai-governance")
        await pilot.pause()
        await pilot.press("c")
        assert app.clipboard == "ai-governance"


async def test_a_member_sees_why_people_are_not_listed() -> None:
    app = make_app(user="carol")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        teams = {n.data.team for n in app.screen.query_one(OrgTree).root.children
                 if n.data.kind == "team"}
        assert teams == {"data-science-nlp", "product-ai-agents"}
        app.run_jump("user bob")
        await pilot.pause()
        summary = str(app.screen.query_one("#detail-summary").render())
        assert "SCIM lists people for org admins" in summary
        assert app.screen.query_one(DetailPane).location.name == "bob"
