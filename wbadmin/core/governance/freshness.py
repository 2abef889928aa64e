"""Keep the run store true enough to judge: the quota refresh (one incremental reader for
quotas and policies), plus what it cannot see — a run re-tagged or re-configured moves no
`heartbeatAt`, so the incremental reads miss it:

- where the audit log is readable (org admins), its `run:update` / `run:update_many` events
  since the last check name the projects whose runs changed, and those projects' runs are
  read again (the log names projects, not runs);
- otherwise, and in any case every `recheck_days` (policies.toml), a full refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .. import audit_store
from .. import errors as E
from ..quotas import QuotaService
from ..quotas.period import DAY
from ..quotas.policy import QuotaPolicy
from ..quotas.refresh import QuotaRefresher
from ..quotas.store import UsageStore
from .refresh_judge import RefreshJudge
from .run_policy import RunPolicy

RUN_ACTIONS = frozenset({"run:update", "run:update_many"})
AUDIT_KEY = "policy_audit_until"  # quota_state: the audit log was looked at up to here
MARGIN_S = 300.0                  # an event logged a little before its answer reached us


@dataclass
class Freshness:
    kind: str                      # full | incremental
    requests: int = 0
    reread_projects: int = 0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


async def refresh_runs(session, quota_policy: QuotaPolicy, policy: RunPolicy, *,
                       full: bool = False, lacks: Callable[[str], bool] | None = None
                       ) -> Freshness:
    client, cache, now = session.client, session.cache, session.clock()
    sent = client.requests_sent
    service = QuotaService(cache, quota_policy, client=client, clock=session.clock,
                           alert_cache=session.server_cache())
    store = UsageStore(cache)
    last_full = store.get("full_at")
    due = last_full is None or not 0 <= now - float(last_full) < policy.recheck_days * DAY
    # The refresh judges its runs as they arrive (the check after it then has few left).
    refreshed = await service.refresh(full=full or due, lacks=lacks,
                                      observer=RefreshJudge(policy, now))
    out = Freshness(refreshed.kind, warnings=list(refreshed.warnings))
    if refreshed.kind == "full":
        _mark(cache, now)
        out.requests = client.requests_sent - sent
        return out
    since = float(store.get(AUDIT_KEY) or store.get("full_at") or now) - MARGIN_S
    me = session.cached_identity()
    username = "" if me is not None and me.is_service_account else session.username
    try:
        await audit_store.refresh(client, cache, username, since, now)
    except (E.PermissionDenied, E.NotFound) as exc:
        out.notes.append(f"runs re-tagged since the last full check are found by the full "
                         f"re-check every {policy.recheck_days} days (the audit log is not "
                         f"readable: {exc.message})")
        out.requests = client.requests_sent - sent
        return out
    named = {(e.get("entity_name"), e.get("project_name"))
             for _, _, e in audit_store.stored(cache, since) if e.get("action") in RUN_ACTIONS}
    # Only projects whose runs the store holds (a key lookup each, not a scan of the store).
    projects = sorted(p for p in named if cache.scalar(
        "SELECT 1 FROM quota_runs WHERE team = ? AND project = ? LIMIT 1", p))
    if projects:
        refresher = QuotaRefresher(client, cache, clock=session.clock, lacks=lacks)
        await refresher.reread(projects)
    _mark(cache, now)
    out.reread_projects = len(projects)
    out.requests = client.requests_sent - sent
    return out


def _mark(cache, now: float) -> None:
    with cache.transaction() as conn:
        UsageStore.put(conn, AUDIT_KEY, now)
