"""`wbadmin doctor` against the sandbox over HTTP, as every identity: what the server has
(everything, here), what each role may not do (listed, not failed), and the exit codes."""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import key_of
from wbadmin.core.client import Client
from wbadmin.core.doctor import FEATURES, Feature
from wbadmin.core.doctor_schema import check_schema

from .conftest import secret_forms


def as_user(monkeypatch: pytest.MonkeyPatch, base_url: str, user: str) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", base_url)
    monkeypatch.setenv("WANDB_API_KEY", key_of(user))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_an_org_admin_sees_every_feature_ready(home, cli, live) -> None:
    r = cli("doctor", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["ok"] is True
    assert report["identity"]["username"] == "alice"
    assert report["identity"]["org_role"] == "admin"
    assert [f["name"] for f in report["features"]] == FEATURES
    assert all(f["state"] == "ready" and not f["server_lacks"] and not f["role_limits"]
               for f in report["features"])
    assert report["schema"]["missing"] == {} and report["schema"]["checked"] > 300
    assert report["scim"] == "available at /scim"
    assert report["audit_log"].startswith("/admin/audit_logs: available")
    assert report["server_features"]["ARTIFACT_REGISTRY_SEARCH"] is True
    assert report["requests"] <= 15
    assert not any(form in r.out + r.err for form in secret_forms(key_of("alice")))


@pytest.mark.parametrize("user", ["bob", "carol", "victor"])
def test_role_limits_are_listed_apart_and_do_not_fail(home, cli, sandbox, monkeypatch,
                                                      user: str) -> None:
    as_user(monkeypatch, sandbox.base_url, user)
    r = cli("doctor", "--json")
    assert r.code == 0, r.err  # the server has everything: role limits are not failures
    report = json.loads(r.out)
    features = {f["name"]: f for f in report["features"]}
    assert all(not f["server_lacks"] and f["state"] == "ready" for f in features.values())
    assert "SCIM is for org admins" in features["Access"]["role_limits"][0]
    assert features["Audit"]["role_limits"] == ["the audit log is for org admins"]
    assert report["scim"].startswith(f"not for your role ({user})")
    text = cli("doctor")
    assert text.code == 0
    assert "your role: people, org roles and seats are not listed" in text.out
    assert "nothing written" in text.out


def test_the_human_report_names_each_check(home, cli, live) -> None:
    r = cli("doctor")
    assert r.code == 0, r.err
    for line in ("server ", "key        alice @ inference-systems (org admin)", "SCIM ",
                 "audit log ", "all present", "Explorer     ready"):
        assert line in r.out, r.out


def test_a_wrong_key_is_exit_3(home, cli, sandbox, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    r = cli("doctor")
    assert r.code == 3 and len(r.err_lines) == 1, r.err


def test_an_unreachable_server_is_exit_7(home, cli, monkeypatch) -> None:
    home.write_config("[network]\nbackoff_base_s = 0.01\ngive_up_after_s = 1.0\n")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connections are refused
    as_user(monkeypatch, f"http://127.0.0.1:{port}", "alice")
    r = cli("doctor")
    assert r.code == 7 and len(r.err_lines) == 1, r.err


async def test_what_the_server_lacks_is_found_and_named_with_its_feature(sandbox) -> None:
    """A document asking a field, an argument and an input field the server does not have
    (what an older W&B would lack): each is found by `__type`, and its feature degrades."""
    from wbadmin.core.doctor import _apply_schema

    documents = {
        "wbadmin.core.quotas.wire.OLDER": 'query Q { entity(name: "ml-infra") { '
        'projects(first: 1, since: 3) { edges { node { name burnRate } } } } }',
        "wbadmin.core.access.changes.OLDER": 'mutation M { createServiceAccount(input: '
        '{description: "x", entityName: "y", colour: "red"}) { user { id } } }',
    }
    async with Client(sandbox.base_url, key_of("alice"), scim_username="alice") as client:
        found = await check_schema(client, documents)
    assert set(found.missing) == {"Entity.projects(since:)", "Project.burnRate",
                                  "CreateServiceAccountInput.colour"}
    features = {name: Feature(name) for name in FEATURES}
    _apply_schema(found, features)
    # An argument with no way around it: the reads need it. A scalar field: left out. An
    # input field of a mutation: the changes that need it are refused.
    assert features["Quotas"].server_lacks == [
        "the server has no Entity.projects(since:): the reads that use it cannot be made",
        "the server has no Project.burnRate: wbadmin leaves it out of its reads and shows it "
        "as unknown"]
    assert features["Quotas"].state == "unavailable"
    assert features["Access"].server_lacks == [
        "the server has no CreateServiceAccountInput.colour: changes that need it are refused "
        "before anything is sent"]
    assert features["Explorer"].server_lacks == []


@pytest.fixture
def login_page():
    """A proxy's login page: every request answered 200 with HTML."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _page(self) -> None:
            body = b"<html><body><h1>Sign in to Corp SSO</h1></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _page

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_server_that_is_not_wandb_is_one_line_exit_8(home, cli, monkeypatch,
                                                       login_page: str) -> None:
    as_user(monkeypatch, login_page, "alice")
    r = cli("doctor")
    assert r.code == 8, r.err
    assert len(r.err_lines) == 1 and login_page in r.err
    assert "an HTML page ('Sign in to Corp SSO')" in r.err
