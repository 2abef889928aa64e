"""How many nodes a request asks for, estimated from its document before it runs — the way
query-cost gateways count (GitHub's node limit is the best-known): every connection field
asks `first:` nodes for each node of its parent connection, so `projects(first: 500) {
runs(first: 100) }` asks 500 + 500 × 100. A field without `first:` (a plain list, a single
object) multiplies nothing. `first:` may be a literal or a variable (its value, or the
variable's default)."""

from __future__ import annotations

from typing import Any

from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

GATEWAY_TIMEOUT_PAGE = """<html>
<head><title>504 Gateway Time-out</title></head>
<body>
<center><h1>504 Gateway Time-out</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def nodes_asked(document: Any, operation: OperationDefinitionNode,
                variables: dict[str, Any] | None) -> int:
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    defaults = {d.variable.name.value: d.default_value for d in operation.variable_definitions or ()
                if d.default_value is not None}
    values = variables or {}

    def first_of(field: FieldNode) -> int | None:
        for arg in field.arguments or ():
            if arg.name.value != "first":
                continue
            node = arg.value
            if isinstance(node, VariableNode):
                name = node.name.value
                value = values.get(name)
                if value is None and isinstance(defaults.get(name), IntValueNode):
                    value = int(defaults[name].value)  # type: ignore[union-attr]
                return value if isinstance(value, int) and value > 0 else None
            if isinstance(node, IntValueNode):
                return max(0, int(node.value))
        return None

    def walk(selection_set: SelectionSetNode | None, multiplier: int, seen: frozenset) -> int:
        if selection_set is None:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                first = first_of(sel)
                if first is None:
                    total += walk(sel.selection_set, multiplier, seen)
                else:
                    total += first * multiplier + walk(sel.selection_set, multiplier * first,
                                                       seen)
            elif isinstance(sel, InlineFragmentNode):
                total += walk(sel.selection_set, multiplier, seen)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                fragment = fragments.get(sel.name.value)
                if fragment is not None:
                    total += walk(fragment.selection_set, multiplier, seen | {sel.name.value})
        return total

    return walk(operation.selection_set, 1, frozenset())
