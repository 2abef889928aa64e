"""Rotate, revoke and finish rotating service-account keys, through the one change path.

A rotation is a plan: make a new key (as the account, with its current key), hand it over
once, delete the old keys at once or after a grace period. Its order keeps an account
working whatever fails:

1. the new key is journaled before it is made ('pending', with a marker description), and
   its id as soon as W&B answers — before the hand-over. A crash from here to the hand-over
   leaves the entry 'pending'; the next run's reconcile deletes that orphan key
   (`CreateApiKey.settle`), which nobody received.
2. the new key is checked (it signs in as the account), then handed over. A hand-over that
   fails (a failing `--to-command`) deletes the new key again: the old one still works.
3. only then are the old keys deleted, or journaled 'scheduled' with their due time, for
   `finish_rotations` (cron's `wbadmin sa finish-rotations`, or the TUI's start) to delete.
   A failed deletion leaves both keys valid and the journal saying so.

Who may: an org admin, or an admin of the account's team — checked on the caller's own
identity before anything else.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import errors as E
from ..change_path import ChangePath, ChangeReport
from ..changes import Outcome, Plan
from ..engine import Engine
from ..journal import iso
from ..redact import Secret
from .api_keys import KeyRef, acting_as, delete_key, member_key, own_keys
from .changes_keys import CreateApiKey, DeleteApiKey, key_target
from .key_hand_over import HandOver, HandOverFailed
from .people import identity
from .plans import Review

ShowKey = Callable[[str, str, str], None]  # (account, key id, the key): the terminal's hand-over


@dataclass
class RotationRequest:
    account: str
    hand_over: HandOver = field(default_factory=HandOver)
    grace_s: float = 0.0              # 0: the old keys are deleted at once
    current_key: Secret | None = None  # given by the caller (stdin); else read from W&B
    old_keys: tuple[str, ...] = ()    # which old keys to delete (default: all of them)


class NotManager(E.PermissionDenied):
    """The caller manages neither the org nor the account's team (exit 4)."""


# ---- who the account is, and may the caller manage it ------------------------------------

@dataclass(frozen=True)
class Account:
    username: str
    team: str | None


async def _account(path: ChangePath, name: str) -> Account:
    """The account as W&B shows it now (its team re-read into the cache), checked to be
    the caller's to manage. Unknown: NotFound (exit 5); not the caller's: NotManager."""
    session = path.session
    team = _team_of(session.cache, name)
    if team is None and not _known(session.cache, name):
        await path.read_targets(Plan())  # the whole org, once: it may be new
        team = _team_of(session.cache, name)
        if team is None and not _known(session.cache, name) \
                and not await _listed(session.client, session.cache, name):
            raise E.NotFound(f"no service account {name!r} is visible to you",
                             hint="`wbadmin sa list` shows the accounts you can see")
    elif team is not None:
        await path.read_teams([team])  # its team's members and roles as W&B has them now
        team = _team_of(session.cache, name)
    me = identity(session.cache)
    if me is None:
        raise E.AuthError("this identity is not known yet: run `wbadmin sync` first")
    org_admin = (me.org_role or "").lower() == "admin"
    team_admin = team is not None and bool(session.cache.scalar(
        "SELECT 1 FROM team_members WHERE team = ? AND username = ? AND role = 'admin'",
        (team, me.username)))
    if not (org_admin or team_admin):
        where = f"the team {team}" if team else "the org"
        raise NotManager(f"{me.username} does not manage {name}: managing a service "
                         f"account's keys takes an org admin or an admin of {where}")
    return Account(name, team)


def _team_of(cache, name: str) -> str | None:
    return cache.scalar("SELECT team FROM team_members WHERE username = ? AND "
                        "account_type = 'SERVICE' ORDER BY team LIMIT 1", (name,))


def _known(cache, name: str) -> bool:
    return bool(cache.scalar("SELECT 1 FROM sa_facts WHERE username = ? UNION ALL SELECT 1 "
                             "FROM users WHERE username = ? AND account_type = 'SERVICE'",
                             (name, name)))


async def _listed(client, cache, name: str) -> bool:
    """Whether the org admin's user listing has this service account (one in no team is
    only there): a listed user with no email whom SCIM does not list as a person (as
    `service_accounts` tells them apart); False for anyone W&B does not show the listing."""
    from .service_accounts import SA_USERS

    try:
        data = await client.graphql(SA_USERS, {"query": name})
    except E.PermissionDenied:
        return False
    people = {r[0] for r in cache.query("SELECT username FROM users WHERE account_type = "
                                        "'USER' AND scim_id IS NOT NULL")}
    return any((e or {}).get("node", {}).get("username") == name
               and (e or {}).get("node", {}).get("email") is None and name not in people
               for e in (data.get("users") or {}).get("edges") or [])


