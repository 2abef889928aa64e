"""`wbadmin access user | set-role | apply | findings | fix`: access triage from the shell.

Every change goes plan → confirm (`--yes`, or a prompt on a terminal; a guard-rail case needs
the typed phrase, `--confirm PHRASE` in scripts) → apply → journal, through the same
AccessService the TUI's Access screen uses. The plan is re-read from W&B before it is shown,
so it says what will really change.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.access import AccessError, AccessService, Review, bulk, findings, people
from ..core.access import service_accounts as sa
from ..core.change_path import ChangePath, ChangeReport
from ..core.changes import Outcome
from ..core.engine import Progress
from ..core.journal import iso
from ..core.promotions import PolicyError, load_policy
from ..core.session import Session
from .common import (
    add_command,
    add_no_wait,
    confirm_guarded,
    note,
    note_settled,
    run_online,
    when_text,
)
from .data_cmd import fresh_session
from .errors import (
    AUTH,
    BAD_DATA,
    CHANGE_CODES,
    CONFLICT,
    FINDINGS,
    INTERRUPTED,
    NOT_FOUND,
    PERMISSION,
    UNAVAILABLE,
    USAGE,
    CliError,
)
from .output import emit_json, emit_table
from .ownership_cmd import with_producing_runs
from .sa_cmd import ensure_facts, facts_session

KIND_CODES = {"not_found": NOT_FOUND, "usage": USAGE, "permission": PERMISSION,
              "unsupported": UNAVAILABLE, "bad_data": BAD_DATA}
FAILURE_CODES = {"PermissionDenied": PERMISSION, "NotFound": NOT_FOUND, "Conflict": CONFLICT,
                 "AuthError": AUTH, "BadRequest": USAGE, "Unsupported": UNAVAILABLE}


def register(sub: argparse._SubParsersAction) -> None:
    access = sub.add_parser("access", help="people, roles, invites and access findings",
                            description="Access triage: who can reach what, role changes, "
                                        "bulk changes from CSV, findings.")
    asub = access.add_subparsers(dest="access_command", metavar="ACTION", required=True)

    user = add_command(asub, "user", _wrap(cmd_user), codes=(USAGE, NOT_FOUND, UNAVAILABLE),
                       help="a person's org, team and registry roles and why")
    user.add_argument("user", metavar="EMAIL", help="email address or username")
    _refresh(user)

    role = add_command(asub, "set-role", _wrap(cmd_set_role), codes=CHANGE_CODES,
                       help="set a member's team role (admin, member, viewer or a custom role)")
    role.add_argument("team", metavar="TEAM")
    role.add_argument("user", metavar="USER", help="email address or username")
    role.add_argument("role", metavar="ROLE")
    _change_flags(role)

    apply = add_command(asub, "apply", _wrap(cmd_apply), codes=CHANGE_CODES,
                        help="apply a CSV of email,team,role as one plan")
    apply.add_argument("file", metavar="FILE.csv", type=Path)
    apply.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    _change_flags(apply)

    found = add_command(asub, "findings", _wrap(cmd_findings),
                        codes=(FINDINGS, USAGE, UNAVAILABLE),
                        help="access findings; exit 1 when any is of high severity (for cron)")
    _refresh(found)

    fix = add_command(asub, "fix", _wrap(cmd_fix), codes=CHANGE_CODES,
                      help="apply the plan that fixes one finding (see `access findings`)")
    fix.add_argument("finding", metavar="FINDING_ID")
    _change_flags(fix)


def _refresh(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--refresh", action="store_true", help="sync before reading")


def _change_flags(parser: argparse.ArgumentParser) -> None:
    _refresh(parser)
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--confirm", metavar="PHRASE",
                        help="the phrase a guard-rail case asks to be typed (for scripts)")
    add_no_wait(parser)


def _wrap(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except AccessError as exc:
            raise CliError(str(exc), KIND_CODES.get(exc.kind, USAGE)) from None
    return run


# ---- reading --------------------------------------------------------------------------------

def cmd_user(args: argparse.Namespace) -> int:
    session = fresh_session(args)
    found = people.detail(session.cache, args.user)
    if found is None:
        people.require_person(session.cache, args.user)  # raises the right message
    assert found is not None
    ensure_facts(session, args)  # the user listing names people's keys too (org admins)
    p = found.person
    keys = sa.person_keys(session.cache, p.username)
    if args.json:
        emit_json({"username": p.username, "name": p.name, "email": p.email,
                   "org_role": p.org_role, "seat": p.seat, "status": p.status,
                   "last_active_at": iso(p.last_active_at), "teams": p.teams,
                   "registries": p.registries, "effective_role": found.effective_role,
                   "reach": [{"scope": r.scope, "resource": r.resource,
                              "effective": r.effective,
                              "grants": [{"role": g.role, "why": g.why} for g in r.grants]}
                             for r in found.reach],
                   "keys": None if keys is None else [
                       {"id": k.id, "description": k.description} for k in keys],
                   "key_count": None if keys is None else len(keys),
                   "keys_note": sa.keys_unknown(session.cache, p.username)
                   if keys is None else None})
        return 0
    print(f"{p.username}  {p.name or ''}  <{p.email or '—'}>")
    print(f"org role {p.org_role or 'unknown'}, seat {p.seat or '—'}, {p.status}, "
          f"last active {when_text(p.last_active_at) or 'never'}; "
          f"highest role {found.effective_role or '—'}")
    emit_table([[r.scope, r.resource, r.effective,
                 "; ".join(f"{g.role} ({g.why})" for g in r.grants)] for r in found.reach],
               ["scope", "name", "effective", "from"])
    if keys is None:
        print(f"API keys: {sa.keys_unknown(session.cache, p.username)}")
    else:
        print(f"API keys: {len(keys)} (ids only; a key's value is never read)")
        for key in keys:
            print(f"  {key.id}  {key.description or ''}".rstrip())
    return 0


def _findings_session(args: argparse.Namespace, *, planning: bool = False) -> Session:
    """The service-account findings judge keys and the audit log, the production-map ones
    the protected versions' producing runs: read them when the cache lacks them."""
    session = facts_session(args, planning=planning)
    try:
        policy = load_policy()
    except PolicyError:
        return session  # the production-map findings say so themselves
    return with_producing_runs(session, policy)


