"""What quota refresh reads: runs and storage, as real W&B serves them (wandb-api.md §6;
wandb-sdk-wire.md §5.1-§5.3, §7, §10). W&B has no quota API (§6: limits are app-defined),
so these are the reads usage is computed from. Also recorded elsewhere: run filters and paging
through the real SDK (tests/sandbox/test_sdk_projects_runs.py, test_sdk_system_metrics.py)."""

from __future__ import annotations

import json

import pytest

TEAM = "llm-platform-eng"
RUNS = ("query Runs($project: String!, $entity: String!, $cursor: String, $perPage: Int,"
        " $filters: JSONString, $order: String) { project(name: $project, entityName: $entity)"
        " { internalId runCount(filters: $filters) runs(filters: $filters, after: $cursor,"
        " first: $perPage, order: $order) { edges { node { projectId id name state createdAt"
        " heartbeatAt systemMetrics summaryMetrics } cursor }"
        " pageInfo { endCursor hasNextPage } } } }")
STATES = {"running", "finished", "failed", "crashed", "killed", "preempting", "preempted",
          "pending"}


@pytest.fixture
def busiest_project(gql) -> str:
    r = gql("query GetProjects($entity: String!) { models(entityName: $entity, first: 200) {"
            " edges { node { name runCount } } } }", {"entity": TEAM})
    nodes = [e["node"] for e in r.json()["data"]["models"]["edges"]]
    return max(nodes, key=lambda n: n["runCount"])["name"]


def test_team_storage_bytes_is_an_integer(gql) -> None:
    # wandb-api.md §6: entity { storageBytes } exists (the SDK's team query selects it);
    # [UNCERTAIN] what it counts; wandb-sdk-wire.md §7: a non-null int in GetTeamEntity.
    r = gql("query GetTeamEntity($name: String!) { entity(name: $name) { storageBytes } }",
            {"name": TEAM})
    assert isinstance(r.json()["data"]["entity"]["storageBytes"], int)


def test_projects_are_listed_as_models(gql) -> None:
    # wandb-sdk-wire.md §5.2: the listing root field is the legacy `models`, paged with
    # pageInfo { endCursor hasNextPage } (hasNextPage a non-null bool, §7).
    r = gql("query GetProjects($entity: String!) { models(entityName: $entity, first: 1) {"
            " pageInfo { __typename endCursor hasNextPage } edges { node { name } } } }",
            {"entity": TEAM})
    conn = r.json()["data"]["models"]
    assert conn["pageInfo"]["__typename"] == "PageInfo"
    assert conn["pageInfo"]["hasNextPage"] is True and len(conn["edges"]) == 1


def test_runs_page_by_edge_cursor_and_run_count_matches(gql, busiest_project: str) -> None:
    # wandb-sdk-wire.md §5.3 and §10: the SDK pages with edges[-1].cursor; runCount(filters)
    # equals the filtered count; filters are a JSON string of Mongo operators.
    filters = json.dumps({"state": {"$in": ["finished", "crashed", "failed"]}})
    seen: list[str] = []
    cursor, count = None, None
    while True:
        r = gql(RUNS, {"project": busiest_project, "entity": TEAM, "cursor": cursor,
                       "perPage": 7, "filters": filters, "order": "+created_at"})
        project = r.json()["data"]["project"]
        count = project["runCount"]
        edges = project["runs"]["edges"]
        seen += [e["node"]["id"] for e in edges]
        if not project["runs"]["pageInfo"]["hasNextPage"]:
            break
        cursor = edges[-1]["cursor"]
    assert len(seen) == len(set(seen)) == count > 7


def test_run_shapes(gql, busiest_project: str) -> None:
    # wandb-sdk-wire.md §5.3: state from the documented set; systemMetrics and summaryMetrics
    # are JSON strings; projectId is int-convertible.
    r = gql(RUNS, {"project": busiest_project, "entity": TEAM, "perPage": 20})
    runs = [e["node"] for e in r.json()["data"]["project"]["runs"]["edges"]]
    assert runs and {run["state"] for run in runs} <= STATES
    for run in runs:
        int(run["projectId"])
        assert isinstance(json.loads(run["systemMetrics"] or "{}"), dict)
        assert isinstance(json.loads(run["summaryMetrics"] or "{}"), dict)


def test_an_invalid_filter_is_an_error_not_an_empty_answer(gql, busiest_project: str) -> None:
    # wandb-sdk-wire.md §3.2: a refused request is an error (200 + errors or a 4xx), never
    # an empty page a refresh would read as "no runs".
    r = gql(RUNS, {"project": busiest_project, "entity": TEAM, "perPage": 5,
                   "filters": json.dumps({"state": {"$bogus": 1}})})
    assert r.status_code in (200, 400) and r.json()["errors"]
