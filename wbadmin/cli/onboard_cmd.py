"""`wbadmin onboard templates | team | hire | resume`: onboarding from the shell.

The same templates, plan and walkthrough state as the TUI's Onboarding screen: a template is
filled (problems reported with file and line, nothing applied), the plan is re-read from W&B
and shown, confirmed (`--yes`), applied through the change engine with one line per change,
and the walkthrough is saved after every change — so an interrupted apply is finished with
`wbadmin onboard resume ID`, which never applies a change twice.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ..core.access.plans import Review
from ..core.change_path import Applier, ChangePath, ChangeReport
from ..core.changes import Outcome, Plan
from ..core.engine import Engine, Progress
from ..core.onboarding import walkthrough as W
from ..core.onboarding.library import list_templates, load_template
from ..core.onboarding.template_plan import Filled, Inputs, fill_template, split_people
from ..core.onboarding.templates import Template
from ..core.permissions import Capabilities
from ..core.session import Session
from .common import add_command, add_no_wait, confirm, note, note_settled, open_session, run_online
from .data_cmd import fresh_session
from .errors import (
    BAD_DATA,
    CHANGE_CODES,
    CONFLICT,
    INTERRUPTED,
    NOT_FOUND,
    PERMISSION,
    USAGE,
    CliError,
)
from .output import emit_json, emit_table


def register(sub: argparse._SubParsersAction) -> None:
    onboard = sub.add_parser("onboard", help="onboard a new team or a new hire from a template",
                             description="Onboarding: fill a template (a team, or a new hire "
                                         "by job function), review the plan, apply it.")
    osub = onboard.add_subparsers(dest="onboard_command", metavar="ACTION", required=True)
    add_command(osub, "templates", cmd_templates, codes=(BAD_DATA,),
                help="the templates: shipped ones and yours (<config dir>/templates/*.toml)")

    team = add_command(osub, "team", cmd_team, codes=CHANGE_CODES,
                       help="set up a team from a team template")
    team.add_argument("template", metavar="TEMPLATE", help="template name or path")
    team.add_argument("--name", required=True, help="the team's name")
    for role in ("admin", "member", "viewer"):
        team.add_argument(f"--{role}", action="append", default=[], metavar="USER",
                          help=f"a person for the template's {role} group (username or email; "
                               "repeat, or separate with commas)")
    team.add_argument("--person", action="append", default=[], metavar="GROUP=USER",
                      help="a person for any group of the template")
    team.add_argument("--ticket", default="", metavar="KEY",
                      help="the ticket the team is created under (required by templates with "
                           "`ticket`; journaled and put in the new projects' descriptions)")
    _change_flags(team)

    hire = add_command(osub, "hire", cmd_hire, codes=CHANGE_CODES,
                       help="give a new hire the teams and roles of their job function")
    hire.add_argument("template", metavar="TEMPLATE", help="template name or path")
    hire.add_argument("--user", required=True, metavar="EMAIL_OR_USERNAME")
    hire.add_argument("--team", default="", help="the team, for templates that ask for one")
    _change_flags(hire)

    resume = add_command(osub, "resume", cmd_resume, codes=CHANGE_CODES,
                         help="list paused walkthroughs, or finish one (never re-applies)")
    resume.add_argument("id", nargs="?", metavar="ID", help="walkthrough id (a prefix is enough)")
    resume.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    resume.add_argument("--discard", action="store_true", help="forget the walkthrough instead")
    add_no_wait(resume)


def _change_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--refresh", action="store_true", help="sync before planning")
    add_no_wait(parser)


def _stream(args: argparse.Namespace):
    return sys.stderr if args.json else sys.stdout


# ---- templates ---------------------------------------------------------------------------

def cmd_templates(args: argparse.Namespace) -> int:
    listing = list_templates()
    if args.json:
        emit_json([{"name": e.name, "kind": e.template.kind if e.template else None,
                    "description": e.template.description if e.template else None,
                    "shipped": bool(e.template and e.template.shipped), "path": str(e.path),
                    "error": e.error} for e in listing])
        return 0
    emit_table([[e.name, e.template.kind if e.template else "✗",
                 e.template.description if e.template else e.error] for e in listing],
               ["name", "kind", "description"])
    broken = [e for e in listing if e.error]
    return BAD_DATA if broken else 0


# ---- filling -----------------------------------------------------------------------------

def _template(ref: str, kind: str) -> Template:
    template = load_template(ref)  # TemplateError: file, line, reason (exit 8)
    if template.kind != kind:
        raise CliError(f"{template.name} is a {template.kind} template: use `wbadmin onboard "
                       f"{template.kind} {template.name} ...`", USAGE)
    return template


def team_inputs(template: Template, args: argparse.Namespace) -> Inputs:
    """--admin/--member/--viewer go to the template's first group with that role;
    --person GROUP=USER to any group."""
    people: dict[str, list[str]] = {}
    for role in ("admin", "member", "viewer"):
        given = [p for text in getattr(args, role) for p in split_people(text)]
        if not given:
            continue
        group = next((g for g, r in template.groups if r == role), None)
        if group is None:
            groups = ", ".join(f"{g} ({r})" for g, r in template.groups)
            raise CliError(f"template {template.name} has no group with the {role} role "
                           f"(groups: {groups}); use --person GROUP=USER", USAGE)
        people.setdefault(group, []).extend(given)
    for item in args.person:
        group, sep, who = item.partition("=")
        if not sep or not group.strip() or not who.strip():
            raise CliError(f"--person {item!r}: expected GROUP=USER", USAGE)
        people.setdefault(group.strip(), []).extend(split_people(who))
    if problem := template.ticket_problem(args.ticket):
        # Before any W&B read: a missing or malformed ticket is the caller's to fix.
        raise CliError(problem + (": give --ticket KEY" if not args.ticket.strip() else ""),
                       USAGE)
    return Inputs(team=args.name.strip(), people=people, ticket=args.ticket.strip())


def _fill(session: Session, template: Template, inputs: Inputs) -> Filled:
    filled = fill_template(template, inputs, session.cache)
    if not filled.ok:
        for problem in filled.problems:
            print(f"wbadmin: {problem}", file=sys.stderr)
        raise CliError(f"{len(filled.problems)} problem(s) with {template.name}: nothing "
                       "applied", USAGE)
    return filled


def cmd_team(args: argparse.Namespace) -> int:
    template = _template(args.template, "team")
    inputs = team_inputs(template, args)
    session = fresh_session(args, planning=not args.dry_run)
    return _run(args, session, template, _fill(session, template, inputs))


def cmd_hire(args: argparse.Namespace) -> int:
    template = _template(args.template, "hire")
    session = fresh_session(args, planning=not args.dry_run)
    inputs = Inputs(user=args.user.strip(), team=args.team.strip())
    return _run(args, session, template, _fill(session, template, inputs))


def _show(filled: Filled, stream) -> None:
    print(filled.plan.title, file=stream)
    for line in filled.plan.preview():
        print(f"  {line}", file=stream)
    print(filled.plan.summary(), file=stream)
    for line in filled.notes:
        print(f"note: {line}", file=stream)
    for concern in filled.concerns:
        print(f"⚠ {concern.message}", file=stream)
    if filled.quota:
        print("quota policy (written to a file on apply, not to W&B):", file=stream)
        for line in filled.quota.splitlines():
            print(f"  {line}", file=stream)


def _run(args: argparse.Namespace, session: Session, template: Template,
         filled: Filled) -> int:
    """A new walkthrough: the template is filled again once W&B's state of what it touches is
    in the cache (so the plan is W&B's, empty or not), shown, confirmed and applied through
    the core change path. A declined one leaves nothing behind."""
    stream = _stream(args)
    if args.dry_run:
        _show(filled, stream)
        if args.json:
            emit_json(_report(None, filled.plan, [], filled))
        note("dry run: nothing changed (planned from the cache; an apply plans from W&B)")
        return 0
    _writable(session, filled.plan)
    wt = W.new(str(template.path) if not template.shipped else template.name, template.kind,
               session.profile.name, session.clock)
    latest = [filled]

    def make() -> Review:
        latest[0] = _fill(session, template, filled.inputs)
        return Review(latest[0].plan, latest[0].concerns, latest[0].notes)

    def frozen(plan: Plan) -> Plan:  # what was confirmed becomes the walkthrough
        wt.step = "review"
        wt.freeze(latest[0])
        return Plan(title=wt.plan_title, changes=plan.changes)

    return _through_path(args, session, wt, lambda path, apply: path.run(make, apply=apply),
                         lambda _review: _show(latest[0], stream), frozen=frozen)


# ---- applying and resuming -------------------------------------------------------------

def _store(session: Session) -> W.Store:
    return W.Store(W.state_dir(session.profile.journal_path), session.clock)


def _caps(session: Session) -> Capabilities:
    return Capabilities.of(session.cache, session.cached_identity(),
                           read_only=session.read_only, offline=session.offline)


def _writable(session: Session, plan: Plan) -> None:
    if session.read_only or session.offline:
        raise CliError(f"not applied: {W.blocker(plan.changes, _caps(session))}", PERMISSION)


def _resume(args: argparse.Namespace, session: Session, wt: W.Walkthrough) -> int:
    """A saved walkthrough: what is left of it, read from W&B (never a change the journal
    shows applied under it), shown, confirmed and applied through the core change path."""
    stream = _stream(args)
    _writable(session, Plan(changes=wt.changes()))
    skipped: list[str] = []

    async def fresh() -> Review:
        plan, done = await W.remaining(wt, session.engine(), session.client)
        skipped[:] = done
        return Review(plan, notes=list(wt.notes))

    def show(review: Review) -> None:
        print(wt.plan_title, file=stream)
        for line in skipped:
            print(f"  {line}", file=stream)
        for line in review.plan.preview():
            print(f"  {line}", file=stream)
        print(review.plan.summary(), file=stream)
        for line in review.notes:
            print(f"note: {line}", file=stream)

    return _through_path(args, session, wt, lambda path, apply: path.run_with(fresh,
                                                                               apply=apply),
                         show, resumed=True)


def _through_path(args: argparse.Namespace, session: Session, wt: W.Walkthrough,
                  run: Callable[[ChangePath, Applier], Awaitable[ChangeReport]],
                  show: Callable[[Review], None], *, frozen: Callable[[Plan], Plan] | None = None,
                  resumed: bool = False) -> int:
    """The core change path (this org's writer lock, pending entries settled, the plan from
    W&B, confirmation, apply, cache refresh) with the walkthrough saved after every change."""
    stream = _stream(args)
    store = _store(session)

    async def agree(review: Review, _changed: bool) -> bool:
        show(review)
        if (why := W.blocker(review.plan.changes, _caps(session))) is not None:
            raise CliError(f"not applied: {why}", PERMISSION)
        if review.concerns and not args.yes:
            raise CliError(f"guard rail: {review.concerns[0].message}; pass --yes after "
                           "reading the plan to go ahead", USAGE)
        if await asyncio.to_thread(confirm, "Apply these changes?", args.yes):
            return True
        note(f"nothing changed; the walkthrough is kept: `wbadmin onboard resume {wt.id}`"
             if resumed else "nothing changed")
        return False

    def progress(p: Progress) -> None:
        if p.outcome is not None:
            print(f"[{p.index}/{p.total}] {p.outcome.line()}", file=stream)

    async def apply(engine: Engine, plan: Plan, actor: str) -> list[Outcome]:
        if frozen is not None:
            plan = frozen(plan)
        return await W.apply(wt, store, engine, plan, session.client, actor,
                             on_progress=progress)

    async def work(session: Session) -> int:
        path = ChangePath(session, agree, wait=not args.no_wait, on_wait=note)
        report = await run(path, apply)
        note_settled(report.reconciled, report.refresh_error)
        if report.nothing_to_do:
            if report.review is not None:
                show(report.review)
            print("nothing left to change: W&B already shows all of it", file=stream)
            if resumed:
                wt.status, wt.step = "applied", "done"
                store.save(wt)
            return 0
        if report.declined:
            return INTERRUPTED
        assert report.review is not None
        plan = Plan(title=wt.plan_title, changes=report.review.plan.changes)
        if args.json:
            emit_json(_report(wt, plan, report.outcomes, None))
        _summary(wt, session, stream)
        failed = [o for o in report.outcomes if o.status == "failed"]
        if failed:
            raise CliError(f"{failed[0].change.target}: {failed[0].result}; later changes "
                           f"were not attempted — fix it, then `wbadmin onboard resume "
                           f"{wt.id}`", CONFLICT)
        return 0

    return run_online(session, work)


def _summary(wt: W.Walkthrough, session: Session, stream) -> None:
    base = (session.web_app_url or "").rstrip("/")
    for link in wt.link_list():
        if link.kind == "quota":
            continue
        url = f"{base}/{link.path}" if base and link.path else ""
        print(f"  {link.label}" + (f"  {url}" if url else ""), file=stream)
    if session.on_sandbox:  # its port serves the API only: say where to look instead
        team = wt.get_inputs().team
        see = (f": `wbadmin members {team} --profile {session.profile.name}` lists the team"
               if team else "")
        print(f"the sandbox has no web UI{see}", file=stream)
    if wt.quota_path:
        print(f"quota policy written to {wt.quota_path}: merge it into your quota policy "
              "file (wbadmin applied nothing to quotas)", file=stream)


def _report(wt: W.Walkthrough | None, plan, outcomes: list[Outcome],
            filled: Filled | None) -> dict[str, Any]:
    return {"walkthrough": wt.id if wt else None, "title": plan.title,
            "plan": [c.to_record() for c in plan],
            "outcomes": [{"entry": o.entry_id, "status": o.status, "verified": o.verified,
                          "target": o.change.target, "result": o.result} for o in outcomes],
            "notes": (filled.notes if filled else wt.notes if wt else []),
            "quota": (filled.quota if filled else wt.quota if wt else None),
            "quota_file": wt.quota_path if wt else None,
            "links": [{"kind": x.kind, "label": x.label, "path": x.path}
                      for x in (filled.links if filled else wt.link_list() if wt else [])]}


def cmd_resume(args: argparse.Namespace) -> int:
    session = open_session(args, quiet=True)
    store = _store(session)
    if args.id is None:
        waiting = store.unfinished()
        if args.json:
            emit_json([{"id": w.id, "template": w.template, "kind": w.kind,
                        "subject": w.subject, "step": w.step, "status": w.status,
                        "state": w.state_text()} for w in waiting])
        elif not waiting:
            print("no paused walkthroughs")
        else:
            emit_table([[w.id, w.template, w.subject, w.state_text()] for w in waiting],
                       ["id", "template", "for", "state"])
        return 0
    try:
        wt = store.load(args.id)
    except KeyError as exc:
        raise CliError(str(exc.args[0]), NOT_FOUND) from None
    if args.discard:
        store.delete(wt.id)
        note(f"walkthrough {wt.id} forgotten (nothing in W&B was changed by forgetting it)")
        return 0
    if wt.finished:
        note(f"walkthrough {wt.id} is already complete")
        return 0
    session = fresh_session(args, planning=True)  # who is asking
    if not wt.plan:  # paused before the review: fill it now
        template = load_template(wt.template)
        wt.freeze(_fill(session, template, wt.get_inputs()))
        wt.step = "review"
    return _resume(args, session, wt)

