"""Credentials: discovery order (env, keyring by profile then host, netrc as `wandb login`
writes it), storing and deleting keys, the no-keyring message, and keeping keys out of text."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import logging
import pickle

import httpx
import pytest
from keyring.backends import chainer

from tests.conftest import key_of
from tests.core.conftest import Home, MemoryKeyring
from wbadmin.core.credentials import (
    SERVICE,
    CredentialsError,
    FoundKey,
    InvalidKeyError,
    KeyringUnavailableError,
    check_key,
    delete_key,
    find_key,
    store_key,
)
from wbadmin.core.redact import MASK, RedactFilter, Secret, redact
from wbadmin.core.settings import resolve_profile
from wbadmin.sandbox.server import SandboxServer

ENV_KEY = "e" * 40
RING_KEY = "local-" + "r" * 40
HOST_KEY = "h" * 41
NETRC_KEY = "n0_" + "n" * 40


def netrc_entry(machine: str, key: str, login: str = "user") -> str:
    # Exactly the lines `wandb login` (wbauth.write_netrc_auth) writes.
    return f"machine {machine}\n  login {login}\n  password {key}\n"


def found(profile_or_name) -> tuple[str, str] | None:
    result = find_key(profile_or_name)
    return None if result is None else (result.key.reveal(), result.source)


# ---- discovery ------------------------------------------------------------------------------

def test_nothing_anywhere(isolated_home: Home) -> None:
    assert find_key(resolve_profile(None, {})) is None
    assert find_key("default") is None


def test_env_key(isolated_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", f" {ENV_KEY}\n")
    result = find_key(resolve_profile(None, {}))
    assert result is not None
    assert (result.key.reveal(), result.source, result.where) == (ENV_KEY, "env", "WANDB_API_KEY")


def test_keyring_by_profile_name(isolated_home: Home, memory_keyring: MemoryKeyring) -> None:
    isolated_home.write_config('[profiles.saas]\nbase_url = "https://api.wandb.ai"\n')
    memory_keyring.set_password(SERVICE, "saas", RING_KEY)
    result = find_key(resolve_profile("saas", {}))
    assert result is not None and result.source == "keyring"
    assert result.key == RING_KEY and result.where == "keyring wbadmin/saas"
    assert find_key(resolve_profile(None, {})) is None  # another profile, another key


def test_keyring_by_host(isolated_home: Home, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password(SERVICE, "acme.wandb.io", HOST_KEY)
    profile = resolve_profile(None, {"base_url": "https://acme.wandb.io"})
    assert found(profile) == (HOST_KEY, "keyring")
    assert found("default") is None  # a bare name has no host to look up


def test_netrc_without_port(isolated_home: Home) -> None:
    isolated_home.netrc.write_text(netrc_entry("api.wandb.ai", NETRC_KEY))
    result = find_key(resolve_profile(None, {}))
    assert result is not None and (result.key.reveal(), result.source) == (NETRC_KEY, "netrc")
    assert result.where == f"{isolated_home.netrc} (machine api.wandb.ai)"


def test_netrc_with_port(isolated_home: Home) -> None:
    isolated_home.netrc.write_text(netrc_entry("127.0.0.1", "x" * 40)
                                   + netrc_entry("127.0.0.1:8765", NETRC_KEY))
    with_port = resolve_profile(None, {"base_url": "http://127.0.0.1:8765"})
    assert found(with_port) == (NETRC_KEY, "netrc")
    without_port = resolve_profile(None, {"base_url": "http://127.0.0.1"})
    assert found(without_port) == ("x" * 40, "netrc")
    other_port = resolve_profile(None, {"base_url": "http://127.0.0.1:9999"})
    assert found(other_port) is None


def test_netrc_written_by_the_wandb_sdk(isolated_home: Home) -> None:
    """The entry the real SDK's `wandb login` helper writes is the one we read."""
    from wandb.sdk.lib.wbauth.wbnetrc import write_netrc_auth

    write_netrc_auth(host="http://127.0.0.1:8765", api_key=NETRC_KEY)
    write_netrc_auth(host="https://acme.wandb.io", api_key=HOST_KEY)
    assert found(resolve_profile(None, {"base_url": "http://127.0.0.1:8765"})) == (
        NETRC_KEY, "netrc")
    assert found(resolve_profile(None, {"base_url": "https://acme.wandb.io/"})) == (
        HOST_KEY, "netrc")


