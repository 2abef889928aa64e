"""Doctor's smallest real reads: every read document wbadmin has, as its feature sends it,
and a validation error's wording (graphql-core's, gqlgen's, graphql-go's) read for what the
server lacks."""

from __future__ import annotations

import re

import pytest

from wbadmin.core.doctor_readcheck import lacking
from wbadmin.core.doctor_reads import BEHAVIOUR, ROUND_1, ROUND_2, Facts, build
from wbadmin.core.wire_documents import BATCHED_SELECTIONS, all_documents


def unnamed(text: str) -> str:
    """Without its variables' names (the batchers name them per alias)."""
    return re.sub(r"\$\w+", "$", text)


TABLE = {**ROUND_1, **BEHAVIOUR, **ROUND_2}
FACTS = Facts("alice", "alice", "org", "org", "team", True)


def test_every_read_document_is_read_and_no_write_is() -> None:
    documents = all_documents()
    queries = {w for w, text in documents.items() if not text.lstrip().startswith("mutation")}
    assert set(TABLE) == queries
    for read in build(TABLE, FACTS):
        assert not read.document.lstrip().startswith("mutation")
        if read.where in BATCHED_SELECTIONS:  # the feature's selection, in its own batcher
            module, name = read.where.rsplit(".", 1)
            selection = getattr(__import__(module, fromlist=[name]), name)
            assert unnamed(selection).strip() in unnamed(read.document)
        else:
            assert read.document is documents[read.where]  # the very string it sends


@pytest.mark.parametrize(("message", "name"), [
    ("Cannot query field 'runCount' on type 'Project'.", "Project.runCount"),
    ('Cannot query field "runCount" on type "Project".', "Project.runCount"),
    ("Unknown argument 'filters' on field 'Entity.projects'.", "Entity.projects(filters:)"),
    ('Unknown argument "filters" on field "Entity.projects".', "Entity.projects(filters:)"),
    ('Unknown argument "filters" on field "projects" of type "Entity".',
     "Entity.projects(filters:)"),
    ("Unknown type 'JSONString'.", "JSONString"),
    ("Variable '$d3_name' is never used.", None),
])
def test_a_validation_error_names_what_the_server_lacks(message: str, name: str | None) -> None:
    assert lacking(message) == name
