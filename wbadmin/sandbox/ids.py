"""W&B's id conventions: GraphQL ids are `base64("<Type>:<int>")`.

SCIM ids are opaque strings on W&B; the sandbox uses the same GraphQL ids for SCIM users
(`User:n`), groups (`Entity:n`) and roles (`Role:n`, as in W&B's own SCIM examples).
"""

from __future__ import annotations

import base64
import binascii


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
