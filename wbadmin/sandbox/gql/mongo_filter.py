"""Mongo-style JSON filters, as W&B's `filters: JSONString` arguments take them, compiled to SQL.

W&B evaluates `{"$and": [{"state": "finished"}, {"config.lr": {"$lt": 0.01}}]}`-style
documents on its side; the sandbox turns them into a SQLite WHERE clause with parameters.
Which names are filterable, and what SQL each one reads, is up to the caller: a
`FieldMap` maps field names (aliases allowed) to `Column`s. A `Column` of kind `json` is a
JSON-object column that dotted paths reach into (`config.lr`, `summary_metrics.loss`); kind
`list` is a JSON array column (`tags`) whose operators test membership, as MongoDB does for
arrays; kind `time` holds epoch seconds and accepts ISO-8601 strings in filters.

Supported: `$and $or $nor $not $eq $ne $gt $gte $lt $lte $in $nin $regex (+$options) $exists`.
Comparisons only match values of the same type family (numbers with numbers, strings with
strings), as MongoDB's type brackets do; `$ne`, `$nin` and `$not` also match missing values.
"""

from __future__ import annotations

import copy
import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from .context import GraphQLFault

Kind = Literal["scalar", "json", "list", "time"]
COMPARISONS = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
LOGICAL = ("$and", "$or", "$nor", "$not")


class FilterError(GraphQLFault):
    """A filter W&B would reject: reported as a GraphQL error, never a 5xx."""

    def __init__(self, message: str) -> None:
        super().__init__(f"invalid filters: {message}", "BAD_REQUEST")


@dataclass(frozen=True)
class Column:
    """How one filterable field is read in SQL.

    `strip_value`: the column stores config values unwrapped, while W&B spells config
    paths both as `config.lr` and `config.lr.value`; a trailing `.value` is dropped.
    """

    sql: str
    kind: Kind = "scalar"
    strip_value: bool = False


FieldMap = Mapping[str, Column]


@dataclass(frozen=True)
class _Target:
    """A resolved field: an SQL expression, plus the array column for list membership."""

    expr: str
    kind: Kind
    params: tuple[Any, ...] = ()
    exists_expr: str | None = None  # JSON paths: present even when the value is null


# ---- SQLite functions ----------------------------------------------------------------------

def _regexp(pattern: str | None, value: Any, flags: int = 0) -> int:
    if pattern is None or value is None or not isinstance(value, str):
        return 0
    try:
        return int(re.search(pattern, value, flags) is not None)
    except re.error:
        return 0


def install_functions(conn: sqlite3.Connection) -> None:
    """Register `mongo_regexp(pattern, value, flags)` on a connection (idempotent).

    Registering a function expires every statement SQLite has prepared, and re-preparing
    them cost more than running them, so the connection last given is remembered (held,
    so no other can take its place) and not registered again. Connections take neither
    attributes nor weak references; the sandbox serves from one."""
    if _INSTALLED_ON[0] is not conn:
        conn.create_function("mongo_regexp", 3, _regexp, deterministic=True)
        _INSTALLED_ON[0] = conn


_INSTALLED_ON: list[sqlite3.Connection | None] = [None]


# ---- field resolution ----------------------------------------------------------------------

def _json_path(parts: list[str]) -> str:
    return "$" + "".join('."' + p.replace('"', '\\"') + '"' for p in parts)


def _resolve(name: str, fields: FieldMap) -> _Target:
    if not isinstance(name, str) or not name or name.startswith("$"):
        raise FilterError(f"unknown operator {name!r}")
    if name in fields:
        col = fields[name]
        return _Target(col.sql, col.kind)
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        col = fields.get(prefix)
        if col is None or col.kind != "json":
            continue
        rest = parts[cut:]
        if col.strip_value and len(rest) > 1 and rest[-1] == "value":
            rest = rest[:-1]
        return _Target(f"json_extract({col.sql}, ?)", "json", (_json_path(rest),),
                       exists_expr=f"json_type({col.sql}, ?)")
    raise FilterError(f"unknown field {name!r}")


# ---- values --------------------------------------------------------------------------------

def parse_time(value: Any) -> Any:
    """Epoch seconds for an ISO-8601 string (naive means UTC, as W&B prints times)."""
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise FilterError(f"not a timestamp: {value!r}") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return value


def _sql_value(value: Any, kind: Kind) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if kind == "time":
        return parse_time(value)
    return value


def _type_guard(expr: str, value: Any) -> str:
    """MongoDB compares within a type family; SQLite would order numbers before text."""
    if isinstance(value, bool):
        return f"typeof({expr}) = 'integer'"
    if isinstance(value, (int, float)):
        return f"typeof({expr}) IN ('integer', 'real')"
    if isinstance(value, str):
        return f"typeof({expr}) = 'text'"
    return "1"


