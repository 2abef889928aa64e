"""Audit logs: what real W&B does (wandb-api.md §7). Also recorded elsewhere, rule by rule:
tests/sandbox/test_audit_logs.py (parameter rules, cursors, the seed's entries)."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from tests.conftest import SEED_NOW, key_of

pytestmark = pytest.mark.calendar  # day windows, at any date

DEDICATED, MULTI = "/admin/audit_logs", "/audit_logs"
# A range holding every seeded entry (the seed writes nothing older than 60 days).
SEED_RANGE = {"startDate": time.strftime("%Y-%m-%d", time.gmtime(SEED_NOW - 60 * 86_400)),
              "numDays": "61"}
PAGE_KEYS = {"audit_logs", "range_start_time", "range_end_time", "count", "next_cursor"}
ACTIONS = {  # wandb-api.md §7.5
    "artifact:create", "artifact:delete", "artifact:read", "project:delete", "project:read",
    "organization:update_member", "report:read", "run:delete", "run:delete_many", "run:stop",
    "run:undelete_many", "run:update", "run:update_many", "sweep:create_agent", "team:create",
    "team:delete", "team:invite_user", "team:uninvite", "team:create_service_account",
    "user:create", "user:deactivate", "user:reactivate", "user:permanently_delete",
    "user:read", "user:update", "user:create_api_key", "user:delete_api_key",
    "user:initiate_login", "user:login", "user:logout"}
FIELDS = {  # wandb-api.md §7.4
    "timestamp", "action", "response_code", "cli_version", "actor_user_id", "actor_email",
    "actor_ip", "user_asset", "user_email", "entity_asset", "entity_name", "project_asset",
    "project_name", "artifact_asset", "artifact_digest", "artifact_qualified_name",
    "artifact_sequence_asset", "report_asset", "report_name"}
PII = {"actor_email", "user_email", "entity_name", "project_name", "report_name",
       "artifact_qualified_name"}


@pytest.fixture
def audit(sandbox):
    def get(params: dict | None = None, who: str = "alice", path: str = DEDICATED):
        return httpx.get(sandbox.base_url + path, params={**SEED_RANGE, **(params or {})},
                         auth=(who, key_of(who)), timeout=15)
    return get


def ndjson(r: httpx.Response) -> list[dict]:
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.text.splitlines() if line.strip()]


def test_dedicated_streams_ndjson_without_limit_or_end_date(audit) -> None:
    # wandb-api.md §7.3: one JSON object per line.
    entries = ndjson(audit())
    assert entries and all(isinstance(e, dict) for e in entries)


def test_limit_switches_to_one_paginated_object(audit) -> None:
    # wandb-api.md §7.3: with `limit` (or `endDate`), one object; next_cursor null at the end.
    page = audit({"limit": "5"}).json()
    assert set(page) == PAGE_KEYS and page["count"] == len(page["audit_logs"]) == 5
    pages = 1
    while page["next_cursor"] is not None:  # larger pages from here: the day holds hundreds
        page = audit({"limit": "100", "cursor": page["next_cursor"]}).json()
        pages += 1
        assert pages < 50, "the cursor never reached the end of the day"
    assert page["next_cursor"] is None


def test_end_date_paginates_and_cannot_be_combined_with_num_days(sandbox, audit) -> None:
    # wandb-api.md §7.2: endDate is exclusive, switches to the paginated answer (§7.3), and
    # cannot be combined with numDays (a 400).
    start = SEED_RANGE["startDate"]
    end = time.strftime("%Y-%m-%d", time.gmtime(SEED_NOW + 86_400))
    r = httpx.get(sandbox.base_url + DEDICATED, auth=("alice", key_of("alice")), timeout=15,
                  params={"startDate": start, "endDate": end})
    assert r.status_code == 200 and set(r.json()) == PAGE_KEYS
    assert audit({"endDate": end}).status_code == 400


def test_entries_carry_the_documented_fields_and_actions(audit) -> None:
    # wandb-api.md §7.4: every field optional, from the documented list; timestamps RFC 3339;
    # §7.5: actions are object:verb from the documented list.
    entries = ndjson(audit())
    assert {k for e in entries for k in e} <= FIELDS
    assert {e["action"] for e in entries} <= ACTIONS
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
                            e["timestamp"]) for e in entries)


def test_anonymize_drops_pii(audit) -> None:
    # wandb-api.md §7.2 and §7.5 [UNCERTAIN exact list]: the sandbox's documented choice
    # strips actor_email, user_email, entity_name, project_name, report_name,
    # artifact_qualified_name (Dedicated/SM only).
    plain, anonymous = ndjson(audit()), ndjson(audit({"anonymize": "true"}))
    assert len(plain) == len(anonymous) and any(PII & set(e) for e in plain)
    assert not any(PII & set(e) for e in anonymous)


def test_paths_per_deployment(audit, sandbox_db) -> None:
    # wandb-api.md §7.1: Dedicated/SM at /admin/audit_logs; Multi-tenant at /audit_logs,
    # where the answer is always the paginated object (§7.3).
    assert audit(path=DEDICATED).status_code == 200
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")
    page = audit({"numDays": "7"}, path=MULTI).json()
    assert set(page) == PAGE_KEYS


def test_org_admins_only(audit) -> None:
    # wandb-api.md §7.1: others get 403.
    assert audit(who="carol").status_code == 403
    assert audit(who="bob").status_code == 403
