"""Usage per team and project for a period, from the usage store, against the policy.

GPU-hours: Σ over runs of (runtime clipped to the period) × GPU count; a running run counts
up to now, on the server's clock (ours plus the skew the last refresh measured). A running
run silent for over SILENT_S counts up to its last heartbeat only: it has stopped, and W&B
is about to mark it crashed (the sandbox, which sends no heartbeats, shows this). Storage: the
team's `storageBytes` (W&B reports no per-project storage). Concurrency: running runs now.
Cost: GPU-hours × the policy's price per GPU-hour (per team, or per project).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..cache import Cache
from .forecast import Forecast, forecast
from .period import DAY, Period, epoch_day
from .policy import METRICS, Limit, QuotaPolicy, Rules
from .scale import metric_scale
from .store import UsageStore

GB = 1_000_000_000
SILENT_S = 15 * 60.0


@dataclass(frozen=True)
class Gauge:
    """One metric of one team or project: what is used against its limits."""

    metric: str
    used: float
    limit: Limit = field(default_factory=Limit)
    forecast: Forecast | None = None

    @property
    def pct(self) -> float | None:
        ref = self.limit.reference
        return None if not ref else 100.0 * self.used / ref

    @property
    def status(self) -> str:
        """none (no limit) | ok | warn (at or past soft) | over (at or past hard)."""
        if self.limit.hard is not None and self.used >= self.limit.hard:
            return "over"
        if self.limit.soft is not None and self.used >= self.limit.soft:
            return "warn"
        return "none" if self.limit.reference is None else "ok"

    @property
    def forecast_over(self) -> bool:
        return (self.forecast is not None and self.limit.hard is not None
                and self.forecast.at_end >= self.limit.hard and self.status != "over")

    @property
    def outlook_status(self) -> str:
        """The status, with this metric's own forecast past its hard limit as a warning
        (only GPU-hours have a forecast: storage and concurrency never warn on one)."""
        if self.status in ("none", "ok") and self.forecast_over:
            return "warn"
        return self.status

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"used": round(self.used, 3), "soft": self.limit.soft,
                               "hard": self.limit.hard, "status": self.status,
                               "percent": None if self.pct is None else round(self.pct, 1)}
        if self.forecast is not None:
            out["forecast"] = {"at_period_end": round(self.forecast.at_end, 1),
                               "per_day": round(self.forecast.rate_per_day, 2),
                               "hard_limit_on": _d(self.forecast.hard_day),
                               "over_since": _d(self.forecast.over_since)}
        return out


@dataclass
class ProjectUsage:
    team: str
    project: str
    gpu_hours: Gauge
    running: Gauge
    cost: float | None


@dataclass
class TeamUsage:
    team: str
    period: Period
    rules: Rules
    gpu_hours: Gauge
    storage: Gauge
    running: Gauge
    daily: list[float]
    cost: float | None
    ruled: list[ProjectUsage] = field(default_factory=list)  # projects with rules of their own
    missing: int = 0  # runs without GPU metadata (counted as 0 GPUs)
    # Every project's usage is read from the store when first asked for (the drill-down,
    # --json, the CSV report): a huge org's 50,000 projects cost more than its 500 teams.
    load_projects: Callable[[], list[ProjectUsage]] | None = field(default=None, repr=False)
    _projects: list[ProjectUsage] | None = field(default=None, repr=False)

    @property
    def projects(self) -> list[ProjectUsage]:
        if self._projects is None:
            self._projects = self.load_projects() if self.load_projects else list(self.ruled)
        return self._projects

    def gauge(self, metric: str) -> Gauge:
        return {"gpu_hours": self.gpu_hours, "storage_gb": self.storage,
                "concurrent_runs": self.running}[metric]

    @property
    def status(self) -> str:
        """The worst over every metric (a GPU-hour forecast past the hard limit warns)."""
        return worst(g.outlook_status for g in (self.gpu_hours, self.storage, self.running))

    def to_json(self) -> dict[str, Any]:
        return {"team": self.team, "period": self.period.key, "period_label": self.period.label,
                "status": self.status, "gpu_hours": self.gpu_hours.to_json(),
                "storage_gb": self.storage.to_json(),
                "concurrent_runs": self.running.to_json(),
                "cost": None if self.cost is None else round(self.cost, 2),
                "currency": self.rules.currency,
                "daily_gpu_hours": [round(v, 2) for v in self.daily],
                "runs_without_gpu_metadata": self.missing,
                "projects": [{"project": p.project, "gpu_hours": p.gpu_hours.to_json(),
                              "concurrent_runs": p.running.to_json(),
                              "cost": None if p.cost is None else round(p.cost, 2)}
                             for p in self.projects]}

    def metric_json(self, metric: str) -> dict[str, Any]:
        """One metric of the team (`--metric`): cost and runs without GPU metadata belong
        to GPU-hours only."""
        gauge = self.gauge(metric)
        out: dict[str, Any] = {"team": self.team, "period": self.period.key,
                               "period_label": self.period.label,
                               "status": gauge.outlook_status, metric: gauge.to_json()}
        if metric == "gpu_hours":
            out |= {"cost": None if self.cost is None else round(self.cost, 2),
                    "currency": self.rules.currency,
                    "daily_gpu_hours": [round(v, 2) for v in self.daily],
                    "runs_without_gpu_metadata": self.missing}
        return out


STATUS_ORDER = ("none", "ok", "warn", "over")


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=STATUS_ORDER.index, default="none")


@dataclass
class UsageReport:
    now: float
    policy: QuotaPolicy
    teams: list[TeamUsage]
    warnings: list[str]
    refreshed_at: float | None
    offset: int = 0  # 0: the current period; -1: the one before

    @property
    def status(self) -> str:
        statuses = {t.status for t in self.teams}
        return "over" if "over" in statuses else "warn" if "warn" in statuses else "ok"

    @property
    def missing(self) -> int:
        return sum(t.missing for t in self.teams)

    def team(self, name: str) -> TeamUsage | None:
        return next((t for t in self.teams if t.team == name), None)

    def scale(self, metric: str) -> float:
        """What a full bar of `metric` stands for: one scale for every team's bar."""
        return metric_scale(t.gauge(metric) for t in self.teams)

    def metric_status(self, metric: str) -> str:
        """ok | warn | over, from `metric` alone."""
        found = worst(t.gauge(metric).outlook_status for t in self.teams)
        return "ok" if found == "none" else found

    def metric_json(self, metric: str) -> dict[str, Any]:
        """The report of one metric (`wbadmin quotas --metric M --json`)."""
        out: dict[str, Any] = {"metric": metric, "status": self.metric_status(metric),
                               "policy": policy_label(self.policy),
                               "refreshed_at": self.refreshed_at, "warnings": self.warnings}
        if metric == "gpu_hours":
            out["runs_without_gpu_metadata"] = self.missing
        return out | {"teams": [t.metric_json(metric) for t in self.teams]}

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "policy": policy_label(self.policy),
                "refreshed_at": self.refreshed_at, "warnings": self.warnings,
                "runs_without_gpu_metadata": self.missing,
                "teams": [t.to_json() for t in self.teams]}


