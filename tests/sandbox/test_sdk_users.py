"""The real `wandb` SDK against the sandbox: viewer, users, teams, members, service accounts,
the organization and API keys — each with a twin where the caller lacks the permission.

The SDK swallows most mutation errors (it returns False/None), so every test checks the
SDK's return value and the state afterwards, re-read through the SDK or the database.
"""

from __future__ import annotations

import pytest

from wbadmin.sandbox.db import Database

pytestmark = pytest.mark.sdk

TEAM = "data-science-nlp"


def _team_rows(db: Database, team: str) -> list[tuple[str, bool]]:
    return [(r[0], r[1] == "admin") for r in db.query(
        "SELECT u.username, m.role FROM team_members m JOIN users u ON u.id = m.user_id "
        "JOIN entities e ON e.id = m.team_id WHERE e.name = ? ORDER BY m.seq", (team,))]


def _is_member(db: Database, team: str, username: str) -> bool:
    return bool(db.scalar(
        "SELECT 1 FROM team_members m JOIN users u ON u.id = m.user_id "
        "JOIN entities e ON e.id = m.team_id WHERE e.name = ? AND u.username = ?",
        (team, username)))


def _audit_count(db: Database, action: str) -> int:
    return db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = ?", (action,))


# ---- construction, viewer, users ------------------------------------------------------------

def test_api_construction_and_viewer(sdk, sandbox_db):
    api = sdk("alice")
    viewer = api.viewer
    assert viewer.username == "alice"
    assert viewer.email == "alice@inference-systems.ai"
    assert viewer.name == "Alice Chen"
    assert api.default_entity == "alice"
    expected_teams = sorted(r[0] for r in sandbox_db.query(
        "SELECT e.name FROM team_members m JOIN entities e ON e.id = m.team_id "
        "JOIN users u ON u.id = m.user_id WHERE u.username = 'alice'"))
    assert sorted(viewer.teams) == expected_teams
    # Key names are identifiers from the database, never the secret itself.
    names = [r[0] for r in sandbox_db.query(
        "SELECT k.name FROM api_keys k JOIN users u ON u.id = k.user_id "
        "WHERE u.username = 'alice'")]
    assert viewer.api_keys == names
    assert api.api_key not in viewer.api_keys


def test_api_construction_rejects_unknown_key(sdk, wandb_env):
    import wandb
    from wandb.errors import AuthenticationError

    with pytest.raises(AuthenticationError):
        wandb.Api(api_key="sbx-" + "0" * 40, overrides={"base_url": wandb_env}, timeout=15)


def test_service_account_default_entity_is_its_team(sdk):
    api = sdk("eval-runner")
    assert api.viewer.username == "eval-runner"
    assert api.default_entity == TEAM


def test_users_search_and_user(sdk):
    api = sdk("alice")
    found = api.users("inference-systems.ai")
    assert {"alice", "bob", "carol", "victor", "grace"} <= {u.username for u in found}
    bob = api.user("bob@inference-systems.ai")
    assert bob is not None and bob.username == "bob"
    assert "product-ai-agents" in bob.teams and TEAM in bob.teams
    assert api.user("nobody-by-this-name") is None


def test_users_search_forbidden_for_non_admin(sdk):
    from wandb.sdk.lib.service.service_connection import WandbApiFailedError

    api = sdk("carol")
    with pytest.raises(WandbApiFailedError, match="permission denied"):
        api.users("bob")


# ---- teams and members ----------------------------------------------------------------------

def test_team_members_match_seed(sdk, sandbox_db):
    team = sdk("carol").team(TEAM)
    members = [m for m in team.members if not m.pending]
    assert [(m.username, m.admin) for m in members] == _team_rows(sandbox_db, TEAM)
    assert team.storageBytes == sandbox_db.scalar(
        "SELECT storage_bytes FROM entities WHERE name = ?", (TEAM,))
    sa = next(m for m in members if m.username == "eval-runner")
    assert sa.account_type == "SERVICE"
    # carol is a plain member: the service account's key stays hidden from her.
    assert sa.api_key is None
    pending = [m for m in team.members if m.pending]
    assert [m.email for m in pending] == ["dave@inference-systems.ai"]


def test_team_admin_sees_service_account_key(sdk, keys):
    team = sdk("bob").team(TEAM)
    sa = next(m for m in team.members if m.username == "eval-runner")
    assert sa.api_key == keys("eval-runner")


