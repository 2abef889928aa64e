"""The journal file: schema and migration, queries, exports, concurrency, no secrets."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wbadmin.core.changes import ApplyResult, Change, register_change
from wbadmin.core.journal import SCHEMA_VERSION, Journal, JournalError, parse_when
from wbadmin.core.redact import Secret

KEY = "0123456789abcdef0123456789abcdef01234567"  # W&B key shape: 40 hex characters
T0 = 1_795_000_000.0


@register_change
@dataclass(kw_only=True)
class Note(Change):
    """A change that only exists in the journal (these tests never apply it)."""

    kind = "test.journal_note"
    via = "test"
    label: str = ""

    async def apply(self, ctx: object) -> ApplyResult:
        raise AssertionError("not applied in journal tests")

    async def read_current(self, ctx: object) -> dict | None:
        raise AssertionError("not read in journal tests")


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def record(journal: Journal, target: str, actor: str = "alice", *, status: str = "applied",
           before: dict | None = None, after: dict | None = None, plan_id: str = "p1",
           seq: int = 1, label: str = "") -> int:
    change = Note(target=target, before=before or {"role": "member"},
                  after=after or {"role": "admin"}, label=label)
    entry_id = journal.write_intent(plan_id=plan_id, seq=seq, actor=actor, change=change,
                                    plan_title="test plan", profile="default")
    if status != "pending":
        journal.write_outcome(entry_id, status, "ok" if status == "applied" else "boom",
                              request_id=f"req-{entry_id}", verified=status == "applied")
    return entry_id


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def journal(tmp_path: Path, clock: Clock) -> Journal:
    with Journal(tmp_path / "journal.sqlite3", clock=clock) as j:
        yield j


def test_intent_then_outcome_round_trip(journal: Journal, clock: Clock) -> None:
    entry_id = record(journal, "data-science-nlp/bob", status="pending", label="x")
    entry = journal.get(entry_id)
    assert entry.status == "pending" and entry.finished_at is None
    assert (entry.actor, entry.kind, entry.target, entry.via) == (
        "alice", "test.journal_note", "data-science-nlp/bob", "test")
    assert entry.before == {"role": "member"} and entry.after == {"role": "admin"}

    clock.now += 5
    journal.write_outcome(entry_id, "applied", "ok", request_id="req-9", verified=True)
    entry = journal.get(entry_id)
    assert (entry.status, entry.result, entry.request_id, entry.verified) == (
        "applied", "ok", "req-9", True)
    assert entry.finished_at == entry.created_at + 5
    # The record rebuilds the very change that was journaled (undo and reconcile need it).
    assert entry.change() == Note(target="data-science-nlp/bob", before={"role": "member"},
                                  after={"role": "admin"}, label="x")
    assert journal.get(10_000) is None


def test_schema_version_wal_and_refusal_of_newer_files(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as j:
        assert j.schema_version == SCHEMA_VERSION
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(JournalError, match="newer than this wbadmin"):
        Journal(path)


def test_migrates_an_existing_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    sqlite3.connect(path).close()  # a file at user_version 0
    with Journal(path) as j:
        assert j.schema_version == SCHEMA_VERSION
        assert j.get(record(j, "t/u")).status == "applied"
    with Journal(path) as j:  # reopening is a no-op migration and keeps the rows
        assert len(j.query()) == 1


def test_query_by_time_actor_target_and_status(journal: Journal, clock: Clock) -> None:
    a = record(journal, "data-science-nlp/bob", "alice")
    clock.now += 3600
    b = record(journal, "data-science-nlp2/carol", "bob", status="failed")
    clock.now += 3600
    c = record(journal, "data-science-nlp", "alice")

    assert [e.id for e in journal.query()] == [c, b, a]  # newest first
    assert [e.id for e in journal.query(newest_first=False)] == [a, b, c]
    assert [e.id for e in journal.query(since=T0 + 1800)] == [c, b]
    assert [e.id for e in journal.query(since="90m")] == [c, b]
    assert [e.id for e in journal.query(since=timedelta(minutes=30))] == [c]
    assert [e.id for e in journal.query(until=T0 + 1800)] == [a]
    assert [e.id for e in journal.query(actor="bob")] == [b]
    # A target matches itself and everything under it, not a sibling sharing a prefix.
    assert {e.id for e in journal.query(target="data-science-nlp")} == {a, c}
    assert [e.id for e in journal.query(status="failed")] == [b]
    assert [e.id for e in journal.query(limit=1)] == [c]
    since = datetime.fromtimestamp(T0 + 7200, UTC)
    assert [e.id for e in journal.query(since=since)] == [c]


def test_parse_when() -> None:
    assert parse_when("2h", now=T0) == T0 - 7200
    assert parse_when("7d", now=T0) == T0 - 7 * 86400
    assert parse_when("1w", now=T0) == T0 - 604800
    assert parse_when("2026-11-18T11:06:40Z") == 1_795_000_000
    assert parse_when("2026-11-18T12:06:40+01:00") == 1_795_000_000
    assert parse_when("2026-11-19") == datetime(2026, 11, 19, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="not a time"):
        parse_when("yesterday-ish")


def test_export_jsonl_and_csv(journal: Journal, clock: Clock) -> None:
    first = record(journal, "data-science-nlp/bob", "alice")
    clock.now += 60
    record(journal, "ml-infra/carol", "alice", status="failed", after={"role": "viewer"})

    out = io.StringIO()
    assert journal.export_jsonl(out) == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["target"] for row in lines] == ["data-science-nlp/bob", "ml-infra/carol"]
    assert lines[0]["id"] == first
    assert lines[0]["created_at"] == "2026-11-18T11:06:40.000Z"
    assert lines[0]["before"] == {"role": "member"} and lines[0]["after"] == {"role": "admin"}
    assert (lines[1]["status"], lines[1]["result"], lines[1]["request_id"]) == (
        "failed", "boom", f"req-{first + 1}")
    assert {"actor", "kind", "via", "verified", "reversible", "undo_of", "profile",
            "plan_id", "seq", "finished_at"} <= set(lines[0])

    out = io.StringIO()
    assert journal.export_csv(out, journal.query(since=T0 + 30)) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 1
    assert rows[0]["target"] == "ml-infra/carol" and rows[0]["status"] == "failed"
    assert json.loads(rows[0]["after"]) == {"role": "viewer"}
    assert rows[0]["verified"] == "false" and rows[0]["reversible"] == "true"


def _all_stored_text(path: Path) -> str:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT * FROM entries").fetchall()
    conn.close()
    return "\n".join(str(v) for row in rows for v in row)


def test_secrets_are_never_stored(journal: Journal, tmp_path: Path) -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl"
    entry_id = record(journal, "ml-infra/ci-bot", status="pending",
                      before={"role": "member", "key": KEY},
                      after={"role": "admin", "apiKey": "short", "note": f"Bearer {jwt}"})
    journal.write_outcome(entry_id, "failed", f"401 for key local-{KEY} / Basic YXBpOmFiYw==",
                          request_id="req-1")
    held = Secret("a-secret-that-is-held-in-memory")
    clean = record(journal, "ml-infra/dave", after={"role": "admin", "note": held.reveal()})

    text = _all_stored_text(tmp_path / "journal.sqlite3")
    for secret in (KEY, jwt, "short", "YXBpOmFiYw==", held.reveal()):
        assert secret not in text
    entry = journal.get(entry_id)
    assert entry.before == {"role": "member", "key": "***"}
    assert entry.after["apiKey"] == "***"
    assert "***" in entry.result and "401 for key" in entry.result
    # A masked entry can't be inverted faithfully, so it is never offered for undo.
    assert entry.reversible is False and "masked" in entry.result
    assert journal.get(clean).reversible is False


def test_long_names_without_digits_are_kept(journal: Journal) -> None:
    name = "customer-insights-quarterly-business-review-dashboards"
    entry = journal.get(record(journal, f"{name}/bob", after={"role": "admin", "team": name}))
    assert entry.target == f"{name}/bob" and entry.after["team"] == name
    assert entry.reversible is True


def _append_many(path: str, actor: str, count: int, start: object) -> None:
    start.wait()
    with Journal(path, timeout=60) as journal:
        for i in range(count):
            change = Note(target=f"team/{actor}-{i}", before=None, after={"role": "member"})
            entry_id = journal.write_intent(plan_id=actor, seq=i + 1, actor=actor,
                                            change=change)
            journal.write_outcome(entry_id, "applied", "ok", request_id=f"{actor}-{i}")


def test_two_processes_append_concurrently_without_loss(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    Journal(path).close()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    count = 150
    procs = [ctx.Process(target=_append_many, args=(path, actor, count, start))
             for actor in ("proc-a", "proc-b")]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Journal(path) as journal:
        entries = journal.query(newest_first=False)
        assert len(entries) == 2 * count
        assert len({e.id for e in entries}) == 2 * count
        assert all(e.status == "applied" for e in entries)
        for actor in ("proc-a", "proc-b"):
            mine = [e for e in entries if e.actor == actor]
            assert [e.seq for e in mine] == list(range(1, count + 1))
