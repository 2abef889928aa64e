"""Promotion decisions from the TUI: approve, reject, cancel, roll back (one request or the
marked ones). Each asks what it needs (a comment, a reason), shows the plan with Cancel
focused, asks for the collection's name when a production alias would move, applies through
`PromotionService` (which journals the alias move and the record) on the core change path,
and reports the outcome; the path re-reads the touched collection and every screen reloads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual import work

from ...core import errors as E
from ...core.change_path import ChangePath
from ...core.changes import Change, Plan
from ...core.engine import Engine
from ...core.promotions import PromotionService, load_policy
from ...core.promotions.changes import MoveAlias, RecordDecision
from ...core.promotions.policy import Policy
from ...core.promotions.record import Ref
from ...core.promotions.service import decision_notice
from ...core.promotions.views import Decision, Detail, QueueItem, record_state
from ..messages import RefreshFailed
from ..promotion_data import CONFIRM_ALIASES, RollbackCandidate, rollback_candidates
from ..screens.plan import ChoiceScreen, TypedConfirmScreen
from ..screens.promotion_dialogs import PromotionPlanScreen as PlanScreen
from ..screens.promotion_dialogs import PromptScreen

if TYPE_CHECKING:
    from ..app import WbAdminApp


def service_for(app: WbAdminApp, policy: Policy | None = None) -> PromotionService | None:
    """The service on the app's client, or None (offline, not connected, bad policy)."""
    session = app.session
    if session.client is None or session.offline:
        return None
    if policy is None:
        try:
            policy = load_policy()
        except Exception as exc:
            app.notify(str(exc), markup=False, title="Promotion policy", severity="error")
            return None
    return PromotionService(session.client, policy,
                            session.engine())


def _ready(app: WbAdminApp) -> PromotionService | None:
    if not app.capabilities.can_change:
        app.notify("read-only or offline: nothing was changed", severity="warning")
        return None
    service = service_for(app)
    if service is None and app.session.client is None:
        app.notify("not connected yet: nothing was changed", severity="warning")
    return service


def _failed(app: WbAdminApp, what: str, exc: Exception) -> None:
    hint = getattr(exc, "hint", None)
    app.notify(f"{exc}" + (f"\n{hint}" if hint else ""), markup=False,
               title=f"{what}: nothing changed", severity="error", timeout=12)


def _report(app: WbAdminApp, decision: Decision) -> None:
    app.notify(decision.message, markup=False, title=f"Promotion {decision.action}",
               timeout=8)
    for delivery in decision.notifications:
        if not delivery.ok:
            app.notify(f"{delivery.line()} (the decision stands)", markup=False,
                       title="Webhook failed", severity="warning", timeout=10)


async def _decide(app: WbAdminApp, service: PromotionService, ref: Ref, what: str,
                  work: Callable[[PromotionService], Awaitable[Decision]]) -> None:
    """One decision through the core change path (as `wbadmin promote` does): this org's
    writer lock, entries a crash left pending settled first, the collection re-read into the
    cache afterwards (every screen then reloads)."""
    path = ChangePath(app.session, on_wait=lambda text: app.notify(text, timeout=6))

    async def decide(engine: Engine) -> Decision:
        service.engine = engine
        return await work(service)

    try:
        decided = await path.decide(decide, decision_notice(ref), org=ref.org)
    except (E.WbError, ValueError) as exc:
        _failed(app, what, exc)
        return
    for settled in decided.reconciled:
        app.notify(settled.line(), markup=False, timeout=8)
    if decided.refresh_error:
        app.post_message(RefreshFailed("promotions", decided.refresh_error))
    _report(app, decided.result)


def _record_change(detail: Detail, decision: str, status: str, approvals: int) -> Change:
    ref = detail.version.ref
    return RecordDecision(target=str(ref), before=record_state(detail.record),
                          after={"status": status, "approvals": approvals},
                          version=str(ref), decision=decision)


async def _details(app: WbAdminApp, service: PromotionService,
                   items: list[QueueItem]) -> list[Detail]:
    """Fresh details (the plan is built from what W&B holds now, not from the cache)."""
    out = []
    for item in items:
        try:
            detail = await service.show(item.version.ref)
        except E.WbError as exc:
            _failed(app, str(item.version.ref), exc)
            continue
        if detail.record is None or not detail.record.is_open:
            app.notify(f"{item.version.ref}: no longer pending", severity="warning")
            continue
        out.append(detail)
    return out


