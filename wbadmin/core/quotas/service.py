"""Quotas as one service for the CLI and the TUI: refresh the usage store, report, alert."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ... import clock
from ..batch_gc import fewer_collections
from ..cache import Cache
from ..client import Client
from .alerts import AlertResult, AlertSender, due
from .history import Series, daily
from .policy import HOW_TO, QuotaPolicy, load_policy, policy_path
from .refresh import QuotaRefresher, RefreshReport, RunObserver
from .store import UsageStore
from .usage import SILENT_S, UsageReport, compute, org_teams, window_start


@dataclass(frozen=True)
class TopEntry:
    label: str       # the run's display name, or the username
    detail: str      # project/run id · GPUs · state, or "N runs"
    gpu_hours: float
    runs: int
    project: str = ""
    gpus: int = 0
    state: str = ""


def policy_for(path: str | None, *, sandbox: bool) -> QuotaPolicy:
    """The policy to use, with the demo policy on the sandbox when none is configured."""
    return load_policy(path, sandbox=sandbox)


def policy_notice(policy: QuotaPolicy) -> str | None:
    """One line for the person when there is no policy file behind the figures."""
    if policy.is_demo:
        return (f"no quota policy configured: using the built-in demo policy (sandbox); "
                f"write your own to {policy_path()}")
    if not policy.exists:
        return HOW_TO.format(path=policy_path())
    return None


class QuotaService:
    def __init__(self, cache: Cache, policy: QuotaPolicy, *, client: Client | None = None,
                 clock: Callable[[], float] = clock.now,
                 alert_cache: Cache | None = None) -> None:
        """`alert_cache` keeps which alerts were posted: the server's (shared by every
        identity, so a key switch never posts an alert again); `cache` by default."""
        self.cache, self.policy, self.client, self.clock = cache, policy, client, clock
        self.alert_cache = alert_cache or cache
        self.store = UsageStore(cache)

    @property
    def has_data(self) -> bool:
        return self.store.get("watermark") is not None

    def report(self, offset: int = 0) -> UsageReport:
        """Usage from the cache (no network): a huge org's 35,000 running runs are read,
        so the collector runs less often meanwhile too."""
        with fewer_collections():
            return compute(self.cache, self.policy, self.clock(), offset)

    async def refresh(self, *, full: bool = False,
                      lacks: Callable[[str], bool] | None = None,
                      observer: RunObserver | None = None) -> RefreshReport:
        """`lacks`: what the server lacks (`ServerFacts.lacks`), for the degraded reads;
        `observer`: told of the runs as they are read (`RunObserver`)."""
        assert self.client is not None, "connect first"
        refresher = QuotaRefresher(self.client, self.cache, clock=self.clock, lacks=lacks,
                                   observer=observer)
        teams = org_teams(self.cache, self.store) or list(self.policy.teams)
        with fewer_collections():
            return await refresher.refresh(window_start(self.policy, teams, self.clock()),
                                           full=full)

    async def alert(self, report: UsageReport,
                    transport: httpx.AsyncBaseTransport | None = None) -> list[AlertResult]:
        sender = AlertSender(self.alert_cache, transport=transport, clock=self.clock)
        return await sender.send(due(report), self.policy.webhooks)

    def top(self, report: UsageReport, team: str, by: str, limit: int = 8) -> list[TopEntry]:
        """The team's top runs (by="run") or users (by="user") by GPU-hours in the period."""
        usage = report.team(team)
        if usage is None:
            return []
        period = usage.period
        server_now = report.now + float(self.store.get("skew") or 0.0)
        rows = self.store.top(team, period.start_ts, period.end_ts, server_now, by, limit,
                              SILENT_S)
        if by == "user":
            return [TopEntry(r["username"], f"{r['runs']} run{'s' if r['runs'] != 1 else ''}",
                             r["gpu_seconds"] / 3600, r["runs"]) for r in rows]
        return [TopEntry(r["display_name"] or r["name"],
                         f"{r['project']}/{r['name']} · {r['gpus']} GPU · {r['state']}",
                         r["gpu_seconds"] / 3600, 1, r["project"], r["gpus"], r["state"])
                for r in rows]

    def daily(self, report: UsageReport, team: str, metric: str) -> Series | None:
        """The team's history of `metric` in the period (None: storage has none)."""
        usage = report.team(team)
        if usage is None:
            return None
        return daily(self.store, usage, metric,
                     report.now + float(self.store.get("skew") or 0.0))
