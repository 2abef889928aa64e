"""The promotion service: the queue, a request's detail, and every decision on it.

Each decision checks the policy before touching anything (so a forbidden one changes nothing),
then takes the version's lock (`store.locked`), re-reads, checks again, and applies its changes
through the engine (journaled): the alias move (`MoveAlias`) and the record (`RecordDecision`).
Webhooks are told afterwards; their failures are reported, never raised.

Who moves the alias: the approval that satisfies the policy moves it, as the approving
identity. Only registry admins may set a protected alias in W&B; when the approver is not one
(a named user or team in the policy), the approval is recorded and the move waits for a
registry admin's `approve`, which records their approval too and moves the alias.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import httpx

from .. import errors as E
from ..change_path import ChangeNotice
from ..changes import Outcome, Plan
from ..client import Client
from ..engine import Engine
from . import store, webhooks, wire
from .changes import MoveAlias, RecordDecision
from .policy import Policy, Target
from .record import VERSION_RE, Approval, Record, Ref, new_id, now_iso, parse_record
from .views import Decision, Detail, HistoryEntry, QueueItem, record_state
from .wire import Actor, Version

SORTS = ("age", "target", "collection", "requester")


def decision_notice(ref: Ref) -> ChangeNotice:
    """What a decision on `ref` changes, for the change path to refresh and announce: its
    collection (aliases, tags and the record live there)."""
    return ChangeNotice(collections=frozenset({(ref.registry, ref.collection)}))


class PolicyDenied(E.PermissionDenied):
    kind = "policy"
    hint = "see `wbadmin promote show` and the promotion policy"


class NotPending(E.Conflict):
    hint = "see `wbadmin promote show`"


class PromotionService:
    def __init__(self, client: Client, policy: Policy, engine: Engine, *,
                 webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client, self.policy, self.engine = client, policy, engine
        self.webhook_transport = webhook_transport
        self._me: tuple[str, tuple[str, ...]] | None = None

    # ---- reading ---------------------------------------------------------------------------

    async def queue(self, org: str, *, registry: str | None = None, target: str | None = None,
                    sort: str = "age", holders: bool = False) -> list[QueueItem]:
        """Open requests across the org's registries (or one), sorted. `holders`: also read
        each target alias's current holder (one call per collection and alias), so each item
        knows its metric regressions."""
        versions = await wire.registry_versions(self.client, org, registry=registry,
                                                tag_prefix="promote-to-")
        items = []
        for version in versions:
            record = parse_record(version.metadata)
            if record is None or not record.is_open or (target and record.target != target):
                continue
            rules = self.policy.target(version.ref.registry, record.target)
            items.append(QueueItem(version, record, None if rules is None
                                   else rules.status(record, version.metadata),
                                   metrics=self.policy.metrics))
        if holders:
            found: dict[tuple[str, str, str], Version | None] = {}
            for item in items:
                ref, alias = item.version.ref, item.record.target
                key = (ref.registry, ref.collection, alias)
                if key not in found:
                    found[key] = await wire.membership(self.client, ref, alias)
                item.holder = found[key]
        key = {"age": lambda i: (i.record.requested_at, str(i.version.ref)),
               "target": lambda i: (i.record.target, i.record.requested_at),
               "collection": lambda i: (i.version.ref.collection, i.version.index),
               "requester": lambda i: (i.record.requested_by, i.record.requested_at)}[sort]
        return sorted(items, key=key)

    async def show(self, ref: Ref) -> Detail:
        version = await store.read(self.client, ref)
        record = parse_record(version.metadata)
        rules = None if record is None else self.policy.target(version.ref.registry,
                                                               record.target)
        holder = None if record is None else await wire.membership(
            self.client, version.ref, record.target)
        actor = await self.actor(version)
        why_not: list[str] = []
        if record is None:
            why_not = ["there is no promotion request on this version"]
        elif rules is not None:
            why_not = self._approve_problems(record, rules, actor, version)
        status = None if rules is None or record is None else rules.status(record,
                                                                           version.metadata)
        return Detail(version, record, rules, status, holder, actor, why_not,
                      metrics=self.policy.metrics)

    async def history(self, ref: Ref) -> list[HistoryEntry]:
        """Every request and decision on a collection's versions, oldest first."""
        versions = await wire.registry_versions(self.client, ref.org, registry=ref.registry,
                                                collection=ref.collection)
        entries = []
        for version in versions:
            if version.ref.collection != ref.collection:
                continue
            record = parse_record(version.metadata)
            for item in record.history if record else []:
                details = {k: v for k, v in item.items()
                           if k not in ("action", "by", "at", "comment", "reason")}
                entries.append(HistoryEntry(
                    version.version, str(item.get("target") or record.target),
                    str(item.get("action")), str(item.get("by")), str(item.get("at")),
                    str(item.get("reason") or item.get("comment") or ""), details))
        return sorted(entries, key=lambda e: (e.at, e.version))

    async def actor(self, version: Version) -> Actor:
        return await wire.actor(self.client, version)

    # ---- deciding --------------------------------------------------------------------------

    async def request(self, ref: Ref, target: str, comment: str,
                      ticket: str | None = None) -> Decision:
        version = await store.read(self.client, ref)
        rules = self._target(version, target)
        if target in version.aliases:
            raise E.Conflict(f"{version.ref} already holds {target!r}: nothing to promote",
                             hint="pick another version")
        me, _ = await self._viewer()
        now = now_iso()
        draft = Record(target=target, requested_by=me, requested_at=now, comment=comment,
                       ticket=ticket, id=new_id())
        if problems := rules.field_problems(draft):
            raise E.BadRequest(f"{version.ref}: cannot request {target}: {problems[0]}",
                               hint="add the missing field (e.g. --ticket ABC-123)")
        existing = parse_record(version.metadata)
        if existing is not None and existing.is_open:
            return self._same_request(version, existing, target)

        def mutate(current: Record | None, _v: Version) -> Record | None:
            if current is not None and current.is_open:
                return None  # someone asked meanwhile: asking twice changes nothing
            record = replace(draft, history=list(current.history) if current else [])
            record.event("request", me, now, target=target, comment=comment, ticket=ticket)
            return record

        async with store.locked(self.client, version):
            decision = await self._record(version, "request", mutate, me, rules)
        if not decision.changed and decision.record is not None:
            return self._same_request(version, decision.record, target)
        decision.message = f"requested {version.ref} → {target}"
        await self._notify(decision, "request", me, comment=comment)
        return decision

    def _same_request(self, version: Version, record: Record, target: str) -> Decision:
        if record.target != target:
            raise E.Conflict(f"{version.ref} already has a pending request to "
                             f"{record.target!r} (by {record.requested_by})",
                             hint="cancel it first (wbadmin promote cancel)")
        return Decision("request", version, record, False,
                        f"{version.ref} → {target} was already requested by "
                        f"{record.requested_by} at {record.requested_at}: nothing changed")

    async def approve(self, ref: Ref, comment: str = "") -> Decision:
        version, record, rules = await self._open(ref)
        actor = await self.actor(version)
        self._check_approve(record, rules, actor, version)
        async with store.locked(self.client, version):
            version, record, rules = await self._open(ref)
            self._check_approve(record, rules, actor, version)
            now = now_iso()
            counted = replace(record, approvals=[*record.approvals,
                                                 Approval(actor.username, now, comment)]) \
                if not record.approved_by(actor.username) else record
            status = rules.status(counted, version.metadata)
            outcomes: list[Outcome] = []
            moved, previous, note = False, None, None
            if status.satisfied and actor.registry_admin:
                moved, previous, note, outcomes = await self._move(version, rules.alias,
                                                                   actor.username)
            elif status.satisfied:
                note = (f"approved by policy; the move of {rules.alias!r} waits for a registry "
                        f"admin (only registry admins may set a protected alias): run "
                        f"`wbadmin promote approve {version.ref}` as one")

            def mutate(current: Record | None, v: Version) -> Record | None:
                if current is None or not current.is_open:
                    return None
                changed = False
                if not current.approved_by(actor.username):
                    current.approvals.append(Approval(actor.username, now, comment))
                    current.event("approve", actor.username, now, target=current.target,
                                  comment=comment)
                    changed = True
                if moved:
                    current.status, current.previous = "approved", previous
                    current.decided_by, current.decided_at = actor.username, now
                    current.event("promote", actor.username, now, target=current.target,
                                  **{"from": previous, "to": v.version})
                    changed = True
                return current if changed else None

            decision = await self._record(version, "approve", mutate, actor.username, rules)
        decision.outcomes[:0] = outcomes
        decision.moved, decision.waiting = moved, None if moved else note
        have = len(decision.record.approvals) if decision.record else 0
        if moved:
            decision.message = (f"approved: {version.ref.collection_path}:{rules.alias} is now "
                                f"{version.version} (was {previous or 'unset'})")
        elif not decision.changed:
            decision.message = f"{actor.username} already approved {version.ref}"
        else:
            decision.message = f"approval recorded ({have} of {rules.approvals})"
        if note and not moved:
            decision.message += f"; {note}"
        if decision.changed:
            await self._notify(decision, "approve", actor.username, comment=comment,
                               approvals=have, approvals_required=rules.approvals,
                               moved=moved, **{"from": previous, "to": version.version})
        return decision

    async def reject(self, ref: Ref, reason: str) -> Decision:
        if not reason.strip():
            raise E.BadRequest("a rejection needs a reason", hint="pass --reason TEXT")
        return await self._close(ref, "reject", "rejected", reason)

    async def cancel(self, ref: Ref, comment: str = "") -> Decision:
        return await self._close(ref, "cancel", "cancelled", comment)

    async def rollback(self, ref: Ref, alias: str, comment: str = "") -> Decision:
        """Move `alias` back to the version that held it before wbadmin promoted its holder."""
        holder = await wire.membership(self.client, ref, alias)
        if holder is None:
            raise E.NotFound(f"no version of {ref.collection_path} holds {alias!r}")
        record = parse_record(holder.metadata)
        if record is None or record.status != "approved" or record.target != alias:
            raise E.Conflict(f"{holder.ref} holds {alias!r} but wbadmin did not promote it, so "
                             "the previous holder is unknown",
                             hint="move the alias by hand (registry admins)")
        actor = await self.actor(holder)
        if not actor.registry_admin:
            raise PolicyDenied(f"{actor.username} may not roll back {alias!r}: only registry "
                               "admins may move a protected alias")
        async with store.locked(self.client, holder):
            change = MoveAlias.make(holder.ref, alias, holder.version, record.previous)
            outcomes = await self.engine.apply(
                Plan(title=f"Roll back {holder.ref.collection_path}:{alias}",
                     changes=[change]), self.client, actor.username)
            if not outcomes[0].ok:
                raise E.Conflict(f"rollback of {alias!r} failed: {outcomes[0].result}")
            now = now_iso()

            def mutate(current: Record | None, _v: Version) -> Record | None:
                if current is None or current.status != "approved":
                    return None
                current.status = "rolled_back"
                current.event("rollback", actor.username, now, target=alias, comment=comment,
                              **{"from": holder.version, "to": record.previous})
                return current

            rules = self.policy.target(holder.ref.registry, alias)
            decision = await self._record(holder, "rollback", mutate, actor.username, rules)
        decision.outcomes[:0] = outcomes
        decision.moved = True
        decision.message = (f"rolled back: {holder.ref.collection_path}:{alias} is now "
                            f"{record.previous or 'unset'} (was {holder.version}); journal entry "
                            f"{outcomes[0].entry_id} undoes it")
        await self._notify(decision, "rollback", actor.username, comment=comment,
                           **{"from": holder.version, "to": record.previous})
        return decision

    # ---- helpers ---------------------------------------------------------------------------

    async def _viewer(self) -> tuple[str, tuple[str, ...]]:
        if self._me is None:
            self._me = await wire.viewer(self.client)
        return self._me

    def _target(self, version: Version, alias: str) -> Target:
        if alias == "latest" or VERSION_RE.match(alias):
            raise E.BadRequest(f"{alias!r} is set by W&B itself and cannot be a promotion "
                               "target")
        rules = self.policy.target(version.ref.registry, alias)
        if rules is None:
            declared = ", ".join(self.policy.targets_of(version.ref.registry)) or "none"
            where = self.policy.path or "the built-in policy"
            raise E.BadRequest(f"{alias!r} is not a protected promotion target of registry "
                               f"{version.ref.registry!r} (declared in {where}: {declared})",
                               hint="declare it under [registries.<name>.<alias>] in the "
                                    "promotion policy")
        return rules

    async def _open(self, ref: Ref) -> tuple[Version, Record, Target]:
        version = await store.read(self.client, ref)
        record = parse_record(version.metadata)
        if record is None:
            raise E.NotFound(f"{version.ref}: there is no promotion request on this version")
        if not record.is_open:
            by = f" by {record.decided_by}" if record.decided_by else ""
            raise NotPending(f"{version.ref}: the request to {record.target} is "
                             f"{record.status.replace('_', ' ')}{by}, not pending")
        return version, record, self._target(version, record.target)

    def _approve_problems(self, record: Record, rules: Target, actor: Actor,
                          version: Version) -> list[str]:
        if not record.is_open:
            return [f"the request is {record.status}"]
        if actor.username == record.requested_by:
            return [f"{actor.username} requested it: a requester never approves their own "
                    "request"]
        if not rules.may_approve(actor.username, actor.teams, actor.registry_admin):
            return [f"{actor.username} may not approve promotions to {rules.alias} in "
                    f"{version.ref.registry} (allowed: {rules.approvers_text()})"]
        status = rules.status(record, version.metadata)
        return [b for b in status.blockers() if "approvals" not in b]

    def _check_approve(self, record: Record, rules: Target, actor: Actor,
                       version: Version) -> None:
        if problems := self._approve_problems(record, rules, actor, version):
            raise PolicyDenied(f"{version.ref}: cannot approve: {problems[0]}")

    async def _close(self, ref: Ref, action: str, status: str, why: str) -> Decision:
        version, record, rules = await self._open(ref)
        actor = await self.actor(version)
        if action == "cancel" and actor.username != record.requested_by:
            raise PolicyDenied(f"{version.ref}: only the requester ({record.requested_by}) may "
                               "cancel this request")
        if action == "reject":
            if actor.username == record.requested_by:
                raise PolicyDenied(f"{version.ref}: the requester cannot reject their own "
                                   "request; use `wbadmin promote cancel`")
            if not rules.may_approve(actor.username, actor.teams, actor.registry_admin):
                raise PolicyDenied(f"{version.ref}: {actor.username} may not decide on "
                                   f"promotions to {rules.alias} (allowed: "
                                   f"{rules.approvers_text()})")
        now = now_iso()

        def mutate(current: Record | None, _v: Version) -> Record | None:
            if current is None or not current.is_open:
                return None
            current.status, current.decided_by, current.decided_at = status, actor.username, now
            if action == "reject":
                current.reason = why
            current.event(action, actor.username, now, target=current.target,
                          **({"reason": why} if action == "reject" else {"comment": why}))
            return current

        async with store.locked(self.client, version):
            decision = await self._record(version, action, mutate, actor.username, rules)
        if not decision.changed:
            raise NotPending(f"{version.ref}: the request was decided meanwhile "
                             f"({decision.record.status if decision.record else 'gone'})")
        decision.message = f"{status}: {version.ref} → {record.target}"
        await self._notify(decision, action, actor.username,
                           **({"reason": why} if action == "reject" else {"comment": why}))
        return decision

    async def _move(self, version: Version, alias: str, actor: str
                    ) -> tuple[bool, str | None, str | None, list[Outcome]]:
        holder = await wire.membership(self.client, version.ref, alias)
        previous = None if holder is None else holder.version
        if previous == version.version:
            return True, previous, None, []
        change = MoveAlias.make(version.ref, alias, previous, version.version)
        outcomes = await self.engine.apply(
            Plan(title=f"Promote {version.ref} to {alias}", changes=[change]),
            self.client, actor)
        if outcomes[0].ok:
            return True, previous, None, outcomes
        return False, previous, (f"the alias move failed ({outcomes[0].result}); the approval "
                                 "is recorded"), outcomes

    async def _record(self, version: Version, action: str, mutate: store.Mutation,
                      actor: str, rules: Target | None) -> Decision:
        current = parse_record(version.metadata)
        preview = mutate(copy.deepcopy(current), version) or current
        change = RecordDecision(target=str(version.ref), before=record_state(current),
                                after=record_state(preview), version=str(version.ref),
                                decision=action, mutation=mutate)
        outcomes = await self.engine.apply(
            Plan(title=f"Promotion {action}: {version.ref}", changes=[change]),
            self.client, actor)
        if not outcomes[0].ok:
            raise E.Conflict(f"{version.ref}: could not record the {action}: "
                             f"{outcomes[0].result}")
        fresh = await store.read(self.client, version.ref)
        record = parse_record(fresh.metadata)
        changed = change.written
        status = None if rules is None or record is None else rules.status(record,
                                                                           fresh.metadata)
        return Decision(action, fresh, record, changed, "", policy=status,
                        outcomes=list(outcomes))

    async def _notify(self, decision: Decision, event: str, actor: str, **details: Any) -> None:
        if not self.policy.webhooks:
            return
        record, ref = decision.record, decision.version.ref
        payload = {"event": event, "version": str(ref), "registry": ref.registry,
                   "collection": ref.collection,
                   "target": record.target if record else details.get("target"),
                   "actor": actor, "at": now_iso(),
                   "ticket": record.ticket if record else None,
                   "requested_by": record.requested_by if record else None,
                   "request_id": record.id if record else None, **details}
        decision.notifications = await webhooks.notify(self.policy.webhooks, payload,
                                                       transport=self.webhook_transport)
