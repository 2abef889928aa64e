"""`q` gives the terminal back at once: quitting never waits on the embedded sandbox (slow
to stop) or on a background worker (a sandbox slow to start keeps the connect thread busy).
Each case runs in a fresh interpreter, left the way `wbadmin` leaves it; a wait would hang
it, so the subprocess timeout is only a guard against hanging the test run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("quit_script.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", ["slow-start", "slow-stop"])
def test_q_never_waits(mode: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "WBADMIN_"))}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_DATA_HOME=str(tmp_path / "data"),
               PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run([sys.executable, str(SCRIPT), mode, str(tmp_path)], env=env,
                              capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"quitting waited ({mode}): {exc.stdout!r} {exc.stderr!r}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [f"pressing q ({mode})", "quit"], done.stderr[-2000:]
