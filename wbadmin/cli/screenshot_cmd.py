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
    shot.add_argument("--size", type=terminal_size, metavar="COLSxROWS",
                      help="the terminal size to render at, e.g. 160x48 (default: the "
                           "screen state's own)")
    shot.set_defaults(handler=cmd_screenshot)


def terminal_size(text: str) -> tuple[int, int]:
    cols, sep, rows = text.lower().partition("x")
    if not (sep and cols.isdigit() and rows.isdigit()) or int(cols) < 40 or int(rows) < 12:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a terminal size: give COLSxROWS, at least 40x12, e.g. 160x48")
    return int(cols), int(rows)


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
    for path in save(args.screen, args.out, png=args.png, size=args.size):
        print(path)
    return 0
