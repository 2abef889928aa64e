"""Only attested operations (issue 17): every GraphQL field and argument wbadmin sends is one
the pinned wandb SDK sends at the same place, or an explicit, reasoned exception
(`EXCEPTIONS` in tests/attested_graphql.py, which says how the SDK's documents are indexed).

Three checks share that index and those exceptions:
- here, the static documents: every module-level string in `wbadmin.core` that parses as a
  GraphQL document with an operation (found by scanning the modules, so a new document is
  checked without listing it), and the static selections that the batched queries repeat,
  each under the root field and arguments its caller gives (`BATCHED_SELECTIONS`);
- tests/core/test_attested_runtime.py: the documents built at run time
  (`core/queries.py::batched`, `core/quotas/wire.py::batched` as `quotas/refresh.py` calls
  it, doctor's `__type` probes) as a full sync, a team refresh, full and incremental quota
  refreshes and doctor send them over HTTP, whichever other tests run;
- tests/attested_recording.py (a session plugin): every document the client sends during
  the whole test run, checked at session end; the run fails on one that is not attested.
Field aliases (`r0: entity(...)`) are standard GraphQL and not compared.
"""

from __future__ import annotations

import pytest

from tests.attested_graphql import (
    EXCEPTIONS,
    RUNTIME_ONLY_EXCEPTIONS,
    deviations,
    sdk_index,
)
from wbadmin.core.wire_documents import (
    BATCHED_SELECTIONS,
    _modules,
    batched_documents,
    static_documents,
)


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


def test_the_sdk_index_holds_the_wandb_workspaces_documents() -> None:
    """Reports and workspaces: what the pinned wandb-workspaces sends is attested too."""
    index = sdk_index()
    assert (("query", "view"), "spec") in index  # SpecificReport
    assert (("mutation", "upsertView", "view"), "spec") in index
    assert {"viewType", "viewName", "userName"} <= index[(("query", "project"), "allViews")]
    assert (("mutation", "deleteView"), "pendingDrafts") in index
    assert (("query", "project"), "internalId") in index  # ProjectInternalId


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
    assert [d for d in EXCEPTIONS if d not in found and d not in RUNTIME_ONLY_EXCEPTIONS] == []
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
