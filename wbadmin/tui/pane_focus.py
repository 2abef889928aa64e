"""Tab / Shift+Tab move between a screen's panes, not through every focusable widget.

A screen names its panes with a `PANES` selector (in screen order). Tab focuses the next
pane that can take the focus now (shown, with something focusable), wrapping round; the
pane gets back the widget it last had focused, else its table or list. Inside a form (the
focus on an Input), Tab moves field to field first and leaves the pane after its last
field. A screen without panes (a dialog) keeps Textual's usual focus chain.
"""

from __future__ import annotations

from textual.containers import ScrollableContainer
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import Input


def _inside(widget: Widget, pane: Widget) -> bool:
    return widget is pane or pane in widget.ancestors


def panes_of(screen: Screen) -> list[Widget]:
    selector = getattr(screen, "PANES", "")
    if not selector:
        return []
    chain = screen.focus_chain
    return [pane for pane in screen.query(selector)
            if any(_inside(widget, pane) for widget in chain)]


def move_focus(screen: Screen, step: int) -> None:
    panes = panes_of(screen)
    if not panes:
        (screen.focus_next if step > 0 else screen.focus_previous)()
        return
    chain = screen.focus_chain
    focused = screen.focused
    current = next((i for i, pane in enumerate(panes)
                    if focused is not None and _inside(focused, pane)), None)
    if current is not None and _is_input(focused):  # a form: field to field first
        fields = [w for w in chain if _inside(w, panes[current])]
        at = fields.index(focused) + step if focused in fields else -1
        if 0 <= at < len(fields):
            fields[at].focus()
            return
    if current is None:
        target = panes[0] if step > 0 else panes[-1]
    else:
        if focused is not None:
            panes[current].last_focused = focused  # type: ignore[attr-defined]
        target = panes[(current + step) % len(panes)]
    fields = [w for w in chain if _inside(w, target)]
    remembered = getattr(target, "last_focused", None)
    if remembered in fields:
        remembered.focus()
    elif _is_input(fields[0]) and step < 0:
        fields[-1].focus()  # coming back into a form from below: its last field
    else:  # what the pane is for (its table, its list) before the scroller around it
        next((w for w in fields if not _scroller(w)), fields[0]).focus()


def _scroller(widget: Widget) -> bool:
    """A container that scrolls its children (not a table or a list that scrolls itself)."""
    return isinstance(widget, ScrollableContainer) and not isinstance(widget, ScrollView)


def _is_input(widget: Widget | None) -> bool:
    return isinstance(widget, Input)
