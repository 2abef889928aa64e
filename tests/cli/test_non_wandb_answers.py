"""A server that answers something other than W&B's shapes (a proxy's HTML, a login page, a
200 with `errors` only or `data: null`, a truncated body, JSON that is not an object): every
command that reads W&B says so in one line naming the URL and what came back, exits 8 (7 when
nothing answers, or a proxy says the server behind it is down), shows no traceback, and caches
nothing from that answer."""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.cli.conftest import cache_file
from tests.conftest import key_of

LOGIN_PAGE = ("200 OK", "text/html",
              b"<!DOCTYPE html><html><head><title>Sign in - Corp SSO</title></head>"
              b"<body><form>...</form></body></html>")
PROXY_502 = ("502 Bad Gateway", "text/html",
             b"<html><head><title>502 Bad Gateway</title></head><body><center>"
             b"<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")
ERRORS_ONLY = ("200 OK", "application/json",
               b'{"errors": [{"message": "upstream connect error"}]}')
DATA_NULL = ("200 OK", "application/json", b'{"data": null}')
TRUNCATED = ("200 OK", "application/json", b'{"data": {"viewer": {"id": "VXNlcjox", "usern')
NOT_AN_OBJECT = ("200 OK", "application/json", b'["data", "viewer"]')
NO_ROOT_FIELD = ("200 OK", "application/json", b'{"data": {}}')

ANSWERS = {"login page": LOGIN_PAGE, "errors only": ERRORS_ONLY, "data null": DATA_NULL,
           "truncated": TRUNCATED, "not an object": NOT_AN_OBJECT,
           "no root field": NO_ROOT_FIELD}
# What the one line says came back, per answer.
SAID = {"login page": "an HTML page ('Sign in - Corp SSO')",
        "errors only": "upstream connect error",
        "data null": "no data",
        "truncated": "'{\"data\": {\"viewer\"",
        "not an object": "a JSON array, not a JSON object",
        "no root field": "with data without ",
        "proxy 502": "an HTML page ('502 Bad Gateway')"}

# Every command that reads W&B, as a person types it.
COMMANDS = {"sync": ["sync"], "doctor": ["doctor"], "teams": ["teams"],
            "quotas": ["quotas"], "access findings": ["access", "findings"],
            "access user": ["access", "user", "bob"], "promote list": ["promote", "list"]}
SCIM_COMMANDS = {**COMMANDS, "whoami": ["whoami"]}

ROW_TABLES = ("users", "teams", "team_members", "invites", "projects", "registries",
              "registry_members", "collections", "versions", "quota_runs", "quota_teams")


@dataclass
class NotWandb:
    """A server in front of the sandbox: it answers `answer` to every request, except the
    key's identity (`viewer`) while `forward_viewer` is set, and every request outside
    `bad_only` (a path prefix) when that is set, which the sandbox answers."""

    url: str
    answer: tuple[str, str, bytes] = LOGIN_PAGE
    forward_viewer: bool = False
    bad_only: str = ""
    sandbox_url: str = ""

    def forwards(self, path: str, body: bytes) -> bool:
        if self.bad_only:
            return not path.startswith(self.bad_only)
        return self.forward_viewer and b"WbadminViewer" in body


