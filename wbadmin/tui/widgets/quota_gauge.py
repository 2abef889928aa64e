"""Quota gauges and sparklines as Rich text (cells of a table, lines of a pane).

A gauge is a bar: the used part filled in eighths of a cell, coloured by status (green
within limits, yellow past the soft limit, red past the hard one), with `┊` at the soft
limit and `│` at the hard one. A team without limits gets a plain bar on a shared scale.
"""

from __future__ import annotations

from rich.text import Text

from ...core.quotas.usage import Gauge

EIGHTHS = " ▏▎▍▌▋▊▉█"
SPARKS = "▁▂▃▄▅▆▇█"
STATUS_STYLE = {"ok": "green", "warn": "yellow", "over": "red", "none": "cyan"}
STATUS_WORD = {"ok": "ok", "warn": "warning", "over": "OVER", "none": ""}
SOFT_MARK, HARD_MARK, EMPTY = "┊", "│", "·"


def scale_of(gauge: Gauge, shared_max: float) -> float:
    """What a full bar stands for: a little past the hard limit, or past the usage."""
    ref = gauge.limit.hard or gauge.limit.soft
    if ref:
        return max(ref * 1.2, gauge.used * 1.02)
    return max(shared_max, 1e-9)


def bar(gauge: Gauge, width: int, shared_max: float = 0.0) -> Text:
    """The gauge as `width` cells."""
    scale = scale_of(gauge, shared_max)
    style = STATUS_STYLE[gauge.status]
    filled = max(0.0, min(width, gauge.used / scale * width))
    full = int(filled)
    part = round((filled - full) * 8)
    if part == 8:
        full, part = full + 1, 0
    cells: list[tuple[str, str]] = [("█", style)] * full
    if part and full < width:
        cells.append((EIGHTHS[part], style))
    while len(cells) < width:
        cells.append((EMPTY, "grey37"))
    if gauge.used > 0 and not any(c == "█" or c in EIGHTHS[1:] for c, _ in cells):
        cells[0] = ("▏", style)  # a sliver, so some use never looks like none
    for limit, mark in ((gauge.limit.soft, SOFT_MARK), (gauge.limit.hard, HARD_MARK)):
        if limit is None:
            continue
        at = min(width - 1, int(limit / scale * width))
        char, cell_style = cells[at]
        if char == EMPTY:
            cells[at] = (mark, "bold" if mark == HARD_MARK else "")
        else:  # the mark inside the filled part: keep the fill, show the mark's place
            cells[at] = (mark, f"bold {style} reverse")
    text = Text()
    for char, cell_style in cells:
        text.append(char, style=cell_style)
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
