"""Dialogs of the Promotions screen: a comment or reason prompt, and a collection's history."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from ...core.promotions.views import HistoryEntry
from ..widgets.fit_columns import FitTable
from .plan import PlanScreen


class PromptScreen(ModalScreen[str | None]):
    """One line of text: a comment (optional) or a reason (required). Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, label: str, *, required: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.label = label
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static(Text(self.label))
            yield Input(placeholder="required" if self.required else "optional",
                        id="prompt-input")
            yield Static(Text("enter go on · esc cancel (nothing changes)", style="dim"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.notify(f"{self.label.rstrip(':')} is required", severity="warning")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HistoryScreen(ModalScreen[None]):
    """Every request and decision on one collection: who, when, why."""

    BINDINGS = [Binding("escape", "close", "close"), Binding("q", "close", "close")]

    def __init__(self, title: str, entries: list[HistoryEntry], note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.entries = entries
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="history"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield FitTable(id="history-table", cursor_type="row", zebra_stripes=True)
            note = self.note or ("No promotion decisions on this collection yet."
                                 if not self.entries else "")
            yield Static(Text((note + "\n" if note else "") + "esc close", style="dim"))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("when (UTC)", "version", "target", "action", "by", "why")
        for e in self.entries:
            extra = " ".join(f"{k}={v}" for k, v in e.details.items()
                             if k in ("from", "to") and v)
            why = " · ".join(x for x in (e.why, extra) if x)
            table.add_row(e.at, e.version, e.target, e.action, Text(e.by), Text(why))
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)


class PromotionPlanScreen(PlanScreen):
    """The plan dialog, wide enough for a registry path and an alias move on one line."""
