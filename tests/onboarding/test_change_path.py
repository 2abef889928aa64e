"""Onboarding on the core change path, as `wbadmin onboard` runs it over real HTTP: the plan is
W&B's (a cache that already looks right is not trusted alone), one writer per org, and a
walkthrough is saved only once its apply starts."""

from __future__ import annotations

import json

from tests.access.test_change_path import role_in_wandb
from tests.conftest import org_lock_held_elsewhere


def remove_behind_our_back(db, team: str, username: str) -> None:
    """W&B's UI took the person out of the team: the cache still has them."""
    with db.transaction() as conn:
        conn.execute("DELETE FROM team_members WHERE team_id = (SELECT id FROM entities WHERE "
                     "name = ?) AND user_id = (SELECT id FROM users WHERE username = ?)",
                     (team, username))


def test_a_hire_the_cache_shows_done_is_planned_from_wandb(cli, live, sandbox_db) -> None:
    hire = ("onboard", "hire", "ml-researcher", "--user", "carol", "--team",
            "search-relevance", "--yes")
    assert cli(*hire).code == 0  # the cache now shows her in the team
    remove_behind_our_back(sandbox_db, "search-relevance", "carol")
    r = cli(*hire)
    assert r.code == 0, r.err
    assert "search-relevance" in r.out and "nothing left to change" not in r.out
    assert role_in_wandb(sandbox_db, "search-relevance", "carol") == "member"
    again = cli(*hire)
    assert again.code == 0 and "nothing left to change" in again.out, again.out
    assert json.loads(cli("onboard", "resume", "--json").out) == []


def test_a_second_writer_with_no_wait_exits_6_and_leaves_no_walkthrough(cli, live,
                                                                        sandbox_db) -> None:
    assert cli("sync").code == 0
    with org_lock_held_elsewhere(live) as pid:
        r = cli("onboard", "hire", "ml-researcher", "--user", "carol", "--team",
                "search-relevance", "--yes", "--no-wait")
    assert r.code == 6, r.err
    assert f"pid {pid}" in r.err and len(r.err_lines) == 1
    assert role_in_wandb(sandbox_db, "search-relevance", "carol") is None
    assert json.loads(cli("onboard", "resume", "--json").out) == []


def test_read_only_refuses_onboarding_and_keeps_nothing(cli, live, sandbox_db) -> None:
    assert cli("sync").code == 0
    r = cli("onboard", "team", "research-team", "--name", "ro-team", "--admin", "bob",
            "--yes", "--read-only")
    assert r.code == 4 and "read-only" in r.err and len(r.err_lines) == 1, r.err
    assert sandbox_db.scalar("SELECT COUNT(*) FROM entities WHERE name = 'ro-team'") == 0
    assert json.loads(cli("onboard", "resume", "--json").out) == []
