"""Per-request context handed to every resolver as `info.context`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..auth import Identity, project_role
from ..db import Database

_T = TypeVar("_T")
_R = TypeVar("_R", bound=Callable[..., Any])


def source_only(resolver: _R) -> _R:
    """Mark a resolver that reads only its source (a run's stored columns), never its
    `info`: the direct executor then calls it with `info=None` and makes no resolve info
    for it (a refresh's answer resolves a million such fields)."""
    resolver.source_only = True  # type: ignore[attr-defined]
    return resolver


class GraphQLFault(Exception):
    """A logical error reported as W&B does: HTTP 200 with an `errors` entry."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.code = code


class PermissionDenied(GraphQLFault):
    def __init__(self, message: str = "permission denied") -> None:
        super().__init__(message, "PERMISSION_ERROR")


class NotFound(GraphQLFault):
    def __init__(self, message: str) -> None:
        super().__init__(message, "NOT_FOUND")


@dataclass
class Context:
    db: Database
    viewer: Identity
    base_url: str  # e.g. "http://127.0.0.1:8765", for File.url and similar
    headers: dict[str, str] = field(default_factory=dict)
    # Answers looked up once per request (a project's role for the viewer, a user's node):
    # a request asking for 50 projects' runs would otherwise repeat them per project and
    # per run. None turns memoising off (mutations: what they change must be read anew).
    memo: dict[Any, Any] | None = field(default_factory=dict)

    def remember(self, key: Any, compute: Callable[[], _T]) -> _T:
        if self.memo is None:
            return compute()
        try:
            return self.memo[key]
        except KeyError:
            value = self.memo[key] = compute()
            return value

    def project_role(self, project_id: int) -> str | None:
        """`auth.project_role` for the viewer, once per project and request."""
        return self.remember(("project_role", project_id),
                             lambda: project_role(self.db, project_id, self.viewer))
