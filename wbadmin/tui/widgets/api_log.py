"""The API-call log (as lazygit's command log): each request, its duration and status."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable

if TYPE_CHECKING:
    from ...core.client import RequestRecord

MAX_ROWS = 300


class ApiLog(DataTable):
    """Oldest first, the cursor following the newest; capped so it never costs a frame."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("time", "api", "request", "status", "ms", "try")

    def add_record(self, record: RequestRecord) -> None:
        status = Text(str(record.status) if record.status else (record.error or "—"))
        if record.status is None or record.status >= 500 or record.status == 429:
            status.stylize("bold red")
        elif record.status >= 400:
            status.stylize("yellow")
        else:
            status.stylize("green")
        row = (time.strftime("%H:%M:%S", time.localtime(record.started_at)), record.api,
               Text(record.target), status, f"{record.duration_ms:.0f}", str(record.attempt))
        if self.row_count >= MAX_ROWS:
            self.remove_row(self.coordinate_to_cell_key((0, 0)).row_key)
        self.add_row(*row)
        self.move_cursor(row=self.row_count - 1)
