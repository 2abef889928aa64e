"""A lean, virtual table for long lists that are rebuilt on every keystroke (people, runs).

Textual's DataTable renders each visible cell through Rich's full layout machinery and
re-measures every row it is given; rebuilding a page of 60 people per filter keystroke cost
~40 ms of a 50 ms budget. This table draws one row as one `Text` cut into a `Strip`, measures
cells by their plain length, and caches rows until the rows or the width change. It offers the
part of DataTable's interface the screens use (columns, rows with keys, a row cursor, the
RowHighlighted / RowSelected messages) and looks the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .fit_columns import fit_widths, floors_for

Cell = Text | str



class FastTable(ScrollView, can_focus=True):
    """Rows of cells under a fixed header, one row under a cursor."""

    COMPONENT_CLASSES = {"fast-table--header", "fast-table--cursor", "fast-table--even-row"}
    DEFAULT_CSS = """
    FastTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .fast-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        &:dark > .fast-table--even-row { background: $surface-darken-1 40%; }
        & > .fast-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .fast-table--even-row { background: $surface-lighten-1 50%; }
        & > .fast-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("up", "cursor_up", "up", show=False),
        Binding("down", "cursor_down", "down", show=False),
        Binding("pageup", "page_up", "page up", show=False),
        Binding("pagedown", "page_down", "page down", show=False),
        Binding("home", "first", "first", show=False),
        Binding("end", "last", "last", show=False),
        Binding("left", "scroll_left", "scroll left", show=False),
        Binding("right", "scroll_right", "scroll right", show=False),
        Binding("enter", "select", "select", show=False),
    ]

    class RowHighlighted(Message):
        """The cursor moved to a row (also after the rows were replaced)."""

        def __init__(self, table: FastTable, cursor_row: int, row_key: str | None) -> None:
            super().__init__()
            self.table, self.cursor_row, self.row_key = table, cursor_row, row_key

        @property
        def control(self) -> FastTable:
            return self.table

    class RowSelected(RowHighlighted):
        """Enter (or a click on the row under the cursor)."""

    def __init__(self, *, zebra_stripes: bool = True, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.zebra_stripes = zebra_stripes
        self.labels: list[str] = []
        self.widths: list[int] = []  # content widths: the widest label or cell seen
        self.cells: list[tuple[Cell, ...]] = []
        self.keys: list[str | None] = []
        self.cursor_row = 0
        self._strips: dict[tuple[int, bool], Strip] = {}

    # ---- DataTable-like interface ------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        return self.labels

    @property
    def row_count(self) -> int:
        return len(self.cells)

    def add_columns(self, *labels: str) -> None:
        self.labels.extend(labels)
        self.widths.extend(len(label) for label in labels)
        self._changed()

    def clear(self, columns: bool = False) -> None:
        self.cells.clear()
        self.keys.clear()
        self.widths = [len(label) for label in self.labels]
        if columns:
            self.labels, self.widths = [], []
        self.cursor_row = 0
        self._changed()

    def add_row(self, *cells: Cell, key: str | None = None) -> None:
        self.add_rows([cells], [key])

    def add_rows(self, rows: Iterable[Sequence[Cell]], keys: Iterable[str | None]) -> None:
        widths = self.widths
        for cells, key in zip(rows, keys, strict=True):
            self.cells.append(tuple(cells))
            self.keys.append(key)
            for i, cell in enumerate(cells):
                n = cell.cell_len if isinstance(cell, Text) else len(cell)
                if n > widths[i]:
                    widths[i] = n
        self._changed()

    def update_cell_at(self, row: int, column: int, value: Cell) -> None:
        cells = list(self.cells[row])
        cells[column] = value
        self.cells[row] = tuple(cells)
        self._changed()

    def move_cursor(self, *, row: int, announce: bool = True) -> None:
        """Put the cursor on `row` (clamped); RowHighlighted follows when it moved, unless
        `announce` is False (a caller that rebuilt the rows shows the row itself)."""
        row = max(0, min(row, len(self.cells) - 1))
        moved = row != self.cursor_row
        self.cursor_row = row
        self._scroll_to_cursor()
        self._strips.clear()
        self.refresh()
        if moved and announce:
            self.post_message(self.RowHighlighted(self, row, self.row_key(row)))

    def row_key(self, row: int) -> str | None:
        return self.keys[row] if 0 <= row < len(self.keys) else None

    # ---- keys and mouse ----------------------------------------------------------------

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + self._page())

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self.cells) - 1)

    def action_select(self) -> None:
        if self.cells:
            row = self.cursor_row
            self.post_message(self.RowSelected(self, row, self.row_key(row)))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return  # the header
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self.cells):
            if row == self.cursor_row:
                self.action_select()
            else:
                self.move_cursor(row=row)

    def on_resize(self) -> None:
        self._changed()

    def on_focus(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._strips.clear()
        self.refresh()

    # ---- drawing -----------------------------------------------------------------------

    def _changed(self) -> None:
        self._strips.clear()
        view = self.scrollable_content_region.width
        wide = sum(w + 2 for w in self._column_widths(view))
        # An unchanged size is no reactive change: no reflow of the screen per keystroke.
        self.virtual_size = Size(max(view, wide), len(self.cells) + 1)
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def _column_widths(self, total: int) -> list[int]:
        """Content widths of the columns (each drawn with one space either side): as wide as
        their content while the line fits, else the widest give way first (fit_widths); the
        last one takes what is left of the line."""
        if not self.widths:
            return []
        widths = fit_widths(self.widths, total - 2 * len(self.widths),
                            floors_for(self.labels, self.widths))
        widths[-1] += max(0, total - sum(w + 2 for w in widths))
        return widths

    def _line(self, cells: Sequence[Cell], widths: list[int], under: Style,
              over: Style | None) -> Strip:
        line = Text(no_wrap=True, end="")
        for cell, w in zip(cells, widths, strict=True):
            part = cell.copy() if isinstance(cell, Text) else Text(cell)
            part.truncate(w, overflow="ellipsis", pad=True)
            line.append(" ")
            line.append_text(part)
            line.append(" ")
        line.stylize_before(under)
        if over is not None:
            line.stylize(over)
        segments = list(line.render(self.app.console))
        return Strip(segments, line.cell_len)

    def render_line(self, y: int) -> Strip:
        view = self.scrollable_content_region.width
        width = self.virtual_size.width
        left = int(self.scroll_x)
        base = self.rich_style
        if y == 0:
            header = base + self.get_component_rich_style("fast-table--header")
            strip = self._line(self.labels, self._column_widths(view), header, None)
            return strip.crop_extend(left, left + view, header)
        row = int(self.scroll_y) + y - 1
        if not 0 <= row < len(self.cells):
            return Strip([Segment(" " * view, base)], view)
        cursor = row == self.cursor_row
        key = (row, cursor)
        strip = self._strips.get(key)
        under = base
        if self.zebra_stripes and row % 2 == 0:  # DataTable's "even" rows
            under = base + self.get_component_rich_style("fast-table--even-row")
        if strip is None or strip.cell_length != width:
            over = self.get_component_rich_style("fast-table--cursor") if cursor else None
            strip = self._line(self.cells[row], self._column_widths(view), under, over)
            strip = strip.crop_extend(0, width, over or under)
            self._strips[key] = strip
        return strip.crop(left, left + view)
