"""Fault injection over real HTTP: latency, 5xx, 429 + Retry-After, dropped connections,
fail_next; switched in-process, through /_sandbox/faults, or from the environment."""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import basic_api
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.faults import Faults
from wbadmin.sandbox.server import SandboxServer

# A dropped connection reads as a disconnect or as a reset, depending on timing.
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)

QUERY = {"query": "{ serverInfo { frontendHost } }"}
DEFAULTS = Faults().as_dict()


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers=basic_api("alice"), timeout=10) as c:
        yield c


def ask(client: httpx.Client) -> httpx.Response:
    return client.post("/graphql", json=QUERY)


def timed(client: httpx.Client) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = ask(client)
    return time.perf_counter() - start, response


def wandb_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    assert isinstance(response.json()["errors"][0]["message"], str)


# ---- latency -------------------------------------------------------------------------------

def test_fixed_latency(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.update(latency_ms=200)
    elapsed, r = timed(client)
    assert r.status_code == 200 and elapsed >= 0.2


def test_jitter_adds_a_seeded_random_delay(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.update(latency_ms=50, jitter_ms=300, seed=11)
    # The first delay is the first draw of the seeded generator.
    expected = (50 + random.Random(11).uniform(0, 300)) / 1000
    elapsed, r = timed(client)
    assert r.status_code == 200 and elapsed >= expected


def test_control_endpoints_are_never_faulted(sandbox: SandboxServer,
                                             client: httpx.Client) -> None:
    sandbox.faults.update(drop_rate=1)
    assert client.get("/_sandbox/health").json()["ok"] is True
    assert client.get("/_sandbox/faults").json()["drop_rate"] == 1
    with pytest.raises(DROPPED):
        ask(client)


# ---- errors --------------------------------------------------------------------------------

def test_error_rate_one_answers_503(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.update(error_rate=1)
    for _ in range(3):
        wandb_error(ask(client), 503)
    sandbox.faults.update(error_rate=0)
    assert ask(client).status_code == 200


def test_error_rate_is_a_share(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.update(error_rate=0.5, seed=3)
    statuses = [ask(client).status_code for _ in range(40)]
    assert set(statuses) == {200, 503}


def test_rate_limit_with_retry_after(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.update(rate_limit_rate=1, retry_after_s=3)
    r = ask(client)
    wandb_error(r, 429)
    assert r.headers["retry-after"] == "3"
    sandbox.faults.update(retry_after_s=0.5)
    assert ask(client).headers["retry-after"] == "0.5"


def test_dropped_connection(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.update(drop_rate=1)
    with pytest.raises(DROPPED):
        ask(client)
    sandbox.faults.update(drop_rate=0)
    assert ask(client).status_code == 200  # the client reconnects


def test_dropped_connections_are_not_logged_as_app_errors(sandbox: SandboxServer,
                                                          client: httpx.Client) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        sandbox.faults.update(drop_rate=1)
        for _ in range(3):
            with pytest.raises(DROPPED):
                ask(client)
        sandbox.faults.update(drop_rate=0)
        assert ask(client).status_code == 200  # the server has finished with the drops
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == []


def test_fail_next_then_recover(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.update(fail_next=2)
    wandb_error(ask(client), 503)
    assert client.get("/_sandbox/faults").json()["fail_next"] == 1
    wandb_error(ask(client), 503)
    assert ask(client).status_code == 200
    assert client.get("/_sandbox/faults").json()["fail_next"] == 0


def test_faults_apply_to_scim_and_files_too(sandbox: SandboxServer,
                                            client: httpx.Client) -> None:
    sandbox.faults.update(error_rate=1)
    assert client.get("/scim/Users").status_code == 503
    assert client.get("/files/UnVuOjE=/wandb-metadata.json").status_code == 503


def test_faults_leave_the_database_alone(sandbox: SandboxServer, client: httpx.Client) -> None:
    before = dump(sandbox.db)
    mutation = {"query": 'mutation { createTeam(input: {teamName: "faulted-team"}) '
                         "{ entity { id } } }"}
    for setting in [{"error_rate": 1}, {"rate_limit_rate": 1}, {"drop_rate": 1}]:
        sandbox.faults.reset()
        sandbox.faults.update(**setting)
        with contextlib.suppress(*DROPPED):
            client.post("/graphql", json=mutation)
    assert dump(sandbox.db) == before
    # The same request without faults does create the team.
    sandbox.faults.reset()
    assert client.post("/graphql", json=mutation).status_code == 200
    assert sandbox.db.scalar("SELECT COUNT(*) FROM entities WHERE name = 'faulted-team'") == 1


def dump(db: Database) -> list[str]:
    with db.lock:
        return list(db.conn.iterdump())


# ---- switching at run time -----------------------------------------------------------------

def test_switch_through_the_control_endpoint(client: httpx.Client) -> None:
    assert client.get("/_sandbox/faults").json() == DEFAULTS
    r = client.post("/_sandbox/faults", json={"error_rate": 1, "latency_ms": 10})
    assert r.status_code == 200
    assert r.json() == {**DEFAULTS, "error_rate": 1.0, "latency_ms": 10.0}
    assert client.get("/_sandbox/faults").json()["error_rate"] == 1.0
    wandb_error(ask(client), 503)
    r = client.delete("/_sandbox/faults")
    assert r.status_code == 200 and r.json() == DEFAULTS
    assert ask(client).status_code == 200


def test_posting_nothing_changes_nothing(client: httpx.Client) -> None:
    assert client.post("/_sandbox/faults").json() == DEFAULTS
    assert client.post("/_sandbox/faults", json={}).json() == DEFAULTS


def test_in_process_switch(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.faults.update(rate_limit_rate=1)
    assert ask(client).status_code == 429
    assert client.get("/_sandbox/faults").json()["rate_limit_rate"] == 1.0
    sandbox.faults.reset()
    assert ask(client).status_code == 200


@pytest.mark.parametrize("body", [
    {"error_rate": 2}, {"drop_rate": -0.1}, {"latency_ms": -1}, {"retry_after_s": -3},
    {"fail_next": 1.5}, {"fail_next": -1}, {"latency_ms": "slow"}, {"error_rate": True},
    {"latency_ms": [1]}, {"no_such_fault": 1}, {"seed": "abc"},
    {"latency_ms": 10, "error_rate": 7},  # all or nothing: latency stays 0
])
def test_bad_values_are_rejected(client: httpx.Client, body: dict) -> None:
    r = client.post("/_sandbox/faults", json=body)
    assert r.status_code == 400 and r.json()["error"]
    assert client.get("/_sandbox/faults").json() == DEFAULTS
    assert ask(client).status_code == 200


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"error_rate"', b'{"latency_ms": NaN}',
                                 b'{"latency_ms": Infinity}'])
def test_bad_bodies_are_rejected(client: httpx.Client, raw: bytes) -> None:
    r = client.post("/_sandbox/faults", content=raw)
    assert r.status_code == 400
    assert client.get("/_sandbox/faults").json() == DEFAULTS


# ---- configuration -------------------------------------------------------------------------

def test_from_env() -> None:
    faults = Faults.from_env({
        "WBADMIN_SANDBOX_LATENCY_MS": "250", "WBADMIN_SANDBOX_JITTER_MS": "20",
        "WBADMIN_SANDBOX_ERROR_RATE": "0.25", "WBADMIN_SANDBOX_RATE_LIMIT_RATE": "0.1",
        "WBADMIN_SANDBOX_RETRY_AFTER_S": "4", "WBADMIN_SANDBOX_DROP_RATE": "0.05",
        "WBADMIN_SANDBOX_FAIL_NEXT": "3", "WBADMIN_SANDBOX_SEED": "7",
        "WBADMIN_SANDBOX_SCIM_PAGE_CAP": "7", "WBADMIN_SANDBOX_SCIM_IGNORE_START_INDEX": "true",
        "WBADMIN_SANDBOX_UNRELATED": "ignored", "WBADMIN_SANDBOX_ERROR_RATE_TYPO": "1",
    })
    assert faults.as_dict() == {"latency_ms": 250.0, "jitter_ms": 20.0, "error_rate": 0.25,
                                "rate_limit_rate": 0.1, "retry_after_s": 4.0,
                                "drop_rate": 0.05, "fail_next": 3, "seed": 7,
                                "scim_page_cap": 7, "scim_ignore_start_index": True}
    assert Faults.from_env({"WBADMIN_SANDBOX_ERROR_RATE": ""}).as_dict() == DEFAULTS


@pytest.mark.parametrize("var, value", [("ERROR_RATE", "1.5"), ("LATENCY_MS", "fast"),
                                        ("FAIL_NEXT", "2.5"), ("DROP_RATE", "nan"),
                                        ("SCIM_PAGE_CAP", "0"),
                                        ("SCIM_IGNORE_START_INDEX", "maybe")])
def test_from_env_rejects_bad_values(var: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"WBADMIN_SANDBOX_{var}"):
        Faults.from_env({f"WBADMIN_SANDBOX_{var}": value})


def test_server_started_with_env_faults(sandbox_db: Database) -> None:
    faults = Faults.from_env({"WBADMIN_SANDBOX_FAIL_NEXT": "1",
                              "WBADMIN_SANDBOX_LATENCY_MS": "100"})
    with SandboxServer(sandbox_db, faults=faults) as server, httpx.Client(
            base_url=server.base_url, headers=basic_api("alice"), timeout=10) as client:
        assert server.faults is faults
        elapsed, r = timed(client)
        wandb_error(r, 503)
        assert elapsed >= 0.1
        assert ask(client).status_code == 200


def test_same_seed_same_faults(sandbox: SandboxServer, client: httpx.Client) -> None:
    def pattern() -> list[int]:
        sandbox.faults.update(error_rate=0.3, rate_limit_rate=0.3, seed=5)
        return [ask(client).status_code for _ in range(20)]

    first = pattern()
    assert pattern() == first and {429, 503} <= set(first)
