"""One bar scale per metric (limited and unlimited teams alike), each metric's own history,
and one metric's report carrying no GPU cost or GPU forecast."""

from __future__ import annotations

import pytest

from wbadmin.core.cache import Cache
from wbadmin.core.quotas.history import daily
from wbadmin.core.quotas.scale import HARD_MARK, filled_cells, gauge_cells
from wbadmin.core.quotas.store import UsageStore
from wbadmin.core.quotas.usage import GB, compute

from .conftest import fill, policy, run, ts

NOV_20 = ts("2026-11-20 12:00")
WIDTH = 30
LIMITS = """
[defaults]
price_per_gpu_hour = 2.0
[teams.t1]
gpu_hours = 100
storage_gb = 1000
concurrent_runs = 10
"""


def running(team: str, n: int) -> list:
    return [run(team, f"{team}-r{i}", "2026-11-20 10:00", "2026-11-20 11:59", 1,
                state="running") for i in range(n)]


def bars(cache: Cache, metric: str) -> dict[str, float]:
    """Filled cells of every team's bar of `metric`, on the report's one scale."""
    report = compute(cache, policy(LIMITS), NOV_20)
    scale = report.scale(metric)
    return {t.team: filled_cells(gauge_cells(t.gauge(metric), scale, WIDTH))
            for t in report.teams}


def test_two_unlimited_runs_draw_shorter_than_three_of_ten(store_cache: Cache) -> None:
    """The issue's case: t1 runs 3 of its 10, t2 (no limit) runs 2."""
    fill(store_cache, running("t1", 3) + running("t2", 2))
    report = compute(store_cache, policy(LIMITS), NOV_20)
    t1, t2 = report.team("t1"), report.team("t2")
    assert t1 is not None and t2 is not None
    assert (t1.running.used, t2.running.used) == (3, 2)
    assert t2.running.limit.reference is None
    drawn = bars(store_cache, "concurrent_runs")
    assert 0 < drawn["t2"] < drawn["t1"]
    # Both on the same scale: the lengths are in proportion to the usage.
    assert drawn["t2"] / drawn["t1"] == pytest.approx(2 / 3, abs=0.1)


def test_storage_bars_compare_across_limited_and_unlimited_teams(store_cache: Cache) -> None:
    fill(store_cache, [])
    with store_cache.transaction() as conn:  # t1: 500 GB of 1000; t2: 800 GB, no limit
        UsageStore.write_storage(conn, {"t1": 500 * GB, "t2": 800 * GB}, NOV_20)
    drawn = bars(store_cache, "storage_gb")
    assert drawn["t2"] > drawn["t1"] > 0


def test_every_limit_mark_fits_in_the_bar(store_cache: Cache) -> None:
    """The scale reaches past the largest limit too, so a team far below its limit still
    shows the hard mark, on the same scale as the others."""
    fill(store_cache, running("t2", 2))
    report = compute(store_cache, policy(LIMITS), NOV_20)
    scale = report.scale("concurrent_runs")
    t1 = report.team("t1")
    assert t1 is not None and t1.running.used == 0
    cells = gauge_cells(t1.running, scale, WIDTH)
    assert [c.char for c in cells].index(HARD_MARK) < WIDTH - 1


def test_concurrency_history_is_the_most_runs_at_once_per_day(store_cache: Cache) -> None:
    fill(store_cache, [
        run("t1", "a", "2026-11-02 10:00", "2026-11-02 14:00", 1),
        run("t1", "b", "2026-11-02 12:00", "2026-11-02 13:00", 0),  # no GPU: still a run
        run("t1", "c", "2026-11-03 23:00", "2026-11-04 01:00", 2),
        run("t1", "d", "2026-11-19 08:00", "2026-11-20 11:59", 1, state="running"),
    ])
    report = compute(store_cache, policy(LIMITS), NOV_20)
    team = report.team("t1")
    assert team is not None
    series = daily(UsageStore(store_cache), team, "concurrent_runs", NOV_20)
    assert series is not None and len(series.values) == 30
    assert series.values[:5] == [0, 2, 1, 1, 0]
    assert series.values[18:21] == [1, 1, 0]  # Nov 19, today (Nov 20), tomorrow
    assert series.peak == 2 and series.peak_day(team.period) == team.period.first.replace(day=2)
    assert daily(UsageStore(store_cache), team, "storage_gb", NOV_20) is None  # W&B keeps none


def test_one_metric_report_has_no_gpu_cost_or_gpu_forecast(store_cache: Cache) -> None:
    """t1 burns 10 GPU-h a day against a hard limit of 100 (forecast past it), well within
    its storage and concurrency limits: only its GPU-hours warn, and only they cost."""
    fill(store_cache, [run("t1", f"d{d}", f"2026-11-{d:02d} 00:00", f"2026-11-{d:02d} 10:00", 1)
                       for d in range(14, 20)])
    report = compute(store_cache, policy(LIMITS), NOV_20)
    t1 = report.team("t1")
    assert t1 is not None and t1.gpu_hours.forecast_over and t1.status == "warn"
    gpu = report.metric_json("gpu_hours")
    assert gpu["status"] == "warn" and gpu["teams"][0]["cost"] == pytest.approx(120)
    for metric in ("storage_gb", "concurrent_runs"):
        out = report.metric_json(metric)
        assert out["metric"] == metric and out["status"] == "ok"
        team = next(t for t in out["teams"] if t["team"] == "t1")
        assert team["status"] == "ok"
        assert set(team) == {"team", "period", "period_label", "status", metric}
        assert "forecast" not in team[metric]
        assert "runs_without_gpu_metadata" not in out
