"""`wbadmin cache info | clear`: the profile's local SQLite cache (deleting it loses nothing)."""

from __future__ import annotations

import argparse

from .common import add_command, age_text, epilog, open_session, size_text, when_text
from .errors import AUTH, BAD_DATA, UNAVAILABLE, USAGE
from .output import emit_json


def register(sub: argparse._SubParsersAction) -> None:
    cache = sub.add_parser("cache", help="inspect or clear the local cache",
                           description="The SQLite cache of one profile's W&B data.",
                           epilog=epilog(USAGE, BAD_DATA),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    csub = cache.add_subparsers(dest="cache_command", required=True, metavar="COMMAND")
    add_command(csub, "info", cmd_info, codes=(USAGE, AUTH, UNAVAILABLE, BAD_DATA),
                help="where the cache is, how big and how old, and what it holds")
    add_command(csub, "clear", cmd_clear, codes=(USAGE, AUTH, UNAVAILABLE, BAD_DATA),
                help="empty the cache (the next command syncs again)")


def cmd_info(args: argparse.Namespace) -> int:
    session = open_session(args, quiet=args.json)
    info = session.cache.info()
    info = {"profile": session.profile.name, **info, "age_seconds": session.cache.age("org")}
    if args.json:
        emit_json(info)
        return 0
    print(f"profile:   {info['profile']}")
    print(f"file:      {info['path']} ({size_text(info['size_bytes']) or 'not created'})")
    print(f"org:       {info['org'] or '-'} at {info['base_url'] or '-'}")
    synced = info["synced_at"]
    print(f"synced:    {when_text(synced) or 'never'}"
          + (f" ({age_text(info['age_seconds'])})" if synced else ""))
    if info["last_error"]:
        print(f"last error: {info['last_error']}")
    print("rows:      " + ", ".join(f"{n} {t}" for t, n in info["rows"].items()))
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    session = open_session(args, quiet=args.json)
    rows = sum(session.cache.info()["rows"].values())
    session.cache.clear()
    if args.json:
        emit_json({"profile": session.profile.name, "path": str(session.cache.path),
                   "rows_deleted": rows})
    else:
        print(f"cleared the cache of profile {session.profile.name} ({rows} rows) "
              f"at {session.cache.path}")
    return 0