# ---- compilation ---------------------------------------------------------------------------

class _Compiler:
    def __init__(self, fields: FieldMap) -> None:
        self.fields = fields
        self.params: list[Any] = []

    def document(self, doc: Any) -> str:
        if not isinstance(doc, dict):
            raise FilterError("a filter must be a JSON object")
        clauses = [self.entry(key, value) for key, value in doc.items()]
        return _join(clauses, "AND")

    def entry(self, key: str, value: Any) -> str:
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list):
                raise FilterError(f"{key} takes a list")
            parts = [self.document(v) for v in value]
            if key == "$and":
                return _join(parts, "AND")
            if key == "$or":
                return _join(parts, "OR") if parts else "0"
            return f"NOT {_join(parts, 'OR')}" if parts else "1"
        if key == "$not":  # top-level form: negate a whole document
            return f"NOT COALESCE({self.document(value)}, 0)"
        target = _resolve(key, self.fields)
        if isinstance(value, dict) and any(str(k).startswith("$") for k in value):
            return self.operators(target, value)
        return self.op(target, "$eq", value)

    def operators(self, target: _Target, ops: dict[str, Any]) -> str:
        options = ops.get("$options", "")
        clauses = []
        for op, arg in ops.items():
            if op == "$options":
                continue
            if op == "$regex":
                clauses.append(self.regex(target, arg, options))
            elif op == "$not":
                if isinstance(arg, dict):
                    inner = self.operators(target, arg)
                elif isinstance(arg, str):
                    inner = self.regex(target, arg, options)
                else:
                    raise FilterError("$not takes an operator object or a pattern")
                clauses.append(f"NOT COALESCE({inner}, 0)")
            else:
                clauses.append(self.op(target, op, arg))
        return _join(clauses, "AND")

    def bind(self, target: _Target) -> str:
        """The target's expression, with its own parameters queued (once per use)."""
        self.params.extend(target.params)
        return target.expr

    def op(self, target: _Target, op: str, arg: Any) -> str:
        if target.kind == "list":
            return self.list_op(target, op, arg)
        if op in ("$in", "$nin"):
            if not isinstance(arg, list):
                raise FilterError(f"{op} takes a list")
            matches = _join([self.op(target, "$eq", v) for v in arg], "OR") if arg else "0"
            return matches if op == "$in" else f"NOT COALESCE({matches}, 0)"
        if op == "$exists":
            self.params.extend(target.params)
            expr = target.exists_expr or target.expr
            return f"({expr} IS NOT NULL)" if arg else f"({expr} IS NULL)"
        if op not in COMPARISONS:
            raise FilterError(f"unknown operator {op!r}")
        if arg is None:
            expr = self.bind(target)
            if op in ("$eq", "$lte", "$gte"):
                return f"({expr} IS NULL)"
            if op == "$ne":
                return f"({expr} IS NOT NULL)"
            return "0"
        value = _sql_value(arg, target.kind)
        if op == "$ne":
            expr = self.bind(target)
            self.params.append(value)
            return f"({expr} IS NOT ?)"
        if op == "$eq":
            expr = self.bind(target)
            self.params.append(value)
            return f"({expr} = ?)"
        if target.kind == "time" and type(value) in (int, float):
            # Time columns hold epoch seconds or NULL (which no comparison matches): the
            # guard would only cost a typeof() per row.
            expr = self.bind(target)
            self.params.append(value)
            return f"({expr} {COMPARISONS[op]} ?)"
        guard_expr = self.bind(target)
        guard = _type_guard(guard_expr, arg if target.kind != "time" else value)
        expr = self.bind(target)
        self.params.append(value)
        return f"({guard} AND {expr} {COMPARISONS[op]} ?)"

    def regex(self, target: _Target, pattern: Any, options: str) -> str:
        if not isinstance(pattern, str):
            raise FilterError("$regex takes a string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise FilterError(f"bad $regex {pattern!r}: {exc}") from exc
        flags = (re.IGNORECASE if "i" in options else 0) | (re.MULTILINE if "m" in options else 0)
        flags |= re.DOTALL if "s" in options else 0
        if target.kind == "list":
            col = self.bind(target)
            self.params.extend([pattern, flags])
            return f"EXISTS (SELECT 1 FROM json_each({col}) WHERE mongo_regexp(?, value, ?))"
        self.params.append(pattern)
        expr = self.bind(target)
        self.params.append(flags)
        return f"mongo_regexp(?, {expr}, ?)"

    def list_op(self, target: _Target, op: str, arg: Any) -> str:
        """Array semantics: a scalar operand matches when any element matches."""
        col = self.bind(target)
        if op == "$exists":
            return f"({col} IS NOT NULL)" if arg else f"({col} IS NULL)"
        if op in ("$in", "$nin"):
            if not isinstance(arg, list):
                raise FilterError(f"{op} takes a list")
            if not arg:
                return "0" if op == "$in" else "1"
            marks = ", ".join("?" for _ in arg)
            self.params.extend(_sql_value(v, "scalar") for v in arg)
            exists = f"EXISTS (SELECT 1 FROM json_each({col}) WHERE value IN ({marks}))"
            return exists if op == "$in" else f"NOT {exists}"
        if op not in COMPARISONS:
            raise FilterError(f"unknown operator {op!r}")
        if isinstance(arg, list):  # whole-array equality
            self.params.append(json.dumps(arg, separators=(",", ":")))
            same = f"(json({col}) = json(?))"
            return same if op == "$eq" else (f"NOT {same}" if op == "$ne" else "0")
        self.params.append(_sql_value(arg, "scalar"))
        if op == "$ne":
            return f"NOT EXISTS (SELECT 1 FROM json_each({col}) WHERE value = ?)"
        sql_op = COMPARISONS[op]
        return f"EXISTS (SELECT 1 FROM json_each({col}) WHERE value {sql_op} ?)"


def _join(clauses: list[str], word: str) -> str:
    if not clauses:
        return "1"
    if len(clauses) == 1:
        return clauses[0]
    return "(" + f" {word} ".join(clauses) + ")"


def parse_filters(filters: Any) -> dict[str, Any]:
    """The filter document from a JSONString argument (a string or an already-parsed dict)."""
    if filters is None or filters == "":
        return {}
    if isinstance(filters, str):
        try:
            filters = json.loads(filters)
        except json.JSONDecodeError as exc:
            raise FilterError(f"not JSON: {exc.msg}") from exc
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise FilterError("a filter must be a JSON object")
    return filters


def compile_filter(filters: Any, fields: FieldMap) -> tuple[str, list[Any]]:
    """(SQL boolean expression, parameters) for a Mongo-style filter; `"1"` when empty.

    The expression may call `mongo_regexp`: run it on a connection that had
    `install_functions` applied.
    """
    global _last
    last = _last  # one read: another thread may replace it meanwhile
    if last and last[0] is filters and last[1] is fields and last[2] == filters:
        return last[3], list(last[4])
    try:
        key = (id(fields), json.dumps(filters, sort_keys=True))
    except (TypeError, ValueError):
        key = None
    hit = _COMPILED.get(key) if key else None
    if hit is None or hit[0] is not fields:
        compiler = _Compiler(fields)
        hit = (fields, compiler.document(parse_filters(filters)), tuple(compiler.params))
        if key:
            if len(_COMPILED) >= _COMPILED_MAX:
                _COMPILED.clear()
            _COMPILED[key] = hit
    if key:
        _last = (filters, fields, copy.deepcopy(filters), hit[1], hit[2])
    return hit[1], list(hit[2])


# Compiled filters by (field map, filter text): a batched request asks the same filter of
# many projects, and compiling it dominated each project's cost.
_COMPILED: dict[tuple[int, str], tuple[FieldMap, str, tuple[Any, ...]]] = {}
_COMPILED_MAX = 512
# The last filter object compiled, held (so its id stays its own) with a copy of its value:
# the many projects of one request share one coerced argument, and the key above costs a
# `json.dumps` each time.
_last: tuple[Any, ...] = ()


# ---- ordering ------------------------------------------------------------------------------

def compile_order(order: str | None, fields: FieldMap, default: str,
                  tiebreak: str) -> tuple[str, list[Any]]:
    """(ORDER BY body, parameters) for W&B's `order` strings: `[+-]field`, e.g.
    `+created_at`, `-summary_metrics.loss`, `config.lr.value`. Missing values sort last in
    both directions; `tiebreak` (a unique column) keeps pages stable.
    """
    key = (order, id(fields), default, tiebreak)
    hit = _ORDERS.get(key)
    if hit is not None and hit[0] is fields:
        return hit[1], list(hit[2])
    sql, params = _compile_order(order, fields, default, tiebreak)
    if len(_ORDERS) >= _COMPILED_MAX:
        _ORDERS.clear()
    _ORDERS[key] = (fields, sql, tuple(params))
    return sql, params


_ORDERS: dict[tuple[Any, ...], tuple[FieldMap, str, tuple[Any, ...]]] = {}


def _compile_order(order: str | None, fields: FieldMap, default: str,
                   tiebreak: str) -> tuple[str, list[Any]]:
    spec = (order or "").strip() or default
    descending = spec.startswith("-")
    name = spec.lstrip("+-")
    target = _resolve(name, fields)
    if target.kind == "list":
        raise FilterError(f"cannot order by {name!r}")
    direction = "DESC" if descending else "ASC"
    expr = target.expr
    params = list(target.params) * 2
    return (f"({expr}) IS NULL, {expr} {direction}, {tiebreak} {direction}", params)