async def _confirm_production(app: WbAdminApp, moves: list[tuple[Ref, str]]) -> bool:
    for ref, alias in moves:
        # A mistyped name asks again: the comment and the plan behind it are not lost.
        if alias in CONFIRM_ALIASES and not await app.push_screen_wait(TypedConfirmScreen(
                f"This moves {alias!r} of {ref.registry}/{ref.collection}", ref.collection,
                ask_again=True)):
            app.notify("not confirmed: nothing was changed", severity="warning")
            return False
    return True


# ---- approve ---------------------------------------------------------------------------------

def start_approve(app: WbAdminApp, items: list[QueueItem]) -> None:
    if items:
        _approve(app, items)


@work(exclusive=True, group="change")
async def _approve(app: WbAdminApp, items: list[QueueItem]) -> None:
    service = _ready(app)
    if service is None:
        return
    details = []
    for detail in await _details(app, service, items):
        if detail.why_not:
            app.notify(f"{detail.version.ref}: cannot approve: {detail.why_not[0]}",
                       markup=False, severity="warning", timeout=10)
        else:
            details.append(detail)
    if not details:
        return
    what = _what(details)
    comment = await app.push_screen_wait(PromptScreen(
        f"Approve {what}", "Comment for the record:"))
    if comment is None:
        return
    changes: list[Change] = []
    notes = []
    for d in details:
        assert d.record is not None and d.actor is not None
        have = len(d.record.approvals) + (0 if d.record.approved_by(d.actor.username) else 1)
        satisfied = d.policy is not None and d.policy.checks_pass and have >= d.policy.need
        moves = satisfied and d.actor.registry_admin
        if moves:
            changes.append(MoveAlias.make(d.version.ref, d.record.target,
                                          d.holder.version if d.holder else None,
                                          d.version.version))
        elif satisfied:
            notes.append(f"{d.version.ref}: the move waits for a registry admin")
        else:
            notes.append(f"{d.version.ref}: approval {have} of "
                         f"{d.policy.need if d.policy else '?'}; the alias does not move yet")
        changes.append(_record_change(d, "approve", "approved" if moves else "pending", have))
    plan = Plan(title=f"Approve {what}", changes=changes)
    note = "\n".join(([f"Comment: {comment}"] if comment else []) + notes)
    if not await app.push_screen_wait(PlanScreen(plan, note)):
        return
    moving = [(c.ref, c.alias) for c in changes if isinstance(c, MoveAlias)]
    if not await _confirm_production(app, moving):
        return
    for d in details:
        ref = d.version.ref
        await _decide(app, service, ref, f"approve {ref}",
                      lambda s, ref=ref: s.approve(ref, comment))


def _what(details: list[Detail]) -> str:
    if len(details) == 1:
        d = details[0]
        return f"{d.version.ref.collection}:{d.version.version} → " \
               f"{d.record.target if d.record else '?'}"
    return f"{len(details)} requests"


# ---- reject / cancel -------------------------------------------------------------------------

def start_reject(app: WbAdminApp, items: list[QueueItem]) -> None:
    if items:
        _reject(app, items)


@work(exclusive=True, group="change")
async def _reject(app: WbAdminApp, items: list[QueueItem]) -> None:
    service = _ready(app)
    if service is None:
        return
    details = []
    for d in await _details(app, service, items):
        assert d.record is not None
        me = d.actor.username if d.actor else None
        if me == d.record.requested_by:
            app.notify(f"{d.version.ref}: you requested it; cancel it instead (C)",
                       severity="warning")
        elif d.target is None or d.actor is None or not d.target.may_approve(
                d.actor.username, d.actor.teams, d.actor.registry_admin):
            app.notify(f"{d.version.ref}: you may not decide on this request",
                       severity="warning")
        else:
            details.append(d)
    if not details:
        return
    what = _what(details)
    reason = await app.push_screen_wait(PromptScreen(
        f"Reject {what}", "Reason (recorded and sent to the requester):", required=True))
    if not reason:
        return
    plan = Plan(title=f"Reject {what}", changes=[
        _record_change(d, "reject", "rejected", len(d.record.approvals) if d.record else 0)
        for d in details])
    if not await app.push_screen_wait(PlanScreen(plan, f"Reason: {reason}")):
        return
    for d in details:
        ref = d.version.ref
        await _decide(app, service, ref, f"reject {ref}",
                      lambda s, ref=ref: s.reject(ref, reason))


def start_cancel(app: WbAdminApp, item: QueueItem) -> None:
    _cancel(app, item)


