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
