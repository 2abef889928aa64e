"""Pilot flows on the Explorer, as an admin would use it."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui.conftest import make_app, settle
from wbadmin.tui.locations import Location
from wbadmin.tui.screens.help import HelpScreen
from wbadmin.tui.widgets.detail import DetailPane
from wbadmin.tui.widgets.header import ShellHeader
from wbadmin.tui.widgets.org_tree import OrgTree


async def test_first_frame_then_sync_fills_the_tree() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        tree = app.screen.query_one(OrgTree)
        teams = [n.data.team for n in tree.root.children if n.data.kind == "team"]
        assert "data-science-nlp" in teams and len(teams) == 9
        header = app.screen.query_one(ShellHeader)
        assert header.badges == ("SANDBOX",)
        assert header.identity.startswith("alice@inference-systems (org admin)")
        assert app.refresh_error is None


async def test_walk_the_tree_to_a_project() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        tree = app.screen.query_one(OrgTree)
        node = tree.find(Location("team", team="data-science-nlp"))
        tree.move_cursor(node)
        await pilot.press("enter")  # expands: projects load now
        await pilot.pause()
        names = [c.data.name for c in node.children]
        assert "rag-pipeline-v2" in names
        await pilot.press("down")
        await pilot.pause()
        detail = app.screen.query_one(DetailPane)
        assert detail.location.kind == "project"
        assert app.screen.query_one(ShellHeader).crumbs[1] == "data-science-nlp"


async def test_filter_shows_n_of_m_and_esc_clears() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await pilot.press(*"rag-pipe")
        await pilot.pause()
        tree = app.screen.query_one(OrgTree)
        visible = [n.data for n in tree.root.children if n.data.kind == "team"]
        assert [t.team for t in visible] == ["data-science-nlp"]
        count = str(app.screen.query_one("#filter-count").render())
        assert "of" in count
        tree.focus()
        await pilot.press("escape")
        await pilot.pause()
        assert len([n for n in tree.root.children if n.data.kind == "team"]) == 9


async def test_filter_count_counts_what_matched_and_names_it() -> None:
    """'rag' names 3 projects and 1 registry collection (the 2 teams above those projects are
    shown, but match nothing themselves): of all 9 teams, 29 projects, 2 registries and 7
    collections."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"rag")
        await pilot.pause()
        tree = app.screen.query_one(OrgTree)
        assert tree.find(Location("collection", name="rag-embedder-v1", registry="model"))
        count = app.screen.query_one("#filter-count")
        assert str(count.render()) == "4 of 47 match: 3 projects, 1 collection"
        app.screen.query_one("#tree-filter", Input).value = "eval"
        await pilot.pause()
        assert str(count.render()) == "5 of 47 match: 1 team, 4 projects"
        app.screen.query_one("#tree-filter", Input).value = "no-such-thing"
        await pilot.pause()
        assert str(count.render()) == "0 of 47 match"


async def test_jump_to_a_project_and_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("colon")
        await pilot.pause()
        app.screen.query_one(Input).value = "project rag-pipeline-v2"
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen.query_one(DetailPane)
        assert detail.location == Location("project", team="data-science-nlp",
                                           name="rag-pipeline-v2")
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert detail.location != Location("project", team="data-science-nlp",
                                           name="rag-pipeline-v2")


async def test_jump_to_unknown_team_warns_and_stays() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        before = app.screen.query_one(DetailPane).location
        app.run_jump("team no-such-team")
        await pilot.pause()
        assert app.screen.query_one(DetailPane).location == before
        assert any("not in the org" in str(n.message) for n in app._notifications)


async def test_help_lists_the_keys_that_work_here() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        described = {what for _, what in app.screen.rows}
        assert {"filter", "refresh", "copy path", "jump", "help"} <= described
        assert ("/", "filter") in app.screen.rows
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_refresh_while_the_sandbox_fails_keeps_cached_data() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(app, pilot)
        handle = app.session._sandbox_handle
        assert handle is not None
        # The embedded server's fault switch: every request now fails with a 503.
        from wbadmin.core.client import Client

        app.session.client = Client(app.session.profile.base_url,
                                    app.session.key.reveal(), max_retries=0)
        import httpx

        httpx.post(app.session.profile.base_url + "/_sandbox/faults",
                   json={"error_rate": 1.0})
        await pilot.press("r")
        await settle(app, pilot)
        assert app.refresh_error is not None
        tree = app.screen.query_one(OrgTree)
        assert len([n for n in tree.root.children if n.data.kind == "team"]) == 9
        assert any("Refresh failed" in str(n.title) for n in app._notifications)


async def test_copy_path_of_a_project() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.run_jump("project rag-pipeline-v2")
        await pilot.pause()
        await pilot.press("y")
        assert app.clipboard == "data-science-nlp/rag-pipeline-v2"


async def test_tab_completes_a_jump() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("colon", *"team data-sc")
        await pilot.pause(0.2)
        await pilot.press("tab")
        await pilot.pause()
        assert app.screen.query_one(Input).value == "team data-science-nlp"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one(DetailPane).location == Location("team",
                                                                     team="data-science-nlp")


async def test_palette_finds_a_team_and_jumps() -> None:
    from textual.command import CommandPalette

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"team ai-gov")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.screen.query_one(DetailPane).location == Location("team",
                                                                     team="ai-governance")


async def test_r_on_a_project_fetches_its_last_run() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.run_jump("project rag-pipeline-v2")
        await pilot.pause()
        cache = app.session.cache
        assert cache.scalar("SELECT last_run_at FROM projects WHERE name='rag-pipeline-v2'") \
            is None
        await pilot.press("r")
        await settle(app, pilot)
        assert cache.scalar("SELECT last_run_at FROM projects WHERE name='rag-pipeline-v2'")
        summary = str(app.screen.query_one("#detail-summary").render())
        assert "last run" in summary


async def test_the_palette_offers_the_screens_own_actions() -> None:
    from textual.command import CommandPalette

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.run_jump("project rag-pipeline-v2")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"copy path")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.clipboard == "data-science-nlp/rag-pipeline-v2"


async def test_a_value_cut_in_the_members_table_is_shown_whole_under_it() -> None:
    from textual.widgets import Static

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.run_jump(":team data-science-nlp")
        await settle(app, pilot)
        await pilot.press("tab")  # into the members table
        await pilot.pause()
        detail = app.screen.detail
        table = detail.table
        assert table.cut_cells(table.cursor_row), "at 120 columns the email is cut"
        full = str(detail.query_one("#detail-full", Static).content)
        person = detail.selected_key()
        assert f"email {person}@inference-systems.ai" in full
        await pilot.press("down")
        await pilot.pause()
        assert detail.selected_key() in str(detail.query_one("#detail-full", Static).content)
