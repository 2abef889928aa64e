"""The offline report as Markdown, for a wiki or a ticket: the template's markdown as
written, the figures as tables (Figures.to_markdown, as publishing puts them in a W&B
report), and the panels W&B draws as links to the teams' projects."""

from __future__ import annotations

from .figures import md_escape
from .model import Block
from .offline import OfflineReport


def render_md(report: OfflineReport) -> str:
    t = report.template
    teams = ", ".join(report.teams) or "no teams"
    parts = [f"# {md_escape(t.title)}"]
    if t.description:
        parts.append(md_escape(t.description))
    f = report.figures
    parts.append(f"_Teams: {md_escape(teams)} · quota period {f.period_label} · promotions "
                 f"{f.window_text} · generated {report.generated} · as seen by "
                 f"{md_escape(report.viewer)}_")
    parts += [f"> warning: {md_escape(w)}" for w in report.figures.warnings]
    for block in t.blocks:
        parts.append(_block(block, report))
    return "\n\n".join(p.strip() for p in parts if p.strip()) + "\n"


def _block(block: Block, report: OfflineReport) -> str:
    if block.kind == "markdown":
        return block.text
    if block.kind == "figures":
        return report.figures.to_markdown(block.figures)
    lines = ["**W&B panels** (open them in W&B)"]
    if runs := report.template.runs_filter(block):
        lines.append(f"Runs: `{runs}`")
    lines.append("")
    for p in block.panels:
        metrics = ", ".join(p.metrics) or "the runs side by side"
        lines.append(f"- {md_escape(p.title)} ({p.kind.replace('_', ' ')}): "
                     f"{md_escape(metrics)}" + (f" by {md_escape(p.x)}" if p.x else ""))
    lines.append("")
    for link in report.projects:
        name = md_escape(link.path)
        lines.append(f"- [{name}]({link.url})" if link.url else f"- {name}")
    if report.more_projects:
        lines.append(f"- … and {report.more_projects} more")
    return "\n".join(lines)
