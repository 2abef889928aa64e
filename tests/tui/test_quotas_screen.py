"""The Quotas screen (key 4) on the demo sandbox: gauges per team, drill into a team, the
metric, cost and period keys, the filter, a failed refresh keeping the cached figures."""

from __future__ import annotations

import httpx
from textual.widgets import DataTable, Static

from wbadmin.tui.commands import ACTIONS
from wbadmin.tui.screens.help import HelpScreen
from wbadmin.tui.screens.quotas import QuotasScreen
from wbadmin.tui.screenshot import _quotas
from wbadmin.tui.widgets.quota_team import TeamDrill

from .conftest import make_app


def cells(table: DataTable) -> list[list[str]]:
    return [[str(getattr(c, "plain", c)) for c in table.get_row_at(i)]
            for i in range(table.row_count)]


def row_of(table: DataTable, team: str) -> list[str]:
    return next(r for r in cells(table) if r[0] == team)


def plain(static: Static) -> str:
    import io

    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(static.content)
    return console.export_text()


async def test_key_4_shows_a_gauge_per_team_with_limits_and_forecast() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await _quotas(app, pilot)
        screen = app.screen
        assert isinstance(screen, QuotasScreen) and app.current_mode == "quotas"
        table = screen.table
        assert table.row_count == 9
        dsn = row_of(table, "data-science-nlp")
        assert dsn[2] == "1,190 h / 1,100 h" and dsn[3] == "108 %"
        assert "over since Nov 15" in dsn[4]
        llm = row_of(table, "llm-platform-eng")
        assert llm[3] == "78 %" and "hard Nov" in llm[4]
        assert "█" in dsn[1] and "│" in llm[1] and "┊" in llm[1]
        assert row_of(table, "ml-infra")[3] == ""  # no limit in the demo policy
        pane = screen.query_one("#quotas")
        assert "GPU-hours · November 2026 (day 18 of 30)" in str(pane.border_title)
        assert "demo policy" in str(pane.border_subtitle)
        count = plain(screen.query_one("#quota-count", Static))
        assert "9 of 9 teams" in count and "demo policy" in count
        detail = plain(screen.query_one("#quota-detail", Static))
        assert "forecast" in detail and "at period end" in detail


async def test_enter_drills_into_a_team_and_escape_comes_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await _quotas(app, pilot)
        screen = app.screen
        names = [t.team for t in screen.rows]
        screen.table.move_cursor(row=names.index("data-science-nlp"))
        await pilot.press("enter")
        await pilot.pause()
        drill = screen.query_one(TeamDrill)
        assert drill.display and screen.team == "data-science-nlp"
        projects = cells(drill.table)
        assert projects[0][0] == "support-agent-rag-v1" and projects[0][5] == "OVER"
        assert {p[0] for p in projects} >= {"rag-pipeline-v2", "intent-classifier"}
        runs = plain(screen.query_one("#qt-runs", Static))
        users = plain(screen.query_one("#qt-users", Static))
        assert "Top runs" in runs and " h" in runs and "Top users" in users
        await pilot.press("escape")
        await pilot.pause()
        assert screen.team is None
        assert screen.table.cursor_row == names.index("data-science-nlp")


async def test_metric_cost_and_period_keys() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await _quotas(app, pilot)
        screen = app.screen
        await pilot.press("s")
        await pilot.pause()
        assert "Storage" in str(screen.query_one("#quotas").border_title)
        assert any(" TB" in r[2] or " GB" in r[2] for r in cells(screen.table))
        await pilot.press("c")
        await pilot.pause()
        assert "Concurrent runs" in str(screen.query_one("#quotas").border_title)
        assert row_of(screen.table, "product-ai-agents")[2] == "3 / 10"
        await pilot.press("dollar_sign")
        await pilot.pause()
        costs = cells(screen.table)
        assert costs[0][0] == "ai-governance"
        assert row_of(screen.table, "llm-platform-eng")[2] == "$3.10"
        assert all(r[3].startswith("$") for r in costs)
        await pilot.press("g", "p")
        for _ in range(50):
            await pilot.pause(0.02)
            if "previous period" in str(screen.query_one("#quotas").border_title):
                break
        assert "October 2026 (previous period)" in str(screen.query_one("#quotas").border_title)


async def test_filter_shows_n_of_m() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await _quotas(app, pilot)
        screen = app.screen
        await pilot.press("slash", *"nlp")
        await pilot.pause()
        assert screen.table.row_count == 1
        assert "1 of 9 teams" in plain(screen.query_one("#quota-count", Static))
        await pilot.press("escape")
        await pilot.pause()
        assert screen.table.row_count == 9


