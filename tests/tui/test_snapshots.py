"""Snapshot of every screen state on the deterministic demo seed (same scenarios as
`wbadmin screenshot`). Update with `pytest tests/tui/test_snapshots.py -n 0 --snapshot-update`
after a deliberate change, and look at the pictures."""

from __future__ import annotations

from pathlib import Path

import pytest

from wbadmin.tui.screenshot import SCENARIOS, _freeze_cursor, make_demo_app

# The API-call log and the doctor show measured durations (and the sandbox's port): they
# cannot be snapshots.
NAMES = [name for name in SCENARIOS if name not in ("api-log", "doctor")]


def matches_snapshot(name: str, size: tuple[int, int] | None, snap_compare,
                     workdir: Path) -> bool:
    _, scenario, own_size = SCENARIOS[name]
    app = make_demo_app(workdir)

    async def run_before(pilot) -> None:
        _freeze_cursor(app)
        await scenario(app, pilot)

    return snap_compare(app, run_before=run_before, terminal_size=size or own_size)


@pytest.mark.parametrize("name", NAMES)
def test_screen(name: str, snap_compare, tmp_path: Path) -> None:
    assert matches_snapshot(name, None, snap_compare, tmp_path)


# Each screen's main state at the three sizes a layout must fit: 80×24 (the panes stack),
# 120×40 and 160×48 (nothing may be cut that has room, the footer keeps `? help` and `q`).
MAIN_STATES = ["explorer-team", "access", "promotions", "quotas", "onboarding", "journal"]
SIZES = [(80, 24), (120, 40), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", MAIN_STATES)
def test_screen_fits(name: str, size: tuple[int, int], snap_compare, tmp_path: Path) -> None:
    assert matches_snapshot(name, size, snap_compare, tmp_path)