def _pick(keys: list[KeyRef], wanted: tuple[str, ...], account: str) -> list[KeyRef]:
    if not wanted:
        return keys
    unknown = sorted(set(wanted) - {k.id for k in keys})
    if unknown:
        raise E.NotFound(f"{account} has no key {', '.join(unknown)}",
                         hint=f"`wbadmin sa show {account}` lists its keys")
    return [k for k in keys if k.id in wanted]


# ---- rotate -------------------------------------------------------------------------------

async def rotate(path: ChangePath, request: RotationRequest, show: ShowKey | None = None
                 ) -> ChangeReport:
    """Plan, confirm (the path's callback) and apply one rotation."""
    request.hand_over.check()
    session = path.session
    held: dict[str, Secret] = {}

    async def fresh() -> Review:
        account = await _account(path, request.account)
        client = session.client
        key = request.current_key or held.get("key")
        if key is None:
            key = await member_key(client, account.team, account.username) \
                if account.team else None
        if key is None:
            raise E.PermissionDenied(
                f"W&B did not give {account.username}'s current key to this identity",
                hint="give it with --current-key-stdin")
        async with acting_as(client, key, account.username) as own:  # KeyMismatch: exit 3
            _, keys = await own_keys(own)
        held["key"] = key
        old = _pick(keys, request.old_keys, account.username)
        now = session.clock()
        marker = f"wbadmin rotation {iso(now)[:10]} {uuid.uuid4().hex[:8]}"
        due = now + request.grace_s if request.grace_s > 0 else None
        plan = Plan(title=f"Rotate the API key of {account.username}")
        plan.add(CreateApiKey(target=key_target(account.username, "new"),
                              after={"description": marker}, account=account.username,
                              description=marker, team=account.team, acting=key))
        for k in old:
            plan.add(DeleteApiKey(target=key_target(account.username, k.id),
                                  before={"key": k.id}, account=account.username,
                                  key_id=k.id, team=account.team, description=k.description,
                                  due_at=due))
        notes = [f"the new key is checked, then {request.hand_over.describe()}; the journal "
                 "keeps key ids only"]
        if due is not None:
            notes.append(f"the old key stays valid until {iso(due)}: `wbadmin sa "
                         "finish-rotations` deletes it then")
        if not old:
            notes.append(f"{account.username} has no key now: nothing to delete")
        return Review(plan, notes=notes)

    async def apply(engine: Engine, plan: Plan, actor: str) -> list[Outcome]:
        return await _apply_rotation(engine, plan, actor, session.client,
                                     request.hand_over, show)

    return await path.run_with(fresh, apply=apply)


async def _apply_rotation(engine: Engine, plan: Plan, actor: str, client, hand_over: HandOver,
                          show: ShowKey | None) -> list[Outcome]:
    create = plan.changes[0]
    assert isinstance(create, CreateApiKey)
    deletes = [c for c in plan.changes[1:] if isinstance(c, DeleteApiKey)]
    plan_id = uuid.uuid4().hex
    journal = engine.journal
    entry = await engine.begin(plan, plan_id, 1, create, actor)
    try:
        try:
            await create.apply(client)
        except Exception as exc:
            # An answer lost after W&B made it: delete whatever carries the marker.
            cleanup = await _settle_quietly(create, client)
            journal.write_outcome(entry, "failed", f"making the key failed ({_why(exc)}); "
                                  f"{cleanup}")
            return [Outcome(create, "failed", entry, _why(exc)),
                    *(Outcome(d, "skipped", None, "not attempted: no new key") for d in deletes)]
        made_id, made = create.made_id or "", create.made
        assert made is not None
        journal.note_progress(entry, {"key": made_id, "description": create.description},
                              f"key {made_id} made; not yet handed over")
        try:
            async with acting_as(client, made, create.account):
                pass  # the new key signs in as the account
            await hand_over.give(create.account, made_id, made, show)
        except (HandOverFailed, E.WbError) as exc:
            return [await _undo_made(journal, entry, create, client, made_id, _why(exc)),
                    *(Outcome(d, "skipped", None, "not attempted: the new key was not handed "
                              "over") for d in deletes)]
        finally:
            create.made = None  # the key's only copy in wbadmin is gone
        journal.write_outcome(entry, "applied",
                              f"key {made_id} handed over: {hand_over.describe()}")
    finally:
        engine.finish(entry)
    outcomes = [Outcome(create, "applied", entry, f"key {made_id} made and handed over",
                        verified=True)]
    now_ = [d for d in deletes if d.due_at is None]
    later = [d for d in deletes if d.due_at is not None]
    outcomes += await engine.apply(Plan(plan.title, now_), client, actor, plan_id=plan_id,
                                   first_seq=2)
    for seq, change in enumerate(later, 2 + len(now_)):
        assert change.due_at is not None
        sid = await engine.begin(plan, plan_id, seq, change, actor, due_at=change.due_at,
                                 note=f"due {iso(change.due_at)}: `wbadmin sa "
                                      "finish-rotations` deletes it")
        outcomes.append(Outcome(change, "scheduled", sid, f"deletion due {iso(change.due_at)}"))
    return outcomes


