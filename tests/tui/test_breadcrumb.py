"""The breadcrumb always names what the pane shows, whatever was visited elsewhere."""

from __future__ import annotations

from tests.tui.conftest import make_app, settle
from wbadmin.tui.widgets.header import ShellHeader


def crumbs(app) -> tuple[str, ...]:
    return app.screen.query_one(ShellHeader).crumbs


async def test_explorer_crumbs_name_its_pane_after_a_person_was_seen_on_access() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        app.run_jump(":project data-science-nlp/rag-pipeline-v2")
        await settle(app, pilot)
        shown = app.screen.detail.location
        assert shown is not None and shown.kind == "project"
        await pilot.press("2")  # Access: a person is highlighted, and visited
        await settle(app, pilot)
        person = app.screen.selected()
        assert person is not None
        assert crumbs(app)[-2:] == ("access", person.username)
        await pilot.press("down")
        await pilot.pause()
        moved = app.screen.selected()
        assert crumbs(app)[-1] == moved.username != person.username
        await pilot.press("1")  # back: the pane still shows the project, and so does the crumb
        await settle(app, pilot)
        assert app.screen.detail.location == shown
        assert crumbs(app)[1:] == ("data-science-nlp", "rag-pipeline-v2")
        for _ in range(2):  # again, now that nothing is left to refresh on the way
            await pilot.press("2")
            await settle(app, pilot)
            await pilot.press("down")
            await pilot.pause()
            await pilot.press("1")
            await settle(app, pilot)
            assert app.screen.detail.location == shown
            assert crumbs(app)[1:] == ("data-science-nlp", "rag-pipeline-v2")
