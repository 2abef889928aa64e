"""A direct executor for the sandbox's commonest request: a query whose resolvers all succeed.

graphql-core's executor pays, for every field, a resolve info, argument coercion, awaitable
checks and the records of incremental delivery. Under a large batched query (a quota
refresh asks for 6,500 projects' runs in some fifty requests) that bookkeeping was most of
the sandbox's time. This executor walks the same operation with fields collected and
arguments coerced once per request, calling the same resolvers in the same order.

It answers only when the answer is plain: the moment it meets anything else (a resolver
raising, a null in a non-null field, a value a scalar refuses, a directive, introspection,
an abstract type without `resolve_type`, an `is_type_of` check) it raises `Unsupported`, and
the caller runs graphql-core on the request instead, which reports errors exactly as GraphQL
says. Only queries come here: their resolvers read, so running them a second time is
harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path, Undefined


class Unsupported(Exception):
    """This request needs graphql-core's executor."""


# Built-in scalars that return a value of this exact type as it is.
_PASS_THROUGH = {"String": str, "ID": str, "Boolean": bool}

# How a field's named type is completed.
_LEAF, _OBJECT, _ABSTRACT = 1, 2, 3


class _Field:
    """One response key of an object: its definition, coerced arguments and what follows.
    Made once per request, so it also keeps the fields collected below it."""

    __slots__ = (
        "args",
        "children",
        "definition",
        "items",
        "key",
        "kind",
        "name",
        "named",
        "nodes",
        "non_null",
        "plain_leaf",
        "resolve",
        "same",
        "same_items",
        "source_only",
        "subsets",
    )

    def __init__(self, key: str, name: str, definition: Any, nodes: list[FieldNode],
                 args: dict[str, Any], subsets: tuple[SelectionSetNode, ...]) -> None:
        self.key, self.name, self.definition = key, name, definition
        self.resolve = None if definition is None else definition.resolve
        self.nodes, self.args, self.subsets = nodes, args, subsets
        self.children: dict[int, list[_Field]] = {}  # id(object type) -> its fields
        self.non_null, self.items, self.kind, self.named = False, (), _LEAF, None
        if definition is not None:
            self.non_null, self.items, self.kind, self.named = _shape(definition.type)
        self.plain_leaf = definition is not None and self.kind == _LEAF and not self.items
        # The Python type a plain leaf's scalar passes through unchanged (a str for String).
        self.same = _PASS_THROUGH.get(self.named.name) if self.plain_leaf else None
        # A list of such scalars (a run's tags), passed through as it is when every item is.
        self.same_items = _PASS_THROUGH.get(self.named.name) if definition is not None and \
            self.kind == _LEAF and len(self.items) == 1 else None
        self.source_only = getattr(self.resolve, "source_only", False)


def _shape(gtype: Any) -> tuple[bool, tuple[bool, ...], int, Any]:
    """(non-null, each list level's non-null, kind, named type) of an output type."""
    non_null = isinstance(gtype, GraphQLNonNull)
    if non_null:
        gtype = gtype.of_type
    items: list[bool] = []
    while isinstance(gtype, GraphQLList):
        gtype = gtype.of_type
        items.append(isinstance(gtype, GraphQLNonNull))
        if items[-1]:
            gtype = gtype.of_type
    if is_leaf_type(gtype):
        kind = _LEAF
    elif isinstance(gtype, GraphQLObjectType):
        kind = _OBJECT
    elif is_abstract_type(gtype):
        kind = _ABSTRACT
    else:  # pragma: no cover - a validated schema has no other output types
        raise Unsupported
    return non_null, tuple(items), kind, gtype


