"""`wbadmin report render TEMPLATE --format html|md -o FILE`: the offline stakeholder report.

One self-contained file (HTML with inline SVG charts and no external URL, or Markdown) for
mail or a wiki, from the read model: GPU-hours and cost per team against their limits (the
numbers `wbadmin quotas` gives, from the same quota policy), promotions decided in the period,
open access findings by severity (as `wbadmin access findings` lists them for you), and the
template's markdown. Panels that need W&B's own charts are links to the teams' projects.

  wbadmin report render governance --format html -o review.html
  wbadmin report render engineering --format md -o eng.md --teams ml-infra,search-relevance
  wbadmin report render governance -o q.html --period 30d --json

Teams: --teams, else the template's `teams`, else every team you can see. The GPU-hours and
cost are the quota policy's current period; --period (default: since that period began) is the
window of the promotions decided; --previous reports the quota period before.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from ..core.access.people import identity
from ..core.reports.figures import gather, period_window
from ..core.reports.offline import OfflineReport, project_links
from ..core.reports.render_html import render_html
from ..core.reports.render_md import render_md
from ..core.reports.templates import check_teams, load_template
from ..core.when import parse_duration
from .access_cmd import visible_findings
from .common import add_command, note
from .errors import AUTH, BAD_DATA, NOT_FOUND, PERMISSION, UNAVAILABLE, USAGE, CliError
from .output import emit_json
from .quotas_cmd import usage_report

CODES = (USAGE, AUTH, PERMISSION, NOT_FOUND, UNAVAILABLE, BAD_DATA)
FORMATS = ("html", "md")
DEFAULT_WINDOW = 30 * 86_400.0  # no quota period to start from (no teams): the last 30 days


def register(actions: argparse._SubParsersAction) -> None:
    render = add_command(actions, "render", cmd_render, codes=CODES, description=__doc__,
                         help="render a template to a self-contained HTML or Markdown file")
    render.add_argument("template", metavar="TEMPLATE",
                        help="a template name (see the shipped ones above, or yours)")
    render.add_argument("--format", choices=FORMATS, default=None,
                        help="html or md (default: from the -o file's suffix, else html)")
    render.add_argument("-o", "--output", metavar="FILE", required=True, type=Path,
                        help="the file to write (replaced whole, never left half-written)")
    render.add_argument("--teams", metavar="A,B", help="these teams (default: the template's, "
                        "else every team you can see)")
    render.add_argument("--period", metavar="DURATION",
                        help="the window of the promotions decided, e.g. 30d (default: since "
                             "the quota period began)")
    render.add_argument("--policy", metavar="FILE", help="the quota policy (TOML); default: "
                        "$WBADMIN_QUOTA_POLICY, else quotas.toml in the config dir")
    render.add_argument("--previous", action="store_true",
                        help="the previous quota period (a review of last month)")
    render.add_argument("--refresh", action="store_true", help="sync the cache first")
    render.set_defaults(full=False)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    return "md" if args.output.suffix.lower() in (".md", ".markdown") else "html"


def _window(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise CliError(f"--period: {exc}", USAGE) from None
    if seconds <= 0:
        raise CliError("--period must be longer than 0 (e.g. 30d)", USAGE)
    return seconds


def _teams(args: argparse.Namespace, template_teams: tuple[str, ...], known: set[str],
           reported: list[str]) -> tuple[str, ...]:
    if args.teams is None:
        return template_teams or tuple(reported)
    named = tuple(dict.fromkeys(t.strip() for t in args.teams.split(",") if t.strip()))
    if not named:
        raise CliError("--teams names no team (e.g. --teams ml-infra,vision-research)", USAGE)
    if unknown := [t for t in named if t not in known]:
        raise CliError(f"unknown team {unknown[0]!r} (not in the organization as last "
                       "synced; `wbadmin teams` lists them)", NOT_FOUND)
    return named


def cmd_render(args: argparse.Namespace) -> int:
    # Everything that can be refused without W&B is refused first: nothing is read or written.
    template = load_template(args.template)
    fmt = _format(args)
    window = _window(args.period)
    target = args.output.expanduser()
    if not target.parent.is_dir():
        raise CliError(f"cannot write {target}: no such directory {target.parent}", USAGE)
    session, found = visible_findings(args)
    cache = session.cache
    known = {r["name"] for r in cache.query("SELECT name FROM teams")}
    check_teams(template, known)
    usage = usage_report(args)
    teams = _teams(args, template.teams, known, [t.team for t in usage.teams])
    since, until = period_window(usage) or (usage.now - DEFAULT_WINDOW, usage.now)
    if window:  # --period: that long, up to the period's end (now, for the current one)
        since = until - window
    figures = gather(usage, cache, found, since=since, until=until, teams=teams)
    me = identity(cache)
    links, more = project_links(cache, teams, session.web_app_url)
    report = OfflineReport(template, figures, teams, me.username if me else "unknown", links,
                           more)
    _write(target, render_html(report) if fmt == "html" else render_md(report))
    if args.json:
        emit_json({"file": str(target), "format": fmt, "template": template.name,
                   "teams": list(teams), "viewer": report.viewer,
                   "figures": figures.to_json()})
    else:
        print(f"wrote {target} ({fmt}, template {template.name}, {len(teams)} team"
              f"{'s' if len(teams) != 1 else ''}, as seen by {report.viewer})")
    for warning in figures.warnings:
        note(f"warning: {warning}")
    return 0


def _write(target: Path, text: str) -> None:
    """Write to a temporary file beside `target`, then rename: a reader (or a failure
    halfway) never sees half a report."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise CliError(f"cannot write {target}: {exc.strerror or exc}", USAGE) from None
