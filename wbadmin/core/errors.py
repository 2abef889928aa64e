"""Typed errors of the W&B client, each with a message that tells a person what to do.

Messages never contain an API key: they are built from statuses, hosts and server messages,
and every message passes through the client's redaction before it is raised.
"""

from __future__ import annotations


class WbError(Exception):
    """Base class: `str(err)` is one line for a person; `hint` says what to do next."""

    kind = "error"
    hint = ""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class AuthError(WbError):
    kind = "auth"
    hint = "check the API key (`wbadmin login`, WANDB_API_KEY or ~/.netrc)"


class PermissionDenied(WbError):
    kind = "permission"
    hint = "ask an org or team admin for the role this needs"


class NotFound(WbError):
    kind = "not_found"
    hint = "check the name (it may have been renamed or deleted)"


class Conflict(WbError):
    kind = "conflict"
    hint = "someone changed it meanwhile: refresh and try again"


class Taken(Conflict):
    """A change's own check before writing: what it would create is there already, made by
    someone else since the plan. W&B then shows the change's `after`, but not by its doing,
    so the engine must not journal it as applied (undoing it would delete theirs)."""


class RateLimited(WbError):
    kind = "rate_limited"
    hint = "W&B is rate limiting this key: wait a minute and retry"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(WbError):
    kind = "server"
    hint = "W&B answered with a server error: retry later, or check status.wandb.ai"


class Offline(WbError):
    kind = "offline"
    hint = "check the network or the base URL; `--offline` reads the cache"
    timed_out = False  # the server took the request and did not answer it in time


class BadRequest(WbError):
    kind = "bad_request"
    hint = "the server refused the request as malformed"


class BadResponse(WbError):
    kind = "bad_response"
    hint = "the server's answer is not what W&B's API promises; is the base URL right?"


class Unsupported(WbError):
    kind = "unsupported"
    hint = "this deployment does not offer it"
