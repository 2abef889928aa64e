"""`wbadmin journal` (what wbadmin changed, exportable) and `wbadmin undo ENTRY`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ..core import changes_team  # noqa: F401  (registers the W&B change kinds for undo)
from ..core.access.plans import AccessService, Review
from ..core.change_path import ChangePath
from ..core.changes import Outcome, format_delta, format_state
from ..core.journal import Entry, parse_when
from ..core.session import Session
from .common import (
    add_command,
    add_no_wait,
    confirm_guarded,
    note,
    note_settled,
    open_session,
    run_online,
)
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
    journal = add_command(sub, "journal", cmd_journal, codes=(USAGE, BAD_DATA),
                          help="list the changes made through wbadmin (this profile)")
    journal.add_argument("--since", type=_since, metavar="WHEN",
                         help="only entries since WHEN: 30m, 2h, 2d, 1w, or an ISO date/time")
    journal.add_argument("--format", choices=["table", "jsonl", "csv"], default="table",
                         help="table (default), jsonl or csv (for export)")

    undo = add_command(sub, "undo", cmd_undo,
                       codes=CHANGE_CODES,
                       help="undo one journal entry (shows the plan, asks to confirm)")
    undo.add_argument("entry", type=_entry_id, metavar="ENTRY", help="journal entry id")
    undo.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    undo.add_argument("--confirm", metavar="PHRASE",
                      help="the phrase a guard-rail case asks to be typed (for scripts)")
    add_no_wait(undo)


def _since(text: str) -> float:
    try:
        return parse_when(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _entry_id(text: str) -> int:
    if not text.lstrip("#").isdigit():
        raise argparse.ArgumentTypeError(f"not a journal entry id: {text!r} (a number)")
    return int(text.lstrip("#"))


def _change_text(entry: Entry) -> str:
    if entry.before is None and entry.after is not None:
        return f"add {format_state(entry.after)}"
    if entry.after is None:
        return "remove"
    return format_delta(entry.before or {}, entry.after or {})


def cmd_journal(args: argparse.Namespace) -> int:
    session = open_session(args, offline=True, identity=False)
    entries = session.journal.query(since=args.since, newest_first=False)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        emit_json([e.to_dict() for e in entries])
    elif fmt == "jsonl":
        session.journal.export_jsonl(sys.stdout, entries)
    elif fmt == "csv":
        session.journal.export_csv(sys.stdout, entries)
    else:
        undone = {e.undo_of: e.id for e in entries if e.undo_of and e.status == "applied"}

        def undo_text(e: Any) -> str:
            if e.undo_of:
                return f"undoes {e.undo_of}"
            if e.id in undone:
                return f"undone by {undone[e.id]}"
            return "yes" if e.undoable else "no"

        emit_table([[e.id, e.to_dict()["created_at"], e.actor, e.target, _change_text(e),
                     e.status + ("" if e.verified is not False else " (unverified)"),
                     undo_text(e)] for e in entries],
                   ["id", "when (UTC)", "actor", "target", "change", "status", "undo"])
        if not entries:
            note(f"no journal entries for profile {session.profile.name}"
                 + (" in that period" if args.since else ""))
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    session = open_session(args)
    if session.read_only:
        raise CliError("read-only mode: undo would change W&B; run without --read-only",
                       PERMISSION)
    entry = session.journal.get(args.entry)
    if entry is None:
        raise CliError(f"there is no journal entry {args.entry} in profile "
                       f"{session.profile.name} (see `wbadmin journal`)", NOT_FOUND)

    stream = sys.stderr if args.json else sys.stdout

    async def agree(review: Review, changed: bool) -> bool:
        plan = review.plan
        if changed:
            note("W&B changed since the undo was planned: this is the plan now")
        print(plan.title, file=stream)
        for line in plan.preview():
            print(f"  {line}", file=stream)
        print(plan.summary(), file=stream)
        for concern in review.concerns:
            print(f"⚠ {concern.message}", file=stream)
        return await asyncio.to_thread(confirm_guarded, args, review.concerns, review.phrase)

    async def work(session: Session) -> list[Outcome] | None:
        plan = await session.engine().plan_undo(args.entry, session.client)
        path = ChangePath(session, agree, wait=not args.no_wait, on_wait=note)
        report = await path.run_intent(plan, AccessService(session.cache).review,
                                       shown=False)
        note_settled(report.reconciled, report.refresh_error)
        if report.nothing_to_do:
            note("W&B already shows the state before that entry: nothing to undo")
            return []
        return None if report.declined else report.outcomes

    outcomes = run_online(session, work)
    if outcomes is None:
        note("nothing changed")
        return INTERRUPTED
    if args.json:
        emit_json([{"entry": o.entry_id, "status": o.status, "verified": o.verified,
                    "target": o.change.target, "result": o.result} for o in outcomes])
    else:
        for outcome in outcomes:
            print(outcome.line())
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise CliError(f"the undo failed: {failed[0].result}", CONFLICT)
    return 0


