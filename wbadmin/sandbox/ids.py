"""W&B's id conventions: GraphQL ids are `base64("<Type>:<int>")`.

SCIM ids are opaque strings on W&B; the sandbox uses the same GraphQL ids for SCIM users
(`User:n`), groups (`Entity:n`) and roles (`Role:n`, as in W&B's own SCIM examples).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any


def encode(type_name: str, pk: int) -> str:
    """`encode("User", 1) == "VXNlcjox"`, as W&B spells ids."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def decode(gid: str, *expected: str) -> int | None:
    """The integer behind a GraphQL id, or None when it is malformed or of another type."""
    try:
        text = base64.b64decode(gid.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, _, pk = text.partition(":")
    if expected and type_name not in expected:
        return None
    return int(pk) if pk.isdigit() else None


class Deferred:
    """A node field worked out only if a query asks for it. graphql-core's default
    resolver (and the direct executor) call a callable field value with the resolve info;
    a page of runs or projects seldom asks for ids and creation times, and encoding them
    all was a tenth of a large listing's time."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn, self.args = fn, args

    def __call__(self, _info: Any = None, **_field_args: Any) -> Any:
        return self.fn(*self.args)
