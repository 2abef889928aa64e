"""`wbadmin export | plan FILE | apply FILE | import-idp GROUPS --mapping MAP`: org-as-code.

The file is read and checked first (exit 8 with every problem and its line, before any
network call); then the whole org is synced fresh (never a stale cache), the file is diffed
against it, and problems that need W&B (unknown users, taken names) are reported the same way.
`plan` exits 2 when W&B has drifted from the file (for CI). `apply` goes through the change
engine (journaled, re-read, confirmation unless --yes), and re-plans afterwards to show
what still differs. These are top-level commands; `wbadmin access apply` (a CSV of role
changes) is a different command under `access`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from ..core.access import guards
from ..core.access.plans import Review
from ..core.change_path import ChangePath, refuse_what_the_server_lacks
from ..core.changes import Outcome
from ..core.onboarding import export as export_mod
from ..core.onboarding import idp, orgfile
from ..core.onboarding.diff import OrgPlan, diff
from ..core.onboarding.state import OrgState, fetch_state
from ..core.session import Session
from .access_cmd import FAILURE_CODES, change_callbacks
from .common import add_command, add_no_wait, note, note_settled, open_session, run_online
from .errors import (
    AUTH,
    BAD_DATA,
    CHANGE_CODES,
    CONFLICT,
    FINDINGS,
    INTERRUPTED,
    PERMISSION,
    UNAVAILABLE,
    USAGE,
    CliError,
)
from .output import emit_json

DRIFT = 2  # `plan`: W&B differs from the file (the documented CI signal)
READ_CODES = (AUTH, PERMISSION, UNAVAILABLE, BAD_DATA)


def register(sub: argparse._SubParsersAction) -> None:
    exp = add_command(sub, "export", cmd_export, codes=READ_CODES,
                      help="write the org's structure as an org file (TOML)",
                      description="Write today's teams, members and roles, service accounts, "
                                  "invites, projects and registry roles as an org file. "
                                  "Needs an org admin. Syncs first: never a stale cache.")
    exp.add_argument("-o", "--output", metavar="FILE", type=Path,
                     help="write to FILE instead of stdout")

    plan = add_command(sub, "plan", cmd_plan, codes=(FINDINGS, DRIFT, *READ_CODES),
                       help="show how W&B differs from an org file; exit 2 on drift",
                       description="Compare an org file with W&B (synced now). Exit 0: W&B "
                                   "matches; 2: drift (the plan is printed); 8: a bad file. "
                                   "Argument errors also exit 2, with a usage message.")
    plan.add_argument("file", metavar="ORG.toml", type=Path)
    plan.add_argument("--prune", action="store_true",
                      help="plan removing members, invites and registry members the file "
                           "does not list")
    _unknown_keys_flag(plan)

    apply = add_command(sub, "apply", cmd_apply, codes=CHANGE_CODES,
                        help="make W&B match an org file (through the change journal)")
    apply.add_argument("file", metavar="ORG.toml", type=Path)
    _apply_flags(apply)

    imp = add_command(sub, "import-idp", cmd_import_idp, codes=(DRIFT, *CHANGE_CODES),
                      help="plan (or --apply) team memberships from IdP groups (CSV or JSON)",
                      description=idp.__doc__.split("\n\n")[0] if idp.__doc__ else None)
    imp.add_argument("groups", metavar="GROUPS.csv|json", type=Path)
    imp.add_argument("--mapping", metavar="MAP.toml", type=Path, required=True,
                     help="IdP group -> team, role and optional org role")
    imp.add_argument("--apply", action="store_true", help="apply the plan (default: show it; "
                     "exit 2 when it is not empty)")
    _apply_flags(imp)


def _unknown_keys_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-unknown-keys", action="store_true",
                        help="warn about keys wbadmin does not know instead of refusing the "
                             "file (exit 8)")


def _apply_flags(parser: argparse.ArgumentParser) -> None:
    _unknown_keys_flag(parser)
    parser.add_argument("--prune", action="store_true",
                        help="also remove members, invites and registry members the file does "
                             "not list (removing people: guard rails apply)")
    parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--confirm", metavar="PHRASE",
                        help="the phrase a guard-rail case asks to be typed (for scripts)")
    add_no_wait(parser)


# ---- export ---------------------------------------------------------------------------------

def cmd_export(args: argparse.Namespace) -> int:
    session = open_session(args)
    state = run_online(session, lambda s: fetch_state(s.client, s.cache))
    if args.json:
        emit_json(export_mod.to_dict(state))
        return 0
    text = export_mod.to_toml(state)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    _write(args.output, text)
    note(f"wrote {args.output}: {len(state.teams)} teams, "
         f"{sum(len(t.members) for t in state.teams.values())} memberships, "
         f"{sum(len(t.projects) for t in state.teams.values())} projects")
    return 0


def _write(path: Path, text: str) -> None:
    """Replace `path` atomically: a failed export never leaves half a file."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", USAGE) from None


