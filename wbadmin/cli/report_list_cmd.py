"""`wbadmin report list [--project ENTITY/PROJECT | --team TEAM]`: the reports wbadmin
published, as W&B holds them (the projects' reports carrying wbadmin's marker), with their
title, template, project, when they were last updated, their author and URL.

  wbadmin report list --project ml-infra/reviews
  wbadmin report list --team data-science-nlp --json
  wbadmin report list                       # every project of every team you can see

W&B is read, not the cache: a report published from another machine is listed too.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ..core.session import Session
from .common import add_command, run_online
from .data_cmd import fresh_session
from .errors import AUTH, NOT_FOUND, UNAVAILABLE, USAGE, CliError
from .output import emit_json, emit_table
from .report_publish_cmd import project_arg

CODES = (USAGE, AUTH, NOT_FOUND, UNAVAILABLE)


def register(actions: argparse._SubParsersAction) -> None:
    listing = add_command(actions, "list", cmd_list, codes=CODES, description=__doc__,
                          help="the reports wbadmin published in W&B")
    where = listing.add_mutually_exclusive_group()
    where.add_argument("--project", metavar="ENTITY/PROJECT", help="this project's only")
    where.add_argument("--team", metavar="TEAM", help="this team's projects' only")
    listing.add_argument("--refresh", action="store_true",
                         help="sync the cache (which projects there are) first")


def _projects(session: Session, args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.project:
        return [project_arg(args.project)]
    cache = session.cache
    if args.team:
        if not cache.scalar("SELECT 1 FROM teams WHERE name = ?", (args.team,)):
            raise CliError(f"unknown team {args.team!r} (not in the organization as last "
                           "synced; `wbadmin teams` lists them)", NOT_FOUND)
        rows = cache.query("SELECT team, name FROM projects WHERE team = ? ORDER BY name",
                           (args.team,))
    else:
        rows = cache.query("SELECT team, name FROM projects ORDER BY team, name")
    return [(r["team"], r["name"]) for r in rows]


def cmd_list(args: argparse.Namespace) -> int:
    from ..core.reports.published import project_reports

    session = fresh_session(args, planning=True)
    projects = _projects(session, args)

    async def work(s: Session) -> tuple[list[Any], str | None]:
        found = await asyncio.gather(*(project_reports(s.client, e, p) for e, p in projects))
        if args.project and not found[0].exists:
            raise CliError(f"project {args.project} not found (or not visible to you)",
                           NOT_FOUND)
        return [r for f in found for r in f.reports], s.web_app_url or s.client.base_url

    reports, app_url = run_online(session, work)
    if args.json:
        emit_json([r.to_json(app_url) for r in reports])
        return 0
    if not reports:
        print("no report published by wbadmin" + (f" in {args.project}" if args.project else
                                                  f" in team {args.team}" if args.team else ""))
        return 0
    emit_table([[r.title, r.template, f"{r.entity}/{r.project}", (r.updated or "")[:16],
                 r.author, r.url(app_url)] for r in reports],
               ["title", "template", "project", "updated", "author", "url"])
    return 0
