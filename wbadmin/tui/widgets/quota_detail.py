"""The highlighted team under the gauges, for the metric on screen: its daily history as a
small chart beside that metric's outlook, then today's figures.

GPU-hours: GPU-hours per day, the forecast (usage at period end, the burn rate, the day the
hard limit is hit) and the cost. Concurrent runs: the most runs at once per day, the peak
and the day the hard limit was reached. Storage: W&B keeps no history of it, so the figures
now and the room left. Cost and runs without GPU metadata are GPU-hours' alone.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ...core.quotas.history import Series
from ...core.quotas.policy import METRIC_LABELS
from ...core.quotas.text import amount, day, headroom_text, money
from ...core.quotas.usage import TeamUsage
from .quota_gauge import chart, sparkline

CHART_ROWS = 5
ZERO = {"gpu_hours": "0 h", "storage_gb": "0 GB", "concurrent_runs": "0"}


def team_detail(team: TeamUsage, metric: str, series: Series | None, now: float,
                previous: bool, *, narrow: bool = False) -> Table:
    """The highlighted team: `metric`'s daily chart beside its outlook and today's figures."""
    period = team.period
    today = None if previous else int(period.elapsed_days(now))
    right = _outlook(team, metric, series, previous)
    right.append("now      ", style="dim")
    right.append(f"{int(team.running.used)} running · "
                 f"{amount('storage_gb', team.storage.used)} stored")
    if metric == "gpu_hours":
        _cost(right, team)
    grid = Table.grid(expand=True, padding=(0, 2))
    if series is None:  # storage: nothing to chart
        if narrow:
            grid.add_column(ratio=1)
            grid.add_row(Text.assemble((team.team, "bold"), " storage now (no history)"))
            grid.add_row(right)
            return grid
        left = Text.assemble((team.team, "bold"), f" · {METRIC_LABELS[metric]} now\n")
        left.append("W&B reports a team's storage as a total now,\nwith no daily history: "
                    "no chart or forecast", style="dim")
        grid.add_column(width=48, no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_row(left, right)
        return grid
    if narrow:  # narrow: a one-line sparkline, the figures below
        line = Text.assemble((team.team, "bold"), f" daily {METRIC_LABELS[metric]} ")
        line.append_text(sparkline(series.values, today))
        grid.add_column(ratio=1)
        grid.add_row(line)
        grid.add_row(right)
        return grid
    left = Text.assemble((team.team, "bold"), f" · {series.label}, {period.label}\n")
    axis = [f"{amount(metric, series.peak):>7} ", *[" " * 8] * (CHART_ROWS - 2),
            f"{ZERO[metric]:>7} "]
    for label, row in zip(axis, chart(series.values, today, CHART_ROWS), strict=True):
        left.append(label, style="dim")
        left.append_text(row)
        left.append("\n")
    ticks = "".join(f"{d:<14}" for d in range(1, period.days + 1, 7))
    left.append(" " * 8 + ticks.rstrip(), style="dim")
    grid.add_column(width=8 + 2 * period.days, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(left, right)
    return grid


def _outlook(team: TeamUsage, metric: str, series: Series | None, previous: bool) -> Text:
    """The metric's own outlook: a forecast for GPU-hours only."""
    g = team.gauge(metric)
    out = Text()
    if metric == "gpu_hours":
        f = g.forecast
        if f is None or previous:
            return out
        out.append("forecast ", style="dim")
        out.append(f"{amount(metric, f.at_end)}", style="bold")
        out.append(" at period end\n")
        out.append("burn     ", style="dim")
        out.append(f"{amount(metric, f.rate_per_day)} a day, last 7 days\n")
        out.append("hard     ", style="dim")
        if f.over_since is not None:
            out.append(f"over since {day(f.over_since)}\n", style="bold red")
        elif f.hard_day is not None:
            out.append(f"reached {day(f.hard_day)} at this rate\n", style="bold red")
        elif g.limit.hard is not None:
            out.append("not reached this period\n", style="green")
        else:
            out.append("no limit set\n", style="dim")
        return out
    if metric == "concurrent_runs" and series is not None:
        out.append("peak     ", style="dim")
        peak_day = series.peak_day(team.period)
        out.append(f"{series.peak:,.0f} at once", style="bold")
        out.append(f" ({day(peak_day)})\n" if peak_day else " this period\n")
    out.append("limit    ", style="dim")
    out.append(f"soft {_limit(g.limit.soft, metric)} · "
               f"hard {_limit(g.limit.hard, metric)}\n"
               if g.limit.reference is not None else "no limit set\n",
               style="" if g.limit.reference is not None else "dim")
    if g.limit.reference is None:
        return out
    out.append("outlook  ", style="dim")
    hit = series.first_at_or_above(team.period, g.limit.hard) if series else None
    if hit is not None:
        out.append(f"hard limit reached {day(hit)}\n", style="bold red")
    else:
        style = {"over": "bold red", "warn": "yellow", "ok": "green"}.get(g.status, "dim")
        out.append(f"{headroom_text(g)}\n", style=style)
    return out


def _limit(value: float | None, metric: str) -> str:
    return "—" if value is None else amount(metric, value)


def _cost(right: Text, team: TeamUsage) -> None:
    right.append("\ncost     ", style="dim")
    price = team.rules.price_per_gpu_hour
    right.append(money(team.cost, team.rules.currency), style="bold")
    if price is not None:
        right.append(f" at {money(price, team.rules.currency)}/GPU-h", style="dim")
    if team.missing:
        right.append(f"\n⚠ {team.missing} run{'s' if team.missing != 1 else ''} without "
                     "GPU metadata (0 GPUs)", style="yellow")

