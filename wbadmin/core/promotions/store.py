"""Safe read-modify-write of a version's promotion record.

W&B offers no compare-and-set on artifact metadata (`updateArtifact` replaces it), so two
writers could each overwrite the other. Two layers keep every decision:

1. A short-lived lock: a `wbadmin-lock-<epoch>-<nonce>` version tag. Tags are added and removed
   one by one (`tagsToAdd` / `tagsToDelete`), never overwritten, so "add mine, then look":
   if another live lock is there, take mine back and retry after a random pause. Two deciders
   can never both see only their own lock. Locks older than LOCK_TTL are ignored (a crashed
   process) and cleared.
2. A conflict check on the record itself: each write bumps `revision` and stamps `writer`; the
   re-read must show exactly that write, else someone (an older client, a person editing the
   metadata) wrote meanwhile: re-read, re-apply the change to what is there (merge), retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from ... import clock
from .. import errors as E
from ..client import Client
from . import wire
from .record import Record, Ref, new_id, parse_record, tag_for, with_record
from .wire import Version

LOCK_PREFIX = "wbadmin-lock-"
LOCK_TTL = 120.0
LOCK_ATTEMPTS = 40
WRITE_ATTEMPTS = 6

Mutation = Callable[[Record | None, Version], Record | None]


class Busy(E.Conflict):
    hint = "another wbadmin is deciding on this version right now: retry in a moment"


async def read(client: Client, ref: Ref) -> Version:
    version = await wire.membership(client, ref)
    if version is None:
        raise E.NotFound(f"{ref}: no such version or alias in the registry",
                         hint="check the collection and version (wbadmin promote history)")
    return version


def _lock_age(tag: str, now: float) -> float:
    try:
        return now - float(tag[len(LOCK_PREFIX):].split("-", 1)[0])
    except ValueError:
        return LOCK_TTL + 1  # not ours: treat as stale


@asynccontextmanager
async def locked(client: Client, version: Version) -> AsyncIterator[None]:
    """Hold the version's promotion lock for the duration of the block."""
    mine = f"{LOCK_PREFIX}{int(clock.now())}-{new_id()[:8]}"
    for attempt in range(LOCK_ATTEMPTS):
        await wire.update_artifact(client, version.artifact_id, add_tags=[mine])
        current = await read(client, version.ref)
        now = clock.now()
        locks = [t for t in current.tags if t.startswith(LOCK_PREFIX) and t != mine]
        stale = [t for t in locks if _lock_age(t, now) > LOCK_TTL]
        live = [t for t in locks if t not in stale]
        if stale:
            await wire.update_artifact(client, version.artifact_id, drop_tags=stale)
        if not live:
            break
        await wire.update_artifact(client, version.artifact_id, drop_tags=[mine])
        await asyncio.sleep(random.uniform(0.02, 0.12) * min(attempt + 1, 5))
    else:
        raise Busy(f"{version.ref}: the promotion record is locked by another wbadmin")
    try:
        yield
    finally:
        with contextlib.suppress(E.WbError):  # a stale lock expires after LOCK_TTL
            await wire.update_artifact(client, version.artifact_id, drop_tags=[mine])


async def write(client: Client, ref: Ref, mutate: Mutation) -> tuple[Version, Record | None,
                                                                        bool]:
    """Apply `mutate` to the current record and write it, conflict-checked.

    `mutate(record_copy, version)` returns the new record, or None for "nothing to change".
    It runs again on a fresh read after a conflict, so it must be idempotent (add an approval
    only if it is not there). Returns (version as re-read, record, changed)."""
    for attempt in range(WRITE_ATTEMPTS):
        version = await read(client, ref)
        current = parse_record(version.metadata)
        draft = copy.deepcopy(current)
        if draft is not None and not draft.id:  # records written by others may lack one
            draft.id = new_id()
        new = mutate(draft, version)
        if new is None:
            return version, current, False
        new.revision = (current.revision if current else 0) + 1
        new.writer = new_id()
        add, drop = _tags(current, new, version.tags)
        await wire.update_artifact(client, version.artifact_id,
                                   metadata=with_record(version.metadata, new),
                                   add_tags=add, drop_tags=drop)
        after = await read(client, ref)
        stored = parse_record(after.metadata)
        if stored is not None and stored.writer == new.writer \
                and stored.revision == new.revision:
            return after, stored, True
        await asyncio.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
    raise E.Conflict(f"{ref}: the promotion record kept changing while writing it")


def _tags(old: Record | None, new: Record, present: list[str]) -> tuple[list[str], list[str]]:
    """The queue tag is there exactly while the request is open."""
    want = {tag_for(new.target)} if new.is_open else set()
    drop = set() if new.is_open else {tag_for(new.target)}
    if old is not None and old.target != new.target:
        drop.add(tag_for(old.target))
    return sorted(want - set(present)), sorted((drop - want) & set(present))
