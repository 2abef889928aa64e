"""`wbadmin promote request | list | show | approve | reject | cancel | rollback | history`.

The registry approval queue on the command line (the twin of the Promotions screen), for
people and CI pipelines. Requests and decisions live in W&B (a `promote-to-<alias>` tag and a
record in the version's metadata); alias moves are journaled (`wbadmin journal`, `wbadmin
undo`). The policy is a TOML file: --policy, $WBADMIN_PROMOTION_POLICY, or promotions.toml in
the config directory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..core.change_path import ChangePath
from ..core.engine import Engine
from ..core.promotions import PromotionService, load_policy, parse_ref
from ..core.promotions.metrics import regressions, verdict
from ..core.promotions.record import Ref
from ..core.promotions.service import SORTS, decision_notice
from ..core.promotions.views import Decision
from ..core.session import Session
from ..core.sync import Syncer
from .common import add_command, add_no_wait, note, note_settled, open_session, run_online
from .errors import (
    AUTH,
    BAD_DATA,
    CHANGE_CODES,
    INTERRUPTED,
    NOT_FOUND,
    PERMISSION,
    UNAVAILABLE,
    USAGE,
    CliError,
)
from .output import emit_json, emit_table

T = TypeVar("T")
READ = (USAGE, AUTH, PERMISSION, NOT_FOUND, UNAVAILABLE, BAD_DATA)
REF = "ORG/REGISTRY/COLLECTION:vN"
CONFIRM_ALIASES = ("production",)


def register(sub: argparse._SubParsersAction) -> None:
    promote = sub.add_parser(
        "promote", help="the registry approval queue: request, review, decide, roll back",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    psub = promote.add_subparsers(dest="promote_command", metavar="ACTION", required=True)

    p = add_command(psub, "request", cmd_request, codes=CHANGE_CODES,
                    help="ask for a version to get a protected alias (asking twice changes "
                         "nothing)")
    p.add_argument("ref", metavar=REF)
    p.add_argument("--to", dest="target", required=True, metavar="ALIAS",
                   help="the protected alias, e.g. production")
    p.add_argument("--comment", required=True, help="why (shown to the approvers)")
    p.add_argument("--ticket", help="a ticket id, when the policy requires one")
    _policy(p)
    add_no_wait(p)

    p = add_command(psub, "list", cmd_list, codes=READ, help="pending requests")
    p.add_argument("--registry", help="one registry only (e.g. model)")
    p.add_argument("--target", metavar="ALIAS", help="one target alias only")
    p.add_argument("--sort", choices=SORTS, default="age", help="order (default: age)")
    _policy(p)

    p = add_command(psub, "show", cmd_show, codes=READ,
                    help="a request: who asked and why, policy status, current holder, diff")
    p.add_argument("ref", metavar=REF)
    _policy(p)

    p = add_command(psub, "approve", cmd_approve, codes=CHANGE_CODES,
                    help="approve; when the policy is satisfied the alias moves")
    p.add_argument("ref", metavar=REF)
    p.add_argument("--comment", default="", help="a note for the record")
    _yes(p)
    _policy(p)
    add_no_wait(p)

    p = add_command(psub, "reject", cmd_reject, codes=CHANGE_CODES,
                    help="reject (a reason is needed)")
    p.add_argument("ref", metavar=REF)
    p.add_argument("--reason", required=True, help="why (recorded and notified)")
    _policy(p)
    add_no_wait(p)

    p = add_command(psub, "cancel", cmd_cancel, codes=CHANGE_CODES,
                    help="withdraw your own request")
    p.add_argument("ref", metavar=REF)
    p.add_argument("--comment", default="")
    _policy(p)
    add_no_wait(p)

    p = add_command(psub, "rollback", cmd_rollback, codes=CHANGE_CODES,
                    help="move an alias back to the version that held it before")
    p.add_argument("ref", metavar="ORG/REGISTRY/COLLECTION[:ALIAS]")
    p.add_argument("--alias", help="the alias to roll back (or give it after the colon)")
    p.add_argument("--comment", default="")
    _yes(p)
    _policy(p)
    add_no_wait(p)

    p = add_command(psub, "history", cmd_history, codes=READ,
                    help="every request and decision on a collection")
    p.add_argument("ref", metavar="ORG/REGISTRY/COLLECTION")
    _policy(p)


def _policy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", metavar="FILE", help="the promotion policy (TOML); default: "
                   "$WBADMIN_PROMOTION_POLICY, else promotions.toml in the config dir")


def _yes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", "-y", action="store_true",
                   help="no typed confirmation for production targets")


# ---- plumbing ------------------------------------------------------------------------------

def _run(args: argparse.Namespace, work: Callable[[PromotionService, Session], Awaitable[T]],
         *, writes: Ref | None = None) -> T:
    """`work` on a session; a decision (`writes`: the version or collection it decides on)
    goes through the core change path — one writer per org, entries a crash left pending
    settled first, the collection re-read into the cache afterwards."""
    policy = load_policy(args.policy)  # a malformed file fails before any network call
    session = open_session(args)
    if writes is not None and session.read_only:
        raise CliError("read-only mode: this would change W&B; run without --read-only",
                       PERMISSION)

    async def go(session: Session) -> T:
        assert session.client is not None
        service = PromotionService(session.client, policy, session.engine())
        if writes is None:
            return await work(service, session)

        async def decide(engine: Engine) -> T:
            service.engine = engine
            return await work(service, session)

        path = ChangePath(session, wait=not args.no_wait, on_wait=note)
        decided = await path.decide(decide, decision_notice(writes), org=writes.org)
        note_settled(decided.reconciled, decided.refresh_error)
        return decided.result

    return run_online(session, go)


CONFIRM_TRIES = 3


def _confirm(alias: str, collection: str, yes: bool) -> None:
    """Moving a production alias needs --yes, or the collection's name typed on a TTY."""
    if alias not in CONFIRM_ALIASES or yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"moving {alias!r} needs confirmation: pass --yes (stdin is not a "
                       "terminal)", USAGE)
    prompt = f"This moves {alias!r} of {collection}. Type the collection name to confirm: "
    for attempt in range(CONFIRM_TRIES):
        try:
            typed = input(prompt).strip()
        except EOFError:
            break
        if typed == collection:
            return
        if not typed:  # an empty answer is a no
            break
        if attempt < CONFIRM_TRIES - 1:  # a typo asks again; the comment given is kept
            print(f"{typed!r} is not {collection!r}; type it again, or press enter to stop",
                  file=sys.stderr)
    raise CliError("not confirmed: nothing changed", INTERRUPTED)


