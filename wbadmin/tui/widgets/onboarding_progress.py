"""Steps 4 and 5 of the onboarding walkthrough: the apply with a progress bar and a result
line per change, then a summary of what now exists in W&B with links (`o` opens one)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from ...core.engine import Progress
from ...core.onboarding.template_plan import Link

LINK_ICONS = {"team": "▣", "project": "▤", "service account": "⚙", "person": "●",
              "invite": "✉", "registry": "◆", "quota": "≡"}


class ApplyPane(Vertical):
    DEFAULT_CSS = """
    ApplyPane { height: 1fr; border: round $primary 40%; padding: 0 1; }
    ApplyPane #ob-progress { margin: 1 0; }
    ApplyPane #ob-progress Bar { width: 1fr; }
    ApplyPane #ob-now { height: auto; margin-bottom: 1; }
    ApplyPane #ob-results { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield ProgressBar(id="ob-progress", show_eta=False)
        yield Static(id="ob-now")
        with VerticalScroll(id="ob-results"):
            yield Static(id="ob-results-body")

    def start(self, total: int, done: list[str]) -> None:
        self.border_title = f"Applying {total} change{'s' if total != 1 else ''}"
        self.lines = Text()
        for line in done:
            self.lines.append(line + "\n", style="dim")
        self.query_one(ProgressBar).update(total=max(total, 1), progress=0)
        self.query_one("#ob-now", Static).update(Text("re-reading W&B…", style="dim"))
        self.query_one("#ob-results-body", Static).update(self.lines)

    def advance(self, p: Progress) -> None:
        now = self.query_one("#ob-now", Static)
        if p.outcome is None:
            now.update(Text.assemble((f"[{p.index}/{p.total}] ", "dim"), p.change.describe()))
            return
        o = p.outcome
        style = "green" if o.ok and o.verified is not False else \
            "dim" if o.status == "skipped" else "red"
        self.lines.append(f"[{p.index}/{p.total}] ", style="dim")
        self.lines.append(o.line() + "\n", style=style)
        if o.status != "skipped":  # the bar shows what reached W&B, not what was passed over
            self.query_one(ProgressBar).advance(1)
        self.query_one("#ob-results-body", Static).update(self.lines)

    def finish(self, text: Text, title: str | None = None) -> None:
        self.query_one("#ob-now", Static).update(text)
        if title:
            self.border_title = title


class DonePane(Vertical):
    DEFAULT_CSS = """
    DonePane { height: 1fr; border: round $primary 40%; padding: 0 1; }
    DonePane #ob-done-summary { height: auto; margin-bottom: 1; }
    DonePane #ob-links { height: 1fr; border: none; padding: 0; background: transparent; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="ob-done-summary")
        yield OptionList(id="ob-links")

    def show(self, summary: Text, links: list[Link], app_url: str | None) -> None:
        """What now exists; with its web page when there is a web app (`app_url`; None for the
        sandbox, which has none)."""
        self.border_title = "Done"
        self.links = [link for link in links if link.path]
        self.query_one("#ob-done-summary", Static).update(summary)
        options = self.query_one("#ob-links", OptionList)
        options.clear_options()
        base = (app_url or "").rstrip("/")
        for i, link in enumerate(self.links):
            prompt = Text.assemble((f"{LINK_ICONS.get(link.kind, '·')} ", "cyan"), link.label)
            if base:
                prompt.append("   ")
                prompt.append(f"{base}/{link.path}", style="dim underline")
            options.add_option(Option(prompt, id=str(i)))
        if self.links:
            options.highlighted = 0

    def selected(self) -> Link | None:
        options = self.query_one("#ob-links", OptionList)
        if options.highlighted is None or not getattr(self, "links", None):
            return None
        return self.links[options.highlighted]