def test_netrc_from_home_when_netrc_var_unset(isolated_home: Home,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETRC")
    (isolated_home.home / ".netrc").write_text(netrc_entry("api.wandb.ai", NETRC_KEY))
    assert found(resolve_profile(None, {})) == (NETRC_KEY, "netrc")


def test_netrc_forge_host_counts_for_saas(isolated_home: Home) -> None:
    # SDK 0.31's default host is CoreWeave Forge, which fronts api.wandb.ai.
    isolated_home.netrc.write_text(netrc_entry("api.forge.coreweave.com", NETRC_KEY))
    assert found(resolve_profile(None, {})) == (NETRC_KEY, "netrc")


def test_netrc_default_entry_is_not_used(isolated_home: Home) -> None:
    isolated_home.netrc.write_text(f"default login ftp password {'d' * 40}\n")
    assert find_key(resolve_profile(None, {})) is None


def test_broken_netrc_is_a_warning(isolated_home: Home, caplog: pytest.LogCaptureFixture) -> None:
    isolated_home.netrc.write_text("machine\n")
    with caplog.at_level(logging.WARNING):
        assert find_key(resolve_profile(None, {})) is None
    assert f"Ignoring netrc file {isolated_home.netrc}" in caplog.text


def test_discovery_order(isolated_home: Home, memory_keyring: MemoryKeyring,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """env > keyring (profile) > keyring (host) > netrc: remove the winner, the next shows."""
    profile = resolve_profile(None, {"base_url": "https://acme.wandb.io"})
    isolated_home.netrc.write_text(netrc_entry("acme.wandb.io", NETRC_KEY))
    memory_keyring.set_password(SERVICE, "acme.wandb.io", HOST_KEY)
    memory_keyring.set_password(SERVICE, "default", RING_KEY)
    monkeypatch.setenv("WANDB_API_KEY", ENV_KEY)
    assert found(profile) == (ENV_KEY, "env")
    monkeypatch.delenv("WANDB_API_KEY")
    assert found(profile) == (RING_KEY, "keyring")
    memory_keyring.delete_password(SERVICE, "default")
    assert found(profile) == (HOST_KEY, "keyring")
    memory_keyring.delete_password(SERVICE, "acme.wandb.io")
    assert found(profile) == (NETRC_KEY, "netrc")
    isolated_home.netrc.unlink()
    assert found(profile) is None


def test_found_key_authenticates_against_the_sandbox(isolated_home: Home,
                                                     sandbox: SandboxServer) -> None:
    """A netrc entry for the sandbox's host:port is found and signs in as its owner."""
    host = sandbox.base_url.split("://", 1)[1]
    isolated_home.netrc.write_text(netrc_entry(host, key_of("alice")))
    profile = resolve_profile("sandbox", {}).with_base_url(sandbox.base_url)
    result = find_key(profile)
    assert result is not None and result.source == "netrc"
    response = httpx.post(profile.graphql_url, json={"query": "{ viewer { username } }"},
                          auth=("api", result.key.reveal()), timeout=15)
    assert response.json()["data"]["viewer"]["username"] == "alice"
    # Forbidden twin: the key stored for another host does not apply here.
    isolated_home.netrc.write_text(netrc_entry("127.0.0.1:1", key_of("alice")))
    assert find_key(profile) is None


# ---- key format -----------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "problem"), [
    ("a" * 40, None),
    ("local-" + "a" * 40, None),
    ("prefix-" + "ab_-" * 10, None),
    (key_of("alice"), None),
    ("", "empty"),
    ("a" * 39, "40+ characters, has 39"),
    ("local-" + "a" * 39, "40+ characters, has 39"),
    ("a" * 39 + "!", "only contain"),
])
def test_key_format_matches_the_sdk(key: str, problem: str | None) -> None:
    from wandb.sdk.lib.wbauth.validation import check_api_key

    ours = check_key(key)
    assert (ours is None) == (problem is None) == (check_api_key(key) is None)
    if problem:
        assert problem in ours


def test_malformed_env_key_is_reported_without_the_key(isolated_home: Home,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "too-short-secret")
    with pytest.raises(InvalidKeyError) as caught:
        find_key("default")
    message = str(caught.value)
    assert "WANDB_API_KEY" in message and "40+ characters" in message
    assert "too-short-secret" not in message and "short-secret" not in message


def test_malformed_netrc_key_names_the_file(isolated_home: Home) -> None:
    isolated_home.netrc.write_text(netrc_entry("api.wandb.ai", "bad!key"))
    with pytest.raises(InvalidKeyError, match=r"machine api.wandb.ai") as caught:
        find_key(resolve_profile(None, {}))
    assert "bad!key" not in str(caught.value)


# ---- store and delete -----------------------------------------------------------------------

def test_store_find_delete(isolated_home: Home, memory_keyring: MemoryKeyring) -> None:
    store_key("default", Secret(RING_KEY))
    assert memory_keyring.store == {(SERVICE, "default"): RING_KEY}
    assert found(resolve_profile(None, {})) == (RING_KEY, "keyring")
    assert delete_key("default") is True
    assert delete_key("default") is False
    assert find_key(resolve_profile(None, {})) is None