def visible_findings(args: argparse.Namespace) -> tuple[Session, list[findings.Finding]]:
    """The findings `wbadmin access findings` lists, as this identity sees them, with the
    session they were judged in (for other commands: `wbadmin report`)."""
    session = _findings_session(args)
    return session, findings.findings(AccessService(session.cache), session.settings.access,
                                      journal=session.journal)


def cmd_findings(args: argparse.Namespace) -> int:
    _session, found = visible_findings(args)
    if args.json:
        emit_json([f.to_dict() for f in found])
    else:
        if not any(f.count for f in found):
            print("no findings" + (" among what you can see" if found else ""))
        for f in found:
            shown = "?" if f.shown_count is None else f.shown_count
            if f.hidden:
                print(f"[{f.severity.upper()}] {f.id}: {f.title} ({shown})\n    {f.hidden}")
                continue
            print(f"[{f.severity.upper()}] {f.id}: {f.title} ({shown})")
            for item in f.items:
                print(f"    {item}")
            if f.note:
                print(f"    note: {f.note}")
            if f.fix_note:
                print(f"    fix: {f.fix_note} (`wbadmin access fix {f.id}`)")
    return FINDINGS if any(f.severity == "high" and f.count for f in found) else 0


# ---- changing -------------------------------------------------------------------------------

def cmd_set_role(args: argparse.Namespace) -> int:
    session = fresh_session(args, planning=True)
    return _change(args, session, lambda: _service(session).review(
        _service(session).set_team_role(args.team, args.user, args.role)))


def _service(session: Session) -> AccessService:
    return AccessService(session.cache)


def cmd_fix(args: argparse.Namespace) -> int:
    session = _findings_session(args, planning=True)

    def make() -> Review:
        service = _service(session)
        found = findings.get(findings.findings(service, session.settings.access,
                                               journal=session.journal, include_empty=True),
                             args.finding)
        if found is None:
            raise CliError(f"unknown finding {args.finding!r} (see `wbadmin access findings`)",
                           NOT_FOUND)
        plan = found.fix()
        if plan.is_empty and found.fix_note:
            note(f"{found.id}: {found.fix_note}")
        return service.review(plan)

    return _change(args, session, make)


def _csv_text(path: Path) -> str:
    """The CSV's text, or exit 8 with `file:line: reason` (unreadable, not text)."""
    try:
        return bulk.decode_csv(path.read_bytes())
    except OSError as exc:
        raise CliError(f"{path}: cannot read it: {exc.strerror or exc}", BAD_DATA) from None
    except bulk.BadCsv as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise CliError(f"{where}: {exc.reason}; nothing applied", BAD_DATA) from None


def _bad_rows(path: Path, planned: bulk.BulkPlan) -> CliError:
    """Every bad row as `file:line: reason`, then one summary line (exit 8)."""
    bad = planned.errors
    for row in bad[:-1]:
        print(f"wbadmin: {path}:{row.line}: {row.error}", file=sys.stderr)
    last = bad[-1]
    more = f" ({len(bad)} bad rows)" if len(bad) > 1 else ""
    return CliError(f"{path}:{last.line}: {last.error}{more}; nothing applied", BAD_DATA)


