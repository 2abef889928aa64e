"""Usage arithmetic on hand-built runs: period boundaries, running runs, missing metadata,
week and custom periods, the previous period, cost, projects."""

from __future__ import annotations

import pytest

from wbadmin.core.cache import Cache
from wbadmin.core.quotas.store import UsageStore
from wbadmin.core.quotas.usage import compute

from .conftest import fill, policy, run, ts

NOV_20 = ts("2026-11-20 12:00")
MONTHLY = """
[defaults]
price_per_gpu_hour = 2.0
[teams.t1]
gpu_hours = { soft = 80, hard = 100 }
[teams.t2]
gpu_hours = 1000
"""


def hours(cache: Cache, text: str = MONTHLY, now: float = NOV_20, offset: int = 0,
          team: str = "t1") -> float:
    report = compute(cache, policy(text), now, offset)
    found = report.team(team)
    assert found is not None
    return found.gpu_hours.used


def test_runs_are_clipped_to_the_period(store_cache: Cache) -> None:
    fill(store_cache, [
        # 10 h across the month start: 4 h in October, 6 h in November, 2 GPUs.
        run("t1", "a", "2026-10-31 20:00", "2026-11-01 06:00", 2),
        # Entirely in October: not counted in November.
        run("t1", "b", "2026-10-10 00:00", "2026-10-10 05:00", 8),
        # 3 h inside November, 4 GPUs.
        run("t1", "c", "2026-11-05 01:00", "2026-11-05 04:00", 4),
        # Another team.
        run("t2", "d", "2026-11-05 01:00", "2026-11-05 02:00", 1),
    ])
    assert hours(store_cache) == pytest.approx(6 * 2 + 3 * 4)
    assert hours(store_cache, offset=-1) == pytest.approx(4 * 2 + 5 * 8)
    assert hours(store_cache, team="t2") == pytest.approx(1)


def test_a_run_ending_after_the_period_is_cut_at_its_end(store_cache: Cache) -> None:
    fill(store_cache, [run("t1", "a", "2026-11-30 22:00", "2026-12-01 03:00", 1)])
    dec = ts("2026-12-02 00:00")
    assert hours(store_cache, now=dec, offset=-1) == pytest.approx(2)
    assert hours(store_cache, now=dec) == pytest.approx(3)


def test_a_running_run_counts_up_to_now(store_cache: Cache) -> None:
    fill(store_cache, [run("t1", "a", "2026-11-20 02:00", "2026-11-20 11:58", 2,
                           state="running")])
    # Started 10 h before NOV_20 (12:00), heart-beating: counted up to now.
    assert hours(store_cache) == pytest.approx(10 * 2)
    report = compute(store_cache, policy(MONTHLY), NOV_20)
    assert report.team("t1").running.used == 1


def test_a_silent_running_run_counts_up_to_its_last_heartbeat(store_cache: Cache) -> None:
    # No heartbeat for 9 hours: it has stopped (W&B will mark it crashed).
    fill(store_cache, [run("t1", "a", "2026-11-20 02:00", "2026-11-20 03:00", 2,
                           state="running")])
    assert hours(store_cache) == pytest.approx(1 * 2)
    assert compute(store_cache, policy(MONTHLY), NOV_20).team("t1").running.used == 1


def test_server_clock_ahead_running_run_counts_to_its_heartbeat(store_cache: Cache) -> None:
    # The server's heartbeat is 2 h after our clock: counted up to the heartbeat, not 0.
    fill(store_cache, [run("t1", "a", "2026-11-20 10:00", "2026-11-20 14:00", 1,
                           state="running")])
    assert hours(store_cache) == pytest.approx(4)


