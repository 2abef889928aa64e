"""A person's API keys on the Access screen's person detail: by id to an org admin (the
service-account read the app makes after the tree brings them); a team admin's list holds no
person (SCIM is org admins'), and a service account's detail no key line (its keys are the
service accounts' view's)."""

from __future__ import annotations

from textual.widgets import Static

from wbadmin.core.access import service_accounts as sa

from .conftest import make_app, settle


def detail_text(app) -> str:
    return str(app.screen.query_one("#person-detail", Static).render())


async def test_an_org_admin_sees_the_highlighted_persons_keys() -> None:
    app = make_app(user="alice")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        person = app.screen.selected()
        assert person is not None
        keys = sa.person_keys(app.session.cache, person.username)
        assert keys, person.username  # the read after the tree brought them
        text = detail_text(app)
        assert f"API keys: {len(keys)}" in text
        assert all(k.id in text for k in keys)


async def test_a_team_admin_lists_no_person_and_no_key() -> None:
    """People are listed through SCIM (org admins'): bob's list is his teams' service
    accounts, whose detail has no key line (their keys are the service accounts' to show)."""
    app = make_app(user="bob")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        assert app.screen.rows and all(p.service_account for p in app.screen.rows)
        assert "API keys" not in detail_text(app)
        assert app.session.cache.scalar("SELECT COUNT(*) FROM person_keys") == 0
