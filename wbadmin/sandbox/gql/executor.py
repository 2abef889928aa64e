"""Parse, validate and execute one GraphQL request against the sandbox schema.

The schema is the SDL under `schema/` (one file per area, joined with `extend type`);
resolvers come from the modules in `RESOLVER_MODULES`, each exposing
`RESOLVERS = {"TypeName": {"field": fn}}` and optionally `TYPE_RESOLVERS = {"Interface": fn}`.
Fields without a resolver read the same-named key of a dict source.
"""

from __future__ import annotations

import importlib
import json
import logging
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    build_schema,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql.language import OperationType, ValueNode
from graphql.utilities import get_operation_ast, value_from_ast_untyped

from ..server_variant import ServerVariant
from .context import Context, GraphQLFault
from .cost import GATEWAY_TIMEOUT_PAGE, nodes_asked
from .direct_executor import Unsupported, execute_query, never_awaitable
from .fast_executor import FastExecutor

DEFAULT_VARIANT = ServerVariant()  # today's W&B, as far as the sandbox knows it

log = logging.getLogger("wbadmin.sandbox.graphql")

SCHEMA_DIR = Path(__file__).parent / "schema"

# Resolver modules, relative to this package. Each owns one area of the schema.
RESOLVER_MODULES = [
    "resolvers_server",
    "resolvers_users", "resolvers_users_teams", "resolvers_users_keys",
    "resolvers_projects",
    "resolvers_runs", "resolvers_run_mutations",
    "resolvers_artifacts", "resolvers_artifact_mutations",
    "resolvers_registries", "resolvers_registry_search",
    "resolvers_views",
]


def _json_serialize(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _json_parse(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise GraphQLError(f"invalid JSONString: {exc.msg}") from exc
    return value


def _json_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    return _json_parse(value_from_ast_untyped(node, variables))


def sdl() -> str:
    files = sorted(SCHEMA_DIR.glob("*.graphql"), key=lambda p: (p.name != "base.graphql", p.name))
    return "\n".join(p.read_text() for p in files)


@cache
def get_schema(without: frozenset[str] = frozenset()) -> GraphQLSchema:
    """The schema, built once per set of missing fields (an older server: ServerVariant)."""
    schema = build_schema(sdl())
    for name in ("JSONString", "JSON"):
        scalar = schema.type_map[name]
        scalar.serialize = _json_serialize if name == "JSONString" else (lambda v: v)
        # graphql-core 3.3 coerces inputs through coerce_input_*; parse_* are the legacy names.
        scalar.parse_value = scalar.coerce_input_value = _json_parse
        scalar.parse_literal = scalar.coerce_input_literal = _json_literal
    for module_name in RESOLVER_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.{module_name}":
                continue  # an area not built yet
            raise
        for type_name, fields in getattr(module, "RESOLVERS", {}).items():
            gtype = schema.type_map[type_name]
            for field_name, fn in fields.items():
                gtype.fields[field_name].resolve = fn
        for type_name, fn in getattr(module, "TYPE_RESOLVERS", {}).items():
            schema.type_map[type_name].resolve_type = fn
    if without:
        ServerVariant(without).remove_from(schema)
    return schema


@lru_cache(maxsize=512)
def checked_document(query: str, without: frozenset[str] = frozenset(),
                     introspection: bool = True) -> tuple[Any, list[dict[str, Any]]]:
    """The parsed document and its validation errors, memoised by query text: clients send
    the same few documents over and over, and parsing plus validating costs milliseconds."""
    try:
        document = parse(query)
    except GraphQLError as err:
        return None, [err.formatted]
    rules = None if introspection else (*specified_rules, NoSchemaIntrospectionCustomRule)
    return document, [e.formatted for e in validate(get_schema(without), document, rules)]


def _error(err: GraphQLError) -> dict[str, Any]:
    out = err.formatted
    original = err.original_error
    if isinstance(original, GraphQLFault):
        out["extensions"] = {"code": original.code}
    elif original is not None and not isinstance(original, GraphQLError):
        # A GraphQLError inside is graphql-core's own (e.g. variable coercion): keep its text.
        log.exception("resolver failed", exc_info=original)
        out["message"] = "internal error"
        out["extensions"] = {"code": "INTERNAL"}
    return out


def _over_cap(document: Any, chosen: Any, variables: dict[str, Any] | None,
              variant: ServerVariant) -> tuple[int, dict[str, Any] | str] | None:
    """The answer to a request over the variant's caps, nothing executed: a query-cost
    limit's request error, or (`over_cap_answer="timeout"`) the gateway giving up on it."""
    why = None
    fields = len(chosen.selection_set.selections)
    if variant.max_root_fields is not None and fields > variant.max_root_fields:
        why = f"{fields} root fields, at most {variant.max_root_fields} allowed"
    elif variant.max_nodes is not None:
        nodes = nodes_asked(document, chosen, variables)
        if nodes > variant.max_nodes:
            why = f"{nodes} nodes asked, at most {variant.max_nodes} allowed"
    if why is None:
        return None
    if variant.over_cap_answer == "timeout":
        return 504, GATEWAY_TIMEOUT_PAGE
    return 400, {"errors": [{"message": f"query too complex: {why}",
                             "extensions": {"code": "QUERY_COMPLEXITY"}}]}


def run(ctx: Context, body: Any,
        variant: ServerVariant | None = None) -> tuple[int, dict[str, Any] | str]:
    """(HTTP status, JSON payload) for one request body, as W&B answers it.

    Malformed requests and documents that fail validation get HTTP 400 with `errors`;
    resolver errors (permissions, not found, conflicts) get HTTP 200 with `errors`; the
    sandbox never answers a logical error with a 5xx (the SDK would retry it). A variant's
    gateway timeout is the one answer that is not JSON (a str: an HTML page).
    """
    if not isinstance(body, dict):
        return 400, {"errors": [{"message": "request body must be a JSON object"}]}
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        return 400, {"errors": [{"message": "missing query"}]}
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return 400, {"errors": [{"message": "variables must be a JSON object"}]}
    operation = body.get("operationName") or None  # the SDK sends "" for most queries
    if operation is not None and not isinstance(operation, str):
        return 400, {"errors": [{"message": "operationName must be a string"}]}
    variant = variant or DEFAULT_VARIANT
    schema = get_schema(variant.without)
    document, problems = checked_document(query, variant.without, variant.introspection)
    if problems:
        return 400, {"errors": problems}
    chosen = get_operation_ast(document, operation)
    if chosen is not None:
        refused = _over_cap(document, chosen, variables, variant)
        if refused is not None:
            return refused
    if chosen is None or chosen.operation != OperationType.QUERY:
        ctx.memo = None  # a mutation's later fields must see what it changed
    if chosen is not None and chosen.operation == OperationType.QUERY:
        try:
            return 200, {"data": execute_query(schema, document, chosen, variables, ctx)}
        except Unsupported:
            pass  # graphql-core answers it, errors and all
    result = execute(schema, document, variable_values=variables, operation_name=operation,
                     context_value=ctx, is_awaitable=never_awaitable,
                     executor_class=FastExecutor)
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [_error(e) for e in result.errors]
        if result.data is None:
            # Variable coercion failures and unknown operations: a request error.
            return 400, payload
    return 200, payload
