"""One webhook POST as every notifier of wbadmin makes it (promotions, quota alerts, run
policy notices): JSON, retried on a connection error, 429 and 5xx with a growing pause,
never raising; the outcome names only the webhook's scheme and host (its URL embeds a
secret)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from .promotions.webhooks import ATTEMPTS, BACKOFF, Delivery, safe_where


async def post(http: httpx.AsyncClient, url: str, body: dict[str, Any], event: str
               ) -> Delivery:
    error = ""
    where = safe_where(url)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = await http.post(url, json=body)
            if response.status_code < 300:
                return Delivery(where, event, True, attempt)
            error = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                return Delivery(where, event, False, attempt, error)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        if attempt < ATTEMPTS:
            await asyncio.sleep(BACKOFF * 2 ** (attempt - 1))
    return Delivery(where, event, False, ATTEMPTS, error)
