"""The sandbox's fast paths (the direct executor for plain queries, the shortcut for plain
scalars under graphql-core's executor, per-request memos, prefetched users and metadata
flags, runs paged without a COUNT, cached filters) answer exactly what graphql-core's own
executor answers over the plain resolvers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from graphql import execute, parse

from tests.conftest import basic_api, key_of
from wbadmin.sandbox import auth
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.gql import executor
from wbadmin.sandbox.gql.context import Context
from wbadmin.sandbox.gql.mongo_filter import compile_filter
from wbadmin.sandbox.gql.resolvers_projects import PROJECT_FIELDS
from wbadmin.sandbox.gql.resolvers_runs import RUN_FIELDS

RUNS = """query Runs($p: String!, $e: String!, $f: JSONString, $n: Int, $c: String) {
  project(name: $p, entityName: $e) {
    name entityName readOnly runCount(filters: $f)
    runs(filters: $f, order: "-heartbeat_at", first: $n, after: $c) {
      totalCount
      pageInfo { hasNextPage endCursor startCursor hasPreviousPage }
      edges { cursor node {
        __typename id name displayName state createdAt heartbeatAt computeSeconds
        tags config summaryMetrics historyLineCount host group jobType notes stopped
        readOnly systemMetrics historyKeys
        user { id name username email entity admin accountType }
        ...More } }
    }
  }
}
fragment More on Run { description sweepName commit projectId }"""

ARTIFACTS = """query Artifacts($p: String!, $e: String!, $t: String!) {
  project(name: $p, entityName: $e) {
    artifactType(name: $t) { name artifactCollections { edges { node {
      __typename name state
      artifacts { edges { node { state versionIndex size ttlIsInherited
        createdBy { __typename ... on Run { name state user { username } } } } } }
    } } } }
  }
}"""

NESTED = """query Nested($t: String!, $f: JSONString, $n: Int, $c: String) {
  entity(name: $t) { projects(first: 50) { edges { node { name
    runs(filters: $f, first: $n, after: $c, order: "-created_at") {
      edges { cursor node { name state createdAt user { username } systemMetrics } }
      pageInfo { hasNextPage } } } } } }
}"""

MEMBERS = """query Viewer($t: String!) {
  viewer { username entity defaultEntity { name } teams { edges { node { name } } } }
  entity(name: $t) { name members { username role accountType } }
}"""


def _biggest(db: Database, sql: str) -> tuple[str, str]:
    row = db.one(sql)
    assert row is not None
    return row[0], row[1]


def _documents(db: Database) -> list[tuple[str, dict[str, Any]]]:
    team, project = _biggest(db, """SELECT e.name, p.name FROM runs r JOIN projects p ON
        p.id = r.project_id JOIN entities e ON e.id = p.entity_id GROUP BY p.id
        ORDER BY COUNT(*) DESC LIMIT 1""")
    a_team, a_project = _biggest(db, """SELECT e.name, p.name FROM artifact_collections c
        JOIN projects p ON p.id = c.project_id JOIN entities e ON e.id = p.entity_id
        WHERE c.type_name = 'model' GROUP BY p.id ORDER BY COUNT(*) DESC LIMIT 1""")
    since = {"$or": [{"createdAt": {"$gt": "2026-11-01T00:00:00"}},
                     {"heartbeatAt": {"$gt": "2026-11-18T00:00:00"}}]}
    return [
        (RUNS, {"p": project, "e": team, "f": None, "n": 7, "c": None}),
        (RUNS, {"p": project, "e": team, "f": json.dumps(since), "n": 500, "c": None}),
        (RUNS, {"p": project, "e": team, "f": json.dumps({"state": "finished"}), "n": 3,
                "c": None}),
        (RUNS, {"p": "no-such-project", "e": team, "f": None, "n": 5, "c": None}),
        (RUNS, {"p": project, "e": team, "f": "{not json", "n": 5, "c": None}),
        (ARTIFACTS, {"p": a_project, "e": a_team, "t": "model"}),
        (MEMBERS, {"t": team}),
        # Every project's runs of a listed page, read together (one query per page).
        (NESTED, {"t": team, "f": None, "n": 2, "c": None}),
        (NESTED, {"t": team, "f": json.dumps(since), "n": 3, "c": _cursor(1)}),
        (NESTED, {"t": "ai-governance", "f": json.dumps({"state": "finished"}), "n": 500,
                  "c": None}),
    ]


def _cursor(offset: int) -> str:
    from wbadmin.sandbox.gql.paging import encode_cursor

    return encode_cursor(offset)


def _reference(db: Database, viewer: auth.Identity, query: str,
               variables: dict[str, Any]) -> dict[str, Any]:
    """graphql-core's own executor, no memo: what the plain resolvers answer."""
    ctx = Context(db=db, viewer=viewer, base_url="http://sandbox", memo=None)
    result = execute(executor.get_schema(), parse(query), variable_values=variables,
                     context_value=ctx)
    return {"data": result.data,
            "errors": sorted(e.message for e in result.errors or [])}