def test_missing_metadata_counts_as_zero_gpus_and_is_reported(store_cache: Cache) -> None:
    fill(store_cache, [run("t1", "a", "2026-11-03 00:00", "2026-11-03 10:00", 0, known=False),
                       run("t1", "b", "2026-11-03 00:00", "2026-11-03 10:00", 1)])
    report = compute(store_cache, policy(MONTHLY), NOV_20)
    assert report.team("t1").gpu_hours.used == pytest.approx(10)
    assert report.team("t1").missing == 1 and report.missing == 1
    assert report.to_json()["runs_without_gpu_metadata"] == 1


def test_status_percent_soft_hard_and_cost(store_cache: Cache) -> None:
    fill(store_cache, [run("t1", "a", "2026-11-02 00:00", "2026-11-02 10:00", 9)])
    report = compute(store_cache, policy(MONTHLY), NOV_20)
    t1 = report.team("t1")
    assert t1.gpu_hours.used == pytest.approx(90) and t1.gpu_hours.pct == pytest.approx(90)
    assert t1.gpu_hours.status == "warn" and report.status == "warn"
    assert t1.cost == pytest.approx(180)
    fill(store_cache, [run("t1", "b", "2026-11-03 00:00", "2026-11-03 10:00", 1)])
    assert compute(store_cache, policy(MONTHLY), NOV_20).status == "over"


def test_project_limits_and_prices(store_cache: Cache) -> None:
    text = MONTHLY + """
[teams.t1.projects.p2]
gpu_hours = 5
price_per_gpu_hour = 10.0
"""
    fill(store_cache, [run("t1", "a", "2026-11-02 00:00", "2026-11-02 02:00", 1),
                       run("t1", "b", "2026-11-02 00:00", "2026-11-02 03:00", 2, project="p2")])
    t1 = compute(store_cache, policy(text), NOV_20).team("t1")
    by = {p.project: p for p in t1.projects}
    assert by["p1"].cost == pytest.approx(4) and by["p2"].cost == pytest.approx(60)
    assert by["p2"].gpu_hours.status == "over" and t1.cost == pytest.approx(64)


def test_week_and_custom_periods(store_cache: Cache) -> None:
    fill(store_cache, [run("t1", "a", "2026-11-15 22:00", "2026-11-16 02:00", 1),  # Sun→Mon
                       run("t1", "b", "2026-11-09 00:00", "2026-11-09 01:00", 1)])
    week = '[defaults]\nperiod = "week"\n[teams.t1]\ngpu_hours = 10\n'
    report = compute(store_cache, policy(week), NOV_20)
    assert report.team("t1").period.key == "2026-W47"
    assert report.team("t1").gpu_hours.used == pytest.approx(2)
    custom = ('[teams.t1]\nperiod = "custom"\nstart = 2026-11-09\ndays = 7\n'
              'gpu_hours = 10\n')
    t1 = compute(store_cache, policy(custom), NOV_20).team("t1")
    assert (str(t1.period.first), t1.period.days) == ("2026-11-16", 7)
    assert t1.gpu_hours.used == pytest.approx(2)
    previous = compute(store_cache, policy(custom), NOV_20, -1).team("t1")
    assert previous.gpu_hours.used == pytest.approx(1 + 2)


def test_daily_series_splits_runs_by_utc_day(store_cache: Cache) -> None:
    fill(store_cache, [run("t1", "a", "2026-11-02 20:00", "2026-11-03 04:00", 1)])
    daily = compute(store_cache, policy(MONTHLY), NOV_20).team("t1").daily
    assert len(daily) == 30
    assert daily[1] == pytest.approx(4) and daily[2] == pytest.approx(4)
    assert sum(daily) == pytest.approx(8)


def test_rewriting_a_run_replaces_its_contribution(store_cache: Cache) -> None:
    fill(store_cache, [run("t1", "a", "2026-11-02 00:00", "2026-11-02 02:00", 1,
                           state="running")])
    fill(store_cache, [run("t1", "a", "2026-11-02 00:00", "2026-11-02 05:00", 1)])
    fill(store_cache, [run("t1", "a", "2026-11-02 00:00", "2026-11-02 05:00", 1)])
    assert hours(store_cache) == pytest.approx(5)


