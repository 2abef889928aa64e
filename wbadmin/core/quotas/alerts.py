"""Threshold alerts: once per threshold, per period, per team or project, to the webhooks.

A threshold is a percentage of the hard limit (of the soft one when there is no hard one).
`actual` alerts fire when usage crosses it; `forecast` alerts (where the policy enables
them) when the forecast at period end does. When several thresholds are crossed at once,
one message names the highest and all are marked sent. The mark is claimed in SQLite
before posting (so two processes never both post) and released if no webhook took it (so
the next check tries again); a restart therefore never sends twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from ... import clock
from ..cache import Cache
from ..promotions.webhooks import TIMEOUT, Delivery
from .policy import METRIC_LABELS, Rules, Webhook
from .usage import Gauge, UsageReport

USER_AGENT = "wbadmin-quotas/0.1"
UNITS = {"gpu_hours": "GPU-h", "storage_gb": "GB", "concurrent_runs": "runs"}


@dataclass(frozen=True)
class Alert:
    scope: str          # "team" or "team/project"
    metric: str
    period_key: str
    period_label: str
    threshold: int      # the highest threshold crossed
    crossed: tuple[int, ...]  # every threshold this alert marks as sent
    basis: str          # actual | forecast
    value: float        # used, or the forecast at period end
    reference: float

    @property
    def pct(self) -> float:
        return 100.0 * self.value / self.reference

    def text(self) -> str:
        unit = UNITS[self.metric]
        what = METRIC_LABELS[self.metric]
        figures = f"{self.value:,.0f} / {self.reference:,.0f} {unit}"
        if self.basis == "forecast":
            return (f":crystal_ball: *{self.scope}* is forecast to reach {self.pct:.0f} % of its "
                    f"{what} limit by the end of {self.period_label} ({figures}); "
                    f"threshold {self.threshold} %")
        icon = ":rotating_light:" if self.threshold >= 100 else ":warning:"
        return (f"{icon} *{self.scope}* has used {self.pct:.0f} % of its {what} limit for "
                f"{self.period_label} ({figures}); threshold {self.threshold} %")

    def event(self) -> dict[str, Any]:
        return {"source": "wbadmin", "event": "quota_threshold", "scope": self.scope,
                "metric": self.metric, "period": self.period_key, "threshold": self.threshold,
                "basis": self.basis, "value": round(self.value, 3),
                "limit": self.reference, "percent": round(self.pct, 1)}


def _gauge_alerts(scope: str, gauge: Gauge, rules: Rules, key: str, label: str
                  ) -> list[Alert]:
    ref = gauge.limit.reference
    if not ref:
        return []
    out = []
    bases = [("actual", gauge.used)]
    if rules.forecast_alerts and gauge.forecast is not None:
        bases.append(("forecast", gauge.forecast.at_end))
    for basis, value in bases:
        crossed = tuple(t for t in rules.thresholds if 100.0 * value / ref >= t)
        if crossed:
            out.append(Alert(scope, gauge.metric, key, label, max(crossed), crossed, basis,
                             value, ref))
    return out


def due(report: UsageReport) -> list[Alert]:
    """Every threshold crossed now (sent or not), for the current period."""
    if report.offset != 0:
        return []
    out: list[Alert] = []
    for team in report.teams:
        key, label = team.period.key, team.period.label
        for gauge in (team.gpu_hours, team.storage, team.running):
            out += _gauge_alerts(team.team, gauge, team.rules, key, label)
        for project in team.ruled:  # only projects with rules of their own have limits
            rules = report.policy.rules(team.team, project.project)
            for gauge in (project.gpu_hours, project.running):
                out += _gauge_alerts(f"{team.team}/{project.project}", gauge, rules, key, label)
    return out


@dataclass(frozen=True)
class AlertResult:
    alert: Alert
    deliveries: tuple[Delivery, ...]

    @property
    def sent(self) -> bool:
        return any(d.ok for d in self.deliveries)


class AlertSender:
    def __init__(self, cache: Cache, *, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Any = clock.now) -> None:
        self.cache, self.transport, self.clock = cache, transport, clock

    def _claim(self, alert: Alert) -> bool:
        """Mark every crossed threshold sent; False when the highest one already was."""
        with self.cache.transaction() as conn:
            exists = conn.execute(
                "SELECT 1 FROM quota_alerts WHERE scope = ? AND metric = ? AND period = ? AND "
                "threshold = ? AND basis = ?", (alert.scope, alert.metric, alert.period_key,
                                                alert.threshold, alert.basis)).fetchone()
            if exists:
                return False
            conn.executemany(
                "INSERT OR IGNORE INTO quota_alerts VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
                [(alert.scope, alert.metric, alert.period_key, t, alert.basis, self.clock())
                 for t in alert.crossed])
        return True

    def _settle(self, alert: Alert, deliveries: list[Delivery]) -> None:
        ok = sum(1 for d in deliveries if d.ok)
        with self.cache.transaction() as conn:
            if ok:
                conn.executemany(
                    "UPDATE quota_alerts SET delivered = ?, failed = ? WHERE scope = ? AND "
                    "metric = ? AND period = ? AND threshold = ? AND basis = ? AND delivered = 0",
                    [(ok, len(deliveries) - ok, alert.scope, alert.metric, alert.period_key, t,
                      alert.basis) for t in alert.crossed])
            else:  # nobody took it: release the claim so the next check tries again
                conn.executemany(
                    "DELETE FROM quota_alerts WHERE scope = ? AND metric = ? AND period = ? "
                    "AND threshold = ? AND basis = ? AND delivered = 0",
                    [(alert.scope, alert.metric, alert.period_key, t, alert.basis)
                     for t in alert.crossed])

    async def send(self, alerts: list[Alert], hooks: tuple[Webhook, ...]) -> list[AlertResult]:
        """Post every alert not sent before; never raises on a webhook's failure."""
        if not hooks:
            return []
        results = []
        async with httpx.AsyncClient(timeout=TIMEOUT, transport=self.transport,
                                     headers={"User-Agent": USER_AGENT}) as http:
            for alert in alerts:
                if not self._claim(alert):
                    continue
                deliveries = list(await asyncio.gather(*(_deliver(http, h, alert)
                                                         for h in hooks)))
                self._settle(alert, deliveries)
                results.append(AlertResult(alert, tuple(deliveries)))
        return results


def body_for(hook: Webhook, alert: Alert) -> dict[str, Any]:
    if hook.format == "slack":
        return {"text": alert.text()}
    return {**alert.event(), "text": alert.text()}


async def _deliver(http: httpx.AsyncClient, hook: Webhook, alert: Alert) -> Delivery:
    from ..webhook_post import post

    return await post(http, hook.url, body_for(hook, alert), "quota_threshold")
