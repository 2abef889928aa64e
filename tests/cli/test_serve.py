"""`wbadmin serve`: the TUI in a real headless Chromium, behind the token in the printed URL.

The Explorer is read from xterm.js's own buffer (it may draw to a canvas, so the DOM holds no
text): a script installed before the page loads keeps the terminal object textual-serve's
page makes, and the test asks it for its lines.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.chromium_cdp import Chromium, chromium_or_skip
from tests.conftest import key_of
from tests.import_blocker import blocker_dir
from wbadmin.cli.serve_cmd import TEXTUAL_SERVE

from .conftest import secret_forms

ROOT = Path(__file__).resolve().parents[2]
TEAMS = ("llm-platform-eng", "data-science-nlp", "ai-governance", "product-ai-agents")
URL = re.compile(r"open (http://127\.0\.0\.1:\d+/([A-Za-z0-9_-]+)/) in a browser")
WAIT_S = 120.0  # a generous bound on a loaded 2-core machine, not a measured figure

# Keep the object textual-serve's page stores as `this.terminal` (an xterm.js Terminal; the
# page keeps no global reference), without changing what the page does with it.
KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true,
                                             enumerable: true});
    if (value && typeof value.write === "function" && "buffer" in value)
      window.keptTerminal = value;
  },
});
"""
TERMINAL_TEXT = """(() => {
  const t = window.keptTerminal;
  if (!t) return null;
  const b = t.buffer.active, rows = [];
  for (let i = 0; i < b.length; i++) rows.push(b.getLine(i).translateToString(true));
  return rows.join("\\n");
})()"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc), zombies left out."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Served:
    """`wbadmin serve` in a process of its own; stdout and stderr collected as they come."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wbadmin", "serve", "--port", str(port)], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True)  # a process group of its own, as a shell's job
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._collect, args=(stream, into), daemon=True).start()

    @staticmethod
    def _collect(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def url(self) -> tuple[str, str]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            for line in self.out:
                if found := URL.search(line):
                    return found.group(1), found.group(2)
            assert self.process.poll() is None, "".join(self.err)
            time.sleep(0.1)
        raise AssertionError("no URL printed: " + "".join(self.out + self.err))

    def stop(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        return self.process.wait(timeout=60)


@pytest.fixture
def served(sandbox, home) -> Iterator[Served]:
    """Signed in to the sandbox as alice by WANDB_API_KEY, on a headless box (no keyring)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(home.home), XDG_CONFIG_HOME=str(home.config),
               XDG_CACHE_HOME=str(home.cache), XDG_DATA_HOME=str(home.data),
               WANDB_CONFIG_DIR=str(home.wandb_config), NETRC=str(home.netrc),
               NO_PROXY="127.0.0.1,localhost", WANDB_BASE_URL=sandbox.base_url,
               WANDB_API_KEY=key_of("alice"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    server = Served(env, free_port())
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


async def refused_without_the_token(base: str, token: str) -> None:
    """The page, an asset and the websocket that would start an app: none without the token
    (or with a wrong one)."""
    origin = base.rsplit("/", 2)[0]
    wrong = token[::-1]
    async with aiohttp.ClientSession() as http:
        for path in ("/ws", "/ws?width=80&height=24", f"/{wrong}/ws"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(origin.replace("http:", "ws:") + path)
            assert refused.value.status in (403, 404), path
        for path in ("/", "/?token=", f"/{wrong}/", "/static/js/textual.js", f"/{token}"):
            async with http.get(origin + path) as answer:
                assert answer.status in (403, 404), path


async def explorer_text(page, url: str) -> str:
    await page.call("Page.enable")
    await page.call("Runtime.enable")
    await page.call("Page.addScriptToEvaluateOnNewDocument", source=KEEP_TERMINAL)
    await page.call("Page.navigate", url=url)
    deadline = time.monotonic() + WAIT_S
    text = ""
    while time.monotonic() < deadline:
        text = await page.evaluate(TERMINAL_TEXT) or ""
        if all(team in text for team in TEAMS):
            return text
        await asyncio.sleep(0.5)
    return text


async def test_the_explorer_in_chromium_only_with_the_token(served: Served, tmp_path) -> None:
    chromium_or_skip()
    url, token = served.url()
    assert len(token) >= 32

    await refused_without_the_token(url, token)
    assert children(served.process.pid) == []  # no app was started for any of those
    # Opened through a tunnel's address, the page connects back the same way.
    async with (aiohttp.ClientSession() as http,
                http.get(url, headers={"Host": "tunnel.example:9000"}) as answer):
        assert (f'data-session-websocket-url="ws://tunnel.example:9000/{token}/ws"'
                in await answer.text())

    with Chromium(tmp_path / "chromium") as browser:
        async with aiohttp.ClientSession() as http:
            page = await browser.first_page(http)
            try:
                text = await explorer_text(page, url)
            finally:
                await page.close()
        apps = [cmdline(pid) for pid in children(served.process.pid)]

    assert all(team in text for team in TEAMS), text
    assert "alice@inference-systems" in text  # signed in with the key the serve process had
    assert any("-m wbadmin" in line for line in apps), apps
    printed = "".join(served.out + served.err)
    for form in secret_forms(key_of("alice")):  # the key: never on a command line or printed
        assert all(form not in line for line in apps)
        assert form not in printed

    assert served.stop() == 0  # Ctrl-C
    assert "Traceback" not in "".join(served.out + served.err)
    assert children(served.process.pid) == []


def test_a_port_in_use_is_one_line(cli, home) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--sandbox", "--port", str(port))
    assert result.code == 2
    assert result.out == ""
    assert result.err_lines == [f"wbadmin: cannot listen on 127.0.0.1:{port}: the port is in "
                                "use; choose another with --port"]
    assert "Traceback" not in result.err


def test_listening_beyond_loopback_warns_who_can_act(cli, home) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--sandbox", "--host", "0.0.0.0", "--port", str(port))
    warning, failure = result.err_lines
    assert warning.startswith("wbadmin: warning: listening on 0.0.0.0, not loopback")
    assert "acts with your W&B key" in warning
    assert failure.startswith(f"wbadmin: cannot listen on 0.0.0.0:{port}: the port is in use")
    assert result.code == 2


def test_an_unknown_profile_serves_nothing(cli, home) -> None:
    result = cli("serve", "--profile", "nosuch", "--port", str(free_port()))
    assert result.code == 2
    assert result.out == "" and len(result.err_lines) == 1
    assert "nosuch" in result.err_lines[0]


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_a_bad_port_is_a_usage_error(cli, home, port: str) -> None:
    result = cli("serve", "--sandbox", "--port", port)
    assert result.code == 2
    assert "is not a TCP port" in result.err_lines[-1]


@pytest.mark.parametrize("missing", ["textual_serve", "aiohttp"])
def test_a_missing_textual_serve_is_one_line_saying_what_to_install(home, tmp_path,
                                                                    missing: str) -> None:
    shim = blocker_dir(tmp_path / "shim", (missing,))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "wbadmin", "serve", "--sandbox", "--port",
                           str(free_port())], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 7, done.stderr
    assert done.stdout == ""  # no URL: nothing listens
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"wbadmin: wbadmin serve needs textual-serve, and {missing} cannot")
    assert line.endswith("install it with `pip install 'textual-serve==1.1.3'`")


def test_the_install_hint_names_the_pinned_textual_serve() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert TEXTUAL_SERVE in dependencies["dependencies"]
