"""`wbadmin` with no command: the TUI. Its flags sit on the top-level parser."""

from __future__ import annotations

import argparse

from .errors import CliError


def add_flags(parser: argparse.ArgumentParser, title: str = "the TUI (wbadmin with no command)",
              prefix: str = "tui") -> None:
    """The TUI's own flags (also `serve`'s, for the TUI each browser session opens), kept
    apart from the subcommands' same-named flags by their `prefix`_ destinations."""
    group = parser.add_argument_group(title)
    group.add_argument("--profile", dest=f"{prefix}_profile", metavar="NAME",
                       help="profile to open (default: your W&B login, else the sandbox)")
    group.add_argument("--sandbox", dest=f"{prefix}_sandbox", action="store_true",
                       help="open the embedded sandbox (demo org) whatever credentials exist")
    group.add_argument("--read-only", dest=f"{prefix}_read_only", action="store_true",
                       help="offer no change at all")
    group.add_argument("--offline", dest=f"{prefix}_offline", action="store_true",
                       help="read the cache only; no network")


def run(args: argparse.Namespace) -> int:
    from ..core.session import Session
    from .common import command, install_redaction

    @command
    def open_tui(args: argparse.Namespace) -> int:
        install_redaction()
        if args.tui_sandbox and args.tui_profile not in (None, "sandbox"):
            raise CliError(f"--sandbox and --profile {args.tui_profile} contradict each other")
        session = Session.resolve(args.tui_profile, offline=args.tui_offline,
                                  read_only=args.tui_read_only,
                                  force_sandbox=args.tui_sandbox)
        session.ensure_identity()  # a key not seen here before is verified before any frame
        from ..tui.run import run_tui

        return run_tui(session, debug=args.debug)

    return open_tui(args)
