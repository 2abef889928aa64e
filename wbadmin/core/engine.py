"""The change engine: applies a Plan change by change, journaling intent before and outcome
after each API call, re-reads what it changed, reconciles interrupted applies, plans undos.

Crash safety rests on one rule: the intent row is committed before the API is called, and a
change that is interrupted (process killed, task cancelled, KeyboardInterrupt) leaves that row
'pending'. `reconcile` later re-reads the target and settles the row from what W&B shows. It
never re-applies anything, so nothing is applied twice; the user re-plans instead.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wbadmin.core import errors as E
from wbadmin.core.changes import Change, Outcome, Plan, State, UnknownChangeKind
from wbadmin.core.journal import Entry, Journal

ProgressCallback = Callable[["Progress"], Awaitable[None] | None]

# Entry ids being applied by this process right now; reconcile must not touch them.
_IN_FLIGHT: set[int] = set()
_HOST = socket.gethostname()


@dataclass(frozen=True)
class Progress:
    """Posted before (outcome None) and after (outcome set) each change."""

    index: int  # 1-based
    total: int
    change: Change
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Reconciled:
    """What reconciliation made of one pending entry. status 'pending' means left as is
    (still in flight elsewhere, unknown kind, re-read failed) with the reason in `result`."""

    entry: Entry
    status: str
    result: str
    current: State = None

    def line(self) -> str:
        return (f"journal entry {self.entry.id} ({self.entry.target}), left pending by an "
                f"interrupted apply: {self.status} — {self.result}")


class UndoRefused(Exception):
    """An entry cannot be undone; str() says why, in words for the user."""


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _reason(exc: BaseException) -> str:
    message = _one_line(str(exc))
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _owner() -> str:
    return f"{_HOST}:{os.getpid()}"


def _alive_elsewhere(owner: str) -> bool:
    """Whether the process that wrote an intent is another live process on this host."""
    host, _, pid_text = owner.rpartition(":")
    if host != _HOST or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Engine:
    """Applies plans against one profile's W&B (the `ctx` passed through to the changes)."""

    def __init__(self, journal: Journal, *, profile: str | None = None, attempts: int = 3,
                 retry_pause: float = 0.5) -> None:
        """`attempts`: tries of one change (and of each re-read) when W&B's answer was lost
        or W&B was briefly unwell; `retry_pause` grows with each (seconds)."""
        self.journal = journal
        self.profile = profile
        self.attempts = max(1, attempts)
        self.retry_pause = retry_pause

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # SQLite may wait on another process's lock; never block the event loop on it.
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- apply -----------------------------------------------------------------------------

    async def apply(self, plan: Plan, ctx: Any, actor: str, *,
                    on_progress: ProgressCallback | None = None,
                    stop_on_error: bool = False, plan_id: str | None = None,
                    first_seq: int = 1) -> list[Outcome]:
        """Apply every change in order; one Outcome per change. A failure does not stop the
        rest unless `stop_on_error` (the rest are then 'skipped' and not journaled).
        `plan_id` / `first_seq`: the rest of a plan whose first steps were journaled apart."""
        plan_id = plan_id or uuid.uuid4().hex
        outcomes: list[Outcome] = []
        total = len(plan.changes)
        failed = False
        for index, change in enumerate(plan.changes, first_seq):
            if failed and stop_on_error:
                outcome = Outcome(change, "skipped", None,
                                  "not attempted: an earlier change failed")
            else:
                await _emit(on_progress, Progress(index, total, change))
                outcome = await self._apply_one(plan, plan_id, index, change, ctx, actor)
                failed = failed or outcome.status == "failed"
            outcomes.append(outcome)
            await _emit(on_progress, Progress(index, total, change, outcome))
        return outcomes

    async def begin(self, plan: Plan, plan_id: str, seq: int, change: Change, actor: str, *,
                    due_at: float | None = None, note: str = "") -> int:
        """Journal `change`'s intent (or, with `due_at`, schedule it) for a caller that
        applies it step by step itself (a key rotation); `finish` when done with it."""
        entry_id = await self._db(
            self.journal.write_intent, plan_id=plan_id, seq=seq, actor=actor, change=change,
            plan_title=plan.title, profile=self.profile, owner=_owner(), due_at=due_at,
            note=note)
        if due_at is None:
            _IN_FLIGHT.add(entry_id)
        return entry_id

    @staticmethod
    def finish(entry_id: int) -> None:
        _IN_FLIGHT.discard(entry_id)

    async def _apply_one(self, plan: Plan, plan_id: str, seq: int, change: Change, ctx: Any,
                         actor: str) -> Outcome:
        entry_id = await self.begin(plan, plan_id, seq, change, actor)
        try:
            errors: list[str] = []
            while True:
                try:
                    result = await change.apply(ctx)
                except Exception as exc:
                    errors.append(_reason(exc))
                    verified, current, note = await self._reread(change, ctx)
                    if not verified and len(errors) < self.attempts and _transient(exc) \
                            and self._may_try_again(change, current, verified):
                        # The write's answer was lost, or W&B was briefly unwell, and the
                        # re-read says what is left: try the change again (a resumable
                        # change skips the steps W&B already took).
                        await asyncio.sleep(self.retry_pause * len(errors))
                        continue
                    return await self._failed(entry_id, change, exc, errors, verified,
                                              current, note)
                # Anything but an Exception (cancel, KeyboardInterrupt, SystemExit)
                # propagates with the entry still 'pending': whether W&B took the change is
                # unknown until it is re-read (reconcile).
                detail = _one_line(result.detail) if result and result.detail else "ok"
                if errors:
                    detail = _join(detail, f"took {len(errors) + 1} tries ({'; '.join(errors)})")
                request_id = result.request_id if result else None
                await self._db(self.journal.write_outcome, entry_id, "applied", detail,
                               request_id)
                verified, current, note = await self._reread(change, ctx)
                await self._db(self.journal.write_verification, entry_id, verified, note)
                return Outcome(change, "applied", entry_id, _join(detail, note), request_id,
                               verified, current)
        finally:
            self.finish(entry_id)

    @staticmethod
    def _may_try_again(change: Change, current: State, verified: bool | None) -> bool:
        """Whether applying again cannot do harm: W&B shows the change untouched, or the
        change is written to finish from where a partial apply left it."""
        if verified is None:  # not even a re-read: the outcome is still unknown
            return False
        return change.resumable or change.matches(current, change.before)

    async def _failed(self, entry_id: int, change: Change, exc: Exception, errors: list[str],
                      verified: bool | None, current: State, note: str) -> Outcome:
        reason = "; ".join(errors) if len(errors) > 1 else _reason(exc)
        request_id = getattr(exc, "request_id", None)
        if isinstance(exc, E.Taken) and len(errors) == 1:
            # Refused before anything was sent: what W&B shows is someone else's.
            status, result = "failed", reason
        elif verified and not change.matches(change.before, change.after):
            # The request errored (e.g. the connection dropped) yet W&B shows the change: it
            # was applied. Saying "failed" would invite applying it twice.
            status, result = "applied", f"the request failed ({reason}) but the re-read shows "\
                "the change in place"
        elif verified is False and change.matches(current, change.before):
            status, result = "failed", reason  # untouched, as a failure should leave it
        elif verified is False and _transient(exc):
            # The outcome was unknown and W&B shows neither before nor after: partly applied.
            # Not "failed", which would hide a change W&B took; the next apply of the same
            # intent plans from what W&B shows and finishes it.
            status, result = "conflict", _join(
                f"partly applied ({reason})", f"{note}; the next apply finishes it")
        else:
            # Re-read failed: say what is known.
            status, result = "failed", _join(reason, note)
        await self._db(self.journal.write_outcome, entry_id, status, result, request_id,
                       verified)
        return Outcome(change, status, entry_id, result, request_id, verified, current)

    async def _reread(self, change: Change, ctx: Any) -> tuple[bool | None, State, str]:
        """(verified, current state, note for the result). A re-read that fails for a
        transient reason is tried again: an outcome left unknown helps nobody."""
        for attempt in range(1, self.attempts + 1):
            try:
                current = await change.read_current(ctx)
                break
            except Exception as exc:
                if attempt == self.attempts or not _transient(exc):
                    return None, None, f"re-read failed: {_reason(exc)}"
                await asyncio.sleep(self.retry_pause * attempt)
        if change.matches(current, change.after):
            return True, current, ""
        return False, current, (f"re-read shows {_state_text(current)}, "
                                f"expected {_state_text(change.after)}")

    # -- reconcile -------------------------------------------------------------------------

    async def reconcile(self, ctx: Any) -> list[Reconciled]:
        """Settle entries left 'pending' by an interrupted apply, from a re-read of each target:
        shows `after` → 'applied'; shows `before` → 'not_applied' (not re-applied);
        anything else → 'conflict' (needs a person). Call on start."""
        settled: list[Reconciled] = []
        for entry in await self._db(self.journal.pending, self.profile):
            settled.append(await self._reconcile_one(entry, ctx))
        return settled

    async def _reconcile_one(self, entry: Entry, ctx: Any) -> Reconciled:
        owner = await self._db(self.journal.owner_of, entry.id)
        if entry.id in _IN_FLIGHT or _alive_elsewhere(owner):
            return Reconciled(entry, "pending", "still being applied by a running wbadmin")
        try:
            change = entry.change()
        except (UnknownChangeKind, TypeError) as exc:
            return Reconciled(entry, "pending", f"cannot rebuild the change: {_reason(exc)}")
        settle = getattr(change, "settle", None)
        if settle is not None:  # a kind with its own way to settle (a made, unhanded key)
            try:
                status, result = await settle(ctx)
            except Exception as exc:
                return Reconciled(entry, "pending", f"settling failed: {_reason(exc)}; "
                                  "will retry")
            if not await self._db(self.journal.resolve_pending, entry.id, status, result,
                                  status == "applied"):
                return Reconciled(entry, "pending", "already settled by another process")
            return Reconciled(entry, status, result)
        try:
            current = await change.read_current(ctx)
        except Exception as exc:
            return Reconciled(entry, "pending", f"re-read failed: {_reason(exc)}; will retry")
        if change.matches(current, change.after):
            status, verified = "applied", True
            result = "reconciled: interrupted, but the re-read shows the change in place"
        elif change.matches(current, change.before):
            status, verified = "not_applied", False
            result = "reconciled: interrupted before W&B took the change; not re-applied"
        else:
            status, verified = "conflict", False
            result = (f"reconciled: interrupted, and the target now shows "
                      f"{_state_text(current)} (neither before nor after); check it")
        if not await self._db(self.journal.resolve_pending, entry.id, status, result, verified):
            return Reconciled(entry, "pending", "already settled by another process", current)
        return Reconciled(entry, status, result, current)

    # -- undo ------------------------------------------------------------------------------

    async def plan_undo(self, entry_id: int, ctx: Any) -> Plan:
        """A plan holding the inverse of an applied, reversible entry, after checking that the
        target still shows what the entry left. Raises UndoRefused saying why not."""
        entry = await self._db(self.journal.get, entry_id)
        if entry is None:
            raise UndoRefused(f"there is no journal entry {entry_id}")
        if entry.status != "applied":
            raise UndoRefused(f"entry {entry_id} was not applied (status {entry.status}): "
                              "there is nothing to undo")
        if not entry.reversible:
            raise UndoRefused(f"entry {entry_id} ({entry.kind} on {entry.target}) cannot be "
                              "undone")
        undone = await self._db(self.journal.undone_by, entry_id)
        if undone is not None:
            raise UndoRefused(f"entry {entry_id} was already undone by entry {undone.id}")
        try:
            change = entry.change()
        except (UnknownChangeKind, TypeError) as exc:
            raise UndoRefused(f"entry {entry_id} cannot be rebuilt: {_reason(exc)}") from exc
        try:
            current = await change.read_current(ctx)
        except Exception as exc:
            raise UndoRefused(f"cannot re-read {entry.target} to check it: {_reason(exc)}") \
                from exc
        if not change.matches(current, change.after):
            raise UndoRefused(
                f"{entry.target} has changed since entry {entry_id}: it now shows "
                f"{_state_text(current)}, not {_state_text(change.after)}; undo refused")
        inverse = change.inverse()
        inverse.undo_of = entry_id
        return Plan(title=f"Undo entry {entry_id}: {change.describe()}", changes=[inverse],
                    undo_of=entry_id)

    async def undo(self, entry_id: int, ctx: Any, actor: str, *,
                   on_progress: ProgressCallback | None = None) -> list[Outcome]:
        """plan_undo + apply (the CLI's `wbadmin undo ENTRY` without a confirm step)."""
        return await self.apply(await self.plan_undo(entry_id, ctx), ctx, actor,
                                on_progress=on_progress)


async def _emit(callback: ProgressCallback | None, progress: Progress) -> None:
    if callback is None:
        return
    result = callback(progress)
    if inspect.isawaitable(result):
        await result


def _transient(exc: BaseException) -> bool:
    """An error after which the same request may succeed: a lost answer, a dropped or
    refused connection, a server error, rate limiting (the client's own retries spent)."""
    return isinstance(exc, (E.Offline, E.ServerError, E.RateLimited))


def _state_text(state: State) -> str:
    if state is None:
        return "nothing (absent)"
    return ", ".join(f"{k}={v}" for k, v in state.items()) or "{}"


def _join(first: str, second: str) -> str:
    return "; ".join(p for p in (first, second) if p and p != "ok") or first
