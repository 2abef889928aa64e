"""`wbadmin doctor` against the default (demo) sandbox with 30 ms injected latency, run on
demand (not in the default test run):

    pytest tests/benchmarks/bench_doctor.py -s -p no:cacheprovider -o addopts=""

Goal (issue 17): at most 3 s wall time and at most 15 requests, the `__type` probes sharing
requests (one per level of wbadmin's documents, up to 40 types each). Five runs, median.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import pytest

from tests.benchmarks.bench_sync import serve, server_requests, set_faults
from tests.benchmarks.common import Results, seed_file, verdict
from tests.conftest import key_of
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client
from wbadmin.core.doctor import diagnose
from wbadmin.core.whoami import identify_with_role

pytestmark = pytest.mark.benchmark

LATENCY_MS = 30.0
RUNS = 5
GOAL_S, GOAL_REQUESTS = 3.0, 15
RESULTS = Results("doctor benchmark")


def one_doctor(base_url: str, cache_path: Path):
    async def main():
        async with Client(base_url, key_of("alice"), scim_username="alice") as client:
            cache = Cache(cache_path)
            try:
                me = await identify_with_role(client, cache)
                return await diagnose(client, me, deployment="SANDBOX")
            finally:
                cache.close()

    return asyncio.run(main())


def test_doctor_with_latency(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    seed_file(path, "demo")
    with serve(path, "process") as base_url:
        set_faults(base_url, latency_ms=LATENCY_MS)
        times, sent = [], []
        for i in range(RUNS):
            before = server_requests(base_url)
            start = time.perf_counter()
            report = one_doctor(base_url, tmp_path / f"cache-{i}.db")
            times.append(time.perf_counter() - start)
            sent.append(server_requests(base_url) - before)
    assert not report.server_lacks_something
    med, requests = statistics.median(times), max(sent)
    RESULTS.record("doctor, demo sandbox, 30 ms latency (identity + every check)",
                   f"{med:.2f} s", f"min {min(times):.2f}, max {max(times):.2f}, n={RUNS}; "
                   f"goal <= {GOAL_S:.0f} s: {verdict(med <= GOAL_S)}")
    RESULTS.record("doctor requests (as the sandbox counted them)", str(requests),
                   f"of which __type probes {report.schema['requests']} for "
                   f"{report.schema['types']} types; goal <= {GOAL_REQUESTS}: "
                   f"{verdict(requests <= GOAL_REQUESTS)}")
    RESULTS.print_table()
