"""The shell header: breadcrumbs and mode badges, then identity, host and data age, then
(only when the server limits the screen's feature) what this server lacks or makes wbadmin
do instead."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from ...core import humanize


class ShellHeader(Widget):
    """Two lines; every value comes from the app's state and is set by the app."""

    crumbs: reactive[tuple[str, ...]] = reactive(tuple)
    badges: reactive[tuple[str, ...]] = reactive(tuple)
    identity: reactive[str] = reactive("")
    host: reactive[str] = reactive("")
    age_seconds: reactive[float | None] = reactive(None)
    stale_after: reactive[float] = reactive(60.0)
    refresh_error: reactive[str | None] = reactive(None)
    connecting: reactive[bool] = reactive(False)
    server_note: reactive[str | None] = reactive(None)

    def compose(self) -> ComposeResult:
        with Horizontal(id="header-top"):
            yield Static(id="crumbs")
            yield Static(id="badges")
        yield Static(id="header-info")
        yield Static(id="header-server")

    def watch_server_note(self, note: str | None) -> None:
        if not self.query("#header-server"):
            return
        line = self.query_one("#header-server", Static)
        line.update(Text(note or "", style="yellow"))
        line.display = bool(note)

    def watch_crumbs(self) -> None:
        self._render_top()

    def watch_badges(self) -> None:
        self._render_top()

    def _render_top(self) -> None:
        # Not `is_mounted`: it is still False inside on_mount, where this must draw.
        if not self.query("#crumbs"):
            return
        crumbs = Text("wbadmin ", style="bold")
        for i, part in enumerate(self.crumbs):
            crumbs.append("─ " if i == 0 else "▸ ", style="dim")
            crumbs.append(part, style="bold" if i == len(self.crumbs) - 1 else "")
            crumbs.append(" ")
        self.query_one("#crumbs", Static).update(crumbs)
        badges = Text()
        for badge in self.badges:
            style = {"SANDBOX": "bold black on #d7afff", "LIVE": "bold black on #87d787",
                     "OFFLINE": "bold black on #ffd75f",
                     "READ-ONLY": "bold white on #af5f5f"}.get(badge, "reverse")
            badges.append(f" {badge} ", style=style)
            badges.append(" ")
        self.query_one("#badges", Static).update(badges)

    def on_mount(self) -> None:
        self._render_top()
        self._render_info()
        self.watch_server_note(self.server_note)
        update = getattr(self.app, "update_header", None)
        if callable(update):
            # After this first refresh (the watchers draw only once mounted), and for this
            # header: its screen may not be the active one yet.
            self.call_after_refresh(update, self)

    def watch_identity(self) -> None:
        self._render_info()

    def watch_host(self) -> None:
        self._render_info()

    def watch_age_seconds(self) -> None:
        self._render_info()

    def watch_refresh_error(self) -> None:
        self._render_info()

    def watch_connecting(self) -> None:
        self._render_info()

    def _render_info(self) -> None:
        if not self.query("#header-info"):
            return
        info = Text()
        info.append(self.identity or "not signed in", style="bold")
        info.append(" · ", style="dim")
        info.append(self.host)
        info.append(" · ", style="dim")
        if self.age_seconds is None:
            info.append("no data yet" if not self.connecting else "loading…", style="dim")
        else:
            age = humanize.ago(0, self.age_seconds)
            style = ""
            if self.refresh_error:
                style = "bold red"
            elif self.age_seconds > self.stale_after:
                style = "bold yellow"
            info.append(f"data {age} old", style=style)
        if self.refresh_error:
            info.append(f"  refresh failed: {self.refresh_error}", style="red")
        elif self.connecting:
            info.append("  refreshing…", style="dim italic")
        self.query_one("#header-info", Static).update(info)
