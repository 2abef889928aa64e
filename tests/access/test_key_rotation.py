"""`wbadmin sa rotate | revoke | finish-rotations` end to end, over real HTTP against the demo
sandbox: W&B refuses the old key afterwards and accepts the new one; a grace period; a
failing hand-over; a crash between making a key and handing it over; who may; bad input;
and no key's value in anything wbadmin writes."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import cache_file, files_under, journal_file
from tests.conftest import SEED_NOW, key_of
from wbadmin import clock
from wbadmin.core.journal import Journal

VIEWER = "query { viewer { username } }"


def signs_in_as(base_url: str, key: str) -> str | None:
    """Whose key W&B takes this for (None: refused)."""
    token = base64.b64encode(f"api:{key}".encode()).decode()
    answer = httpx.post(f"{base_url}/graphql", json={"query": VIEWER},
                        headers={"Authorization": f"Basic {token}"}, timeout=10)
    if answer.status_code != 200:
        return None
    return ((answer.json().get("data") or {}).get("viewer") or {}).get("username")


def key_rows(db, account: str) -> list[tuple[str, str | None]]:
    """(value, description) of the account's keys, as the sandbox holds them."""
    return [(r[0], r[1]) for r in db.query(
        "SELECT k.key, k.description FROM api_keys k JOIN users u ON u.id = k.user_id "
        "WHERE u.username = ? ORDER BY k.id", (account,))]


def every_key(db) -> list[str]:
    return [r[0] for r in db.query("SELECT key FROM api_keys")]


def entries(kind: str | None = None) -> list:
    with Journal(journal_file()) as journal:
        return journal.query(kind=kind, newest_first=False)


def assert_no_key_in_files(db, home, *also: str) -> None:
    """No key value — the sandbox's or one just made — in any file wbadmin wrote."""
    keys = every_key(db) + list(also)
    for path in files_under(home.root):
        if path.name.endswith(".key"):
            continue  # the hand-over file itself
        data = path.read_bytes()
        for key in keys:
            assert key.encode() not in data, f"a key value is in {path}"


def test_rotate_to_a_file_old_key_refused_new_key_accepted(live, cli, home, sandbox_db,
                                                          tmp_path) -> None:
    old = key_of("ci-bot")
    assert signs_in_as(live, old) == "ci-bot"
    target = tmp_path / "ci-bot.key"
    result = cli("sa", "rotate", "ci-bot", "--to-file", str(target), "--yes", "--json")
    assert result.code == 0, result.err
    new = target.read_text().strip()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert signs_in_as(live, new) == "ci-bot"
    assert signs_in_as(live, old) is None  # deleted at once: W&B refuses it
    shown = json.loads(result.out)
    assert shown["account"] == "ci-bot" and shown["new_key_id"] and len(shown["deleted"]) == 1
    assert new not in result.out + result.err and old not in result.out + result.err
    # The account now has exactly the new key, marked as wbadmin's rotation.
    (value, description), = key_rows(sandbox_db, "ci-bot")
    assert value == new and description.startswith("wbadmin rotation ")
    made, = entries("sa-key-create")
    deleted, = entries("sa-key-delete")
    assert made.status == "applied" and made.after["key"] == shown["new_key_id"]
    assert deleted.status == "applied" and deleted.plan_id == made.plan_id
    assert_no_key_in_files(sandbox_db, home, new)
    # W&B's own audit log has both steps: made by the account itself, deleted by alice.
    actions = [r[0] for r in sandbox_db.query(
        "SELECT action FROM audit_log WHERE action LIKE 'user:%api_key' ORDER BY id DESC "
        "LIMIT 2")]
    assert actions == ["user:delete_api_key", "user:create_api_key"]


def test_rotate_shows_the_new_key_once_on_the_terminal(live, cli, home, sandbox_db) -> None:
    result = cli("sa", "rotate", "eval-runner", "--yes")
    assert result.code == 0, result.err
    (new, _), = key_rows(sandbox_db, "eval-runner")
    assert result.out.count(new) == 1 and new not in result.err
    assert signs_in_as(live, new) == "eval-runner"
    assert "shown once" in result.out
    assert_no_key_in_files(sandbox_db, home, new)


def test_json_without_a_destination_is_refused_before_anything(live, cli, home,
                                                               sandbox_db) -> None:
    before = key_rows(sandbox_db, "ci-bot")
    result = cli("sa", "rotate", "ci-bot", "--yes", "--json")
    assert result.code == 2 and result.out == ""
    assert "--json output never carries a key" in result.err_lines[-1]
    assert key_rows(sandbox_db, "ci-bot") == before


