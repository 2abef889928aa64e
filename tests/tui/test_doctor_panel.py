"""The doctor panel, opened from the palette: the same report as `wbadmin doctor`."""

from __future__ import annotations

from tests.tui.conftest import make_app, settle
from wbadmin.tui.screens.doctor import DoctorScreen


def report_text(app) -> str:
    return str(app.screen.query_one("#doctor-report").content)


async def wait_for_report(app, pilot) -> str:
    for _ in range(200):
        await pilot.pause(0.05)
        if "requests, nothing written" in report_text(app) or "failed" in report_text(app):
            break
    return report_text(app)


async def test_the_palette_opens_the_doctor_and_it_reports_every_feature() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"doctor")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DoctorScreen)
        text = await wait_for_report(app, pilot)
        assert "alice @ inference-systems (org admin)" in text
        for feature in ("Explorer", "Access", "Promotions", "Quotas", "Onboarding",
                        "Org-as-code", "Audit", "Reports"):
            assert f"{feature}" in text
        assert "degraded" not in text and "unavailable" not in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DoctorScreen)


async def test_a_member_sees_their_role_limits_apart() -> None:
    app = make_app(user="carol")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.action_doctor()
        text = await wait_for_report(app, pilot)
        assert "your role: the audit log is for org admins" in text
        assert "server:" not in text
