"""Send wbadmin's own read documents, many to a request, and tell from each answer what the
server lacks, what it refused and what the key's role may not read.

Each document keeps its selections as its feature sends them; to share a request its root
fields are aliased `d<i>_<key>` and its variables and fragments renamed `d<i>_<name>`, and
each of its lines (variable definitions, root fields, fragments) is its own, so a
validation error's `locations` (or its `path`, or a renamed name in its message) says
whose it is. A document that fails validation is not executed, nor are the others in the
request: they are sent again without it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from . import errors as E
from .batch_sizes import too_big
from .client import graphql_error_class, operation_name
from .doctor_schema import PER_REQUEST

# What a server answers a document it lacks part of, in graphql-core's wording (the
# sandbox's), gqlgen's ("on field \"Entity.projects\"") and graphql-go's ("on field
# \"projects\" of type \"Entity\"").
_Q = "[\"'`]"
_NO_FIELD = re.compile(rf"Cannot query field {_Q}(\w+){_Q} on type {_Q}(\w+){_Q}")
_NO_ARG = re.compile(rf"Unknown argument {_Q}(\w+){_Q} on field {_Q}(\w+)\.(\w+){_Q}")
_NO_ARG_GO = re.compile(
    rf"Unknown argument {_Q}(\w+){_Q} on field {_Q}(\w+){_Q} of type {_Q}(\w+){_Q}")
_NO_TYPE = re.compile(rf"Unknown type {_Q}(\w+){_Q}")
_OWNER = re.compile(r"\bd(\d+)_")


def lacking(message: str) -> str | None:
    """`Type.field`, `Type.field(arg:)` or `Type` that a validation error says is missing."""
    if found := _NO_FIELD.search(message):
        return f"{found[2]}.{found[1]}"
    if found := _NO_ARG.search(message):
        return f"{found[2]}.{found[3]}({found[1]}:)"
    if found := _NO_ARG_GO.search(message):
        return f"{found[3]}.{found[2]}({found[1]}:)"
    if found := _NO_TYPE.search(message):
        return found[1]
    return None


@dataclass
class Read:
    """One of wbadmin's documents with the arguments doctor reads it with."""

    where: str                  # module.NAME, as wire_documents names it
    document: str
    variables: dict[str, Any]


@dataclass
class ReadCheck:
    """What the reads found, each with the documents (and so the features) concerned."""

    verified: set[str] = field(default_factory=set)       # executed: the server has it all
    missing: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    refused: dict[str, str] = field(default_factory=dict)      # where -> the server's words
    role_limits: dict[str, str] = field(default_factory=dict)  # where -> the server's words
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # where -> its answer
    operations: dict[str, str] = field(default_factory=dict)  # where -> its operation's name
    sent: int = 0               # documents read
    requests: int = 0
    per_request: int = PER_REQUEST  # root fields per request, after any the server refused


    def take(self, where: str) -> tuple[dict[str, Any] | None, str | None]:
        """Take one read out of the findings (one doctor reads for itself): its answer, or
        why it was refused."""
        self.sent -= where in self.operations
        self.operations.pop(where, None)
        self.verified.discard(where)
        why = self.refused.pop(where, None) or self.role_limits.pop(where, None)
        for name, wheres in list(self.missing.items()):
            if where in wheres:
                why = why or f"the server has no {name}"
                wheres.discard(where)
                if not wheres:
                    del self.missing[name]
        return self.data.pop(where, None), why


@dataclass
class _Part:
    index: int
    read: Read
    var_lines: list[str]
    field_lines: list[str]
    fragment_lines: list[str]
    keys: list[str]             # the document's own root keys (alias or field name)
    variables: dict[str, Any]

    @property
    def roots(self) -> int:
        return max(1, len(self.keys))


def _prepare(index: int, read: Read) -> _Part:
    from dataclasses import replace

    from graphql import parse, print_ast
    from graphql.language import ast as g
    from graphql.language import visit
    from graphql.language.visitor import Visitor

    prefix = f"d{index}_"

    def renamed(node: Any) -> Any:  # graphql-core's nodes are frozen: a renamed copy
        return replace(node, name=g.NameNode(value=prefix + node.name.value))

    class Rename(Visitor):
        def enter_variable(self, node: g.VariableNode, *_: Any) -> g.VariableNode:
            return renamed(node)

        def enter_fragment_spread(self, node: g.FragmentSpreadNode, *_: Any) -> Any:
            return renamed(node)

        def enter_fragment_definition(self, node: g.FragmentDefinitionNode, *_: Any) -> Any:
            return renamed(node)

    doc = visit(parse(read.document), Rename())
    ops = [d for d in doc.definitions if isinstance(d, g.OperationDefinitionNode)]
    if len(ops) != 1 or ops[0].operation != g.OperationType.QUERY:
        raise ValueError(f"{read.where}: doctor reads one query per document")
    op = ops[0]
    keys, fields = [], []
    for selection in op.selection_set.selections:
        if isinstance(selection, g.FieldNode):
            key = (selection.alias or selection.name).value
            keys.append(key)
            selection = replace(selection, alias=g.NameNode(value=prefix + key))
        fields += print_ast(selection).splitlines()
    fragments = [line for d in doc.definitions if isinstance(d, g.FragmentDefinitionNode)
                 for line in print_ast(d).splitlines()]
    return _Part(index, read, [print_ast(v) for v in op.variable_definitions or []], fields,
                 fragments, keys, {prefix + k: v for k, v in read.variables.items()})


