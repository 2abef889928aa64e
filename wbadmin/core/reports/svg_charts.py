"""Inline SVG charts for the offline report: no script, font or image is fetched, so the file
reads the same in a mail client, a wiki or a browser without network.

Every label is escaped (team names are user data), and every chart carries its figures as
text too (a <title>, value labels), so what the chart says can be read and checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import accumulate

from .figures import FindingFigures, TeamFigures

INK, MUTED, GRID = "#1f2933", "#616e7c", "#d9e2ec"
USED, SOFT, HARD = "#2f6fdf", "#d69e2e", "#c53030"
SEVERITY_COLOURS = {"high": "#c53030", "medium": "#d69e2e", "low": "#2f855a"}
OUTCOME_COLOURS = {"approved": "#2f855a", "rejected": "#c53030"}
FONT = 'font-family="system-ui, sans-serif"'  # the reader's own fonts: nothing to download


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" {FONT}>'
            f"<title>{escape(label)}</title>{''.join(body)}</svg>")


def _text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "start",
          colour: str = INK, weight: str = "normal", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{colour}" font-weight="{weight}"{klass}>{escape(text)}</text>')


def _number(value: float) -> str:
    return f"{value:,.1f}"


def gpu_hours_over_period(teams: Sequence[TeamFigures], period_label: str) -> str:
    """One small chart per team: GPU-hours used so far in the period (cumulative, by day)
    against its soft and hard limits (dashed), all on the same scale so teams compare."""
    if not teams:
        return _svg(320, 40, "No teams", [_text(8, 24, "No teams", colour=MUTED)])
    cell_w, cell_h, cols = 230, 120, 3
    plot_w, plot_h, left, top = 200, 62, 12, 30
    rows = (len(teams) + cols - 1) // cols
    top_value = max([max(t.gpu_hours, t.hard or 0.0, t.soft or 0.0) for t in teams] + [1.0])
    body = []
    for n, team in enumerate(teams):
        x0, y0 = (n % cols) * cell_w, (n // cols) * cell_h
        px, py = x0 + left, y0 + top

        def y_of(value: float, py: float = py) -> float:
            return py + plot_h - plot_h * min(value, top_value) / top_value

        body.append(_text(px, y0 + 14, team.team, weight="bold", cls="team"))
        used = f"{_number(team.gpu_hours)} GPU-h"
        limit = f" of {team.hard:,.0f}" if team.hard is not None else ""
        body.append(_text(px, y0 + 26, used + limit, size=11, colour=MUTED, cls="used"))
        body.append(f'<rect x="{px}" y="{py}" width="{plot_w}" height="{plot_h}" fill="none" '
                    f'stroke="{GRID}"/>')
        for limit_value, colour in ((team.soft, SOFT), (team.hard, HARD)):
            if limit_value is not None:
                y = y_of(limit_value)
                body.append(f'<line x1="{px}" x2="{px + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                            f'stroke="{colour}" stroke-dasharray="4 3"/>')
        # The days to come are not drawn: the line ends today, where the period stands.
        series = list(accumulate(team.daily[:team.elapsed_days or None])) or [0.0]
        step = plot_w / max(1, len(team.daily) - 1)
        points = " ".join(f"{px + i * step:.1f},{y_of(v):.1f}" for i, v in enumerate(series))
        colour = HARD if team.status == "over" else USED
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    'stroke-width="2"/>')
    legend_y = rows * cell_h + 14
    body += [f'<line x1="12" x2="30" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{USED}" '
             'stroke-width="2"/>', _text(34, legend_y, "GPU-hours used", size=11),
             f'<line x1="140" x2="158" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{SOFT}" '
             'stroke-dasharray="4 3"/>', _text(162, legend_y, "soft limit", size=11),
             f'<line x1="240" x2="258" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{HARD}" '
             'stroke-dasharray="4 3"/>', _text(262, legend_y, "hard limit", size=11)]
    return _svg(cols * cell_w, rows * cell_h + 24,
                f"GPU-hours per team over {period_label}, against their limits", body)


def bars(items: Sequence[tuple[str, float, str, str]], label: str, *,
         width: int = 640) -> str:
    """Horizontal bars: (name, value, value text, colour) per row, one scale."""
    if not items:
        return _svg(320, 40, label, [_text(8, 24, "Nothing to show", colour=MUTED)])
    name_w, row_h, value_w = 170, 26, 110
    bar_w = width - name_w - value_w
    top = max([v for _, v, _, _ in items] + [0.0]) or 1.0
    body = []
    for n, (name, value, shown, colour) in enumerate(items):
        y = n * row_h + 6
        length = max(0.0, bar_w * value / top)
        body.append(_text(name_w - 8, y + 14, name, anchor="end", cls="name"))
        body.append(f'<rect x="{name_w}" y="{y}" width="{length:.1f}" height="{row_h - 10}" '
                    f'fill="{colour}" rx="2"/>')
        body.append(_text(name_w + length + 6, y + 14, shown, colour=MUTED, cls="value"))
    return _svg(width, len(items) * row_h + 8, label, body)


def cost_per_team(teams: Sequence[TeamFigures], money_text: Sequence[str],
                  period_label: str) -> str:
    items = [(t.team, t.cost or 0.0, shown, USED) for t, shown in zip(teams, money_text,
                                                                       strict=True)]
    return bars(items, f"Cost per team, {period_label}")


def promotions(approved: int, rejected: int, window_text: str) -> str:
    return bars([("approved", approved, str(approved), OUTCOME_COLOURS["approved"]),
                 ("rejected", rejected, str(rejected), OUTCOME_COLOURS["rejected"])],
                f"Promotions decided {window_text}", width=480)


def findings_by_severity(found: FindingFigures) -> str:
    return bars([(severity, count, str(count), SEVERITY_COLOURS.get(severity, MUTED))
                 for severity, count in found.by_severity],
                "Open access findings by severity", width=480)
