"""The one change path, end to end through the CLI against the sandbox over HTTP: plans are
made from W&B (a cache that looks right is not trusted), a crash's pending entries are
settled before planning and counted once, and two applies at once on one machine do not both
write (the second waits, or with --no-wait exits 6 naming the first)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import key_of, org_lock_held_elsewhere
from wbadmin.core import paths


def role_in_wandb(db, team: str, username: str) -> str | None:
    return db.scalar("SELECT m.role FROM team_members m JOIN users u ON u.id = m.user_id "
                     "JOIN entities e ON e.id = m.team_id WHERE e.name = ? AND u.username = ?",
                     (team, username))


def set_role_behind_our_back(db, team: str, username: str, role: str) -> None:
    """A change made outside wbadmin (W&B's UI, another profile): the cache does not know."""
    with db.transaction() as conn:
        conn.execute("UPDATE team_members SET role = ? WHERE team_id = (SELECT id FROM entities "
                     "WHERE name = ?) AND user_id = (SELECT id FROM users WHERE username = ?)",
                     (role, team, username))


def journal(cli) -> list[dict]:
    return [json.loads(line) for line in cli("journal", "--format", "jsonl").out.splitlines()
            if line.strip()]


def test_a_role_changed_outside_is_planned_from_wandb_not_the_cache(live, cli, sandbox_db
                                                                    ) -> None:
    assert cli("sync").code == 0  # the cache: dana.levi is a member of ml-infra
    set_role_behind_our_back(sandbox_db, "ml-infra", "dana.levi", "admin")
    r = cli("access", "set-role", "ml-infra", "dana.levi", "member", "--yes")
    assert r.code == 0, r.err
    assert "nothing to change" not in r.out
    assert "admin → member" in r.out  # the plan shows W&B's state, not the cache's
    assert role_in_wandb(sandbox_db, "ml-infra", "dana.levi") == "member"
    # And the other way round: W&B already shows it, though the cache says otherwise.
    set_role_behind_our_back(sandbox_db, "ml-infra", "ivan.petrov", "viewer")
    r = cli("access", "set-role", "ml-infra", "ivan.petrov", "viewer", "--yes")
    assert r.code == 0 and "nothing to change: W&B already shows this" in r.out
    assert [e["target"] for e in journal(cli)] == ["ml-infra/dana.levi"]


def test_a_csv_is_planned_again_from_wandb(live, cli, sandbox_db, tmp_path: Path) -> None:
    assert cli("sync").code == 0
    set_role_behind_our_back(sandbox_db, "ml-infra", "noah.okonkwo", "viewer")
    rows = tmp_path / "rows.csv"
    email = sandbox_db.scalar("SELECT email FROM users WHERE username = 'noah.okonkwo'")
    rows.write_text(f"email,team,role\n{email},ml-infra,member\n")
    r = cli("access", "apply", str(rows), "--yes")
    assert r.code == 0, r.err
    assert "viewer → member" in r.out
    assert role_in_wandb(sandbox_db, "ml-infra", "noah.okonkwo") == "member"


def test_a_second_writer_with_no_wait_exits_6_naming_the_first(live, cli, home) -> None:
    assert cli("sync").code == 0
    with org_lock_held_elsewhere(live) as pid:
        r = cli("access", "set-role", "ml-infra", "dana.levi", "admin", "--yes", "--no-wait")
    assert r.code == 6, r.err
    assert f"pid {pid}" in r.err and "applying changes to org inference-systems" in r.err
    assert "nothing changed" in r.err and len(r.err_lines) == 1
    assert journal(cli) == []
    assert cli("access", "set-role", "ml-infra", "dana.levi", "admin", "--yes",
               "--no-wait").code == 0  # the holder is gone: the lock went with it


def _wbadmin(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "wbadmin", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def child_env(live, home) -> dict[str, str]:
    env = dict(os.environ)
    env.update(WANDB_BASE_URL=live, WANDB_API_KEY=key_of("alice"))
    return env


def csv_of(db, tmp_path: Path, n: int, name: str = "rows.csv") -> tuple[Path, list]:
    pairs = db.query(
        "SELECT u.email, u.username, e.name FROM users u, entities e WHERE e.kind = 'team' "
        "AND u.account_type = 'USER' AND u.active = 1 AND u.org_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM team_members m WHERE m.team_id = e.id AND m.user_id = u.id) "
        "ORDER BY e.name, u.username LIMIT ?", (n,))
    path = tmp_path / name
    path.write_text("email,team,role\n" + "".join(f"{p[0]},{p[2]},member\n" for p in pairs))
    return path, [(p[2], p[1]) for p in pairs]


def test_two_applies_at_once_write_each_change_once(live, cli, sandbox, sandbox_db,
                                                    child_env, tmp_path: Path) -> None:
    assert cli("sync").code == 0
    rows, targets = csv_of(sandbox_db, tmp_path, 40)
    sandbox.faults.update(latency_ms=15)  # long enough for the two to overlap
    first = _wbadmin("access", "apply", str(rows), "--yes", env=child_env)
    second = _wbadmin("access", "apply", str(rows), "--yes", env=child_env)
    outs = [p.communicate(timeout=240) for p in (first, second)]
    sandbox.faults.reset()
    assert first.returncode == 0 and second.returncode == 0, outs
    assert all(role_in_wandb(sandbox_db, t, u) == "member" for t, u in targets)
    entries = journal(cli)
    assert len(entries) == 40 and len({e["target"] for e in entries}) == 40
    assert any("nothing to change" in out for out, _ in outs)  # the later one found it done
    assert any("waiting for pid" in err for _, err in outs) or \
        any("nothing to change" in out for out, _ in outs)


def test_kill_9_mid_apply_is_settled_once_by_the_next_apply(live, cli, sandbox, sandbox_db,
                                                            child_env, tmp_path: Path) -> None:
    assert cli("sync").code == 0
    rows, targets = csv_of(sandbox_db, tmp_path, 30)
    sandbox.faults.update(latency_ms=40)
    child = _wbadmin("access", "apply", str(rows), "--yes", env=child_env)
    journal_file = paths.journal_path("default")  # the child's: same environment
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once some, not all, changes are journaled
        if journal_file.exists():
            with contextlib.closing(sqlite3.connect(journal_file)) as conn:
                try:
                    done = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
                except sqlite3.OperationalError:  # not created yet
                    done = 0
            if done >= 5:
                break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    sandbox.faults.reset()
    before = journal(cli)
    assert 5 <= len(before) < 30
    assert any(e["status"] == "pending" for e in before)  # the one it was writing

    r = cli("access", "apply", str(rows), "--yes")  # the rerun settles, then finishes
    assert r.code == 0, r.err
    assert "left pending by an interrupted apply" in r.err
    after = journal(cli)
    assert not [e for e in after if e["status"] == "pending"]
    assert all(role_in_wandb(sandbox_db, t, u) == "member" for t, u in targets)
    applied = [e for e in after if e["status"] == "applied"]
    assert len({e["target"] for e in applied}) == len(applied) == 30  # each counted once


def test_an_org_viewer_plan_names_what_wandb_does_besides(service) -> None:
    """Org role viewer is W&B's member with a viewer seat, a viewer in every team, and a
    registry viewer: the plan says all of it before confirmation."""
    review = service.review(service.set_org_role("noah.okonkwo", "viewer"))
    text = "\n".join(review.notes)
    assert "noah.okonkwo's seat becomes viewer (now full)" in text
    assert "W&B lowers noah.okonkwo's team roles: ml-infra member → viewer" in text
    assert "W&B grants noah.okonkwo the viewer role in registr" in text
    # A member with a viewer seat already *is* an org viewer: nothing to change.
    viewers = [r[0] for r in service.cache.query(
        "SELECT username FROM users WHERE org_role = 'member' AND seat = 'viewer'")]
    assert viewers
    assert service.set_org_role(viewers[0], "viewer").is_empty


def test_a_removal_names_the_registry_access_it_takes(service) -> None:
    """data-science-nlp is a member of the dataset registry: whoever leaves the team loses
    that access (unless they hold it another way), and the plan says so."""
    cache = service.cache
    members = [r[0] for r in cache.query(
        "SELECT username FROM team_members WHERE team = 'data-science-nlp' AND username NOT IN "
        "(SELECT name FROM registry_members WHERE registry = 'dataset' AND kind = 'user') "
        "AND username NOT IN (SELECT m.username FROM team_members m JOIN registry_members r "
        "ON r.kind = 'team' AND r.name = m.team AND r.registry = 'dataset' "
        "WHERE m.team != 'data-science-nlp')")]
    assert members
    review = service.review(service.remove_from_team("data-science-nlp", members[0]))
    assert review.notes == [f"{members[0]} loses the registry access they had through "
                            "data-science-nlp: dataset (member)"]
    # With a dataset role of their own they keep it: nothing to say.
    with cache.transaction() as conn:
        conn.execute("INSERT INTO registry_members (registry, kind, name, role, fetched_at) "
                     "VALUES ('dataset', 'user', ?, 'viewer', 0)", (members[0],))
    assert service.review(service.remove_from_team("data-science-nlp", members[0])).notes == []


def test_a_multi_tenant_deactivation_names_every_team_and_registry_it_takes(
        sandbox, sandbox_db) -> None:
    """On Multi-tenant W&B a deactivation removes the person from the org: the plan lists the
    teams and registry roles that go with it."""
    from tests.access.conftest import synced_cache
    from wbadmin.core.access import AccessService

    with sandbox_db.transaction() as conn:
        conn.execute("UPDATE orgs SET deployment = 'multi_tenant'")
    service = AccessService(synced_cache(sandbox.base_url))
    assert service.deployment == "multi_tenant"
    who = "carol"
    teams = sorted(r[0] for r in service.cache.query(
        "SELECT team FROM team_members WHERE username = ?", (who,)))
    assert teams
    review = service.review(service.deactivate(who))
    assert f"W&B takes {who} out of every team: {', '.join(teams)}" in review.notes
