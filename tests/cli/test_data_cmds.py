"""`wbadmin sync | teams | members | projects | users` against the sandbox over real HTTP."""

from __future__ import annotations

import functools
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.conftest import key_of
from wbadmin.core.session import Session

from .conftest import cache_file


def test_sync_json_reports_counts_requests_and_seconds(live, sandbox_db, cli) -> None:
    r = cli("sync", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["profile"] == "default" and report["org"] == "inference-systems"
    assert report["counts"]["teams"] == sandbox_db.scalar(
        "SELECT COUNT(*) FROM entities WHERE kind='team'")
    assert report["counts"]["users"] == sandbox_db.scalar(
        "SELECT COUNT(*) FROM users WHERE org_id IS NOT NULL AND (account_type = 'USER' "
        "OR id IN (SELECT user_id FROM team_members))")  # people, and team service accounts
    assert 0 < report["requests"] <= 15
    assert report["seconds"] >= 0 and report["warnings"] == []
    assert cache_file().exists()
    # Invite ages are dated after the structure, reported on their own: the demo's three
    # pending invites, newest first until the oldest is found.
    assert report["invites"]["pending"] == report["invites"]["dated"] == 3
    assert report["invites"]["requests"] == 4 and report["invites"]["seconds"] >= 0
    # A second sync reads the audit log only from the day the first read ended.
    again = json.loads(cli("sync", "--json").out)
    assert again["invites"] == {**again["invites"], "dated": 3, "requests": 1}


def test_sync_table_is_one_line_for_people(live, cli) -> None:
    r = cli("sync")
    assert r.code == 0
    assert r.out.startswith("synced inference-systems (profile default): ")
    assert "requests)" in r.out and "teams" in r.out
    assert r.out.splitlines()[1].startswith("invite ages: 3 of 3 pending invites dated in ")


def test_teams_syncs_an_empty_cache_then_reads_it(live, cli) -> None:
    first = cli("teams", "--json")
    assert first.code == 0, first.err
    assert "synced profile default" in first.err
    names = [t["name"] for t in json.loads(first.out)]
    assert names == sorted(names) and "data-science-nlp" in names and len(names) == 9
    second = cli("teams")
    assert second.code == 0
    assert "data from the cache" in second.err and "synced" not in second.err
    assert second.out.splitlines()[0].split()[:2] == ["TEAM", "PEOPLE"]
    assert any(line.startswith("customer-insights ") for line in second.out.splitlines())


def test_members_shows_roles_service_accounts_and_invites(live, cli) -> None:
    r = cli("members", "data-science-nlp", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    roles = {m["username"]: m for m in data["members"]}
    assert roles["bob"]["role"] == "admin" and roles["carol"]["role"] == "member"
    assert roles["eval-runner"]["service_account"] is True
    assert any(m["custom_role"] for m in data["members"])
    assert data["invites"] and all("email" in i for i in data["invites"])
    table = cli("members", "data-science-nlp")
    assert "service account" in table.out and "invited" in table.out


def test_unknown_team_is_not_found_in_one_line(live, cli) -> None:
    r = cli("members", "data-science-nlx")
    assert r.code == 5
    assert r.out == ""
    last = r.err_lines[-1]
    assert "unknown team 'data-science-nlx'" in last and "data-science-nlp" in last
    assert "Traceback" not in r.err
    assert cli("projects", "no-such-team").code == 5


def test_projects_of_one_team_and_of_all(live, sandbox_db, cli) -> None:
    one = cli("projects", "ml-infra", "--json")
    assert one.code == 0
    projects = json.loads(one.out)
    assert {p["team"] for p in projects} == {"ml-infra"}
    assert {p["name"] for p in projects} == {r[0] for r in sandbox_db.query(
        "SELECT p.name FROM projects p JOIN entities e ON e.id = p.entity_id "
        "WHERE e.name = 'ml-infra' AND p.is_registry = 0")}
    every = json.loads(cli("projects", "--json").out)
    assert len(every) == sandbox_db.scalar("SELECT COUNT(*) FROM projects WHERE is_registry=0")


def test_users_filter_matches_username_name_and_email(live, cli) -> None:
    r = cli("users", "--filter", "okafor", "--json")
    assert r.code == 0
    assert [u["username"] for u in json.loads(r.out)] == ["bob"]
    everyone = json.loads(cli("users", "--json").out)
    alice = next(u for u in everyone if u["username"] == "alice")
    assert alice["org_role"] == "admin" and alice["teams"] >= 3
    assert any(u["service_account"] for u in everyone)
    assert cli("users", "--filter", "nobody-like-this").out.strip().startswith("USERNAME")


def test_refresh_sees_a_change_made_elsewhere(live, sandbox_db, cli) -> None:
    assert cli("sync").code == 0
    _set_role(sandbox_db)
    cached = json.loads(cli("members", "data-science-nlp", "--json").out)
    assert _role(cached, "carol") == "member"  # still the cached answer
    fresh = json.loads(cli("members", "data-science-nlp", "--json", "--refresh").out)
    assert _role(fresh, "carol") == "admin"


def _set_role(db) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE team_members SET role = 'admin' WHERE user_id = (SELECT id FROM "
                     "users WHERE username = 'carol') AND team_id = (SELECT id FROM entities "
                     "WHERE name = 'data-science-nlp')")


def _role(data: dict, username: str) -> str:
    return next(m["role"] for m in data["members"] if m["username"] == username)


def test_offline_with_empty_cache_says_what_to_do(live, cli) -> None:
    r = cli("teams", "--offline")  # a key this machine has never verified: nothing is its
    assert r.code == 7
    assert len(r.err_lines) == 1 and "never verified on this machine" in r.err
    assert "run once without --offline" in r.err
    assert cli("whoami").code == 0  # verified now, but nothing synced yet
    r = cli("teams", "--offline")
    assert r.code == 7
    assert r.err_lines == ["wbadmin: nothing cached for profile default; run `wbadmin sync`"]


def test_offline_reads_the_cache_and_says_how_old(live, sandbox, cli) -> None:
    assert cli("sync").code == 0
    sandbox.stop()  # no network from here on
    r = cli("members", "ai-governance", "--offline", "--json")
    assert r.code == 0
    assert "data from the cache, less than a minute old" in r.err
    assert json.loads(r.out)["team"] == "ai-governance"
    assert cli("whoami", "--offline", "--json").code == 0


def test_non_admin_sync_warns_and_sees_only_their_teams(live, monkeypatch, cli) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("carol"))
    r = cli("teams", "--json")
    assert r.code == 0
    assert "warning: SCIM is not available" in r.err
    assert {t["name"] for t in json.loads(r.out)} == {"data-science-nlp", "product-ai-agents"}


def test_sync_says_when_a_scim_list_stops_short(live, sandbox, sandbox_db, cli) -> None:
    # A server that caps pages and ignores startIndex: only the first page can be read.
    sandbox.faults.update(scim_page_cap=5, scim_ignore_start_index=True)
    people = sandbox_db.scalar("SELECT COUNT(*) FROM users WHERE account_type = 'USER' "
                               "AND org_id IS NOT NULL AND deleted_at IS NULL")
    r = cli("sync")
    assert r.code == 0, r.err
    shown = [line for line in r.err_lines if "warning: SCIM Users" in line]
    assert shown == [f"wbadmin: warning: SCIM Users: read 5 of {people}, the rest are missing: "
                     "the server sent the same resources again at startIndex 6 (it may not "
                     "support startIndex)"]
    r = cli("sync", "--json")
    assert any(w.startswith("SCIM Users: read 5 of") for w in json.loads(r.out)["warnings"])


def test_whoami_live_shows_where_the_key_came_from_never_the_key(live, cli) -> None:
    r = cli("whoami", "--json")
    assert r.code == 0, r.err
    me = json.loads(r.out)
    assert me["username"] == "alice" and me["org"] == "inference-systems"
    assert me["org_role"] == "admin" and me["key_source"] == "env" and me["mode"] == "LIVE"
    assert me["base_url"] == live
    assert key_of("alice") not in r.out + r.err
    table = cli("whoami")
    assert "key from:  env" in table.out and "org role:  admin" in table.out


def test_whoami_without_scim_has_no_org_role(live, monkeypatch, cli) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("carol"))
    me = json.loads(cli("whoami", "--json").out)
    assert me["username"] == "carol" and me["org_role"] is None


