"""Names W&B rejects: the plan-time validator and the sandbox (over real HTTP) agree on every
name, so what wbadmin lets through a plan is what W&B accepts."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import basic_api
from wbadmin.core.onboarding.names import (
    InvalidName,
    check_project_name,
    check_team_name,
    name_taken,
    project_name_problem,
    team_name_problem,
)

PROJECT_NAMES = {
    "rag-eval": True,
    "Rag Eval 2 (draft)": True,      # spaces, capitals and brackets are fine in projects
    "x" * 128: True,
    "x" * 129: False,
    "": False,
    "a/b": False,
    "a\\b": False,
    "what?": False,
    "50%": False,
    "#1": False,
    "v1:final": False,
    "two\nlines": False,
    "cr\rhere": False,
    " padded": False,
}
TEAM_NAMES = {
    "fraud-detection": True,
    "ml_ops2": True,
    "a" * 64: True,
    "a" * 65: False,
    "": False,
    "Fraud": False,
    "fraud detection": False,
    "-leading": False,
    "fraud.detection": False,
    "équipe": False,
}


def gql(base_url: str, query: str, variables: dict) -> dict:
    answer = httpx.post(f"{base_url}/graphql", json={"query": query, "variables": variables},
                        headers=basic_api("alice"))
    assert answer.status_code == 200
    return answer.json()


@pytest.mark.parametrize("name,ok", list(PROJECT_NAMES.items()))
def test_project_names_match_the_sandbox(sandbox, name: str, ok: bool) -> None:
    assert (project_name_problem(name) is None) is ok
    answer = gql(sandbox.base_url, "mutation($n: String) { upsertModel(input: {name: $n, "
                 "entityName: \"data-science-nlp\"}) { project { name } inserted } }",
                 {"n": name})
    assert ("errors" not in answer) is ok, answer
    if not ok:
        with pytest.raises(InvalidName):
            check_project_name(name)


@pytest.mark.parametrize("name,ok", list(TEAM_NAMES.items()))
def test_team_names_match_the_sandbox(sandbox, name: str, ok: bool) -> None:
    assert (team_name_problem(name) is None) is ok
    answer = gql(sandbox.base_url, "mutation($n: String!) { createTeam(input: {teamName: $n}) "
                 "{ entity { name } } }", {"n": name})
    assert ("errors" not in answer) is ok, answer
    if not ok:
        with pytest.raises(InvalidName):
            check_team_name(name)


def test_problems_say_which_rule() -> None:
    assert "129 characters (at most 128)" in project_name_problem("p" * 129)
    assert "contains / ?" in project_name_problem("a/b?")
    assert "reserved for registries" in project_name_problem("wandb-registry-models")
    assert "lowercase letters" in team_name_problem("Fraud")
    assert name_taken("carol", ["alice", "carol"]) is not None
    assert name_taken("fresh", ["alice", "carol"]) is None
    assert check_team_name("ok-team") == "ok-team"
