"""Projects, runs and run files through the real `wandb` SDK against the sandbox.

Every expectation is computed from the database independently of the sandbox's SQL filter
compiler (plain Python over the rows), so a wrong filter or count shows up as a mismatch.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.conftest import basic_api
from wbadmin.sandbox import ids

pytestmark = pytest.mark.sdk

TEAM, PROJECT = "data-science-nlp", "intent-classifier"
PATH = f"{TEAM}/{PROJECT}"


def _runs(db, team: str = TEAM, project: str = PROJECT) -> list[dict]:
    rows = db.query(
        "SELECT r.*, u.username FROM runs r JOIN projects p ON p.id = r.project_id "
        "JOIN entities e ON e.id = p.entity_id LEFT JOIN users u ON u.id = r.user_id "
        "WHERE e.name = ? AND p.name = ?", (team, project))
    out = []
    for r in rows:
        d = dict(r)
        d["tags"], d["config"] = json.loads(r["tags"]), json.loads(r["config"])
        d["summary"] = json.loads(r["summary"])
        out.append(d)
    return out


def _user_id(db, username: str) -> int:
    return db.scalar("SELECT id FROM users WHERE username = ?", (username,))


# ---- projects ------------------------------------------------------------------------------

def test_projects_page_past_200(sdk, sandbox_db):
    team_id = sandbox_db.scalar("SELECT id FROM entities WHERE name = 'ml-infra'")
    with sandbox_db.transaction() as conn:
        for i in range(230):
            conn.execute("INSERT INTO projects (entity_id, name, access, created_at, updated_at)"
                         " VALUES (?, ?, 'PRIVATE', ?, ?)",
                         (team_id, f"bulk-{i:03d}", 1_790_000_000 + i, 1_790_000_000 + i))
    expected = {r[0] for r in sandbox_db.query(
        "SELECT name FROM projects WHERE entity_id = ?", (team_id,))}
    names = [p.name for p in sdk("alice").projects("ml-infra")]
    assert len(names) == len(expected) == 233  # needs two pages of 200
    assert set(names) == expected


def test_projects_hide_restricted_from_non_members(sdk, sandbox_db):
    # Both ai-governance projects are RESTRICTED; grace (its admin) sees them.
    assert {p.name for p in sdk("grace").projects("ai-governance")} == {
        "toxicity-audits", "red-team-evals"}
    assert list(sdk("carol").projects("ai-governance")) == []
    assert list(sdk("victor").projects("ai-governance")) == []  # a team viewer, not a member


def test_project_lookup(sdk, sandbox_db):
    row = sandbox_db.one("SELECT p.id, u.username FROM projects p JOIN users u "
                         "ON u.id = p.owner_id WHERE p.name = ?", (PROJECT,))
    project = sdk("carol").project(PROJECT, TEAM)
    assert project.id == ids.encode("Project", row["id"])
    assert project.entityName == TEAM
    assert project.owner.username == row["username"]
    assert project.isBenchmark is False


def test_project_lookup_forbidden_or_missing(sdk):
    api = sdk("carol")
    with pytest.raises(ValueError, match="not found"):
        _ = api.project("toxicity-audits", "ai-governance").id  # restricted: reads as null
    with pytest.raises(ValueError, match="not found"):
        _ = api.project("no-such-project", TEAM).id


def test_create_project(sdk, sandbox_db):
    api = sdk("carol")  # a member of data-science-nlp
    api.create_project("carol-new-experiments", TEAM)
    project = api.project("carol-new-experiments", TEAM)
    row = sandbox_db.one("SELECT p.id, p.owner_id FROM projects p JOIN entities e "
                         "ON e.id = p.entity_id WHERE e.name = ? AND p.name = ?",
                         (TEAM, "carol-new-experiments"))
    assert row is not None and row["owner_id"] == _user_id(sandbox_db, "carol")
    assert project.id == ids.encode("Project", row["id"])
    assert "carol-new-experiments" in {p.name for p in api.projects(TEAM)}


def test_create_project_forbidden_for_team_viewer(sdk, sandbox_db):
    api = sdk("victor")  # viewer on data-science-nlp
    with pytest.raises(Exception, match="permission denied"):
        api.create_project("victor-experiments", TEAM)
    assert sandbox_db.scalar("SELECT COUNT(*) FROM projects WHERE name = ?",
                             ("victor-experiments",)) == 0
    with pytest.raises(ValueError, match="not found"):
        _ = api.project("victor-experiments", TEAM).id


# ---- runs: filters, counts, paging ---------------------------------------------------------

def _names(runs) -> set[str]:
    return {r.id for r in runs}


def test_runs_filters_match_the_database(sdk, sandbox_db):
    api = sdk("bob")
    rows = _runs(sandbox_db)
    some_tag = next(t for r in rows for t in r["tags"])
    batch = rows[0]["config"]["batch_size"]
    cases = [
        ({"state": "finished"}, lambda r: r["state"] == "finished"),
        ({"config.batch_size": batch}, lambda r: r["config"]["batch_size"] == batch),
        ({"config.batch_size.value": {"$gte": 32}}, lambda r: r["config"]["batch_size"] >= 32),
        ({"tags": some_tag}, lambda r: some_tag in r["tags"]),
        ({"tags": {"$in": [some_tag, "nope"]}}, lambda r: some_tag in r["tags"]),
        ({"$or": [{"state": "failed"}, {"state": "crashed"}]},
         lambda r: r["state"] in ("failed", "crashed")),
        ({"display_name": {"$regex": "-1[0-9]?$"}},
         lambda r: r["display_name"].split("-")[-1] in {str(n) for n in [1, *range(10, 20)]}),
        ({"$and": [{"summary_metrics.loss": {"$lt": 1.0}}, {"state": {"$ne": "finished"}}]},
         lambda r: r["summary"]["loss"] < 1.0 and r["state"] != "finished"),
        ({"username": rows[0]["username"]}, lambda r: r["username"] == rows[0]["username"]),
    ]
    for filters, keep in cases:
        expected = {r["name"] for r in rows if keep(r)}
        runs = api.runs(PATH, filters=filters)
        assert len(runs) == len(expected), filters
        assert _names(runs) == expected, filters
    assert any(len({r["name"] for r in rows if keep(r)}) for _, keep in cases)


def test_runs_paging_and_order(sdk, sandbox_db):
    api = sdk("bob")
    rows = _runs(sandbox_db)
    runs = api.runs(PATH, per_page=3)
    listed = list(runs)
    assert len(runs) == len(rows) > 6  # several pages of 3
    assert [r.id for r in listed] == [r["name"] for r in sorted(
        rows, key=lambda r: (r["created_at"], r["id"]))]
    by_loss = [r.summary_metrics["loss"] for r in api.runs(
        PATH, order="-summary_metrics.loss", per_page=4)]
    assert by_loss == sorted((r["summary"]["loss"] for r in rows), reverse=True)


def test_runs_invalid_filter_is_an_error(sdk):
    api = sdk("bob")
    with pytest.raises(Exception, match="invalid filters"):
        len(api.runs(PATH, filters={"state": {"$bogus": 1}}))


# ---- a single run --------------------------------------------------------------------------

def test_run_attributes(sdk, sandbox_db):
    row = _runs(sandbox_db)[0]
    run = sdk("carol").run(f"{PATH}/{row['name']}")
    assert run.state == row["state"]
    assert run.name == row["display_name"]
    assert run.config == row["config"]
    assert run.summary["loss"] == row["summary"]["loss"]
    assert run.user.username == row["username"]
    assert run.tags == row["tags"]
    assert run.storage_id == ids.encode("Run", row["id"])
    assert run.created_at == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(row["created_at"]))


def test_run_metadata_reports_gpus(sdk, sandbox_db):
    row = next(r for r in _runs(sandbox_db) if r["gpu_count"])
    run = sdk("carol").run(f"{PATH}/{row['name']}")
    meta = run.metadata
    assert meta["gpu_count"] == row["gpu_count"]
    assert meta["gpu"] == row["gpu_type"]
    assert meta["runtime"] == row["runtime_s"]
    assert meta["host"] and meta["python"] and meta["os"]
    assert meta["startedAt"].startswith(
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(row["created_at"])))
    assert [f.name for f in run.files()] == ["wandb-metadata.json"]


def test_run_file_needs_auth_and_access(sandbox, sandbox_db):
    row = _runs(sandbox_db, "ai-governance", "toxicity-audits")[0]
    url = f"{sandbox.base_url}/files/{ids.encode('Run', row['id'])}/wandb-metadata.json"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=basic_api("carol")).status_code == 404  # not a member
    ok = httpx.get(url, headers=basic_api("grace"))
    assert ok.status_code == 200 and ok.json()["gpu_count"] == row["gpu_count"]


def test_restricted_run_is_invisible_to_non_members(sdk, sandbox_db):
    row = _runs(sandbox_db, "ai-governance", "toxicity-audits")[0]
    path = f"ai-governance/toxicity-audits/{row['name']}"
    assert sdk("grace").run(path).state == row["state"]  # the team's admin
    api = sdk("carol")
    with pytest.raises(Exception, match="Could not find run"):
        api.run(path)
    with pytest.raises(ValueError, match="Could not find project"):
        list(api.runs("ai-governance/toxicity-audits"))  # the project reads as null


# ---- changing runs -------------------------------------------------------------------------

def _make_running(db, owner: str) -> dict:
    row = next(r for r in _runs(db) if r["state"] != "running")
    with db.transaction() as conn:
        conn.execute("UPDATE runs SET state = 'running', user_id = ? WHERE id = ?",
                     (_user_id(db, owner), row["id"]))
    return row


def test_member_stops_own_run(sdk, sandbox_db):
    row = _make_running(sandbox_db, "carol")
    sdk("carol").run(f"{PATH}/{row['name']}").stop()
    assert sandbox_db.scalar("SELECT state FROM runs WHERE id = ?", (row["id"],)) == "killed"
    assert sdk("bob").run(f"{PATH}/{row['name']}").state == "killed"


def test_viewer_and_other_members_cannot_stop_a_run(sdk, sandbox_db):
    row = _make_running(sandbox_db, "bob")
    for who in ("victor", "carol"):  # team viewer; member, not the run's owner
        with pytest.raises(Exception, match="permission denied"):
            sdk(who).run(f"{PATH}/{row['name']}").stop()
        assert sandbox_db.scalar("SELECT state FROM runs WHERE id = ?",
                                 (row["id"],)) == "running"
    sdk("alice").run(f"{PATH}/{row['name']}").stop()  # admins stop any run
    assert sandbox_db.scalar("SELECT state FROM runs WHERE id = ?", (row["id"],)) == "killed"


def test_run_update_tags_by_owner_only(sdk, sandbox_db):
    row = _make_running(sandbox_db, "carol")
    run = sdk("carol").run(f"{PATH}/{row['name']}")
    run.tags = ["reviewed", *row["tags"]]
    run.update()
    assert json.loads(sandbox_db.scalar("SELECT tags FROM runs WHERE id = ?", (row["id"],))) \
        == ["reviewed", *row["tags"]]
    other = sdk("victor").run(f"{PATH}/{row['name']}")
    other.tags = []
    with pytest.raises(Exception, match="permission denied"):
        other.update()
    assert json.loads(sandbox_db.scalar("SELECT tags FROM runs WHERE id = ?", (row["id"],))) \
        == ["reviewed", *row["tags"]]


def test_create_run_and_delete_it(sdk, sandbox_db):
    api = sdk("carol")
    run = api.create_run(run_id="carol-run-1", project=PROJECT, entity=TEAM)
    assert run.state == "running"
    row = sandbox_db.one("SELECT * FROM runs WHERE name = 'carol-run-1'")
    assert row["user_id"] == _user_id(sandbox_db, "carol")
    assert api.run(f"{PATH}/carol-run-1").user.username == "carol"
    with pytest.raises(Exception, match="permission denied"):
        sdk("victor").run(f"{PATH}/carol-run-1").delete()
    assert sandbox_db.one("SELECT id FROM runs WHERE name = 'carol-run-1'") is not None
    api.run(f"{PATH}/carol-run-1").delete()
    assert sandbox_db.one("SELECT id FROM runs WHERE name = 'carol-run-1'") is None


def test_create_run_forbidden_for_viewer(sdk, sandbox_db):
    with pytest.raises(Exception, match="permission denied"):
        sdk("victor").create_run(run_id="victor-run", project=PROJECT, entity=TEAM)
    assert sandbox_db.one("SELECT id FROM runs WHERE name = 'victor-run'") is None
