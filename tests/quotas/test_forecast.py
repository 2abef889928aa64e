"""Forecast: the recent burn rate to period end, the day the hard limit is reached."""

from __future__ import annotations

from datetime import date

import pytest

from wbadmin.core.quotas.forecast import forecast
from wbadmin.core.quotas.period import PeriodSpec

from .conftest import ts

NOV = PeriodSpec("month").at(ts("2026-11-10 00:00"))


def test_a_steady_rate_is_carried_to_the_period_end() -> None:
    daily = [10.0] * 10 + [0.0] * 20  # 10 h a day, 10 full days, now = Nov 11 00:00
    f = forecast(NOV, daily, ts("2026-11-11 00:00"), hard=200)
    assert f.rate_per_day == pytest.approx(10)
    assert f.at_end == pytest.approx(300)
    assert f.hard_day == date(2026, 11, 21)  # 100 h more at 10 h/day: Nov 21, 00:00
    assert f.over_since is None


def test_only_recent_days_set_the_rate() -> None:
    daily = [50.0] * 3 + [0.0] * 4 + [7.0] * 7 + [0.0] * 16  # burst long ago, 7 h/day lately
    f = forecast(NOV, daily, ts("2026-11-15 00:00"), hard=1000)
    assert f.rate_per_day == pytest.approx(7)
    assert f.at_end == pytest.approx(150 + 49 + 7 * 16)
    assert f.hard_day is None  # not reached this period


def test_a_partial_today_counts_at_its_real_length() -> None:
    daily = [0.0] * 30
    daily[0] = 6.0  # 6 h in the first 12 hours of the period
    f = forecast(NOV, daily, ts("2026-11-01 12:00"), hard=None)
    assert f.rate_per_day == pytest.approx(12)
    assert f.at_end == pytest.approx(6 + 12 * 29.5)


def test_over_the_hard_limit_reports_the_day_it_was_crossed() -> None:
    daily = [30.0] * 5 + [0.0] * 25
    f = forecast(NOV, daily, ts("2026-11-06 00:00"), hard=100)
    assert f.over_since == date(2026, 11, 4) and f.hard_day is None


def test_a_finished_period_forecasts_what_it_used() -> None:
    f = forecast(NOV, [1.0] * 30, ts("2026-12-05 00:00"), hard=10)
    assert f.at_end == pytest.approx(30) and f.rate_per_day == 0