def test_grace_period_keeps_both_keys_until_finish_rotations(live, cli, home, sandbox_db,
                                                            tmp_path, monkeypatch) -> None:
    old = key_of("ci-bot")
    target = tmp_path / "k.key"
    result = cli("sa", "rotate", "ci-bot", "--grace", "24h", "--to-file", str(target), "--yes")
    assert result.code == 0, result.err
    new = target.read_text().strip()
    assert signs_in_as(live, old) == signs_in_as(live, new) == "ci-bot"
    scheduled, = entries("sa-key-delete")
    assert scheduled.status == "scheduled"
    assert scheduled.due_at == pytest.approx(clock.now() + 86_400, abs=120)
    # Not a finding: the second key is in a scheduled rotation.
    cli("sa", "list", "--refresh")
    found = json.loads(cli("access", "findings", "--json").out)
    assert not any(f["id"] == "service-accounts-many-keys" and "ci-bot" in f["people"]
                   for f in found)
    # Not due yet: nothing happens.
    early = cli("sa", "finish-rotations", "--yes")
    assert early.code == 0 and "no key deletion is due" in early.out
    assert signs_in_as(live, old) == "ci-bot"
    # A day later, cron's run deletes it.
    monkeypatch.setenv(clock.ENV, str(SEED_NOW + 25 * 3600))
    done = cli("sa", "finish-rotations", "--yes")
    assert done.code == 0, done.err
    assert signs_in_as(live, old) is None and signs_in_as(live, new) == "ci-bot"
    closed = next(e for e in entries("sa-key-delete") if e.id == scheduled.id)
    assert closed.status == "applied" and "deleted by journal entry" in closed.result
    again = cli("sa", "finish-rotations", "--yes")
    assert "no key deletion is due" in again.out


def test_a_failing_to_command_deletes_the_new_key_again(live, cli, home, sandbox_db) -> None:
    before = key_rows(sandbox_db, "ci-bot")
    result = cli("sa", "rotate", "ci-bot", "--to-command", "cat >/dev/null; echo no >&2; exit 3",
                 "--yes")
    assert result.code == 6, result.err
    assert "exited with 3: no" in result.err_lines[-1] and "deleted again" in result.err
    assert key_rows(sandbox_db, "ci-bot") == before  # the new key is gone, the old one kept
    assert signs_in_as(live, key_of("ci-bot")) == "ci-bot"
    made, = entries("sa-key-create")
    assert made.status == "failed" and "deleted again" in made.result
    assert entries("sa-key-delete") == []  # the old key was never touched
    assert "Traceback" not in result.err


def test_to_command_receives_the_key_on_stdin(live, cli, home, sandbox_db, tmp_path) -> None:
    out = tmp_path / "got"
    result = cli("sa", "rotate", "ci-bot", "--to-command",
                 f"cat > {out}; echo $WBADMIN_SERVICE_ACCOUNT >> {out}", "--yes")
    assert result.code == 0, result.err
    key, account = out.read_text().split()
    assert account == "ci-bot" and signs_in_as(live, key) == "ci-bot"


def test_a_crash_between_making_and_handing_over_is_undone_by_the_next_run(
        live, cli, home, sandbox_db) -> None:
    """The hand-over command kills wbadmin itself: the key is made and journaled, never
    handed over. The next run deletes that orphan and leaves the old key working."""
    env = {**os.environ, "WANDB_BASE_URL": live, "WANDB_API_KEY": key_of("alice")}
    crashed = subprocess.run(
        [sys.executable, "-m", "wbadmin", "sa", "rotate", "ci-bot", "--yes",
         "--to-command", "kill -9 $PPID"], env=env, capture_output=True, text=True,
        timeout=120)
    assert crashed.returncode == -9
    keys = key_rows(sandbox_db, "ci-bot")
    assert len(keys) == 2 and keys[1][1].startswith("wbadmin rotation ")
    pending, = entries("sa-key-create")
    assert pending.status == "pending" and pending.after.get("key")
    nothing = cli("sa", "finish-rotations", "--yes")  # any change command settles it first
    assert nothing.code == 0, nothing.err
    assert "orphan key" in nothing.err
    assert key_rows(sandbox_db, "ci-bot") == keys[:1]
    assert signs_in_as(live, key_of("ci-bot")) == "ci-bot"
    settled, = entries("sa-key-create")
    assert settled.status == "not_applied" and "orphan key" in settled.result
    assert_no_key_in_files(sandbox_db, home, keys[1][0])


def test_revoke_deletes_every_key_and_says_a_new_one_is_made_in_wandb(live, cli, home,
                                                                      sandbox_db) -> None:
    result = cli("sa", "revoke", "deploy-bot", "--yes")
    assert result.code == 0, result.err
    assert key_rows(sandbox_db, "deploy-bot") == []
    assert signs_in_as(live, key_of("deploy-bot")) is None
    assert "make a new one in W&B" in result.err
    missing = cli("sa", "revoke", "ci-bot", "--key", "QXBpS2V5Ojk5OTk=", "--yes")
    assert missing.code == 5 and "has no key" in missing.err_lines[-1]
    assert signs_in_as(live, key_of("ci-bot")) == "ci-bot"


