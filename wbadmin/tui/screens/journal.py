"""Screen 6, Journal: what was changed through wbadmin, by whom, with what result; undo."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ...core import (
    humanize,
)
from ..widgets.api_log import ApiLog
from ..widgets.fit_columns import FitTable
from ..widgets.footer import WbFooter
from ..widgets.header import ShellHeader

if TYPE_CHECKING:
    from ..app import WbAdminApp

STATUS_STYLE = {"applied": "green", "failed": "bold red", "pending": "yellow",
                "not_applied": "dim", "conflict": "bold yellow", "scheduled": "cyan"}


class JournalScreen(Screen):
    PANES = "#journal-table, #journal-detail-pane"  # Tab / Shift+Tab move between these
    BINDINGS = [
        Binding("u", "undo", "undo", id="undo"),
        Binding("r", "reload", "reload", id="journal.reload"),
    ]

    app: WbAdminApp

    def compose(self) -> ComposeResult:
        yield ShellHeader(id="header")
        with Vertical(id="journal"):
            yield FitTable(id="journal-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="journal-detail-pane"):  # a long entry scrolls
                yield Static(id="journal-detail")
        yield ApiLog(id="api-log")
        yield WbFooter()

    entries: list = []
    undone: dict[int, int] = {}  # entry id → the entry that undid it
    TICK_S = 5.0

    def on_mount(self) -> None:
        self.query_one("#journal-table").border_title = "Journal"
        self.query_one(ApiLog).display = self.app.api_log_visible
        self.set_interval(self.TICK_S, self._tick)  # "12s ago" must not stand still

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        # Registers the change kinds that describe() needs (imported late: it pulls in httpx).
        from ...core import changes_team  # noqa: F401

        table = self.query_one("#journal-table", DataTable)
        table.clear(columns=True)
        table.add_columns("#", "when", "actor", "target", "change", "result", "undo")
        self.entries = self.app.session.journal.query(limit=500)
        self.undone = {e.undo_of: e.id for e in self.entries
                       if e.undo_of is not None and e.status == "applied"}
        now = self.app.clock()
        for e in self.entries:
            try:
                change = e.change().describe()
            except Exception:
                change = f"{e.kind} {e.target}"
            table.add_row(str(e.id), self._when(e, now), Text(e.actor),
                          Text(e.target), Text(change),
                          Text(e.status, style=STATUS_STYLE.get(e.status, "")),
                          self._undo_cell(e))
        box = self.query_one("#journal")
        box.border_subtitle = humanize.plural(len(self.entries), "entry", "entries")
        self._show_detail()

    @staticmethod
    def _when(entry, now: float) -> str:
        return humanize.ago(entry.created_at, now) + " ago"

    def _undo_cell(self, entry) -> Text:
        if (by := self.undone.get(entry.id)) is not None:
            return Text(f"undone #{by}", style="dim")
        return Text("✓" if entry.undoable else "")

    def _tick(self) -> None:
        table = self.query_one("#journal-table", DataTable)
        now = self.app.clock()
        for row, entry in enumerate(self.entries[:table.row_count]):
            table.update_cell_at(Coordinate(row, 1), self._when(entry, now))

    def may_undo(self, entry) -> bool:
        return bool(entry and entry.undoable and entry.id not in self.undone)

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        detail = self.query_one("#journal-detail", Static)
        entry = self._selected()
        if entry is None:
            detail.update(Text("No changes have been made through wbadmin with this profile "
                               "yet.", style="dim"))
            return
        text = Text()
        text.append(f"entry {entry.id}", style="bold")
        text.append(f"  {entry.kind} via {entry.via}  plan {entry.plan_title!r}\n")
        text.append("before ", style="dim")
        text.append(json.dumps(entry.before, sort_keys=True) + "\n")
        text.append("after  ", style="dim")
        text.append(json.dumps(entry.after, sort_keys=True) + "\n")
        text.append("result ", style="dim")
        text.append(f"{entry.status}: {entry.result}")
        if entry.request_id:
            text.append(f"  (request {entry.request_id})", style="dim")
        if (by := self.undone.get(entry.id)) is not None:
            text.append(f"\nundone by entry {by}", style="dim")
        detail.update(text)

    def _selected(self):
        table = self.query_one("#journal-table", DataTable)
        row = table.cursor_row
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def action_reload(self) -> None:
        self.reload()

    def action_undo(self) -> None:
        entry = self._selected()
        if entry is None:
            return
        from ..flows.undo import start_undo_flow

        start_undo_flow(self.app, entry.id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            entry = self._selected()
            return self.app.capabilities.can_change and self.may_undo(entry)
        return True
