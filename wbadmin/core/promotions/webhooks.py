"""Notifications of promotion events to the policy's webhooks.

A body is Slack-compatible (`{"text": ...}`, which Slack, Mattermost and Teams workflows
accept) or generic JSON (the event with every detail). Each delivery is retried with
exponential backoff on connection errors, 429 and 5xx; a failure is reported in the result and
never raised: the decision it announces has already happened.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .policy import Webhook

ATTEMPTS = 3
BACKOFF = 0.2
TIMEOUT = 5.0
USER_AGENT = "wbadmin-promotions/0.1"

_VERBS = {"request": "requested", "approve": "approved", "reject": "rejected",
          "cancel": "cancelled", "rollback": "rolled back"}


@dataclass(frozen=True)
class Delivery:
    """One webhook's outcome. `where` is scheme://host only: webhook URLs embed secrets."""

    where: str
    event: str
    ok: bool
    attempts: int
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"webhook": self.where, "event": self.event, "ok": self.ok,
                "attempts": self.attempts, "error": self.error}

    def line(self) -> str:
        state = "delivered" if self.ok else f"FAILED after {self.attempts} attempts: {self.error}"
        return f"webhook {self.where} ({self.event}): {state}"


def safe_where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def slack_text(event: dict[str, Any]) -> str:
    verb = _VERBS.get(event["event"], event["event"])
    line = (f"Promotion of {event['version']} to `{event['target']}` {verb} "
            f"by {event['actor']}")
    if event["event"] == "approve":
        line += f" ({event.get('approvals', 0)}/{event.get('approvals_required', 1)} approvals"
        line += ", alias moved)" if event.get("moved") else ")"
    if event["event"] == "rollback":
        line += f": `{event['target']}` back on {event.get('to') or 'no version'}"
    why = event.get("reason") or event.get("comment")
    if why:
        line += f"\n> {why}"
    if event.get("ticket"):
        line += f"\nTicket: {event['ticket']}"
    return line


def body_for(hook: Webhook, event: dict[str, Any]) -> dict[str, Any]:
    if hook.format == "slack":
        return {"text": slack_text(event)}
    return {"source": "wbadmin", **event}


async def _deliver(http: httpx.AsyncClient, hook: Webhook, event: dict[str, Any]) -> Delivery:
    error = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = await http.post(hook.url, json=body_for(hook, event))
            if response.status_code < 300:
                return Delivery(safe_where(hook.url), event["event"], True, attempt)
            error = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                return Delivery(safe_where(hook.url), event["event"], False, attempt, error)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        if attempt < ATTEMPTS:
            await asyncio.sleep(BACKOFF * 2 ** (attempt - 1))
    return Delivery(safe_where(hook.url), event["event"], False, ATTEMPTS, error)


async def notify(hooks: tuple[Webhook, ...] | list[Webhook], event: dict[str, Any], *,
                 transport: httpx.AsyncBaseTransport | None = None) -> list[Delivery]:
    """POST `event` to every webhook subscribed to it, concurrently; never raises."""
    chosen = [h for h in hooks if event["event"] in h.events]
    if not chosen:
        return []
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport,
                                 headers={"User-Agent": USER_AGENT}) as http:
        return list(await asyncio.gather(*(_deliver(http, h, event) for h in chosen)))
