"""What the pinned wandb SDK sends over GraphQL, as an index to check wbadmin's documents by.

The SDK's documents are the GraphQL strings in the installed `wandb` package's .py and
.graphql files: plain constants, and f-strings / `.format` templates with their holes filled
(a spread hole `...{name}` becomes a spread of every fragment defined in the same file).
Each document is walked with named fragments expanded (across documents, by name) and inline
fragments flattened; every field is recorded at its path from the operation root — the
operation type, then field names, aliases ignored — with the argument names it was sent with.

A field of a wbadmin document is *attested* when the SDK selects a field of that name at the
same path, and each of its arguments when the SDK passes an argument of that name there. That
approximates "W&B answers it" by "W&B's SDK asks it": a type-blind, path-exact comparison.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

import wandb
from graphql import GraphQLError, parse
from graphql.language import ast as g

Path_ = tuple[str, ...]
_HOLE = "\x00"


def _texts(node: ast.AST) -> Iterator[str]:
    """A string literal as written, and as a template with its placeholders as holes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
        if "{{" in node.value or "{}" in node.value or "%s" in node.value:
            holed = re.sub(r"(?<!\{)\{[\w.]*\}(?!\})", _HOLE, node.value)
            yield holed.replace("{{", "{").replace("}}", "}").replace("%s", _HOLE)
    elif isinstance(node, ast.JoinedStr):
        yield "".join(v.value if isinstance(v, ast.Constant) else _HOLE for v in node.values)


def _documents_of_python(source: str) -> Iterator[g.DocumentNode]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    texts = [list(_texts(node)) for node in ast.walk(tree)]
    fragments = sorted({name for cands in texts for text in cands
                        for name in re.findall(r"fragment\s+(\w+)\s+on", text)})
    spreads = " ".join(f"...{name}" for name in fragments) or "__typename"
    for cands in texts:
        for text in cands:
            if "{" not in text:
                continue
            filled = re.sub(r"\.\.\.\s*" + _HOLE, spreads, text).replace(_HOLE, "")
            try:
                yield parse(filled)
                break
            except GraphQLError:
                continue


def sdk_documents() -> list[g.DocumentNode]:
    root = Path(wandb.__file__).parent
    docs: list[g.DocumentNode] = []
    for path in sorted(root.rglob("*")):
        if path.suffix == ".graphql":
            docs.append(parse(path.read_text(encoding="utf-8")))
        elif path.suffix == ".py":
            docs.extend(_documents_of_python(path.read_text(encoding="utf-8",
                                                            errors="replace")))
    return docs


def fields_of(doc: g.DocumentNode, fragments: dict[str, list[g.FragmentDefinitionNode]]
              ) -> Iterator[tuple[Path_, str, frozenset[str]]]:
    """(path of the parent, field name, argument names) of every field the document selects."""
    local: dict[str, list[g.FragmentDefinitionNode]] = {}
    for d in doc.definitions:
        if isinstance(d, g.FragmentDefinitionNode):
            local.setdefault(d.name.value, []).append(d)

    def walk(selection_set: g.SelectionSetNode, path: Path_, seen: frozenset[str]
             ) -> Iterator[tuple[Path_, str, frozenset[str]]]:
        for sel in selection_set.selections:
            if isinstance(sel, g.FieldNode):
                name = sel.name.value
                yield path, name, frozenset(a.name.value for a in sel.arguments or ())
                if sel.selection_set:
                    yield from walk(sel.selection_set, (*path, name), seen)
            elif isinstance(sel, g.InlineFragmentNode):
                yield from walk(sel.selection_set, path, seen)
            elif isinstance(sel, g.FragmentSpreadNode) and sel.name.value not in seen:
                for frag in local.get(sel.name.value) or fragments.get(sel.name.value, []):
                    yield from walk(frag.selection_set, path, seen | {sel.name.value})

    for d in doc.definitions:
        if isinstance(d, g.OperationDefinitionNode):
            yield from walk(d.selection_set, (d.operation.value,), frozenset())


@functools.cache
def sdk_index() -> dict[tuple[Path_, str], frozenset[str]]:
    """{(parent path, field): argument names the SDK sends there} over all SDK documents."""
    docs = sdk_documents()
    fragments: dict[str, list[g.FragmentDefinitionNode]] = {}
    for doc in docs:
        for d in doc.definitions:
            if isinstance(d, g.FragmentDefinitionNode):
                fragments.setdefault(d.name.value, []).append(d)
    index: dict[tuple[Path_, str], set[str]] = {}
    for doc in docs:
        for path, name, args in fields_of(doc, fragments):
            index.setdefault((path, name), set()).update(args)
    return {key: frozenset(args) for key, args in index.items()}


def deviations(document: str) -> list[str]:
    """What `document` selects that no SDK document does: `query.entity.members.role` for a
    field (its subtree is not reported again), `query.entity.projects(filters)` for an
    argument."""
    index = sdk_index()
    out: list[str] = []
    unattested: list[Path_] = []
    for path, name, args in fields_of(parse(document), {}):
        where = ".".join((*path, name))
        if any(path[:len(u)] == u for u in unattested):
            continue  # under a field already reported
        sent = index.get((path, name))
        if sent is None:
            out.append(where)
            unattested.append((*path, name))
            continue
        out.extend(f"{where}({arg})" for arg in sorted(args - sent))
    return out
