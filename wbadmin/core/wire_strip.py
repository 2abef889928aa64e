"""Leaving out of a query the fields this server does not have.

An older W&B may lack a scalar field wbadmin reads (`Project.runCount`, say). Sending it
fails the whole request; leaving it out loses only that value, which the reading code then
shows as unknown. Which fields: `ServerFacts.strip_paths`, paths of field names from the
operation's root (aliases and inline fragments do not count), as `doctor` found them.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

Path = tuple[str, ...]


@lru_cache(maxsize=512)
def strip(query: str, paths: frozenset[Path]) -> str:
    """`query` without the fields at `paths` (and any object left with nothing selected)."""
    from graphql import parse, print_ast
    from graphql.language import ast as g

    document = parse(query)
    changed = False

    def selections(node: Any, path: Path) -> Any:
        nonlocal changed
        kept = []
        for selection in node.selections:
            if isinstance(selection, g.FieldNode):
                here = (*path, selection.name.value)
                if here in paths:
                    changed = True
                    continue
                if selection.selection_set is not None:
                    inner = selections(selection.selection_set, here)
                    if not inner.selections:
                        changed = True
                        continue
                    selection = dataclasses.replace(selection, selection_set=inner)
            elif isinstance(selection, g.InlineFragmentNode):
                inner = selections(selection.selection_set, path)
                if not inner.selections:
                    changed = True
                    continue
                selection = dataclasses.replace(selection, selection_set=inner)
            kept.append(selection)
        return dataclasses.replace(node, selections=tuple(kept))

    definitions = []
    for definition in document.definitions:
        if isinstance(definition, g.OperationDefinitionNode) and \
                definition.operation == g.OperationType.QUERY:
            definition = dataclasses.replace(
                definition, selection_set=selections(definition.selection_set, ()))
        definitions.append(definition)
    if not changed:
        return query
    return print_ast(dataclasses.replace(document, definitions=tuple(definitions)))


def is_unknown_field_error(message: str) -> bool:
    """A validation error naming a field the server does not have (graphql-core's, gqlgen's
    and graphql-go's wordings)."""
    low = message.lower()
    return "cannot query field" in low or "unknown field" in low