def test_store_rejects_a_malformed_key(isolated_home: Home,
                                       memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(InvalidKeyError, match="40\\+ characters"):
        store_key("default", "abc")
    assert memory_keyring.store == {}


def _files_under(home: Home) -> set[str]:
    return {str(p) for p in home.root.rglob("*") if p.is_file()}


def test_no_keyring_says_what_to_do(isolated_home: Home, no_keyring: object) -> None:
    profile = resolve_profile(None, {"base_url": "https://acme.wandb.io"})
    before = _files_under(isolated_home)
    with pytest.raises(KeyringUnavailableError) as caught:
        store_key(profile, RING_KEY)
    message = str(caught.value)
    assert "\n" not in message and isinstance(caught.value, CredentialsError)
    assert "No OS keyring is available" in message
    assert "fail.Keyring" in message
    assert "WANDB_API_KEY" in message
    assert "`wandb login --host https://acme.wandb.io`" in message and "~/.netrc" in message
    assert "SecretService" in message and "keyrings.alt" in message
    assert RING_KEY not in message
    assert _files_under(isolated_home) == before  # no key file of our own, anywhere
    with pytest.raises(KeyringUnavailableError):
        delete_key(profile)


def test_no_keyring_still_finds_env_and_netrc(isolated_home: Home, no_keyring: object,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    isolated_home.netrc.write_text(netrc_entry("api.wandb.ai", NETRC_KEY))
    assert found(resolve_profile(None, {})) == (NETRC_KEY, "netrc")
    monkeypatch.setenv("WANDB_API_KEY", ENV_KEY)
    assert found(resolve_profile(None, {})) == (ENV_KEY, "env")


def test_empty_keyring_chain_counts_as_no_keyring(isolated_home: Home,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    previous = keyring.get_keyring()
    keyring.set_keyring(chainer.ChainerBackend())
    try:
        with pytest.raises(KeyringUnavailableError, match="ChainerBackend"):
            store_key("default", RING_KEY)
    finally:
        keyring.set_keyring(previous)


# ---- Secret and redaction -------------------------------------------------------------------

def test_secret_never_shows_itself() -> None:
    secret = Secret(RING_KEY)
    shown = [str(secret), repr(secret), format(secret), f"{secret}", f"{secret!r}",
             f"{secret:>60}", "%s" % secret, "%r" % (secret,),  # noqa: UP031
             str([secret]),
             repr({"key": secret}), repr(FoundKey(secret, "keyring", "keyring wbadmin/x"))]
    for text in shown:
        assert RING_KEY not in text and "rrrrrrrr" not in text
    assert str(secret) == MASK
    with pytest.raises(TypeError):
        json.dumps({"key": secret})
    assert RING_KEY not in json.dumps({"key": secret}, default=str)
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert secret.reveal() == RING_KEY


def test_secret_in_exception_text_does_not_leak() -> None:
    secret = Secret(RING_KEY)
    try:
        raise ValueError(f"request failed with key {secret}", secret)
    except ValueError as error:
        assert RING_KEY not in str(error) and RING_KEY not in repr(error)


def test_secret_compares_and_copies() -> None:
    secret = Secret(RING_KEY)
    assert secret == RING_KEY and secret == Secret(RING_KEY) and secret != HOST_KEY
    assert copy.deepcopy(secret) is secret
    as_dict = dataclasses.asdict(FoundKey(secret, "env", "WANDB_API_KEY"))
    assert as_dict["key"] is secret
    assert Secret(secret).reveal() == RING_KEY
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]


def test_redact_text() -> None:
    import base64

    token = base64.b64encode(f"api:{RING_KEY}".encode()).decode()
    text = f"key={RING_KEY} header=Authorization: Basic {token} other={HOST_KEY} x=ab"
    out = redact(text, [Secret(RING_KEY), HOST_KEY, "", "ab"])
    assert RING_KEY not in out and token not in out and HOST_KEY not in out
    assert out == f"key={MASK} header=Authorization: Basic {MASK} other={MASK} x=ab"


def test_redact_filter_on_a_logger(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("wbadmin.test.redact")
    redact_filter = RedactFilter([RING_KEY])
    logger.addFilter(redact_filter)
    try:
        with caplog.at_level(logging.DEBUG, logger="wbadmin.test.redact"):
            logger.info("using key %s for %s", RING_KEY, "acme")
            redact_filter.add(Secret(HOST_KEY))
            logger.warning(f"second key {HOST_KEY}")
            try:
                raise RuntimeError(f"boom {RING_KEY}")
            except RuntimeError:
                logger.exception("failed")
    finally:
        logger.removeFilter(redact_filter)
    assert RING_KEY not in caplog.text and HOST_KEY not in caplog.text
    assert f"using key {MASK} for acme" in caplog.text
    assert f"second key {MASK}" in caplog.text
    assert f"RuntimeError: boom {MASK}" in caplog.text
    assert len(caplog.records) == 3  # masked, never dropped


def test_redact_filter_on_a_handler_masks_live_secrets() -> None:
    secret = Secret("live-" + "s" * 40)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter())  # no list: every live Secret
    logger = logging.getLogger("wbadmin.test.redact.handler")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error("header Authorization: Basic api:%s", secret.reveal())
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert secret.reveal() not in stream.getvalue()
    assert MASK in stream.getvalue()
