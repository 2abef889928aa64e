"""Report publishing benchmark (issue 20), run on demand (not in the default test run):

    pytest tests/benchmarks/bench_reports.py -s -p no:cacheprovider -o addopts=""

The governance report for the demo org (every team alice sees, their projects as run sets),
published as a user runs it: a `wbadmin` process against the sandbox over HTTP, on a synced
cache. Reported: requests (counted at the sandbox) and wall time of the dry run (figures and
plan), of the first publish (which makes the project) and of publishing again (an update), and
of `wbadmin report list` over every project; and the library's own share: one save of the
small report in the worker (a process that imports wandb and wandb-workspaces, checks
`viewer`, lists the entity's projects and upserts the view). Only correctness is asserted
(one report, updated in place); the figures are reported.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.benchmarks.common import Results, cli_env
from tests.conftest import key_of
from wbadmin.core import wandb_library
from wbadmin.core.client import Client

pytestmark = pytest.mark.benchmark

TARGET = "ai-governance/governance-reviews"
RESULTS = Results("Report publishing benchmark (governance template, demo org)")
record = RESULTS.record


@pytest.fixture(scope="module", autouse=True)
def _table():
    yield
    RESULTS.print_table()


def _served(base_url: str) -> int:
    return httpx.get(f"{base_url}/_sandbox/health").json()["requests"]


def _timed(env: dict[str, str], base_url: str, *args: str
           ) -> tuple[subprocess.CompletedProcess, float, int]:
    before = _served(base_url)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "wbadmin", *args], env=env,
                          capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - started
    return done, wall, _served(base_url) - before  # /_sandbox/health counts no request


def test_publish_the_governance_report(sandbox, sandbox_db, tmp_path: Path) -> None:
    env = cli_env(tmp_path, sandbox.base_url)
    assert subprocess.run([sys.executable, "-m", "wbadmin", "sync"], env=env,
                          capture_output=True, timeout=900).returncode == 0
    publish = ("report", "publish", "governance", "--project", TARGET, "--json")
    runs = {}
    for label, extra in [("dry run (figures + plan)", ("--dry-run",)),
                         ("first publish (creates the project)", ("--yes", "--create-project")),
                         ("publish again (update)", ("--yes",))]:
        done, wall, requests = _timed(env, sandbox.base_url, *publish, *extra)
        assert done.returncode == 0, done.stderr
        runs[label] = json.loads(done.stdout)
        record(f"{label}: wall time", f"{wall:.2f} s")
        record(f"{label}: requests", str(requests))
    created = runs["first publish (creates the project)"]
    updated = runs["publish again (update)"]
    assert (created["action"], updated["action"]) == ("create", "update")
    assert created["id"] == updated["id"]
    assert sandbox_db.scalar("SELECT COUNT(*) FROM views") == 1
    record("teams / run sets in the report", f"{len(created['teams'])} / "
           f"{created['notes'][-1].split('over ')[-1]}")

    done, wall, requests = _timed(env, sandbox.base_url, "report", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in json.loads(done.stdout)] == [created["id"]]
    projects = sandbox_db.scalar("SELECT COUNT(*) FROM projects WHERE is_registry = 0")
    record("report list (every project): wall time", f"{wall:.2f} s")
    record("report list (every project): requests", str(requests), f"({projects} projects)")


def test_the_librarys_own_share(sandbox, sandbox_db) -> None:
    async def ask() -> wandb_library.LibraryIdentity:
        async with Client(sandbox.base_url, key_of("alice")) as client:
            return await wandb_library.verify(client, key_of("alice"))

    identity = asyncio.run(ask())
    spec = {"entity": "ai-governance", "project": "red-team-evals", "title": "Bench",
            "description": "", "blocks": [
                {"kind": "markdown", "text": "## Figures"},
                {"kind": "panels", "runsets": [{"entity": "ai-governance",
                                                "project": "red-team-evals", "filters": ""}],
                 "panels": [{"kind": "bar", "title": "Run time", "metrics": ["_runtime"]},
                            {"kind": "run_comparer", "title": "", "metrics": []}]}]}
    before = _served(sandbox.base_url)
    started = time.perf_counter()
    saved = wandb_library.run(identity, "wbadmin.core.reports.build_wandb:save_report",
                              {"spec": spec})
    wall = time.perf_counter() - started
    assert saved["id"]
    record("the library's save in its worker: wall time", f"{wall:.2f} s")
    record("the library's save in its worker: requests",
           str(_served(sandbox.base_url) - before))