def test_invite_by_email_creates_pending_member(sdk, sandbox_db):
    api = sdk("bob")
    team = api.team(TEAM)
    audited = _audit_count(sandbox_db, "team:invite_user")
    assert team.invite("newcomer@partner-labs.io") is True
    reloaded = api.team(TEAM)
    last = reloaded.members[-1]
    assert (last.email, last.pending, last.admin) == ("newcomer@partner-labs.io", True, False)
    assert _audit_count(sandbox_db, "team:invite_user") == audited + 1
    # Inviting the same address again fails.
    assert team.invite("newcomer@partner-labs.io") is False


def test_invite_by_username_adds_org_user_directly(sdk, sandbox_db):
    api = sdk("bob")
    team = api.team(TEAM)
    assert not _is_member(sandbox_db, TEAM, "grace")
    assert team.invite("grace", admin=True) is True
    assert ("grace", True) in _team_rows(sandbox_db, TEAM)
    last = api.team(TEAM).members[-1]
    assert (last.username, last.admin, last.pending) == ("grace", True, False)
    # Already a member now; an unknown username fails too.
    assert team.invite("grace") is False
    assert team.invite("no-such-person") is False


def test_invite_forbidden_for_plain_member(sdk, sandbox_db):
    team = sdk("carol").team(TEAM)
    before = sandbox_db.scalar("SELECT COUNT(*) FROM invites")
    assert team.invite("someone@partner-labs.io") is False
    assert team.invite("grace") is False
    assert sandbox_db.scalar("SELECT COUNT(*) FROM invites") == before
    assert not _is_member(sandbox_db, TEAM, "grace")


def test_member_delete_removes_member(sdk, sandbox_db):
    api = sdk("bob")
    carol = next(m for m in api.team(TEAM).members if m.username == "carol")
    assert carol.delete() is True
    assert not _is_member(sandbox_db, TEAM, "carol")
    assert "carol" not in [m.username for m in api.team(TEAM).members]
    assert _audit_count(sandbox_db, "team:uninvite") == 1


def test_member_delete_cancels_pending_invite(sdk, sandbox_db):
    api = sdk("alice")
    invite = next(m for m in api.team(TEAM).members if m.pending)
    assert invite.delete() is True
    assert not [m for m in api.team(TEAM).members if m.pending]


def test_member_delete_forbidden_for_viewer(sdk, sandbox_db):
    team = sdk("victor").team(TEAM)
    carol = next(m for m in team.members if m.username == "carol")
    assert carol.delete() is False
    assert _is_member(sandbox_db, TEAM, "carol")


def test_create_service_account_sorts_last(sdk, sandbox_db, wandb_env):
    import wandb

    made, keys = (_audit_count(sandbox_db, a) for a in ("team:create_service_account",
                                                         "user:create_api_key"))
    team = sdk("bob").team(TEAM)
    member = team.create_service_account("Nightly regression evals")
    assert member is not None
    assert member.account_type == "SERVICE"
    assert member.name == "Nightly regression evals"
    assert member.api_key and len(member.api_key) >= 40
    row = sandbox_db.one("SELECT sa_scope, sa_team_id FROM users WHERE username = ?",
                         (member.username,))
    assert row["sa_scope"] == "team"
    # The account and its first key are both logged (the seed's history has one of each).
    assert _audit_count(sandbox_db, "team:create_service_account") == made + 1
    assert _audit_count(sandbox_db, "user:create_api_key") == keys + 1
    # The new key works: the service account signs in and lands on its team.
    sa_api = wandb.Api(api_key=member.api_key, overrides={"base_url": wandb_env}, timeout=15)
    assert sa_api.default_entity == TEAM


def test_create_service_account_forbidden_for_plain_member(sdk, sandbox_db):
    team = sdk("carol").team(TEAM)
    before = sandbox_db.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'SERVICE'")
    assert team.create_service_account("sneaky bot") is None
    assert sandbox_db.scalar(
        "SELECT COUNT(*) FROM users WHERE account_type = 'SERVICE'") == before


def test_create_team(sdk, sandbox_db):
    api = sdk("alice")
    team = api.create_team("speech-research", admin_username="bob")
    assert team.name == "speech-research"
    assert [(m.username, m.admin) for m in team.members] == [("bob", True)]
    assert team.isTeam is True
    assert _audit_count(sandbox_db, "team:create") == 1
    assert "speech-research" in sdk("bob").viewer.teams