class _Execution:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 operation: OperationDefinitionNode, variable_values: Any,
                 context: Any) -> None:
        self.schema, self.fragments, self.operation = schema, fragments, operation
        self.variable_values, self.context = variable_values, context

    # ---- collecting fields (once per object type and parent field) ---------------------

    def collect(self, otype: GraphQLObjectType,
                sets: tuple[SelectionSetNode, ...]) -> list[_Field]:
        grouped: dict[str, list[FieldNode]] = {}
        seen: set[str] = set()
        for selection_set in sets:
            self._visit(otype, selection_set, grouped, seen)
        return [self._field(otype, k, nodes) for k, nodes in grouped.items()]

    def _visit(self, otype: GraphQLObjectType, selection_set: SelectionSetNode,
               grouped: dict[str, list[FieldNode]], seen: set[str]) -> None:
        for selection in selection_set.selections:
            if selection.directives:  # @skip, @include, @defer...: graphql-core's business
                raise Unsupported
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if selection.type_condition is None or \
                        self._matches(selection.type_condition.name.value, otype):
                    self._visit(otype, selection.selection_set, grouped, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen:
                    continue
                seen.add(name)
                fragment = self.fragments.get(name)
                if fragment is None or getattr(selection, "arguments", None):
                    raise Unsupported
                if self._matches(fragment.type_condition.name.value, otype):
                    self._visit(otype, fragment.selection_set, grouped, seen)
            else:
                raise Unsupported

    def _matches(self, condition: str, otype: GraphQLObjectType) -> bool:
        ctype = self.schema.get_type(condition)
        return ctype is otype or (is_abstract_type(ctype) and
                                  self.schema.is_sub_type(ctype, otype))  # type: ignore[arg-type]

    def _field(self, otype: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> _Field:
        name = nodes[0].name.value
        subsets = tuple(n.selection_set for n in nodes if n.selection_set is not None)
        if name == "__typename":
            return _Field(key, name, None, nodes, {}, subsets)
        definition = otype.fields.get(name)
        if definition is None:  # introspection (__schema, __type) or unknown
            raise Unsupported
        try:
            args = get_argument_values(definition, nodes[0], self.variable_values) \
                if definition.args else {}
        except Exception as exc:
            raise Unsupported from exc
        return _Field(key, name, definition, nodes, args, subsets)

    # ---- executing ------------------------------------------------------------------------

    def info(self, field: _Field, otype: GraphQLObjectType, path: Path) -> GraphQLResolveInfo:
        # No abort signal or async helpers: every resolver here is synchronous.
        return GraphQLResolveInfo(field.name, field.nodes, field.definition.type, otype, path,
                                  self.schema, self.fragments, None, self.operation,
                                  self.variable_values, self.context, never_awaitable,
                                  None, None)  # type: ignore[arg-type]

    def object(self, otype: GraphQLObjectType, fields: list[_Field], source: Any,
               path: Path | None) -> dict[str, Any]:
        if otype.is_type_of is not None:
            raise Unsupported
        result: dict[str, Any] = {}
        is_dict = type(source) is dict or isinstance(source, Mapping)
        for field in fields:
            key = field.key
            if field.definition is None:
                result[key] = otype.name
                continue
            resolve = field.resolve
            if resolve is not None:
                value = resolve(source, None if field.source_only else
                                self.info(field, otype, Path(path, key, otype.name)),
                                **field.args)
            else:  # graphql-core's default resolver
                value = source.get(field.name) if is_dict else \
                    getattr(source, field.name, None)
                if callable(value):
                    value = value(self.info(field, otype, Path(path, key, otype.name)),
                                  **field.args)
            if value is None:
                if field.non_null:
                    raise Unsupported
                result[key] = None
            elif type(value) is field.same:  # most fields: a string as it is
                result[key] = value
            elif field.plain_leaf:
                coerced = field.named.coerce_output_value(value)
                if coerced is None or coerced is Undefined:
                    raise Unsupported
                result[key] = coerced
            elif field.same_items is not None and type(value) in (list, tuple) and \
                    _all_of(field.same_items, value):
                # (no item is None: a non-null item type holds)
                result[key] = value if type(value) is list else list(value)
            elif field.items:
                result[key] = self._items(field, otype, value, Path(path, key, otype.name),
                                          field.items)
            else:
                result[key] = self._named(field, otype, value, Path(path, key, otype.name))
        return result

    def _items(self, field: _Field, otype: GraphQLObjectType, value: Any, path: Path,
               items: tuple[bool, ...]) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise Unsupported
        item_non_null, rest = items[0], items[1:]
        out = []
        for i, item in enumerate(value):
            if item is None:
                if item_non_null:
                    raise Unsupported
                out.append(None)
            elif rest:
                out.append(self._items(field, otype, item, path.add_key(i), rest))
            else:
                out.append(self._named(field, otype, item, path.add_key(i)))
        return out

    def _named(self, field: _Field, otype: GraphQLObjectType, value: Any, path: Path) -> Any:
        named = field.named
        if field.kind == _LEAF:
            coerced = named.coerce_output_value(value)
            if coerced is None or coerced is Undefined:
                raise Unsupported
            return coerced
        if field.kind == _ABSTRACT:
            if named.resolve_type is None:
                raise Unsupported
            type_name = named.resolve_type(value, self.info(field, otype, path), named)
            runtime = self.schema.get_type(type_name) if isinstance(type_name, str) else None
            if not isinstance(runtime, GraphQLObjectType) or \
                    not self.schema.is_sub_type(named, runtime):
                raise Unsupported
            named = runtime
        fields = field.children.get(id(named))
        if fields is None:
            fields = field.children[id(named)] = self.collect(named, field.subsets)
        return self.object(named, fields, value, path)


def _all_of(kind: type, items: list | tuple) -> bool:
    """Every item is a `kind` (so none is None). Strings are checked by `join`, at C speed:
    a huge org's runs answer hundreds of thousands of tag lists (a str subclass passes
    there, and is written as the string it is)."""
    if kind is str:
        try:
            "".join(items)
        except TypeError:
            return False
        return True
    return all(type(item) is kind for item in items)


def never_awaitable(_value: Any) -> bool:
    """Every resolver is synchronous, so no value needs graphql-core's awaitable checks
    (half a million of them for a large batched request)."""
    return False


def execute_query(schema: GraphQLSchema, document: Any, operation: OperationDefinitionNode,
                  variables: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """The `data` of a query, as graphql-core would answer it when nothing goes wrong;
    raises `Unsupported` for anything else."""
    if operation.operation != OperationType.QUERY or schema.query_type is None:
        raise Unsupported
    variable_values = get_variable_values(schema, operation.variable_definitions or (),
                                          variables or {})
    if isinstance(variable_values, list):  # coercion errors: graphql-core words them
        raise Unsupported
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    execution = _Execution(schema, fragments, operation, variable_values, context)
    try:
        root = schema.query_type
        return execution.object(root, execution.collect(root, (operation.selection_set,)),
                                None, None)
    except Unsupported:
        raise
    except Exception as exc:  # a resolver's error: graphql-core reports it with its path
        raise Unsupported from exc
