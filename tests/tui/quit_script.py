"""Run by test_quit.py in a fresh interpreter: the app on an embedded sandbox that is slow to
start or slow to stop (forever, in fact), `q` pressed, and the process left as `wbadmin`
leaves it. If quitting waited on the sandbox or on a worker, this would never end.

    python quit_script.py slow-start|slow-stop WORKDIR
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from pathlib import Path

from textual.worker import WorkerState

from wbadmin.cli import leave_now
from wbadmin.core.session import SandboxHandle, Session
from wbadmin.embedded import sandbox_launcher
from wbadmin.tui import app as app_module
from wbadmin.tui.app import WbAdminApp

mode, workdir = sys.argv[1], Path(sys.argv[2])
never = threading.Event()  # nothing sets it: what waits on it waits until the process ends
real_launcher = sandbox_launcher(in_memory=True)


def launcher() -> SandboxHandle:
    if mode == "slow-start":  # the connect worker's thread stays busy
        never.wait()
    handle = real_launcher()
    real_stop = handle.stop

    def slow_stop() -> None:
        never.wait()
        real_stop()

    return dataclasses.replace(handle, stop=slow_stop) if mode == "slow-stop" else handle


class QuitWhenBusy(WbAdminApp):
    CSS_PATH = str(Path(app_module.__file__).with_name(WbAdminApp.CSS_PATH))

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(0.05, self._quit_when_ready)

    def _quit_when_ready(self) -> None:
        connecting = any(w.group == "connect" and w.state == WorkerState.RUNNING
                         for w in self.workers)
        ready = connecting if mode == "slow-start" else self.session.client is not None
        if ready and not getattr(self, "_pressed", False):
            self._pressed = True
            print(f"pressing q ({mode})", flush=True)
            self.simulate_key("q")


session = Session.resolve(force_sandbox=True,
                          flags={"cache_path": workdir / "cache.sqlite3",
                                 "journal_path": workdir / "journal.sqlite3"})
app = QuitWhenBusy(session, launcher)
app.run(headless=True, size=(120, 36))
print("quit", flush=True)
leave_now(int(app.return_code or 0))
