"""One clock: `wbadmin.clock.now()` is the wall clock unless WBADMIN_NOW moves it, and the
move reaches the CLI, the sandbox (seed, `Date` header, change stamps) and subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.conftest import SEED_NOW
from wbadmin import clock


@pytest.mark.parametrize("text, expected", [
    ("1795000000", 1_795_000_000.0),
    ("1795000000.5", 1_795_000_000.5),
    ("2026-11-30T23:30:00Z", 1_796_081_400.0),
    ("2026-11-30T23:30:00+00:00", 1_796_081_400.0),
    ("2026-12-01T00:30:00+01:00", 1_796_081_400.0),
    ("2026-11-30 23:30", 1_796_081_400.0),  # no zone: UTC
    ("2026-11-30", 1_796_083_200.0 - 86_400),
])
def test_the_override_reads_iso_8601_and_epoch_seconds(text: str, expected: float) -> None:
    assert clock.parse(text) == expected


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-13-01", "12:00"])
def test_a_bad_override_is_refused_with_what_to_write(text: str) -> None:
    with pytest.raises(clock.BadClock, match="ISO 8601"):
        clock.parse(text)


def test_the_clock_starts_at_the_override_and_runs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENV, "2027-01-01T00:00:00Z")
    first = clock.now()
    assert 0 <= first - 1_798_761_600 < 5
    time.sleep(0.05)
    assert clock.now() > first  # a running clock: durations and ordering still hold
    monkeypatch.delenv(clock.ENV)
    assert abs(clock.now() - time.time()) < 1


def test_start_at_wins_over_the_environment_until_released() -> None:
    clock.start_at(1_000_000_000)
    assert 0 <= clock.now() - 1_000_000_000 < 5
    clock.start_at(None)
    assert abs(clock.now() - clock.parse(os.environ[clock.ENV])) < 3600


def test_the_cli_refuses_a_bad_override_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from wbadmin.cli import main

    monkeypatch.setenv(clock.ENV, "next tuesday")
    assert main(["--sandbox", "teams"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "WBADMIN_NOW='next tuesday' is not a time" in err[0]


def test_a_subprocess_is_on_the_same_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENV, "2026-02-28T23:59:00Z")
    out = subprocess.run([sys.executable, "-c", "from wbadmin import clock; print(clock.now())"],
                         capture_output=True, text=True, check=True, env=dict(os.environ))
    assert 0 <= float(out.stdout) - clock.parse("2026-02-28T23:59:00Z") < 30


def test_the_sandbox_answers_and_stamps_on_wbadmins_clock(sandbox, keys) -> None:
    """Its `Date` header (from which clients measure skew) and the time it stamps on a
    change follow WBADMIN_NOW, not the machine's date."""
    time.sleep(1.1)  # uvicorn refreshes its default headers once a second
    r = httpx.head(f"{sandbox.base_url}/graphql")
    served = parsedate_to_datetime(r.headers["date"]).timestamp()
    assert abs(served - clock.now()) < 5
    assert abs(served - SEED_NOW) < 3600  # the test clock, not today

    query = ('mutation { upsertModel(input: {entityName: "ml-infra", name: "clock-check"}) '
             '{ project { createdAt } } }')
    body = httpx.post(f"{sandbox.base_url}/graphql", json={"query": query},
                      auth=("api", keys("alice"))).json()
    created = body["data"]["upsertModel"]["project"]["createdAt"]
    from datetime import UTC, datetime
    stamped = datetime.fromisoformat(created.rstrip("Z")).replace(tzinfo=UTC).timestamp()
    assert abs(stamped - clock.now()) < 5, json.dumps(body)
