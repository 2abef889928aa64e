"""Everything the sandbox writes to its audit log is something W&B logs: the seeded histories
(`demo`, `large`) and what its mutations record, checked against the reference's lists. The
histories agree with the seeded state, and `large` holds several pages of 90 days."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest

from tests.conftest import SEED, SEED_NOW, basic_api, key_of
from wbadmin.sandbox import ids
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_preset

pytestmark = pytest.mark.calendar  # ranges counted back from the seed's clock

DAY = 86_400
# `../shared/reference/wandb-api.md` §7.5 "Action values (`object:verb`)", every row.
REFERENCE_ACTIONS = {
    "artifact:create", "artifact:delete", "artifact:read",                      # Artifacts
    "project:delete", "project:read",                                           # Projects
    "organization:update_member",                                               # Org
    "report:read",                                                              # Reports
    "run:delete", "run:delete_many", "run:stop", "run:undelete_many", "run:update",
    "run:update_many",                                                          # Runs
    "sweep:create_agent",                                                       # Sweeps
    "team:create", "team:delete", "team:invite_user", "team:uninvite",
    "team:create_service_account",                                              # Teams
    "user:create", "user:deactivate", "user:reactivate", "user:permanently_delete",
    "user:read", "user:update", "user:create_api_key", "user:delete_api_key",
    "user:initiate_login", "user:login", "user:logout",                         # Users
}
# §7.4 "Entry fields", every group.
REFERENCE_FIELDS = {
    "timestamp", "action", "response_code", "cli_version",                      # Event
    "actor_user_id", "actor_email", "actor_ip",                                 # Actor
    "user_asset", "user_email",                                                 # Affected user
    "entity_asset", "entity_name",                                              # Team
    "project_asset", "project_name",                                            # Project
    "artifact_asset", "artifact_digest", "artifact_qualified_name",
    "artifact_sequence_asset",                                                  # Artifact
    "report_asset", "report_name",                                              # Report
}
PAGE = 20_000  # Dedicated's largest `limit`, what wbadmin's reader asks for


def outside_reference(entries: list[dict]) -> list[str]:
    return sorted({f"{e['action']} {sorted(set(e) - REFERENCE_FIELDS)}" for e in entries
                   if e["action"] not in REFERENCE_ACTIONS or set(e) - REFERENCE_FIELDS})


def read_all(base_url: str, days: int) -> list[dict]:
    """The whole range through the paginated answer, as alice (org admin)."""
    start = time.strftime("%Y-%m-%d", time.gmtime(SEED_NOW - days * DAY))
    params: dict[str, str] = {"startDate": start, "numDays": str(days + 2), "limit": str(PAGE)}
    out: list[dict] = []
    while True:
        page = httpx.get(base_url + "/admin/audit_logs", params=params,
                         auth=("alice", key_of("alice")), timeout=60).json()
        out += page["audit_logs"]
        if page["next_cursor"] is None:
            return out
        params["cursor"] = page["next_cursor"]


def gql(base_url: str, who: str, query: str, variables: dict) -> dict:
    body = httpx.post(base_url + "/graphql", headers=basic_api(who), timeout=15,
                      json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    return body["data"]


def scim_patch(base_url: str, user_pk: int, operations: list[dict]) -> None:
    resp = httpx.patch(f"{base_url}/scim/Users/{ids.encode('User', user_pk)}",
                       auth=("alice", key_of("alice")), timeout=15,
                       json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                             "Operations": operations})
    assert resp.status_code == 200, resp.text


def mutate_over_http(base_url: str, db: Database) -> None:
    """A few of each kind of change the sandbox audits, and two it must not (projects)."""
    gql(base_url, "bob", "mutation($e: String!, $m: String) { createInvite(input: "
        "{entityName: $e, email: $m}) { success } }", {"e": "data-science-nlp", "m": "z@ex.io"})
    gql(base_url, "alice", "mutation($e: String!) { createServiceAccount(input: {entityName: "
        "$e, description: \"nightly\"}) { user { id } } }", {"e": "llm-platform-eng"})
    key = gql(base_url, "carol", "mutation { generateApiKey(input: {description: \"ci\"}) "
              "{ apiKey { id } } }", {})["generateApiKey"]["apiKey"]["id"]
    gql(base_url, "carol", "mutation($id: String!) { deleteApiKey(input: {id: $id}) "
        "{ success } }", {"id": key})
    for name, entity in (("scratch", "llm-platform-eng"), ("scratch", "llm-platform-eng")):
        gql(base_url, "alice", "mutation($n: String, $e: String) { upsertModel(input: "
            "{name: $n, entityName: $e, description: \"x\"}) { inserted } }",
            {"n": name, "e": entity})
    run = db.one("SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id JOIN entities e "
                 "ON e.id = p.entity_id WHERE r.state = 'running' AND e.name = 'llm-platform-eng' "
                 "ORDER BY r.id LIMIT 1")
    gql(base_url, "alice", "mutation($id: ID!) { stopRun(input: {id: $id}) { success } }",
        {"id": ids.encode("Run", run["id"])})
    carol = db.scalar("SELECT id FROM users WHERE username = 'carol'")
    scim_patch(base_url, carol, [{"op": "replace", "path": "organizationRole", "value": "admin"},
                                 {"op": "replace", "path": "modelsSeat", "value": "viewer"}])
    scim_patch(base_url, carol, [{"op": "replace", "value": {"active": False}}])


def test_demo_history_and_mutations_use_only_wandbs_actions_and_fields(sandbox) -> None:
    seeded = read_all(sandbox.base_url, 60)
    mutate_over_http(sandbox.base_url, sandbox.db)
    after = read_all(sandbox.base_url, 60)
    assert outside_reference(after) == []
    made = Counter(e["action"] for e in after[len(seeded):])
    assert made == {"team:invite_user": 1, "team:create_service_account": 1,
                    "user:create_api_key": 2, "user:delete_api_key": 1, "run:stop": 1,
                    "organization:update_member": 2, "user:deactivate": 1}  # no project:*
    stop = next(e for e in after[len(seeded):] if e["action"] == "run:stop")
    assert stop["entity_name"] == "llm-platform-eng" and stop["project_name"]


def test_demo_history_covers_eight_weeks_of_an_orgs_life(sandbox) -> None:
    entries = read_all(sandbox.base_url, 60)
    actions = Counter(e["action"] for e in entries)
    for action in ("user:login", "project:read", "team:invite_user", "user:create_api_key",
                   "team:create_service_account", "artifact:read", "run:update",
                   "organization:update_member", "user:deactivate"):
        assert actions[action] > 0, action
    days = {e["timestamp"][:10] for e in entries if e["action"] == "user:login"}
    assert len(days) >= 40  # sign-ins on most of the 56 days
    db, now = sandbox.db, int(sandbox.db.get_meta("seeded_at"))
    assert min(e["timestamp"] for e in entries) >= time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 56 * DAY))
    # ci-bot (made 48 days before the seed time) and its key, by an admin of its team.
    sa = db.one("SELECT id, sa_team_id, created_at FROM users WHERE username = 'ci-bot'")
    made = [e for e in entries if e.get("user_asset") == ids.encode("User", sa["id"])]
    assert {e["action"] for e in made} == {"team:create_service_account", "user:create_api_key"}
    assert db.scalar("SELECT role FROM team_members WHERE team_id = ? AND user_id = ?",
                     (sa["sa_team_id"], ids.decode(made[0]["actor_user_id"], "User"))) == "admin"


def check_consistent(db: Database) -> None:
    """Actors exist and were active then; created keys, deactivations and org-role changes
    are of users whose state shows them."""
    rows = db.query("SELECT a.timestamp, a.action, a.actor_id, a.detail, u.last_active_at, "
                    "u.account_type FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id")
    users = {r["id"]: r for r in db.query("SELECT * FROM users")}
    for r in rows:
        assert r["account_type"] is not None, "an actor who does not exist"
        if r["action"] in ("user:login", "user:initiate_login", "project:read", "run:update",
                           "artifact:read", "artifact:create"):
            assert r["last_active_at"] is not None and r["timestamp"] <= r["last_active_at"]
        detail = json.loads(r["detail"])
        if "user_asset" in detail:
            user = users[ids.decode(detail["user_asset"], "User")]
            if r["action"] == "user:create_api_key":
                assert db.scalar("SELECT 1 FROM api_keys WHERE user_id = ?", (user["id"],))
            if r["action"] == "user:deactivate":
                assert not user["active"]
            if r["action"] == "organization:update_member":
                assert user["org_role"] == "admin" or user["models_seat"] == "viewer"


def test_large_holds_90_days_in_several_pages_of_wandbs_actions() -> None:
    db = Database()
    seed_preset(db, "large", seed=SEED, now=SEED_NOW)
    now = int(db.get_meta("seeded_at"))
    entries = [{"action": r["action"], "timestamp": "", **json.loads(r["detail"])}
               for r in db.query("SELECT action, detail FROM audit_log")]
    assert outside_reference(entries) == []
    in_range = db.scalar("SELECT COUNT(*) FROM audit_log WHERE timestamp >= ?",
                         (now // DAY * DAY - 90 * DAY,))
    assert in_range > 3 * PAGE  # more than one page in each of the reader's month windows
    assert db.scalar("SELECT MIN(timestamp) FROM audit_log WHERE action = 'user:login'") \
        < now - 85 * DAY
    check_consistent(db)
    db.close()


def test_demo_history_agrees_with_the_seeded_state(sandbox_db: Database) -> None:
    check_consistent(sandbox_db)
