"""Short human forms of sizes, counts and ages, shared by the CLI and the TUI."""

from __future__ import annotations

from .. import clock


def size(n: int | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} PB"  # pragma: no cover - unreachable


def ago(ts: float | None, now: float | None = None) -> str:
    """'5m', '2h', '40d' — the age of a timestamp; '—' when unknown."""
    if ts is None:
        return "—"
    seconds = max(0.0, (clock.now() if now is None else now) - ts)
    for limit, div, unit in ((60, 1, "s"), (3600, 60, "m"), (86400, 3600, "h"),
                             (86400 * 365, 86400, "d")):
        if seconds < limit:
            return f"{int(seconds // div)}{unit}"
    return f"{int(seconds // (86400 * 365))}y"


def count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """'1 member', '3 members'."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"
