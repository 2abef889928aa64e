"""Step 3 of the onboarding walkthrough: the plan, and the Plan dialog that confirms it.

The onboarding plan has long lines (a project's description rides in its change), so it is
drawn as a table whose change column wraps, in the review pane and in a wider Plan dialog
(the app's PlanScreen with Cancel focused, as every change in wbadmin)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...core.access.guards import Concern
from ...core.changes import Plan
from ...core.onboarding.template_plan import Problem
from ..screens.plan import PlanScreen

DIALOG_ROWS = 14  # the dialog stays on screen; the review pane lists every change
SYMBOL_STYLE = {"+": "green", "-": "red", "~": "yellow"}


def plan_table(plan: Plan, done: list[str] | None = None, *, compact: bool = False) -> Table:
    """One row per change: symbol, target, what changes (wrapping), the API it goes through
    (left out when `compact`, for narrow terminals). `done` lines (already applied, from the
    journal or a re-read) come first, dimmed."""
    table = Table(box=None, show_header=True, header_style="dim", padding=(0, 1),
                  expand=True)
    table.add_column("", width=1, no_wrap=True)
    table.add_column("target", no_wrap=True, max_width=28 if compact else 44,
                     overflow="ellipsis")
    table.add_column("change", ratio=1, min_width=28)
    if not compact:
        table.add_column("via", style="dim", no_wrap=True)
    for line in done or []:
        text, _, why = line.removeprefix("✓ ").rpartition(" — ")
        table.add_row(Text("✓", style="green"), Text(text, style="dim"), Text(why, style="dim"),
                      *([] if compact else [""]))
    for change in plan:
        symbol, parts, summary, via = change.describe_parts()
        table.add_row(Text(symbol, style=SYMBOL_STYLE.get(symbol, "")),
                      Text("  ".join(parts)), Text(summary), *([] if compact else [via]))
    return table


def review_body(plan: Plan, *, done: list[str], notes: list[str],
                concerns: list[Concern], quota: str | None, problems: list[Problem],
                blocker: str | None, reread: bool, compact: bool = False,
                ticket: str = "") -> RenderableType:
    if problems:
        text = Text("Nothing can be applied until these are fixed (esc: back to the names):\n\n",
                    style="bold red")
        for p in problems:
            text.append("✗ ", style="red")
            if p.place:
                text.append(f"{p.place}: ", style="bold")
            text.append(f"{p.reason}\n")
        return text
    parts: list[RenderableType] = []
    if ticket:
        parts.append(Text.assemble(("Ticket ", "bold"), (ticket, "bold cyan"),
                                   (": on every journal entry of this plan and in the new "
                                    "projects' descriptions\n", "dim")))
    if plan.is_empty:
        parts.append(Text("Nothing left to change: W&B already shows all of this.",
                          style="green"))
    parts.append(plan_table(plan, done, compact=compact))
    source = "re-read from W&B" if reread else "from the cache; re-read from W&B on apply"
    parts.append(Text(f"\n{plan.summary()} · {source}", style="dim"))
    for note in notes:
        parts.append(Text(f"note: {note}", style="dim"))
    for concern in concerns:
        parts.append(Text(f"⚠ {concern.message} (you will be asked to type "
                          f"{concern.phrase!r})", style="yellow"))
    if quota:
        parts.append(Text("\nQuota policy (written to a file you keep on apply; W&B has no "
                          "quotas):", style="bold"))
        parts.append(Text(quota.rstrip(), style="cyan"))
    if blocker:
        parts.append(Text(f"\nApplying is not offered: {blocker}. You can still browse the "
                          "templates and preview this plan.", style="bold yellow"))
    elif not plan.is_empty:
        parts.append(Text("\na: apply… (the Plan dialog opens with Cancel focused) · esc: back "
                          "· P: pause", style="dim"))
    return Group(*parts)


class ReviewPane(VerticalScroll):
    DEFAULT_CSS = """
    ReviewPane { height: 1fr; border: round $primary 40%; padding: 0 1; }
    ReviewPane:focus { border: round $primary; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="ob-review-body")

    def show(self, title: str, body: RenderableType) -> None:
        self.border_title = title
        self.query_one("#ob-review-body", Static).update(body)


class OnboardingPlanScreen(PlanScreen):
    """The Plan dialog, wide enough for an onboarding plan (a table, not one line each)."""

    def on_mount(self) -> None:
        # Inline: the app stylesheet's `#dialog` width would win over a DEFAULT_CSS rule.
        dialog = self.query_one("#dialog")
        dialog.styles.width = 116
        dialog.styles.max_width = "98%"
        dialog.styles.max_height = "96%"
        super().on_mount()

    def lines(self) -> RenderableType:
        shown = Plan(title=self.plan.title, changes=self.plan.changes[:DIALOG_ROWS])
        table = plan_table(shown)
        if len(self.plan) > DIALOG_ROWS:
            table.add_row("", Text(f"… and {len(self.plan) - DIALOG_ROWS} more (all are "
                                   "listed in the review behind)", style="dim"), "", "")
        return table

    def journal_line(self) -> str:
        return f"A journal entry is written for each change: {self.plan.summary()}."
