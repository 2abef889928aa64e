"""TUI benchmarks (issue 4), run on demand (not in the default test run):

    pytest tests/benchmarks/bench_tui.py -s -p no:cacheprovider -o addopts=""

1. Process start to the first Explorer frame (with its teams), warm cache, demo org: goal
   <= 0.6 s, in the same run as `python -c "import wandb; wandb.Api"`. Each start is a fresh
   interpreter running tui_start_probe.py; interleaved runs, 7 of each, median and range.
   Variants: headless without connecting (the critical path), headless connecting to the
   embedded sandbox as `wbadmin` does (the connect thread starts in on_mount), and on a
   real terminal driver over a pty (the frame is encoded and written).
   Plus the import times that explain where the time goes.
2. The `huge` preset (10,000 users, 500 teams, 50,000 projects), cache filled by a full
   sync from a served `huge` sandbox:
   - expanding the 5,000-project team, key to next frame: goal <= 150 ms;
   - one `/` filter keystroke (the tree of 500 teams / 50,000 projects is rebuilt): <= 50 ms;
   - `:user` completion over 10,000 users (explorer.completions, and the jump bar keystroke);
   - resident memory with the huge cache loaded and the big team expanded: <= 300 MB
     (VmRSS of a separate app process).
   Times: from `pilot.press` to the first frame the app displays (its `_display` ran) with
   the new state: what a user sees. perf_counter around `press` + `pause()` is printed too,
   but Pilot adds its own idle waits (>= 60 ms, measured as "Pilot floor"), so a 50 ms goal
   could never be met that way. Headless frames skip the terminal encoding (a few ms).

Benchmarks report; they do not gate: goals print PASS/MISS.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.benchmarks.common import Results, seed_file, verdict
from tests.conftest import key_of
from wbadmin.core import explorer
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.sync import Syncer, SyncReport
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed_scale import BIG_TEAM
from wbadmin.sandbox.server import SandboxServer

pytestmark = pytest.mark.benchmark

PROBE = Path(__file__).with_name("tui_start_probe.py")
STARTS = 7
REPEATS = 5
GOAL_START_S = 0.6
GOAL_EXPAND_MS = 150.0
GOAL_KEY_MS = 50.0
GOAL_RSS_MB = 300.0
HUGE_BUDGET_S = 300.0  # seed + sync of `huge` must fit in this
SIZE = (120, 36)

RESULTS = Results("TUI benchmark")
record = RESULTS.record




def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def spread(values: list[float], unit: Callable[[float], str] = ms) -> str:
    return f"median {unit(statistics.median(values))} (min {unit(min(values))}, " \
           f"max {unit(max(values))}, n={len(values)})"


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    RESULTS.print_table()


# ---- shared set-up -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """One temp dir for every file of this module (the huge DB and cache are ~340 MB),
    removed at the end (pytest's own tmp dirs are kept around)."""
    root = Path(tempfile.mkdtemp(prefix="wbadmin-bench-tui-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def home(scratch: Path) -> dict[str, str]:
    """An environment with an empty HOME / XDG dirs: no user config, no W&B credentials."""
    root = scratch / "home"
    root.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WANDB_", "WBADMIN_", "XDG_"))}
    env.update(HOME=str(root), XDG_CONFIG_HOME=str(root / "config"),
               XDG_CACHE_HOME=str(root / "cache"), XDG_DATA_HOME=str(root / "data"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]), TERM="xterm-256color")
    return env


def sync_cache(base_url: str, cache_path: Path, timeout: float | None = None) -> SyncReport:
    async def main() -> SyncReport:
        async with Client(base_url, key_of("alice"), scim_username="alice") as client:
            cache = Cache(cache_path)
            try:
                return await asyncio.wait_for(Syncer(client, cache).full(), timeout)
            finally:
                cache.close()

    return asyncio.run(main())


# ---- benchmark 1: start-up -----------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_files(scratch: Path) -> dict[str, Path]:
    root = scratch / "demo"
    root.mkdir()
    return seeded_demo(root)


def seeded_demo(root: Path) -> dict[str, Path]:
    """A seeded demo sandbox file and a cache synced from it (warm: fresh, complete)."""
    files = {"sandbox": root / "sandbox.db", "cache": root / "cache.sqlite3",
             "journal": root / "journal.sqlite3"}
    seed_file(files["sandbox"], "demo")
    db = Database(files["sandbox"])
    try:
        with SandboxServer(db) as server:
            sync_cache(server.base_url, files["cache"])
    finally:
        db.close()
    return files


def run_probe(files: dict[str, Path], env: dict[str, str], out: Path, *, tty: bool = False,
              connect: bool = False, extra: tuple[str, ...] = ()) -> dict:
    """One fresh `wbadmin` process to its first Explorer frame; the probe's figures."""
    args = [sys.executable, str(PROBE), "--cache", str(files["cache"]),
            "--journal", str(files["journal"]), "--out", str(out), *extra]
    if tty:
        args.append("--tty")
    if connect:
        args += ["--sandbox-db", str(files["sandbox"])]
    out.unlink(missing_ok=True)
    env = {**env, "WBADMIN_PROBE_T0": ""}
    if tty:
        code, output = _run_on_pty(args, env)
    else:
        env["WBADMIN_PROBE_T0"] = repr(time.time())
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        code, output = done.returncode, done.stdout + done.stderr
    if code != 0 or not out.exists():
        raise AssertionError(f"probe failed ({code}): {output[-2000:]}")
    result = json.loads(out.read_text())
    if tty:  # the terminal received the frame, teams included
        assert result["first_team"] in output, "the frame did not reach the terminal"
    return result


def _run_on_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdin/stdout/stderr on a pseudo-terminal of SIZE, as in a real terminal."""
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:  # the terminal must be read or the app blocks writing its frame
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    env = {**env, "WBADMIN_PROBE_T0": repr(time.time())}
    try:
        proc = subprocess.Popen(args, env=env, stdin=slave, stdout=slave, stderr=slave,
                                start_new_session=True)
        os.close(slave)
        code = proc.wait(timeout=60)
    finally:
        reader.join(timeout=2)
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def wall_of(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                   timeout=120)
    return time.perf_counter() - start


def test_start_to_first_frame(demo_files: dict[str, Path], home: dict[str, str],
                              scratch: Path) -> None:
    out = scratch / "probe.json"
    sdk = "import wandb; wandb.Api"
    variants: dict[str, dict] = {
        "headless, no connect": {},
        "headless + connect to embedded sandbox": {"connect": True},
        "terminal (pty), no connect": {"tty": True},
        "terminal (pty) + connect (as `wbadmin`)": {"tty": True, "connect": True},
    }
    # Warm the OS file cache and the .pyc files once, untimed.
    for options in variants.values():
        run_probe(demo_files, home, out, **options)
    wall_of(sdk, home)

    firsts: dict[str, list[dict]] = {name: [] for name in variants}
    sdk_times: list[float] = []
    for _ in range(STARTS):  # interleaved, so drifts in machine load hit every variant alike
        for name, options in variants.items():
            firsts[name].append(run_probe(demo_files, home, out, **options))
        sdk_times.append(wall_of(sdk, home))

    for name, runs in firsts.items():
        assert all(r["frame_has_team"] for r in runs), "the first frame did not draw the teams"
        times = [r["since_t0"] for r in runs]
        check = statistics.median(r["since_proc_start"] for r in runs)
        imports = statistics.median(r["imports"] for r in runs)
        med = statistics.median(times)
        written = ""
        if "frame_written" in runs[0]:
            written = "; all bytes on the pty +" + ms(statistics.median(
                r["frame_written"] - r["since_t0"] for r in runs))
        record(f"start → first Explorer frame, {name}", ms(med),
               f"{spread(times)}; goal <= {GOAL_START_S:.1f} s: "
               f"{verdict(med <= GOAL_START_S)}; /proc check {ms(check)}; of which app "
               f"imports {ms(imports)}; {runs[0]['teams_in_tree']} teams{written}")
    sdk_med = statistics.median(sdk_times)
    ours = statistics.median(r["since_t0"] for r in
                             firsts["terminal (pty) + connect (as `wbadmin`)"])
    record(f'python -c "{sdk}"', ms(sdk_med),
           f"{spread(sdk_times)} (process wall time); wbadmin's first frame on a terminal "
           f"is {ours / sdk_med:.2f}x of it")

    # Where the time goes: import costs, each a fresh interpreter.
    codes = {"python -c pass": "pass", "import textual": "import textual",
             "import textual.app": "import textual.app",
             "import wbadmin.tui.app": "import wbadmin.tui.app",
             "import wbadmin.cli (the entry point)": "import wbadmin.cli"}
    bare = None
    for label, code in codes.items():
        times = [wall_of(code, home) for _ in range(STARTS)]
        med = statistics.median(times)
        bare = med if bare is None else bare
        over = "" if code == "pass" else f"; {ms(med - bare)} over bare Python"
        record(label, ms(med), spread(times) + over)


# ---- benchmark 1b: quitting -----------------------------------------------------------------

GOAL_QUIT_S = 0.3
QUITS = 7


def quit_once(env: dict[str, str], settle_s: float) -> tuple[float, float]:
    """`wbadmin --sandbox` on a pty: wait for the Explorer with its teams and `settle_s`
    more (connected and synced), press q; seconds from the key to the terminal leaving the
    alternate screen, and to the process's end (the shell prompt)."""
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    seen = bytearray()
    restored: list[float] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            seen.extend(data)
            if not restored and b"\x1b[?1049l" in data:
                restored.append(time.perf_counter())

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.Popen([sys.executable, "-m", "wbadmin", "--sandbox"], env=env,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        deadline = time.monotonic() + 60
        while b"llm-platform" not in seen and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(settle_s)
        pressed = time.perf_counter()
        os.write(master, b"q")
        proc.wait(timeout=30)
        ended = time.perf_counter()
    finally:
        proc.kill()
        reader.join(timeout=2)
        os.close(master)
    assert restored, "the terminal never left the alternate screen"
    return restored[0] - pressed, ended - pressed


def test_quit(home: dict[str, str]) -> None:
    quit_once(home, 1.0)  # seeds the sandbox's file in this HOME, untimed
    for label, settle_s in (("connected and synced", 2.0), ("while connecting", 0.0)):
        runs = [quit_once(home, settle_s) for _ in range(QUITS)]
        back = [r[0] for r in runs]
        ended = [r[1] for r in runs]
        med = statistics.median(ended)
        record(f"q → prompt back (process ended), {label}", ms(med),
               f"{spread(ended)}; goal <= {GOAL_QUIT_S:.1f} s: {verdict(med <= GOAL_QUIT_S)}; "
               f"alternate screen left after {ms(statistics.median(back))}")


# ---- benchmark 2: the huge preset ----------------------------------------------------------

@pytest.fixture(scope="module")
def huge_files(scratch: Path) -> dict[str, Path]:
    """`huge` seeded into a file, served, and fully synced into a cache by Syncer.full."""
    root = scratch / "huge"
    root.mkdir()
    files = {"sandbox": root / "huge.db", "cache": root / "cache-huge.sqlite3",
             "journal": root / "journal.sqlite3"}
    start = time.perf_counter()
    record("seed huge (file)", f"{seed_file(files['sandbox'], 'huge'):.1f} s",
           f"{files['sandbox'].stat().st_size / 2**20:.0f} MiB")
    remaining = HUGE_BUDGET_S - (time.perf_counter() - start)
    db = Database(files["sandbox"])
    try:
        with SandboxServer(db) as server:
            sync_start = time.perf_counter()
            try:
                report = sync_cache(server.base_url, files["cache"], timeout=remaining)
            except TimeoutError:
                record("huge full sync", "over budget",
                       f"seed + sync exceed {HUGE_BUDGET_S:.0f} s: huge not measured")
                pytest.skip("huge seed + sync over budget")
            synced = time.perf_counter() - sync_start
    finally:
        db.close()
    record("huge full sync (Syncer.full, no latency)", f"{synced:.1f} s",
           f"{report.requests} requests; cache {files['cache'].stat().st_size / 2**20:.0f} MiB;"
           f" rows {report.counts}")
    return files


def _bench_app(files: dict[str, Path]):
    """The real app on the huge cache, not connecting, noting when a frame shows a state."""
    from wbadmin.core.session import Session
    from wbadmin.tui import app as app_module
    from wbadmin.tui.app import WbAdminApp

    class BenchApp(WbAdminApp):
        CSS_PATH = str(Path(app_module.__file__).with_name(WbAdminApp.CSS_PATH))
        frame_when: Callable[[], bool] | None = None
        frame_at: float | None = None

        def expect_frame(self, condition: Callable[[], bool]) -> None:
            self.frame_when, self.frame_at = condition, None

        def _display(self, screen, renderable) -> None:
            super()._display(screen, renderable)
            if (self.frame_when is not None and renderable is not None
                    and not self._batch_count and self.frame_when()):  # a written frame
                self.frame_at, self.frame_when = time.perf_counter(), None

    session = Session.resolve("sandbox", flags={"cache_path": files["cache"],
                                                "journal_path": files["journal"]})
    return BenchApp(session, None, autoconnect=False)


@pytest.fixture
def isolated(home: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("WANDB_", "WBADMIN_", "XDG_")):
            monkeypatch.delenv(key)
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(key, home[key])


async def timed_key(app, pilot, key: str, shown: Callable[[], bool]) -> tuple[float, float]:
    """(press + pause, press to the frame that shows it) in seconds."""
    app.expect_frame(shown)
    start = time.perf_counter()
    await pilot.press(key)
    await pilot.pause()
    total = time.perf_counter() - start
    assert shown(), f"after {key!r} the app does not show the expected state"
    frame = (app.frame_at or float("nan")) - start
    return total, frame


def key_figures(label: str, totals: list[float], frames: list[float], goal_ms: float,
                note: str = "") -> float:
    """Headline: key to the frame that shows the result (what a user sees). Pilot's
    press + pause is printed beside it: it adds Pilot's idle waits (see PILOT_FLOOR)."""
    med = statistics.median(frames)
    record(label, ms(med),
           f"key to frame {spread(frames)}; goal <= {goal_ms:.0f} ms: "
           f"{verdict(med * 1000 <= goal_ms)}; press+pause {ms(statistics.median(totals))}"
           f"{note}")
    return med


async def pilot_floor(app, pilot) -> None:
    """press + pause of a key nothing is bound to: the time Pilot itself adds (press waits
    for idle twice and pause once, each at least 20 ms of sleep)."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        await pilot.press("f12")
        await pilot.pause()
        times.append(time.perf_counter() - start)
    record("Pilot floor: press+pause, unbound key", ms(statistics.median(times)),
           f"{spread(times)}; why press+pause is not the headline figure")


async def test_huge_expand_big_team(huge_files: dict[str, Path], isolated: None) -> None:
    from wbadmin.tui.locations import Location
    from wbadmin.tui.widgets.org_tree import CHUNK, More, OrgTree

    app = _bench_app(huge_files)
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.screen.query_one(OrgTree)
        record("huge: app mount to first frame (in-process)", ms(time.perf_counter() - start),
               f"{len(tree._team_nodes())} teams in the tree")
        await pilot_floor(app, pilot)
        node = tree.find(Location("team", team=BIG_TEAM))
        assert node is not None
        tree.move_cursor(node)
        await pilot.pause()

        def expanded() -> bool:
            return node.is_expanded and len(node.children) == CHUNK + 1

        totals, frames = [], []
        for _ in range(REPEATS + 1):  # the first expand reads a cold SQLite page cache
            if node.is_expanded:
                node.collapse()
            node.remove_children()
            await pilot.pause()
            total, frame = await timed_key(app, pilot, "space", expanded)
            assert isinstance(node.children[-1].data, More)
            totals.append(total)
            frames.append(frame)
        projects = explorer.count_projects(app.session.cache, BIG_TEAM)
        key_figures(f"huge: expand {BIG_TEAM} ({projects:,} projects)", totals[1:], frames[1:],
                    GOAL_EXPAND_MS, f"; first (cold) expand {ms(totals[0])}; shows {CHUNK} "
                    "+ a 'more' node")

        # Loading the next chunks through the "more" node (enter on it), one after another.
        totals, frames = [], []
        for i in range(REPEATS):
            more = node.children[-1]
            assert isinstance(more.data, More)
            tree.move_cursor(more)
            await pilot.pause()
            want = CHUNK * (i + 2) + 1
            total, frame = await timed_key(app, pilot, "enter",
                                           lambda want=want: len(node.children) == want)
            totals.append(total)
            frames.append(frame)
        key_figures(f"huge: 'more' node, next {CHUNK} projects", totals, frames,
                    GOAL_EXPAND_MS, f"; up to {len(node.children) - 1} shown")


async def test_huge_filter_keystroke(huge_files: dict[str, Path], isolated: None) -> None:
    from wbadmin.tui.widgets.org_tree import OrgTree

    queries = ("lora", "found")  # a project topic in most teams; a team name
    app = _bench_app(huge_files)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.screen.query_one(OrgTree)
        times: dict[str, tuple[list[float], list[float]]] = {}
        shown: dict[str, int] = {}
        expanded: dict[str, int] = {}  # query -> teams the filter expanded
        left: dict[str, int] = {}  # query -> teams still expanded after clearing it

        def note(text: str, total: float, frame: float) -> None:
            pair = times.setdefault(text, ([], []))
            pair[0].append(total)
            pair[1].append(frame)
            shown[text] = tree.shown

        def cleared() -> bool:
            return tree.filter_text == "" and not app.screen.query_one("#tree-filter").display

        # In order: after clearing `lora`, the next filter starts from the tree it left.
        for _ in range(REPEATS):
            for query in queries:
                await pilot.press("slash")
                await pilot.pause()
                for k in range(1, len(query) + 1):
                    text = query[:k]
                    note(text, *await timed_key(app, pilot, text[-1],
                                                lambda t=text: tree.filter_text == t))
                expanded[query] = sum(1 for n in tree._team_nodes() if n.is_expanded)
                note(f"escape {query}", *await timed_key(app, pilot, "escape", cleared))
                left[query] = sum(1 for n in tree._team_nodes() if n.is_expanded)
        worst = 0.0
        for text, (totals, frames) in times.items():
            if text.startswith("escape "):
                query = text.removeprefix("escape ")
                key_figures(f"huge: `/` filter escape (clears {query!r})", totals, frames,
                            GOAL_KEY_MS, f"; the filter had expanded {expanded[query]} teams;"
                            f" {left[query]} stay expanded after clearing it")
                continue
            worst = max(worst, key_figures(
                f"huge: `/` filter keystroke {text!r}", totals, frames, GOAL_KEY_MS,
                f"; {shown[text]:,} of {tree.total:,} teams and projects match"))
        record("huge: `/` filter, slowest keystroke (median)", ms(worst),
               f"key to frame; goal <= {GOAL_KEY_MS:.0f} ms: "
               f"{verdict(worst * 1000 <= GOAL_KEY_MS)}")


def suggests(box, value: str) -> bool:
    """The jump bar holds `value` and shows a longer completion of it."""
    suggestion = box._suggestion or ""
    return box.value == value and suggestion.startswith(value) and len(suggestion) > len(value)


async def test_huge_user_completion(huge_files: dict[str, Path], isolated: None) -> None:
    from textual.widgets import Input

    app = _bench_app(huge_files)
    cache = app.session.cache
    users = cache.scalar("SELECT COUNT(*) FROM users")
    for prefix in ("", "a", "al", "ali", "zz"):
        explorer.completions(cache, "user", prefix)  # warm
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            found = explorer.completions(cache, "user", prefix)
            times.append(time.perf_counter() - start)
        med = statistics.median(times)
        record(f"huge: completions(cache, 'user', {prefix!r})", f"{med * 1000:.2f} ms",
               f"{spread(times, lambda s: f'{s * 1000:.2f} ms')}; {len(found)} of {users:,} "
               f"users; goal <= {GOAL_KEY_MS:.0f} ms: {verdict(med * 1000 <= GOAL_KEY_MS)}")

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        totals, frames = [], []
        for _ in range(REPEATS):
            await pilot.press("colon", *"user ")
            await pilot.pause()
            box = app.screen.query_one("#jump-input", Input)
            for k, ch in enumerate("ali", start=1):
                want = "user " + "ali"[:k]
                total, frame = await timed_key(app, pilot, ch, partial(suggests, box, want))
                totals.append(total)
                frames.append(frame)
            suggestion = box._suggestion
            await pilot.press("escape")
            await pilot.pause()
        key_figures("huge: `:user ali` keystroke (jump bar + completion)", totals, frames,
                    GOAL_KEY_MS, f"; suggests {suggestion!r}")


def test_huge_memory(huge_files: dict[str, Path], home: dict[str, str], scratch: Path) -> None:
    runs = [run_probe(huge_files, home, scratch / "probe.json",
                      extra=("--expand", BIG_TEAM, "--filter", "lora")) for _ in range(3)]
    first = statistics.median(r["rss_mb"] for r in runs)
    expanded = statistics.median(r["rss_expanded_mb"] for r in runs)
    filtered = statistics.median(r["rss_filtered_mb"] for r in runs)
    peak = statistics.median(r["peak_rss_mb"] for r in runs)
    start = statistics.median(r["since_t0"] for r in runs)
    record("huge: start → first Explorer frame (headless)", ms(start),
           f"median of 3; {runs[0]['teams_in_tree']} teams (demo-org goal "
           f"{GOAL_START_S:.1f} s, for reference)")
    record(f"huge: RSS, cache loaded + {BIG_TEAM} expanded", f"{expanded:.0f} MiB",
           f"median of 3 processes; goal <= {GOAL_RSS_MB:.0f} MB: "
           f"{verdict(expanded <= GOAL_RSS_MB)}; at first frame {first:.0f} MiB; "
           f"after `/lora` {filtered:.0f} MiB; peak (VmHWM) {peak:.0f} MiB "
           f"({verdict(peak <= GOAL_RSS_MB)})")


async def test_huge_people_filter_keystroke(huge_files: dict[str, Path], isolated: None) -> None:
    """The Access screen's `/` filter over every person of the org (10,125 on huge)."""
    from textual.widgets import Input

    from wbadmin.core.access.people import people_window
    from wbadmin.tui.screens.access import AccessScreen

    app = _bench_app(huge_files)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        start = time.perf_counter()
        await pilot.press("2")
        for _ in range(100):
            await pilot.pause()
            if isinstance(app.screen, AccessScreen) and app.screen.rows:
                break
        screen = app.screen
        assert isinstance(screen, AccessScreen)
        people = app.session.cache.scalar("SELECT COUNT(*) FROM users")
        record("huge: Access screen, people and findings drawn", ms(time.perf_counter() - start),
               f"{len(screen.rows):,} rows shown of {people:,} people")
        box = screen.query_one("#people-filter", Input)
        titles: dict[str, str] = {}
        worst = 0.0
        for query in ("al", "zz"):
            totals: dict[str, list[float]] = {}
            frames: dict[str, list[float]] = {}
            for _ in range(REPEATS):
                await pilot.press("slash")
                await pilot.pause()
                for k in range(1, len(query) + 1):
                    text = query[:k]
                    matching = people_window(app.session.cache, text, limit=1).matching
                    pane = screen.query_one("#people-count")

                    def shown(t=text, n=matching, p=pane) -> bool:  # the list, not the echo
                        return box.value == t and f" of {n:,}" in str(p.render())

                    total, frame = await timed_key(app, pilot, text[-1], shown)
                    titles[text] = str(pane.render())
                    totals.setdefault(text, []).append(total)
                    frames.setdefault(text, []).append(frame)
                await pilot.press("escape")
                await pilot.pause()
            for text in totals:
                worst = max(worst, key_figures(f"huge: Access `/` keystroke {text!r}",
                                               totals[text], frames[text], GOAL_KEY_MS,
                                               f"; {titles[text]}"))
        record("huge: Access `/` filter over people, slowest keystroke (median)", ms(worst),
               f"key to frame; goal <= {GOAL_KEY_MS:.0f} ms: "
               f"{verdict(worst * 1000 <= GOAL_KEY_MS)}")
