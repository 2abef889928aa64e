"""Tab / Shift+Tab move between the panes of every screen, and the focused pane shows it."""

from __future__ import annotations

import pytest

from tests.tui.conftest import make_app, settle
from wbadmin.tui.pane_focus import panes_of

SCREENS = {
    "explorer": ["tree-pane", "detail"],
    "access": ["people-pane", "findings"],
    "promotions": ["promo-queue-pane", "promo-detail"],
    "onboarding": ["ob-list", "ob-detail"],
    "journal": ["journal-table", "journal-detail-pane"],
    "audit": ["audit-table", "audit-detail-pane"],
}
CYCLES = {**SCREENS, "quotas": ["quota-table", "quota-detail-pane"]}


def focused_pane(app) -> str | None:
    focused = app.focused
    for pane in panes_of(app.screen):
        if focused is pane or pane in focused.ancestors:
            return pane.id
    return None


def border_colour(widget) -> str:
    return str(widget.styles.border_top[1])


@pytest.mark.parametrize("mode", sorted(CYCLES))
async def test_tab_cycles_the_panes(mode: str) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        app.switch_mode(mode)
        await settle(app, pilot)
        panes = CYCLES[mode]
        assert focused_pane(app) == panes[0]
        seen = []
        for _ in range(len(panes)):
            await pilot.press("tab")
            await pilot.pause()
            seen.append(focused_pane(app))
        assert seen == [*panes[1:], panes[0]]  # round, and back to the first
        await pilot.press("shift+tab")
        await pilot.pause()
        assert focused_pane(app) == panes[-1]


@pytest.mark.parametrize("mode", sorted(SCREENS))
async def test_the_focused_pane_is_drawn_differently(mode: str) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        app.switch_mode(mode)
        await settle(app, pilot)
        first, second = (app.screen.query_one(f"#{name}") for name in SCREENS[mode][:2])
        before = border_colour(first), border_colour(second)
        await pilot.press("tab")
        await pilot.pause()
        after = border_colour(first), border_colour(second)
        assert before[0] != after[0] and before[1] != after[1]
        assert before[0] == after[1]  # the same look moved to the other pane


async def test_tab_into_a_pane_gives_its_table_not_the_scroller_around_it() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        app.run_jump(":team vision-research")  # a team: its detail holds the members table
        await settle(app, pilot)
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused.id == "detail-table"
