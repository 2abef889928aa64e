"""The change engine against a target the tests control: a JSON file of role assignments.

The changes here are small concrete subclasses of Change; real W&B-backed changes build on the
same base class. Crashes are simulated in-process (an exception that is not an Exception, and
task cancellation) and for real (a child process that dies mid-apply).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from wbadmin.core.changes import (
    ApplyResult,
    Change,
    ChangeError,
    Outcome,
    Plan,
    register_change,
)
from wbadmin.core.engine import Engine, Progress, UndoRefused
from wbadmin.core.journal import Journal

KEY = "0123456789abcdef0123456789abcdef01234567"


class Crash(BaseException):
    """Not an Exception: like KeyboardInterrupt, it must not be journaled as a failure."""


class FileOrg:
    """The ctx: a JSON file mapping targets to state dicts, plus a log of every write."""

    def __init__(self, path: Path, journal_path: Path | None = None) -> None:
        self.path = path
        self.journal_path = journal_path
        self.gate = asyncio.Event()
        self.seen: list[tuple[str, str]] = []
        if not path.exists():
            self._save({"state": {}, "writes": []})

    def _load(self) -> dict:
        return json.loads(self.path.read_text())

    def _save(self, data: dict) -> None:
        self.path.write_text(json.dumps(data))

    def get(self, target: str) -> dict | None:
        return self._load()["state"].get(target)

    def put(self, target: str, state: dict | None, *, log: bool = True) -> str:
        data = self._load()
        if state is None:
            data["state"].pop(target, None)
        else:
            data["state"][target] = state
        if log:
            data["writes"].append(target)
        self._save(data)
        return f"req-{len(data['writes'])}"

    @property
    def writes(self) -> list[str]:
        return self._load()["writes"]


@register_change
@dataclass(kw_only=True)
class SetState(Change):
    """Moves a target to `after` (None removes it); its own inverse."""

    kind = "test.set_state"
    via = "JSON file"

    async def apply(self, ctx: FileOrg) -> ApplyResult:
        return ApplyResult(ctx.put(self.target, self.after), "written")

    async def read_current(self, ctx: FileOrg) -> dict | None:
        return ctx.get(self.target)


@register_change
@dataclass(kw_only=True)
class DeleteTeam(SetState):
    kind = "test.delete_team"
    reversible = False

    def summary(self) -> str:
        return "delete team"


@register_change
@dataclass(kw_only=True)
class Failing(SetState):
    kind = "test.failing"
    message: str = "HTTP 403 permission denied\nyou are not a team admin"

    async def apply(self, ctx: FileOrg) -> ApplyResult:
        raise ChangeError(self.message, request_id="req-denied")


@register_change
@dataclass(kw_only=True)
class DropsAfterWrite(SetState):
    """W&B took the change but the connection dropped before the answer arrived."""

    kind = "test.drops_after_write"

    async def apply(self, ctx: FileOrg) -> ApplyResult:
        ctx.put(self.target, self.after)
        raise ChangeError("connection reset by peer")


@register_change
@dataclass(kw_only=True)
class Liar(SetState):
    """Reports success but the server kept something else."""

    kind = "test.liar"

    async def apply(self, ctx: FileOrg) -> ApplyResult:
        return ApplyResult(ctx.put(self.target, {"role": "viewer"}))


@register_change
@dataclass(kw_only=True)
class Interrupted(SetState):
    """Dies during apply, `when` "before" or "after" W&B took the change; `how`: "raise"
    (Crash), "hang" (until the task is cancelled) or "exit" (the whole process)."""

    kind = "test.interrupted"
    when: str = "after"
    how: str = "raise"

    async def apply(self, ctx: FileOrg) -> ApplyResult:
        if self.when == "after":
            ctx.put(self.target, self.after)
        if self.how == "exit":
            os._exit(3)
        if self.how == "hang":
            ctx.gate.set()
            await asyncio.Event().wait()
        raise Crash


@register_change
@dataclass(kw_only=True)
class ProbeJournal(SetState):
    """Looks at the journal file from another connection while being applied."""

    kind = "test.probe_journal"

    async def apply(self, ctx: FileOrg) -> ApplyResult:
        with Journal(ctx.journal_path) as other:
            for entry in other.query(target=self.target):
                ctx.seen.append((entry.target, entry.status))
        return await super().apply(ctx)


def role(r: str) -> dict:
    return {"role": r}


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j


@pytest.fixture
def org(tmp_path: Path) -> FileOrg:
    org = FileOrg(tmp_path / "org.json", tmp_path / "journal.sqlite3")
    org.put("data-science-nlp/bob", role("member"), log=False)
    org.put("data-science-nlp/carol", role("viewer"), log=False)
    org.put("ai-governance/erin", role("member"), log=False)
    return org


@pytest.fixture
def engine(journal: Journal) -> Engine:
    return Engine(journal, profile="default")


def three_changes() -> Plan:
    return Plan("Team roles", [
        SetState(target="data-science-nlp/bob", before=role("member"), after=role("admin")),
        SetState(target="data-science-nlp/carol", before=role("viewer"), after=role("member")),
        SetState(target="ai-governance/erin", before=role("member"), after=None),
    ])


def test_plan_previews_as_a_readable_diff() -> None:
    plan = three_changes()
    plan.add(SetState(target="ml-infra/dave", before=None, after=role("member")))
    assert plan.preview() == [
        "~ data-science-nlp  bob    member → admin   (JSON file)",
        "~ data-science-nlp  carol  viewer → member  (JSON file)",
        "- ai-governance     erin   remove           (JSON file)",
        "+ ml-infra          dave   add member       (JSON file)",
    ]
    assert plan.changes[0].describe() == "~ data-science-nlp  bob  member → admin  (JSON file)"
    assert plan.summary() == "4 changes; undo possible for 4"
    plan.add(DeleteTeam(target="old-team", before={"members": 3}, after=None))
    assert plan.summary() == "5 changes; undo possible for 4"
    assert Plan().is_empty and Plan().summary() == "No changes"


async def test_apply_in_order_journals_and_rereads(engine: Engine, journal: Journal,
                                                   org: FileOrg) -> None:
    events: list[tuple[int, str | None]] = []

    def progress(p: Progress) -> None:
        events.append((p.index, p.outcome.status if p.outcome else None))

    plan = three_changes()
    outcomes = await engine.apply(plan, org, "alice", on_progress=progress)

    assert [o.status for o in outcomes] == ["applied"] * 3
    assert all(o.verified for o in outcomes)
    assert [o.request_id for o in outcomes] == ["req-1", "req-2", "req-3"]
    assert events == [(1, None), (1, "applied"), (2, None), (2, "applied"),
                      (3, None), (3, "applied")]
    assert org.writes == ["data-science-nlp/bob", "data-science-nlp/carol", "ai-governance/erin"]
    assert org.get("data-science-nlp/bob") == role("admin")
    assert org.get("ai-governance/erin") is None
    assert outcomes[0].line() == "✓ ~ data-science-nlp  bob  member → admin  (JSON file)"

    entries = journal.query(newest_first=False)
    assert [(e.seq, e.target, e.status, e.verified) for e in entries] == [
        (1, "data-science-nlp/bob", "applied", True),
        (2, "data-science-nlp/carol", "applied", True),
        (3, "ai-governance/erin", "applied", True),
    ]
    assert len({e.plan_id for e in entries}) == 1
    assert all(e.actor == "alice" and e.profile == "default" and e.finished_at for e in entries)
    assert [e.request_id for e in entries] == ["req-1", "req-2", "req-3"]
    assert [e.id for e in entries] == [o.entry_id for o in outcomes]

    # Re-planning after a successful apply is empty.
    assert (await plan.replan(org)).is_empty


async def test_intent_is_committed_before_the_api_call(engine: Engine, org: FileOrg) -> None:
    plan = Plan("probe", [ProbeJournal(target="data-science-nlp/bob", before=role("member"),
                                       after=role("admin"))])
    [outcome] = await engine.apply(plan, org, "alice")
    # Another connection (as another process would) saw the pending intent during the call.
    assert org.seen == [("data-science-nlp/bob", "pending")]
    assert outcome.status == "applied"


async def test_a_failure_does_not_stop_the_others(engine: Engine, journal: Journal,
                                                  org: FileOrg) -> None:
    plan = three_changes()
    plan.changes[1] = Failing(target="data-science-nlp/carol", before=role("viewer"),
                              after=role("member"))
    outcomes = await engine.apply(plan, org, "bob")

    assert [o.status for o in outcomes] == ["applied", "failed", "applied"]
    failed = outcomes[1]
    # One line, and no re-read noise: the target is as it was, as a failure should leave it.
    assert failed.result == "ChangeError: HTTP 403 permission denied you are not a team admin"
    assert failed.request_id == "req-denied" and failed.verified is False
    assert failed.line().startswith("✗ ~ data-science-nlp  carol  viewer → member")
    assert org.get("data-science-nlp/carol") == role("viewer")
    entry = journal.get(failed.entry_id)
    assert (entry.status, entry.request_id) == ("failed", "req-denied")
    assert "permission denied" in entry.result
    # Re-planning offers exactly what did not happen.
    assert [c.target for c in await plan.replan(org)] == ["data-science-nlp/carol"]


async def test_stop_on_error_skips_the_rest(engine: Engine, journal: Journal,
                                            org: FileOrg) -> None:
    plan = three_changes()
    plan.changes[0] = Failing(target="data-science-nlp/bob", before=role("member"),
                              after=role("admin"))
    outcomes = await engine.apply(plan, org, "bob", stop_on_error=True)
    assert [o.status for o in outcomes] == ["failed", "skipped", "skipped"]
    assert outcomes[1].entry_id is None and "earlier change failed" in outcomes[1].result
    assert org.writes == []
    assert [e.status for e in journal.query()] == ["failed"]  # nothing attempted, nothing logged


async def test_reread_that_differs_is_reported(engine: Engine, journal: Journal,
                                               org: FileOrg) -> None:
    plan = Plan("lie", [Liar(target="data-science-nlp/bob", before=role("member"),
                             after=role("admin"))])
    [outcome] = await engine.apply(plan, org, "alice")
    assert outcome.status == "applied" and outcome.verified is False
    assert outcome.current == role("viewer")
    assert "re-read shows role=viewer, expected role=admin" in outcome.result
    assert outcome.line().startswith("⚠ ")
    entry = journal.get(outcome.entry_id)
    assert entry.verified is False and "re-read shows role=viewer" in entry.result


async def test_failed_request_that_took_effect_is_applied(engine: Engine, journal: Journal,
                                                          org: FileOrg) -> None:
    plan = Plan("drop", [DropsAfterWrite(target="data-science-nlp/bob", before=role("member"),
                                         after=role("admin"))])
    [outcome] = await engine.apply(plan, org, "alice")
    assert outcome.status == "applied" and outcome.verified is True
    assert "connection reset by peer" in outcome.result
    assert journal.get(outcome.entry_id).status == "applied"


async def test_crash_after_the_remote_change_reconciles_as_applied(
        engine: Engine, journal: Journal, org: FileOrg) -> None:
    plan = Plan("crash", [
        SetState(target="data-science-nlp/carol", before=role("viewer"), after=role("member")),
        Interrupted(target="data-science-nlp/bob", before=role("member"), after=role("admin")),
        SetState(target="ai-governance/erin", before=role("member"), after=None),
    ])
    with pytest.raises(Crash):
        await engine.apply(plan, org, "alice")
    entries = journal.query(newest_first=False)
    assert [e.status for e in entries] == ["applied", "pending"]  # the third never started
    assert org.writes == ["data-science-nlp/carol", "data-science-nlp/bob"]

    [settled] = await engine.reconcile(org)
    assert (settled.entry.id, settled.status) == (entries[1].id, "applied")
    entry = journal.get(entries[1].id)
    assert entry.status == "applied" and entry.verified is True
    assert entry.result.startswith("reconciled")
    assert org.writes == ["data-science-nlp/carol", "data-science-nlp/bob"]  # not re-applied
    assert await engine.reconcile(org) == []  # nothing left pending
    assert [c.target for c in await plan.replan(org)] == ["ai-governance/erin"]


async def test_crash_before_the_remote_change_reconciles_as_not_applied(
        engine: Engine, journal: Journal, org: FileOrg) -> None:
    plan = Plan("crash", [Interrupted(target="data-science-nlp/bob", before=role("member"),
                                      after=role("admin"), when="before")])
    with pytest.raises(Crash):
        await engine.apply(plan, org, "alice")
    [settled] = await engine.reconcile(org)
    assert settled.status == "not_applied"
    assert journal.get(settled.entry.id).status == "not_applied"
    assert org.get("data-science-nlp/bob") == role("member")
    assert org.writes == []  # reconcile never applies
    assert len(await plan.replan(org)) == 1


async def test_interrupted_then_changed_by_someone_else_is_a_conflict(
        engine: Engine, journal: Journal, org: FileOrg) -> None:
    plan = Plan("crash", [Interrupted(target="data-science-nlp/bob", before=role("member"),
                                      after=role("admin"))])
    with pytest.raises(Crash):
        await engine.apply(plan, org, "alice")
    org.put("data-science-nlp/bob", role("viewer"))
    [settled] = await engine.reconcile(org)
    assert settled.status == "conflict" and "role=viewer" in settled.result
    assert journal.get(settled.entry.id).status == "conflict"


async def test_cancelled_apply_leaves_pending_then_reconciles(
        engine: Engine, journal: Journal, org: FileOrg) -> None:
    plan = Plan("hang", [Interrupted(target="data-science-nlp/bob", before=role("member"),
                                     after=role("admin"), how="hang")])
    task = asyncio.create_task(engine.apply(plan, org, "alice"))
    await org.gate.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [entry] = journal.query()
    assert entry.status == "pending"
    [settled] = await engine.reconcile(org)
    assert settled.status == "applied"
    assert org.writes == ["data-science-nlp/bob"]


def _apply_in_child(journal_path: str, org_path: str, when: str) -> None:
    plan = Plan("child", [Interrupted(target="data-science-nlp/bob", before=role("member"),
                                      after=role("admin"), when=when, how="exit")])
    engine = Engine(Journal(journal_path), profile="default")
    asyncio.run(engine.apply(plan, FileOrg(Path(org_path)), "alice"))


@pytest.mark.parametrize(("when", "status", "final_role"),
                         [("after", "applied", "admin"), ("before", "not_applied", "member")])
async def test_process_killed_mid_apply_is_reconciled(
        engine: Engine, journal: Journal, org: FileOrg, when: str, status: str,
        final_role: str) -> None:
    proc = multiprocessing.get_context("spawn").Process(
        target=_apply_in_child, args=(journal.path, str(org.path), when))
    proc.start()
    await asyncio.to_thread(proc.join, 120)
    assert proc.exitcode == 3
    writes = org.writes
    [settled] = await engine.reconcile(org)
    assert settled.status == status
    assert journal.get(settled.entry.id).status == status
    assert org.get("data-science-nlp/bob") == role(final_role)
    assert org.writes == writes  # nothing applied twice


async def test_reconcile_leaves_entries_of_a_live_process_alone(journal: Journal,
                                                                org: FileOrg) -> None:
    import socket
    change = SetState(target="data-science-nlp/bob", before=role("member"), after=role("admin"))
    entry_id = journal.write_intent(plan_id="p", seq=1, actor="alice", change=change,
                                    profile="default",
                                    owner=f"{socket.gethostname()}:{os.getppid()}")
    [settled] = await Engine(journal, profile="default").reconcile(org)
    assert settled.status == "pending" and "running wbadmin" in settled.result
    assert journal.get(entry_id).status == "pending"
    # Another profile's pending entries are not this engine's business.
    assert await Engine(journal, profile="other").reconcile(org) == []


async def test_undo_is_a_journaled_plan(engine: Engine, journal: Journal, org: FileOrg) -> None:
    [applied] = await engine.apply(Plan("one", [three_changes().changes[0]]), org, "alice")
    undo = await engine.plan_undo(applied.entry_id, org)
    assert undo.undo_of == applied.entry_id
    assert undo.preview() == ["~ data-science-nlp  bob  admin → member  (JSON file)"]
    assert undo.summary() == "1 change; undo possible for 1"

    [outcome] = await engine.apply(undo, org, "bob")
    assert outcome.status == "applied" and outcome.verified
    assert org.get("data-science-nlp/bob") == role("member")
    entry = journal.get(outcome.entry_id)
    assert (entry.undo_of, entry.actor, entry.before, entry.after) == (
        applied.entry_id, "bob", role("admin"), role("member"))

    with pytest.raises(UndoRefused, match=f"already undone by entry {outcome.entry_id}"):
        await engine.plan_undo(applied.entry_id, org)
    # The undo is itself undoable (a redo).
    [redo] = await engine.undo(outcome.entry_id, org, "alice")
    assert redo.status == "applied" and org.get("data-science-nlp/bob") == role("admin")


async def test_undo_of_a_removal_adds_back(engine: Engine, org: FileOrg) -> None:
    [removed] = await engine.apply(Plan("rm", [three_changes().changes[2]]), org, "alice")
    undo = await engine.plan_undo(removed.entry_id, org)
    assert undo.preview() == ["+ ai-governance  erin  add member  (JSON file)"]
    await engine.apply(undo, org, "alice")
    assert org.get("ai-governance/erin") == role("member")


async def test_undo_refused_when_the_state_moved_on(engine: Engine, org: FileOrg) -> None:
    [applied] = await engine.apply(Plan("one", [three_changes().changes[0]]), org, "alice")
    org.put("data-science-nlp/bob", role("viewer"))
    with pytest.raises(UndoRefused, match=r"has changed since entry .* now shows role=viewer"):
        await engine.plan_undo(applied.entry_id, org)


async def test_undo_refused_for_failed_irreversible_and_unknown(engine: Engine,
                                                                org: FileOrg) -> None:
    org.put("old-team", {"members": 3}, log=False)
    outcomes = await engine.apply(Plan("mixed", [
        Failing(target="data-science-nlp/bob", before=role("member"), after=role("admin")),
        DeleteTeam(target="old-team", before={"members": 3}, after=None),
    ]), org, "alice")
    failed, deleted = outcomes
    assert deleted.status == "applied"
    with pytest.raises(UndoRefused, match="was not applied \\(status failed\\)"):
        await engine.plan_undo(failed.entry_id, org)
    with pytest.raises(UndoRefused, match="cannot be undone"):
        await engine.plan_undo(deleted.entry_id, org)
    with pytest.raises(UndoRefused, match="no journal entry 999"):
        await engine.plan_undo(999, org)


async def test_secrets_in_a_change_stay_out_of_the_journal(
        engine: Engine, journal: Journal, org: FileOrg, tmp_path: Path) -> None:
    change = SetState(target="ml-infra/ci-bot", before=None,
                      after={"role": "member", "note": f"key {KEY}"})
    [outcome] = await engine.apply(Plan("sa", [change]), org, "alice")
    assert outcome.status == "applied" and outcome.verified  # the real value was applied
    files = list(tmp_path.glob("journal.sqlite3*"))  # the database and its WAL
    assert files
    for path in files:
        assert KEY.encode() not in path.read_bytes()
    entry = journal.get(outcome.entry_id)
    assert entry.after == {"role": "member", "note": "key ***"}
    with pytest.raises(UndoRefused, match="cannot be undone"):
        await engine.plan_undo(outcome.entry_id, org)


def test_change_records_round_trip() -> None:
    change = Failing(target="t/u", before=role("a"), after=role("b"), message="nope")
    record = change.to_record()
    assert record["params"] == {"message": "nope"}
    assert Change.from_record(json.loads(json.dumps(record))) == change
    assert change.inverse() == Failing(target="t/u", before=role("b"), after=role("a"),
                                       message="nope")
    assert isinstance(Outcome(change, "failed", 1, "x").line(), str)