def policy_label(policy: QuotaPolicy) -> str:
    if policy.is_demo:
        return "demo policy (sandbox; no quotas.toml configured)"
    return str(policy.source) if policy.source else "none"


def _d(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# ---- computing ---------------------------------------------------------------------------------

def org_teams(cache: Cache, store: UsageStore) -> list[str]:
    names = {r[0] for r in cache.query("SELECT name FROM teams WHERE readable = 1")}
    return sorted(names | set(store.teams()))


def compute(cache: Cache, policy: QuotaPolicy, now: float, offset: int = 0) -> UsageReport:
    store = UsageStore(cache)
    teams = org_teams(cache, store)
    warnings = list(policy.warnings)
    unknown = policy.unknown_teams(set(teams))
    if unknown and teams:
        warnings.append("the policy names teams this organization does not have: "
                        + ", ".join(unknown) + " (ignored)")
    periods: dict[str, Period] = {}
    for team in teams:
        period = policy.rules(team).period.at(now)
        for _ in range(-offset):
            period = period.previous()
        periods[team] = period
    # Everything per team first: a huge org has 500 teams and 50,000 projects.
    daily_secs = _ended(store, periods)
    server_now = now + float(store.get("skew") or 0.0)
    running_secs, running = _running(store, periods, server_now, daily_secs)
    storage = store.storage()
    missing = store.missing(min((p.start_ts for p in periods.values()), default=now))
    stored_projects = store.project_counts()
    ruled_names: dict[str, list[str]] = defaultdict(list)
    for team, project in sorted(policy.projects):
        ruled_names[team].append(project)
    out = []
    for team in teams:
        period, rules = periods[team], policy.rules(team)
        first = epoch_day(period.start_ts)
        daily = [0.0] * period.days
        for day, secs in daily_secs.get(team, {}).items():
            if 0 <= day - first < period.days:
                daily[day - first] += secs / 3600
        gpu = Gauge("gpu_hours", sum(daily), rules.limit("gpu_hours"),
                    forecast(period, daily, now, rules.limit("gpu_hours").hard))
        runs_of = running.get(team, {})
        projects = _Projects(store, policy, team, period, running_secs.get(team, {}), runs_of)
        ruled = projects.usage(ruled_names.get(team, []))
        # Cost: each project's GPU-hours at its price; those without rules of their own
        # share the team's, so their cost is what the ruled ones leave of the team's hours.
        costs = [p.cost for p in ruled if p.cost is not None]
        base_price = policy.rules(team, "").price_per_gpu_hour
        if base_price is not None and stored_projects.get(team, 0) > len(
                [p for p in ruled if p.project in projects.stored()]):
            rest = gpu.used - sum(p.gpu_hours.used for p in ruled)
            costs.append(max(0.0, rest) * base_price)
        stored = storage.get(team)
        out.append(TeamUsage(
            team, period, rules, gpu,
            Gauge("storage_gb", (stored or 0) / GB, rules.limit("storage_gb")),
            Gauge("concurrent_runs", sum(runs_of.values()), rules.limit("concurrent_runs")),
            daily, sum(costs) if costs else None, ruled, missing.get(team, 0),
            projects.all))
    return UsageReport(now, policy, out, warnings, store.get("refreshed_at"), offset)


class _Projects:
    """One team's project usage for a period, read from the store on demand."""

    def __init__(self, store: UsageStore, policy: QuotaPolicy, team: str, period: Period,
                 running_secs: dict[str, float], running: dict[str, int]) -> None:
        self.store, self.policy, self.team, self.period = store, policy, team, period
        self.running_secs, self.running = running_secs, running
        self.base = policy.rules(team, "")  # a project without rules of its own
        self._stored: set[str] | None = None

    def stored(self) -> set[str]:
        if self._stored is None:
            self._stored = set(self.store.projects_of(self.team))
        return self._stored

    def usage(self, names: list[str], ended: dict[str, float] | None = None
              ) -> list[ProjectUsage]:
        if not names:
            return []
        if ended is None:
            ended = self._ended(names if len(names) <= 500 else None)
        out = []
        for project in names:
            prules = self.policy.projects.get((self.team, project), self.base)
            hours = (ended.get(project, 0.0) + self.running_secs.get(project, 0.0)) / 3600
            price = prules.price_per_gpu_hour
            out.append(ProjectUsage(
                self.team, project, Gauge("gpu_hours", hours, prules.limit("gpu_hours")),
                Gauge("concurrent_runs", self.running.get(project, 0),
                      prules.limit("concurrent_runs")),
                None if price is None else hours * price))
        return out

    def all(self) -> list[ProjectUsage]:
        names = self.stored() | {p for t, p in self.policy.projects if t == self.team}
        return self.usage(sorted(names), self._ended(None))

    def _ended(self, only: list[str] | None) -> dict[str, float]:
        first, end = epoch_day(self.period.start_ts), epoch_day(self.period.end_ts)
        return self.store.project_totals(self.team, first, end, only)


def _ended(store: UsageStore, periods: dict[str, Period]) -> dict[str, dict[int, float]]:
    """GPU-seconds of ended runs per day in each team's period: {team: {day: s}}.
    One query per distinct period (teams share them)."""
    daily: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for period in set(periods.values()):
        first, end = epoch_day(period.start_ts), epoch_day(period.end_ts)
        for team, day, secs in store.team_days(first, end):
            if periods.get(team) == period:
                daily[team][day] += secs
    return daily


def _running(store: UsageStore, periods: dict[str, Period], now: float,
             daily: dict[str, dict[int, float]]
             ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    """Add running runs, counted live up to `now` (server time), into `daily`; returns
    their GPU-seconds and how many run, per team and project."""
    count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    bounds = {t: (p.start_ts, p.end_ts) for t, p in periods.items()}
    for team, project, created, heartbeat, gpus in store.running():
        count[team][project] += 1
        if team not in bounds or not gpus:
            continue
        first, end = bounds[team]
        start = max(created, first)
        stop = min(heartbeat if now - heartbeat > SILENT_S else max(now, heartbeat), end)
        if stop <= start:
            continue
        seconds[team][project] += (stop - start) * gpus
        days = daily[team]
        # `day_split`, inlined: a huge org has 35,000 running runs, each over days.
        t = start
        while t < stop:
            day = int(t // DAY)
            piece_end = min(stop, (day + 1) * DAY)
            days[day] += (piece_end - t) * gpus
            t = piece_end
    return seconds, count


def window_start(policy: QuotaPolicy, teams: list[str], now: float) -> float:
    """Where the usage store must begin: the start of the period before the current one
    (so `p` can show it), for every team's period."""
    specs = {policy.rules(t).period for t in teams} | {policy.defaults.period}
    return min(s.at(now).previous().start_ts for s in specs)


__all__ = ["METRICS", "Gauge", "ProjectUsage", "TeamUsage", "UsageReport", "compute",
           "window_start"]