def _report(args: argparse.Namespace, decision: Decision) -> int:
    for delivery in decision.notifications:
        if not delivery.ok:
            note(f"warning: {delivery.line()} (the decision stands)")
    if args.json:
        emit_json(decision.to_json())
    else:
        print(decision.message)
        for outcome in decision.outcomes:
            if outcome.entry_id is not None:
                print(f"  journal #{outcome.entry_id}: {outcome.line()}")
        if decision.policy is not None and decision.record is not None \
                and decision.record.is_open and decision.policy.blockers():
            print("  waiting for: " + "; ".join(decision.policy.blockers()))
    return 0


async def _org(session: Session, args: argparse.Namespace) -> str:
    if org := getattr(args, "org", None) or session.profile.org:
        return org
    assert session.client is not None
    identity = await Syncer(session.client, session.cache).identify()
    if not identity.org:
        raise CliError("cannot tell the organization: pass --org", USAGE)
    return identity.org


# ---- commands ------------------------------------------------------------------------------

def cmd_request(args: argparse.Namespace) -> int:
    ref = parse_ref(args.ref)
    decision = _run(args, lambda s, _: s.request(ref, args.target, args.comment, args.ticket),
                    writes=ref)
    return _report(args, decision)


def cmd_approve(args: argparse.Namespace) -> int:
    ref = parse_ref(args.ref)

    async def work(service: PromotionService, _s: Session) -> Decision:
        detail = await service.show(ref)
        if detail.record is not None and detail.record.is_open and not detail.why_not:
            await asyncio.to_thread(_confirm, detail.record.target, ref.collection, args.yes)
        return await service.approve(ref, args.comment)

    return _report(args, _run(args, work, writes=ref))


