"""The TUI against a server that accepts connections and never answers (for a key this
machine verified before, so it opens): it says so, naming the URL, within the [network]
deadline, keeps every screen usable, and quits on q."""

from __future__ import annotations

import pytest

from tests.cli.test_deadlines import black_hole  # noqa: F401  (fixture)
from tests.conftest import key_of
from tests.core.conftest import Home, isolated_home  # noqa: F401  (fixture)
from wbadmin.core.known_keys import KeyIndex
from wbadmin.core.session import Session
from wbadmin.tui.app import WbAdminApp

from .conftest import settle


async def test_a_dead_server_is_reported_and_the_app_stays_usable(
        isolated_home: Home, black_hole: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    isolated_home.write_config("[network]\nread_timeout_s = 0.3\ngive_up_after_s = 0.8\n"
                               "backoff_base_s = 0.05\n")
    monkeypatch.setenv("WANDB_BASE_URL", black_hole)
    monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # This key was verified on this machine before (yesterday, when the server answered).
    KeyIndex().remember(Session.resolve().server, key_of("alice"), "alice")
    session = Session.resolve()
    session.ensure_identity()  # known: no request
    assert not session.sandbox and session.cache is not None
    app = WbAdminApp(session)
    notes: list[str] = []
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        original = app.notify

        def keep(message, *args, **kwargs):
            notes.append(str(message))
            return original(message, *args, **kwargs)

        app.notify = keep
        for _ in range(300):  # the deadline is under a second; allow a slow machine
            await pilot.pause(0.05)
            if any(black_hole in n for n in notes):
                break
        assert any(black_hole in n and "no answer" in n for n in notes), notes
        await settle(app, pilot)
        for key, mode in (("5", "onboarding"), ("6", "journal"), ("1", "explorer")):
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode
        await pilot.press("q")
        await pilot.pause()
    assert app.crash is None
