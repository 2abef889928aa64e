"""`wbadmin sync | teams | members TEAM | projects [TEAM] | users`: the org, from the cache.

Reads come from the profile's SQLite cache. An empty cache (or `--refresh`) is synced first;
`--offline` never touches the network and says how old the data is.
"""

from __future__ import annotations

import argparse
import difflib
from typing import Any

from ..core import explorer
from ..core.access.people import people
from ..core.invite_log import InviteReport
from ..core.journal import iso
from ..core.session import Session
from ..core.sync import SyncReport
from .common import (
    add_command,
    age_text,
    note,
    open_session,
    run_online,
    shape_errors,
    size_text,
    when_text,
)
from .errors import AUTH, BAD_DATA, NOT_FOUND, PERMISSION, UNAVAILABLE, USAGE, CliError
from .output import emit_json, emit_table

ONLINE_CODES = (USAGE, AUTH, PERMISSION, UNAVAILABLE, BAD_DATA)
READ_CODES = (USAGE, AUTH, PERMISSION, NOT_FOUND, UNAVAILABLE, BAD_DATA)


def register(sub: argparse._SubParsersAction) -> None:
    sync = add_command(sub, "sync", cmd_sync, help="fetch the whole org into the local cache",
                       codes=ONLINE_CODES)
    sync.set_defaults(refresh=True)

    teams = add_command(sub, "teams", cmd_teams, help="list the teams", codes=READ_CODES)
    _refresh(teams)

    members = add_command(sub, "members", cmd_members, codes=READ_CODES,
                          help="list a team's members, service accounts and pending invites")
    members.add_argument("team", metavar="TEAM")
    _refresh(members)

    projects = add_command(sub, "projects", cmd_projects, codes=READ_CODES,
                           help="list the projects of one team, or of every team")
    projects.add_argument("team", metavar="TEAM", nargs="?")
    _refresh(projects)

    users = add_command(sub, "users", cmd_users, codes=READ_CODES,
                        help="list the org's users and service accounts")
    users.add_argument("--filter", metavar="TEXT", default="",
                       help="only users whose username, name or email contains TEXT")
    _refresh(users)


