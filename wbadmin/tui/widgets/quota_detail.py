"""The highlighted team under the gauges: its daily GPU-hours as a small chart beside the
forecast (usage at period end, the burn rate, the day the hard limit is hit) and today's
figures (running runs, storage, cost, runs without GPU metadata)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ...core.quotas.text import amount, day, money
from ...core.quotas.usage import TeamUsage
from .quota_gauge import chart, sparkline

CHART_ROWS = 5


def team_detail(team: TeamUsage, now: float, previous: bool, *,
                narrow: bool = False) -> Table:
    """The highlighted team: its daily chart beside the forecast and today's figures."""
    g, period, f = team.gpu_hours, team.period, team.gpu_hours.forecast
    today = None if previous else int(period.elapsed_days(now))
    peak = max(team.daily, default=0.0)
    left = Text.assemble((team.team, "bold"), f" · GPU-hours per day, {period.label}\n")
    axis = [f"{amount('gpu_hours', peak):>7} ", *[" " * 8] * (CHART_ROWS - 2),
            f"{'0 h':>7} "]
    for label, row in zip(axis, chart(team.daily, today, CHART_ROWS), strict=True):
        left.append(label, style="dim")
        left.append_text(row)
        left.append("\n")
    ticks = "".join(f"{d:<14}" for d in range(1, period.days + 1, 7))
    left.append(" " * 8 + ticks.rstrip(), style="dim")
    right = Text()
    if f is not None and not previous:
        right.append("forecast ", style="dim")
        right.append(f"{amount('gpu_hours', f.at_end)}", style="bold")
        right.append(" at period end\n")
        right.append("burn     ", style="dim")
        right.append(f"{amount('gpu_hours', f.rate_per_day)} a day, last 7 days\n")
        right.append("hard     ", style="dim")
        if f.over_since is not None:
            right.append(f"over since {day(f.over_since)}\n", style="bold red")
        elif f.hard_day is not None:
            right.append(f"reached {day(f.hard_day)} at this rate\n", style="bold red")
        elif g.limit.hard is not None:
            right.append("not reached this period\n", style="green")
        else:
            right.append("no limit set\n", style="dim")
    right.append("now      ", style="dim")
    right.append(f"{int(team.running.used)} running · "
                 f"{amount('storage_gb', team.storage.used)} stored\n")
    right.append("cost     ", style="dim")
    price = team.rules.price_per_gpu_hour
    right.append(money(team.cost, team.rules.currency), style="bold")
    if price is not None:
        right.append(f" at {money(price, team.rules.currency)}/GPU-h", style="dim")
    if team.missing:
        right.append(f"\n⚠ {team.missing} run{'s' if team.missing != 1 else ''} without "
                     "GPU metadata (0 GPUs)", style="yellow")
    grid = Table.grid(expand=True, padding=(0, 2))
    if narrow:  # narrow: a one-line sparkline, the figures below
        line = Text.assemble((team.team, "bold"), " daily ")
        line.append_text(sparkline(team.daily, today))
        grid.add_column(ratio=1)
        grid.add_row(line)
        grid.add_row(right)
        return grid
    grid.add_column(width=8 + 2 * period.days, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(left, right)
    return grid

