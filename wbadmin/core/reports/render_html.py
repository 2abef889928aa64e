"""The offline report as one self-contained HTML file: inline CSS and SVG, no script, no
external font, image or stylesheet, so it opens the same from a mail attachment or a wiki.

Every piece of user data (team, project and version names, titles) is escaped; the
template's markdown is rendered with raw HTML disabled, so a template cannot inject markup.
"""

from __future__ import annotations

from html import escape

from ..quotas.text import money
from . import svg_charts
from .figures import Figures
from .model import Block, Panel
from .offline import OfflineReport

STYLE = """
body { font-family: system-ui, sans-serif; color: #1f2933; max-width: 980px; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: .2rem; } .meta { color: #616e7c; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; }
th, td { border-bottom: 1px solid #d9e2ec; padding: .25rem .7rem; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status-over { color: #c53030; font-weight: bold; } .status-warn { color: #b7791f; }
figure { margin: .8rem 0; } figcaption { color: #616e7c; font-size: .9rem; }
.panel { border: 1px solid #d9e2ec; border-radius: 4px; padding: .5rem .8rem; margin: .4rem 0; }
.note { color: #616e7c; font-size: .9rem; }
"""


def render_html(report: OfflineReport) -> str:
    t = report.template
    teams = ", ".join(report.teams) or "no teams"
    f = report.figures
    parts = [f"<h1>{escape(t.title)}</h1>",
             f'<p class="meta">{escape(t.description)}</p>' if t.description else "",
             f'<p class="meta" id="meta">Teams: {escape(teams)} · quota period '
             f"{escape(f.period_label)} · promotions {escape(f.window_text)}"
             f" · generated {escape(report.generated)} · as seen by {escape(report.viewer)}"
             "</p>"]
    parts += [f'<p class="note">warning: {escape(w)}</p>' for w in report.figures.warnings]
    for block in t.blocks:
        parts.append(_block(block, report))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(t.title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(p for p in parts if p) + "\n</body></html>\n")


def _block(block: Block, report: OfflineReport) -> str:
    if block.kind == "markdown":
        return markdown_html(block.text)
    if block.kind == "figures":
        return "\n".join(_figure(name, report.figures) for name in block.figures)
    return _panels(block, report)


def markdown_html(text: str) -> str:
    """The template's markdown (CommonMark and tables), raw HTML shown as text."""
    from markdown_it import MarkdownIt  # only rendering pays for the parser

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def _figure(name: str, f: Figures) -> str:
    if name == "gpu_hours":
        return _gpu_hours(f)
    if name == "cost":
        return _cost(f)
    if name == "promotions":
        return _promotions(f)
    return _findings(f)


def _table(head: list[tuple[str, bool]], rows: list[list[tuple[str, str]]], ident: str) -> str:
    """`head`: (label, numeric); each cell: (text, css class)."""
    th = "".join(f'<th class="num">{escape(h)}</th>' if num else f"<th>{escape(h)}</th>"
                 for h, num in head)
    body = "".join("<tr>" + "".join(
        (f'<td class="{cls}">' if cls else "<td>") + f"{escape(text)}</td>"
        for text, cls in row) + "</tr>" for row in rows)
    return f'<table id="{ident}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _limit(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _gpu_hours(f: Figures) -> str:
    chart = svg_charts.gpu_hours_over_period(f.teams, f.period_label)
    rows = [[(t.team, "team"), (f"{t.gpu_hours:,.1f}", "num"), (_limit(t.soft), "num"),
             (_limit(t.hard), "num"), (t.status, f"status-{t.status}")] for t in f.teams]
    table = _table([("Team", False), ("GPU-hours", True), ("Soft limit", True),
                    ("Hard limit", True), ("Status", False)], rows, "gpu-hours")
    return (f"<h3>GPU-hours per team, {escape(f.period_label)}</h3><figure>{chart}"
            "<figcaption>GPU-hours used since the period began, day by day, against each "
            f"team's limits (the quota policy).</figcaption></figure>{table}")


def _cost(f: Figures) -> str:
    shown = [money(t.cost, t.currency) for t in f.teams]
    chart = svg_charts.cost_per_team(f.teams, shown, f.period_label)
    rows = [[(t.team, "team"), (s, "num")] for t, s in zip(f.teams, shown, strict=True)]
    note = ("" if any(t.cost is not None for t in f.teams) else
            '<p class="note">No price per GPU-hour in the quota policy: no cost to show.</p>')
    return (f"<h3>Cost per team, {escape(f.period_label)}</h3><figure>{chart}</figure>"
            + _table([("Team", False), ("Cost", True)], rows, "cost") + note)


def _promotions(f: Figures) -> str:
    chart = svg_charts.promotions(f.approved, f.rejected, f.window_text)
    rows = [[(p.version, ""), (p.target, ""), (p.outcome, ""), (p.by, ""), (p.at[:10], "")]
            for p in f.promotions]
    table = _table([("Version", False), ("Alias", False), ("Decision", False), ("By", False),
                    ("On", False)], rows, "promotions") if rows else \
        '<p class="note">No promotion was decided in the period.</p>'
    return (f"<h3>Promotions decided {escape(f.window_text)}</h3>"
            f'<p id="promotion-counts">{f.approved} approved, {f.rejected} rejected</p>'
            f"<figure>{chart}</figure>{table}")


def _findings(f: Figures) -> str:
    found = f.findings
    chart = svg_charts.findings_by_severity(found)
    counts = ", ".join(f"{n} {s}" for s, n in found.by_severity)
    unjudged = "" if not found.unjudged else (
        '<p class="note">Not judged with this identity\'s access: '
        + "; ".join(escape(t) for t in found.unjudged) + "</p>")
    return (f'<h3>Open access findings</h3><p id="finding-counts">{escape(counts)}</p>'
            f"<figure>{chart}</figure>{unjudged}")


def _panels(block: Block, report: OfflineReport) -> str:
    """W&B's own charts cannot be drawn offline: each panel is said, with links to the
    projects whose runs it shows."""
    runs = report.template.runs_filter(block)
    items = "".join(_panel(p) for p in block.panels)
    links = "".join(
        f'<li><a href="{escape(p.url, quote=True)}">{escape(p.path)}</a></li>' if p.url
        else f"<li>{escape(p.path)}</li>" for p in report.projects)
    more = f"<li>… and {report.more_projects} more</li>" if report.more_projects else ""
    where = (f"<p>Runs: <code>{escape(runs)}</code></p>" if runs else "")
    projects = (f"<p>Open them in W&amp;B, in the teams' projects:</p><ul>{links}{more}</ul>"
                if links else '<p class="note">No projects of these teams are cached.</p>')
    return (f'<section class="panels"><h3>W&amp;B panels</h3>{where}{items}{projects}'
            "</section>")


def _panel(p: Panel) -> str:
    metrics = ", ".join(p.metrics) or "the runs side by side"
    x = f" by {p.x}" if p.x else ""
    return (f'<div class="panel"><strong>{escape(p.title)}</strong> '
            f"({escape(p.kind.replace('_', ' '))}): {escape(metrics)}{escape(x)}</div>")
