"""`wbadmin login | logout | whoami`: keys verified against the sandbox, kept in the keyring."""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import key_of
from wbadmin.core.credentials import SERVICE

from .conftest import files_under


@pytest.fixture
def base_url(sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """The default profile points at the sandbox; no key anywhere yet."""
    monkeypatch.setenv("WANDB_BASE_URL", sandbox.base_url)
    return sandbox.base_url


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_login_reads_the_key_from_stdin_verifies_and_stores_it(
        base_url, monkeypatch, memory_keyring, home, cli) -> None:
    stdin(monkeypatch, key_of("bob") + "\n")
    r = cli("login")
    assert r.code == 0, r.err
    assert f"signed in to {base_url} as bob (profile default)" in r.out
    assert memory_keyring.store == {(SERVICE, "default"): key_of("bob")}
    # No key file anywhere: only the OS keyring holds it.
    for path in files_under(home.root):
        assert key_of("bob").encode() not in path.read_bytes(), path
    me = json.loads(cli("whoami", "--json").out)
    assert me["username"] == "bob" and me["key_source"] == "keyring"
    assert me["org_role"] is None  # bob is not an org admin: no SCIM


def test_login_to_a_named_profile_then_logout(base_url, monkeypatch, memory_keyring, home,
                                              cli) -> None:
    home.write_config(f'[profiles.lab]\nbase_url = "{base_url}"\n')
    monkeypatch.delenv("WANDB_BASE_URL")
    stdin(monkeypatch, key_of("alice"))
    assert cli("login", "--profile", "lab").code == 0
    me = json.loads(cli("whoami", "--profile", "lab", "--json").out)
    assert (me["profile"], me["username"], me["org_role"]) == ("lab", "alice", "admin")
    assert cli("teams", "--profile", "lab").code == 0
    r = cli("logout", "--profile", "lab")
    assert r.code == 0 and "deleted the API key of profile lab" in r.out
    assert memory_keyring.store == {}
    assert "no API key of profile lab" in cli("logout", "--profile", "lab").out
    r = cli("whoami", "--profile", "lab")
    assert r.code == 3 and "wbadmin login --profile lab" in r.err


def test_login_with_a_key_the_server_refuses_exits_3_and_stores_nothing(
        base_url, monkeypatch, memory_keyring, cli) -> None:
    wrong = "f" * 40
    stdin(monkeypatch, wrong)
    r = cli("login")
    assert r.code == 3
    assert len(r.err_lines) == 1 and wrong not in r.err + r.out
    assert memory_keyring.store == {}


def test_login_with_a_malformed_key_exits_3_before_any_request(base_url, monkeypatch,
                                                              memory_keyring, cli) -> None:
    stdin(monkeypatch, "not a key")
    r = cli("login")
    assert r.code == 3 and "not a valid W&B API key" in r.err and "not a key" not in r.err
    assert memory_keyring.store == {}


def test_login_with_no_key_on_stdin_is_a_usage_error(base_url, monkeypatch, cli) -> None:
    stdin(monkeypatch, "")
    r = cli("login")
    assert r.code == 2 and "no API key given" in r.err


def test_login_without_a_keyring_explains_and_writes_no_file(base_url, monkeypatch, no_keyring,
                                                             home, cli) -> None:
    stdin(monkeypatch, key_of("alice"))
    r = cli("login")
    assert r.code == 3
    assert len(r.err_lines) == 1
    assert "No OS keyring is available" in r.err and "WANDB_API_KEY" in r.err
    assert "wandb login" in r.err
    for path in files_under(home.root):
        assert key_of("alice").encode() not in path.read_bytes(), path
    assert cli("logout").code == 3


def test_login_to_the_embedded_sandbox_is_refused(cli) -> None:
    r = cli("login", "--profile", "sandbox")
    assert r.code == 2 and "sandbox keys" in r.err


def test_login_with_an_unknown_profile_is_a_usage_error(cli) -> None:
    r = cli("login", "--profile", "nope")
    assert r.code == 2 and "Unknown profile" in r.err
