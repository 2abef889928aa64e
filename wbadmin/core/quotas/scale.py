"""One bar scale per metric, shared by every team's bar, in the CLI and the TUI alike.

A full bar stands for a little more than the largest of any team's usage and limits of that
metric, so a longer bar always means more usage and every limit mark fits inside the bar;
a team without limits is drawn on the same scale as the others (it used to get a scale of
its own, so 2 unlimited runs could draw longer than 3 of 10).

The bar's cells are laid out here (characters and what each one is); the TUI colours them,
the CLI prints them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # usage.py imports this module
    from .usage import Gauge

HEADROOM = 1.1  # past the largest usage or limit, so its mark is not the bar's last cell
EIGHTHS = " ▏▎▍▌▋▊▉█"
SOFT_MARK, HARD_MARK, EMPTY = "┊", "│", "·"


def metric_scale(gauges: Iterable[Gauge]) -> float:
    """What a full bar stands for, for every gauge of one metric: max(used, soft, hard) over
    them all, plus a little headroom (1.0 when there is nothing at all, to divide by)."""
    top = max((max(g.used, g.limit.soft or 0.0, g.limit.hard or 0.0) for g in gauges),
              default=0.0)
    return top * HEADROOM if top > 0 else 1.0


@dataclass(frozen=True)
class Cell:
    char: str
    kind: str  # fill | empty | mark (a limit on an empty cell) | mark-in-fill


def gauge_cells(gauge: Gauge, scale: float, width: int) -> list[Cell]:
    """The gauge as `width` cells on `scale`: the used part in eighths of a cell, `┊` at the
    soft limit and `│` at the hard one."""
    scale = scale if scale > 0 else 1.0
    filled = max(0.0, min(width, gauge.used / scale * width))
    full = int(filled)
    part = round((filled - full) * 8)
    if part == 8:
        full, part = full + 1, 0
    cells = [Cell("█", "fill")] * full
    if part and full < width:
        cells.append(Cell(EIGHTHS[part], "fill"))
    if gauge.used > 0 and not cells and width:
        cells.append(Cell("▏", "fill"))  # a sliver, so some use never looks like none
    cells += [Cell(EMPTY, "empty")] * (width - len(cells))
    for limit, mark in ((gauge.limit.soft, SOFT_MARK), (gauge.limit.hard, HARD_MARK)):
        if limit is None or not width:
            continue
        at = min(width - 1, int(limit / scale * width))
        inside = cells[at].kind in ("fill", "mark-in-fill")
        cells[at] = Cell(mark, "mark-in-fill" if inside else "mark")
    return cells


def bar_text(gauge: Gauge, scale: float, width: int) -> str:
    """The bar as plain characters (the CLI's)."""
    return "".join(c.char for c in gauge_cells(gauge, scale, width))


def filled_cells(cells: list[Cell]) -> float:
    """How much of the bar is filled, in cells (eighths count): what tests compare."""
    total = 0.0
    for c in cells:
        if c.kind in ("fill", "mark-in-fill"):
            total += 1.0 if c.char not in EIGHTHS[1:8] else EIGHTHS.index(c.char) / 8
    return total
