"""Live everywhere: a change another process writes to the cache or the journal file reaches
the screen within WATCH_S (SQLite's data_version), and a change applied on one screen shows on
the others when they come back."""

from __future__ import annotations

import subprocess
import sys

from tests.tui.conftest import make_app, settle
from wbadmin.tui.app import WATCH_S
from wbadmin.tui.widgets.org_tree import OrgTree


def team_label(app, team: str) -> str:
    tree = app.screen.query_one(OrgTree)
    node = next(n for n in tree.root.children if n.data.kind == "team" and n.data.team == team)
    return " ".join(str(node.label).split())


def another_process(db: str, sql: str) -> None:
    subprocess.run([sys.executable, "-c", "import sqlite3, sys\n"
                    "c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()",
                    db, sql], check=True, timeout=30)


def new_members(n: int) -> str:
    """SQL that adds `n` people to vision-research, as a sync in another process would."""
    return ("WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < "
            f"{n}) INSERT INTO team_members (team, username, role, account_type, seq, "
            "fetched_at) SELECT 'vision-research', 'elsewhere-' || i, 'member', 'USER', "
            "1000 + i, 0 FROM k")


# How long a test waits for what the watcher (every WATCH_S) brings: generous, because a
# loaded machine (two test workers and more) stretches every frame; it returns at once.
LIVE_WAIT_S = max(15.0, WATCH_S * 10)


async def wait_until(pilot, condition, seconds: float) -> bool:
    for _ in range(int(seconds / 0.05)):
        await pilot.pause(0.05)
        if condition():
            return True
    return False


async def test_a_cache_change_by_another_process_reaches_the_explorer() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        before = team_label(app, "vision-research")
        assert before.startswith("vision-research 7")
        another_process(str(app.session.cache.path),
                        new_members(5))
        assert await wait_until(
            pilot, lambda: team_label(app, "vision-research").startswith("vision-research 12"),
            LIVE_WAIT_S), team_label(app, "vision-research")


async def test_a_journal_entry_by_another_process_reaches_the_journal_screen() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.switch_mode("journal")
        await pilot.pause()
        journal = app.screen
        assert journal.entries == []
        another_process(str(app.session.journal.path),
                        "INSERT INTO entries (plan_id, plan_title, seq, created_at, actor, "
                        "profile, kind, target, via, before, after, params, status, result, "
                        "reversible) VALUES ('p', 'elsewhere', 0, 1, 'alice', 'sandbox', "
                        "'team.set_role', 'ml-infra/bob', 'SCIM', '{}', '{}', '{}', "
                        "'applied', 'done', 0)")
        assert await wait_until(pilot, lambda: len(journal.entries) == 1, LIVE_WAIT_S)


async def test_a_change_on_the_access_screen_shows_in_the_explorer_on_return() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        assert team_label(app, "vision-research").startswith("vision-research 7")
        app.switch_mode("access")
        await pilot.pause()
        # What the change path does after an apply elsewhere: the cache moved, subscribers
        # are told (here by a refresh of the team, as the path would).
        await app.session.syncer().refresh_team("vision-research")
        seen = app.generation
        another_process(str(app.session.cache.path),
                        new_members(3))
        assert await wait_until(pilot, lambda: app.generation > seen, LIVE_WAIT_S)
        app.switch_mode("explorer")
        await pilot.pause()
        assert team_label(app, "vision-research").startswith("vision-research 10")


async def test_a_person_added_by_another_process_reaches_the_access_screen_while_open() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.switch_mode("access")
        await settle(app, pilot)
        access = app.screen
        before = access.matching
        another_process(str(app.session.cache.path),
                        "INSERT INTO users (username, name, email, org_role, active, seat, "
                        "fetched_at) VALUES ('zz.elsewhere', 'Zed Elsewhere', "
                        "'zz@example.com', 'member', 1, 'full', 0)")
        assert await wait_until(pilot, lambda: access.matching == before + 1, LIVE_WAIT_S)
        assert "zz.elsewhere" in [p.username for p in access.rows]


async def test_the_quotas_screen_follows_usage_written_by_another_process() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.switch_mode("quotas")
        await settle(app, pilot)
        quotas = app.screen

        def used() -> float:
            return next(t for t in quotas.rows if t.team == "vision-research").gpu_hours.used

        assert used() > 0
        seen = app.generation
        another_process(str(app.session.cache.path),
                        "UPDATE quota_team_daily SET gpu_seconds = 0 "
                        "WHERE team = 'vision-research'")
        another_process(str(app.session.cache.path),
                        "UPDATE quota_runs SET gpus = 0 WHERE team = 'vision-research'")
        assert await wait_until(pilot, lambda: app.generation > seen, LIVE_WAIT_S)
        assert await wait_until(pilot, lambda: used() == 0, LIVE_WAIT_S), used()


async def test_an_org_sync_stopped_by_the_audit_cap_says_so(monkeypatch) -> None:
    from wbadmin.core import audit

    # Pages of one entry and a cap of one: the first window holding two entries stops the
    # read (invite ages are read after the tree is shown, in the background).
    monkeypatch.setattr(audit, "PAGE_SIZE", 1)
    monkeypatch.setattr(audit, "MAX_ENTRIES", 1)
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        notes = [str(n.message) for n in app._notifications]
    assert any("audit log was read only up to" in n and "invite_max_age_days" in n
               for n in notes), notes
