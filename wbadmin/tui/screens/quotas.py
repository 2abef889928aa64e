"""Screen 4, Quotas: a gauge per team (used, soft and hard limits), the daily usage of the
period, a forecast to its end and the day the hard limit is hit; enter drills into a team.

The first frame comes from the usage store in the cache (a worker thread computes it); a
worker then refreshes the store from W&B incrementally. A failed refresh keeps the cached
figures and says why. Nothing on this screen changes W&B, so read-only changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Input, Static

from ...core.quotas.policy import METRIC_LABELS
from ...core.quotas.text import amount, day, headroom_text, money, percent
from ...core.quotas.usage import TeamUsage
from .. import quota_data as D
from ..widgets.api_log import ApiLog
from ..widgets.footer import WbFooter
from ..widgets.header import ShellHeader
from ..widgets.quota_detail import team_detail
from ..widgets.quota_gauge import STATUS_STYLE, bar, status_text
from ..widgets.quota_team import TeamDrill

if TYPE_CHECKING:
    from ..app import WbAdminApp

BAR = 30
LEGEND = Text.assemble(("┊", "bold"), " soft  ", ("│", "bold"), " hard  ", ("█", "green"),
                       " within  ", ("█", "yellow"), " past soft  ", ("█", "red"),
                       " past hard  ", ("█", "cyan"), " no limit   ·   enter team  "
                       "g s c metric  $ cost  p period", style="dim")


class QuotasScreen(Screen):
    PANES = "#quota-table, #quota-detail-pane, #qt-projects"  # Tab / Shift+Tab move between
    DEFAULT_CSS = """
    #quotas { height: 1fr; border: round $primary 40%; }
    #quotas:focus-within { border: round $primary; }
    #quota-filter { height: 3; border: tall $accent; }
    #quota-count { height: 1; padding: 0 1; }
    #quota-table { height: auto; max-height: 1fr; }
    #quota-legend { height: 1; padding: 0 1; color: $text-muted; }
    #quota-detail-pane { height: auto; max-height: 50%; border-top: solid $primary 30%; }
    #quota-detail-pane:focus { border-top: heavy $primary; }
    #quota-detail { height: auto; padding: 0 1; }
    #quota-switch { height: 1fr; }
    #quota-overview { height: 1fr; }
    """
    BINDINGS = [
        Binding("enter", "drill", "drill into team", id="quotas.drill"),
        Binding("g", "metric('gpu_hours')", "GPU-hours", id="quotas.gpu", show=False),
        Binding("s", "metric('storage_gb')", "storage", id="quotas.storage"),
        Binding("c", "metric('concurrent_runs')", "concurrency", id="quotas.concurrency"),
        Binding("dollar_sign", "cost", "cost", id="quotas.cost", key_display="$"),
        Binding("p", "period", "period", id="quotas.period"),
        Binding("slash", "filter", "filter", id="quotas.filter"),
        Binding("r", "refresh", "refresh", id="quotas.refresh"),
        Binding("escape", "back", "back", show=False),
    ]

    app: WbAdminApp

    def __init__(self) -> None:
        super().__init__()
        self.view = D.QuotaView()
        self.metric = "gpu_hours"
        self.period_offset = 0  # 0: this period; -1: the one before
        self.cost_view = False
        self.team: str | None = None  # the team drilled into
        self.rows: list[TeamUsage] = []
        self.refreshed = False
        self.refresh_note: str | None = None
        self.pending = True

    def compose(self) -> ComposeResult:
        yield ShellHeader(id="header")
        with Vertical(id="quotas"):
            yield Input(placeholder="filter teams…", id="quota-filter")
            yield Static(id="quota-count")
            with ContentSwitcher(initial="quota-overview", id="quota-switch"):
                with Vertical(id="quota-overview"):
                    yield DataTable(id="quota-table", cursor_type="row",
                                    cursor_foreground_priority="renderable")
                    yield Static(LEGEND, id="quota-legend")
                    with VerticalScroll(id="quota-detail-pane"):  # Tab: to scroll it
                        yield Static(id="quota-detail")
                yield TeamDrill(id="quota-team")
        yield ApiLog(id="api-log")
        yield WbFooter()

    def on_mount(self) -> None:
        box = self.query_one("#quota-filter", Input)
        box.display = False
        self.watch(box, "value", lambda _: self._draw(), init=False)
        self.query_one(ApiLog).display = self.app.api_log_visible
        self.table.focus()
        self._draw()
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    @property
    def table(self) -> DataTable:
        return self.query_one("#quota-table", DataTable)

    # ---- data ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Redraw from the cache; refresh from W&B once per visit when connected."""
        self.load_cached()
        session = self.app.session
        if not self.refreshed and session.client is not None and not session.offline:
            self.refresh_usage()

    @work(thread=True, exclusive=True, group="quotas-cache", exit_on_error=False)
    def load_cached(self) -> None:
        view = D.build(self.app.session, self.period_offset)
        if self.team:
            D.drill(self.app.session, view, self.team)
        self.app.call_from_thread(self._loaded, view)

    def _loaded(self, view: D.QuotaView) -> None:
        self.view, self.pending = view, False
        self._draw()

    @work(exclusive=True, group="quotas", exit_on_error=False)
    async def refresh_usage(self, full: bool = False) -> None:
        self.refreshed = True
        self.refresh_note = "refreshing usage from W&B…"
        self._draw_count()
        try:
            line = await D.refresh(self.app.session, full=full)
        except Exception as exc:  # keep the cached figures; say why
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.refresh_note = f"refresh failed: {text}"
            self.notify(text, markup=False, title="Quota refresh failed — showing cached data",
                        severity="error", timeout=10)
            self._draw_count()
            return
        self.refresh_note = line
        self.load_cached()

    # ---- drawing -------------------------------------------------------------------------

    def _teams(self) -> list[TeamUsage]:
        report = self.view.report
        if report is None:
            return []
        text = self.query_one("#quota-filter", Input).value.strip()
        return [t for t in report.teams if D.matches(t.team, text)]

    def _draw(self) -> None:
        self.rows = self._teams()
        self._draw_title()
        self._draw_count()
        if self.team is not None and self.view.report is not None \
                and self.view.report.team(self.team) is not None:
            self._draw_team()
            return
        self.team = None
        self.query_one("#quota-switch", ContentSwitcher).current = "quota-overview"
        if self.cost_view:
            self._draw_costs()
        else:
            self._draw_gauges()
        self._draw_detail()

    def _draw_title(self) -> None:
        pane = self.query_one("#quotas")
        report = self.view.report
        label = METRIC_LABELS[self.metric]
        title = ("Cost" if self.cost_view and self.team is None else
                 label[0].upper() + label[1:])
        if report is not None and report.teams:
            period = report.teams[0].period
            if self.period_offset:
                title += f" · {period.label} (previous period)"
            else:
                elapsed = min(period.days, int(period.elapsed_days(report.now)) + 1)
                title += f" · {period.label} (day {elapsed} of {period.days})"
        if self.team:
            title += f" · {self.team}"
        pane.border_title = title
        policy = self.view.policy
        if self.view.policy_error:
            pane.border_subtitle = "policy error: usage without limits"
        elif policy is not None and policy.is_demo:
            pane.border_subtitle = "demo policy · soft ┊  hard │"
        elif policy is not None and policy.exists:
            pane.border_subtitle = f"{policy.source.name} · soft ┊  hard │"
        else:
            pane.border_subtitle = "no policy: usage without limits"

    def _draw_count(self) -> None:
        report = self.view.report
        total = len(report.teams) if report else 0
        line = Text()
        if self.pending:
            line.append("reading the cache…", style="dim")
        elif report is None:
            line.append("no usage cached yet", style="dim")
        else:
            line.append(f"{len(self.rows)} of {total} teams", style="bold")
        if self.view.policy_error:
            line.append(f"  ✗ {self.view.policy_error}", style="red")
        elif self.view.notice and not self.view.policy_error:
            line.append("  · " + ("built-in demo policy (sandbox): no quotas.toml configured"
                                  if self.view.policy and self.view.policy.is_demo
                                  else "no quotas.toml: write one to set limits"),
                        style="dim")
        if self.refresh_note:
            failed = self.refresh_note.startswith("refresh failed")
            line.append(f"  · {self.refresh_note}", style="red" if failed else "dim")
        self.query_one("#quota-count", Static).update(line)

    def _draw_gauges(self) -> None:
        table = self.table
        keep = self._cursor_team()
        table.clear(columns=True)
        metric = self.metric
        table.add_columns("team", "usage", "used / limit", "%", "outlook")
        report = self.view.report
        # One scale for the metric, over every team (not just the filtered ones), so a longer
        # bar always means more use, limited or not.
        scale = report.scale(metric) if report is not None else 1.0
        for t in self.rows:
            g = t.gauge(metric)
            limit = g.limit.hard or g.limit.soft
            figures = f"{amount(metric, g.used)} / " + (amount(metric, limit) if limit else
                                                         "no limit")
            table.add_row(Text(t.team), bar(g, self._bar_width(), scale),
                          Text(figures, justify="right"),
                          Text(percent(g), justify="right", style=STATUS_STYLE[g.status]),
                          self._outlook(t), key=t.team)
        self._restore(keep)

    def _bar_width(self) -> int:
        return BAR if self.app.size.width >= 100 else 12

    def _outlook(self, team: TeamUsage) -> Text:
        """The metric's own outlook: the forecast for GPU-hours, the room left otherwise."""
        g = team.gauge(self.metric)
        if self.metric != "gpu_hours":
            if g.limit.reference is None:
                return Text("no limit", style="dim")
            return Text(headroom_text(g), style=STATUS_STYLE[g.status])
        f = g.forecast
        if f is None or self.period_offset:
            return status_text(g) if g.limit.reference is not None else \
                Text("no limit", style="dim")
        if f.over_since is not None:
            return Text(f"✗ over since {day(f.over_since)}", style="bold red")
        text = Text(f"→ {amount('gpu_hours', f.at_end)} by period end")
        if f.hard_day is not None:
            text.append(f" · hard {day(f.hard_day)}", style="bold red")
        elif g.status == "warn":
            text.append(" · past soft", style="yellow")
        return text

    def _draw_costs(self) -> None:
        table = self.table
        keep = self._cursor_team()
        table.clear(columns=True)
        table.add_columns("team", "GPU-hours", "price / GPU-h", "cost", "share of cost")
        total = sum(t.cost or 0.0 for t in self.rows) or 1.0
        from ...core.quotas.usage import Gauge

        for t in self.rows:
            price = t.rules.price_per_gpu_hour
            share = Gauge("gpu_hours", t.cost or 0.0)
            table.add_row(Text(t.team), Text(amount("gpu_hours", t.gpu_hours.used),
                                             justify="right"),
                          Text("—" if price is None else money(price, t.rules.currency),
                               justify="right"),
                          Text(money(t.cost, t.rules.currency), justify="right", style="bold"),
                          bar(share, self._bar_width(), total), key=t.team)
        self._restore(keep)

    def _cursor_team(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def _restore(self, team: str | None) -> None:
        names = [t.team for t in self.rows]
        if team in names:
            self.table.move_cursor(row=names.index(team))

    def selected(self) -> TeamUsage | None:
        name = self._cursor_team()
        return next((t for t in self.rows if t.team == name), None)

    def _draw_detail(self) -> None:
        detail = self.query_one("#quota-detail", Static)
        team = self.selected()
        report = self.view.report
        if report is None or team is None:
            detail.update(Text("No usage yet: press r to read it from W&B."
                               if report is None and not self.pending else "", style="dim"))
            return
        series = D.history(self.app.session, self.view, team.team, self.metric)
        detail.update(team_detail(team, self.metric, series, report.now,
                                  bool(self.period_offset), narrow=self.app.size.width < 100))

    def _draw_team(self) -> None:
        report = self.view.report
        assert report is not None and self.team is not None
        team = report.team(self.team)
        assert team is not None
        self.query_one("#quota-switch", ContentSwitcher).current = "quota-team"
        drill = self.query_one(TeamDrill)
        drill.show(team, self.view.top_runs.get(self.team, []),
                   self.view.top_users.get(self.team, []), self.metric)

    @on(DataTable.RowHighlighted, "#quota-table")
    def _highlighted(self) -> None:
        if self.team is None:
            self._draw_detail()

    @on(DataTable.RowSelected, "#quota-table")
    def _selected(self) -> None:
        self.action_drill()

    # ---- actions -------------------------------------------------------------------------

    def action_drill(self) -> None:
        team = self.selected()
        if team is None or self.team is not None:
            return
        self.team = team.team
        D.drill(self.app.session, self.view, team.team)
        self._draw()
        self.query_one(TeamDrill).table.focus()

    def action_back(self) -> None:
        box = self.query_one("#quota-filter", Input)
        if box.display:
            box.display = False
            box.value = ""
            self.table.focus()
        elif self.team is not None:
            team, self.team = self.team, None
            self._draw()
            self._restore(team)
            self.table.focus()
        else:
            self.app.action_history_back()

    def action_metric(self, metric: str) -> None:
        self.metric, self.cost_view = metric, False
        self._draw()

    def action_cost(self) -> None:
        self.cost_view = not self.cost_view
        self._draw()

    def action_period(self) -> None:
        self.period_offset = -1 if self.period_offset == 0 else 0
        self.view.top_runs.clear()
        self.view.top_users.clear()
        self.load_cached()

    def action_filter(self) -> None:
        if self.team is not None:
            self.action_back()
        box = self.query_one("#quota-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#quota-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_refresh(self) -> None:
        session = self.app.session
        if session.offline:
            self.notify("offline: showing cached usage only", severity="warning")
            return
        if session.client is None:
            self.notify("still connecting…", timeout=2)
            return
        self.refresh_usage()
