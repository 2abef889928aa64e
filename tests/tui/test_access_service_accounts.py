"""The Access screen's service-account findings in the TUI (issue 18): the app reads what W&B
tells of the service accounts after the tree is shown, so an org admin's findings are judged,
not "not read yet" (which `wbadmin sa list --refresh` would otherwise be needed for); a team
admin's stay "not visible to you"."""

from __future__ import annotations

from .conftest import make_app, settle


async def test_an_org_admin_sees_the_service_account_findings_judged() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        found = [f for f in app.screen.found if "service-account" in f.id]
        assert found, [f.id for f in app.screen.found]
        for finding in found:
            assert "not read yet" not in finding.hidden, finding
        assert app.session.cache.scalar("SELECT keys_readable FROM sa_read") == 1


async def test_a_team_admin_is_told_what_is_not_visible() -> None:
    app = make_app(user="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        found = {f.id: f for f in app.screen.found}
        assert all("not read yet" not in f.hidden for f in found.values())
