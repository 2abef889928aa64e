"""`wbadmin screenshot SCREEN OUT.svg` and `wbadmin screenshot --all DIR`."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import USAGE, CliError


def register(sub: argparse._SubParsersAction) -> None:
    shot = sub.add_parser(
        "screenshot", help="render a screen on the demo sandbox to SVG (and PNG)",
        description="Render a screen state on the demo sandbox (explorer, explorer-team, "
                    "explorer-project, help, plan, journal, ...; an unknown name lists them).",
        epilog="exit codes: 0 written, 2 unknown screen or bad arguments")
    shot.add_argument("screen", nargs="?", help="which screen state to render")
    shot.add_argument("out", nargs="?", type=Path, help="the SVG file to write")
    shot.add_argument("--all", type=Path, metavar="DIR",
                      help="render every screen into DIR (SVG, plus PNG via rsvg-convert)")
    shot.add_argument("--png", action="store_true", help="also write OUT.png")
    shot.set_defaults(handler=cmd_screenshot)


def cmd_screenshot(args: argparse.Namespace) -> int:
    from ..tui.screenshot import SCENARIOS, save, save_all

    if args.all:
        for path in save_all(args.all):
            print(path)
        return 0
    if not args.screen or not args.out:
        raise CliError("give SCREEN and OUT.svg, or --all DIR", USAGE)
    if args.screen not in SCENARIOS:
        raise CliError(f"unknown screen {args.screen!r}; choose one of {', '.join(SCENARIOS)}",
                       USAGE)
    for path in save(args.screen, args.out, png=args.png):
        print(path)
    return 0
