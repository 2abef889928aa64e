"""The one change path: every write wbadmin makes — a role edit, a CSV, a finding's fix, an
undo, an org file, an onboarding template — goes through `ChangePath.run`, from the CLI and
from the TUI alike, which only supply the confirmation and show the outcome:

1. one writer per org on this machine (`org_lock`), waiting or refusing (`--no-wait`);
2. journal entries a crash left `pending` are settled first (`Engine.reconcile`), so a
   change W&B took before the crash is counted once, and not planned again;
3. the plan is made from W&B: the teams (and people) it touches are re-read into the cache
   (everything, for org-wide changes, plans that look empty and plans the cache refused) and
   the plan is made again from that, so a cache that looks right is never trusted alone, and
   each change's `before` is W&B's own;
4. confirmation, through the caller's callback; a plan the person agreed to in a dialog is
   made again from W&B first, and if W&B moved meanwhile the new plan is shown and
   confirmed again;
5. apply (the engine re-reads what a lost answer left and finishes it), journal;
6. the cache is refreshed for what changed, and a `ChangeNotice` goes to every subscriber.

A promotion decision plans inside W&B's own lock on the version (its service re-reads the
record there and checks the policy again), so it takes the path as `decide`: steps 1, 2 and
6 around the service's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import errors as E
from .changes import Outcome, Plan
from .engine import Engine, ProgressCallback, Reconciled
from .org_lock import org_lock

if TYPE_CHECKING:
    from .access.plans import Review
    from .session import Session

T = TypeVar("T")
Confirm = Callable[["Review", bool], Awaitable[bool] | bool]
MakeReview = Callable[[], "Review"]
# How a caller applies a confirmed plan when it keeps its own record as it goes (an
# onboarding walkthrough saves itself after every change): (engine, plan, actor) → outcomes.
Applier = Callable[[Engine, Plan, str], Awaitable[list[Outcome]]]


class ReadOnly(E.PermissionDenied):
    """Read-only mode: nothing may change (exit 4)."""


@dataclass(frozen=True)
class ChangeNotice:
    """What a change path run changed, for every screen to refresh: teams touched, people
    touched, registry collections touched (registry, collection), and whether org-wide facts
    (org roles, seats, registries) may have moved."""

    teams: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()
    org: bool = False
    collections: frozenset[tuple[str, str]] = frozenset()


@dataclass
class ChangeReport:
    """What one run did. `outcomes` is empty when nothing was applied: see `declined` and
    `nothing_to_do`."""

    review: Review | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    reconciled: list[Reconciled] = field(default_factory=list)
    declined: bool = False
    nothing_to_do: bool = False
    refresh_error: str | None = None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status not in ("applied", "skipped", "scheduled")]


@dataclass
class Decided(Generic[T]):
    """What `decide` did: the work's own result, the pending entries settled first, and the
    cache refresh's error if it failed."""

    result: T
    reconciled: list[Reconciled] = field(default_factory=list)
    refresh_error: str | None = None


def fingerprint(plan: Plan) -> list[tuple[Any, ...]]:
    """What a confirmation agreed to: the same changes on the same targets from the same
    states."""
    return [(c.kind, c.target, repr(c.before), repr(c.after)) for c in plan]


def touched(plan: Plan) -> ChangeNotice:
    teams = {t for c in plan if (t := getattr(c, "team", None))}
    people = {p for c in plan if (p := getattr(c, "username", None))}
    org = any(not getattr(c, "team", None) for c in plan)
    return ChangeNotice(frozenset(teams), frozenset(people), org)


