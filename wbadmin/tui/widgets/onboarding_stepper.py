"""The onboarding stepper: `1 Template › 2 Names & people › 3 Review plan › 4 Apply › 5 Done`,
the current step highlighted, and one line saying what this step does in W&B."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...core.onboarding.walkthrough import STEP_KEYS, STEPS, explain


class OnboardingStepper(Static):
    DEFAULT_CSS = """
    OnboardingStepper { height: 2; padding: 0 1; background: $boost; }
    """

    def show(self, step: str, kind: str | None, subject: str = "") -> None:
        current = STEP_KEYS.index(step)
        line = Text()
        for i, s in enumerate(STEPS):
            if i:
                line.append("  ›  ", style="dim")
            if i < current:
                line.append(f"✓ {i + 1} {s.title}", style="green")
            elif i == current:
                line.append(f" {i + 1} {s.title} ", style="bold reverse")
            else:
                line.append(f"{i + 1} {s.title}", style="dim")
        if subject and line.cell_len + len(subject) + 6 <= (self.size.width or 120):
            line.append("    ")
            line.append(subject, style="bold")
        line.append("\n")
        line.append(explain(step, kind), style="italic")
        line.no_wrap = True
        line.overflow = "ellipsis"
        self.update(line)
