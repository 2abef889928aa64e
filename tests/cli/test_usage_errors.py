"""A usage error is said with the usage of the command that was typed (not the top level's),
exit 2, and changes nothing."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("args, usage", [
    (["teams", "--bogus"], "usage: wbadmin teams "),
    (["access", "set-role", "ml-infra", "bob", "admin", "--bogus"],
     "usage: wbadmin access set-role "),
    (["promote", "approve", "a/b/c:v1", "--colour"], "usage: wbadmin promote approve "),
    (["onboard", "hire", "auditor", "--user", "x", "--nope"], "usage: wbadmin onboard hire "),
])
def test_an_unknown_flag_shows_the_commands_own_usage(cli, args, usage) -> None:
    r = cli(*args)
    assert r.code == 2
    assert r.err.startswith(usage), r.err
    assert f"error: unrecognized arguments: {args[-1]}" in r.err


def test_an_unknown_top_level_flag_shows_the_top_level_usage(cli) -> None:
    r = cli("--bogus")
    assert r.code == 2 and r.err.startswith("usage: wbadmin [-h]")


@pytest.mark.parametrize("size", ["160", "10x5", "wide"])
def test_a_bad_screenshot_size_says_what_a_size_is(cli, size, tmp_path) -> None:
    out = tmp_path / "shot.svg"
    r = cli("screenshot", "explorer", str(out), "--size", size)
    assert r.code == 2 and "usage: wbadmin screenshot " in r.err
    assert "give COLSxROWS, at least 40x12, e.g. 160x48" in r.err
    assert not out.exists()
