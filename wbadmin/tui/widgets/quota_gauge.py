"""Quota gauges and sparklines as Rich text (cells of a table, lines of a pane).

A gauge is a bar: the used part filled in eighths of a cell, coloured by status (green
within limits, yellow past the soft limit, red past the hard one), with `┊` at the soft
limit and `│` at the hard one. Every bar of a metric is on one scale (core/quotas/scale.py),
so a team without limits (cyan) compares with the others.
"""

from __future__ import annotations

from rich.text import Text

from ...core.quotas.scale import HARD_MARK, gauge_cells
from ...core.quotas.usage import Gauge

SPARKS = "▁▂▃▄▅▆▇█"
STATUS_STYLE = {"ok": "green", "warn": "yellow", "over": "red", "none": "cyan"}
STATUS_WORD = {"ok": "ok", "warn": "warning", "over": "OVER", "none": ""}


def bar(gauge: Gauge, width: int, scale: float) -> Text:
    """The gauge as `width` cells on `scale` (what a full bar stands for: one per metric,
    `UsageReport.scale`, so every team's bar of a metric compares)."""
    style = STATUS_STYLE[gauge.status]
    text = Text()
    for cell in gauge_cells(gauge, scale, width):
        if cell.kind == "fill":
            text.append(cell.char, style=style)
        elif cell.kind == "empty":
            text.append(cell.char, style="grey37")
        elif cell.kind == "mark":
            text.append(cell.char, style="bold" if cell.char == HARD_MARK else "")
        else:  # the mark inside the filled part: keep the fill, show the mark's place
            text.append(cell.char, style=f"bold {style} reverse")
    return text


def sparkline(values: list[float], upto: int | None = None) -> Text:
    """Daily values as ▁..█; days after `upto` (the future) are blank."""
    peak = max(values, default=0.0)
    text = Text()
    for i, value in enumerate(values):
        if upto is not None and i > upto:
            text.append(" ")
        elif peak <= 0 or value <= 0:
            text.append("▁", style="grey37")
        else:
            level = min(7, int(value / peak * 7.999))
            text.append(SPARKS[level], style="cyan")
    return text


def chart(values: list[float], upto: int | None = None, height: int = 3) -> list[Text]:
    """Daily values as a small bar chart: `height` rows, one column and a gap per day,
    eighths of a row for the tops; today is bright, days still to come are dotted."""
    peak = max(values, default=0.0)
    rows = [Text() for _ in range(height)]
    for i, value in enumerate(values):
        future = upto is not None and i > upto
        eighths = 0 if peak <= 0 or value <= 0 else max(1, round(value / peak * height * 8))
        style = "bold bright_cyan" if i == upto else "cyan"
        for r in range(height):  # r = 0 is the top row
            level = eighths - (height - 1 - r) * 8
            bottom = r == height - 1
            if future:
                rows[r].append("· " if bottom else "  ", style="grey37")
            elif level >= 8:
                rows[r].append("█ ", style=style)
            elif level > 0:
                rows[r].append(SPARKS[level - 1] + " ", style=style)
            else:
                rows[r].append("▁ " if bottom else "  ", style="grey30")
    return rows


def status_text(gauge: Gauge) -> Text:
    word = STATUS_WORD[gauge.status]
    style = STATUS_STYLE[gauge.status]
    return Text(word, style=f"bold {style}" if gauge.status == "over" else style)
