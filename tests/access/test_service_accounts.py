"""`wbadmin sa list | show` and the service-account findings, over real HTTP against the demo
sandbox, as each identity: what W&B lets each one see, and never a key's value anywhere."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import cache_file, files_under
from tests.conftest import SEED_NOW
from wbadmin.core.access import AccessService
from wbadmin.core.access.findings import findings, get
from wbadmin.core.cache import Cache
from wbadmin.core.settings import AccessSettings
from wbadmin.sandbox import ids
from wbadmin.sandbox.audit import record

DAY = 86_400
TEAM_SAS = {"ci-bot": "llm-platform-eng", "eval-runner": "data-science-nlp",
            "deploy-bot": "product-ai-agents"}


def sa_json(cli, *args: str) -> dict:
    result = cli("sa", *args, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def sa_ids(db) -> dict[str, int]:
    return {r[0]: r[1] for r in db.query(
        "SELECT username, id FROM users WHERE account_type = 'SERVICE'")}


def test_alice_sees_every_account_its_team_scope_keys_and_last_key(live, cli, home,
                                                                   sandbox_db) -> None:
    listed = {a["username"]: a for a in sa_json(cli, "list")["service_accounts"]}
    assert set(listed) == set(sa_ids(sandbox_db))
    for name, team in TEAM_SAS.items():
        assert listed[name]["team"] == team and listed[name]["teams"] == {team: "member"}
        # Nothing W&B's API says tells a team-scoped account from an org-scoped one in a team.
        assert listed[name]["scope"] == "unknown"
    # In no team: W&B's team-scoped accounts always belong to theirs, so this one is org's.
    assert listed["org-provisioner"]["scope"] == "org"
    for name, pk in sa_ids(sandbox_db).items():
        expected = [ids.encode("ApiKey", r[0]) for r in sandbox_db.query(
            "SELECT id FROM api_keys WHERE user_id = ? ORDER BY id", (pk,))]
        assert [k["id"] for k in listed[name]["keys"]] == expected
        assert set(listed[name]["keys"][0]) == {"id", "description"}  # no name, no value
    # ci-bot's key creation is in the seeded log (48 days back); the others' are not.
    assert listed["ci-bot"]["last_key_created_at"] == "2026-10-01T11:00:00.000Z"
    assert listed["eval-runner"]["last_key_created_at"] is None
    assert listed["eval-runner"]["run_teams"] == ["data-science-nlp"]
    assert listed["eval-runner"]["last_activity_at"] is not None


def test_sa_show_an_account_and_a_missing_name(live, cli, home) -> None:
    shown = cli("sa", "show", "eval-runner")
    assert shown.code == 0, shown.err
    assert "scope unknown" in shown.out
    assert "reaches registry dataset: member (via team data-science-nlp)" in shown.out
    assert "last key made: unknown" in shown.out
    missing = cli("sa", "show", "no-such-bot")
    assert missing.code == 5
    assert missing.out == "" and "Traceback" not in missing.err
    assert missing.err_lines[-1].startswith("wbadmin: unknown service account 'no-such-bot'")


def test_a_team_admin_sees_only_his_teams_accounts_and_no_keys(live, cli, home,
                                                               as_user) -> None:
    as_user("bob")  # admin of data-science-nlp, member of product-ai-agents
    shown = sa_json(cli, "list")
    listed = {a["username"]: a for a in shown["service_accounts"]}
    assert set(listed) == {"eval-runner", "deploy-bot"}
    assert all(a["keys"] is None and a["last_key_created_at"] is None
               for a in listed.values())
    assert "org admins' only" in shown["note"]
    assert cli("sa", "show", "ci-bot").code == 5  # another team's: not his to see


@pytest.mark.parametrize("user, expected", [("carol", {"eval-runner", "deploy-bot"}),
                                            ("victor", {"eval-runner"})])
def test_members_and_viewers_see_their_teams_accounts(live, cli, home, as_user, user,
                                                      expected) -> None:
    as_user(user)
    assert {a["username"] for a in sa_json(cli, "list")["service_accounts"]} == expected


def test_someone_whose_teams_have_no_account_is_refused_in_one_line(live, cli, home, as_user,
                                                                    sandbox_db) -> None:
    user = sandbox_db.scalar(
        "SELECT u.username FROM users u WHERE u.account_type = 'USER' AND u.active = 1 AND "
        "u.org_role != 'admin' AND EXISTS (SELECT 1 FROM team_members m WHERE m.user_id = "
        "u.id) AND NOT EXISTS (SELECT 1 FROM team_members m JOIN team_members s ON "
        "s.team_id = m.team_id JOIN users a ON a.id = s.user_id WHERE m.user_id = u.id AND "
        "a.account_type = 'SERVICE') ORDER BY u.username LIMIT 1")
    as_user(user)
    result = cli("sa", "list")
    assert result.code == 4 and result.out == ""
    assert result.err_lines[-1].startswith(f"wbadmin: no service account is visible to {user}")


def test_no_key_value_in_the_output_or_the_cache(live, cli, home, sandbox_db) -> None:
    out = cli("sa", "list", "--json").out + cli("sa", "show", "org-provisioner", "--json").out
    out += cli("sa", "list").out + cli("access", "findings", "--json").out
    assert '"service_accounts"' in out and '"QXBpS2V5' in out  # key ids are shown
    # The cache with its WAL, and whatever else wbadmin wrote under the home.
    cached = b"".join(p.read_bytes() for p in files_under(home.root))
    assert b"QXBpS2V5" in cached  # the keys were cached: by id
    secrets = [r[0] for r in sandbox_db.query("SELECT key FROM api_keys")]
    names = [r[0] for r in sandbox_db.query("SELECT name FROM api_keys")]
    assert len(secrets) > 40
    for value in secrets + names:  # names too: W&B's `name` may be the secret
        assert value not in out and value.encode() not in cached


# ---- findings -------------------------------------------------------------------------------

def cached_findings(cfg: AccessSettings, *, now: float = SEED_NOW, user: str = "alice"):
    cache = Cache(cache_file(user=user))
    try:
        return findings(AccessService(cache), cfg, now=now, include_empty=True)
    finally:
        cache.close()


def count(found, finding_id: str) -> int | None:
    finding = get(found, finding_id)
    assert finding is not None
    return finding.shown_count


def items(found, finding_id: str) -> list[str]:
    finding = get(found, finding_id)
    assert finding is not None
    return finding.items


def test_idle_accounts_by_threshold_and_clock(live, cli, home) -> None:
    cli("sa", "list")
    # Last active: eval-runner 1 day before the seed, ci-bot 6, deploy-bot 25, org-prov 28.
    idle = [i.split(":")[0] for i in items(
        cached_findings(AccessSettings(service_account_idle_days=20)), "service-accounts-idle")]
    assert idle == ["deploy-bot", "org-provisioner"]
    assert count(cached_findings(AccessSettings(service_account_idle_days=30)),
                 "service-accounts-idle") == 0
    later = cached_findings(AccessSettings(service_account_idle_days=30), now=SEED_NOW + 25 * DAY)
    assert [i.split(":")[0] for i in items(later, "service-accounts-idle")] == [
        "ci-bot", "deploy-bot", "org-provisioner"]
    plan = get(later, "service-accounts-idle").fix()
    assert {c.target for c in plan.changes} == {"llm-platform-eng/ci-bot",
                                                "product-ai-agents/deploy-bot"}


def test_old_keys_and_keys_of_unknown_age(live, cli, home) -> None:
    cli("sa", "list")
    old = cached_findings(AccessSettings(key_max_age_days=30))
    assert items(old, "service-account-keys-old") == [
        "ci-bot: 1 key(s), the newest made 48 days ago"]
    none_old = get(cached_findings(AccessSettings(key_max_age_days=60)),
                   "service-account-keys-old")
    assert none_old.shown_count == 0  # the 3 of unknown age are the next finding's
    assert none_old.note.startswith("3 account(s) whose keys' age")
    unknown = get(old, "service-account-keys-unknown-age")
    assert unknown.severity == "low"
    assert [i.split(":")[0] for i in unknown.items] == ["deploy-bot", "eval-runner",
                                                        "org-provisioner"]


def test_admin_role_several_keys_and_an_org_account_in_many_teams(live, cli, home,
                                                                  sandbox_db) -> None:
    sas = sa_ids(sandbox_db)
    teams = dict(sandbox_db.query("SELECT name, id FROM entities WHERE kind = 'team'"))
    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE team_members SET role = 'admin' WHERE user_id = ?",
                     (sas["eval-runner"],))
        conn.execute("INSERT INTO api_keys (user_id, key, name, description, created_at) "
                     "VALUES (?, ?, ?, 'spare', ?)", (sas["deploy-bot"], "x" * 40 + "spare",
                                                      "key-spare", SEED_NOW - DAY))
        for team in ("ml-infra", "vision-research"):
            record(conn, SEED_NOW - 2 * DAY, "run:update", sas["org-provisioner"],
                   entity_asset=ids.encode("Entity", teams[team]), entity_name=team,
                   project_name="p", response_code=200)
    cli("sa", "list")
    found = cached_findings(AccessSettings())
    assert items(found, "service-accounts-admin") == ["eval-runner: admin of team "
                                                      "data-science-nlp"]
    assert get(found, "service-accounts-admin").severity == "high"
    fix = get(found, "service-accounts-admin").fix()
    assert [(c.target, c.after) for c in fix.changes] == [
        ("data-science-nlp/eval-runner", {"role": "member"})]
    assert items(found, "service-accounts-many-keys") == ["deploy-bot: 2 keys"]
    assert items(found, "org-service-accounts-many-teams") == [
        "org-provisioner: runs in ml-infra, vision-research"]


def test_a_team_admin_is_told_what_he_cannot_judge(live, cli, home, as_user) -> None:
    as_user("bob")
    cli("sa", "list")
    found = cached_findings(AccessSettings(), user="bob")
    for finding_id in ("service-accounts-idle", "service-account-keys-old",
                       "service-account-keys-unknown-age", "service-accounts-many-keys",
                       "org-service-accounts-many-teams"):
        finding = get(found, finding_id)
        assert finding.shown_count is None and finding.hidden.startswith("not visible to bob")
    assert count(found, "service-accounts-admin") == 0  # his teams' roles he can judge
