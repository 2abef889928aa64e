"""With no credentials wbadmin uses the embedded sandbox; `wbadmin cache info | clear`."""

from __future__ import annotations

import json

from .conftest import cache_file

NOTICE = "wbadmin: no W&B credentials found: using the embedded sandbox (demo org)"


def test_no_credentials_uses_the_embedded_sandbox_and_says_so(home, cli) -> None:
    r = cli("teams", "--json")
    assert r.code == 0, r.err
    assert r.err_lines[0] == NOTICE
    assert len(json.loads(r.out)) == 9
    # The sandbox profile's cache is in the cache dir; the sandbox state in the data dir.
    assert cache_file("sandbox").is_relative_to(home.cache) and cache_file("sandbox").exists()
    assert (home.data / "wbadmin" / "sandbox.sqlite3").exists()
    me = json.loads(cli("whoami", "--json").out)
    assert (me["profile"], me["mode"], me["username"], me["key_source"]) == (
        "sandbox", "SANDBOX", "alice", "sandbox")
    assert me["org_role"] == "admin"
    # Read again from the cache (no sandbox start needed), then offline.
    assert "data from the cache" in cli("members", "ml-infra").err
    offline = cli("users", "--offline", "--filter", "alice", "--json")
    assert offline.code == 0 and json.loads(offline.out)[0]["username"] == "alice"


def test_sandbox_flag_forces_the_sandbox_even_with_credentials(live, cli) -> None:
    r = cli("whoami", "--sandbox", "--json")
    assert r.code == 0
    assert "using the embedded sandbox" in r.err
    assert json.loads(r.out)["profile"] == "sandbox"
    assert json.loads(r.out)["base_url"] != live
    conflict = cli("teams", "--sandbox", "--profile", "default")
    assert conflict.code == 2 and "contradict" in conflict.err


def test_cache_info_and_clear(live, cli) -> None:
    empty = json.loads(cli("cache", "info", "--json").out)
    assert empty["profile"] == "default" and empty["synced_at"] is None
    assert cli("sync").code == 0
    info = json.loads(cli("cache", "info", "--json").out)
    assert info["org"] == "inference-systems" and info["base_url"] == live
    assert info["rows"]["teams"] == 9 and info["size_bytes"] > 0 and info["age_seconds"] < 60
    table = cli("cache", "info")
    assert "org:       inference-systems" in table.out and "9 teams" in table.out
    cleared = cli("cache", "clear")
    assert cleared.code == 0 and "cleared the cache of profile default" in cleared.out
    assert json.loads(cli("cache", "info", "--json").out)["rows"]["teams"] == 0
    assert cli("teams", "--offline").code == 7


def test_cache_needs_a_subcommand(cli) -> None:
    assert cli("cache").code == 2