def test_a_refused_key_is_an_auth_error(live, monkeypatch, cli) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    r = cli("teams")
    assert r.code == 3
    assert len(r.err_lines) == 1 and "x" * 40 not in r.err


def test_a_malformed_env_key_is_an_auth_error(live, monkeypatch, cli) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "short")
    r = cli("teams")
    assert r.code == 3 and "WANDB_API_KEY" in r.err and "short" not in r.err


def test_a_named_profile_without_a_key_says_how_to_sign_in(live, monkeypatch, home, cli) -> None:
    monkeypatch.delenv("WANDB_API_KEY")
    home.write_config('[profiles.prod]\nbase_url = "https://acme.wandb.io"\n')
    r = cli("teams", "--profile", "prod")
    assert r.code == 3 and "wbadmin login --profile prod" in r.err


def test_unknown_profile_is_a_usage_error(cli) -> None:
    r = cli("teams", "--profile", "nope")
    assert r.code == 2
    assert len(r.err_lines) == 1 and "Unknown profile 'nope'" in r.err


def test_malformed_config_is_the_settings_line(home, cli) -> None:
    home.write_config("[profiles.prod\nbase_url = 1\n")
    r = cli("teams")
    assert r.code == 8
    assert len(r.err_lines) == 1
    assert "Cannot use config file" in r.err and "line 1" in r.err


