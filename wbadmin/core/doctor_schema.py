"""Does this server have every GraphQL type, field, argument and input field wbadmin uses?

Asked the way wandb-core probes servers: `__type(name:)` (its `TypeFields` and
`ProbeTypeInputFields` documents), never `__schema`. wbadmin's documents are walked from their
root types level by level; each level's types are asked in one request (aliases), so the
requests are as many as the documents are deep (about seven), whatever their number.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors as E
from .batch_sizes import too_big

if TYPE_CHECKING:
    from graphql.language import ast as g

# Each alias asks one type; the type reference is unwrapped through NON_NULL / LIST.
_TYPE_REF = "name kind ofType { name kind ofType { name kind ofType { name kind } } }"


def _probe(alias: str, name: str) -> str:
    return (f"{alias}: __type(name: {_quote(name)}) {{ name kind fields {{ name args {{ name "
            f"type {{ {_TYPE_REF} }} }} type {{ {_TYPE_REF} }} }} inputFields {{ name }} }}")


PER_REQUEST = 40  # types per probe request: one root field each, kept well under gateways'


@dataclass
class SchemaCheck:
    """What the server lacks, each with the documents (and so the features) that use it."""

    missing: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    checked: int = 0            # fields, arguments and input fields looked up
    types: int = 0              # types asked
    requests: int = 0
    refused: str | None = None  # introspection refused: nothing could be checked this way
    per_request: int = PER_REQUEST  # types per request, after any the server refused
    # Missing scalar fields of queries, with their paths of field names from the root: the
    # client leaves them out of what it sends (their values read as unknown).
    leaves: dict[str, set[tuple[str, ...]]] = field(default_factory=lambda: defaultdict(set))
    essential: set[str] = field(default_factory=set)  # missing where nothing can stand in
    in_queries: set[str] = field(default_factory=set)  # missing from a query (not a mutation)


def _named(ref: dict | None) -> str | None:
    while ref is not None and ref.get("name") is None:
        ref = ref.get("ofType")
    return ref.get("name") if ref else None


@dataclass
class _Need:
    type_name: str
    selections: g.SelectionSetNode | None
    where: str
    inputs: list[str] | None = None  # for an input type: the field names given
    fragments: dict[str, g.FragmentDefinitionNode] | None = None
    path: tuple[str, ...] = ()  # field names from the operation's root ("" for a mutation)
    query: bool = True          # in a query (not a mutation): a missing leaf can be left out


def _roots(documents: dict[str, str]) -> list[_Need]:
    from graphql import parse
    from graphql.language import ast as g

    needs = []
    for where, text in documents.items():
        doc = parse(text)
        fragments = {d.name.value: d for d in doc.definitions
                     if isinstance(d, g.FragmentDefinitionNode)}
        for op in doc.definitions:
            if not isinstance(op, g.OperationDefinitionNode):
                continue
            root = {"query": "Query", "mutation": "Mutation"}[op.operation.value]
            needs.append(_Need(root, op.selection_set, where, fragments=fragments,
                               query=root == "Query"))
            for var in op.variable_definitions or []:
                inner = var.type
                while not isinstance(inner, g.NamedTypeNode):
                    inner = inner.type
                needs.append(_Need(inner.name.value, None, where, query=root == "Query"))
    return needs


async def check_schema(client: Any, documents: dict[str, str]) -> SchemaCheck:
    result = SchemaCheck()
    known: dict[str, dict | None] = {}
    pending = _roots(documents)
    size = PER_REQUEST
    while pending:
        wanted = sorted({n.type_name for n in pending} - set(known))
        while wanted:
            chunk = wanted[:size]
            query = "query WbadminTypeProbe { " + " ".join(
                _probe(f"t{i}", name) for i, name in enumerate(chunk)) + " }"
            result.requests += 1
            try:
                data = await client.graphql(query)
            except E.WbError as exc:
                if isinstance(exc, E.AuthError | E.Offline):
                    raise
                if too_big(exc) and size > 1:
                    size = max(1, size // 2)  # a cost limit: smaller requests from now on
                    continue
                result.refused = f"the server refused `__type` introspection: {exc}"
                return result
            for i, name in enumerate(chunk):
                known[name] = data.get(f"t{i}")
            wanted = wanted[len(chunk):]
        result.types = len(known)
        result.per_request = size
        pending = [more for need in pending for more in _check(need, known, result)]
    return result


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "").replace('"', "") + '"'


def _check(need: _Need, known: dict[str, dict | None], result: SchemaCheck) -> list[_Need]:
    """Look `need` up in its (now known) type; the needs one level deeper."""
    from graphql.language import ast as g

    described = known.get(need.type_name)
    if described is None:
        result.missing[need.type_name].add(need.where)
        result.essential.add(need.type_name)
        if need.query:
            result.in_queries.add(need.type_name)
        return []
    if need.inputs is not None:
        fields = {f["name"]: f for f in described.get("inputFields") or []}
        for name in need.inputs:
            result.checked += 1
            if name not in fields:
                result.missing[f"{need.type_name}.{name}"].add(need.where)
                result.essential.add(f"{need.type_name}.{name}")
                if need.query:
                    result.in_queries.add(f"{need.type_name}.{name}")
        return []
    deeper: list[_Need] = []
    fields = {f["name"]: f for f in described.get("fields") or []}
    for selection in (need.selections.selections if need.selections else []):
        if isinstance(selection, g.InlineFragmentNode):
            cond = selection.type_condition.name.value if selection.type_condition \
                else need.type_name
            deeper.append(_Need(cond, selection.selection_set, need.where,
                                fragments=need.fragments, path=need.path, query=need.query))
            continue
        if isinstance(selection, g.FragmentSpreadNode):
            fragment = (need.fragments or {}).get(selection.name.value)
            if fragment is not None:
                deeper.append(_Need(fragment.type_condition.name.value,
                                    fragment.selection_set, need.where,
                                    fragments=need.fragments, path=need.path,
                                    query=need.query))
            continue
        name = selection.name.value
        if name.startswith("__"):
            continue
        result.checked += 1
        described_field = fields.get(name)
        if described_field is None:
            result.missing[f"{need.type_name}.{name}"].add(need.where)
            if need.query:
                result.in_queries.add(f"{need.type_name}.{name}")
            if need.query and selection.selection_set is None and need.path:
                result.leaves[f"{need.type_name}.{name}"].add((*need.path, name))
            else:
                result.essential.add(f"{need.type_name}.{name}")
            continue
        args = {a["name"]: a for a in described_field.get("args") or []}
        for argument in selection.arguments or []:
            result.checked += 1
            arg = args.get(argument.name.value)
            if arg is None:
                result.missing[f"{need.type_name}.{name}({argument.name.value}:)"].add(
                    need.where)
                result.essential.add(f"{need.type_name}.{name}({argument.name.value}:)")
                if need.query:
                    result.in_queries.add(f"{need.type_name}.{name}({argument.name.value}:)")
            elif isinstance(argument.value, g.ObjectValueNode):
                input_type = _named(arg.get("type"))
                if input_type:
                    deeper.append(_Need(input_type, None, need.where,
                                        inputs=[f.name.value for f in argument.value.fields],
                                        query=need.query))
        if selection.selection_set is not None:
            inner = _named(described_field.get("type"))
            if inner:
                deeper.append(_Need(inner, selection.selection_set, need.where,
                                    fragments=need.fragments, path=(*need.path, name),
                                    query=need.query))
    return deeper
