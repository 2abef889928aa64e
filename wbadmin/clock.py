"""The one clock every part of wbadmin reads: CLI, TUI, services and the sandbox.

`now()` is the wall clock, unless `WBADMIN_NOW` (ISO 8601, or epoch seconds) is set: then
the clock starts at that instant when this process first reads it and runs on at real speed,
as `faketime` does. Being an environment variable, the override reaches every subprocess, so
a test or a demo can put wbadmin, its embedded sandbox and a `wbadmin` subprocess on the same
date. Durations (timeouts, backoff, the API log's timings) use `time.monotonic` and are not
affected.

This module sits below core and the sandbox alike and imports neither.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

ENV = "WBADMIN_NOW"


class BadClock(ValueError):
    """WBADMIN_NOW holds something that is not a time."""


_lock = threading.Lock()
_anchor: tuple[str, float, float] | None = None  # (the variable's text, its instant, real time)
_start: tuple[float, float] | None = None  # start_at's (instant, real time)


def parse(text: str) -> float:
    """Epoch seconds from '1795000000', '2026-11-30T23:30:00Z' or '2026-11-30 23:30'
    (a time without a zone is UTC)."""
    raw = text.strip()
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return parse_iso(raw)
    except ValueError:
        raise BadClock(f"{ENV}={text!r} is not a time: give ISO 8601 (2026-11-30T23:30:00Z) "
                       "or epoch seconds") from None


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO 8601 date or time ("Z" allowed; without a zone: UTC).
    ValueError when it is not one."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def start_at(ts: float | None) -> None:
    """From here on, this process's clock starts at `ts` and runs on, whatever WBADMIN_NOW
    says (None: back to WBADMIN_NOW or the wall clock). For pictures of a fixed moment:
    `wbadmin screenshot` puts the embedded sandbox on the same clock as the app it draws."""
    global _start
    _start = None if ts is None else (float(ts), time.time())


def now() -> float:
    """Epoch seconds now, on wbadmin's clock."""
    start = _start
    if start is not None:
        return start[0] + (time.time() - start[1])
    raw = os.environ.get(ENV)
    if not raw:
        return time.time()
    global _anchor
    anchor = _anchor
    if anchor is None or anchor[0] != raw:
        with _lock:
            anchor = _anchor
            if anchor is None or anchor[0] != raw:
                anchor = _anchor = (raw, parse(raw), time.time())
    return anchor[1] + (time.time() - anchor[2])


def check() -> None:
    """Raise BadClock now if WBADMIN_NOW is set to something that is not a time."""
    now()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
