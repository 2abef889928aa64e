"""The W&B client against the sandbox over real HTTP: results, typed errors, retries, caps."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import key_of
from wbadmin.core import errors as E
from wbadmin.core.client import Client, RequestRecord

FEATURES = "query ServerFeaturesQuery { serverInfo { features { name isEnabled } } }"


def make_client(sandbox, user: str = "alice", records: list | None = None, **kw) -> Client:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.05)
    return Client(sandbox.base_url, key_of(user), scim_username=user,
                  on_request=None if records is None else records.append, **kw)


async def test_graphql_returns_data_and_logs_the_call(sandbox) -> None:
    records: list[RequestRecord] = []
    async with make_client(sandbox, records=records) as client:
        data = await client.graphql(FEATURES)
    names = {f["name"] for f in data["serverInfo"]["features"] if f["isEnabled"]}
    assert "ARTIFACT_REGISTRY_SEARCH" in names
    assert [(r.api, r.target, r.status, r.attempt) for r in records] == [
        ("graphql", "ServerFeaturesQuery", 200, 1)]


async def test_bad_key_is_an_auth_error_without_the_key(sandbox) -> None:
    bad_key = "sbx-" + "0" * 40
    async with Client(sandbox.base_url, bad_key, backoff_base=0.01) as client:
        with pytest.raises(E.AuthError) as info:
            await client.graphql(FEATURES)
    assert bad_key not in str(info.value)
    assert "wbadmin login" in str(info.value)
    assert client.requests_sent == 1  # a 401 is never retried


async def test_invalid_query_is_a_bad_request_not_retried(sandbox) -> None:
    async with make_client(sandbox) as client:
        with pytest.raises(E.BadRequest, match="Cannot query field"):
            await client.graphql("query Q { noSuchField }")
        assert client.requests_sent == 1


async def test_transient_5xx_is_retried_until_it_succeeds(sandbox) -> None:
    sandbox.faults.update(fail_next=2)
    records: list[RequestRecord] = []
    async with make_client(sandbox, records=records) as client:
        await client.graphql(FEATURES)
    assert [r.status for r in records] == [503, 503, 200]
    assert [r.attempt for r in records] == [1, 2, 3]
    assert len({r.request_id for r in records}) == 1  # one logical request


async def test_persistent_5xx_becomes_a_server_error(sandbox) -> None:
    sandbox.faults.update(error_rate=1)
    async with make_client(sandbox, max_retries=2) as client:
        with pytest.raises(E.ServerError) as info:
            await client.graphql(FEATURES)
        assert client.requests_sent == 3
    assert info.value.status == 503


async def test_429_honours_retry_after(sandbox) -> None:
    sandbox.faults.update(rate_limit_rate=1, retry_after_s=0.05)
    async with make_client(sandbox, max_retries=1) as client:
        with pytest.raises(E.RateLimited) as info:
            await client.graphql(FEATURES)
        assert client.requests_sent == 2
    assert info.value.retry_after == pytest.approx(0.05)
    response = httpx.Response(429, headers={"retry-after": "7"})
    assert make_client(sandbox, backoff_cap=5)._delay(1, response) == 7


async def test_dropped_connections_are_retried_for_reads(sandbox) -> None:
    sandbox.faults.update(drop_rate=1)
    async with make_client(sandbox, max_retries=2) as client:
        with pytest.raises(E.Offline, match="dropped"):
            await client.graphql(FEATURES)
        assert client.requests_sent == 3


async def test_a_mutation_is_not_resent_after_a_dropped_connection(sandbox) -> None:
    sandbox.faults.update(drop_rate=1)
    async with make_client(sandbox, max_retries=3) as client:
        with pytest.raises(E.Offline, match="outcome is unknown"):
            await client.graphql("mutation Noop { _noop }")
        assert client.requests_sent == 1


async def test_unreachable_server_is_offline() -> None:
    from wbadmin.sandbox.server import free_port

    async with Client(f"http://127.0.0.1:{free_port()}", "sbx-" + "1" * 40,
                      max_retries=1, backoff_base=0.01) as client:
        with pytest.raises(E.Offline, match="cannot reach"):
            await client.graphql(FEATURES)


class CountingTransport(httpx.AsyncHTTPTransport):
    """The real transport, counting requests in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            response = await super().handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.now -= 1


async def test_requests_in_flight_are_capped(sandbox) -> None:
    sandbox.faults.update(latency_ms=50)
    transport = CountingTransport()
    async with make_client(sandbox, max_in_flight=3, transport=transport) as client:
        await asyncio.gather(*(client.graphql(FEATURES) for _ in range(12)))
    assert transport.peak == 3
