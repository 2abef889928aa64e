"""`wbadmin report publish TEMPLATE --project ENTITY/PROJECT`: the template as a W&B report,
built with `wandb-workspaces` (in a worker acting as your verified identity) and saved,
through the change path: planned from W&B, shown, confirmed, applied, journaled.

  wbadmin report publish governance --teams ml-infra,data-science-nlp --project ml-infra/reviews
  wbadmin report publish research --project data-science-nlp/intent-classifier --dry-run
  wbadmin report publish governance --project ai-governance/q4 --create-project --yes --json

Publishing the same template to the same project again updates that report (same id and URL):
it is found among the project's reports by the marker `[wbadmin:report=TEMPLATE content=HASH]`
in its description, so nothing depends on this machine's cache. The plan says whether the report is
made or updated, whether the project must be made (`Report.save()` creates a missing one:
that needs --create-project or a yes at the prompt), and who will be able to read it — a
governance report carries costs and findings. A project you may not write (you are a viewer,
or not in its team) is exit 4 with nothing made. `wbadmin undo ENTRY` deletes a report the
publish created. Teams: --teams, else the template's, else every team you can see; the
report's panels show their projects' runs (one run set per project).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..core.reports import publish_changes  # noqa: F401  (registers the report kinds for undo)
from ..core.reports.model import ReportTemplate
from ..core.reports.publish_spec import build_spec
from ..core.reports.templates import check_teams, load_template
from ..core.session import Session
from .common import add_command, add_no_wait, note, note_settled, run_online
from .data_cmd import fresh_session
from .errors import (
    AUTH,
    BAD_DATA,
    CONFLICT,
    INTERRUPTED,
    NOT_FOUND,
    PERMISSION,
    UNAVAILABLE,
    USAGE,
    CliError,
)
from .output import emit_json

CODES = (USAGE, AUTH, PERMISSION, NOT_FOUND, CONFLICT, UNAVAILABLE, BAD_DATA, INTERRUPTED)


def register(actions: argparse._SubParsersAction) -> None:
    publish = add_command(actions, "publish", cmd_publish, codes=CODES, description=__doc__,
                          help="publish a template as a W&B report (create, or update it)")
    publish.add_argument("template", metavar="TEMPLATE", help="a template name")
    publish.add_argument("--project", metavar="ENTITY/PROJECT", required=True,
                         help="the W&B project the report is saved in")
    publish.add_argument("--teams", metavar="A,B", help="these teams' figures and projects "
                         "(default: the template's, else every team you can see)")
    publish.add_argument("--title", help="the report's title (default: the template's)")
    publish.add_argument("--create-project", action="store_true",
                         help="make the project if it does not exist (else you are asked)")
    publish.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    publish.add_argument("--yes", action="store_true", help="apply without asking")
    publish.add_argument("--policy", metavar="FILE", help="the quota policy (TOML) of the "
                         "figures; default: $WBADMIN_QUOTA_POLICY, else quotas.toml")
    publish.add_argument("--previous", action="store_true",
                         help="the previous quota period's figures")
    publish.add_argument("--refresh", action="store_true", help="sync the cache first")
    add_no_wait(publish)
    publish.set_defaults(full=False, period=None)


def project_arg(text: str) -> tuple[str, str]:
    entity, _, project = text.strip().partition("/")
    if not entity or not project or "/" in project:
        raise CliError(f"--project {text!r}: expected ENTITY/PROJECT, e.g. "
                       "ml-infra/reviews", USAGE)
    return entity, project


def _figures_markdown(args: argparse.Namespace, template: ReportTemplate,
                      teams: tuple[str, ...]) -> Any:
    """figures.to_markdown for the named figures, as `report render` computes them (only
    read when the template has a figures block)."""
    from ..core.reports.figures import gather, period_window
    from .access_cmd import visible_findings
    from .quotas_cmd import usage_report
    from .report_render_cmd import DEFAULT_WINDOW

    session, found = visible_findings(args)
    usage = usage_report(args)
    since, until = period_window(usage) or (usage.now - DEFAULT_WINDOW, usage.now)
    figures = gather(usage, session.cache, found, since=since, until=until, teams=teams)
    for warning in figures.warnings:
        note(f"warning: {warning}")
    return figures.to_markdown


def _spec(args: argparse.Namespace, template: ReportTemplate, session: Session,
          entity: str, project: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    from .report_render_cmd import _teams

    cache = session.cache
    known = {r["name"] for r in cache.query("SELECT name FROM teams")}
    check_teams(template, known)
    reported = sorted(known)
    teams = _teams(args, template.teams, known, reported)
    if any(b.kind == "figures" for b in template.blocks):
        markdown = _figures_markdown(args, template, teams)
    else:
        def markdown(_names: Any) -> str:
            return ""
    marks = ",".join("?" * len(teams))
    rows = cache.query(f"SELECT team, name FROM projects WHERE team IN ({marks}) "
                       "ORDER BY team, name", tuple(teams)) if teams else []
    title = (args.title or template.title).strip()
    if not title:
        raise CliError("--title is empty", USAGE)
    spec = build_spec(template, entity=entity, project=project, title=title,
                      projects=[(r["team"], r["name"]) for r in rows],
                      figures_markdown=markdown)
    return spec, teams


def _ask_project(args: argparse.Namespace, where: str) -> bool:
    """A missing project is made only with --create-project or a yes at the prompt."""
    if args.create_project:
        return True
    if not sys.stdin.isatty():
        raise CliError(f"project {where} does not exist: publishing would create it; pass "
                       "--create-project to have it made; nothing made", USAGE)
    try:
        answer = input(f"Project {where} does not exist. Create it? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def cmd_publish(args: argparse.Namespace) -> int:
    template = load_template(args.template)  # a bad template: file:line, exit 8, nothing read
    entity, project = project_arg(args.project)
    if args.title is not None and len(args.title) > 128:
        raise CliError("--title is longer than W&B's 128 characters", USAGE)
    session = fresh_session(args, planning=True)
    if session.read_only and not args.dry_run:
        raise CliError("read-only mode: publishing would change W&B; nothing changed "
                       "(run without --read-only)", PERMISSION)
    spec, teams = _spec(args, template, session, entity, project)
    stream = sys.stderr if args.json else sys.stdout
    planned: dict[str, Any] = {}

    from ..core.change_path import ChangePath
    from ..core.reports.publish_plan import plan_publish
    from .access_cmd import change_callbacks, show_review

    known = {r["name"] for r in session.cache.query("SELECT name FROM teams")}

    async def fresh(path: ChangePath) -> Any:
        if entity in known:  # your role in the team as W&B says now, not as last synced
            await path.read_teams([entity])
        plan = await plan_publish(path.session.client, path.session.cache, template, spec)
        planned["plan"] = plan
        return plan.review

    def show(review: Any) -> None:
        show_review(review, stream)

    args.confirm = None
    confirm_plan, progress = change_callbacks(args, stream, show)

    async def confirm(review: Any, changed: bool) -> bool:
        if not await confirm_plan(review, changed):
            return False
        if planned["plan"].creates_project and not _ask_project(args, f"{entity}/{project}"):
            note("nothing changed")
            return False
        return True

    async def work(s: Session) -> Any:
        planned["app_url"] = s.web_app_url or s.client.base_url
        path = ChangePath(s, confirm, wait=not args.no_wait, on_wait=note,
                          on_progress=progress, stop_on_error=True)
        if args.dry_run:
            return await fresh(path)
        return await path.run_with(lambda: fresh(path))

    result = run_online(session, work)
    plan = planned["plan"]
    if args.dry_run:
        show_review(result, stream)
        note("dry run: nothing changed")
        if args.json:
            emit_json(_plan_json(plan, teams) | {"dry_run": True})
        return 0
    note_settled(result.reconciled, result.refresh_error)
    if result.declined:
        if args.json:
            emit_json(_plan_json(plan, teams) | {"applied": False})
        return INTERRUPTED
    outcome = result.outcomes[0] if result.outcomes else None
    current = (outcome.current if outcome else None) or {}
    url = _url(planned["app_url"], entity, project, current)
    if args.json:
        emit_json(_plan_json(plan, teams) | {
            "applied": bool(outcome and outcome.ok), "entry": outcome and outcome.entry_id,
            "status": outcome and outcome.status, "id": current.get("id"), "url": url})
    elif outcome is not None and outcome.ok:
        print(f"published: {url}" if url else "published")
    if outcome is not None and not outcome.ok:
        # W&B refused the save after all (a right the plan could not see): still exit 4.
        refused = "permission denied" in outcome.result.lower()
        raise CliError(f"{outcome.change.target}: {outcome.result}",
                       PERMISSION if refused else CONFLICT)
    return 0


def _plan_json(plan: Any, teams: tuple[str, ...]) -> dict[str, Any]:
    [change] = plan.review.plan.changes
    return {"action": "create" if change.kind == "report.create" else "update",
            "template": change.template, "title": (change.after or {}).get("title"),
            "project": f"{change.entity}/{change.project}", "teams": list(teams),
            "creates_project": plan.creates_project, "readers": plan.readers,
            "plan": plan.review.plan.preview(), "notes": plan.review.notes}


def _url(app_url: str | None, entity: str, project: str, current: dict[str, Any]
         ) -> str | None:
    from ..core.reports.published import PublishedReport

    if not current.get("id"):
        return None
    report = PublishedReport(current["id"], current.get("title") or "", "", entity, project,
                             None, None)
    return report.url(app_url)
