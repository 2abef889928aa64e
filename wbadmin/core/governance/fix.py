"""The fix W&B allows for a run-policy violation: a tag added to the violating runs, planned
from each run's tags as W&B shows them now, through the one change path (journaled,
undoable). Who may: W&B lets a team's admins change its runs, and a member their own runs;
a plan with a run the caller may not change is refused whole, before anything is sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

from .. import errors as E
from ..access.people import identity
from ..access.plans import Review
from ..cache import Cache
from ..change_path import ChangePath, ChangeReport
from ..changes import Plan
from .changes import AddRunTags
from .judge import StoredRun


class NotYours(E.PermissionDenied):
    """Runs the caller may not change (exit 4)."""


def may_edit(cache: Cache, run: StoredRun) -> bool:
    me = identity(cache)
    if me is None:
        return False
    if (me.org_role or "").lower() == "admin":
        return True
    role = cache.scalar("SELECT role FROM team_members WHERE team = ? AND username = ?",
                        (run.team, me.username))
    return role == "admin" or (role == "member" and run.username == me.username)


def check_editable(cache: Cache, runs: Iterable[StoredRun]) -> None:
    refused = [r for r in runs if not may_edit(cache, r)]
    if refused:
        me = identity(cache)
        shown = ", ".join(f"{r.team}/{r.project}/{r.name}" for r in refused[:3])
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        raise NotYours(f"{me.username if me else 'you'} may not change {len(refused)} of "
                       f"these runs ({shown}{more}): W&B lets a team's admins change its runs, "
                       "and members their own; nothing changed", hint="")


async def add_tag(path: ChangePath, runs: list[StoredRun], tag: str) -> ChangeReport:
    """Add `tag` to every run of `runs` (those already carrying it are left out)."""
    session = path.session
    check_editable(session.cache, runs)

    async def fresh() -> Review:
        client = session.client
        probes = [AddRunTags.make(r.team, r.project, r.name, [], [tag]) for r in runs]
        currents = await asyncio.gather(*(p.read_current(client) for p in probes))
        plan = Plan(title=f"Tag {len(runs)} run(s) with {tag} (run policy)")
        for run, current in zip(runs, currents, strict=True):
            tags = list((current or {}).get("tags") or [])
            if tag not in tags:
                plan.add(AddRunTags.make(run.team, run.project, run.name, tags, [tag]))
        return Review(plan, notes=["each run's tags are read now and sent back whole with "
                                   "the new tag (W&B replaces the list); undo takes it off"])

    report = await path.run_with(fresh)
    _keep(session.cache, report)
    return report


def _keep(cache: Cache, report: ChangeReport) -> None:
    """What W&B showed after the change, into the run store (the next check needs no
    read for it)."""
    with cache.transaction() as conn:
        for outcome in report.outcomes:
            change = outcome.change
            if outcome.status == "applied" and isinstance(outcome.current, dict):
                conn.execute("UPDATE quota_runs SET tags = ? WHERE team = ? AND project = ? "
                             "AND name = ?", (json.dumps(outcome.current.get("tags") or []),
                                              change.team, change.project, change.run))
