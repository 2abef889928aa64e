"""Columns that fit their pane: each as wide as its content; when a row is wider than the
pane, the widest columns give way first (cut with an ellipsis, the full value is in the
detail), never narrower than their header. Used by FastTable and FitTable alike."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable


def fit_widths(natural: list[int], room: int, floors: list[int]) -> list[int]:
    """Widths for columns of `natural` content widths in `room` cells (padding excluded):
    the natural widths if they fit, else every column capped at one width (the widest
    give way first, none below its floor), the cells left over going to the capped ones."""
    if sum(natural) <= room or not natural:
        return list(natural)
    floors = [min(f, n) for f, n in zip(floors, natural, strict=True)]

    def capped(cap: int) -> list[int]:
        return [max(min(n, cap), f) for n, f in zip(natural, floors, strict=True)]

    low, high = 0, max(natural)  # the widest cap that fits: sum(capped(cap)) <= room
    while low < high:
        mid = (low + high + 1) // 2
        if sum(capped(mid)) <= room:
            low = mid
        else:
            high = mid - 1
    widths = capped(low)
    spare = room - sum(widths)
    for i, n in enumerate(natural):  # the few cells the cap left: to the cut columns
        if spare <= 0:
            break
        if widths[i] < n:
            widths[i] += 1
            spare -= 1
    return widths


def floor_of(label: str) -> int:
    """A column is never cut below its header, nor below 8 cells of its content."""
    return max(len(label), 8)


def floors_for(labels: list[str], natural: list[int]) -> list[int]:
    """The floors of a row of columns: the first named column (what the row is: a person,
    a team, a request) is never cut at all."""
    floors = [floor_of(label) for label in labels]
    first = next((i for i, label in enumerate(labels) if label.strip()), None)
    if first is not None:
        floors[first] = natural[first]
    return floors


def ellipsis_cell(cell: object) -> object:
    """A cell that is cut with an ellipsis when its column is narrower than it."""
    if isinstance(cell, str):
        return Text(cell, no_wrap=True, overflow="ellipsis", end="")
    if isinstance(cell, Text):
        cell = cell.copy()
        cell.no_wrap, cell.overflow = True, "ellipsis"
    return cell


class FitTable(DataTable):
    """A DataTable whose columns fit the pane (see the module docstring), refitted when
    rows change and when the pane is resized."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._natural: dict[object, int] = {}

    def add_column(self, label, *, width: int | None = None, key: str | None = None,
                   default=None):
        column_key = super().add_column(label, width=width, key=key, default=default)
        self._natural[column_key] = len(Text.from_markup(label).plain if isinstance(
            label, str) else getattr(label, "plain", str(label)))
        self._refit_later()
        return column_key

    def add_row(self, *cells, height: int | None = 1, key: str | None = None, label=None):
        cells = tuple(ellipsis_cell(c) for c in cells)
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        for column_key, cell in zip(self.columns, cells, strict=False):
            self._grow(column_key, cell)
        self._refit_later()
        return row_key

    def update_cell(self, row_key, column_key, value, *, update_width: bool = False) -> None:
        value = ellipsis_cell(value)
        super().update_cell(row_key, column_key, value, update_width=update_width)
        self._grow(column_key, value)
        self._refit_later()

    def clear(self, columns: bool = False):
        result = super().clear(columns=columns)
        if columns:
            self._natural.clear()
        else:
            self._natural = {k: len(c.label.plain) for k, c in self.columns.items()}
        return result

    def cut_cells(self, row: int) -> list[tuple[str, str]]:
        """(header, full text) of the cells of `row` its column cuts short."""
        if not 0 <= row < self.row_count:
            return []
        cut = []
        for column, cell in zip(self.columns.values(), self.get_row_at(row), strict=False):
            text = cell.plain if isinstance(cell, Text) else str(cell)
            if not column.auto_width and len(text) > column.width:
                cut.append((column.label.plain, text))
        return cut

    def _grow(self, column_key, cell) -> None:
        width = cell.cell_len if isinstance(cell, Text) else len(str(cell))
        if width > self._natural.get(column_key, 0):
            self._natural[column_key] = width

    def on_resize(self) -> None:
        self.refit()

    def _refit_later(self) -> None:
        if not getattr(self, "_refit_pending", False):
            self._refit_pending = True
            self.call_later(self.refit)

    def refit(self) -> None:
        self._refit_pending = False
        columns = list(self.columns.values())
        if not columns:
            return
        if self.scrollable_content_region.width <= 0:
            return  # not laid out yet: the columns stay auto-sized until on_resize
        room = self.scrollable_content_region.width - 2 * self.cell_padding * len(columns)
        natural = [self._natural.get(c.key, c.content_width) for c in columns]
        widths = fit_widths(natural, room, floors_for([c.label.plain for c in columns], natural))
        changed = False
        for column, width in zip(columns, widths, strict=True):
            if column.auto_width or column.width != width:
                column.auto_width, column.width = False, width
                changed = True
        if changed:
            self._require_update_dimensions = True
            self.refresh()
            self.post_message(self.Refitted())

    class Refitted(Message):
        """The column widths changed: what is cut may have changed with them."""
