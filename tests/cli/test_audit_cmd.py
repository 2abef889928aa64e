"""`wbadmin audit`: W&B's audit log and wbadmin's journal on one timeline, over real HTTP
against the sandbox (the demo seed holds eight weeks of audit history)."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs

import pytest

from tests.conftest import SEED_NOW, key_of
from wbadmin import clock
from wbadmin.core.audit_timeline import RECORD_KEYS
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.server import SandboxServer

from .conftest import cache_file, files_under, journal_file, secret_forms

DAY = 86_400
AUDIT_PATHS = ("/admin/audit_logs", "/audit_logs")


class Recorder:
    """ASGI wrapper: the audit-log requests the sandbox got (path, query); `no_audit` answers
    them 404, as a server without the audit-log API does."""

    def __init__(self, app, no_audit: bool = False) -> None:
        self.app, self.no_audit, self.seen = app, no_audit, []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] in AUDIT_PATHS:
            self.seen.append((scope["path"], parse_qs(scope["query_string"].decode())))
            if self.no_audit:
                await send({"type": "http.response.start", "status": 404,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": b'{"error": "not found"}'})
                return
        await self.app(scope, receive, send)

    def take(self) -> list[tuple[str, dict]]:
        seen, self.seen = self.seen, []
        return seen


@pytest.fixture
def served(sandbox_db: Database, monkeypatch: pytest.MonkeyPatch):
    """serve(user, no_audit=False) → the Recorder of a sandbox the LIVE profile points at."""
    servers: list[SandboxServer] = []

    def serve(user: str = "alice", no_audit: bool = False) -> Recorder:
        server = SandboxServer(sandbox_db)
        recorder = server.app = Recorder(server.app, no_audit)
        server.start()
        servers.append(server)
        monkeypatch.setenv("WANDB_BASE_URL", server.base_url)
        monkeypatch.setenv("WANDB_API_KEY", key_of(user))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        return recorder

    yield serve
    for server in servers:
        server.stop()


def jsonl(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def later(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    """Move wbadmin's (and the in-process sandbox's) clock on by `days`."""
    monkeypatch.setenv(clock.ENV, str(SEED_NOW + days * DAY))


def cancel_stale_invites(cli) -> None:
    """A change made through wbadmin's change path (journaled, then sent): the demo org's
    stale invite to llm-platform-eng is cancelled (W&B logs `team:uninvite`)."""
    r = cli("access", "fix", "stale-invites", "--yes")
    assert r.code == 0, r.err


TEAM, INVITEE = "llm-platform-eng", "contractor@partner-labs.io"


def test_each_format_shows_every_actor_and_the_journal(served, cli, monkeypatch) -> None:
    served("alice")
    cancel_stale_invites(cli)
    r = cli("audit", "--since", "14d", "--format", "jsonl")
    assert r.code == 0, r.err
    rows = jsonl(r.out)
    assert all(tuple(row) == RECORD_KEYS for row in rows)  # stable keys, in order
    assert all(row["time"].endswith("Z") and "T" in row["time"] for row in rows)
    assert {row["source"] for row in rows} == {"wandb", "wbadmin"}
    wandb = [row for row in rows if row["source"] == "wandb"]
    assert len({row["actor"] for row in wandb}) > 3  # every actor, not only wbadmin's
    assert {"user:login", "team:uninvite"} <= {row["action"] for row in wandb}
    assert all(row["time"] >= clock.iso(SEED_NOW - 14 * DAY) for row in rows)
    assert [row["time"] for row in rows] == sorted(row["time"] for row in rows)

    monkeypatch.setenv("COLUMNS", "90")
    table = cli("audit", "--since", "14d", "--offline")
    lines = table.out.splitlines()
    assert lines[0].startswith("WHEN (UTC)") and len(lines) == len(rows) + 1
    assert all(len(line) <= 90 for line in lines)  # fits the terminal
    assert any("wbadmin" in line and "team:uninvite" in line for line in lines)

    sheet = list(csv.reader(io.StringIO(cli("audit", "--since", "14d", "--offline",
                                            "--format", "csv").out)))
    assert tuple(sheet[0]) == RECORD_KEYS and len(sheet) == len(rows) + 1


def test_filters_apply_to_both_sources(served, cli) -> None:
    served("alice")
    cancel_stale_invites(cli)
    both = jsonl(cli("audit", "--since", "8w", "--format", "jsonl",
                     "--action", "team:uninvite").out)
    assert both and {r["action"] for r in both} == {"team:uninvite"}
    assert {r["source"] for r in both} == {"wandb", "wbadmin"}
    team = jsonl(cli("audit", "--since", "8w", "--format", "jsonl", "--team", TEAM).out)
    assert team and all(r["team"] == TEAM for r in team)
    assert "wbadmin" in {r["source"] for r in team}
    other = jsonl(cli("audit", "--since", "8w", "--format", "jsonl", "--team", "nope").out)
    assert other == []
    everyone = jsonl(cli("audit", "--since", "8w", "--format", "jsonl").out)
    someone = next(r["actor"] for r in everyone if r["source"] == "wandb"
                   and r["actor"] != "alice@inference-systems.ai")
    theirs = jsonl(cli("audit", "--since", "8w", "--format", "jsonl", "--actor", someone).out)
    assert theirs and {r["actor"] for r in theirs} == {someone}
    # The journal's actor is a username; its W&B events carry the email: one filter for both.
    alice = jsonl(cli("audit", "--since", "8w", "--format", "jsonl", "--actor", "alice").out)
    assert {r["source"] for r in alice} == {"wandb", "wbadmin"}
    assert {r["actor"] for r in alice} == {"alice", "alice@inference-systems.ai"}


def test_a_change_through_wbadmin_is_linked_to_its_wandb_event(served, cli) -> None:
    served("alice")
    cancel_stale_invites(cli)
    rows = jsonl(cli("audit", "--since", "1d", "--format", "jsonl").out)
    mine = next(r for r in rows if r["source"] == "wbadmin" and r["kind"] == "team.cancel_invite")
    assert mine["action"] == "team:uninvite" and mine["status"] == "applied"
    [key] = mine["linked"]
    event = next(r for r in rows if r["key"] == key)
    assert (event["source"], event["action"], event["team"], event["user"]) == (
        "wandb", "team:uninvite", TEAM, INVITEE)
    assert event["journal_id"] == mine["journal_id"]
    # Every other W&B event stands alone: only the change's own event is linked.
    assert [r for r in rows if r["source"] == "wandb" and r["journal_id"]] == [event]


def test_a_second_run_reads_only_new_time_and_deduplicates(served, cli, monkeypatch) -> None:
    recorder = served("alice")
    first = cli("audit", "--since", "60d", "--format", "jsonl")
    assert first.code == 0, first.err
    asked = recorder.take()
    assert len(asked) >= 2  # the first window, then the rest (31-day windows)
    before = [r for r in jsonl(first.out) if r["source"] == "wandb"]

    later(monkeypatch, 1)
    cancel_stale_invites(cli)  # something new, the next day
    recorder.take()  # (the fix's sync dates invites from the log: its own reader)
    second = cli("audit", "--since", "61d", "--format", "jsonl")
    assert second.code == 0, second.err
    [(_, query)] = recorder.take()  # one request: from the last read's day on
    # The fix's service-account read (its findings) brought the store up to the next day.
    assert query["startDate"] == [clock.iso(SEED_NOW + DAY)[:10]]
    assert query["numDays"] == ["0"]
    after = [r for r in jsonl(second.out) if r["source"] == "wandb"]
    keys = [r["key"] for r in after]
    assert len(keys) == len(set(keys))  # the day read twice is kept once
    assert [r for r in after if r["time"] < clock.iso(SEED_NOW)] == [
        r for r in before if r["time"] < clock.iso(SEED_NOW)]
    assert {r["user"] for r in after[len(before):]} >= {INVITEE}
    assert "1 new of" in second.err

    # Offline, the cache answers (no request), with the same rows.
    offline = cli("audit", "--since", "61d", "--format", "jsonl", "--offline")
    assert offline.code == 0 and recorder.take() == []
    assert [r for r in jsonl(offline.out) if r["source"] == "wandb"] == after
    assert "from the cache" in offline.err


@pytest.mark.parametrize("user", ["bob", "carol"])
def test_a_role_that_may_not_read_the_log_gets_one_line_and_the_journal(
        served, cli, monkeypatch, user) -> None:
    served("alice")
    cancel_stale_invites(cli)  # a journal entry on this profile
    monkeypatch.setenv("WANDB_API_KEY", key_of(user))
    r = cli("audit", "--format", "jsonl")
    assert r.code == 4
    assert r.err_lines[-1].startswith("wbadmin: the audit log is not readable: only org admins")
    assert r.err_lines[-1].endswith("showing wbadmin's journal only")
    assert "Traceback" not in r.err
    rows = jsonl(r.out)
    assert rows and {row["source"] for row in rows} == {"wbadmin"}


def test_a_server_without_the_audit_api_is_exit_1_with_the_journal(served, cli) -> None:
    served("alice", no_audit=True)
    # A role change (W&B logs none): a journal row of its own.
    done = cli("access", "set-role", "data-science-nlp", "carol", "admin", "--yes")
    assert done.code == 0, done.err
    r = cli("audit", "--format", "jsonl")
    assert r.code == 1
    assert "this server has no audit-log API" in r.err_lines[-1]
    [row] = jsonl(r.out)
    assert (row["source"], row["kind"], row["action"], row["linked"]) == (
        "wbadmin", "team.set_role", None, [])


def test_anonymize_asks_wandb_and_drops_pii_from_journal_rows(served, cli) -> None:
    recorder = served("alice")
    cancel_stale_invites(cli)
    recorder.take()
    rows = jsonl(cli("audit", "--since", "14d", "--anonymize", "--format", "jsonl").out)
    assert all(q.get("anonymize") == ["true"] for _, q in recorder.take())
    assert rows and "@" not in json.dumps(rows)  # no email anywhere
    mine = [r for r in rows if r["source"] == "wbadmin"]
    assert mine and all(r["actor"] is None and r["target"] is None for r in mine)
    assert all(r["team"] is None for r in rows)
    # The full rows are a separate store: an anonymized read never fills it.
    assert "@" in cli("audit", "--since", "14d", "--format", "jsonl").out


@pytest.mark.parametrize("since", ["yesterday", "7x", "2026-13-45"])
def test_a_bad_since_is_a_usage_error(served, cli, since) -> None:
    recorder = served("alice")
    r = cli("audit", "--since", since)
    assert r.code == 2 and "usage:" in r.err and "Traceback" not in r.err
    assert recorder.take() == []


def test_no_secret_in_any_output_or_file(served, cli, home) -> None:
    served("alice")
    cancel_stale_invites(cli)
    outs = [cli("audit", "--since", "8w", "--format", f).out for f in ("table", "jsonl", "csv")]
    forms = [form for user in ("alice", "bob", "carol") for form in secret_forms(key_of(user))]
    texts = outs + [p.read_bytes().decode(errors="replace")
                    for p in files_under(cache_file().parent, journal_file().parent)]
    assert not [f for f in forms for t in texts if f in t]
    assert not any("sbx-" in t for t in outs)


def test_a_multi_tenant_org_without_enterprise_is_told_and_the_rest_works(
        served, cli, sandbox_db) -> None:
    """Multi-tenant W&B gives audit logs to Enterprise plans only: even an org admin is
    refused. `audit` says so in one line with the journal; the service-account inventory
    keeps its keys and says their age is unknown (never a guess)."""
    from wbadmin.sandbox.audit import NOT_ENTERPRISE, PLAN_META

    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")
    sandbox_db.set_meta(PLAN_META, NOT_ENTERPRISE)
    served("alice")
    done = cli("access", "set-role", "data-science-nlp", "carol", "admin", "--yes")
    assert done.code == 0, done.err  # a journal row (W&B logs no role change anyway)
    r = cli("audit", "--format", "jsonl")
    assert r.code == 4, r.err
    assert "available to Enterprise organizations only" in r.err_lines[-1]
    assert {row["source"] for row in jsonl(r.out)} == {"wbadmin"}
    shown = json.loads(cli("sa", "list", "--refresh", "--json").out)
    assert "the audit log is not readable" in shown["note"]
    assert all(a["keys"] is not None and a["last_key_created_at"] is None
               for a in shown["service_accounts"])
    found = {f["id"]: f for f in json.loads(cli("access", "findings", "--json").out)}
    old_keys = found.get("service-account-keys-old")
    assert old_keys is None or (not old_keys["visible"] and "audit log" in old_keys["note"])
