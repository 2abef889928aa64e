"""Apply benchmark (issue "Trust"), run on demand (not in the default test run):

    pytest tests/benchmarks/bench_apply.py -s -p no:cacheprovider -o addopts=""

A 150-row `wbadmin access apply` (people added to teams as member, viewer or admin), as a
user runs it: a `wbadmin` process against the sandbox over HTTP, with wbadmin's default
retries and backoff, side by side fault-free and under 10 % server errors (503), 5 % rate
limiting (429, Retry-After 1 s) and 2 % dropped connections. The apply is rerun until W&B
shows every row (at most MAX_RUNS). Reported for each: runs needed, rows applied and verified,
rows lost (not in W&B at the end), duplicated writes (journal entries per target beyond
one), entries left pending, wall time of the first run, requests per change (counted on the
server). Goal: under faults, one run, 150 applied and verified, 0 lost, 0 duplicated,
0 pending. Only that correctness is asserted; times are reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.access.test_apply_under_faults import pick_rows, roles_in_wandb
from tests.benchmarks.common import Results, cli_env, verdict

pytestmark = pytest.mark.benchmark

ROWS = 150
MAX_RUNS = 5
FAULTS = {"error_rate": 0.10, "rate_limit_rate": 0.05, "drop_rate": 0.02,
          "retry_after_s": 1.0, "seed": 11}

RESULTS = Results("Apply benchmark (150 rows, `wbadmin access apply`)")
record = RESULTS.record


@pytest.fixture(scope="module", autouse=True)
def _table():
    yield
    RESULTS.print_table()


def _wbadmin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wbadmin", *args], env=env,
                          capture_output=True, text=True, timeout=900)


def _served(base_url: str) -> int:
    return httpx.get(f"{base_url}/_sandbox/health").json()["requests"]


@pytest.mark.parametrize("faulty", [False, True], ids=["fault-free", "faults"])
def test_apply_150_rows(sandbox, sandbox_db, tmp_path: Path, faulty: bool) -> None:
    env = cli_env(tmp_path, sandbox.base_url)
    assert _wbadmin(env, "sync").returncode == 0
    rows = pick_rows(sandbox_db, ROWS)
    csv = tmp_path / "rows.csv"
    csv.write_text("email,team,role\n" + "".join(f"{e},{t},{r}\n" for e, t, r in rows))
    if faulty:
        sandbox.faults.update(**FAULTS)
    runs, first_wall, first_requests = 0, 0.0, 0
    while runs < MAX_RUNS:  # rerun until W&B shows every row, as a person would
        runs += 1
        before = _served(sandbox.base_url)
        started = time.perf_counter()
        _wbadmin(env, "access", "apply", str(csv), "--yes")
        if runs == 1:
            first_wall = time.perf_counter() - started
            first_requests = _served(sandbox.base_url) - before
        shown = roles_in_wandb(sandbox_db)
        if all(shown.get((e, t)) == role for e, t, role in rows):
            break
    injected = dict(sandbox.faults.injected)
    sandbox.faults.reset()
    entries = [json.loads(line) for line in
               _wbadmin(env, "journal", "--format", "jsonl").stdout.splitlines() if line]
    shown = roles_in_wandb(sandbox_db)
    lost = sum(shown.get((e, t)) != role for e, t, role in rows)
    per_target = Counter(e["target"] for e in entries if e["status"] == "applied")
    duplicated = sum(n - 1 for n in per_target.values() if n > 1)
    pending = sum(e["status"] == "pending" for e in entries)
    verified = sum(1 for e in entries if e["status"] == "applied" and e["verified"])
    label = "under faults" if faulty else "fault-free"
    goal = runs == 1 and lost == 0 and duplicated == 0 and pending == 0 and verified == ROWS
    record(f"{label}: runs needed", str(runs), verdict(goal) if faulty else "")
    record(f"{label}: applied and verified", f"{verified}/{ROWS}")
    record(f"{label}: lost / duplicated / pending", f"{lost} / {duplicated} / {pending}")
    record(f"{label}: wall time, first run", f"{first_wall:.1f} s")
    record(f"{label}: requests per change", f"{first_requests / ROWS:.2f}",
           f"({first_requests} requests)")
    if faulty:
        record(f"{label}: faults injected", ", ".join(f"{k} {v}" for k, v in
                                                      sorted(injected.items())))
    assert lost == 0 and duplicated == 0 and pending == 0