def _compose(parts: list[_Part]) -> tuple[str, dict[str, Any], dict[int, int]]:
    """The shared document, its variables, and which part each line (1-based) is."""
    lines: list[str] = []
    owner: dict[int, int] = {}

    def add(text: str, part: _Part | None) -> None:
        lines.append(text)
        if part is not None:
            owner[len(lines)] = part.index

    has_vars = any(p.var_lines for p in parts)
    add("query WbadminDoctorReads(" if has_vars else "query WbadminDoctorReads {", None)
    for part in parts:
        for line in part.var_lines:
            add(f"  {line}", part)
    if has_vars:
        add(") {", None)
    for part in parts:
        for line in part.field_lines:
            add(f"  {line}", part)
    add("}", None)
    for part in parts:
        for line in part.fragment_lines:
            add(line, part)
    variables = {k: v for p in parts for k, v in p.variables.items()}
    return "\n".join(lines) + "\n", variables, owner


def _owner_of(error: dict[str, Any], owner: dict[int, int]) -> int | None:
    path = error.get("path")
    if isinstance(path, list) and path and isinstance(path[0], str) \
            and (found := _OWNER.match(path[0])):
        return int(found[1])
    for location in error.get("locations") or []:
        if isinstance(location, dict) and location.get("line") in owner:
            return owner[location["line"]]
    if found := _OWNER.search(str(error.get("message") or "")):
        return int(found[1])
    return None


class _Reader:
    def __init__(self, client: Any, result: ReadCheck) -> None:
        self.client = client
        self.result = result
        self.by_index: dict[int, _Part] = {}

    async def read(self, parts: list[_Part]) -> None:
        size = self.result.per_request
        if sum(p.roots for p in parts) > size:
            chunk: list[_Part] = []
            for part in parts:
                if chunk and sum(p.roots for p in chunk) + part.roots > size:
                    await self.read(chunk)
                    chunk = []
                chunk.append(part)
            if chunk:
                await self.read(chunk)
            return
        text, variables, owner = _compose(parts)
        self.result.requests += 1
        try:
            answer = await self.client.graphql_answer(text, variables)
        except E.WbError as exc:
            if isinstance(exc, E.AuthError | E.Offline | E.RateLimited):
                raise  # the server's state, not what it has: doctor stops with one line
            if await self._smaller(parts, exc):
                return
            for part in parts:
                bucket = self.result.role_limits if isinstance(exc, E.PermissionDenied) \
                    else self.result.refused
                bucket[part.read.where] = exc.message
            return
        errors = [e for e in answer.get("errors") or [] if isinstance(e, dict)]
        if not isinstance(answer.get("data"), dict):
            await self._invalid(parts, errors, owner)
            return
        for part in parts:
            data = answer["data"]
            prefix = f"d{part.index}_"
            self.result.data[part.read.where] = {k: data.get(prefix + k) for k in part.keys}
            self.result.verified.add(part.read.where)
        for error in errors:
            at = _owner_of(error, owner)
            message = str(error.get("message") or "refused")
            for part in parts if at is None else [self.by_index[at]]:
                kind = graphql_error_class(error)
                if kind is E.PermissionDenied or kind is E.AuthError:
                    self.result.role_limits.setdefault(part.read.where, message)
                elif kind is not E.NotFound:  # a name not found still read: nothing lacks
                    self.result.refused.setdefault(part.read.where, message)

    async def _smaller(self, parts: list[_Part], exc: E.WbError) -> bool:
        """A request refused for its size: ask again in halves (and keep the size)."""
        if not too_big(exc) or self.result.per_request <= 1:
            return False
        self.result.per_request = max(1, min(self.result.per_request,
                                             sum(p.roots for p in parts)) // 2)
        await self.read(parts)
        return True

    async def _invalid(self, parts: list[_Part], errors: list[dict[str, Any]],
                       owner: dict[int, int]) -> None:
        """Nothing ran: note whose errors these are, and read the others again."""
        first = str((errors[0] if errors else {}).get("message") or "refused")
        if await self._smaller(parts, E.BadRequest(first)):
            return
        mine: dict[int, list[str]] = defaultdict(list)
        stray: list[str] = []
        for error in errors:
            at = _owner_of(error, owner)
            message = str(error.get("message") or "refused")
            (mine[at] if at is not None and at in self.by_index else stray).append(message)
        if stray and not mine:
            if len(parts) == 1:
                mine[parts[0].index] = stray
            else:  # whose errors these are cannot be told: halves, until it can
                half = len(parts) // 2
                await self.read(parts[:half])
                await self.read(parts[half:])
                return
        for index, messages in mine.items():
            where = self.by_index[index].read.where
            names = [name for m in messages if (name := lacking(m))]
            for name in names:
                self.result.missing[name].add(where)
            if not names:
                self.result.refused[where] = messages[0]
        rest = [p for p in parts if p.index not in mine]
        if rest:
            await self.read(rest)


async def read_check(client: Any, reads: list[Read], result: ReadCheck | None = None,
                     *, first_index: int = 0) -> ReadCheck:
    """Read each document (reads only: a mutation is refused before anything is sent)."""
    result = result or ReadCheck()
    parts = [_prepare(first_index + i, read) for i, read in enumerate(reads)]
    reader = _Reader(client, result)
    reader.by_index = {p.index: p for p in parts}
    result.sent += len(parts)
    for read in reads:
        result.operations[read.where] = operation_name(read.document)
    if parts:
        await reader.read(parts)
    return result
