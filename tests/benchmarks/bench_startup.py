"""Start-up with the on-demand dependencies (issue 20), run on demand:

    pytest tests/benchmarks/bench_startup.py -s -p no:cacheprovider -o addopts=""

`wandb`, `wandb-workspaces` and `textual-serve` (with aiohttp) became run-time dependencies,
imported only by the commands that use them. Does having them installed cost everyone else
start-up? Each figure is taken twice in the same run, interleaved: as installed ("with"), and
as today's install without them ("without": a sitecustomize makes them unimportable, see
tests/import_blocker.py; the "with" run gets a blocker that refuses nothing, so both start
alike). A command that reached for one of them would fail in the "without" run, so every
run's success is checked too.

- `wbadmin --help` (argument parsing, every command registered): process wall time;
- `wbadmin teams --json --sandbox` (the embedded sandbox, its state file warm): wall time;
- the TUI's first Explorer frame on a terminal (pty), connecting to the embedded sandbox as
  `wbadmin` does (tui_start_probe.py, as bench_tui.py measures it);
- for reference, what `wbadmin serve` itself pays: start to the URL printed, and
  `import textual_serve.server` over bare Python.

Installed packages can also cost start-up without being imported, through `.pth` files run at
interpreter start; the ones in site-packages are listed beside the figures.

Benchmarks report; they do not gate.
"""

from __future__ import annotations

import json
import os
import re
import signal
import site
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.benchmarks.bench_tui import ms, run_probe, seeded_demo, spread
from tests.benchmarks.common import Results
from tests.import_blocker import blocker_dir
from tests.test_import_contract import ON_DEMAND

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).resolve().parents[2]
STARTS = 7
# textual-serve's own template helper came with it, so today's install lacks it too.
NEW_PACKAGES = (*ON_DEMAND, "aiohttp_jinja2")
RESULTS = Results("Start-up with and without the on-demand dependencies")
record = RESULTS.record


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    RESULTS.print_table()


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """"with" and "without": an empty HOME each (no user config, no W&B credentials)."""
    made = {}
    for name, blocked in (("with", ()), ("without", NEW_PACKAGES)):
        root = tmp_path_factory.mktemp(f"start-{name}")
        shim = blocker_dir(root / "shim", blocked)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WANDB_", "WBADMIN_", "XDG_", "PYTHON_KEYRING"))}
        env.update(HOME=str(root / "home"), XDG_CONFIG_HOME=str(root / "config"),
                   XDG_CACHE_HOME=str(root / "cache"), XDG_DATA_HOME=str(root / "data"),
                   PYTHONPATH=os.pathsep.join([str(shim), str(ROOT)]),
                   TERM="xterm-256color", NO_PROXY="127.0.0.1,localhost")
        made[name] = env
    return made


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A seeded demo sandbox file and a cache synced from it (warm), for the TUI probe."""
    return seeded_demo(tmp_path_factory.mktemp("demo"))


def wall(env: dict[str, str], *args: str) -> tuple[float, str]:
    """Seconds from spawning `python -m wbadmin ARGS` to its end; its stdout."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "wbadmin", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, f"wbadmin {' '.join(args)}: {done.stderr[-2000:]}"
    return elapsed, done.stdout


def help_once(env: dict[str, str]) -> float:
    elapsed, out = wall(env, "--help")
    assert "serve" in out
    return elapsed


def teams_once(env: dict[str, str]) -> float:
    elapsed, out = wall(env, "teams", "--json", "--sandbox")
    assert len(json.loads(out)) == 9
    return elapsed


def frame_once(files: dict[str, Path], env: dict[str, str], out: Path) -> float:
    result = run_probe(files, env, out, tty=True, connect=True)
    assert result["frame_has_team"], "the first frame did not draw the teams"
    return result["since_t0"]


def compare(label: str, runs: dict[str, list[float]]) -> None:
    with_, without = (statistics.median(runs[k]) for k in ("with", "without"))
    record(f"{label}, with the new dependencies", ms(with_), spread(runs["with"]))
    record(f"{label}, without them (today's)", ms(without),
           f"{spread(runs['without'])}; with - without = {ms(with_ - without)} "
           f"({(with_ / without - 1) * 100:+.1f} %)")


def test_start_up_with_and_without_the_new_dependencies(
        envs: dict[str, dict[str, str]], demo_files: dict[str, Path], tmp_path: Path) -> None:
    measures = {
        "`wbadmin --help`": help_once,
        "`wbadmin teams --json --sandbox` (embedded sandbox)": teams_once,
        "TUI first Explorer frame, terminal (pty) + connect": (
            lambda env: frame_once(demo_files, env, tmp_path / "probe.json")),
    }
    for name, env in envs.items():  # the blocker blocks, and only in the "without" run
        for package in NEW_PACKAGES:
            found = subprocess.run([sys.executable, "-c", f"import {package}"], env=env,
                                   capture_output=True, timeout=120).returncode == 0
            assert found == (name == "with"), (name, package)
    for env in envs.values():  # warm the .pyc files, the OS cache and the sandbox's state file
        for measure in measures.values():
            measure(env)
    runs = {label: {"with": [], "without": []} for label in measures}
    for _ in range(STARTS):  # interleaved, so drifts in machine load hit both alike
        for label, measure in measures.items():
            for name, env in envs.items():
                runs[label][name].append(measure(env))
    for label, by_env in runs.items():
        compare(label, by_env)
    pth = sorted(p.name for d in site.getsitepackages() for p in Path(d).glob("*.pth"))
    record("site-packages .pth files (run at every start)", str(len(pth)), ", ".join(pth))


def serve_to_url(env: dict[str, str]) -> float:
    """Seconds from spawning `wbadmin serve --sandbox` to its URL on stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "wbadmin", "serve", "--sandbox", "--port",
                             str(free_port())], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - start
        assert re.search(r"open http://127\.0\.0\.1:\d+/\S+/ in a browser", line), line
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    return elapsed


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_what_serve_itself_pays(envs: dict[str, dict[str, str]]) -> None:
    env = envs["with"]
    serve_to_url(env)
    starts = [serve_to_url(env) for _ in range(STARTS)]
    record("`wbadmin serve --sandbox`: start → URL printed", ms(statistics.median(starts)),
           spread(starts))

    def python(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
        return time.perf_counter() - start

    python("import textual_serve.server")
    bare = [python("pass") for _ in range(STARTS)]
    imports = [python("import textual_serve.server") for _ in range(STARTS)]
    record("import textual_serve.server (with aiohttp)", ms(statistics.median(imports)),
           f"{spread(imports)}; {ms(statistics.median(imports) - statistics.median(bare))} "
           "over bare Python")
