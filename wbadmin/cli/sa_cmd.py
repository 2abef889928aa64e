"""`wbadmin sa list | show NAME`: the service accounts, their reach, keys and activity.

Reads the identity's cache; W&B's user listing and audit log (what the cache's sync does not
read) are read the first time and with `--refresh` (`service_accounts.read_facts`). Keys are
shown by id and description only: never a value, never a name (see SA_USERS).
"""

from __future__ import annotations

import argparse

from ..core.access import service_accounts as sa
from ..core.access.people import identity
from ..core.journal import iso
from ..core.session import Session
from .common import add_command, note, run_online, when_text
from .data_cmd import fresh_session
from .errors import AUTH, BAD_DATA, NOT_FOUND, PERMISSION, UNAVAILABLE, USAGE, CliError
from .output import emit_json, emit_table

CODES = (USAGE, AUTH, PERMISSION, NOT_FOUND, UNAVAILABLE, BAD_DATA)


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("sa", help="service accounts: reach, keys, activity",
                           description="Service accounts: their team and scope, roles and "
                                       "reach, keys (ids only) and last activity.")
    ssub = group.add_subparsers(dest="sa_command", metavar="ACTION", required=True)
    listing = add_command(ssub, "list", cmd_list, codes=CODES,
                          help="every service account you can see")
    _refresh(listing)
    show = add_command(ssub, "show", cmd_show, codes=CODES,
                       help="one service account in full")
    show.add_argument("name", metavar="NAME", help="the service account's username")
    _refresh(show)
    from .sa_keys_cmd import register as register_key_commands

    register_key_commands(ssub)


def _refresh(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--refresh", action="store_true",
                        help="sync, and re-read keys and the audit log, before reading")


def facts_session(args: argparse.Namespace, *, planning: bool = False) -> Session:
    """A session whose cache holds the service-account facts too: read from W&B the first
    time and with --refresh (never offline). `planning` as for `fresh_session`."""
    return ensure_facts(fresh_session(args, planning=planning), args)


def ensure_facts(session: Session, args: argparse.Namespace) -> Session:
    """Read the service-account facts into the session's cache the first time and with
    --refresh (never offline)."""
    if session.offline or (session.cache.scalar("SELECT 1 FROM sa_read")
                            and not getattr(args, "refresh", False)):
        return session
    me = identity(session.cache)
    if me is None:
        return session
    access = session.settings.access
    days = sa.log_days(access.service_account_idle_days, access.key_max_age_days)

    async def work(s: Session) -> sa.FactsRead:
        return await sa.read_facts(s.client, s.cache, me, s.clock(), days)

    read = run_online(session, work)
    if not read.warnings:  # else the inventory's note says what could not be read
        note(f"service accounts: keys and {days} days of audit log read "
             f"({read.requests} requests)")
    return session


def _visible(session: Session) -> sa.Inventory:
    found = sa.inventory(session.cache)
    me = identity(session.cache)
    if not found.accounts and not (me and me.scim):
        who = me.username if me else "this identity"
        raise CliError(f"no service account is visible to {who}: W&B shows them to org "
                       "admins and to the members of their team", PERMISSION)
    return found


def _keys_text(account: sa.ServiceAccount) -> str:
    if account.keys is None:
        return "not visible"
    return str(len(account.keys))


def _when(ts: float | None) -> str:
    return when_text(ts) or "unknown"


def cmd_list(args: argparse.Namespace) -> int:
    session = facts_session(args)
    found = _visible(session)
    if args.json:
        emit_json({"note": found.note or None, "audit_log_from": iso(found.log_from),
                   "audit_log_until": iso(found.log_until),
                   "service_accounts": [a.to_dict() for a in found.accounts]})
        return 0
    if found.note:
        note(found.note)
    if not found.accounts:
        print("no service accounts")
        return 0
    emit_table([[a.username, a.team or "—", a.scope, _keys_text(a), _when(a.last_key_at),
                 _when(a.last_activity_at)] for a in found.accounts],
               ["name", "team", "scope", "keys", "last key made", "last active"])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    session = facts_session(args)
    found = _visible(session)
    account = found.get(args.name)
    if account is None:
        raise CliError(f"unknown service account {args.name!r} (not among the service "
                       "accounts you can see; `--refresh` to re-read)", NOT_FOUND)
    if args.json:
        emit_json(account.to_dict())
        return 0
    if found.note:
        note(found.note)
    print(f"{account.username}  {account.description or ''}".rstrip())
    print(f"team {account.team or '—'}, scope {account.scope} ({account.scope_why})")
    for line in account.reach:
        print(f"  reaches {line}")
    if account.keys is None:
        print("keys: not visible to you (W&B lists keys to org admins only)")
    else:
        print(f"keys: {len(account.keys)} (ids only; a key's value is never read)")
        for key in account.keys:
            print(f"  {key.id}  {key.description or ''}".rstrip())
    print(f"last key made: {_when(account.last_key_at)}")
    print(f"last activity: {_when(account.last_activity_at)} (audit log "
          f"{_when(account.last_event_at)}, runs {_when(account.last_run_at)})")
    if account.run_teams:
        print(f"logged runs in: {', '.join(account.run_teams)}")
    return 0
