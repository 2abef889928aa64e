"""The Quotas screen's data: the policy, the usage report from the cache (no network: the
first frame), a refresh through the quota service, and the drill-in lists."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.quotas import QuotaService, UsageReport, policy_for, policy_notice
from ..core.quotas.history import Series
from ..core.quotas.policy import QuotaPolicy
from ..core.quotas.service import TopEntry
from ..core.session import Session

METRICS = ("gpu_hours", "storage_gb", "concurrent_runs")


@dataclass
class QuotaView:
    """What the screen shows; rebuilt from the cache after every refresh."""

    report: UsageReport | None = None
    policy: QuotaPolicy | None = None
    policy_error: str | None = None
    notice: str | None = None
    has_data: bool = False
    top_runs: dict[str, list[TopEntry]] = field(default_factory=dict)
    top_users: dict[str, list[TopEntry]] = field(default_factory=dict)
    history: dict[tuple[str, str], Series | None] = field(default_factory=dict)


def load_policy(session: Session) -> tuple[QuotaPolicy, str | None]:
    """The policy (the demo one on the sandbox), or none and the one-line reason."""
    try:
        return policy_for(None, sandbox=session.mode == "SANDBOX"), None
    except Exception as exc:  # a malformed file: show usage without limits, and say why
        return QuotaPolicy(None), str(exc)


def service(session: Session, policy: QuotaPolicy) -> QuotaService:
    return QuotaService(session.cache, policy, client=session.client, clock=session.clock,
                        alert_cache=session.server_cache())


def build(session: Session, offset: int = 0) -> QuotaView:
    """The view from the cache alone (runs in a worker thread)."""
    policy, error = load_policy(session)
    svc = service(session, policy)
    view = QuotaView(policy=policy, policy_error=error, notice=policy_notice(policy),
                     has_data=svc.has_data)
    if view.has_data:
        view.report = svc.report(offset)
    return view


def drill(session: Session, view: QuotaView, team: str) -> None:
    """Fill in a team's top runs and users and its projects' usage (on demand)."""
    if view.report is None or view.policy is None or team in view.top_runs:
        return
    svc = service(session, view.policy)
    view.top_runs[team] = svc.top(view.report, team, "run")
    view.top_users[team] = svc.top(view.report, team, "user")
    usage = view.report.team(team)
    if usage is not None:
        _ = usage.projects  # its projects are read on first use: now, with the rest


def history(session: Session, view: QuotaView, team: str, metric: str) -> Series | None:
    """A team's daily history of `metric` (None for storage: W&B keeps none), read once per
    view: concurrency is one query over the team's runs."""
    if view.report is None or view.policy is None:
        return None
    if (team, metric) not in view.history:
        svc = service(session, view.policy)
        view.history[(team, metric)] = svc.daily(view.report, team, metric)
    return view.history[(team, metric)]


async def refresh(session: Session, full: bool = False) -> str:
    """Refresh the usage store from W&B; returns a short summary (no timings: it is shown)."""
    policy, _ = load_policy(session)
    facts = await session.server_facts()  # the degraded read, when the server lacks one
    report = await service(session, policy).refresh(full=full, lacks=facts.lacks)
    # A degraded path is said once by the app (server_state) and kept in the header.
    return f"updated from W&B ({report.kind}: {report.runs_read:,} runs read)"


def matches(team: str, text: str) -> bool:
    return text.lower() in team.lower()