def cmd_reject(args: argparse.Namespace) -> int:
    ref = parse_ref(args.ref)
    return _report(args, _run(args, lambda s, _: s.reject(ref, args.reason), writes=ref))


def cmd_cancel(args: argparse.Namespace) -> int:
    ref = parse_ref(args.ref)
    return _report(args, _run(args, lambda s, _: s.cancel(ref, args.comment), writes=ref))


def cmd_rollback(args: argparse.Namespace) -> int:
    ref = parse_ref(args.ref, version=None)
    alias = args.alias or ref.version
    if not alias:
        raise CliError("name the alias: ORG/REGISTRY/COLLECTION:ALIAS or --alias", USAGE)
    if args.alias and ref.version and ref.version != args.alias:
        raise CliError(f"two different aliases given: {ref.version} and {args.alias}", USAGE)

    async def work(service: PromotionService, _s: Session) -> Decision:
        await asyncio.to_thread(_confirm, alias, ref.collection, args.yes)
        return await service.rollback(ref.at(None), alias, args.comment)

    return _report(args, _run(args, work, writes=ref.at(None)))


def cmd_list(args: argparse.Namespace) -> int:
    async def work(service: PromotionService, session: Session) -> list[Any]:
        return await service.queue(await _org(session, args), registry=args.registry,
                                   target=args.target, sort=args.sort)

    items = _run(args, work)
    if args.json:
        emit_json([i.to_json() for i in items])
        return 0
    emit_table([[str(i.version.ref), i.record.target, i.record.requested_by,
                 i.record.requested_at, _approvals(i.policy, len(i.record.approvals)),
                 i.record.ticket or "", "; ".join(i.blockers) or "ready"] for i in items],
               ["version", "target", "requested by", "requested at", "approvals", "ticket",
                "status"])
    if not items:
        note("no pending promotion requests")
    return 0


def _approvals(status: Any, have: int) -> str:
    return f"{have}/{status.need}" if status is not None else str(have)


def cmd_show(args: argparse.Namespace) -> int:
    ref = parse_ref(args.ref)
    detail = _run(args, lambda s, _: s.show(ref))
    if args.json:
        emit_json(detail.to_json())
        return 0
    v, r = detail.version, detail.record
    print(f"{v.ref}  aliases: {', '.join(v.aliases) or '—'}")
    if v.run:
        print(f"  produced by run {v.run['name']} in {v.run['entity']}/{v.run['project']}")
    if r is None:
        print("  no promotion request")
        return 0
    print(f"  request → {r.target} by {r.requested_by} at {r.requested_at}: {r.status}")
    print(f"  comment: {r.comment or '—'}" + (f"  ticket: {r.ticket}" if r.ticket else ""))
    holder = detail.holder
    print(f"  {r.target} now on: {holder.version if holder else 'no version'}")
    for a in r.approvals:
        print(f"  approved by {a.by} at {a.at}" + (f": {a.comment}" if a.comment else ""))
    if detail.policy is not None:
        print(f"  approvals: {detail.policy.have} of {detail.policy.need} "
              f"({detail.target.approvers_text() if detail.target else ''})")
        for g in detail.policy.gates:
            print(f"  gate {g.gate}: {'pass' if g.ok else 'FAIL'} ({g.actual})")
    if detail.why_not:
        print(f"  you cannot approve: {detail.why_not[0]}")
    diff = detail.diff
    changed = [d for d in diff if d["changed"]]
    if changed:
        emit_table([[d["key"], d["candidate"], d["current"], d["direction"] or "",
                     verdict(d)] for d in changed],
                   ["metadata", v.version, holder.version if holder else "—", "better",
                    "change"])
    if regressed := regressions(diff):
        print(f"  REGRESSIONS (worse by more than {detail.metrics.regression_percent:g}% "
              f"than {holder.version if holder else 'the holder'}): {', '.join(regressed)}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    ref = parse_ref(args.ref, version=False)
    entries = _run(args, lambda s, _: s.history(ref))
    if args.json:
        emit_json([e.to_json() for e in entries])
        return 0
    emit_table([[e.at, e.version, e.target, e.action, e.by, e.why] for e in entries],
               ["when (UTC)", "version", "target", "action", "by", "why"])
    if not entries:
        note(f"no promotion history on {ref}")
    return 0