# ---- plan and apply -------------------------------------------------------------------------

def _load(path: Path, allow_unknown_keys: bool = False) -> orgfile.OrgSpec:
    try:
        spec = orgfile.load(path, allow_unknown_keys=allow_unknown_keys)
    except orgfile.OrgFileError as exc:
        _problems(exc)
    for warning in spec.warnings:
        note(f"warning: {warning}")
    return spec


def _problems(exc: orgfile.OrgFileError) -> NoReturn:
    """Every problem on its own line, then the one-line error (exit 8)."""
    lines = exc.lines()
    for line in lines[:-1] if len(lines) > 1 else []:
        print(f"wbadmin: {line}", file=sys.stderr)
    raise CliError(f"{lines[-1]}" + (f" ({len(lines)} problems)" if len(lines) > 1 else "")
                   + "; nothing was applied", BAD_DATA) from None


def _diff(make: Any, state: OrgState) -> OrgPlan:
    try:
        return make(state)
    except orgfile.OrgFileError as exc:
        _problems(exc)


def plan_json(planned: OrgPlan, state: OrgState | None = None) -> dict[str, Any]:
    return {"file": str(planned.path), "org": state.org if state else None,
            "drift": planned.drift,
            "changes": [{"kind": c.kind, "action": c.action, "target": c.target,
                         "summary": c.summary(), "via": c.via, "before": c.before,
                         "after": c.after, "reversible": c.reversible,
                         "line": planned.line_of(c)} for c in planned.plan],
            "unmanaged": [{"target": u.target, "detail": u.detail} for u in planned.unmanaged],
            "notes": planned.notes}


def show(planned: OrgPlan, stream: Any, *, unmanaged_is_drift: bool = True) -> None:
    """The plan by file line, what apply leaves alone, notes, and a summary that says
    "No changes" only when there is no drift (`plan` exits 0)."""
    plan = planned.plan
    if not plan.is_empty:
        print(f"{plan.title}:", file=stream)
    for change, line in zip(plan.changes, plan.preview(), strict=True):
        at = planned.line_of(change)
        print(f"  {line}" + (f"  [line {at}]" if at else ""), file=stream)
    if planned.unmanaged:
        print(f"{len(planned.unmanaged)} difference(s) apply leaves alone:", file=stream)
        for u in planned.unmanaged:
            print(f"  ! {u.target}  {u.detail}", file=stream)
    for n in planned.notes:
        print(f"note: {n}", file=stream)
    if not plan.is_empty:
        print(plan.summary(), file=stream)
    elif planned.unmanaged and unmanaged_is_drift:  # `plan` exits 2: never "No changes" then
        print(f"Nothing for apply to change, but W&B differs from the file in "
              f"{len(planned.unmanaged)} place(s) it leaves alone (above)", file=stream)
    else:
        print("No changes to apply", file=stream)


def _online(args: argparse.Namespace) -> Session:
    """A session for a command that needs W&B. Not exit 2 for --offline: that is drift."""
    session = open_session(args)
    if session.offline:
        raise CliError("this command compares with W&B as it is now; run it without --offline",
                       UNAVAILABLE)
    return session


def cmd_plan(args: argparse.Namespace) -> int:
    spec = _load(args.file, args.allow_unknown_keys)
    session = _online(args)

    async def work(s: Session) -> tuple[OrgPlan, OrgState]:
        state = await fetch_state(s.client, s.cache)
        planned = _diff(lambda st: diff(spec, st, prune=args.prune), state)
        await refuse_what_the_server_lacks(s, planned.plan)
        return planned, state

    planned, state = run_online(session, work)
    if args.json:
        emit_json(plan_json(planned, state))
    else:
        print(f"{args.file} against {state.org}:")
        show(planned, sys.stdout)
        print(f"drift: W&B differs from {args.file}" if planned.drift
              else f"W&B matches {args.file}")
    return DRIFT if planned.drift else 0