@pytest.mark.parametrize("user", ["alice", "carol"])
def test_fast_paths_answer_what_graphql_core_answers(sandbox_db: Database, user: str) -> None:
    viewer = auth.identity_for_key(sandbox_db, key_of(user))
    assert viewer is not None
    answers: list[dict[str, Any]] = []
    for query, variables in _documents(sandbox_db):
        ctx = Context(db=sandbox_db, viewer=viewer, base_url="http://sandbox")
        _, payload = executor.run(ctx, {"query": query, "variables": variables})
        got = {"data": payload.get("data"),
               "errors": sorted(e["message"] for e in payload.get("errors", []))}
        assert got == _reference(sandbox_db, viewer, query, variables), variables
        answers.append(got)
    if user == "alice":  # the documents did reach runs, users and artifacts
        assert len(answers[1]["data"]["project"]["runs"]["edges"]) > 5
        assert answers[0]["data"]["project"]["runs"]["edges"][0]["node"]["user"]["entity"]
        assert answers[5]["data"]["project"]["artifactType"]["artifactCollections"]["edges"]
        assert answers[4]["errors"]  # the malformed filter is an error both ways
        projects = answers[7]["data"]["entity"]["projects"]["edges"]
        assert len(projects) > 1 and all(p["node"]["runs"]["edges"] for p in projects)
        assert any(p["node"]["runs"]["pageInfo"]["hasNextPage"] for p in projects)


