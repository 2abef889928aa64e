"""TUI fixtures: the app on an in-memory embedded sandbox, deterministic clock and dirs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from wbadmin.core.settings import clear_settings_cache
from wbadmin.tui.app import WbAdminApp
from wbadmin.tui.screenshot import make_demo_app, settle

__all__ = ["make_app", "settle"]


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


def make_app(*, read_only: bool = False, user: str = "alice") -> WbAdminApp:
    """The app on the demo org, signed in as `user`, with a frozen clock and temp files."""
    workdir = Path(tempfile.mkdtemp(prefix="wbadmin-tui-"))
    return make_demo_app(workdir, user=user, read_only=read_only)



async def wait_for(pilot, predicate, tries: int = 200) -> bool:
    """Until `predicate()` holds (checked first, then every 50 ms), at most `tries` times."""
    for _ in range(tries):
        if predicate():
            return True
        await pilot.pause(0.05)
    return predicate()