@pytest.fixture
def not_wandb() -> Iterator[NotWandb]:
    state = NotWandb("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if state.forwards(self.path, body):
                assert state.sandbox_url
                real = httpx.request(self.command, state.sandbox_url + self.path, content=body,
                                     headers={k: v for k, v in self.headers.items()
                                              if k.lower() in ("authorization",
                                                               "content-type")})
                status, kind, payload = (f"{real.status_code} OK",
                                         real.headers["content-type"], real.content)
            else:
                status, kind, payload = state.answer
            self.send_response_only(int(status.split()[0]), status.split(" ", 1)[1])
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        def log_message(self, *args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            pass  # a request wbadmin gave up on (the first error ends the command)

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def pointed(home, monkeypatch: pytest.MonkeyPatch, tmp_path):
    # No long retry pauses: a 5xx is retried, and the test needs only its last answer.
    home.write_config("[network]\nbackoff_base_s = 0.005\nbackoff_cap_s = 0.01\n")
    # A quota policy, so `quotas` has nothing to say but the error.
    (tmp_path / "quotas.toml").write_text("")
    monkeypatch.setenv("WBADMIN_QUOTA_POLICY", str(tmp_path / "quotas.toml"))

    def at(base_url: str) -> None:
        monkeypatch.setenv("WANDB_BASE_URL", base_url)
        monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")

    return at


def rows_cached() -> dict[str, int]:
    """Rows per table in the profile's cache (none when no cache file was made)."""
    path = cache_file()
    if not path.exists():
        return {}
    with sqlite3.connect(path) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {t: n for t in ROW_TABLES if t in names
                and (n := db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])}


def identity_cached() -> bool:
    path = cache_file()
    if not path.exists():
        return False
    with sqlite3.connect(path) as db:
        try:
            return bool(db.execute("SELECT COUNT(*) FROM meta WHERE key LIKE '%identity%' "
                                   "OR key LIKE '%viewer%'").fetchone()[0])
        except sqlite3.Error:
            return False


def assert_one_line(err: str, url: str, said: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert 1 <= len(lines) <= 2, err  # the error, and at most a hint line
    assert url in lines[0] and said in lines[0], err


@pytest.mark.parametrize("answer", sorted(ANSWERS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_answer_that_is_not_wandb_is_one_line_exit_8_and_caches_nothing(
        home, cli, not_wandb: NotWandb, pointed, command: str, answer: str) -> None:
    pointed(not_wandb.url)
    not_wandb.answer = ANSWERS[answer]
    r = cli(*COMMANDS[command])
    assert r.code == 8, r.err
    assert_one_line(r.err, not_wandb.url, SAID[answer])
    assert rows_cached() == {}
    assert not identity_cached()


@pytest.mark.parametrize("answer", sorted(ANSWERS))
@pytest.mark.parametrize("command", sorted(set(COMMANDS) - {"doctor"}))
def test_after_a_good_sign_in_a_bad_read_caches_nothing(
        home, cli, sandbox, not_wandb: NotWandb, pointed, command: str, answer: str) -> None:
    """The key is known (the sandbox answered `viewer`); every read after it is not W&B's."""
    pointed(not_wandb.url)
    not_wandb.sandbox_url = sandbox.base_url
    not_wandb.forward_viewer = True
    not_wandb.answer = ANSWERS[answer]
    r = cli(*COMMANDS[command])
    assert r.code == 8, r.err
    assert_one_line(r.err, not_wandb.url, SAID[answer].replace("'{\"data\": {\"viewer\"",
                                                                "'{\"data\":"))
    assert rows_cached() == {}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_proxy_whose_server_is_down_is_exit_7_naming_the_page(
        home, cli, not_wandb: NotWandb, pointed, command: str) -> None:
    pointed(not_wandb.url)
    not_wandb.answer = PROXY_502
    r = cli(*COMMANDS[command])
    assert r.code == 7, r.err
    assert_one_line(r.err, not_wandb.url, SAID["proxy 502"])
    assert rows_cached() == {}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_nothing_listening_is_exit_7(home, cli, pointed, command: str) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{free.getsockname()[1]}"
    pointed(url)
    r = cli(*COMMANDS[command])
    assert r.code == 7, r.err
    assert_one_line(r.err, url, "cannot reach")
    assert rows_cached() == {}


SCIM_ANSWERS = {"login page": LOGIN_PAGE, "not an object": NOT_AN_OBJECT,
                "not a list": ("200 OK", "application/scim+json", b'{"detail": "ok"}'),
                "truncated": ("200 OK", "application/scim+json", b'{"Resources": [{"id": ')}
SCIM_SAID = {"login page": "an HTML page ('Sign in - Corp SSO')",
             "not an object": "a JSON array, not a SCIM ListResponse",
             "not a list": "no Resources, not a SCIM ListResponse",
             "truncated": "'{\"Resources\": [{\"id\":'"}


@pytest.mark.parametrize("answer", sorted(SCIM_ANSWERS))
@pytest.mark.parametrize("command", ["sync", "teams", "access findings", "whoami"])
def test_a_scim_answer_that_is_not_a_list_response_caches_no_people(
        home, cli, sandbox, not_wandb: NotWandb, pointed, command: str, answer: str) -> None:
    """GraphQL is W&B's; SCIM answers something else: no org read as having nobody in it."""
    pointed(not_wandb.url)
    not_wandb.sandbox_url = sandbox.base_url
    not_wandb.bad_only = "/scim"
    not_wandb.answer = SCIM_ANSWERS[answer]
    r = cli(*SCIM_COMMANDS[command])
    assert r.code == 8, r.err
    assert_one_line(r.err, f"{not_wandb.url}/scim/", SCIM_SAID[answer])
    assert rows_cached() == {}


AUDIT_ANSWERS = {"login page": LOGIN_PAGE, "not an entry": ERRORS_ONLY,
                 "truncated": ("200 OK", "application/x-ndjson",
                               b'{"action": "user:login", "timestamp": "2026-11-18T10:00:00Z"}\n'
                               b'{"action": "team:invite_user", "times')}
AUDIT_SAID = {"login page": "an HTML page ('Sign in - Corp SSO')",
              "not an entry": "a JSON object that is no audit-log entry",
              "truncated": "a body whose line 2 is not JSON"}


@pytest.mark.parametrize("answer", sorted(AUDIT_ANSWERS))
def test_an_audit_log_answer_that_is_not_wandb_is_named_and_no_age_is_taken(
        home, cli, sandbox, not_wandb: NotWandb, pointed, answer: str) -> None:
    """GraphQL and SCIM are W&B's; the audit-log API answers something else."""
    pointed(not_wandb.url)
    not_wandb.sandbox_url = sandbox.base_url
    not_wandb.bad_only = "/admin/audit_logs"
    not_wandb.answer = AUDIT_ANSWERS[answer]
    r = cli("sync")
    # The audit log is optional (Enterprise only): the sync goes on without invite ages,
    # and says why in one warning naming the URL.
    assert r.code == 0, r.err
    assert_one_line(r.err, f"{not_wandb.url}/admin/audit_logs", AUDIT_SAID[answer])
    assert "invite ages are unknown" in r.err
    with sqlite3.connect(cache_file()) as db:
        ages = db.execute("SELECT COUNT(*), COUNT(created_at) FROM invites").fetchone()
    assert ages[0] > 0 and ages[1] == 0