def cmd_apply(args: argparse.Namespace) -> int:
    text = _csv_text(args.file)
    session = fresh_session(args, planning=True)
    try:
        planned = bulk.plan_csv(_service(session), text)
    except bulk.BadCsv as exc:
        raise CliError(f"{args.file}: {exc.reason}; nothing applied", BAD_DATA) from None
    stream = sys.stderr if args.json else sys.stdout
    if not planned.ok:
        raise _bad_rows(args.file, planned)
    if args.dry_run:
        for row in planned.rows:
            print(f"line {row.line}: {row.who} {row.team} {row.role}: {row.action}",
                  file=stream)
        show_review(_service(session).review(planned.plan), stream)
        note("dry run: nothing changed (planned from the cache; an apply plans from W&B)")
        return 0
    latest: list[bulk.BulkPlan] = [planned]

    def make() -> Review:  # again once W&B's state of these teams is in the cache
        latest[0] = bulk.plan_csv(_service(session), text)
        if not latest[0].ok:
            raise _bad_rows(args.file, latest[0])
        return _service(session).review(latest[0].plan)

    def show_rows(review: Review) -> None:
        for row in latest[0].rows:
            print(f"line {row.line}: {row.who} {row.team} {row.role}: {row.action}",
                  file=stream)

    report = _run(args, session, make, before_plan=show_rows)
    planned = latest[0]
    if not report.outcomes:
        return INTERRUPTED if report.declined else 0
    planned.record(report.outcomes)
    if args.json:
        emit_json([{"line": r.line, "email": r.who, "team": r.team, "role": r.role,
                    "action": r.action, "outcome": r.outcome or "no change"}
                   for r in planned.rows])
    return _exit(report.outcomes)


def _change(args: argparse.Namespace, session: Session, make: Callable[[], Review]) -> int:
    report = _run(args, session, make)
    if not report.outcomes:
        return INTERRUPTED if report.declined else 0
    if args.json:
        emit_json([{"entry": o.entry_id, "status": o.status, "verified": o.verified,
                    "target": o.change.target, "result": o.result} for o in report.outcomes])
    return _exit(report.outcomes)


def _exit(outcomes: list[Outcome]) -> int:
    failed = [o for o in outcomes if o.status == "failed"]
    if not failed:
        return 0
    kind = failed[0].result.split(":", 1)[0]
    raise CliError(f"{failed[0].change.target}: {failed[0].result}",
                   FAILURE_CODES.get(kind, CONFLICT))


def show_review(review: Review, stream) -> None:
    """A plan as every change command shows it before asking."""
    print(review.plan.title, file=stream)
    for line in review.plan.preview():
        print(f"  {line}", file=stream)
    print(review.plan.summary(), file=stream)
    for concern in review.concerns:
        print(f"⚠ {concern.message}", file=stream)
    for line in review.notes:
        print(f"note: {line}", file=stream)


def change_callbacks(args: argparse.Namespace, stream: Any, show: Callable[[Review], None]
                     ) -> tuple[Callable[[Review, bool], Any], Callable[[Progress], None]]:
    """What a command gives the change path: `confirm` (show the plan made from W&B, then
    y/N or the guard rail's typed phrase, or --yes / --confirm) and `progress` (each outcome
    as it lands)."""

    async def confirm(review: Review, _changed: bool) -> bool:
        show(review)
        if await asyncio.to_thread(confirm_guarded, args, review.concerns, review.phrase):
            return True
        note("nothing changed")
        return False

    def progress(p: Progress) -> None:
        if p.outcome is not None:
            print(p.outcome.line(), file=stream)

    return confirm, progress


def _run(args: argparse.Namespace, session: Session, make: Callable[[], Review], *,
         before_plan: Callable[[Review], None] | None = None) -> ChangeReport:
    """Through the core change path: lock, settle, plan from W&B, show, confirm, apply."""
    stream = sys.stderr if args.json else sys.stdout

    def show(review: Review) -> None:
        if before_plan is not None:
            before_plan(review)
        show_review(review, stream)

    confirm, progress = change_callbacks(args, stream, show)

    async def work(session: Session) -> ChangeReport:
        path = ChangePath(session, confirm, wait=not getattr(args, "no_wait", False),
                          on_wait=note, on_progress=progress, stop_on_error=True)
        report = await path.run(make)
        note_settled(report.reconciled, report.refresh_error)
        if report.nothing_to_do:
            print("nothing to change: W&B already shows this", file=stream)
        return report

    return run_online(session, work)
