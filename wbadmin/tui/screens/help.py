"""`?`: the keys that work where you are, for this identity and mode."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

KEY_NAMES = {"slash": "/", "colon": ":", "question_mark": "?", "escape": "esc",
             "left_square_bracket": "[", "right_square_bracket": "]", "space": "space",
             "enter": "enter", "tab": "tab"}

# Keys of the widgets themselves, worth listing beside the app's own.
BUILTIN = [
    ("↑ ↓ ← →", "move; page up/down, home/end scroll"),
    ("enter", "open / expand (tree), choose (lists)"),
    ("tab shift+tab", "next / previous pane"),
    ("ctrl+p", "command palette: every action, any team, project or person"),
    ("esc", "back"),
]


def _ours(node: object, action: str) -> bool:
    """Whether a class of wbadmin's own (not Textual's) declares this binding."""
    for cls in type(node).__mro__:
        if cls.__module__.startswith("wbadmin") and any(
                (b.action if isinstance(b, Binding) else b[1]) == action
                for b in cls.__dict__.get("BINDINGS", [])):
            return True
    return False


def _not_here(app: object, action: str) -> str | None:
    """Why a screen key's feature is unavailable on this server, or None."""
    from ..server_state import unavailable_reason

    if not action.startswith("switch_mode("):
        return None
    why = unavailable_reason(getattr(app, "facts", None), action.split("'")[1])
    return why.split(": ", 1)[-1] if why else None


def key_label(key: str) -> str:
    return " ".join(KEY_NAMES.get(k, k) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(self._table(), id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Keys that work here"
        self.query_one("#help-box").border_subtitle = "esc to close"

    def _rows(self) -> list[tuple[str, str]]:
        """(key, what) for wbadmin's own actions that work now, here first, then everywhere.

        Textual's widget keys (cursor moves, scrolling) are summarised in one line each
        instead of listed one by one."""
        here: list[tuple[str, str]] = []
        everywhere: list[tuple[str, str]] = []
        seen: set[str] = set()
        for key, active in self.under.active_bindings.items():
            binding, node = active.binding, active.node
            if not active.enabled or not binding.description or binding.action in seen:
                continue
            if not _ours(node, binding.action):
                continue  # a Textual widget's own key (cursor moves, scrolling)
            seen.add(binding.action)
            what = binding.description
            why = _not_here(self.app, binding.action)
            if why is not None:  # greyed: the key stays, with why it does nothing here
                what = f"{what} (not on this server: {why})"
            row = (key_label(binding.key_display or key), what)
            (everywhere if node is self.app else here).append(row)
        listed = {key for key, _ in here + everywhere}
        return here + everywhere + [row for row in BUILTIN if row[0] not in listed]

    def _table(self) -> Table:
        self.rows = self._rows()
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for key, what in self.rows:
            style = "dim" if "(not on this server:" in what else ""
            table.add_row(Text(key, style=style), Text(what, style=style))
        return table
