"""Notices to the owners of runs that break a rule, through the policy's webhooks: once per
run and rule. A webhook reaches a channel, not a person, so the message names the owner.

As quota alerts do, a notice is claimed in the server's cache before it is posted (two
processes, or two identities of one admin, never both post it) and released when no webhook
took it, so the next try sends it; a restart never sends it twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from ..cache import Cache
from ..promotions.webhooks import TIMEOUT, Delivery
from ..webhook_post import post
from .judge import Violation
from .run_policy import Webhook

USER_AGENT = "wbadmin-policies/0.1"
EVENT = "run_policy_violation"


def text(v: Violation, link: str | None) -> str:
    owner = v.run.username or "an unknown owner"
    line = (f":warning: run *{v.run.title}* in {v.run.team}/{v.run.project}, owned by "
            f"*{owner}*, breaks the {v.rule.mode} rule `{v.rule.id}`: {v.why}")
    return f"{line}\n{link}" if link else line


def event(v: Violation, link: str | None) -> dict[str, Any]:
    return {"source": "wbadmin", "event": EVENT, "rule": v.rule.id, "mode": v.rule.mode,
            "team": v.run.team, "project": v.run.project, "run": v.run.name,
            "run_name": v.run.title, "owner": v.run.username, "why": v.why, "link": link}


def body_for(hook: Webhook, v: Violation, link: str | None) -> dict[str, Any]:
    if hook.format == "slack":
        return {"text": text(v, link)}
    return {**event(v, link), "text": text(v, link)}


@dataclass(frozen=True)
class NoticeResult:
    violation: Violation
    deliveries: tuple[Delivery, ...]

    @property
    def sent(self) -> bool:
        return any(d.ok for d in self.deliveries)


class NoticeSender:
    def __init__(self, cache: Cache, *, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Any = None, app_url: str | None = None) -> None:
        from ... import clock as default_clock

        self.cache, self.transport = cache, transport
        self.clock = clock or default_clock.now
        self.app_url = app_url

    def link(self, v: Violation) -> str | None:
        if not self.app_url:
            return None
        return f"{self.app_url.rstrip('/')}/{v.run.team}/{v.run.project}/runs/{v.run.name}"

    def _key(self, v: Violation) -> tuple[str, str, str, str]:
        return (v.run.team, v.run.project, v.run.name, v.rule.id)

    def sent_before(self, violations: list[Violation]) -> set[tuple[str, str, str, str]]:
        rows = self.cache.query("SELECT team, project, run, rule FROM policy_notices")
        mine = {self._key(v) for v in violations}
        return {tuple(r) for r in rows} & mine  # type: ignore[misc]

    def _claim(self, v: Violation) -> bool:
        with self.cache.transaction() as conn:
            cur = conn.execute("INSERT OR IGNORE INTO policy_notices VALUES (?, ?, ?, ?, ?, 0, "
                               "0)", (*self._key(v), self.clock()))
            return cur.rowcount == 1

    def _settle(self, v: Violation, deliveries: list[Delivery]) -> None:
        ok = sum(1 for d in deliveries if d.ok)
        with self.cache.transaction() as conn:
            if ok:
                conn.execute("UPDATE policy_notices SET delivered = ?, failed = ? WHERE team = ? "
                             "AND project = ? AND run = ? AND rule = ?",
                             (ok, len(deliveries) - ok, *self._key(v)))
            else:  # nobody took it: the next try sends it again
                conn.execute("DELETE FROM policy_notices WHERE team = ? AND project = ? AND "
                             "run = ? AND rule = ?", self._key(v))

    async def send(self, violations: list[Violation], hooks: tuple[Webhook, ...]
                   ) -> list[NoticeResult]:
        """Post a notice for every violation not noticed before; never raises on a
        webhook's failure."""
        if not hooks:
            return []
        results = []
        async with httpx.AsyncClient(timeout=TIMEOUT, transport=self.transport,
                                     headers={"User-Agent": USER_AGENT}) as http:
            for v in violations:
                if not self._claim(v):
                    continue
                link = self.link(v)
                deliveries = list(await asyncio.gather(*(
                    post(http, h.url, body_for(h, v, link), EVENT) for h in hooks)))
                self._settle(v, deliveries)
                results.append(NoticeResult(v, tuple(deliveries)))
        return results
