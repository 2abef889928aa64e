"""Per-request context handed to every resolver as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..auth import Identity
from ..db import Database


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