async def _settle_quietly(create: CreateApiKey, client) -> str:
    try:
        return (await create.settle(client))[1].removeprefix("reconciled: ")
    except E.WbError as exc:
        return f"whether W&B made a key is unknown ({exc.message}): the next run checks"


async def _undo_made(journal, entry: int, create: CreateApiKey, client, made_id: str,
                     why: str) -> Outcome:
    """The new key did not arrive: delete it, so that no key nobody holds stays valid."""
    try:
        await delete_key(client, made_id)
    except E.WbError as exc:
        # Left 'pending': the next run's reconcile deletes it (CreateApiKey.settle).
        journal.note_progress(entry, {"key": made_id, "description": create.description},
                              f"the hand-over failed ({why}); deleting the new key {made_id} "
                              f"failed too ({exc.message}): the next wbadmin run deletes it")
        return Outcome(create, "failed", entry, f"{why}; the new key {made_id} is deleted by "
                       "the next run")
    result = (f"the hand-over failed ({why}); the new key {made_id} was deleted again; the old "
              "key is untouched")
    journal.write_outcome(entry, "failed", result)
    return Outcome(create, "failed", entry, result)


def _why(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


# ---- revoke -------------------------------------------------------------------------------

async def revoke(path: ChangePath, account_name: str, key_ids: tuple[str, ...] = ()
                 ) -> ChangeReport:
    """Delete keys without making one (a lost or leaked key): all, or those named."""
    from .api_keys import account_keys

    session = path.session

    async def fresh() -> Review:
        account = await _account(path, account_name)
        every = await account_keys(session.client, account.username, account.team)
        keys = _pick(every, key_ids, account.username)
        plan = Plan(title=f"Revoke API keys of {account.username}")
        for k in keys:
            plan.add(DeleteApiKey(target=key_target(account.username, k.id),
                                  before={"key": k.id}, account=account.username,
                                  key_id=k.id, team=account.team, description=k.description))
        notes = []
        if keys and len(keys) == len(every):
            notes.append(f"{account.username} will have no key: what uses it stops working; "
                         "a new key must then be made in W&B (team settings → service "
                         "accounts), as W&B makes a key only as its account")
        return Review(plan, notes=notes)

    return await path.run_with(fresh)


# ---- finish scheduled deletions -------------------------------------------------------------

async def finish_rotations(path: ChangePath) -> ChangeReport:
    """Delete the old keys whose grace period is over (journal entries 'scheduled' and due),
    as a plan to confirm; entries whose key is already gone are closed as such."""
    session = path.session
    journal = session.journal
    by_change: dict[int, int] = {}

    async def fresh() -> Review:
        due = journal.scheduled(session.profile.name, due_by=session.clock())
        plan = Plan(title="Finish key rotations: delete old keys past their grace period")
        by_change.clear()
        for entry in due:
            change = entry.change()
            if await change.read_current(session.client) is None:
                journal.close_scheduled(entry.id, "not_applied",
                                        "the key was already gone from W&B when it was due")
                continue
            by_change[id(change)] = entry.id
            plan.add(change)
        return Review(plan)

    async def apply(engine: Engine, plan: Plan, actor: str) -> list[Outcome]:
        outcomes = await engine.apply(plan, session.client, actor)
        for outcome in outcomes:
            scheduled = by_change.get(id(outcome.change))
            if scheduled is not None and outcome.status == "applied":
                journal.close_scheduled(scheduled, "applied",
                                        f"deleted by journal entry {outcome.entry_id}")
        return outcomes

    return await path.run_with(fresh, apply=apply)


def due_rotations(session) -> list:
    """Scheduled key deletions due now (the TUI's start offers them)."""
    return session.journal.scheduled(session.profile.name, due_by=session.clock())