@work(exclusive=True, group="change")
async def _cancel(app: WbAdminApp, item: QueueItem) -> None:
    service = _ready(app)
    if service is None:
        return
    details = await _details(app, service, [item])
    if not details:
        return
    d = details[0]
    assert d.record is not None
    if d.actor is None or d.actor.username != d.record.requested_by:
        app.notify(f"only the requester ({d.record.requested_by}) may cancel this request",
                   severity="warning")
        return
    plan = Plan(title=f"Cancel the request {_what(details)}",
                changes=[_record_change(d, "cancel", "cancelled", len(d.record.approvals))])
    if not await app.push_screen_wait(PlanScreen(plan, "The request leaves the queue.",
                                                 labels=("Keep the request",
                                                         "Cancel the request"))):
        return
    ref = d.version.ref
    await _decide(app, service, ref, f"cancel {ref}", lambda s: s.cancel(ref))


# ---- rollback --------------------------------------------------------------------------------

def start_rollback(app: WbAdminApp, prefer: Ref | None) -> None:
    _rollback(app, prefer)


@work(exclusive=True, group="change")
async def _rollback(app: WbAdminApp, prefer: Ref | None) -> None:
    service = _ready(app)
    if service is None:
        return
    chosen = await _rollback_target(app, prefer)
    if chosen is None:
        return
    holder_ref = chosen.ref.at(chosen.holder)
    plan = Plan(title=f"Roll back {chosen.ref.registry}/{chosen.ref.collection}:{chosen.alias}",
                changes=[MoveAlias.make(chosen.ref, chosen.alias, chosen.holder,
                                        chosen.previous),
                         RecordDecision(target=str(holder_ref),
                                        before={"status": "approved"},
                                        after={"status": "rolled_back"},
                                        version=str(holder_ref), decision="rollback")])
    if not await app.push_screen_wait(PlanScreen(
            plan, f"{chosen.alias} goes back to {chosen.previous or 'no version'}.")):
        return
    if not await _confirm_production(app, [(chosen.ref, chosen.alias)]):
        return
    await _decide(app, service, chosen.ref, f"rollback {chosen.ref}:{chosen.alias}",
                  lambda s: s.rollback(chosen.ref, chosen.alias))


async def _rollback_target(app: WbAdminApp, prefer: Ref | None) -> RollbackCandidate | None:
    """What B rolls back: an alias of the selected row's collection (`prefer`). When that
    collection has none, the dialog says so before offering the others: B never silently
    acts on another collection."""
    candidates = rollback_candidates(app.session.cache)
    if not candidates:
        app.notify("no alias moved by a wbadmin promotion is in place: nothing to roll back",
                   severity="warning", timeout=8)
        return None
    mine = [c for c in candidates if prefer is None or c.ref == prefer]
    if len(mine) == 1:
        return mine[0]
    if mine:
        title = "Roll back which alias?" if prefer is None else \
            f"Roll back which alias of {prefer.registry}/{prefer.collection}?"
    else:
        assert prefer is not None
        mine = candidates
        title = (f"{prefer.registry}/{prefer.collection} (the selected request) has nothing "
                 "to roll back: none of its aliases was moved by a wbadmin promotion. Roll "
                 "back another collection's alias instead? (esc: nothing changes)")
    picked = await app.push_screen_wait(ChoiceScreen(
        title, [(str(i), c.label, True) for i, c in enumerate(mine)]))
    return None if picked is None else mine[int(picked)]


def start_request_flow(app: WbAdminApp, registry: str, collection: str, version: int) -> None:
    _request_flow(app, registry, collection, version)


@work(exclusive=True, group="change")
async def _request_flow(app: WbAdminApp, registry: str, collection: str, version: int) -> None:
    """Ask for a promotion of one version (as `wbadmin promote request` does): the target
    alias among the policy's targets for this registry, a comment, a ticket if required."""
    service = _ready(app)
    if service is None:
        return
    targets = service.policy.targets_of(registry)
    if not targets:
        app.notify(f"the promotion policy declares no target alias for registry {registry}",
                   severity="warning", timeout=8)
        return
    target = await app.push_screen_wait(ChoiceScreen(
        f"Promote {collection}:v{version} to which alias?", [(t, t, True) for t in targets]))
    if target is None:
        return
    comment = await app.push_screen_wait(PromptScreen(
        f"Request {collection}:v{version} → {target}", "why (a comment for the approvers)"))
    if comment is None:
        return
    rules = service.policy.target(registry, target)
    ticket = None
    if rules is not None and any(name == "ticket" for name, _ in rules.required):
        ticket = await app.push_screen_wait(PromptScreen(
            f"Request {collection}:v{version} → {target}", "ticket (required by the policy)",
            required=True))
        if ticket is None:
            return
    ref = Ref(app.org or "", registry, collection, f"v{version}")
    await _decide(app, service, ref, "Request",
                  lambda s: s.request(ref, target, comment, ticket=ticket))
