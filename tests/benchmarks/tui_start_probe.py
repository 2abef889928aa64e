"""Start-up probe for bench_tui.py: start the TUI on a warm cache, time its first Explorer frame.

Run by the benchmark in a fresh interpreter (the import cost is part of the figure):

    WBADMIN_PROBE_T0=<parent time.time() just before spawning> \
        python tests/benchmarks/tui_start_probe.py --cache C --journal J --out OUT.json \
            [--tty] [--sandbox-db DB]

It builds the Session the way `wbadmin --sandbox` does (profile "sandbox", cache and journal
paths as flags), runs the app (headless, or on the real Linux driver when stdin/stdout are a
terminal: `--tty`), and on the first frame that draws the Explorer with its teams writes the
times to OUT.json and exits. With `--sandbox-db` the app also connects to an embedded sandbox
served from that (already seeded) file, as `wbadmin` does; without it, autoconnect is off.

Memory mode (`--expand TEAM [--filter TEXT]`): after the first frame, expand TEAM, then type
TEXT into the `/` filter, and write the resident memory (VmRSS) at the frame after each, and
the peak (VmHWM).

Times are seconds since the process was spawned: `since_t0` from the parent's clock (wall
time, microsecond resolution), `since_proc_start` from /proc (10 ms resolution, a check).
"""

from __future__ import annotations

import os
import time

T0 = float(os.environ.get("WBADMIN_PROBE_T0", "nan"))
T_MAIN = time.time()  # the interpreter is up and running this script

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def proc_age() -> float:
    """Seconds since this process started, from /proc (Linux; NaN elsewhere)."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        stat = Path("/proc/self/stat").read_text()
        start = int(stat.rsplit(")", 1)[1].split()[19]) / ticks  # field 22: starttime
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start
    except (OSError, ValueError, IndexError):
        return float("nan")


def status_mb(field: str = "VmRSS") -> float:
    """Resident memory (VmRSS) or its peak (VmHWM) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tty", action="store_true", help="use the real terminal driver")
    parser.add_argument("--sandbox-db", help="connect to an embedded sandbox on this file")
    parser.add_argument("--expand", help="memory mode: after the first frame expand this team")
    parser.add_argument("--filter", help="memory mode: then type this into the `/` filter")
    args = parser.parse_args()

    t_imports = time.time()
    from textual.widgets import Input

    from wbadmin.core.session import SandboxHandle, Session
    from wbadmin.tui import app as app_module
    from wbadmin.tui.app import WbAdminApp
    from wbadmin.tui.locations import Location
    from wbadmin.tui.screens.explorer import ExplorerScreen
    from wbadmin.tui.widgets.org_tree import OrgTree

    t_imported = time.time()
    session = Session.resolve("sandbox", flags={"cache_path": args.cache,
                                                "journal_path": args.journal})
    launcher = None
    if args.sandbox_db:
        db_path = args.sandbox_db

        def launcher() -> SandboxHandle:
            from wbadmin.sandbox.embedded import start_embedded

            sandbox = start_embedded(db_path)
            return SandboxHandle(sandbox.base_url, sandbox.api_key, sandbox.username,
                                 sandbox.stop)

    result: dict = {}
    # Memory mode: after the first frame, expand a team, then filter, one frame each.
    stages = ["first"] + (["expand"] if args.expand else []) + (["filter"] if args.filter else [])

    def finish(app) -> None:
        writer = getattr(app._driver, "_writer_thread", None)
        if writer is not None:  # a terminal: let the frame reach it before leaving
            writer.stop()
            result["frame_written"] = time.time() - T0
        result["peak_rss_mb"] = status_mb("VmHWM")
        Path(args.out).write_text(json.dumps(result))
        # Leave at once: the figures are taken, and an orderly exit while the screen is
        # still mounting its toasts raises MountError in Textual.
        os._exit(0)

    class Probe(WbAdminApp):
        # CSS_PATH is relative to the defining class's module: point at the app's own file.
        CSS_PATH = str(Path(app_module.__file__).with_name(WbAdminApp.CSS_PATH))

        def _display(self, screen, renderable) -> None:
            super()._display(screen, renderable)
            if not stages or renderable is None or not isinstance(screen, ExplorerScreen):
                return
            # Inside a batch (Textual batches the first mount) _display writes nothing:
            # only an update outside one is a frame the terminal gets.
            if self._batch_count:
                result.setdefault("batched_update", time.time() - T0)
                return
            trees = screen.query(OrgTree)
            if not trees:
                return
            tree = trees.first()
            if stages[0] == "first":
                self._first_frame(tree)
            elif stages[0] == "expand":
                node = tree.find(Location("team", team=args.expand))
                if node is not None and node.is_expanded and node.children:
                    result.update(rss_expanded_mb=status_mb(), expanded_children=len(
                        node.children))
                    stages.pop(0)
                    if stages:
                        screen.query_one("#tree-filter", Input).value = args.filter
            elif stages[0] == "filter" and tree.filter_text == args.filter:
                result.update(rss_filtered_mb=status_mb(), filter_shown=tree.shown)
                stages.pop(0)
            if not stages:
                finish(self)

        def _first_frame(self, tree: OrgTree) -> None:
            teams = tree._team_nodes()
            if not teams or tree.region.height == 0:
                return
            now = time.time()
            result.update(
                since_t0=now - T0, app_built=t_app - T0, since_proc_start=proc_age(),
                interpreter=T_MAIN - T0, imports=t_imported - t_imports,
                teams_in_tree=len(teams), rss_mb=status_mb(), first_team=teams[0].data.team,
                # Did the frame draw the first team's name? (checked after timing)
                frame_has_team=teams[0].data.team in _screen_text(self))
            stages.pop(0)
            if args.expand:
                node = tree.find(Location("team", team=args.expand))
                if node is None:
                    sys.exit(f"no team {args.expand!r} in the tree")
                tree.move_cursor(node)
                node.expand()  # the tree loads the first chunk of projects on NodeExpanded

    app = Probe(session, launcher, autoconnect=launcher is not None)
    t_app = time.time()
    app.run(headless=not args.tty, size=None if args.tty else (120, 36))
    sys.exit(f"the app ended before its frames were taken ({app.return_code})")


def _screen_text(app) -> str:
    """The text of the current screen as the compositor last drew it."""
    lines = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in lines)


if __name__ == "__main__":
    sys.exit(main())