def test_a_team_admin_rotates_his_teams_account_and_no_other(live, cli, home, sandbox_db,
                                                            as_user, tmp_path) -> None:
    as_user("bob")  # admin of data-science-nlp (eval-runner's team), member of deploy-bot's
    target = tmp_path / "e.key"
    ok = cli("sa", "rotate", "eval-runner", "--to-file", str(target), "--yes")
    assert ok.code == 0, ok.err
    assert signs_in_as(live, target.read_text().strip()) == "eval-runner"
    assert signs_in_as(live, key_of("eval-runner")) is None
    before = key_rows(sandbox_db, "deploy-bot")
    refused = cli("sa", "rotate", "deploy-bot", "--to-file", str(target), "--yes")
    assert refused.code == 4
    assert "bob does not manage deploy-bot" in refused.err_lines[-1]
    assert key_rows(sandbox_db, "deploy-bot") == before
    assert cli("sa", "rotate", "ci-bot", "--yes", "--to-file", str(target)).code == 5


@pytest.mark.parametrize("who", ["carol", "victor"])
def test_members_and_viewers_may_not_rotate(live, cli, home, sandbox_db, as_user, who,
                                            tmp_path) -> None:
    as_user(who)
    before = every_key(sandbox_db)
    result = cli("sa", "rotate", "eval-runner", "--to-file", str(tmp_path / "x.key"), "--yes")
    assert result.code == 4, result.err
    assert f"{who} does not manage eval-runner" in result.err_lines[-1]
    assert every_key(sandbox_db) == before and not (tmp_path / "x.key").exists()
    assert entries() == []


def test_wrong_key_on_stdin_is_exit_3_with_nothing_made(live, cli, home, sandbox_db,
                                                        monkeypatch, tmp_path) -> None:
    import io

    before = every_key(sandbox_db)
    for given in (key_of("carol"), "not-a-key-" + "0" * 40):
        monkeypatch.setattr(sys, "stdin", io.StringIO(given + "\n"))
        result = cli("sa", "rotate", "ci-bot", "--current-key-stdin", "--yes",
                     "--to-file", str(tmp_path / "y.key"))
        assert result.code == 3, result.err
        assert "not ci-bot's" in result.err or "not a valid W&B key" in result.err
        assert given not in result.err + result.out
    assert every_key(sandbox_db) == before and entries() == []


def test_an_account_in_no_team_needs_its_key_on_stdin(live, cli, home, sandbox_db,
                                                      monkeypatch, tmp_path) -> None:
    import io

    no_key = cli("sa", "rotate", "org-provisioner", "--yes", "--to-file",
                 str(tmp_path / "o.key"))
    assert no_key.code == 4 and "--current-key-stdin" in no_key.err_lines[-1]
    monkeypatch.setattr(sys, "stdin", io.StringIO(key_of("org-provisioner") + "\n"))
    ok = cli("sa", "rotate", "org-provisioner", "--current-key-stdin", "--yes", "--to-file",
             str(tmp_path / "o.key"))
    assert ok.code == 0, ok.err
    assert signs_in_as(live, (tmp_path / "o.key").read_text().strip()) == "org-provisioner"


@pytest.mark.parametrize("args, code, says", [
    (["ci-bot", "--grace", "soon"], 2, "--grace: not a duration"),
    (["no-such-bot"], 5, "no service account 'no-such-bot'"),
    (["carol"], 5, "no service account 'carol'"),  # rotation is for service accounts
    (["ci-bot", "--to-file", "/no/such/dir/k"], 2, "does not exist"),
])
def test_bad_input(live, cli, home, sandbox_db, args, code, says) -> None:
    before = every_key(sandbox_db)
    result = cli("sa", "rotate", *args, "--yes")
    assert result.code == code, result.err
    assert says in result.err_lines[-1] and "Traceback" not in result.err
    assert every_key(sandbox_db) == before


def test_read_only_rotates_nothing(live, cli, home, sandbox_db) -> None:
    before = every_key(sandbox_db)
    result = cli("sa", "rotate", "ci-bot", "--yes", "--read-only")
    assert result.code == 4 and "read-only" in result.err_lines[-1]
    assert every_key(sandbox_db) == before


def test_the_journal_file_holds_key_ids_only(live, cli, home, sandbox_db, tmp_path) -> None:
    target = tmp_path / "z.key"
    assert cli("sa", "rotate", "ci-bot", "--grace", "1h", "--to-file", str(target),
               "--yes").code == 0
    new = target.read_text().strip()
    text = Path(journal_file()).read_bytes()
    assert new.encode() not in text and key_of("ci-bot").encode() not in text
    assert cache_file().exists() is False or new.encode() not in cache_file().read_bytes()
    exported = cli("journal", "--json")
    assert new not in exported.out
