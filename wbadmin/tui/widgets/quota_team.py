"""One team drilled into: its projects (usage, limits, share, cost), top runs, top users."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from ...core.quotas.service import TopEntry
from ...core.quotas.text import amount, day, money, percent
from ...core.quotas.usage import Gauge, TeamUsage
from .fit_columns import FitTable
from .quota_gauge import bar, status_text

BAR = 24


class TeamDrill(Vertical):
    DEFAULT_CSS = """
    TeamDrill { height: 1fr; }
    #qt-title { height: 2; padding: 0 1; }
    #qt-projects { height: auto; max-height: 1fr; }
    #qt-tops { height: auto; max-height: 13; border-top: solid $primary 30%; }
    #qt-runs { width: 3fr; padding: 0 1; }
    #qt-users { width: 2fr; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="qt-title")
        yield FitTable(id="qt-projects", cursor_type="row", zebra_stripes=True,
                        cursor_foreground_priority="renderable")
        with Horizontal(id="qt-tops"):
            yield Static(id="qt-runs")
            yield Static(id="qt-users")

    @property
    def table(self) -> DataTable:
        return self.query_one("#qt-projects", DataTable)

    def show(self, team: TeamUsage, runs: list[TopEntry], users: list[TopEntry],
             metric: str) -> None:
        g = team.gpu_hours
        title = Text.assemble((team.team, "bold"), "  ")
        limit = g.limit.hard or g.limit.soft
        title.append(amount("gpu_hours", g.used), style="bold")
        if limit:
            title.append(f" of {amount('gpu_hours', limit)} ({percent(g)})  ")
            title.append_text(status_text(g))
        title.append(f" · {int(team.running.used)} running · "
                     f"{money(team.cost, team.rules.currency)}", style="")
        if g.forecast is not None and g.forecast.over_since is not None:
            title.append(f" · over since {day(g.forecast.over_since)}", style="red")
        title.append("\nprojects by GPU-hours", style="dim")
        if metric == "storage_gb":
            title.append(" (W&B reports storage per team only)", style="dim")
        title.append(" · esc back", style="dim")
        self.query_one("#qt-title", Static).update(title)
        table = self.table
        table.clear(columns=True)
        table.add_columns("project", "GPU-hours", "share of team", "limit", "%", "status",
                          "running", "cost")
        total = team.gpu_hours.used or 1.0
        projects = sorted(team.projects, key=lambda p: (-p.gpu_hours.used, p.project))
        for p in projects:
            share = Gauge("gpu_hours", p.gpu_hours.used)
            table.add_row(Text(p.project), Text(amount("gpu_hours", p.gpu_hours.used),
                                                justify="right"),
                          bar(share, BAR, total), Text(_limit(p.gpu_hours), justify="right"),
                          Text(percent(p.gpu_hours), justify="right"),
                          status_text(p.gpu_hours),
                          Text(str(int(p.running.used)), justify="right"),
                          Text(money(p.cost, team.rules.currency), justify="right"),
                          key=p.project)
        self.query_one("#qt-runs", Static).update(_top_runs(runs))
        self.query_one("#qt-users", Static).update(_top_users(users))


def _limit(gauge: Gauge) -> str:
    ref = gauge.limit.hard or gauge.limit.soft
    return "—" if ref is None else amount(gauge.metric, ref)


def _table(title: str) -> Table:
    return Table(box=None, show_header=True, header_style="bold dim", padding=(0, 1),
                 title=title, title_justify="left", title_style="bold", expand=True,
                 pad_edge=False)


def _top_runs(entries: list[TopEntry]) -> Table:
    table = _table("Top runs")
    table.add_column("run", no_wrap=True, overflow="ellipsis", ratio=3)
    table.add_column("project", style="dim", no_wrap=True, overflow="ellipsis", ratio=3)
    table.add_column("GPUs", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("GPU-h", justify="right", no_wrap=True)
    if not entries:
        table.add_row(Text("no GPU use this period", style="dim"), "", "", "", "")
    for e in entries:
        table.add_row(Text(e.label), Text(e.project), str(e.gpus),
                      Text(e.state, style="green" if e.state == "running" else "dim"),
                      amount("gpu_hours", e.gpu_hours))
    return table


def _top_users(entries: list[TopEntry]) -> Table:
    table = _table("Top users")
    table.add_column("user", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("runs", justify="right", no_wrap=True)
    table.add_column("GPU-h", justify="right", no_wrap=True)
    if not entries:
        table.add_row(Text("no GPU use this period", style="dim"), "", "")
    for e in entries:
        table.add_row(Text(e.label), str(e.runs), amount("gpu_hours", e.gpu_hours))
    return table
