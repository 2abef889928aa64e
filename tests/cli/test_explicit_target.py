"""The embedded sandbox opens only when nothing points at a server. If anything does — a
profile named, `default_profile`, WANDB_BASE_URL, a base URL in the config or in the SDK's
settings — and there is no key (or an empty one), wbadmin says so and exits 3, touching
nothing: it never answers about the demo org instead."""

from __future__ import annotations

import json

import pytest

from tests.conftest import key_of

WHAT_TO_DO = "run `wbadmin login"


@pytest.fixture
def pointed(home, monkeypatch, sandbox) -> str:
    monkeypatch.setenv("WANDB_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return sandbox.base_url


@pytest.mark.parametrize("empty_key", [False, True])
def test_a_base_url_without_a_key_is_exit_3_not_the_demo_org(pointed, cli, monkeypatch,
                                                             sandbox_db, empty_key) -> None:
    if empty_key:
        monkeypatch.setenv("WANDB_API_KEY", "")
    before = sandbox_db.scalar("SELECT COUNT(*) FROM team_members")
    for args in (["whoami"], ["teams", "--json"],
                 ["access", "set-role", "ml-infra", "carol", "admin", "--yes"]):
        r = cli(*args)
        assert r.code == 3, (args, r.err)
        assert len(r.err_lines) == 1
        assert f"no API key for {pointed} (chosen by WANDB_BASE_URL)" in r.err
        assert WHAT_TO_DO in r.err and "--sandbox" in r.err
        assert "sandbox (demo org)" not in r.err and r.out == ""
    assert sandbox_db.scalar("SELECT COUNT(*) FROM team_members") == before


def test_a_named_or_default_profile_without_a_key_is_exit_3(home, cli) -> None:
    home.write_config('[profiles.dedicated]\nbase_url = "https://acme.wandb.io"\n')
    r = cli("whoami", "--profile", "dedicated")
    assert r.code == 3 and "no API key for https://acme.wandb.io (chosen by --profile" in r.err
    assert "wbadmin login --profile dedicated" in r.err
    home.write_config('default_profile = "dedicated"\n'
                      '[profiles.dedicated]\nbase_url = "https://acme.wandb.io"\n')
    r = cli("teams")
    assert r.code == 3 and "chosen by default_profile" in r.err


def test_the_sdks_base_url_without_a_key_is_exit_3(home, cli) -> None:
    home.write_wandb_settings("[default]\nbase_url = https://acme.wandb.io\n")
    r = cli("whoami")
    assert r.code == 3 and "no API key for https://acme.wandb.io" in r.err
    assert "settings" in r.err


def test_nothing_pointing_elsewhere_opens_the_sandbox_and_says_so(home, cli) -> None:
    r = cli("whoami", "--json")
    assert r.code == 0
    assert "no W&B credentials found: using the embedded sandbox (demo org)" in r.err
    assert json.loads(r.out)["mode"] == "SANDBOX"


def test_sandbox_flag_opens_the_sandbox_whatever_points_elsewhere(pointed, cli) -> None:
    r = cli("whoami", "--sandbox", "--json")
    assert r.code == 0 and json.loads(r.out)["mode"] == "SANDBOX"
    assert "using the embedded sandbox" in r.err


def test_with_the_key_the_same_pointer_works(pointed, cli, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
    r = cli("whoami", "--json")
    assert r.code == 0 and json.loads(r.out)["mode"] == "LIVE"