async def test_a_failed_refresh_keeps_the_cached_figures() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await _quotas(app, pilot)
        screen = app.screen
        from wbadmin.core.client import Client

        app.session.client = Client(app.session.profile.base_url,
                                    app.session.key.reveal(), max_retries=0)
        httpx.post(app.session.profile.base_url + "/_sandbox/faults", json={"error_rate": 1.0})
        await pilot.press("r")
        for _ in range(100):
            await pilot.pause(0.02)
            if screen.refresh_note and screen.refresh_note.startswith("refresh failed"):
                break
        assert screen.refresh_note.startswith("refresh failed")
        assert screen.table.row_count == 9
        assert row_of(screen.table, "data-science-nlp")[3] == "108 %"
        assert any("Quota refresh failed" in str(n.title) for n in app._notifications)


async def test_read_only_jump_palette_and_help() -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app.run_jump("quotas")
        await pilot.pause()
        assert app.current_mode == "quotas"
        await _quotas(app, pilot)
        assert app.screen.table.row_count == 9  # nothing here changes W&B
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = dict(app.screen.rows)
        assert rows.get("4") == "Quotas" and rows.get("$") == "cost"
    assert ("Quotas: GPU-hours, storage and concurrency per team",
            "switch_mode('quotas')") in ACTIONS


async def test_narrow_terminal() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _quotas(app, pilot)
        assert app.screen.table.row_count == 9
        detail = plain(app.screen.query_one("#quota-detail", Static))
        assert "daily" in detail


def filled(bar_cell: str) -> float:
    """How many cells of a gauge are filled (eighths count; a limit mark with fill after it
    stands in the filled part)."""
    eighths = " ▏▎▍▌▋▊▉█"
    fill = [i for i, c in enumerate(bar_cell) if c in eighths[1:]]
    if not fill:
        return 0.0
    return sum(eighths.index(c) / 8 if c in eighths else 1.0
               for c in bar_cell[:fill[-1] + 1])


async def test_every_bar_of_a_metric_is_on_one_scale() -> None:
    """Concurrency: vision-research (no limit) runs 2, product-ai-agents 3 of its 10; the
    unlimited team's bar is the shorter one, and says it has no limit."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await _quotas(app, pilot)
        screen = app.screen
        await pilot.press("c")
        await pilot.pause()
        vision = row_of(screen.table, "vision-research")
        agents = row_of(screen.table, "product-ai-agents")
        assert vision[2] == "2 / no limit" and vision[4] == "no limit"
        assert agents[2] == "3 / 10"
        assert 0 < filled(vision[1]) < filled(agents[1])
        await pilot.press("g")
        await pilot.pause()
        rows = {r[0]: r for r in cells(screen.table)}
        used = {t.team: t.gpu_hours.used for t in screen.rows}
        for a in used:  # more GPU-hours never draw a shorter bar, limited or not
            for b in used:
                if used[a] > used[b] * 1.1:
                    assert filled(rows[a][1]) >= filled(rows[b][1]), (a, b)


async def test_the_chart_and_outlook_follow_the_metric() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await _quotas(app, pilot)
        screen = app.screen
        names = [t.team for t in screen.rows]
        screen.table.move_cursor(row=names.index("llm-platform-eng"))
        await pilot.pause()

        def detail() -> str:
            return plain(screen.query_one("#quota-detail", Static))

        gpu = detail()
        assert "GPU-hours per day" in gpu and "forecast" in gpu and "$" in gpu
        assert "by period end" in row_of(screen.table, "llm-platform-eng")[4]

        await pilot.press("c")
        await pilot.pause()
        runs = detail()
        assert "llm-platform-eng · most runs at once, November 2026" in runs
        assert "peak" in runs and "soft 8 · hard 12" in runs and "room for 11 more" in runs
        assert "GPU" not in runs and "forecast" not in runs and "$" not in runs
        outlooks = [r[4] for r in cells(screen.table)]
        assert row_of(screen.table, "product-ai-agents")[4] == "room for 7 more runs (hard limit)"
        assert not any("period end" in o or "over since" in o for o in outlooks)

        await pilot.press("s")
        await pilot.pause()
        storage = detail()
        assert "llm-platform-eng · storage now" in storage and "no daily history" in storage
        assert "below the hard limit" in storage and "soft 1.5 TB · hard 2.5 TB" in storage
        assert "GPU" not in storage and "at period end" not in storage and "$" not in storage
        assert "below the hard limit" in row_of(screen.table, "llm-platform-eng")[4]

        await pilot.press("g")
        await pilot.pause()
        assert "GPU-hours per day" in detail() and "forecast" in detail()
