"""W&B's audit-log API as the sandbox serves it: paths per deployment, auth, every query
parameter rule, both answer shapes, anonymize, and the seed's invite entries."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from tests.conftest import SEED, SEED_NOW, basic_api, key_of
from wbadmin import clock
from wbadmin.sandbox import ids
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_preset

pytestmark = pytest.mark.calendar  # day windows and ages, at any date

DAY = 86_400
NOW = SEED_NOW // 3600 * 3600  # the seed floors its reference time to the hour
DEDICATED, MULTI = "/admin/audit_logs", "/audit_logs"
# The seed's pending invites: (team, invitee, inviter, days before the seed time).
INVITES = [("data-science-nlp", "dave@inference-systems.ai", "bob", 21),
           ("product-ai-agents", "new.hire@inference-systems.ai", "alice", 2),
           ("llm-platform-eng", "contractor@partner-labs.io", "alice", 45)]
PII = {"actor_email", "user_email", "entity_name", "project_name", "report_name",
       "artifact_qualified_name"}
# A range holding every seeded entry (the seed writes nothing older than 60 days).
SEED_RANGE = {"startDate": time.strftime("%Y-%m-%d", time.gmtime(NOW - 60 * DAY)),
              "numDays": "61"}


def rfc3339(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@pytest.fixture
def get(sandbox):
    def call(params: dict | None = None, who: str | None = "alice", path: str = DEDICATED,
             auth: tuple[str, str] | None = None, headers: dict | None = None) -> httpx.Response:
        creds = auth or ((who, key_of(who)) if who else None)
        return httpx.get(sandbox.base_url + path, params=params, auth=creds, headers=headers,
                         timeout=15)
    return call


@pytest.fixture
def multi_tenant(sandbox_db: Database) -> None:
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")


def ndjson(resp: httpx.Response) -> list[dict]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def invites_of(entries: list[dict]) -> dict[tuple[str, str], dict]:
    return {(e["entity_name"], e["user_email"]): e for e in entries
            if e["action"] == "team:invite_user"}


def error_of(resp: httpx.Response, status: int = 400) -> str:
    assert resp.status_code == status, resp.text
    return resp.json()["error"]


# ---- the seed and the resolvers write invite entries --------------------------------------

def test_seeded_invites_have_matching_audit_entries(get, sandbox_db) -> None:
    entries = invites_of(ndjson(get(SEED_RANGE)))
    assert sandbox_db.scalar("SELECT COUNT(*) FROM invites") == len(INVITES)
    # The other invites in the history were accepted: the invitee joined that team after.
    accepted = set(entries) - {(team, email) for team, email, _, _ in INVITES}
    assert accepted
    for team, email in accepted:
        joined = sandbox_db.scalar(
            "SELECT m.joined_at FROM team_members m JOIN entities t ON t.id = m.team_id "
            "JOIN users u ON u.id = m.user_id WHERE t.name = ? AND u.email = ?", (team, email))
        assert joined is not None and rfc3339(joined) > entries[(team, email)]["timestamp"]
    for team, email, inviter, age in INVITES:
        e = entries[(team, email)]
        created = sandbox_db.scalar("SELECT i.created_at FROM invites i JOIN entities t ON "
                                    "t.id = i.team_id WHERE t.name = ? AND i.email = ?",
                                    (team, email))
        assert created == NOW - age * DAY
        assert e["timestamp"] == rfc3339(created)
        inviter_id = sandbox_db.scalar("SELECT id FROM users WHERE username = ?", (inviter,))
        assert e["actor_user_id"] == ids.encode("User", inviter_id)
        assert e["actor_email"] == f"{inviter}@inference-systems.ai"
        team_id = sandbox_db.scalar("SELECT id FROM entities WHERE name = ?", (team,))
        assert e["entity_asset"] == ids.encode("Entity", team_id)


def test_graphql_invite_appears_in_todays_stream(get, sandbox) -> None:
    mutation = """mutation CreateInvite($entity: String!, $email: String) {
      result: createInvite(input: {entityName: $entity, email: $email}) { invite { id } } }"""
    resp = httpx.post(f"{sandbox.base_url}/graphql", headers=basic_api("bob"), json={
        "query": mutation, "variables": {"entity": "data-science-nlp", "email": "x@ex.io"}})
    assert resp.json()["data"]["result"]["invite"]["id"]
    # No parameters: today (UTC) only, streamed.
    e = invites_of(ndjson(get()))[("data-science-nlp", "x@ex.io")]
    assert e["actor_email"] == "bob@inference-systems.ai" and e["response_code"] == 200
    assert e["timestamp"].startswith(time.strftime("%Y-%m-%d", time.gmtime(clock.now())))


def test_large_preset_invites_have_audit_entries() -> None:
    db = Database()
    seed_preset(db, "large", seed=SEED, now=SEED_NOW)
    missing = db.scalar(
        "SELECT COUNT(*) FROM invites i JOIN entities t ON t.id = i.team_id WHERE NOT EXISTS "
        "(SELECT 1 FROM audit_log a WHERE a.action = 'team:invite_user' AND a.timestamp = "
        "i.created_at AND a.actor_id = i.from_user_id AND json_extract(a.detail, "
        "'$.entity_name') = t.name AND json_extract(a.detail, '$.user_email') = i.email)")
    assert db.scalar("SELECT COUNT(*) FROM invites") > len(INVITES) and missing == 0
    db.close()


# ---- paths and auth -------------------------------------------------------------------------

def test_dedicated_answers_admin_path_only(get) -> None:
    assert get(SEED_RANGE).status_code == 200
    assert get(SEED_RANGE, path=MULTI).status_code == 404


def test_multi_tenant_answers_root_path_only(get, multi_tenant) -> None:
    assert get(SEED_RANGE, path=DEDICATED).status_code == 404
    assert "numDays" in error_of(get({"numDays": "61"}, path=MULTI))
    page = get({"startDate": SEED_RANGE["startDate"], "numDays": "7"}, path=MULTI)
    assert page.status_code == 200 and page.headers["content-type"].startswith(
        "application/json")


@pytest.mark.parametrize(("auth", "status"), [
    (None, 401),
    (("alice", "sbx-" + "0" * 40), 401),           # unknown key
    (("bob", key_of("alice")), 401),              # username is not the key's owner
    (("carol", key_of("carol")), 403),            # plain member
    (("victor", key_of("victor")), 403),          # org viewer
    (("bob", key_of("bob")), 403),                # team admin, not org admin
    (("ci-bot", key_of("ci-bot")), 403),          # team-scoped service account
    (("", key_of("org-provisioner")), 200),       # org service account, Basic `:key`
    (("alice@inference-systems.ai", key_of("alice")), 200),  # email as the username
    (("alice", key_of("alice")), 200),
])
def test_auth(get, auth, status) -> None:
    resp = get(SEED_RANGE, who=None, auth=auth)
    assert resp.status_code == status, resp.text
    if status == 401:
        assert resp.headers["www-authenticate"].startswith("Basic")


def test_bearer_and_graphql_style_auth_are_not_the_documented_scheme(get) -> None:
    bearer = get(SEED_RANGE, who=None, headers={"Authorization": f"Bearer {key_of('alice')}"})
    assert bearer.status_code == 401
    # Basic api:<key> (GraphQL's scheme): "api" is not alice's username.
    assert get(SEED_RANGE, who=None, headers=basic_api("alice")).status_code == 401


def test_forbidden_on_multi_tenant_too(get, multi_tenant) -> None:
    assert get(path=MULTI, who="carol").status_code == 403
    assert get(path=MULTI, who="alice").status_code == 200


def test_faults_apply_to_audit_logs(get, sandbox) -> None:
    sandbox.faults.update(fail_next=1)
    assert get(SEED_RANGE).status_code == 503
    assert get(SEED_RANGE).status_code == 200


# ---- the date range -------------------------------------------------------------------------

def test_num_days_counts_days_after_start(get) -> None:
    contractor = NOW - 45 * DAY
    day = time.strftime("%Y-%m-%d", time.gmtime(contractor))
    one = get({"startDate": day, "limit": "100"}).json()  # numDays omitted: that day only
    assert one["range_start_time"] == f"{day}T00:00:00Z"
    assert one["range_end_time"] == rfc3339(contractor // DAY * DAY + DAY)
    assert "contractor@partner-labs.io" in [e.get("user_email") for e in one["audit_logs"]]
    assert all(e["timestamp"].startswith(day) for e in one["audit_logs"])
    zero = get({"startDate": day, "numDays": "0", "limit": "100"}).json()
    assert zero == one
    three = get({"startDate": day, "numDays": "2", "limit": "100"}).json()
    assert three["range_end_time"] == rfc3339(contractor // DAY * DAY + 3 * DAY)


def test_start_date_with_time_parts(get) -> None:
    contractor = NOW - 45 * DAY
    hour = time.strftime("%Y-%m-%dT%H", time.gmtime(contractor))
    for start in (hour, hour + ":00", hour + ":00:00"):
        page = get({"startDate": start, "limit": "100"}).json()
        assert page["range_start_time"] == rfc3339(contractor)
        assert page["audit_logs"][0]["user_email"] == "contractor@partner-labs.io"
    later = get({"startDate": hour + ":00:01", "limit": "100"}).json()
    assert "contractor@partner-labs.io" not in [e.get("user_email") for e in later["audit_logs"]]


def test_end_date_is_exclusive_and_paginates(get) -> None:
    contractor = NOW - 45 * DAY
    # The day before: the seed's reference time (hence this event's) may be a midnight.
    start = time.strftime("%Y-%m-%d", time.gmtime(contractor - DAY))
    end = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(contractor))
    resp = get({"startDate": start, "endDate": end})  # no limit: still the paginated object
    assert resp.headers["content-type"].startswith("application/json")
    before = resp.json()
    assert before["next_cursor"] is None
    assert all(e["timestamp"] < rfc3339(contractor) for e in before["audit_logs"])
    end = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(contractor + 1))
    through = get({"startDate": start, "endDate": end}).json()
    assert through["count"] == before["count"] + 1
    assert through["audit_logs"][-1]["user_email"] == "contractor@partner-labs.io"


def test_omitted_start_date_counts_back_num_days_from_today(get) -> None:
    page = get({"numDays": "3", "limit": "1"}).json()
    today = int(clock.now()) // DAY * DAY
    assert page["range_start_time"] == rfc3339(today - 3 * DAY)
    assert page["range_end_time"] == rfc3339(today + DAY)


@pytest.mark.parametrize(("params", "words"), [
    ({"numDays": "2", "endDate": "2026-11-01"}, "numDays cannot be combined with endDate"),
    ({"cursor": "abc"}, "cursor requires limit or endDate"),
    ({"startDate": "2026-11-01", "numDays": "1", "cursor": "abc"},
     "cursor requires limit or endDate"),
    ({"limit": "0"}, "invalid limit 0"),
    ({"limit": "20001"}, "invalid limit 20001"),
    ({"limit": "many"}, "expected an integer"),
    ({"numDays": "-1"}, "invalid numDays -1"),
    ({"numDays": "two"}, "expected an integer"),
    ({"startDate": "11/01/2026"}, "invalid startDate"),
    ({"startDate": "2026-11-01T10:00:00Z"}, "invalid startDate"),
    ({"startDate": "2026-11-02", "endDate": "2026-11-01"}, "must be after"),
    ({"startDate": "2026-11-02", "endDate": "2026-11-02"}, "must be after"),
    ({"endDate": "not-a-date"}, "invalid endDate"),
    ({"limit": "10", "cursor": "!!"}, "invalid cursor"),
])
def test_parameter_rules(get, params, words) -> None:
    assert words in error_of(get(params))


@pytest.mark.parametrize(("params", "words"), [
    ({"numDays": "8"}, "invalid numDays 8"),
    ({"startDate": "2026-11-01T10"}, "invalid startDate"),
    ({"endDate": "2026-11-01"}, "endDate is not supported"),
    ({"limit": "1000001"}, "invalid limit 1000001"),
])
def test_multi_tenant_parameter_rules(get, multi_tenant, params, words) -> None:
    assert words in error_of(get(params, path=MULTI))


# ---- the answer shapes ----------------------------------------------------------------------

def test_stream_and_pages_hold_the_same_entries(get, sandbox_db) -> None:
    streamed = ndjson(get(SEED_RANGE))
    assert len(streamed) == sandbox_db.scalar("SELECT COUNT(*) FROM audit_log") >= 5
    assert [e["timestamp"] for e in streamed] == sorted(e["timestamp"] for e in streamed)
    # Pages small enough to be several (the seeded history is weeks long), few enough to
    # keep the test quick; the last one is partial unless the count divides evenly.
    limit = max(2, len(streamed) // 7 + 1)
    paged, cursor, pages = [], None, 0
    while True:
        page = get({**SEED_RANGE, "limit": str(limit),
                    **({"cursor": cursor} if cursor else {})})
        body = page.json()
        assert set(body) == {"audit_logs", "range_start_time", "range_end_time", "count",
                             "next_cursor"}
        assert body["count"] == len(body["audit_logs"]) <= limit
        paged += body["audit_logs"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert paged == streamed and pages == -(-len(streamed) // limit) > 1


def test_limit_alone_paginates_with_today_range(get) -> None:
    body = get({"limit": "5"}).json()
    today = int(clock.now()) // DAY * DAY
    assert (body["range_start_time"], body["range_end_time"]) == (rfc3339(today),
                                                                  rfc3339(today + DAY))


def test_cursor_is_tied_to_its_range_and_anonymize(get) -> None:
    cursor = get({**SEED_RANGE, "limit": "1"}).json()["next_cursor"]
    assert cursor
    other = {**SEED_RANGE, "numDays": "30", "limit": "1", "cursor": cursor}
    assert "another date range" in error_of(get(other))
    anon = {**SEED_RANGE, "limit": "1", "cursor": cursor, "anonymize": "true"}
    assert "anonymize" in error_of(get(anon))
    forged = base64.urlsafe_b64encode(b'{"ts": 1}').decode()
    assert "invalid cursor" in error_of(get({**SEED_RANGE, "limit": "1", "cursor": forged}))


def test_multi_tenant_always_paginates_and_pages_with_cursor_alone(get, multi_tenant) -> None:
    start = time.strftime("%Y-%m-%d", time.gmtime(NOW - 2 * DAY))
    body = get({"startDate": start, "numDays": "7"}, path=MULTI).json()
    assert body["next_cursor"] is None and body["count"] >= 2
    first = get({"startDate": start, "numDays": "7", "limit": "1"}, path=MULTI).json()
    rest = get({"startDate": start, "numDays": "7", "cursor": first["next_cursor"]},
               path=MULTI).json()
    assert first["audit_logs"] + rest["audit_logs"] == body["audit_logs"]


# ---- anonymize ------------------------------------------------------------------------------

def test_anonymize_strips_pii(get) -> None:
    plain = ndjson(get(SEED_RANGE))
    anon = ndjson(get({**SEED_RANGE, "anonymize": "true"}))
    assert len(anon) == len(plain)
    assert not any(PII & set(e) for e in anon)
    assert any(PII & set(e) for e in plain)
    for a, p in zip(anon, plain, strict=True):
        assert a == {k: v for k, v in p.items() if k not in PII}
    assert all("actor_user_id" in e and "timestamp" in e for e in anon)
    paged = get({**SEED_RANGE, "anonymize": "true", "limit": "20000"}).json()["audit_logs"]
    assert paged == anon
    assert ndjson(get({**SEED_RANGE, "anonymize": "false"})) == plain


def test_multi_tenant_ignores_anonymize(get, multi_tenant) -> None:
    start = time.strftime("%Y-%m-%d", time.gmtime(NOW - 2 * DAY))
    params = {"startDate": start, "numDays": "7"}
    plain = get(params, path=MULTI).json()["audit_logs"]
    assert get({**params, "anonymize": "true"}, path=MULTI).json()["audit_logs"] == plain
    assert any("user_email" in e for e in plain)


def test_an_older_server_streams_whatever_is_asked(get, sandbox_db) -> None:
    # The docs' earlier revisions: startDate, numDays, anonymize; limit and cursor ignored.
    everything = ndjson(get(SEED_RANGE))
    sandbox_db.set_meta("audit_log_api", "stream")
    assert ndjson(get({**SEED_RANGE, "limit": "2"})) == everything
    assert ndjson(get({**SEED_RANGE, "limit": "2", "cursor": "!!"})) == everything
    anonymized = ndjson(get({**SEED_RANGE, "limit": "2", "anonymize": "true"}))
    assert len(anonymized) == len(everything)
    assert not any(PII & set(e) for e in anonymized)
