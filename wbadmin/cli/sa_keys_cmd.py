"""`wbadmin sa rotate | revoke | finish-rotations`: service-account keys, through the change
path (plan from W&B → confirm → apply → journal), as `core.access.key_rotation` does them.

The new key of a rotation leaves wbadmin once: on stdout (only when it is no `--json` run),
in a 0600 file, or on a command's standard input. It is in no other output, log or file.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..core.access import key_rotation as rot
from ..core.access.key_hand_over import BadHandOver, HandOver
from ..core.change_path import ChangePath, ChangeReport
from ..core.changes import Outcome
from ..core.journal import iso, parse_duration
from ..core.redact import Secret
from ..core.session import Session
from .common import add_command, add_no_wait, note, note_settled, run_online
from .data_cmd import fresh_session
from .errors import (
    AUTH,
    CHANGE_CODES,
    CONFLICT,
    INTERRUPTED,
    NOT_FOUND,
    PERMISSION,
    UNAVAILABLE,
    USAGE,
    CliError,
)
from .output import emit_json

FAILURE_CODES = {"PermissionDenied": PERMISSION, "NotFound": NOT_FOUND, "AuthError": AUTH,
                 "Offline": UNAVAILABLE, "ServerError": UNAVAILABLE}


def register(ssub: argparse._SubParsersAction) -> None:
    rotate = add_command(ssub, "rotate", cmd_rotate, codes=CHANGE_CODES,
                         help="make a new key, hand it over once, delete the old one")
    rotate.add_argument("name", metavar="NAME", help="the service account's username")
    rotate.add_argument("--grace", default="0", metavar="DURATION",
                        help="keep the old key valid this long (e.g. 24h, 7d; default 0: "
                             "delete it at once); `sa finish-rotations` deletes it then")
    dest = rotate.add_mutually_exclusive_group()
    dest.add_argument("--to-file", metavar="PATH",
                      help="write the new key to PATH (mode 0600) instead of showing it")
    dest.add_argument("--to-command", metavar="CMD",
                      help="give the new key on standard input to CMD (e.g. a secret "
                           "manager's CLI); if CMD fails, the new key is deleted again")
    rotate.add_argument("--current-key-stdin", action="store_true",
                        help="read the account's current key from standard input (else it "
                             "is read from W&B, which gives it to the team's admins)")
    rotate.add_argument("--key", action="append", default=[], metavar="ID",
                        help="delete only this old key (repeatable; default: every old key)")
    _change_flags(rotate)
    revoke = add_command(ssub, "revoke", cmd_revoke, codes=CHANGE_CODES,
                         help="delete keys at once, making none (a lost or leaked key)")
    revoke.add_argument("name", metavar="NAME", help="the service account's username")
    revoke.add_argument("--key", action="append", default=[], metavar="ID",
                        help="delete only this key (repeatable; default: all its keys)")
    _change_flags(revoke)
    finish = add_command(ssub, "finish-rotations", cmd_finish, codes=CHANGE_CODES,
                         help="delete the old keys whose grace period is over (for cron)")
    _change_flags(finish)


def _change_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    add_no_wait(parser)


# ---- the commands ---------------------------------------------------------------------------

def cmd_rotate(args: argparse.Namespace) -> int:
    try:
        grace = parse_duration(args.grace)
    except ValueError as exc:
        raise CliError(f"--grace: {exc}", USAGE) from None
    hand_over = HandOver("file", args.to_file) if args.to_file else (
        HandOver("command", args.to_command) if args.to_command else HandOver())
    if args.json and hand_over.kind == "terminal":
        raise CliError("--json output never carries a key: give --to-file PATH or "
                       "--to-command CMD for the new key", USAGE)
    try:
        hand_over.check()
    except BadHandOver as exc:
        raise CliError(str(exc), USAGE) from None
    current = _key_from_stdin() if args.current_key_stdin else None
    request = rot.RotationRequest(args.name, hand_over, grace, current, tuple(args.key))
    session = fresh_session(args, planning=True)
    report = _through_path(args, session, lambda path: rot.rotate(path, request, _show_key))
    if args.json and report.outcomes:
        emit_json(_json(args.name, report))
    return _exit(report)


def cmd_revoke(args: argparse.Namespace) -> int:
    session = fresh_session(args, planning=True)
    report = _through_path(args, session, lambda path: rot.revoke(path, args.name,
                                                                  tuple(args.key)))
    if args.json and report.outcomes:
        emit_json(_json(args.name, report))
    if report.outcomes and all(o.ok for o in report.outcomes) and report.review \
            and any("will have no key" in n for n in report.review.notes):
        note(f"{args.name} has no API key now: make a new one in W&B (team settings → "
             "service accounts); W&B makes a key only as its own account")
    return _exit(report)


def cmd_finish(args: argparse.Namespace) -> int:
    session = fresh_session(args, planning=True)
    report = _through_path(args, session, rot.finish_rotations)
    if args.json:
        emit_json(_json(None, report))
    elif not report.outcomes and report.nothing_to_do:
        print("no key deletion is due")
    return _exit(report)


# ---- shared -------------------------------------------------------------------------------

def _key_from_stdin() -> Secret:
    line = sys.stdin.readline().strip()
    if not line:
        raise CliError("--current-key-stdin: standard input held no key", USAGE)
    return Secret(line)


def _show_key(account: str, key_id: str, key: str) -> None:
    """The terminal hand-over: the key once, on stdout, with what it is."""
    print(f"new API key of {account} (key id {key_id}), shown once — store it now:")
    print(key, flush=True)


def _through_path(args: argparse.Namespace, session: Session, work: Any) -> ChangeReport:
    from .access_cmd import change_callbacks, show_review

    stream = sys.stderr if args.json else sys.stdout

    def show(review: Any) -> None:
        show_review(review, stream)

    confirm, progress = change_callbacks(args, stream, show)

    async def run(session: Session) -> ChangeReport:
        path = ChangePath(session, confirm, wait=not args.no_wait, on_wait=note,
                          on_progress=progress, stop_on_error=True)
        report = await work(path)
        note_settled(report.reconciled, report.refresh_error)
        if report.outcomes and not args.json:
            for outcome in report.outcomes:
                print(_line(outcome), file=stream)
        return report

    return run_online(session, run)


def _line(outcome: Outcome) -> str:
    if outcome.status == "scheduled":
        return f"⏲ {outcome.change.describe()}  — journal entry {outcome.entry_id}"
    mark = {"applied": "✓", "skipped": "·"}.get(outcome.status, "✗")
    return f"{mark} {outcome.change.target}: {outcome.result}"


def _json(account: str | None, report: ChangeReport) -> dict[str, Any]:
    out: dict[str, Any] = {"account": account, "new_key_id": None, "deleted": [],
                           "scheduled": [], "failed": [], "entries": []}
    for o in report.outcomes:
        params = o.change.params()
        out["entries"].append({"entry": o.entry_id, "status": o.status,
                               "target": o.change.target, "result": o.result})
        if o.change.kind == "sa-key-create" and o.status == "applied":
            out["new_key_id"] = getattr(o.change, "made_id", None)
        elif o.change.kind == "sa-key-delete":
            if o.status == "applied":
                out["deleted"].append(params["key_id"])
            elif o.status == "scheduled":
                out["scheduled"].append({"key_id": params["key_id"],
                                         "due_at": iso(params.get("due_at"))})
        if o.status == "failed":
            out["failed"].append(o.change.target)
    return out


def _exit(report: ChangeReport) -> int:
    if not report.outcomes:
        return INTERRUPTED if report.declined else 0
    failed = report.failed
    if not failed:
        return 0
    first = failed[0]
    kind = first.result.split(":", 1)[0]
    raise CliError(f"{first.change.target}: {first.result}", FAILURE_CODES.get(kind, CONFLICT))
