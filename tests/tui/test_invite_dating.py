"""Invite ages come in after the tree: the TUI shows the synced org first, then dates the
pending invites from the audit log in the background and reloads the screen with them."""

from __future__ import annotations

import asyncio

from tests.tui.conftest import make_app
from tests.tui.test_live import wait_until
from wbadmin.core.sync import Syncer


async def test_the_tree_shows_before_invite_ages_arrive(monkeypatch) -> None:
    release = asyncio.Event()
    real = Syncer.date_invites

    async def held(self):  # the audit log answers only once the test says so
        await release.wait()
        return await real(self)

    monkeypatch.setattr(Syncer, "date_invites", held)
    app = make_app()

    def dated() -> int:
        return app.session.cache.scalar(
            "SELECT COUNT(*) FROM invites WHERE created_at IS NOT NULL")

    async with app.run_test(size=(120, 36)) as pilot:
        # The structure is synced and shown while the invite ages are still being read.
        assert await wait_until(pilot, lambda: app.generation > 0 and not app.refreshing, 30)
        assert app.session.cache.scalar("SELECT COUNT(*) FROM invites") == 3
        assert dated() == 0
        shown = app.generation
        release.set()
        assert await wait_until(pilot, lambda: dated() == 3, 30)
        assert await wait_until(pilot, lambda: app.generation > shown, 5)  # the screen reloaded
