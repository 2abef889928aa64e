"""TUI fixtures: the app on an in-memory embedded sandbox, deterministic clock and dirs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SEED_NOW
from wbadmin.core.session import Session
from wbadmin.core.settings import clear_settings_cache
from wbadmin.tui.app import WbAdminApp
from wbadmin.tui.run import sandbox_launcher

# The app's clock: two hours after the seed's reference time.
APP_NOW = float(SEED_NOW // 3600 * 3600 + 2 * 3600)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        (tmp_path / var).mkdir()
        monkeypatch.setenv(var, str(tmp_path / var))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    for var in ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_ENTITY", "WANDB_ORGANIZATION"):
        monkeypatch.delenv(var, raising=False)
    clear_settings_cache()
    yield tmp_path
    clear_settings_cache()


def make_app(*, read_only: bool = False, offline: bool = False, user: str = "alice",
             autoconnect: bool = True) -> WbAdminApp:
    """The app on the demo org, signed in as `user`, with a frozen clock."""
    session = Session.resolve(force_sandbox=True, read_only=read_only, offline=offline)
    launcher = sandbox_launcher(in_memory=True, now=SEED_NOW)
    if user != "alice":
        inner = launcher

        def launcher():  # sign in as another demo identity
            from wbadmin.core.session import SandboxHandle
            from wbadmin.sandbox.seed import api_key_for

            handle = inner()
            return SandboxHandle(handle.base_url, api_key_for(0, user), user, handle.stop)

    return WbAdminApp(session, launcher, clock=lambda: APP_NOW, autoconnect=autoconnect)


async def settle(app: WbAdminApp, pilot) -> None:
    """Wait for the connect and sync workers, then for the screen to redraw."""
    for _ in range(200):
        await pilot.pause(0.02)
        if not app.refreshing and not any(
                w.group in ("connect", "sync") and not w.is_finished for w in app.workers):
            break
    await pilot.pause()


@pytest.fixture
def app_factory() -> Callable[..., WbAdminApp]:
    return make_app
