"""The footer: the keys of the screen, then the keys of every screen. On a terminal too
narrow for all of them, help and quit come first, so `?` (which lists every key) and `q`
never fall off the right edge; below 160 columns the keys are drawn compact."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

ESSENTIAL = ("app.help", "app.quit", "help", "quit")
COMPACT_BELOW = 160


class WbFooter(Footer):
    DEFAULT_CSS = """
    WbFooter.-compact FooterLabel { margin-right: 1; }
    """

    def __init__(self, **kwargs) -> None:
        # ctrl+p still opens the palette; `?` lists it. Its footer slot goes to our keys.
        super().__init__(show_command_palette=False, **kwargs)

    def on_mount(self) -> None:
        self.compact = self.app.size.width < COMPACT_BELOW

    def on_resize(self) -> None:
        compact = self.app.size.width < COMPACT_BELOW
        if compact != self.compact:
            self.compact = compact
            self.recompose()

    def compose(self):
        items = list(super().compose())
        if self._width_of(items) <= self.app.size.width:
            yield from items
            return
        first = [i for i in items if isinstance(i, FooterKey) and i.action in ESSENTIAL]
        yield from first + [i for i in items if i not in first]

    def _width_of(self, items: list) -> int:
        pad = 1 if self.compact else 2
        width = 0
        for item in items:
            if isinstance(item, FooterKey):
                width += len(item.key_display) + len(item.description) + pad + 1
            elif isinstance(item, FooterLabel):
                width += len(str(item.content)) + pad
            elif isinstance(item, KeyGroup):
                width += 6 + pad  # the screen keys, "123456"
        return width
