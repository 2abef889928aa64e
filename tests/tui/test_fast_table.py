"""FastTable, the lean table under long filtered lists: the cursor, messages, scrolling."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from wbadmin.tui.widgets.fast_table import FastTable


class TableApp(App):
    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.highlighted: list[str | None] = []
        self.selected: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield FastTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(FastTable)
        table.add_columns("user", "role", "teams")
        table.add_rows(((Text(f"user{i:03}"), "member", "x" * 60 + f"-end{i}")
                        for i in range(self.rows)), (f"user{i:03}" for i in range(self.rows)))
        table.focus()

    def on_fast_table_row_highlighted(self, event: FastTable.RowHighlighted) -> None:
        self.highlighted.append(event.row_key)

    def on_fast_table_row_selected(self, event: FastTable.RowSelected) -> None:
        self.selected.append(event.row_key)


async def test_keys_move_the_cursor_and_announce_rows() -> None:
    app = TableApp(100)
    async with app.run_test(size=(50, 12)) as pilot:
        table = app.query_one(FastTable)
        await pilot.press("down", "down")
        assert table.cursor_row == 2 and app.highlighted[-1] == "user002"
        await pilot.press("end")
        assert table.cursor_row == 99
        assert table.scroll_y > 0, "the cursor's row is scrolled into view"
        await pilot.press("home", "pagedown")
        assert 5 <= table.cursor_row <= 11
        await pilot.press("enter")
        assert app.selected == [table.row_key(table.cursor_row)]


async def test_a_row_wider_than_the_view_is_cut_with_an_ellipsis() -> None:
    app = TableApp(3)
    async with app.run_test(size=(40, 8)):
        table = app.query_one(FastTable)
        line = table.render_line(1).text
        assert table.virtual_size.width <= 40  # nothing to scroll sideways for
        assert line.split()[0] == "user000"  # the first column is never cut
        assert "-end0" not in line and "…" in line  # the widest gives way, visibly


async def test_columns_that_fit_keep_their_content_width() -> None:
    app = TableApp(3)
    async with app.run_test(size=(120, 8)):
        table = app.query_one(FastTable)
        assert "x" * 60 + "-end0" in table.render_line(1).text


async def test_clicking_a_row_moves_the_cursor_there() -> None:
    app = TableApp(10)
    async with app.run_test(size=(50, 12)) as pilot:
        table = app.query_one(FastTable)
        await pilot.click(FastTable, offset=(3, 4))  # header is line 0: row 3
        assert table.cursor_row == 3 and app.highlighted[-1] == "user003"


async def test_replacing_rows_resets_widths_and_cursor() -> None:
    app = TableApp(10)
    async with app.run_test(size=(50, 12)) as pilot:
        table = app.query_one(FastTable)
        await pilot.press("down")
        table.clear()
        table.add_row("zed", "viewer", "t", key="zed")
        await pilot.pause()
        assert table.row_count == 1 and table.cursor_row == 0 and table.row_key(0) == "zed"
        # no wide cell left: nothing to scroll sideways
        assert table.virtual_size.width <= table.scrollable_content_region.width
