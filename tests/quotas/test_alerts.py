"""Threshold alerts: posted once per threshold per period (also across a restart), the
highest of several crossed at once, forecast alerts where enabled, failures retried."""

from __future__ import annotations

from pathlib import Path

from wbadmin.core.cache import Cache
from wbadmin.core.quotas import QuotaService

from .conftest import QuotaWorld, Receiver, policy


def policy_text(url: str, extra: str = "") -> str:
    return f"""
[teams.data-science-nlp]
gpu_hours = {{ soft = 800, hard = 1000 }}
[teams.product-ai-agents]
gpu_hours = 700
forecast_alerts = true
[teams.ai-governance]
gpu_hours = 100000
[[webhooks]]
url = "{url}/ok"
format = "slack"
[[webhooks]]
url = "{url}/ok-json"
format = "json"
{extra}"""


async def refresh_and_alert(service: QuotaService):
    await service.refresh()
    return await service.alert(service.report())


def test_an_alert_fires_once_and_not_again_after_a_restart(world: QuotaWorld,
                                                           receiver: Receiver) -> None:
    pol = policy(policy_text(receiver.url))
    sent = world.run(refresh_and_alert, pol)
    scopes = {(r.alert.scope, r.alert.basis, r.alert.threshold) for r in sent}
    # data-science-nlp (1,190 h of 1,000) is over: one message for the highest threshold.
    assert ("data-science-nlp", "actual", 100) in scopes
    # product-ai-agents (406 h of 700 = 58 %) crosses 50 %, and is forecast past 100 %.
    assert ("product-ai-agents", "actual", 50) in scopes
    assert ("product-ai-agents", "forecast", 100) in scopes
    assert not any(s[0] == "ai-governance" for s in scopes)
    assert all(r.sent for r in sent)
    slack = receiver.bodies("/ok")
    assert len(slack) == len(sent)
    assert any("*data-science-nlp* has used 119 % of its GPU-hours limit" in b["text"]
               for b in slack)
    generic = receiver.bodies("/ok-json")
    assert {b["scope"] for b in generic} >= {"data-science-nlp", "product-ai-agents"}
    assert all(b["event"] == "quota_threshold" and b["period"] == "2026-11" for b in generic)
    hits = len(receiver.hits)
    # A new process on the same cache file (a restart) sends nothing again.
    assert world.run(refresh_and_alert, pol) == []
    assert len(receiver.hits) == hits
    cache = Cache(world.cache_path)
    rows = cache.query("SELECT threshold FROM quota_alerts WHERE scope = 'data-science-nlp' "
                       "AND basis = 'actual' ORDER BY threshold")
    cache.close()
    assert [r[0] for r in rows] == [50, 80, 100]  # the lower ones are marked, never sent


def test_a_higher_threshold_crossed_later_is_sent_once(world: QuotaWorld,
                                                       receiver: Receiver) -> None:
    low = policy(policy_text(receiver.url).replace("gpu_hours = 700", "gpu_hours = 1000"))
    first = world.run(refresh_and_alert, low)
    assert ("product-ai-agents", 50) not in {(r.alert.scope, r.alert.threshold)
                                             for r in first if r.alert.basis == "actual"}
    tighter = policy(policy_text(receiver.url).replace("gpu_hours = 700", "gpu_hours = 450"))
    second = world.run(refresh_and_alert, tighter)
    actual = [(r.alert.scope, r.alert.threshold) for r in second if r.alert.basis == "actual"]
    assert actual == [("product-ai-agents", 80)]


def test_a_failed_delivery_is_reported_and_retried_next_time(world: QuotaWorld,
                                                             receiver: Receiver,
                                                             tmp_path: Path) -> None:
    failing = policy(f"""
[teams.data-science-nlp]
gpu_hours = 1000
[[webhooks]]
url = "{receiver.url}/fail"
""")
    sent = world.run(refresh_and_alert, failing)
    assert sent and not any(r.sent for r in sent)
    assert sent[0].deliveries[0].attempts == 3 and "HTTP 500" in sent[0].deliveries[0].error
    working = policy(f"""
[teams.data-science-nlp]
gpu_hours = 1000
[[webhooks]]
url = "{receiver.url}/ok"
""")
    retried = world.run(refresh_and_alert, working)
    assert [r.alert.scope for r in retried if r.sent] == ["data-science-nlp"]
    assert world.run(refresh_and_alert, working) == []


def test_no_webhooks_means_nothing_is_posted_or_marked(world: QuotaWorld) -> None:
    pol = policy("[teams.data-science-nlp]\ngpu_hours = 10\n")
    assert world.run(refresh_and_alert, pol) == []
    cache = Cache(world.cache_path)
    assert cache.scalar("SELECT COUNT(*) FROM quota_alerts") == 0
    cache.close()
