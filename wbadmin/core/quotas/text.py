"""Figures as people read them, shared by the CLI and the TUI."""

from __future__ import annotations

from datetime import date

from .usage import Gauge

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
UNITS = {"gpu_hours": "h", "storage_gb": "GB", "concurrent_runs": "runs"}


def amount(metric: str, value: float | None) -> str:
    """'1,642 h', '1.6 TB', '3 runs'; '—' when unknown."""
    if value is None:
        return "—"
    if metric == "storage_gb":
        return f"{value / 1000:,.1f} TB" if value >= 1000 else f"{value:,.0f} GB"
    if metric == "concurrent_runs":
        return f"{value:,.0f}"
    return f"{value:,.1f} h" if value < 10 else f"{value:,.0f} h"


def limit_text(gauge: Gauge) -> str:
    ref = gauge.limit.reference
    return "no limit" if ref is None else amount(gauge.metric, ref)


def percent(gauge: Gauge) -> str:
    return "" if gauge.pct is None else f"{gauge.pct:.0f} %"


def money(value: float | None, currency: str = "USD") -> str:
    if value is None:
        return "—"
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


def day(d: date | None) -> str:
    """'Nov 23' (the year is the period's)."""
    return "" if d is None else f"{d:%b} {d.day}"


def ordinal(d: date) -> str:
    n = d.day
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def headroom_text(gauge: Gauge) -> str:
    """How far usage is from its limit, in the metric's own unit: '0.9 TB below the hard
    limit', 'room for 7 more runs', 'over the hard limit by 90 GB', 'no limit'."""
    limit = gauge.limit.hard if gauge.limit.hard is not None else gauge.limit.soft
    if limit is None:
        return "no limit"
    which = "hard" if gauge.limit.hard is not None else "soft"
    left = limit - gauge.used
    if left <= 0:
        return f"at the {which} limit" if left == 0 else \
            f"over the {which} limit by {amount(gauge.metric, -left)}"
    if gauge.metric == "concurrent_runs":
        return f"room for {left:,.0f} more run{'s' if left != 1 else ''} ({which} limit)"
    return f"{amount(gauge.metric, left)} below the {which} limit"


def forecast_text(gauge: Gauge) -> str:
    """'→ 1,462 h by Nov 30 · hard limit Nov 23' or 'over since Nov 15'."""
    f = gauge.forecast
    if f is None:
        return ""
    if f.over_since is not None:
        return f"over since {day(f.over_since)}"
    text = f"→ {amount(gauge.metric, f.at_end)} at period end"
    if f.hard_day is not None:
        text += f" · hard limit {day(f.hard_day)}"
    return text
