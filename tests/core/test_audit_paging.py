"""Reading the audit log in full: every page of every date window, from a server that pages
(next_cursor) and from an older one that streams NDJSON ignoring `limit`; nothing lost or
repeated where windows meet; the safety cap is a visible stop at a known instant."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SEED_NOW, key_of
from wbadmin.core import audit
from wbadmin.core.client import Client, RequestRecord
from wbadmin.sandbox.db import Database

pytestmark = pytest.mark.calendar  # day windows, at any date

DAY = 86_400
DAYS = 70  # 71 days: Dedicated windows of 31 + 31 + 9 days, Multi-tenant 8 x 8 + 7
START = SEED_NOW // DAY * DAY - DAYS * DAY  # midnight UTC, so windows start on day edges
END = START + (DAYS + 1) * DAY  # the first instant after the range
PAGE = 4
WINDOWS = {"dedicated": (31, 3), "multi_tenant": (8, 9)}  # (days per window, windows)


@pytest.fixture
def log_of(sandbox_db: Database):
    """The sandbox's audit log emptied, then `log_of(times)` writes one `project:read` entry
    per time (each naming its own project, in the order given); their names."""
    alice = sandbox_db.scalar("SELECT id FROM users WHERE username = 'alice'")
    with sandbox_db.transaction() as conn:
        conn.execute("DELETE FROM audit_log")

    def write(times: list[int]) -> list[str]:
        names = [f"p{i:04d}" for i in range(len(times))]
        with sandbox_db.transaction() as conn:
            conn.executemany(
                "INSERT INTO audit_log (timestamp, action, actor_id, detail) "
                "VALUES (?, 'project:read', ?, ?)",
                [(at, alice, json.dumps({"project_name": n}))
                 for at, n in zip(times, names, strict=True)])
        return names
    return write


@pytest.fixture(autouse=True)
def small_pages(monkeypatch) -> None:
    monkeypatch.setattr(audit, "PAGE_SIZE", PAGE)


def older_server(db: Database) -> None:
    db.set_meta("audit_log_api", "stream")  # the sandbox's older Dedicated server


def multi_tenant(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")


async def read(base_url: str, log: list[RequestRecord] | None = None, **kw) -> audit.AuditRead:
    async with Client(base_url, key_of("alice"), scim_username="alice", backoff_base=0.01,
                      on_request=None if log is None else log.append) as client:
        return await audit.read_audit_logs(client, start=START, days=DAYS, username="alice",
                                           **kw)


def names(result: audit.AuditRead) -> list[str]:
    return [e["project_name"] for e in result.entries]


@pytest.mark.parametrize("shape", ["paginated", "stream"])
async def test_a_window_with_many_pages_is_read_in_full(shape, sandbox, sandbox_db,
                                                        log_of) -> None:
    if shape == "stream":
        older_server(sandbox_db)
    # 30 entries on one day (ten at the same second): 8 pages of 4 on a paging server.
    day = START + 40 * DAY
    written = log_of([day + 3600 + i for i in range(20)] + [day + 7200] * 10)
    log: list[RequestRecord] = []
    result = await read(sandbox.base_url, log)
    assert names(result) == written and not result.truncated
    requests = [r.target for r in log if r.api == "audit"]
    if shape == "paginated":  # the 3 windows, one page each but the busy one's 8
        assert len(requests) == 2 + 8
    else:  # the older server answers each window in one stream, whatever `limit` says
        assert len(requests) == 3


@pytest.mark.parametrize("deployment", ["dedicated", "multi_tenant"])
async def test_nothing_lost_or_repeated_where_windows_meet(deployment, sandbox, sandbox_db,
                                                           log_of) -> None:
    if deployment == "multi_tenant":
        multi_tenant(sandbox_db)
    size, windows = WINDOWS[deployment]
    edges = range(START + size * DAY, END, size * DAY)
    times = [START - 1]  # the second before the range: not read
    times += [START, START]
    for edge in edges:  # the last second of a window, its edge (ties), the next second
        times += [edge - 1] * 5 + [edge] * 6 + [edge + 1]
    times += [END - 1, END]  # the range's last second, then the first after it: not read
    written = log_of(times)
    log: list[RequestRecord] = []
    result = await read(sandbox.base_url, log)
    assert names(result) == written[1:-1] and not result.truncated
    # Multi-tenant pages too: the windows' answers are `limit`-sized, not one page each.
    assert len([r for r in log if r.api == "audit" and r.status == 200]) > windows


async def test_the_cap_stops_mid_window_at_the_last_entry_read(sandbox, log_of) -> None:
    written = log_of([START + 5 * DAY + i * 60 for i in range(30)])
    result = await read(sandbox.base_url, max_entries=10)
    # Checked after each page of 4: three pages are kept, and everything before the last
    # entry's time was read.
    assert result.truncated and names(result) == written[:12]
    assert result.truncated_at == START + 5 * DAY + 11 * 60


async def test_an_older_server_ignoring_limit_is_read_and_capped_by_window(
        sandbox, sandbox_db, log_of) -> None:
    older_server(sandbox_db)
    first = [START + d * DAY for d in range(12)]         # the first window (days 0-30)
    later = [START + 40 * DAY, START + 65 * DAY]         # the second and third
    written = log_of(first + later)
    assert names(await read(sandbox.base_url)) == written
    # 12 entries arrive in the first window's one answer: past the cap of 10, so the read
    # stops at that window's end, the date reached.
    cut = await read(sandbox.base_url, max_entries=10)
    assert names(cut) == written[:12] and cut.truncated_at == START + 31 * DAY
    # The same cap, a window that fits: nothing is cut.
    assert not (await read(sandbox.base_url, max_entries=14)).truncated