def test_teams_in_the_policy_but_not_in_the_org_are_a_warning(store_cache: Cache) -> None:
    fill(store_cache, [run("t1", "a", "2026-11-02 00:00", "2026-11-02 02:00", 1)])
    text = MONTHLY + "[teams.ghost-team]\ngpu_hours = 5\n"
    report = compute(store_cache, policy(text), NOV_20)
    assert any("ghost-team" in w for w in report.warnings)
    assert report.team("ghost-team") is None


def test_team_cost_at_project_prices_without_reading_every_project(store_cache: Cache
                                                                    ) -> None:
    """A team's cost is its projects' costs summed, though only projects with rules of
    their own are read for it (the rest are read when the project list is asked for)."""
    text = """
[teams.t1]
price_per_gpu_hour = 3.0
[teams.t1.projects.p2]
price_per_gpu_hour = 10.0
[teams.t2.projects.q1]
price_per_gpu_hour = 5.0
"""
    fill(store_cache, [run("t1", "a", "2026-11-02 00:00", "2026-11-02 02:00", 1),
                       run("t1", "b", "2026-11-02 00:00", "2026-11-02 03:00", 2, project="p2"),
                       run("t1", "c", "2026-11-03 00:00", "2026-11-03 01:00", 4, project="p3"),
                       run("t1", "d", "2026-11-19 12:00", "2026-11-20 11:00", 1, project="p3",
                           state="running"),
                       run("t2", "e", "2026-11-02 00:00", "2026-11-02 04:00", 1),
                       run("t2", "f", "2026-11-02 00:00", "2026-11-02 01:00", 1, project="q1")])
    report = compute(store_cache, policy(text), NOV_20)
    t1, t2 = report.team("t1"), report.team("t2")
    assert [p.project for p in t1.ruled] == ["p2"]
    assert t1.cost == pytest.approx(sum(p.cost for p in t1.projects))
    # d has been silent for an hour: it counts up to its last heartbeat (23 h).
    assert t1.cost == pytest.approx((2 + 4 + 23) * 3.0 + 6 * 10.0)
    # No team price: only the project with one costs anything.
    assert t2.cost == pytest.approx(5.0) == sum(p.cost or 0 for p in t2.projects)
    assert {p.project for p in t2.projects} == {"p1", "q1"}


def test_team_daily_totals_follow_every_write(store_cache: Cache) -> None:
    fill(store_cache, [run("t1", "a", "2026-11-02 20:00", "2026-11-03 04:00", 2, state="running"),
                       run("t1", "b", "2026-11-02 00:00", "2026-11-02 05:00", 1, project="p2")])
    fill(store_cache, [run("t1", "a", "2026-11-02 20:00", "2026-11-03 06:00", 2),
                       run("t1", "b", "2026-11-02 00:00", "2026-11-02 05:00", 1, project="p2")])
    by_team = store_cache.query("SELECT team, day, gpu_seconds FROM quota_team_daily "
                                "WHERE gpu_seconds != 0 ORDER BY 1, 2")
    summed = store_cache.query("SELECT team, day, SUM(gpu_seconds) FROM quota_daily GROUP BY "
                               "team, day HAVING SUM(gpu_seconds) != 0 ORDER BY 1, 2")
    assert [tuple(r) for r in by_team] == [tuple(r) for r in summed]
    assert sum(r[2] for r in by_team) == pytest.approx((10 * 2 + 5) * 3600)


def test_the_store_finds_thousands_of_held_runs_at_once(store_cache: Cache) -> None:
    runs = [run("t1", f"r{i:04d}", "2026-11-02 00:00", "2026-11-02 01:00", i % 3,
                project=f"p{i % 7}") for i in range(750)]
    fill(store_cache, runs[:700])
    held = UsageStore.held(store_cache.conn, runs)
    assert len(held) == 700 and ("t1", "p0", "r0749") not in held
    assert held[("t1", "p5", "r0698")]["gpus"] == 698 % 3
