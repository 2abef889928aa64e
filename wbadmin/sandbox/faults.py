"""Fault injection: latency, 5xx, 429 with Retry-After, dropped connections, and SCIM
lists paged smaller than W&B's 9999 or without `startIndex` (what a client must survive).

Set from flags or `WBADMIN_SANDBOX_*` environment variables at start, and switchable at run
time (tests change the `Faults` object in-process, or POST to `/_sandbox/faults`).
The control endpoints under `/_sandbox/` are never faulted.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Any

from .scim.common import MAX_PAGE

ENV_PREFIX = "WBADMIN_SANDBOX_"
_INT_FIELDS = {"fail_next", "seed", "scim_page_cap"}
_BOOL_FIELDS = {"scim_ignore_start_index"}
_MINIMUM = {"scim_page_cap": 1}  # a page of 0 would never get anywhere


@dataclass
class Faults:
    latency_ms: float = 0.0       # added to every faulted request
    jitter_ms: float = 0.0        # plus uniform 0..jitter
    error_rate: float = 0.0       # share of requests answered 503
    rate_limit_rate: float = 0.0  # share of requests answered 429
    retry_after_s: float = 1.0    # Retry-After on 429 answers
    drop_rate: float = 0.0        # share of requests whose connection is dropped
    fail_next: int = 0            # the next N requests fail with 503, whatever the rates
    seed: int | None = None       # makes the random draws reproducible
    scim_page_cap: int = MAX_PAGE  # most resources in one SCIM list page, whatever `count`
    scim_ignore_start_index: bool = False  # SCIM lists always start at the first resource

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.injected: Counter[str] = Counter()  # faults drawn so far, by kind (for tests)

    def update(self, **changes: Any) -> None:
        """Apply changes all together, or none of them (a bad value raises ValueError)."""
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        checked = {name: _checked(name, value) for name, value in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)
        if "seed" in changes:
            self._rng = random.Random(self.seed)

    def reset(self) -> None:
        self.update(**{f.name: f.default for f in fields(self)})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Faults:
        environ = os.environ if environ is None else environ
        faults = cls()
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw not in (None, ""):
                try:
                    faults.update(**{f.name: raw})
                except ValueError as exc:
                    raise ValueError(f"{ENV_PREFIX}{f.name.upper()}={raw!r}: {exc}") from exc
        return faults

    def draw(self) -> str | None:
        """The fault for this request: 'drop', '429', '503' or None."""
        if self.fail_next > 0:
            self.fail_next -= 1
            self.injected["503"] += 1
            return "503"
        roll = self._rng.random()
        for kind, rate in (("drop", self.drop_rate), ("429", self.rate_limit_rate),
                           ("503", self.error_rate)):
            if roll < rate:
                self.injected[kind] += 1
                return kind
            roll -= rate
        return None

    def delay(self) -> float:
        return (self.latency_ms + self._rng.uniform(0, self.jitter_ms)) / 1000.0


def _checked(name: str, value: Any) -> float | int | bool | None:
    """A setting's value as a finite, in-range number or a bool (strings from env vars are
    parsed)."""
    if name == "seed" and value is None:
        return None
    if name in _BOOL_FIELDS:
        return _checked_bool(name, value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number")
    if name in _INT_FIELDS:
        if not number.is_integer():
            raise ValueError(f"{name} must be a whole number")
        number = int(number)
    if name == "seed":
        return number
    if name.endswith("_rate") and not 0 <= number <= 1:
        raise ValueError(f"{name} must be 0..1")
    if number < _MINIMUM.get(name, 0):
        raise ValueError(f"{name} must be >= {_MINIMUM.get(name, 0)}")
    return number


def _checked_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if isinstance(value, int | str) and text in ("1", "true", "yes", "on", "0", "false", "no",
                                                 "off"):
        return text in ("1", "true", "yes", "on")
    raise ValueError(f"{name} must be true or false, not {value!r}")


class FaultMiddleware:
    """ASGI middleware; it must wrap the app directly so it receives uvicorn's own `send`."""

    def __init__(self, app: Any, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox/"):
            await self.app(scope, receive, send)
            return
        delay = self.faults.delay()
        if delay > 0:
            await asyncio.sleep(delay)
        fault = self.faults.draw()
        if fault is None:
            await self.app(scope, receive, send)
        elif fault == "drop":
            await _drop(send)
        elif fault == "429":
            await _answer(send, 429, {"errors": [{"message": "rate limit exceeded"}]},
                          [(b"retry-after", _retry_after(self.faults.retry_after_s))])
        else:
            await _answer(send, 503, {"errors": [{"message": "service unavailable"}]})


def _retry_after(seconds: float) -> bytes:
    # Retry-After is whole seconds on the wire; fractions are sent for fast tests.
    return (str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}").encode()


async def _answer(send: Any, status: int, payload: dict, extra: list | None = None) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())] + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Any) -> None:
    """Close the connection without an answer, as a dropped network connection does."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        # Let uvicorn see the connection as lost before the app returns; otherwise it logs
        # "ASGI callable returned without starting response." for every dropped request.
        await asyncio.sleep(0)
        return
    # Not under uvicorn: promise a body and never deliver it.
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"1000")]})
    raise ConnectionAbortedError("sandbox fault: dropped connection")
