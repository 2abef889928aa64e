"""graphql-core's executor (for mutations, and for queries `direct_executor` hands on) with
a shortcut for the commonest fields there are: what the default resolver reads from a dict
source — a scalar (a run's name, state, timestamps), an
object (a connection's `pageInfo`, an edge's `node`) or a list of objects (`edges`).

A batched request for 50 projects' runs resolves some 100,000 of those; graphql-core's
generic path builds a `GraphQLResolveInfo`, checks for awaitables and dispatches on the
return type for each, which was most of the sandbox's time. The shortcut returns what the
generic path would and leaves every other case to it: fields with resolvers, arguments or
directives, interfaces and unions, lists of scalars, None (non-null checks), callables,
values a type refuses, and any error raised inside (the generic path runs the field again
and reports the error where GraphQL says).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    is_leaf_type,
)
from graphql.execution.incremental.incremental_executor import IncrementalExecutor
from graphql.pyutils import Path, Undefined

_PLAIN: dict[tuple[int, str], tuple[str, Any] | None] = {}


def _plain(parent_type: GraphQLObjectType, name: str) -> tuple[str, Any] | None:
    """How the default resolver's value of `parent_type.name` is completed, when it has no
    resolver or arguments: ("leaf", scalar or enum type), ("object", object type), ("list",
    object type of the items); None for everything else (interfaces, unions, lists of
    scalars, fields with resolvers)."""
    key = (id(parent_type), name)
    try:
        return _PLAIN[key]
    except KeyError:
        pass
    field: GraphQLField | None = parent_type.fields.get(name)
    kind = None
    if field is not None and field.resolve is None and not field.args:
        gtype = _nullable(field.type)
        if is_leaf_type(gtype):
            kind = ("leaf", gtype)
        elif isinstance(gtype, GraphQLObjectType) and gtype.is_type_of is None:
            kind = ("object", gtype)
        elif isinstance(gtype, GraphQLList):
            item = _nullable(gtype.of_type)
            if isinstance(item, GraphQLObjectType) and item.is_type_of is None:
                kind = ("list", item)
    _PLAIN[key] = kind
    return kind


def _nullable(gtype: Any) -> Any:
    return gtype.of_type if isinstance(gtype, GraphQLNonNull) else gtype


class FastExecutor(IncrementalExecutor):
    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any, path: Any,
                       grouped_field_set: Any, position_context: Any) -> Any:
        """graphql-core's loop over an object's fields, with plain scalars filled in without
        a path or a call each (every resolver here is synchronous: no awaitables)."""
        if type(source_value) is not dict or self.middleware_manager is not None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        results: dict[str, Any] = {}
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            plain = None if node.arguments or node.directives else \
                _plain(parent_type, node.name.value)
            if plain is not None and plain[0] == "leaf":
                value = source_value.get(node.name.value)
                if value is not None:
                    done = self._shortcut(plain, value, field_details_list, None,
                                          position_context)
                    if done is not Undefined:
                        results[response_name] = done
                        continue
            result = self.execute_field(parent_type, source_value, field_details_list,
                                        Path(path, response_name, parent_type.name),
                                        position_context)
            if result is not Undefined:
                results[response_name] = result
        return results

    def execute_field(self, parent_type: GraphQLObjectType, source: Any,
                      field_details_list: Any, path: Any, position_context: Any) -> Any:
        if type(source) is dict and self.middleware_manager is None:
            node = field_details_list[0].node
            plain = None if node.arguments or node.directives else \
                _plain(parent_type, node.name.value)
            value = None if plain is None else source.get(node.name.value)
            if value is not None:
                done = self._shortcut(plain, value, field_details_list, path, position_context)
                if done is not Undefined:
                    return done
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)

    def _shortcut(self, plain: tuple[str, Any], value: Any, field_details_list: Any,
                  path: Any, position_context: Any) -> Any:
        """The completed value, or Undefined to let the generic path complete it (which
        also reports, as GraphQL does, any error met on the way)."""
        kind, gtype = plain
        try:
            if kind == "leaf":
                if callable(value):
                    return Undefined
                coerced = gtype.coerce_output_value(value)
                return Undefined if coerced is None else coerced
            subfields = self.collect_and_execute_subfields
            if kind == "object" and type(value) is dict:
                return subfields(gtype, field_details_list, path, value, position_context)
            if kind == "list" and type(value) is list and \
                    all(type(item) is dict for item in value):
                return [subfields(gtype, field_details_list, path.add_key(i, None), item,
                                  position_context) for i, item in enumerate(value)]
        except Exception:  # a non-null field inside failed: the generic path reports it
            return Undefined
        return Undefined
