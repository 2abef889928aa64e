"""The sandbox playing an older or stricter W&B: fields and arguments it does not have,
introspection turned off, and caps on the root fields and on the nodes asked by one request
(what a gateway or a query-cost limit refuses), answered as a GraphQL complexity error or as
a gateway timeout; and no SCIM API (404 under /scim, as a server without it
answers). wbadmin's `doctor` and its degraded paths are tested against it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OVER_CAP_ANSWERS = ("error", "timeout")  # HTTP 400 QUERY_COMPLEXITY, or nginx's HTTP 504
NAME = re.compile(r"^([A-Za-z_]\w*)\.([A-Za-z_]\w*)(?:\(([A-Za-z_]\w*):?\))?$")


@dataclass(frozen=True)
class ServerVariant:
    without: frozenset[str] = field(default_factory=frozenset)  # "Type.field", "Type.field(arg)"
    introspection: bool = True
    max_root_fields: int | None = None
    max_nodes: int | None = None  # nodes asked, counted as gateways count (gql/cost.py)
    over_cap_answer: str = "error"
    scim: bool = True

    @classmethod
    def of(cls, without: list[str] | tuple[str, ...] = (), *, introspection: bool = True,
           max_root_fields: int | None = None, max_nodes: int | None = None,
           over_cap_answer: str = "error", scim: bool = True) -> ServerVariant:
        """Checked against the full schema: a name it does not have is one clear error."""
        from .gql.executor import get_schema

        schema = get_schema()
        for name in without:
            match = NAME.match(name)
            if not match:
                raise ValueError(f"{name!r} is not Type.field or Type.field(arg)")
            type_name, field_name, arg = match.groups()
            gtype = schema.type_map.get(type_name)
            fields = getattr(gtype, "fields", None)
            if gtype is None or fields is None or field_name not in fields:
                raise ValueError(f"the sandbox's schema has no {type_name}.{field_name}")
            if arg and arg not in getattr(fields[field_name], "args", {}):
                raise ValueError(f"{type_name}.{field_name} has no argument {arg!r}")
        if max_root_fields is not None and max_root_fields < 1:
            raise ValueError("the cap on root fields must be at least 1")
        if max_nodes is not None and max_nodes < 1:
            raise ValueError("the cap on nodes must be at least 1")
        if over_cap_answer not in OVER_CAP_ANSWERS:
            raise ValueError(f"an over-cap request is answered {' or '.join(OVER_CAP_ANSWERS)},"
                             f" not {over_cap_answer!r}")
        return cls(frozenset(n.replace(":)", ")") for n in without), introspection,
                   max_root_fields, max_nodes, over_cap_answer, scim)

    def remove_from(self, schema) -> None:
        """Take the missing fields and arguments out of a freshly built schema."""
        for name in self.without:
            type_name, field_name, arg = NAME.match(name).groups()  # type: ignore[union-attr]
            fields = schema.type_map[type_name].fields
            if arg:
                del fields[field_name].args[arg]
            else:
                del fields[field_name]