class ChangePath:
    """One session's way to change W&B. `confirm(review, changed)` is asked with the plan
    made from W&B's state (`changed`: W&B moved since the caller last showed a plan); without
    it a plan is never applied (`decide` confirms inside its own work)."""

    def __init__(self, session: Session, confirm: Confirm | None = None, *, wait: bool = True,
                 on_wait: Callable[[str], None] | None = None,
                 on_progress: ProgressCallback | None = None,
                 stop_on_error: bool = False) -> None:
        self.session = session
        self.confirm = confirm
        self.wait = wait
        self.on_wait = on_wait
        self.on_progress = on_progress
        self.stop_on_error = stop_on_error

    # ---- the whole path ----------------------------------------------------------------

    async def run(self, make: MakeReview, *, apply: Applier | None = None) -> ChangeReport:
        """Plan with `make` — on the cache, once it holds W&B's state of the plan's
        targets — confirm, apply. For commands, whose plan is made from their arguments."""
        async def fresh() -> Review:
            return await self._fresh_review(make)

        return await self.run_with(fresh, apply=apply)

    async def run_intent(self, intent: Plan, review_of: Callable[[Plan], Review], *,
                         shown: bool = True) -> ChangeReport:
        """Apply a plan the person saw (a dialog, an undo): each target is read from W&B
        again, changes already in place are dropped and the rest take W&B's `before`; if
        that is not the plan they agreed to (`shown`), the new one is confirmed first."""
        async def fresh() -> Review:
            return review_of(await self._reread(intent))

        return await self.run_with(fresh, intent if shown else None)

    async def run_with(self, fresh: Callable[[], Awaitable[Review]],
                       shown: Plan | None = None, *, apply: Applier | None = None,
                       org: str | None = None) -> ChangeReport:
        """The path with the caller's own fresh planning (`fresh` reads W&B and plans: an
        org file against W&B's state); `shown` as for run_intent; `apply` instead of the
        engine's own apply; `org` when the cache cannot tell it."""
        session = self.session
        async with self._guard(org) as (engine, reconciled):
            report = ChangeReport(reconciled=reconciled)
            agreed = fingerprint(shown) if shown is not None else None
            while True:
                review = await fresh()
                report.review = review
                if review.plan.is_empty:
                    report.nothing_to_do = True
                    if report.reconciled:
                        self.notify(ChangeNotice(org=True))
                    return report
                await self._refuse_what_the_server_lacks(review.plan)
                if agreed is not None and fingerprint(review.plan) == agreed:
                    break
                if self.confirm is None or not await _call(self.confirm, review,
                                                           agreed is not None):
                    report.declined = True
                    return report
                if shown is None:  # confirmed on the plan just read from W&B: apply it
                    break
                agreed = fingerprint(review.plan)  # a dialog was open: read once more
            actor = session.username or session.cached_username() or "unknown"
            if apply is not None:
                report.outcomes = await apply(engine, review.plan, actor)
            else:
                report.outcomes = await engine.apply(review.plan, session.client, actor,
                                                     on_progress=self.on_progress,
                                                     stop_on_error=self.stop_on_error)
            notice = touched(review.plan)
            report.refresh_error = await self._refresh(notice)
            self.notify(notice)
            return report

    async def decide(self, work: Callable[[Engine], Awaitable[T]], notice: ChangeNotice, *,
                     org: str | None = None) -> Decided[T]:
        """A write that plans, checks and confirms inside itself from W&B's state (a
        promotion decision): one writer per org, pending entries settled first, then `work`
        with the engine to journal through; once it returns, the cache is refreshed for
        `notice` and every subscriber told. (If it raises, nothing is refreshed: a failed
        decision changed nothing, and a dead server is not asked twice.)"""
        async with self._guard(org) as (engine, reconciled):
            result = await work(engine)
            refresh_error = await self._refresh(notice)
            self.notify(notice)
            return Decided(result, reconciled, refresh_error)

    # ---- steps -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _guard(self, org: str | None) -> AsyncIterator[tuple[Engine, list[Reconciled]]]:
        """Steps 1 and 2: writable, this org's lock held, pending entries settled."""
        session = self.session
        if session.read_only:
            raise ReadOnly("read-only mode: this would change W&B; nothing changed",
                           hint="run without --read-only")
        client = session.client or session.connect()
        if org is None and session.cache is not None:
            org = session.cache.meta("org")
        async with _AsyncOrgLock(session.server, org, self.wait, self.on_wait):
            engine = session.engine()
            yield engine, await engine.reconcile(client)

    async def _blame_the_server(self, exc: Any) -> None:
        """A plan refused for what the key may not use (SCIM) when it is the *server* that
        lacks it: said as such (ServerLacks, exit 1), not as a role limit."""
        from .server_facts import ServerLacks

        needs = getattr(exc, "needs", None)
        if needs and (facts := await self.session.server_facts()).lacks(needs):
            where = f" at {facts.scim_prefix}" if needs == "SCIM" and facts.scim_prefix else ""
            raise ServerLacks(f"this server has no {needs} API{where}, which this change "
                              "needs: nothing was changed") from None

    async def _refuse_what_the_server_lacks(self, plan: Plan) -> None:
        await refuse_what_the_server_lacks(self.session, plan)

    async def _fresh_review(self, make: MakeReview) -> Review:
        """The plan made again once W&B's state of its targets is in the cache."""
        from .access import AccessError

        try:
            first = make()
        except AccessError:  # the cache may be what is wrong: read everything, then judge
            await self._refresh(ChangeNotice(org=True), strict=True)
            try:
                return await self._read_at_plan(make())
            except AccessError as exc:
                await self._blame_the_server(exc)
                raise
        await self.read_targets(first.plan)
        return await self._read_at_plan(make())

    async def _read_at_plan(self, review: Review) -> Review:
        """Changes whose target the cache does not hold (`Change.read_at_plan`) read from W&B:
        those W&B already shows leave the plan — in place, so a caller holding the plan (a
        walkthrough's filled template) keeps what is shown."""
        plan = review.plan
        live = [c for c in plan if c.read_at_plan]
        if not live:
            return review
        client = self.session.client
        currents = await asyncio.gather(*(c.read_current(client) for c in live))
        shown = {id(c) for c, current in zip(live, currents, strict=True)
                 if c.matches(current, c.after)}
        plan.changes[:] = [c for c in plan.changes if id(c) not in shown]
        return review

    async def read_targets(self, plan: Plan) -> None:
        """W&B's state of what `plan` touches, into the cache, before planning again from it
        (everything, for a plan that looks empty or org-wide); raises if W&B cannot be read,
        so no plan is made from a cache W&B could not refresh."""
        await self._refresh(touched(plan) if not plan.is_empty else ChangeNotice(org=True),
                            strict=True)

    async def read_teams(self, teams: list[str]) -> None:
        """These teams as W&B shows them now, into the cache, before planning from them
        (raises if W&B cannot be read, as `read_targets`)."""
        await self._refresh(ChangeNotice(teams=frozenset(teams)), strict=True)

    async def _reread(self, intent: Plan) -> Plan:
        """`intent` as W&B shows its targets now: changes already in place dropped, the
        rest with W&B's `before` (all targets read at once; the client bounds how many)."""
        client = self.session.client
        currents = await asyncio.gather(*(c.read_current(client) for c in intent))
        keep = []
        for change, current in zip(intent.changes, currents, strict=True):
            if change.matches(current, change.after):
                continue
            if change.before is not None and current is not None \
                    and not change.matches(current, change.before):
                change = dataclasses.replace(change, before=current)  # W&B moved
            keep.append(change)
        return Plan(title=intent.title, changes=keep, undo_of=intent.undo_of)

    async def _refresh(self, notice: ChangeNotice, *, strict: bool = False) -> str | None:
        """Re-read what `notice` names into the cache; the error text if that failed (the
        cache is a convenience: a change that is done stays done). `strict`: before
        planning, where a plan from a cache W&B could not refresh must not be made."""
        from .sync import Syncer

        session = self.session
        syncer = Syncer(session.client, session.cache, clock=session.clock)
        syncer.identity = session.cached_identity()
        try:
            if notice.org or (notice.teams and syncer.identity is None):
                await syncer.full(invites=False)
            elif notice.teams:
                await syncer.refresh_teams(sorted(notice.teams))
            for registry, name in sorted(notice.collections):
                await syncer.refresh_collection(registry, name)
        except E.WbError as exc:
            if strict:
                raise
            return str(exc)
        return None

    def notify(self, notice: ChangeNotice) -> None:
        for subscriber in list(self.session.change_subscribers):
            subscriber(notice)


async def refuse_what_the_server_lacks(session: Session, plan: Plan) -> None:
    """At plan time, before the plan is confirmed: a change needing what this server lacks
    (a mutation, SCIM) refuses the whole plan (`ServerLacks`, exit 1), so none of it is
    applied; so does one needing W&B's libraries where they are not installed
    (`LibraryMissing`). Only plans with such changes ask for the server's facts."""
    if any(change.documents or change.uses_scim for change in plan):
        (await session.server_facts()).refuse_plan(plan)
    if any(change.uses_library for change in plan):  # and what this machine lacks
        from .wandb_library import check_installed

        check_installed()


class _AsyncOrgLock:
    """`org_lock` taken on a thread (waiting for it must not stop the event loop)."""

    def __init__(self, server: str, org: str | None, wait: bool,
                 on_wait: Callable[[str], None] | None) -> None:
        self._cm = org_lock(server, org, wait=wait, on_wait=on_wait)

    async def __aenter__(self) -> None:
        await asyncio.to_thread(self._cm.__enter__)

    async def __aexit__(self, *exc: Any) -> None:
        await asyncio.to_thread(self._cm.__exit__, *exc)


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    result = fn(*args)
    return await result if inspect.isawaitable(result) else result
