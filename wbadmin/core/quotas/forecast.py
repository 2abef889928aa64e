"""Forecasts: the recent burn rate carried to the end of the period.

The burn rate is the usage of the last `window_days` (7 by default; fewer early in a period)
divided by their length, today's part-day included. From it: usage at period end, and the
day the hard limit is reached — or, when it already is, the day it was crossed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .period import DAY, Period

WINDOW_DAYS = 7


@dataclass(frozen=True)
class Forecast:
    rate_per_day: float
    at_end: float
    hard_day: date | None = None    # when the hard limit will be reached in this period
    over_since: date | None = None  # when usage crossed the hard limit


def forecast(period: Period, daily: list[float], now: float, hard: float | None,
             window_days: int = WINDOW_DAYS) -> Forecast:
    """`daily` holds the period's usage per day (index 0 = its first day)."""
    used = sum(daily)
    over_since = _crossed(period, daily, hard)
    if now >= period.end_ts:  # the period is over: nothing left to forecast
        return Forecast(0.0, used, None, over_since)
    if now <= period.start_ts:
        return Forecast(0.0, used, None, over_since)
    today = int((now - period.start_ts) // DAY)
    first = max(0, today - window_days + 1)
    span = (now - (period.start_ts + first * DAY)) / DAY
    rate = sum(daily[first:today + 1]) / span if span > 0 else 0.0
    remaining = (period.end_ts - now) / DAY
    at_end = used + rate * remaining
    hard_day = None
    if hard is not None and used < hard and rate > 0:
        hit = now + (hard - used) / rate * DAY
        if hit < period.end_ts:
            hard_day = period.first + timedelta(days=int((hit - period.start_ts) // DAY))
    return Forecast(rate, at_end, hard_day, over_since)


def _crossed(period: Period, daily: list[float], hard: float | None) -> date | None:
    if hard is None:
        return None
    total = 0.0
    for i, value in enumerate(daily):
        total += value
        if total >= hard:
            return period.first + timedelta(days=i)
    return None
