"""The client's root-field scanner reads every document wbadmin sends as graphql-core does
(the client checks a 200 answer carries each root field; it must not check the wrong ones)."""

from __future__ import annotations

import pytest
from graphql import parse
from graphql.language import ast as g

from wbadmin.core.root_fields import root_fields
from wbadmin.core.wire_documents import all_documents


def parsed_root_fields(document: str) -> tuple[str, ...] | None:
    operation = next(d for d in parse(document).definitions
                     if isinstance(d, g.OperationDefinitionNode))
    selections = operation.selection_set.selections
    if not all(isinstance(s, g.FieldNode) and not s.directives for s in selections):
        return None
    return tuple((s.alias or s.name).value for s in selections)  # type: ignore[union-attr]


def test_every_document_wbadmin_sends() -> None:
    documents = all_documents()
    assert len(documents) > 30
    for where, document in documents.items():
        assert root_fields(document) == parsed_root_fields(document), where


@pytest.mark.parametrize("document, keys", [
    ('#graphql { "{" }\nfragment F on User { id }\n'
     'query Q($a: JSON = {x: "{"}) { r0: entity(name: "a{") { id } r1: entity(name: $a) '
     '{ ...F } serverInfo { x } }', ("r0", "r1", "serverInfo")),
    ("{ a b { c } d(x: 1) }", ("a", "b", "d")),
    ('mutation M { result: createX(input: {a: """b}"""}) { ok } }', ("result",)),
    ("query { ...F }", None),
    ("query { a @include(if: true) }", None),
    ("not graphql", None),
])
def test_aliases_strings_comments_and_what_it_does_not_follow(document: str,
                                                              keys: tuple | None) -> None:
    assert root_fields(document) == keys
