"""`K` on a service account (Access, `v`): the rotation plan, confirmed, made through the
change path against the demo sandbox over real HTTP — the new key in a 0600 file, the old
one refused; with a grace period, the deletion the start offers once it is due; read-only
and non-managers get nothing."""

from __future__ import annotations

import stat

from textual.widgets import Input

from tests.access.test_key_rotation import signs_in_as
from tests.conftest import key_of
from wbadmin.core.journal import Journal
from wbadmin.tui.flows.key_rotation import offer_due_rotations
from wbadmin.tui.screens.plan import InputScreen, PlanScreen

from .conftest import make_app, settle, wait_for
from .test_access import choose
from .test_access_service_accounts import open_service_accounts


async def rotate_to_file(app, pilot, screen, account: str, path, grace: str) -> None:
    screen.table.move_cursor(row=[a.username for a in screen.accounts].index(account))
    await pilot.press("K")
    await pilot.pause()
    await choose(app, pilot, "file")
    assert isinstance(app.screen, InputScreen)
    app.screen.query_one(Input).value = str(path)
    await pilot.press("enter")
    await pilot.pause()
    await choose(app, pilot, grace)
    assert await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
    plan = app.screen.plan
    assert [c.kind for c in plan.changes] == ["sa-key-create", "sa-key-delete"]
    await pilot.press("tab", "enter")  # Cancel is focused: tab to Apply


async def test_K_rotates_a_service_accounts_key_into_a_file(tmp_path) -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        base_url = app.session.profile.base_url
        target = tmp_path / "ci.key"
        await rotate_to_file(app, pilot, screen, "ci-bot", target, "0")
        assert await wait_for(pilot, lambda: signs_in_as(base_url, key_of("ci-bot")) is None)
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert signs_in_as(base_url, target.read_text().strip()) == "ci-bot"
        # The key is on no screen: not in any notification or the screen's text.
        new = target.read_text().strip()
        assert all(new not in str(n.message) for n in app._notifications)
        await settle(app, pilot)
        assert new not in str(app.screen.query_one("#person-detail").render())


async def test_a_grace_period_deletion_is_offered_once_due(tmp_path) -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        base_url = app.session.profile.base_url
        target = tmp_path / "e.key"
        await rotate_to_file(app, pilot, screen, "eval-runner", target, "3600")
        assert await wait_for(pilot, lambda: target.exists())
        await settle(app, pilot)
        journal: Journal = app.session.journal
        assert await wait_for(pilot, lambda: len(journal.scheduled(
            app.session.profile.name)) == 1)
        old = key_of("eval-runner")
        assert signs_in_as(base_url, old) == "eval-runner"  # kept for its grace period
        offer_due_rotations(app)  # not due yet: nothing offered
        await pilot.pause()
        assert not isinstance(app.screen, PlanScreen)
        entry, = journal.scheduled(app.session.profile.name)
        journal._conn.execute("UPDATE entries SET due_at = ? WHERE id = ?",
                              (app.session.clock() - 1, entry.id))  # the hour has passed
        offer_due_rotations(app)  # as the start does
        assert await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert [c.target for c in app.screen.plan.changes] == [entry.target]
        await pilot.press("tab", "enter")
        assert await wait_for(pilot, lambda: signs_in_as(base_url, old) is None)
        assert signs_in_as(base_url, target.read_text().strip()) == "eval-runner"
        assert await wait_for(pilot, lambda: journal.get(entry.id).status == "applied")


async def test_K_does_nothing_read_only_or_on_a_person() -> None:
    app = make_app(user="alice", read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        assert screen.check_action("rotate_key", ()) is False
        await pilot.press("K")
        await pilot.pause()
        assert not isinstance(app.screen, (PlanScreen, InputScreen))
    app = make_app(user="carol")  # a member: manages no account
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        assert screen.check_action("rotate_key", ()) is False


async def test_f_on_a_key_age_finding_starts_the_rotation_of_its_first_account() -> None:
    from wbadmin.tui.screens.plan import ChoiceScreen

    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_service_accounts(app, pilot)
        row = next(i for i, f in enumerate(screen.found)
                   if f.id == "service-account-keys-unknown-age")
        first = screen.found[row].people[0]
        findings = screen.query_one("#findings")
        findings.focus()
        findings.move_cursor(row=row)
        await pilot.press("f")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert f"Rotate {first}'s key" in app.screen.title_text
