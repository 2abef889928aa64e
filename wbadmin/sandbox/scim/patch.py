"""The PatchOp envelope (RFC 7644 §3.5.2) as W&B accepts it, parsed into `Op`s."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .common import PATCH_URN, bad_request

# attr, optional [sub eq "value"] filter, optional .subAttr
_PATH = re.compile(
    r'^\s*([A-Za-z][\w]*)'
    r'(?:\[\s*([A-Za-z][\w.]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\])?'
    r'(?:\.([A-Za-z][\w]*))?\s*$', re.IGNORECASE)

OPS = ("add", "remove", "replace")


@dataclass(frozen=True)
class Op:
    op: str                            # add | remove | replace (lower-cased)
    path: str | None                   # as sent
    attr: str | None                   # lower-cased attribute the path targets
    filter: tuple[str, str] | None     # (lower-cased sub-attribute, value) of `attr[sub eq "v"]`
    sub: str | None                    # lower-cased `.subAttr` after the attribute or filter
    value: Any
    has_value: bool


def parse_path(path: str) -> tuple[str, tuple[str, str] | None, str | None]:
    match = _PATH.match(path)
    if not match:
        raise bad_request(f"invalid PATCH path: {path!r}")
    attr, fattr, fvalue, sub = match.groups()
    flt = None
    if fattr is not None:
        flt = (fattr.lower(), re.sub(r"\\(.)", r"\1", fvalue))
    return attr.lower(), flt, sub.lower() if sub else None


def parse_patch(body: dict[str, Any]) -> list[Op]:
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or PATCH_URN not in schemas:
        raise bad_request(f"a PATCH body must list the schema {PATCH_URN}")
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise bad_request("a PATCH body needs a non-empty Operations array")
    ops: list[Op] = []
    for raw in operations:
        if not isinstance(raw, dict):
            raise bad_request("each PATCH operation must be an object")
        op = raw.get("op")
        if not isinstance(op, str) or op.lower() not in OPS:
            raise bad_request(f"invalid PATCH op {op!r}; use add, remove or replace")
        path = raw.get("path")
        if path is not None and not isinstance(path, str):
            raise bad_request("a PATCH path must be a string")
        attr = flt = sub = None
        if path:
            attr, flt, sub = parse_path(path)
        has_value = "value" in raw and raw["value"] is not None
        if op.lower() == "add" and not has_value:
            raise bad_request("an add operation needs a value")
        if not path and op.lower() != "remove" and not isinstance(raw.get("value"), dict):
            raise bad_request("an operation without a path needs an object value")
        if not path and op.lower() == "remove":
            raise bad_request("a remove operation needs a path")
        ops.append(Op(op.lower(), path or None, attr, flt, sub, raw.get("value"), has_value))
    return ops


def expand(op: Op) -> list[Op]:
    """A path-less `replace` with an object value is one replace per key (RFC 7644 §3.5.2.3)."""
    if op.attr is not None:
        return [op]
    out = []
    for key, value in op.value.items():
        attr, flt, sub = parse_path(key)
        out.append(Op(op.op, key, attr, flt, sub, value, value is not None))
    return out
