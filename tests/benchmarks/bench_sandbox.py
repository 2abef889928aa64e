"""Sandbox benchmarks, run on demand (not in the default test run):

    pytest tests/benchmarks/bench_sandbox.py -s -p no:cacheprovider -o addopts=""

Measures seed time and database size for the scale presets, GraphQL requests per second for
a team-with-members query (GetTeamEntity-shaped) over loopback with a keep-alive httpx client,
and the per-request latency of the real wandb SDK against the sandbox (a ~45 ms median would
be the Nagle + delayed-ACK stall of wandb-sdk-wire.md §2). Prints a table at the end.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.benchmarks.common import Results
from tests.conftest import SEED, SEED_NOW, basic_api, key_of
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_preset
from wbadmin.sandbox.seed_scale import BIG_TEAM, CROWDED_TEAM
from wbadmin.sandbox.server import SandboxServer

pytestmark = pytest.mark.benchmark

# The fields the SDK's GetTeamEntity selects (wandb/apis/_generated/operations.py).
TEAM_QUERY = """
query GetTeamEntity($name: String!) {
  entity(name: $name) {
    id name available photoUrl readOnly readOnlyAdmin isTeam entityType privateOnly
    storageBytes codeSavingEnabled defaultAccess isPaid
    members { id admin pending email username name photoUrl accountType apiKey }
  }
}
"""
NAGLE_STALL_MS = 40.0  # a median at or above this means responses are written in two sends

RESULTS = Results("Sandbox benchmark")
record = RESULTS.record



@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    RESULTS.print_table()


def mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def seeded_file(tmp: Path, preset: str) -> tuple[Path, float]:
    path = tmp / f"{preset}.db"
    db = Database(path)
    start = time.perf_counter()
    seed_preset(db, preset, seed=SEED, now=SEED_NOW)
    elapsed = time.perf_counter() - start
    db.close()  # checkpoints the WAL into the file
    return path, elapsed


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, elapsed = seeded_file(tmp_path_factory.mktemp("large"), "large")
    record("seed large (file)", f"{elapsed:.2f} s", f"{mb(path):.0f} MB on disk")
    return path


def test_seed_large(large_file: Path) -> None:
    assert large_file.exists()


def test_seed_huge(tmp_path: Path) -> None:
    path, elapsed = seeded_file(tmp_path, "huge")
    record("seed huge (file)", f"{elapsed:.2f} s", f"{mb(path):.0f} MB on disk")
    db = Database(path)
    counts = {t: db.scalar(f"SELECT COUNT(*) FROM {t}") for t in ("users", "projects", "runs")}
    big = db.scalar("SELECT COUNT(*) FROM projects p JOIN entities e ON e.id = p.entity_id "
                    "WHERE e.name = ?", (BIG_TEAM,))
    db.close()
    record("huge rows", f"{counts['runs']:,} runs",
           f"{counts['users']:,} users, {counts['projects']:,} projects, {BIG_TEAM}: {big:,}")


# ---- GraphQL throughput ------------------------------------------------------------------

def measure(call: Callable[[], None], n: int, warmup: int = 10) -> tuple[float, list[float]]:
    """(requests per second, per-request latencies in ms) for n sequential calls."""
    for _ in range(warmup):
        call()
    latencies = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - t0) * 1000)
    return n / (time.perf_counter() - start), latencies


def describe(latencies: list[float]) -> str:
    q = statistics.quantiles(latencies, n=10)
    return f"median {statistics.median(latencies):.1f} ms, p90 {q[-1]:.1f} ms"


def httpx_team(base_url: str, team: str, n: int, label: str) -> float:
    """Records req/s for GetTeamEntity on one keep-alive connection; returns the median ms."""
    with httpx.Client(base_url=base_url, headers=basic_api("alice"), timeout=30) as client:
        body = {"query": TEAM_QUERY, "variables": {"name": team}, "operationName": ""}
        first = client.post("/graphql", json=body).json()
        assert "errors" not in first, first
        members = len(first["data"]["entity"]["members"])

        def call() -> None:
            assert client.post("/graphql", json=body).status_code == 200

        rps, latencies = measure(call, n)
    record(f"httpx GetTeamEntity {label}", f"{rps:.0f} req/s",
           f"{members} members; {describe(latencies)}")
    return statistics.median(latencies)


def test_httpx_server_info(sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=sandbox.base_url, headers=basic_api("alice")) as client:
        body = {"query": "{ serverInfo { frontendHost } }"}

        def call() -> None:
            assert client.post("/graphql", json=body).status_code == 200

        rps, latencies = measure(call, 1000)
    record("httpx serverInfo (baseline)", f"{rps:.0f} req/s", describe(latencies))


def test_httpx_demo_team(sandbox: SandboxServer) -> None:
    httpx_team(sandbox.base_url, "data-science-nlp", 500, "demo data-science-nlp")


def test_httpx_large_teams(large_file: Path) -> None:
    db = Database(large_file)
    with SandboxServer(db) as server:
        httpx_team(server.base_url, BIG_TEAM, 200, f"large {BIG_TEAM}")
        httpx_team(server.base_url, CROWDED_TEAM, 100, f"large {CROWDED_TEAM}")
    db.close()


# ---- the real SDK ------------------------------------------------------------------------

def sdk_api(base_url: str, monkeypatch: pytest.MonkeyPatch, tmp: Path):
    import wandb

    for var in ("HOME", "WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        (tmp / var).mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(tmp / var))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("WANDB_BASE_URL", base_url)
    for var in ("WANDB_API_KEY", "WANDB_ENTITY", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    return wandb.Api(api_key=key_of("alice"), overrides={"base_url": base_url}, timeout=30)


def sdk_team(api, team: str, n: int, label: str) -> float:
    """Records req/s for `api.team()` (one GetTeamEntity each); returns the median ms."""
    members = len(api.team(team).members)

    def call() -> None:
        api.team(team)

    rps, latencies = measure(call, n, warmup=5)
    record(f"SDK api.team() {label}", f"{rps:.0f} req/s",
           f"{members} members; {describe(latencies)}")
    return statistics.median(latencies)


def test_sdk_demo_team(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch,
                       tmp_path: Path) -> None:
    start = time.perf_counter()
    api = sdk_api(sandbox.base_url, monkeypatch, tmp_path)
    record("SDK wandb.Api() start", f"{(time.perf_counter() - start) * 1000:.0f} ms",
           "first Api(): import wandb, spawn wandb-core, viewer")
    sdk_team(api, "data-science-nlp", 100, "demo data-science-nlp")
    # The Nagle check: a small answer, through the SDK's Go client and through httpx.
    via_sdk = sdk_team(api, "customer-insights", 200, "demo customer-insights")
    via_httpx = httpx_team(sandbox.base_url, "customer-insights", 200, "demo customer-insights")
    extra = via_sdk - via_httpx
    verdict = ("NAGLE STALL (two-send responses?)" if via_sdk >= NAGLE_STALL_MS
               else "no Nagle stall (it would add ~45 ms)")
    record("SDK per-request latency", f"{via_sdk:.1f} ms",
           f"median; SDK path adds {extra:+.1f} ms over httpx; {verdict}")


def test_sdk_large_team(large_file: Path, monkeypatch: pytest.MonkeyPatch,
                        tmp_path: Path) -> None:
    db = Database(large_file)
    with SandboxServer(db) as server:
        api = sdk_api(server.base_url, monkeypatch, tmp_path)
        sdk_team(api, BIG_TEAM, 50, f"large {BIG_TEAM}")
    db.close()


def test_environment() -> None:
    record("machine", f"{os.cpu_count()} CPUs", f"pid {os.getpid()}")
