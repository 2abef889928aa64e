"""The TUI follows the server (issue 17): against a sandbox playing an older W&B, a degraded
path is said once and kept in its screen's header, a screen whose feature the server lacks
is greyed with the reason (the palette, `?`) and pressing its key says why instead of
failing, and a server without SCIM greys the Access screen's SCIM changes. Over real HTTP,
with the facts the app probes itself on first contact."""

from __future__ import annotations

import pytest

from tests.conftest import key_of
from tests.core.conftest import Home, isolated_home  # noqa: F401  (fixture)
from wbadmin.core.known_keys import KeyIndex
from wbadmin.core.session import Session
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.server import SandboxServer
from wbadmin.sandbox.server_variant import ServerVariant
from wbadmin.tui.app import WbAdminApp
from wbadmin.tui.widgets.header import ShellHeader

from .conftest import settle


@pytest.fixture
def app_on(sandbox_db: Database, isolated_home: Home,  # noqa: F811
           monkeypatch: pytest.MonkeyPatch):
    servers: list[SandboxServer] = []

    def make(variant: ServerVariant) -> WbAdminApp:
        server = SandboxServer(sandbox_db, variant=variant)
        server.start()
        servers.append(server)
        monkeypatch.setenv("WANDB_BASE_URL", server.base_url)
        monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        KeyIndex().remember(Session.resolve().server, key_of("alice"), "alice")
        session = Session.resolve()
        session.ensure_identity()
        return WbAdminApp(session)

    yield make
    for server in servers:
        server.stop()


async def facts_known(app, pilot) -> None:
    for _ in range(400):
        await pilot.pause(0.02)
        if app.facts is not None and not any(
                w.group == "facts" and not w.is_finished for w in app.workers):
            break
    await settle(app, pilot)


def noted(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def header_line(app) -> str:
    header = app.screen.query_one(ShellHeader)
    return str(header.query_one("#header-server").render()) if header.server_note else ""


async def test_a_degraded_path_is_said_once_and_kept_in_its_header(app_on) -> None:
    app = app_on(ServerVariant.of(["Entity.projects(filters)"]))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await facts_known(app, pilot)
        line = "this server has no Entity.projects(filters:); quota refresh reads ordered " \
            "project lists instead"
        assert noted(app).count(line) == 1
        assert header_line(app) == ""  # the Explorer is not limited
        await pilot.press("4")
        await settle(app, pilot)
        assert app.current_mode == "quotas"
        assert f"Quotas degraded on this server: {line}" in header_line(app)
        app.check_server()  # checked again (a later start): not said again
        await facts_known(app, pilot)
        assert noted(app).count(line) == 1
        await pilot.press("q")
    assert app.crash is None


async def test_a_screen_the_server_cannot_serve_is_greyed_with_the_reason(app_on) -> None:
    app = app_on(ServerVariant.of(["Project.artifactCollectionMembership"]))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await facts_known(app, pilot)
        assert app.facts.feature("Promotions").state == "unavailable"
        await pilot.press("3")
        await pilot.pause()
        assert app.current_mode == "explorer"  # it stays closed, and says why
        why = [n for n in noted(app) if "Promotions is unavailable on this server" in n]
        assert why and "Project.artifactCollectionMembership" in why[0]
        await pilot.press("question_mark")
        await pilot.pause()
        rows = dict(app.screen.rows)
        assert "not on this server" in rows["3"], rows
        await pilot.press("escape")
        await pilot.press("2")  # the others open as ever
        await settle(app, pilot)
        assert app.current_mode == "access"
        await pilot.press("q")
    assert app.crash is None


async def test_without_scim_the_role_changes_are_greyed(app_on) -> None:
    app = app_on(ServerVariant.of(scim=False))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await facts_known(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        screen = app.screen
        assert "Access degraded on this server" in header_line(app)
        assert screen.check_action("org_role", ()) is None  # shown, greyed
        # Not a SCIM change: left to the role (unknown here without SCIM), never greyed.
        assert screen.check_action("add_to_team", ()) is not None
        await pilot.press("q")
    assert app.crash is None
