"""Each metric's own history over the period, one value per day, for the team charts.

GPU-hours: the GPU-hours used that day. Concurrent runs: the most runs running at once that
day, from the runs the usage store keeps (a running run counts up to now, or to its last
heartbeat when it has gone silent, as usage.py counts it). Storage: none — W&B reports a
team's storage as a total now, with no history, so there is nothing to chart or to forecast.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .period import DAY, Period
from .store import UsageStore
from .usage import SILENT_S, TeamUsage


@dataclass(frozen=True)
class Series:
    metric: str
    values: list[float]  # index 0 = the period's first day
    label: str           # what a value is: 'GPU-hours per day'

    @property
    def peak(self) -> float:
        return max(self.values, default=0.0)

    def first_at_or_above(self, period: Period, limit: float | None) -> date | None:
        """The first day a value reached `limit` (concurrency: the hard limit was hit)."""
        if limit is None:
            return None
        return next((period.first + timedelta(days=i) for i, v in enumerate(self.values)
                     if v >= limit), None)

    def peak_day(self, period: Period) -> date | None:
        if self.peak <= 0:
            return None
        return period.first + timedelta(days=self.values.index(self.peak))


def daily(store: UsageStore, team: TeamUsage, metric: str, server_now: float
          ) -> Series | None:
    """The team's history of `metric` in its period; None for storage (W&B keeps none)."""
    if metric == "gpu_hours":
        return Series(metric, list(team.daily), "GPU-hours per day")
    if metric == "concurrent_runs":
        period = team.period
        spans = store.spans(team.team, period.start_ts, period.end_ts)
        return Series(metric, peak_running(spans, period, server_now), "most runs at once")
    return None


def peak_running(spans: Iterable[tuple[float, float, str]], period: Period, now: float
                 ) -> list[float]:
    """The most runs running at once on each day of `period`, from (created, heartbeat,
    state) spans; `now` is the server's time."""
    events: list[tuple[float, int]] = []
    for created, heartbeat, state in spans:
        live = state == "running" and now - heartbeat <= SILENT_S
        start = max(created, period.start_ts)
        stop = min(max(now, heartbeat) if live else heartbeat, period.end_ts)
        if stop > start:
            events += [(start, 1), (stop, -1)]
    events.sort()  # at the same instant an end (-1) comes before a start (+1)
    peaks = [0.0] * period.days
    count, i = 0, 0
    for d in range(period.days):
        day_end = period.start_ts + (d + 1) * DAY
        peak = count
        while i < len(events) and events[i][0] < day_end:
            count += events[i][1]
            peak = max(peak, count)
            i += 1
        peaks[d] = float(peak)
    return peaks
