"""Quota periods: calendar month, ISO week (Monday to Monday), or custom cycles.

Every boundary is a UTC midnight, so a period is a whole number of UTC days and daily usage
buckets line up with it. A custom period repeats every `days` days from `start`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DAY = 86_400.0
KINDS = ("month", "week", "custom")


@dataclass(frozen=True)
class PeriodSpec:
    """How a policy cuts time: `kind`, and for custom cycles their first day and length."""

    kind: str = "month"
    start: date | None = None
    days: int | None = None

    def at(self, now: float) -> Period:
        """The period that contains `now`."""
        today = datetime.fromtimestamp(now, UTC).date()
        if self.kind == "week":
            first = today - timedelta(days=today.weekday())
            return Period(self, first, first + timedelta(days=7))
        if self.kind == "custom":
            assert self.start is not None and self.days
            cycles = (today - self.start).days // self.days
            first = self.start + timedelta(days=cycles * self.days)
            return Period(self, first, first + timedelta(days=self.days))
        first = today.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return Period(self, first, nxt)

    def describe(self) -> str:
        if self.kind == "custom":
            return f"every {self.days} days from {self.start}"
        return {"month": "calendar month", "week": "ISO week"}[self.kind]


@dataclass(frozen=True)
class Period:
    spec: PeriodSpec
    first: date  # first day, inclusive
    end: date    # first day of the next period

    @property
    def start_ts(self) -> float:
        return day_ts(self.first)

    @property
    def end_ts(self) -> float:
        return day_ts(self.end)

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    @property
    def key(self) -> str:
        """Stable name of the period (alert state is kept per key)."""
        if self.spec.kind == "month":
            return self.first.strftime("%Y-%m")
        if self.spec.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first.isoformat()}+{self.days}d"

    @property
    def label(self) -> str:
        if self.spec.kind == "month":
            return self.first.strftime("%B %Y")
        if self.spec.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"week {week} {year}"
        last = self.end - timedelta(days=1)
        return f"{self.first:%b %d} – {last:%b %d %Y}"

    def previous(self) -> Period:
        if self.spec.kind == "month":
            first = (self.first - timedelta(days=1)).replace(day=1)
            return Period(self.spec, first, self.first)
        length = timedelta(days=self.days)
        return Period(self.spec, self.first - length, self.first)

    def elapsed_days(self, now: float) -> float:
        """Days of the period behind `now` (0 before it starts, `days` after it ends)."""
        return min(max(now, self.start_ts), self.end_ts) / DAY - self.start_ts / DAY

    def contains(self, now: float) -> bool:
        return self.start_ts <= now < self.end_ts


def day_ts(d: date) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()


def epoch_day(ts: float) -> int:
    """The UTC day number of a timestamp (days since 1970-01-01)."""
    return int(ts // DAY)


def day_of(n: int) -> date:
    return date(1970, 1, 1) + timedelta(days=n)
