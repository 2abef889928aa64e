"""What the pinned wandb SDK sends over GraphQL, as an index to check wbadmin's documents by.

The SDK's documents are the GraphQL strings in the installed `wandb` and `wandb_workspaces`
packages' .py and .graphql files (wandb-workspaces is W&B's own client of reports and
workspaces: what it sends, W&B answers): plain constants, and f-strings / `.format`
templates with their holes filled (a spread hole `...{name}` becomes a spread of every
fragment defined in the same file).
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
    # On first use: the recording plugin loads this module in every worker.
    import wandb
    import wandb_workspaces

    roots = [Path(wandb.__file__).parent, Path(wandb_workspaces.__file__).parent]
    docs: list[g.DocumentNode] = []
    for path in sorted(p for root in roots for p in root.rglob("*")):
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


# deviation (as `attested_graphql.deviations` names it) -> why wbadmin sends it anyway.
EXCEPTIONS: dict[str, str] = {
    "query.__type":
        "doctor's schema probes (`WbadminTypeProbe`, built at run time in "
        "core/doctor_schema.py): the pinned SDK 0.31.0 sends no introspection; newer "
        "wandb-core asks servers the same `__type(name:)` (its TypeFields and "
        "ProbeTypeInputFields documents).",
    "query.entity.members.role":
        "The SDK's RegistryTeamMembers selects `role` on the same Member type "
        "(project.teamMembers.team.members.role); GetTeamEntity selects `admin`. Low risk; "
        "wbadmin needs custom role names.",
    "query.project.access":
        "Selected by the SDK on the same Project type via FetchRegistry "
        "(entity.project.access, RegistryFragment) and upsertModel/renameProject payloads.",
    "query.project.description":
        "Selected by the SDK on the same Project type via FetchRegistry "
        "(entity.project.description, RegistryFragment).",
    "query.project.updatedAt":
        "Selected by the SDK on the same Project type via FetchRegistry "
        "(entity.project.updatedAt, RegistryFragment).",
    "query.project.artifactCollectionMembership.artifact.createdBy":
        "The SDK selects Artifact.createdBy { __typename ...on Run { id name project { name "
        "entity { name } } } } through the root `artifact(id:)`; wbadmin adds the Run's "
        "summaryMetrics (RunFragment's field) for promotion metrics.",
    "query.organization.orgEntity.artifactMemberships.edges.node.artifact.createdBy":
        "As above: Artifact.createdBy reached through RegistryVersions' memberships.",
    "query.entity.projects(filters)":
        "Team entities' projects filtered by updatedAt (quota refresh); the SDK filters "
        "projects only on the org entity (FetchRegistries). Issue 17's degraded-path plan: "
        "fall back to the unfiltered models(entityName:) listing if W&B refuses it.",
    "query.entity.projects(order)":
        "As entity.projects(filters): the SDK orders projects only on the org entity.",
    "query.entity.projects.edges.node.name":
        "Project.name through a team's entity.projects (quotas); the SDK selects only "
        "`triggers` there (GetEntityAutomationsLegacy), `name` on Project everywhere else.",
    "query.entity.projects.edges.node.updatedAt":
        "As above; Project.updatedAt is RegistryFragment's (FetchRegistry).",
    "query.entity.projects.edges.node.runs":
        "As above; Project.runs(filters, order, first) is the SDK's Runs query, under the "
        "root project(name:, entityName:).",
    "query.models.edges.node.access":
        "Project.access in the models(entityName:) listing (GetProjects); the SDK selects it "
        "on Project via RegistryFragment (FetchRegistry, FetchRegistries).",
    "query.models.edges.node.updatedAt":
        "As models.edges.node.access: RegistryFragment's Project.updatedAt.",
    "query.models.edges.node.description":
        "As models.edges.node.access: RegistryFragment's Project.description.",
    "query.models.edges.node.runCount":
        "Project.runCount is the SDK's Runs query's (root project), here per listed project.",
    "query.models.edges.node.runs":
        "The project's newest run: Project.runs(first, order) as the SDK's Runs query sends "
        "it under the root project, here per listed project.",
}

# Exceptions only documents built at run time send (the static scan cannot see them);
# tests/core/test_attested_runtime.py proves each is still sent.
RUNTIME_ONLY_EXCEPTIONS = frozenset({"query.__type"})
