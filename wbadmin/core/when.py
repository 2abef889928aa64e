"""Time as commands take and show it: `--since`-style text ("7d", "2026-11-19"), durations
("24h"), and ISO 8601 UTC for output (the journal, `--json`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .. import clock

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.I)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(text: str, now: float | None = None) -> float:
    """Epoch seconds from `--since`-style text: "30m", "2h", "7d", "1w" ago, or an ISO date /
    datetime ("2026-11-19", "2026-11-19T09:00", "...Z", "...+01:00"; naive means UTC)."""
    now = clock.now() if now is None else now
    if m := _RELATIVE.match(text):
        return now - float(m.group(1)) * _UNITS[m.group(2).lower()]
    try:
        return clock.parse_iso(text)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use e.g. 2h, 7d, 2026-11-19 or "
                         "2026-11-19T09:00Z)") from None


def parse_duration(text: str) -> float:
    """Seconds from "24h", "90m", "7d", "1w", "30s" or "0" (a grace period)."""
    if text.strip() == "0":
        return 0.0
    if m := _RELATIVE.match(text):
        return float(m.group(1)) * _UNITS[m.group(2).lower()]
    raise ValueError(f"not a duration: {text!r} (use e.g. 0, 30m, 24h or 7d)")


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _when(value: float | datetime | timedelta | str | None, now: float) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, timedelta):
        return now - value.total_seconds()
    return parse_when(value, now)
