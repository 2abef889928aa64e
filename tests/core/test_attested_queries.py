"""Only attested operations (issue 17): every GraphQL field and argument wbadmin sends is one
the pinned wandb SDK sends at the same place, or an explicit, reasoned exception below.

Checked: every module-level string in `wbadmin.core` that parses as a GraphQL document with
an operation (found by scanning the modules, so a new document is checked without listing
it), and the static selections that the batched queries repeat, each under the root field
and arguments its caller gives (`BATCHED_SELECTIONS`). Out of scope for this slice: the
runtime-built batched documents themselves (`core/queries.py::batched`,
`core/quotas/wire.py::batched` as `quotas/refresh.py` calls it) — their field aliases
(`r0: entity(...)`) are standard GraphQL and not compared, and their argument lists are
assembled per call. See tests/attested_graphql.py for how the SDK's documents are indexed.
"""

from __future__ import annotations

import pytest

from tests.attested_graphql import deviations, sdk_index
from wbadmin.core.wire_documents import (
    BATCHED_SELECTIONS,
    _modules,
    batched_documents,
    static_documents,
)

# deviation (as `attested_graphql.deviations` names it) -> why wbadmin sends it anyway.
EXCEPTIONS: dict[str, str] = {
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

def all_deviations() -> dict[str, list[str]]:
    """{deviation: [documents sending it]} over the static and batched-selection documents."""
    out: dict[str, list[str]] = {}
    for where, doc in {**static_documents(), **batched_documents()}.items():
        for deviation in deviations(doc):
            out.setdefault(deviation, []).append(where)
    return out


def test_the_sdk_index_holds_the_sdk_documents_wbadmin_mirrors() -> None:
    index = sdk_index()
    assert (("query", "entity", "members"), "username") in index  # GetTeamEntity
    assert index[(("query",), "users")] == {"query"}  # SearchUsers
    assert (("mutation", "createServiceAccount", "user"), "id") in index
    assert (("mutation", "createServiceAccount", "user"), "username") not in index
    assert (("query",), "user") not in index  # no SDK document looks a user up by name
    # f-string documents with their fragment filled in: the SDK's Runs query
    assert (("query", "project", "runs", "edges", "node"), "heartbeatAt") in index


def test_the_scan_finds_wbadmins_documents() -> None:
    found = static_documents()
    for expected in ("wbadmin.core.queries.VIEWER",
                     "wbadmin.core.access.changes_registry.CREATE_SERVICE_ACCOUNT",
                     "wbadmin.core.access.user_ids.SEARCH_USERS",
                     "wbadmin.core.promotions.wire.UPDATE_ARTIFACT"):
        assert expected in found
    assert len(found) >= 30


def test_every_field_and_argument_is_attested_or_a_listed_exception() -> None:
    found = all_deviations()
    unlisted = {d: where for d, where in found.items() if d not in EXCEPTIONS}
    assert not unlisted, ("not sent by the pinned wandb SDK (attest it, or add it to "
                          f"EXCEPTIONS with a reason): {unlisted}")


def test_no_exception_outlives_its_deviation() -> None:
    found = all_deviations()
    assert [d for d in EXCEPTIONS if d not in found] == []
    assert all(reason.strip() for reason in EXCEPTIONS.values())


@pytest.mark.parametrize("document, expected", [
    ("query A($n: String!) { user(userName: $n) { id username } }", ["query.user"]),
    ("mutation B { result: createServiceAccount(input: {}) { user { id username } } }",
     ["mutation.createServiceAccount.user.username"]),
    ("query C { entity(name: \"t\") { projects(first: 1, filters: \"{}\") { pageInfo "
     "{ hasNextPage } } } }", ["query.entity.projects(filters)"]),
    ("query D { t0: entity(name: \"t\") { members { id username } } }", []),
])
def test_the_checker_names_what_the_sdk_never_sends(document: str, expected: list[str]) -> None:
    assert deviations(document) == expected


def test_every_batched_selection_constant_is_checked() -> None:
    """A new `*_SELECTION` constant must be added to BATCHED_SELECTIONS to be checked."""
    named = {f"{m.__name__}.{name}" for m in _modules() for name, value in vars(m).items()
             if name.endswith("_SELECTION") and isinstance(value, str)}
    assert named <= set(BATCHED_SELECTIONS)
