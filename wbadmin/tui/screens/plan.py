"""Modal dialogs for changes: pick a value, type a confirmation, review and apply a plan.

Every change is shown as a plan first. Cancel has the focus; Apply is one tab away.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from ...core.changes import Plan


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of several values; disabled options say why."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, options: list[tuple[str, str, bool]],
                 current: str | None = None) -> None:
        """`options`: (value, label, enabled)."""
        super().__init__()
        self.title_text = title
        self.options = options
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield OptionList(*[Option(self._label(value, label), id=value,
                                      disabled=not enabled)
                               for value, label, enabled in self.options], id="choices")
            yield Static(Text("enter choose · esc cancel", style="dim"))

    def _label(self, value: str, label: str) -> Text:
        text = Text(label)
        if value == self.current:
            text.append("  (current)", style="dim")
        return text

    def on_mount(self) -> None:
        """The cursor starts on the current value (you see where you are), else on the
        first option that can be chosen."""
        choices = self.query_one(OptionList)
        enabled = [i for i, (_, _, ok) in enumerate(self.options) if ok]
        current = [i for i in enabled if self.options[i][0] == self.current]
        if current or enabled:
            choices.highlighted = (current or enabled)[0]
        choices.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class InputScreen(ModalScreen[str | None]):
    """Ask for one line of text (an email, a description); esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield Input(placeholder=self.placeholder, id="dialog-input")
            yield Static(Text("enter to go on · esc cancel", style="dim"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TypedConfirmScreen(ModalScreen[bool]):
    """For dangerous changes: the person types a word to go on."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, warning: str, word: str, *, ask_again: bool = False) -> None:
        """`ask_again`: a wrong word is said so in the dialog, which stays up for another try
        (the flow behind it, and what was typed before, is kept); else it cancels."""
        super().__init__()
        self.warning = warning
        self.word = word
        self.ask_again = ask_again

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text("⚠ " + self.warning, style="bold yellow"), id="dialog-title")
            yield Static(Text.assemble("Type ", (self.word, "bold"), " to go on, or esc."))
            yield Input(placeholder=self.word, id="confirm-word")
            yield Static(id="confirm-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        if typed == self.word:
            self.dismiss(True)
        elif self.ask_again:
            self.query_one("#confirm-error", Static).update(Text(
                f"✗ {typed!r} is not {self.word!r}: type it again, or esc to cancel "
                "(nothing changed yet)" if typed else
                f"✗ type {self.word!r} to go on, or esc to cancel", style="red"))
            event.input.clear()
        else:
            self.notify("that is not it: nothing was changed", severity="warning")
            self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)


class PlanScreen(ModalScreen[bool]):
    """Shows a plan as a diff; Cancel is focused; Apply runs it."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, plan: Plan, note: str = "", *,
                 labels: tuple[str, str] | None = None) -> None:
        """`labels`: the two buttons' words (back out, go ahead) where "Cancel" and "Apply"
        would mislead — cancelling a request is its go-ahead."""
        super().__init__()
        self.plan = plan
        self.note = note
        self.labels = labels

    def compose(self) -> ComposeResult:
        n = len(self.plan.changes)
        with Vertical(id="dialog", classes="plan"):
            yield Static(Text(f"Plan: {n} change{'s' if n != 1 else ''}", style="bold"),
                         id="dialog-title")
            if self.plan.title:
                yield Static(Text(self.plan.title, style="dim"))
            yield Static(self.lines(), id="plan-lines")
            summary = self.journal_line()
            if self.note:
                summary += f"\n{self.note}"
            yield Static(Text(summary, style="dim"), id="plan-summary")
            with Horizontal(id="dialog-buttons"):
                back, go = self.labels or ("Cancel", f"Apply {n} change{'s' if n != 1 else ''}")
                yield Button(back, id="cancel", variant="default")
                yield Button(go, id="apply", variant="warning")

    def lines(self) -> RenderableType:
        """The changes, one line each (subclasses draw them otherwise)."""
        return Text("\n".join(self.plan.preview()))

    def journal_line(self) -> str:
        return f"A journal entry will be written. {self.plan.summary()}"

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#apply")
    def _apply(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
