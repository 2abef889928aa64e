"""SCIM lists read whole, page by page, from a server that pages them smaller than W&B's 9999
(the sandbox's `scim_page_cap`), and a visible shortfall from one that ignores startIndex."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import SEED, SEED_NOW, key_of
from wbadmin.core.cache import Cache
from wbadmin.core.client import Client, RequestRecord
from wbadmin.core.scim_list import ScimList, read_scim_list
from wbadmin.core.sync import Syncer
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_preset
from wbadmin.sandbox.server import SandboxServer

CAP = 7  # not a divisor of any of the seeds' counts, so a last, partial page is read too
PEOPLE = "SELECT COUNT(*) FROM users WHERE account_type = 'USER' AND org_id IS NOT NULL " \
         "AND deleted_at IS NULL"
TEAMS = "SELECT COUNT(*) FROM entities WHERE kind = 'team'"
ROLES = "SELECT COUNT(*) FROM custom_roles"


@pytest.fixture
def cache(tmp_path) -> Iterator[Cache]:
    cache = Cache(tmp_path / "cache.sqlite3")
    yield cache
    cache.close()


@pytest.fixture(scope="module")
def large_server() -> Iterator[SandboxServer]:
    db = Database()
    seed_preset(db, "large", seed=SEED, now=SEED_NOW)
    with SandboxServer(db) as server:
        yield server
    db.close()


async def full_sync(server: SandboxServer, cache: Cache):
    records: list[RequestRecord] = []
    async with Client(server.base_url, key_of("alice"), scim_username="alice",
                      backoff_base=0.01, on_request=records.append) as client:
        report = await Syncer(client, cache).full()
    return report, Counter(r.target for r in records)


@pytest.mark.parametrize("preset", ["demo", "large"])
async def test_a_capped_server_is_read_page_by_page_to_the_last_person(
        preset: str, request: pytest.FixtureRequest, cache: Cache) -> None:
    server: SandboxServer = request.getfixturevalue(
        "sandbox" if preset == "demo" else "large_server")
    server.faults.update(scim_page_cap=CAP)
    try:
        report, sent = await full_sync(server, cache)
    finally:
        server.faults.reset()
    db = server.db
    people, teams, roles = db.scalar(PEOPLE), db.scalar(TEAMS), db.scalar(ROLES)
    assert people > CAP and teams > CAP
    assert report.warnings == []
    assert cache.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER'") == people
    assert cache.scalar("SELECT COUNT(*) FROM teams") == teams
    assert cache.scalar("SELECT COUNT(*) FROM custom_roles") == roles
    assert sent["SCIM GET Users"] == math.ceil(people / CAP)
    assert sent["SCIM GET Groups"] == math.ceil(teams / CAP)
    assert sent["SCIM GET Roles"] == max(1, math.ceil(roles / CAP))


async def test_an_uncapped_org_is_still_one_request_per_list(sandbox, cache: Cache) -> None:
    _, sent = await full_sync(sandbox, cache)
    assert sent["SCIM GET Users"] == sent["SCIM GET Groups"] == sent["SCIM GET Roles"] == 1


async def test_a_server_ignoring_start_index_stops_with_a_warning(sandbox, cache: Cache) -> None:
    sandbox.faults.update(scim_page_cap=CAP, scim_ignore_start_index=True)
    report, sent = await full_sync(sandbox, cache)
    people, teams = sandbox.db.scalar(PEOPLE), sandbox.db.scalar(TEAMS)
    # The first page, then the same page again: no new id, so it stops there and says so.
    assert sent["SCIM GET Users"] == sent["SCIM GET Groups"] == 2
    assert cache.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER'") == CAP
    shortfalls = [w for w in report.warnings if "missing" in w]
    assert len(shortfalls) == 2
    assert f"SCIM Users: read {CAP} of {people}" in shortfalls[0]
    assert f"SCIM Groups: read {CAP} of {teams}" in shortfalls[1]
    assert all("startIndex" in w for w in shortfalls)


async def test_a_team_refresh_short_of_every_person_forgets_nobody(
        sandbox, cache: Cache, caplog: pytest.LogCaptureFixture) -> None:
    async with Client(sandbox.base_url, key_of("alice"), scim_username="alice",
                      backoff_base=0.01) as client:
        syncer = Syncer(client, cache)
        await syncer.full()
        people = cache.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER'")
        sandbox.faults.update(scim_page_cap=CAP, scim_ignore_start_index=True)
        with caplog.at_level(logging.WARNING, logger="wbadmin.sync"):
            await syncer.refresh_team("data-science-nlp")
    assert cache.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER'") == people
    assert any(f"SCIM Users: read {CAP} of {people}" in r.getMessage() for r in caplog.records)


# ---- servers the sandbox does not imitate --------------------------------------------------

class _Scim(BaseHTTPRequestHandler):
    """A SCIM /Users whose pages come from `page(startIndex)`; the requests are counted."""

    total = 0
    page: Callable[[int], list[dict]] = staticmethod(lambda start: [])
    starts: list[int] = []

    def do_GET(self) -> None:
        start = int(parse_qs(urlparse(self.path).query)["startIndex"][0])
        self.starts.append(start)
        body = json.dumps({"Resources": self.page(start), "totalResults": self.total,
                           "startIndex": start, "itemsPerPage": 9999}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/scim+json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def scim_stub(total: int, page: Callable[[int], list[dict]]) -> Iterator[tuple[str, list]]:
    handler = type("Stub", (_Scim,), {"total": total, "page": staticmethod(page),
                                      "starts": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler.starts
    finally:
        server.shutdown()
        server.server_close()


def users(first: int, n: int) -> list[dict]:
    return [{"id": f"u{i}", "userName": f"user{i}"} for i in range(first, first + n)]


async def read_users(base_url: str, **bounds: int) -> ScimList:
    async with Client(base_url, key_of("alice"), scim_username="alice",
                      backoff_base=0.01) as client:
        return await read_scim_list(client, "Users", **bounds)


async def test_a_total_the_server_cannot_fill_stops_at_the_empty_page() -> None:
    # totalResults says 10; the server has 3 (people left while the list was read).
    with scim_stub(10, lambda start: users(start, 4 - start) if start <= 3 else []) \
            as (url, starts):
        listed = await read_users(url)
    assert starts == [1, 4] and len(listed.resources) == 3
    assert listed.shortfall == ("SCIM Users: read 3 of 10, the rest are missing: the server "
                                "sent an empty page at startIndex 4")


async def test_a_server_that_never_ends_stops_at_the_page_bound() -> None:
    # A new person on every page, and a total it never reaches: the bound ends it.
    with scim_stub(10**9, lambda start: users(start, 1)) as (url, starts):
        listed = await read_users(url, max_pages=20)
    assert len(starts) == 20 and len(listed.resources) == 20
    assert listed.shortfall is not None and listed.shortfall.endswith("gave up after 20 pages")