def test_create_team_forbidden_for_non_org_admin(sdk, sandbox_db):
    api = sdk("bob")  # a team admin, but not an org admin
    with pytest.raises(KeyError):
        # The SDK swallows the error, then loads the missing team and fails on `members`.
        api.create_team("shadow-team")
    assert sandbox_db.scalar("SELECT COUNT(*) FROM entities WHERE name = 'shadow-team'") == 0


# ---- organization ---------------------------------------------------------------------------

def test_organization(sdk, sandbox_db):
    api = sdk("carol")
    org = api.organization("inference-systems")
    assert org.name == "inference-systems"
    assert org.org_entity.name == sandbox_db.scalar(
        "SELECT e.name FROM orgs o JOIN entities e ON e.id = o.entity_id")
    assert org.org_entity.entity_type == "organization"
    # Without a name the SDK resolves the org from the default entity.
    assert api.organization().name == "inference-systems"


def test_organization_unknown_name(sdk):
    with pytest.raises(Exception, match="not found"):
        sdk("carol").organization("some-other-org")


# ---- API keys -------------------------------------------------------------------------------

def test_generate_and_delete_api_key(sdk, sandbox_db, wandb_env):
    import wandb

    made, deleted = (_audit_count(sandbox_db, a) for a in ("user:create_api_key",
                                                            "user:delete_api_key"))
    api = sdk("carol")
    user = api.viewer
    secret = user.generate_api_key("laptop")
    assert secret is not None and len(secret) >= 40
    # The secret is a working key for carol.
    assert wandb.Api(api_key=secret, overrides={"base_url": wandb_env},
                     timeout=15).viewer.username == "carol"
    listed = sdk("carol").viewer.api_keys
    assert len(listed) == 2 and secret not in listed
    assert user.delete_api_key(secret) is True
    assert sandbox_db.scalar("SELECT COUNT(*) FROM api_keys WHERE key = ?", (secret,)) == 0
    assert _audit_count(sandbox_db, "user:create_api_key") == made + 1
    assert _audit_count(sandbox_db, "user:delete_api_key") == deleted + 1


def test_generate_api_key_runs_as_caller(sdk, sandbox_db):
    alice = sdk("alice").user("bob")
    assert alice is not None
    # generate_api_key has no user argument: the key goes to the caller, not to bob.
    assert alice.generate_api_key("for bob?") is not None
    counts = dict(sandbox_db.query(
        "SELECT u.username, COUNT(*) FROM api_keys k JOIN users u ON u.id = k.user_id "
        "WHERE u.username IN ('alice', 'bob') GROUP BY u.username"))
    assert counts == {"alice": 2, "bob": 1}


def test_delete_api_key_forbidden_for_others(sdk, sandbox_db, keys):
    bob = sdk("alice").user("bob")  # an org admin sees bob's key names and ids
    assert bob is not None and len(bob.api_keys) == 1
    # carol holds bob's User object (via its attrs) but may not delete his key.
    from wandb.apis.public.users import User

    carol_api = sdk("carol")
    as_carol = User(carol_api._service_api, dict(bob._attrs))
    assert as_carol.delete_api_key(bob.api_keys[0]) is False
    assert sandbox_db.scalar("SELECT COUNT(*) FROM api_keys WHERE key = ?",
                             (keys("bob"),)) == 1
    # An org admin may delete it.
    assert bob.delete_api_key(bob.api_keys[0]) is True
    assert sandbox_db.scalar("SELECT COUNT(*) FROM api_keys WHERE key = ?",
                             (keys("bob"),)) == 0


def test_create_user(sdk, sandbox_db):
    user = sdk("alice").create_user("new.analyst@inference-systems.ai")
    assert user.email == "new.analyst@inference-systems.ai"
    assert user.admin is False
    row = sandbox_db.one("SELECT org_role, entity_id FROM users WHERE email = ?",
                         ("new.analyst@inference-systems.ai",))
    assert row["org_role"] == "member" and row["entity_id"] is not None


def test_create_user_forbidden_for_member(sdk, sandbox_db):
    from wandb.sdk.lib.service.service_connection import WandbApiFailedError

    with pytest.raises(WandbApiFailedError, match="permission denied"):
        sdk("carol").create_user("intruder@inference-systems.ai")
    assert sandbox_db.scalar("SELECT COUNT(*) FROM users WHERE email = ?",
                             ("intruder@inference-systems.ai",)) == 0
