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

from ..core.access import AccessError, AccessService, Review, bulk, findings, people
from ..core.changes import Outcome, Plan
from ..core.engine import Engine
from ..core.journal import iso
from ..core.session import Session
from ..core.sync import Syncer
from .common import add_command, confirm_guarded, note, run_online, when_text
from .data_cmd import fresh_session
from .errors import (
    AUTH,
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

KIND_CODES = {"not_found": NOT_FOUND, "usage": USAGE, "permission": PERMISSION,
              "unsupported": UNAVAILABLE}
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
    p = found.person
    if args.json:
        emit_json({"username": p.username, "name": p.name, "email": p.email,
                   "org_role": p.org_role, "seat": p.seat, "status": p.status,
                   "last_active_at": iso(p.last_active_at), "teams": p.teams,
                   "registries": p.registries, "effective_role": found.effective_role,
                   "reach": [{"scope": r.scope, "resource": r.resource,
                              "effective": r.effective,
                              "grants": [{"role": g.role, "why": g.why} for g in r.grants]}
                             for r in found.reach]})
        return 0
    print(f"{p.username}  {p.name or ''}  <{p.email or '—'}>")
    print(f"org role {p.org_role or 'unknown'}, seat {p.seat or '—'}, {p.status}, "
          f"last active {when_text(p.last_active_at) or 'never'}; "
          f"highest role {found.effective_role or '—'}")
    emit_table([[r.scope, r.resource, r.effective,
                 "; ".join(f"{g.role} ({g.why})" for g in r.grants)] for r in found.reach],
               ["scope", "name", "effective", "from"])
    return 0


def cmd_findings(args: argparse.Namespace) -> int:
    session = fresh_session(args)
    found = findings.findings(AccessService(session.cache), session.settings.access,
                              journal=session.journal)
    if args.json:
        emit_json([f.to_dict() for f in found])
    else:
        if not found:
            print("no findings")
        for f in found:
            print(f"[{f.severity.upper()}] {f.id}: {f.title} ({f.count})")
            for item in f.items:
                print(f"    {item}")
            if f.note:
                print(f"    note: {f.note}")
            if f.fix_note:
                print(f"    fix: {f.fix_note} (`wbadmin access fix {f.id}`)")
    return FINDINGS if any(f.severity == "high" for f in found) else 0


# ---- changing -------------------------------------------------------------------------------

def cmd_set_role(args: argparse.Namespace) -> int:
    session = fresh_session(args)
    service = AccessService(session.cache)
    return _change(args, session, service.review(
        service.set_team_role(args.team, args.user, args.role)))


def cmd_fix(args: argparse.Namespace) -> int:
    session = fresh_session(args)
    service = AccessService(session.cache)
    found = findings.get(findings.findings(service, session.settings.access,
                                           journal=session.journal, include_empty=True),
                         args.finding)
    if found is None:
        raise CliError(f"unknown finding {args.finding!r} (see `wbadmin access findings`)",
                       NOT_FOUND)
    plan = found.fix()
    if plan.is_empty:
        note(f"{found.id}: nothing to apply" + (f" ({found.fix_note})" if found.fix_note
                                                else ""))
        return 0
    return _change(args, session, service.review(plan))


def cmd_apply(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror or exc}", USAGE) from None
    session = fresh_session(args)
    service = AccessService(session.cache)
    planned = bulk.plan_csv(service, text)
    stream = sys.stderr if args.json else sys.stdout
    if not planned.ok:
        for line in planned.error_lines():
            print(f"{args.file}: {line}", file=sys.stderr)
        raise CliError(f"{len(planned.errors)} bad row(s) in {args.file}: nothing applied",
                       USAGE)
    for row in planned.rows:
        print(f"line {row.line}: {row.who} {row.team} {row.role}: {row.action}", file=stream)
    if args.dry_run:
        _show(service.review(planned.plan), stream)
        note("dry run: nothing changed")
        return 0
    outcomes = _apply_reviewed(args, session, service.review(planned.plan))
    if outcomes is None:
        return INTERRUPTED if not planned.plan.is_empty else 0
    planned.record(outcomes)
    if args.json:
        emit_json([{"line": r.line, "email": r.who, "team": r.team, "role": r.role,
                    "action": r.action, "outcome": r.outcome or "no change"}
                   for r in planned.rows])
    return _exit(outcomes)


def _change(args: argparse.Namespace, session: Session, review: Review) -> int:
    outcomes = _apply_reviewed(args, session, review)
    if outcomes is None:
        return 0 if review.plan.is_empty else INTERRUPTED
    if args.json:
        emit_json([{"entry": o.entry_id, "status": o.status, "verified": o.verified,
                    "target": o.change.target, "result": o.result} for o in outcomes])
    return _exit(outcomes)


def _exit(outcomes: list[Outcome]) -> int:
    failed = [o for o in outcomes if o.status == "failed"]
    if not failed:
        return 0
    kind = failed[0].result.split(":", 1)[0]
    raise CliError(f"{failed[0].change.target}: {failed[0].result}",
                   FAILURE_CODES.get(kind, CONFLICT))


def _show(review: Review, stream) -> None:
    print(review.plan.title, file=stream)
    for line in review.plan.preview():
        print(f"  {line}", file=stream)
    print(review.plan.summary(), file=stream)
    for concern in review.concerns:
        print(f"⚠ {concern.message}", file=stream)


def _apply_reviewed(args: argparse.Namespace, session: Session,
                    review: Review) -> list[Outcome] | None:
    """Re-read, show, confirm, apply, refresh the cache. None: nothing was applied."""
    if session.read_only and not review.plan.is_empty:
        raise CliError("read-only mode: this would change W&B; run without --read-only",
                       PERMISSION)
    stream = sys.stderr if args.json else sys.stdout

    async def work(session: Session) -> list[Outcome] | None:
        client = session.client
        plan = await _reread(review.plan, client)
        if plan.is_empty:
            print("nothing to change: W&B already shows this", file=stream)
            return None
        review.plan = plan
        _show(review, stream)
        if not await asyncio.to_thread(confirm_guarded, args, review.concerns,
                                       review.phrase):
            note("nothing changed")
            return None
        engine = Engine(session.journal, profile=session.profile.name)
        actor = (session.cached_identity() or await Syncer(client, session.cache).identify())
        outcomes = await engine.apply(plan, client, actor.username, stop_on_error=True)
        for outcome in outcomes:
            print(outcome.line(), file=stream)
        await _refresh_cache(session, outcomes)
        return outcomes

    return run_online(session, work)


async def _reread(plan: Plan, client) -> Plan:
    """The plan with each `before` as W&B shows it now; changes already in place dropped."""
    changes = []
    for change in plan:
        current = await change.read_current(client)
        if change.matches(current, change.after):
            continue
        if change.before is not None and current is not None:
            change.before = current
        changes.append(change)
    return Plan(title=plan.title, changes=changes, undo_of=plan.undo_of)


async def _refresh_cache(session: Session, outcomes: list[Outcome]) -> None:
    """Re-read what changed so the next command (and the TUI) shows it."""
    if not any(o.ok for o in outcomes) or session.client is None:
        return
    teams = {getattr(o.change, "team", None) for o in outcomes if o.ok} - {None}
    syncer = Syncer(session.client, session.cache)
    syncer.identity = session.cached_identity()
    try:
        if all(getattr(o.change, "team", None) for o in outcomes if o.ok):
            for team in sorted(teams):
                await syncer.refresh_team(team)
        else:
            await syncer.full()
    except Exception as exc:  # the cache is a convenience; the change is done
        note(f"could not refresh the cache: {exc}")