def cmd_apply(args: argparse.Namespace) -> int:
    spec = _load(args.file, args.allow_unknown_keys)
    return apply_flow(args, lambda st: diff(spec, st, prune=args.prune), str(args.file))


def apply_flow(args: argparse.Namespace, make: Any, label: str) -> int:
    """Read W&B, diff, show, confirm, apply through the core change path, re-plan. Shared
    with import-idp."""
    session = _online(args)
    stream = sys.stderr if args.json else sys.stdout
    latest: dict[str, Any] = {}

    async def fresh() -> Review:  # inside the change path: after its lock and reconcile
        s = session
        state = await fetch_state(s.client, s.cache)
        planned = _diff(make, state)
        latest.update(planned=planned, state=state)
        return Review(planned.plan, guards.concerns(s.cache, planned.plan, state.actor))

    def shown(review: Review) -> None:
        show(latest["planned"], stream)
        for concern in review.concerns:
            print(f"⚠ {concern.message}", file=stream)

    agree, progress = change_callbacks(args, stream, shown)

    async def work(s: Session) -> dict[str, Any]:
        if args.dry_run:  # the plan only: no lock, nothing to settle
            review = await fresh()
            await refuse_what_the_server_lacks(s, review.plan)
            show(latest["planned"], stream)
            if not review.plan.is_empty:
                note("dry run: nothing changed")
            else:
                print(f"nothing to change: W&B already matches {label}", file=stream)
            return {"plan": plan_json(latest["planned"], latest["state"]), "outcomes": []}
        path = ChangePath(s, agree, wait=not args.no_wait, on_wait=note, on_progress=progress,
                          stop_on_error=True)
        report = await path.run_with(fresh)
        note_settled(report.reconciled, report.refresh_error)
        result: dict[str, Any] = {"plan": plan_json(latest["planned"], latest["state"]),
                                  "outcomes": report.outcomes}
        if report.nothing_to_do:
            show(latest["planned"], stream)
            print(f"nothing to change: W&B already matches {label}", file=stream)
            return result
        if report.declined:
            result["declined"] = True
            return result
        after = _diff(make, await fetch_state(s.client, s.cache))
        result["after"] = plan_json(after)
        if not after.plan.is_empty and all(o.ok for o in report.outcomes):
            print(f"still to change: {after.plan.summary()} (run apply again)", file=stream)
        return result

    result = run_online(session, work)
    outcomes: list[Outcome] = result["outcomes"]
    if args.json:
        emit_json({**result, "outcomes": [
            {"entry": o.entry_id, "status": o.status, "verified": o.verified,
             "kind": o.change.kind, "target": o.change.target, "result": o.result}
            for o in outcomes]})
    if result.get("declined"):
        return INTERRUPTED
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        kind = failed[0].result.split(":", 1)[0]
        skipped = sum(1 for o in outcomes if o.status == "skipped")
        raise CliError(f"{failed[0].change.target}: {failed[0].result}"
                       + (f" ({skipped} later change(s) not attempted)" if skipped else ""),
                       FAILURE_CODES.get(kind, CONFLICT))
    return 0


# ---- IdP import -----------------------------------------------------------------------------

def cmd_import_idp(args: argparse.Namespace) -> int:
    try:
        groups = idp.load_groups(args.groups)
        mapping = idp.load_mapping(args.mapping, allow_unknown_keys=args.allow_unknown_keys)
    except orgfile.OrgFileError as exc:
        _problems(exc)
    for warning in mapping.warnings + groups.warnings:
        note(f"warning: {warning}")

    def make(state: OrgState) -> OrgPlan:
        return idp.plan(groups, mapping, state, prune=args.prune)

    if args.apply:
        return apply_flow(args, make, str(args.groups))
    session = _online(args)

    async def work(s: Session) -> tuple[OrgPlan, OrgState]:
        state = await fetch_state(s.client, s.cache)
        return _diff(make, state), state

    planned, state = run_online(session, work)
    if args.json:
        emit_json(plan_json(planned, state))
    else:
        print(f"{args.groups} mapped by {args.mapping} against {state.org}:")
        show(planned, sys.stdout, unmanaged_is_drift=False)
    return DRIFT if not planned.plan.is_empty else 0
