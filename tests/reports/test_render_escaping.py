"""Team, project and version names are user data: in the HTML (tables and SVG alike) and in
the Markdown they are text, never markup — whatever a name holds."""

from __future__ import annotations

from wbadmin.core.reports.figures import (
    Figures,
    FindingFigures,
    PromotionDecision,
    TeamFigures,
)
from wbadmin.core.reports.offline import OfflineReport, ProjectLink
from wbadmin.core.reports.render_html import render_html
from wbadmin.core.reports.render_md import render_md
from wbadmin.core.reports.templates import load_template

EVIL = '<img src=x onerror="alert(1)">|team'


def report() -> OfflineReport:
    team = TeamFigures(EVIL, 12.5, 10.0, 20.0, "warn", 30.0, "USD", (5.0, 7.5), 2)
    figures = Figures("November 2026", 0.0, 86_400.0, 86_400.0, (team,),
                      (PromotionDecision(f"model/{EVIL}:v1", "production", "approved",
                                         "alice", "1970-01-01T12:00:00Z"),),
                      FindingFigures((("high", 1), ("medium", 0), ("low", 0)), (EVIL,)))
    link = ProjectLink(EVIL, "p", "https://wandb.example/x/p?a=1&b=2")
    return OfflineReport(load_template("governance"), figures, (EVIL,), "alice", (link,))


def test_html_escapes_every_name() -> None:
    html = render_html(report())
    assert "<img" not in html and 'onerror="' not in html
    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;|team"
    assert html.count(escaped) >= 6  # meta, SVG chart and bars, tables, promotions, findings
    assert 'href="https://wandb.example/x/p?a=1&amp;b=2"' in html


def test_markdown_keeps_a_name_from_breaking_its_table() -> None:
    md = render_md(report())
    assert "<img" not in md
    row = '| &lt;img src=x onerror="alert(1)"&gt;\\|team | 12.5 | 10 | 20 | warn | $30.00 |'
    assert row in md
