"""The `wbadmin` command: the TUI with no arguments, scriptable commands otherwise."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from .. import __version__, clock
from . import (
    access_cmd,
    audit_cmd,
    auth_cmd,
    cache_cmd,
    data_cmd,
    doctor_cmd,
    journal_cmd,
    onboard_cmd,
    org_cmd,
    ownership_cmd,
    policy_cmd,
    promote_cmd,
    quotas_cmd,
    report_cmd,
    sa_cmd,
    sandbox_cmd,
    screenshot_cmd,
    tui_cmd,
)
from .errors import INTERNAL, INTERRUPTED, USAGE, CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wbadmin",
        description="The terminal console for Weights & Biases platform admins.",
    )
    parser.add_argument("--version", action="version", version=f"wbadmin {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    tui_cmd.add_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    auth_cmd.register(sub)
    data_cmd.register(sub)
    access_cmd.register(sub)
    sa_cmd.register(sub)
    journal_cmd.register(sub)
    audit_cmd.register(sub)
    promote_cmd.register(sub)
    ownership_cmd.register(sub)
    quotas_cmd.register(sub)
    report_cmd.register(sub)
    policy_cmd.register(sub)
    onboard_cmd.register(sub)
    org_cmd.register(sub)
    doctor_cmd.register(sub)
    cache_cmd.register(sub)
    sandbox_cmd.register(sub)
    screenshot_cmd.register(sub)
    return parser


def entry() -> None:
    """The `wbadmin` console script (and `python -m wbadmin`)."""
    sys.exit(main(leave_at_once=True))


def leave_now(code: int) -> NoReturn:
    """End the process without the interpreter's teardown, which frees every module the TUI
    loaded (a third of a second measured): after `q` the user waits for their prompt.
    Streams and log handlers are flushed first; every cache and journal write was committed
    when it was made, and the sandbox's state is a SQLite file that survives an abrupt end."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed terminal: nothing to keep
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None, *, leave_at_once: bool = False) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said with the usage of the command that was typed, not the top level's
        (getattr(args, "command_parser", None) or parser).error(
            f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        clock.check()
        if args.command is None:
            code = tui_cmd.run(args)
            if leave_at_once:
                leave_now(code)
            return code
        return int(args.handler(args) or 0)
    except CliError as exc:
        print(f"wbadmin: {exc}", file=sys.stderr)
        return exc.code
    except clock.BadClock as exc:
        print(f"wbadmin: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`wbadmin users | head`): not an error of ours. Point stdout at
        # devnull so the interpreter's final flush does not complain again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"wbadmin: internal error: {type(exc).__name__}: {first} "
              "(run with --debug for details, and please report it)", file=sys.stderr)
        return INTERNAL


if __name__ == "__main__":
    entry()
