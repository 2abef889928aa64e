"""`wbadmin ownership [--json]`: the production map — who is responsible for what serves.

For every registry collection in the cache and each protected alias of the promotion policy:
the version holding it, since when (the promotion record's decision; "unknown" without one:
W&B's audit log has no alias events), the run that produced it, that run's team and the
team's admins, and who requested and approved the promotion ("none" without a record). The
producing runs are read from W&B the first time a version holds an alias (then cached).
"""

from __future__ import annotations

import argparse

from ..core.access.people import identity
from ..core.promotions import Policy, load_policy
from ..core.promotions.ownership import Holding, holdings, read_runs, unread
from ..core.session import Session
from .common import add_command, note, run_online
from .data_cmd import fresh_session
from .errors import AUTH, BAD_DATA, NOT_FOUND, PERMISSION, UNAVAILABLE, USAGE
from .output import emit_json, emit_table

CODES = (USAGE, AUTH, PERMISSION, NOT_FOUND, UNAVAILABLE, BAD_DATA)


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "ownership", cmd_ownership, codes=CODES,
                    help="the production map: who is responsible for each protected alias",
                    description=__doc__)
    p.add_argument("--refresh", action="store_true", help="sync before reading")
    p.add_argument("--policy", metavar="FILE", help="the promotion policy (TOML) that names "
                   "the protected aliases; default: $WBADMIN_PROMOTION_POLICY, else "
                   "promotions.toml in the config dir")


def with_producing_runs(session: Session, policy: Policy) -> Session:
    """`session`, its cache knowing the producing run of every protected alias's holder (read
    from W&B for those it lacks, never offline)."""
    me = identity(session.cache)
    if session.offline or me is None or not me.org or not unread(session.cache, policy):
        return session
    org = me.org

    async def work(s: Session) -> int:
        return await read_runs(s.client, s.cache, policy, org, s.clock())

    read = run_online(session, work)
    note(f"producing runs of {read} protected version(s) read from W&B")
    return session


def _row(h: Holding) -> list[str]:
    if h.version is None:
        return [h.registry, h.collection, h.alias, "—", "", "", "", "", ""]
    run = "not read" if h.traceable is None else (
        f"{h.team}/{h.project}/{h.run}" if h.traceable else "unknown")
    flag = " (outside the workflow)" if h.outside_workflow else ""
    return [h.registry, h.collection, h.alias, h.version, h.since, run, h.admins_text,
            h.requested_by + flag, ", ".join(h.approved_by) or "none"]


def cmd_ownership(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)  # a malformed file fails before any network call
    session = with_producing_runs(fresh_session(args), policy)
    found = holdings(session.cache, policy)
    if args.json:
        emit_json([h.to_json() for h in found])
        return 0
    if not found:
        print("no registry collections in the cache (or none visible to you)")
        return 0
    emit_table([_row(h) for h in found], ["registry", "collection", "alias", "version",
                                          "since", "run", "team admins", "requested by",
                                          "approved by"])
    return 0
