"""`wbadmin audit`: W&B's audit log (every actor) and wbadmin's journal on one timeline.

The log is read incrementally into the identity's cache (core/audit_store.py) and linked to
the journal (core/audit_timeline.py). `--format jsonl` is the compliance export.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from typing import Any

from .. import clock
from ..core import audit, audit_store
from ..core import errors as E
from ..core.audit_timeline import (
    RECORD_KEYS,
    WANDB,
    AuditFilter,
    Event,
    known_emails,
    timeline,
    unreadable,
)
from ..core.journal import parse_when
from ..core.session import Session
from .common import add_command, note, open_session, run_online
from .errors import AUTH, BAD_DATA, FINDINGS, PERMISSION, UNAVAILABLE, USAGE, CliError
from .output import emit_json

DEFAULT_SINCE = "7d"


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "audit", cmd_audit,
                    codes=(FINDINGS, USAGE, AUTH, PERMISSION, UNAVAILABLE, BAD_DATA),
                    help="W&B's audit log and wbadmin's journal on one timeline",
                    description="W&B's audit log (every actor; org admins) and wbadmin's "
                    "journal on one timeline, each journal entry linked to the W&B events it "
                    "caused. The log is read incrementally into the cache (--offline reads "
                    "it); exit 4 when your role may not read it, 1 when the server has none "
                    "(the journal is shown either way).")
    p.add_argument("--since", default=DEFAULT_SINCE, type=_since, metavar="WHEN",
                   help="from WHEN: 24h, 7d, 2w or a date (2026-11-01); default 7d")
    p.add_argument("--actor", metavar="WHO", help="only this actor (username or email)")
    p.add_argument("--action", metavar="ACTION",
                   help="only this action (team:invite_user), object (team) or journal kind")
    p.add_argument("--team", metavar="TEAM", help="only events of this team")
    p.add_argument("--project", metavar="PROJECT", help="only events of this project")
    p.add_argument("--anonymize", action="store_true",
                   help="ask W&B to drop PII (Dedicated), and drop it from journal rows")
    p.add_argument("--format", choices=["table", "jsonl", "csv"], default="table",
                   help="table (default), jsonl (the compliance export) or csv")


def _since(text: str) -> float:
    """`7d`, `24h`, `2026-11-01` ...: a bad one is argparse's usage line and exit 2."""
    try:
        return parse_when(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


async def _read(session: Session, since: float, now: float, anonymize: bool
                ) -> audit_store.StoreRead:
    me = session.cached_identity()
    username = "" if me is not None and me.is_service_account else session.username
    assert session.client is not None
    return await audit_store.refresh(session.client, session.cache, username, since, now,
                                     anonymize=anonymize)


def cmd_audit(args: argparse.Namespace) -> int:
    now, since = clock.now(), args.since
    session = open_session(args)
    refusal: tuple[str, int] | None = None
    if session.offline:
        span = audit_store.load_range(session.cache, args.anonymize)
        if span is None:
            note("offline, and the audit log was never read for this identity: "
                 "showing wbadmin's journal only")
        else:
            note(f"audit log from the cache, read up to {clock.iso(span.read_until)} "
                 "(offline)")
    else:
        try:
            read = run_online(session, lambda s: _read(s, since, now, args.anonymize))
        except (E.PermissionDenied, E.NotFound) as exc:
            text, why = unreadable(exc, str(session.profile.base_url))
            refusal = (text, PERMISSION if why == "role" else FINDINGS)
        else:
            note(f"audit log: {read.added} new of {read.fetched} entries read in "
                 f"{read.requests} requests")
            if read.truncated_at is not None:
                note(f"the audit log was read only up to {clock.iso(read.truncated_at)} "
                     f"(wbadmin stops at {audit.MAX_ENTRIES:,} entries a read): run again "
                     "to read on")
    stored = [] if refusal else audit_store.stored(session.cache, since, now, args.anonymize)
    flt = AuditFilter(since=since, actor=args.actor, action=args.action, team=args.team,
                      project=args.project)
    journal = session.journal.query(since=since - 60, newest_first=False)  # links may lag
    emails = known_emails(session.cache, session.cached_identity())
    events = timeline(stored, journal, emails, flt, anonymize=args.anonymize)
    _emit(events, "json" if args.json else args.format)
    if refusal is not None:
        raise CliError(refusal[0] + "; showing wbadmin's journal only", refusal[1])
    return 0


def _emit(events: list[Event], fmt: str) -> None:
    records = [e.record() for e in events]
    if fmt == "json":
        emit_json(records)
    elif fmt == "jsonl":
        for record in records:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=RECORD_KEYS, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: _csv_cell(v) for k, v in record.items()})
    else:
        _table(events)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _subject(e: Event) -> str:
    where = "/".join(x for x in (e.team, e.project) if x)
    return " ".join(x for x in (where, e.user, e.artifact) if x)


def _link(e: Event) -> str:
    if e.source == WANDB:
        return f"← #{e.journal_id}" if e.journal_id is not None else ""
    seen = f"{len(e.linked)} W&B event{'s' if len(e.linked) != 1 else ''}" if e.linked else ""
    return " ".join(x for x in (f"#{e.journal_id} {e.status}", seen) if x)


def _table(events: list[Event]) -> None:
    """For people: one line an event, cut to the terminal's width."""
    width = shutil.get_terminal_size((120, 24)).columns
    headers = ["when (UTC)", "src", "action", "actor", "link", "subject"]  # subject gives way
    rows = [[clock.iso(e.at).replace("T", " ").rstrip("Z"), "W&B" if e.source == WANDB
             else "wbadmin", e.action or e.kind or "", e.actor or "", _link(e), _subject(e)]
            for e in events]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    widths[3] = min(widths[3], 32)  # long emails give way to the subject
    for line in [[h.upper() for h in headers], *rows]:
        text = "  ".join(v[:w].ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
        print(text if len(text) <= width else text[:width - 1] + "…")
    if not events:
        note("no audit events in that period (or none matching the filters)")