def test_invalid_base_url_flag_is_a_usage_error(cli) -> None:
    r = cli("teams", "--base-url", "ftp://example.com")
    assert r.code == 2 and "Invalid base URL" in r.err


def test_malformed_flags_exit_2(cli) -> None:
    assert cli("teams", "--bogus").code == 2
    assert cli("members").code == 2
    assert cli("journal", "--since", "yesterday-ish").code == 2


def test_unreachable_server_is_unavailable(monkeypatch, cli) -> None:
    # Retries with a short backoff: the outcome is the same, the test is quicker.
    monkeypatch.setattr(Session, "connect",
                        functools.partialmethod(Session.connect, backoff_base=0.001))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
    r = cli("sync")
    assert r.code == 7 and "cannot reach" in r.err and len(r.err_lines) == 1


class _Liar(BaseHTTPRequestHandler):
    """A server that answers 200 with JSON that is not W&B's shape."""

    body = b'{"data": {"viewer": {"id": "1"}}}'

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("body", [b'{"data": {"viewer": {"id": "1"}}}', b"<html>hi</html>"])
def test_an_answer_not_matching_the_schema_is_bad_data(body, monkeypatch, cli) -> None:
    handler = type("Liar", (_Liar,), {"body": body})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
        for command in (("sync",), ("whoami",)):
            r = cli(*command)
            assert r.code == 8, r.err
            assert len(r.err_lines) == 1 and "Traceback" not in r.err
    finally:
        server.shutdown()
        server.server_close()


def test_shared_flags_work_before_the_command_too(live, cli) -> None:
    r = cli("--profile", "nope", "teams")
    assert r.code == 2 and "Unknown profile 'nope'" in r.err
    r = cli("--offline", "teams")
    assert r.code == 7 and "nothing cached" in r.err


def test_sync_shows_an_audit_read_stopped_by_its_cap(live, sandbox_db, monkeypatch,
                                                     cli) -> None:
    from wbadmin import clock
    from wbadmin.core import audit
    from wbadmin.core.journal import iso

    monkeypatch.setattr(audit, "PAGE_SIZE", 2)
    monkeypatch.setattr(audit, "MAX_ENTRIES", 5)
    # Invite ages are read newest first, from today's start: its first entries are these.
    first = int(clock.now()) // 86_400 * 86_400
    with sandbox_db.transaction() as conn:
        conn.executemany("INSERT INTO audit_log (timestamp, action) VALUES (?, 'project:read')",
                         [(first + i,) for i in range(8)])
    reached = first + 5  # three pages of 2 were kept, the cap being 5
    r = cli("sync", "--json")
    assert r.code == 0, r.err  # the sync worked; invite ages are a nicety
    report = json.loads(r.out)
    assert report["audit_log"] == {"truncated": True, "truncated_at": iso(reached)}
    r = cli("sync")
    assert r.code == 0
    notice = [line for line in r.err_lines if "audit log" in line]
    assert len(notice) == 1 and audit._iso(reached) in notice[0]
    assert "access.invite_max_age_days" in notice[0]
    # Without the cap in the way, nothing says truncated.
    monkeypatch.setattr(audit, "MAX_ENTRIES", 10_000)
    report = json.loads(cli("sync", "--json").out)
    assert report["audit_log"] == {"truncated": False, "truncated_at": None}
    assert report["warnings"] == []
