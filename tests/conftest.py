"""Fixtures shared by every test: a seeded sandbox on a free loopback port, its demo
identities and keys, and an isolated environment for the real `wandb` SDK."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from wbadmin import clock
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import api_key_for, seed_demo
from wbadmin.sandbox.server import SandboxServer

# One clock for the whole run, never today's date: wbadmin, its sandbox and every `wbadmin`
# subprocess read WBADMIN_NOW, and the demo seed is made at the same instant. A run started
# with WBADMIN_NOW set (CI's calendar pass: month ends, new year) moves both together.
DEFAULT_NOW = 1_795_000_000  # 2026-11-18T11:06:40Z; the seed floors it to 11:00
os.environ.setdefault(clock.ENV, str(DEFAULT_NOW))
SEED_NOW = int(clock.parse(os.environ[clock.ENV]))
# Property-based tests: a bounded, reproducible run by default (CI); HYPOTHESIS_PROFILE=deep
# for a longer search on demand.
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# Recognising a verified key is slow on purpose (scrypt); the tests use the cheapest setting.
os.environ.setdefault("WBADMIN_KEY_HASH_COST", "4")
SEED = 0


@pytest.fixture(autouse=True)
def _one_clock() -> Iterator[None]:
    """A test that pins the clock (the screenshot scenarios do) leaves it as it found it."""
    yield
    clock.start_at(None)


@pytest.fixture
def sandbox_db() -> Iterator[Database]:
    db = Database()
    seed_demo(db, seed=SEED, now=SEED_NOW)
    yield db
    db.close()


@pytest.fixture
def sandbox(sandbox_db: Database) -> Iterator[SandboxServer]:
    """The demo org served over real HTTP on 127.0.0.1; `sandbox.faults` switches faults."""
    server = SandboxServer(sandbox_db)
    server.start()
    yield server
    server.stop()


def key_of(username: str) -> str:
    """The demo API key of a user or service account (deterministic from the seed)."""
    return api_key_for(SEED, username)


@pytest.fixture
def keys() -> Callable[[str], str]:
    return key_of


def basic_api(username: str) -> dict[str, str]:
    """GraphQL auth headers as the SDK sends them: Basic base64("api:<key>")."""
    token = base64.b64encode(f"api:{key_of(username)}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def wandb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> str:
    """Point the SDK at the sandbox with every directory it writes in a temp dir."""
    for var, sub in [("HOME", "home"), ("WANDB_DIR", "wandb"), ("WANDB_CACHE_DIR", "cache"),
                     ("WANDB_CONFIG_DIR", "config"), ("WANDB_DATA_DIR", "data")]:
        path = tmp_path / sub
        path.mkdir()
        monkeypatch.setenv(var, str(path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("WANDB_BASE_URL", sandbox.base_url)
    for var in ("WANDB_API_KEY", "WANDB_ENTITY", "WANDB_ORGANIZATION", "WANDB_USERNAME",
                "WANDB_IDENTITY_TOKEN_FILE", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    return sandbox.base_url


@pytest.fixture
def sdk(wandb_env: str) -> Callable[[str], object]:
    """`sdk("alice")` → a real `wandb.Api` signed in as that demo identity."""
    import wandb

    def make(username: str):
        return wandb.Api(api_key=key_of(username), overrides={"base_url": wandb_env},
                         timeout=15)

    return make


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("WANDB_SILENT", "true")
    # Every GraphQL document the client sends is checked against the SDK's at session end.
    from tests.attested_recording import RecordingPlugin

    config.pluginmanager.register(RecordingPlugin(config), "wbadmin-attested-recording")


def pytest_report_header(config: pytest.Config) -> str:
    return f"wbadmin clock: {clock.ENV}={os.environ[clock.ENV]} ({clock.iso(SEED_NOW)})"


@contextlib.contextmanager
def org_lock_held_elsewhere(server: str, org: str = "inference-systems") -> Iterator[int]:
    """Another process on this machine holding the writer lock of (server, org); its pid."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from wbadmin.core.org_lock import org_lock\n"
         f"with org_lock({server!r}, {org!r}):\n"
         "    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
