"""Debian's headless Chromium driven over the Chrome DevTools Protocol, with aiohttp's
websocket client: no browser download, no driver package.

`Chromium` starts /usr/bin/chromium with the flags a closed network needs; `Page` sends CDP
commands to its first tab. Under CI=true a missing browser fails the test; elsewhere it skips.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Without these the browser phones home (updates, sync, field trials) on a closed network,
# and as root it refuses to start sandboxed.
FLAGS = ("--headless", "--no-sandbox", "--disable-background-networking",
         "--disable-component-update", "--disable-sync")
START_TIMEOUT_S = 60.0


def chromium_or_skip() -> Path:
    if CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"{CHROMIUM} is not installed (Debian package `chromium`)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class Chromium:
    """A headless browser on a DevTools port of its own choosing, in a throwaway profile."""

    def __init__(self, profile_dir: Path, *, window: tuple[int, int] = (1600, 1000)) -> None:
        self.profile_dir = profile_dir
        self.window = window
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Chromium:
        binary = chromium_or_skip()
        self.process = subprocess.Popen(
            [str(binary), *FLAGS, "--remote-debugging-port=0",
             f"--user-data-dir={self.profile_dir}",
             f"--window-size={self.window[0]},{self.window[1]}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile_dir, ignore_errors=True)

    def devtools_port(self) -> int:
        """Chromium writes the port it bound into the profile once it listens."""
        marker = self.profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, "chromium exited"
            if marker.exists() and (first := marker.read_text().split("\n", 1)[0]).isdigit():
                return int(first)
            time.sleep(0.1)
        raise AssertionError("chromium did not open its DevTools port")

    async def first_page(self, http: aiohttp.ClientSession) -> Page:
        port = self.devtools_port()
        async with http.get(f"http://127.0.0.1:{port}/json/list") as answer:
            targets = await answer.json()
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        return Page(await http.ws_connect(url, max_msg_size=0))


class Page:
    """One tab: `await page.call("Page.navigate", url=...)`; events are read past."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), START_TIMEOUT_S)
            if message.get("id") == call_id:
                assert "error" not in message, message["error"]
                return message["result"]

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    async def close(self) -> None:
        await self.ws.close()