def _refresh(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--refresh", action="store_true", help="sync before reading")


# ---- syncing -------------------------------------------------------------------------------

async def _full_sync(session: Session) -> tuple[SyncReport, InviteReport]:
    syncer = session.syncer()
    try:
        report = await syncer.full(invites=False)
        return report, await syncer.date_invites()  # its own step: reported on its own
    except (KeyError, TypeError, AttributeError) as exc:
        raise shape_errors(exc) from None


def sync_now(session: Session) -> tuple[SyncReport, InviteReport]:
    """The structure, then the pending invites' dates (the audit log)."""
    report, invites = run_online(session, _full_sync)
    for warning in report.warnings + invites.warnings:
        note(f"warning: {warning}")
    return report, invites


def _invite_summary(invites: InviteReport) -> str:
    return (f"invite ages: {invites.dated} of {invites.pending} pending invites dated in "
            f"{invites.seconds:.1f} s ({invites.requests} audit log requests)")


def _summary(report: SyncReport) -> str:
    c = report.counts
    return (f"{c.get('users', 0)} users, {c.get('teams', 0)} teams, "
            f"{c.get('team_members', 0)} memberships, {c.get('projects', 0)} projects, "
            f"{c.get('registries', 0)} registries, {c.get('versions', 0)} versions "
            f"in {report.seconds:.1f} s ({report.requests} requests)")


def fresh_session(args: argparse.Namespace, *, planning: bool = False) -> Session:
    """A session whose cache holds data: synced now if empty or asked, else as cached.
    `planning`: for a change, whose plan the change path makes from W&B anyway (so the
    cache's age is not news)."""
    session = open_session(args)
    cache = session.cache
    synced_at = cache.fetched_at("org")
    name = session.profile.name
    if session.offline:
        if synced_at is None:
            raise CliError(f"nothing cached for profile {name}; run `wbadmin sync`"
                           + (f" --profile {name}" if args.profile else ""), UNAVAILABLE)
        note(f"data from the cache, {age_text(cache.age('org'))} (offline)")
    elif synced_at is None or getattr(args, "refresh", False):
        report, _ = sync_now(session)
        note(f"synced profile {name}: {_summary(report)}")
    elif not planning:
        note(f"data from the cache, {age_text(cache.age('org'))} (--refresh to sync)")
    return session


# ---- commands ------------------------------------------------------------------------------

def cmd_sync(args: argparse.Namespace) -> int:
    session = open_session(args)
    report, invites = sync_now(session)
    if args.json:
        emit_json({"profile": session.profile.name, "base_url": session.profile.base_url,
                   "org": session.cache.meta("org") or None, "counts": report.counts,
                   "requests": report.requests, "seconds": round(report.seconds, 3),
                   "warnings": report.warnings + invites.warnings,
                   # dated after the structure: requests and seconds are its own
                   "invites": {"pending": invites.pending, "dated": invites.dated,
                               "requests": invites.requests,
                               "seconds": round(invites.seconds, 3)},
                   # read for invite ages; truncated: its safety cap stopped it at truncated_at
                   "audit_log": {"truncated": invites.truncated_at is not None,
                                 "truncated_at": iso(invites.truncated_at)}})
    else:
        org = session.cache.meta("org") or "(no org)"
        print(f"synced {org} (profile {session.profile.name}): {_summary(report)}")
        if invites.requests:  # the audit log was read (org admins only)
            print(_invite_summary(invites))
    return 0


def cmd_teams(args: argparse.Namespace) -> int:
    session = fresh_session(args)
    rows = explorer.teams(session.cache)
    if args.json:
        emit_json([{"name": t.name, "people": t.people, "service_accounts": t.service_accounts,
                    "members": t.members,
                    "projects": t.projects, "storage_bytes": t.storage_bytes,
                    "last_activity_at": iso(t.last_activity_at), "readable": t.readable}
                   for t in rows])
        return 0
    emit_table([[t.name, t.people, t.service_accounts, t.projects, size_text(t.storage_bytes),
                 when_text(t.last_activity_at)] for t in rows],
               ["team", "people", "service accts", "projects", "storage", "last activity"])
    return 0


def _require_team(session: Session, name: str) -> None:
    if explorer.team(session.cache, name) is not None:
        return
    known = [t.name for t in explorer.teams(session.cache)]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "; see `wbadmin teams`"
    raise CliError(f"unknown team {name!r} in profile {session.profile.name}{hint}", NOT_FOUND)


def cmd_members(args: argparse.Namespace) -> int:
    session = fresh_session(args)
    _require_team(session, args.team)
    detail = explorer.team_detail(session.cache, args.team)
    assert detail is not None
    if args.json:
        emit_json({
            "team": args.team,
            "members": [{"username": m.username, "name": m.name, "email": m.email,
                         "role": m.role, "custom_role": m.custom,
                         "service_account": m.service_account, "active": m.active,
                         "last_active_at": iso(m.last_active_at)} for m in detail.members],
            "invites": [{"id": i.id, "email": i.email, "username": i.username,
                         "created_at": iso(i.created_at)} for i in detail.invites]})
        return 0
    rows = [[m.username, m.name, m.email, m.role + (" (custom)" if m.custom else ""),
             "service account" if m.service_account else ("user" if m.active else "deactivated"),
             when_text(m.last_active_at)] for m in detail.members]
    rows += [[i.username or "", "", i.email, "", "invited", when_text(i.created_at)]
             for i in detail.invites]
    emit_table(rows, ["username", "name", "email", "role", "kind", "last active"])
    return 0


def cmd_projects(args: argparse.Namespace) -> int:
    session = fresh_session(args)
    if args.team:
        _require_team(session, args.team)
        teams = [args.team]
    else:
        teams = [t.name for t in explorer.teams(session.cache)]
    rows = [p for team in teams for p in _all_projects(session, team)]
    if args.json:
        emit_json([{"team": p.team, "name": p.name, "access": p.access, "owner": p.owner,
                    "run_count": p.run_count, "last_run_at": iso(p.last_run_at),
                    "storage_bytes": p.storage_bytes, "created_at": iso(p.created_at)}
                   for p in rows])
        return 0
    emit_table([[p.team, p.name, p.access, p.owner, p.run_count, when_text(p.last_run_at)]
                for p in rows], ["team", "project", "access", "owner", "runs", "last run"])
    return 0


def _all_projects(session: Session, team: str) -> list[explorer.ProjectRow]:
    out: list[explorer.ProjectRow] = []
    while page := explorer.projects(session.cache, team, offset=len(out), limit=500):
        out.extend(page)
    return out


def _users(session: Session, text: str) -> list[dict[str, Any]]:
    # The Access screen's read model (core.access.people): one org role, seat and team list.
    found = sorted(people(session.cache, text), key=lambda p: (p.service_account, p.username))
    return [{"username": p.username, "name": p.name, "email": p.email, "org_role": p.org_role,
             "active": p.active, "service_account": p.service_account, "seat": p.seat,
             "teams": len(p.teams), "last_active_at": iso(p.last_active_at)} for p in found]


def cmd_users(args: argparse.Namespace) -> int:
    session = fresh_session(args)
    users = _users(session, args.filter)
    if args.json:
        emit_json(users)
        return 0
    emit_table([[u["username"], u["name"], u["email"], u["org_role"] or "",
                 "service account" if u["service_account"] else
                 ("user" if u["active"] else "deactivated"), u["teams"],
                 when_text(_epoch(u["last_active_at"]))] for u in users],
               ["username", "name", "email", "org role", "kind", "teams", "last active"])
    return 0


def _epoch(text: str | None) -> float | None:
    from ..core.wire_time import parse_time

    return parse_time(text) if text else None