def test_runs_page_without_a_count_and_still_know_when_to_stop(sandbox) -> None:
    """Without `totalCount` no COUNT is run: `hasNextPage` comes from one row more."""
    db: Database = sandbox.db
    team, project = _biggest(db, """SELECT e.name, p.name FROM runs r JOIN projects p ON
        p.id = r.project_id JOIN entities e ON e.id = p.entity_id GROUP BY p.id
        ORDER BY COUNT(*) DESC LIMIT 1""")
    total = int(db.scalar("SELECT COUNT(*) FROM runs r JOIN projects p ON p.id = r.project_id "
                          "WHERE p.name = ?", (project,)))
    query = """query Page($p: String!, $e: String!, $c: String) { project(name: $p,
      entityName: $e) { runs(first: 6, after: $c) { edges { cursor node { name } }
      pageInfo { hasNextPage } } } }"""
    names: list[str] = []
    cursor, pages = None, 0
    while True:
        resp = httpx.post(f"{sandbox.base_url}/graphql", headers=basic_api("alice"),
                          json={"query": query, "variables": {"p": project, "e": team,
                                                              "c": cursor}}, timeout=15)
        runs = resp.json()["data"]["project"]["runs"]
        names += [e["node"]["name"] for e in runs["edges"]]
        pages += 1
        if not runs["pageInfo"]["hasNextPage"]:
            break
        cursor = runs["edges"][-1]["cursor"]
    assert len(names) == len(set(names)) == total
    assert pages == -(-total // 6)  # the last page says there is no next one


def test_a_mutation_reads_what_it_changed(sandbox_db: Database) -> None:
    """Memos are per query request only: a mutation's later fields read the database."""
    viewer = auth.identity_for_key(sandbox_db, key_of("alice"))
    assert viewer is not None
    query_ctx = Context(db=sandbox_db, viewer=viewer, base_url="http://sandbox")
    executor.run(query_ctx, {"query": "{ viewer { username } }"})
    assert query_ctx.memo is not None
    run = sandbox_db.one("SELECT r.name, p.name AS project, e.name AS team FROM runs r JOIN "
                         "projects p ON p.id = r.project_id JOIN entities e ON "
                         "e.id = p.entity_id WHERE r.state = 'running' LIMIT 1")
    mutation = """mutation Finish($input: UpsertBucketInput!) {
      upsertBucket(input: $input) { bucket { name state } } }"""
    ctx = Context(db=sandbox_db, viewer=viewer, base_url="http://sandbox")
    status, payload = executor.run(ctx, {"query": mutation, "variables": {"input": {
        "name": run["name"], "entityName": run["team"], "modelName": run["project"],
        "state": "finished"}}})
    assert status == 200 and ctx.memo is None
    assert payload["data"]["upsertBucket"]["bucket"] == {"name": run["name"],
                                                         "state": "finished"}


def test_cached_filters_keep_their_values_and_fields_apart() -> None:
    a = compile_filter({"createdAt": {"$gt": "2026-11-01T00:00:00"}}, RUN_FIELDS)
    b = compile_filter({"createdAt": {"$gt": "2026-11-02T00:00:00"}}, RUN_FIELDS)
    again = compile_filter({"createdAt": {"$gt": "2026-11-01T00:00:00"}}, RUN_FIELDS)
    assert a == again and a[1] != b[1]
    again[1].append("changed by a caller")  # a caller's list is its own
    assert compile_filter({"createdAt": {"$gt": "2026-11-01T00:00:00"}}, RUN_FIELDS) == a
    project = compile_filter({"createdAt": {"$gt": "2026-11-01T00:00:00"}}, PROJECT_FIELDS)
    assert project[0] != a[0]  # the projects table's column, not the runs'
    # One filter object asked again and again is compiled once, but not if it changed.
    shared = {"createdAt": {"$gt": "2026-11-01T00:00:00"}}
    assert compile_filter(shared, RUN_FIELDS) == compile_filter(shared, RUN_FIELDS) == a
    shared["createdAt"]["$gt"] = "2026-11-02T00:00:00"
    assert compile_filter(shared, RUN_FIELDS) == b
    shared["state"] = "running"
    assert "r.state" in compile_filter(shared, RUN_FIELDS)[0]


# ---- the direct executor: answers plain queries itself, hands anything else on ------------

MERGED = """query Merged($p: String!, $e: String!) {
  project(name: $p, entityName: $e) {
    name
    runs(first: 3) { edges { node { name } } }
    runs(first: 3) { edges { node { state ...Who } } }
    alias: runs(first: 1) { edges { node { ... on Run { id displayName } ...Who } } }
  }
}
fragment Who on Run { user { username } __typename }"""


def _plain_documents(db: Database) -> list[tuple[str, dict[str, Any]]]:
    """The documents above that succeed: fragments, unions, aliases, lists, nesting."""
    team, project = _biggest(db, """SELECT e.name, p.name FROM runs r JOIN projects p ON
        p.id = r.project_id JOIN entities e ON e.id = p.entity_id GROUP BY p.id
        ORDER BY COUNT(*) DESC LIMIT 1""")
    plain = [(q, v) for q, v in _documents(db)
             if v.get("p") != "no-such-project" and v.get("f") != "{not json"]
    return [*plain, (MERGED, {"p": project, "e": team})]


def test_the_direct_executor_answers_plain_queries_as_graphql_core(sandbox_db: Database
                                                                   ) -> None:
    from graphql.utilities import get_operation_ast

    from wbadmin.sandbox.gql.direct_executor import execute_query

    viewer = auth.identity_for_key(sandbox_db, key_of("alice"))
    assert viewer is not None
    for query, variables in _plain_documents(sandbox_db):
        document = parse(query)
        ctx = Context(db=sandbox_db, viewer=viewer, base_url="http://sandbox")
        data = execute_query(executor.get_schema(), document, get_operation_ast(document),
                             variables, ctx)  # raises if it had to hand the query on
        reference = _reference(sandbox_db, viewer, query, variables)
        assert reference["errors"] == []
        assert json.dumps(data) == json.dumps(reference["data"]), query  # key order too


def test_the_direct_executor_writes_tag_lists_as_graphql_core(sandbox_db: Database) -> None:
    """Tag lists of strings pass through as they are; one holding anything else is made
    strings, as graphql-core's String makes it."""
    from graphql.utilities import get_operation_ast

    from wbadmin.sandbox.gql.direct_executor import execute_query

    team, project = _biggest(sandbox_db, """SELECT e.name, p.name FROM runs r JOIN projects
        p ON p.id = r.project_id JOIN entities e ON e.id = p.entity_id GROUP BY p.id
        ORDER BY COUNT(*) DESC LIMIT 1""")
    ids = [r[0] for r in sandbox_db.query(
        "SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id WHERE p.name = ? "
        "ORDER BY r.id LIMIT 3", (project,))]
    with sandbox_db.transaction() as conn:
        for run_id, tags in zip(ids, ['["LLM-1", "x"]', '["LLM-2", 7, true]', "[]"],
                                strict=True):
            conn.execute("UPDATE runs SET tags = ? WHERE id = ?", (tags, run_id))
    viewer = auth.identity_for_key(sandbox_db, key_of("alice"))
    assert viewer is not None
    variables = {"p": project, "e": team, "n": 1000}
    document = parse(RUNS)
    ctx = Context(db=sandbox_db, viewer=viewer, base_url="http://sandbox")
    data = execute_query(executor.get_schema(), document, get_operation_ast(document),
                         variables, ctx)
    assert json.dumps(data) == json.dumps(_reference(sandbox_db, viewer, RUNS,
                                                     variables)["data"])
    tags = [e["node"]["tags"] for e in data["project"]["runs"]["edges"]]
    assert ["LLM-1", "x"] in tags and ["LLM-2", "7", "true"] in tags and [] in tags


@pytest.mark.parametrize("query, variables, why", [
    ("query($e: String!) { entity(name: $e) { name projects(after: \"garbage\") { edges {"
     " node { name } } } } }", {"e": "ai-governance"}, "a resolver's error"),
    ("query($e: String!, $x: Boolean!) { entity(name: $e) { name @include(if: $x) isTeam }"
     " }", {"e": "ai-governance", "x": False}, "a directive"),
    ("{ __schema { queryType { name } } viewer { username } }", {}, "introspection"),
    ("query($n: Int) { viewer { username teams(first: $n) { edges { node { name } } } } }",
     {"n": "three"}, "a variable of the wrong type"),
])
def test_the_direct_executor_hands_on_what_it_does_not_do(sandbox_db: Database, query: str,
                                                          variables: dict[str, Any],
                                                          why: str) -> None:
    """Errors, directives and introspection go to graphql-core, whose answer stands."""
    from graphql.utilities import get_operation_ast

    from wbadmin.sandbox.gql.direct_executor import Unsupported, execute_query

    viewer = auth.identity_for_key(sandbox_db, key_of("alice"))
    assert viewer is not None
    document = parse(query)
    ctx = Context(db=sandbox_db, viewer=viewer, base_url="http://sandbox")
    with pytest.raises(Unsupported):
        execute_query(executor.get_schema(), document, get_operation_ast(document),
                      variables, ctx)
    _, payload = executor.run(Context(db=sandbox_db, viewer=viewer, base_url="http://sandbox"),
                              {"query": query, "variables": variables})
    reference = _reference(sandbox_db, viewer, query, variables)
    assert payload.get("data") == reference["data"], why
    assert sorted(e["message"] for e in payload.get("errors", [])) == reference["errors"]
    expect_errors = why in ("a resolver's error", "a variable of the wrong type")
    assert bool(reference["errors"]) == expect_errors, why
