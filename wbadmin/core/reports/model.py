"""What a report template says, once read: the one shape that publishing (W&B reports through
wandb-workspaces) and offline rendering (HTML, Markdown) both build from.

A template is TOML (shipped ones beside this module in `templates/`, a user's in
`~/.config/wbadmin/reports/NAME.toml`)::

    [report]
    title = "Engineering review"
    description = "Latency and cost of the serving models"
    audience = "engineering"            # research | engineering | product | governance
    teams = ["ml-platform"]             # optional; `--teams` overrides
    runs = "State == 'finished'"        # optional filter, written in wandb_workspaces.expr

    [[blocks]]
    kind = "markdown"                   # text as given
    text = "## Latency and cost"

    [[blocks]]
    kind = "figures"                    # wbadmin's own figures for the period, as markdown
    figures = ["gpu_hours", "cost", "promotions", "findings"]

    [[blocks]]
    kind = "panels"                     # a panel grid over the teams' projects' runs
    runs = "Metric('latency_ms') > 0"   # optional; overrides [report].runs for this grid
    [[blocks.panels]]
    kind = "line"                       # see PANEL_KINDS
    title = "p95 latency"
    metrics = ["latency_ms_p95"]
    x = "_step"                         # line plots only; optional

Every element keeps the line it was read from, so a later check (an unknown team, a metric the
runs never logged) can still say `file:line: reason`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

AUDIENCES = ("research", "engineering", "product", "governance")
BLOCK_KINDS = ("markdown", "figures", "panels")
# line: LinePlot; bar: BarPlot; scalar: ScalarChart (one metric); run_comparer: RunComparer
# (no metrics); parallel_coordinates: ParallelCoordinatesPlot (sweeps: config and metrics).
PANEL_KINDS = ("line", "bar", "scalar", "run_comparer", "parallel_coordinates")
# The period's figures wbadmin computes itself (never W&B panels): GPU-hours and cost per team
# against their limits, promotions decided, open findings by severity.
FIGURES = ("gpu_hours", "cost", "promotions", "findings")


@dataclass(frozen=True)
class Panel:
    kind: str
    title: str
    metrics: tuple[str, ...] = ()
    x: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Block:
    kind: str
    text: str = ""
    figures: tuple[str, ...] = ()
    panels: tuple[Panel, ...] = ()
    runs: str = ""  # this grid's run filter ("" = the report's)
    line: int = 0


@dataclass(frozen=True)
class ReportTemplate:
    name: str  # the file's stem: what `wbadmin report publish NAME` names
    title: str
    description: str = ""
    audience: str = "governance"
    teams: tuple[str, ...] = ()  # () = whatever `--teams` says
    runs: str = ""
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    path: Path | None = None  # None for a template built in code

    def runs_filter(self, block: Block) -> str:
        """The filter a panel grid shows runs through: its own, else the report's."""
        return block.runs or self.runs
