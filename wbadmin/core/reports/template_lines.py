"""Where each key of a report template is, by line, counting `[[blocks]]` and
`[[blocks.panels]]` one by one (tomllib gives no positions, and `TomlLines` keeps only the
first of an array of tables — but the third block's bad panel kind must name its own line).

Paths: ("report", key), ("blocks", i, key), ("blocks", i, "panels", j, key); a missing one
falls back to its nearest known ancestor, as `TomlLines.line` does. Multi-line strings and
arrays are skipped (a markdown text's `a = b` is no key).
"""

from __future__ import annotations

import re

from ..onboarding.tomllines import bracket_balance

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^(\[\[?)\s*([A-Za-z0-9_.\- \"']+?)\s*(\]\]?)\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=(.*)$""")


class TemplateLines:
    def __init__(self, text: str) -> None:
        self.lines: dict[Path, int] = {}
        table: Path = ()
        blocks = -1
        panels = -1
        skipping: str | None = None  # the quote of a multi-line string being skipped
        depth = 0  # open brackets of a multi-line array or inline table
        for number, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if skipping:
                if stripped.count(skipping) % 2 == 1:
                    skipping = None
                continue
            if depth > 0:
                depth += bracket_balance(stripped)
                continue
            if not stripped or stripped.startswith("#"):
                continue
            if header := _HEADER.match(stripped):
                name = re.sub(r"\s*\.\s*", ".", header.group(2)).replace('"', "")
                if name == "blocks" and header.group(1) == "[[":
                    blocks, panels = blocks + 1, -1
                    table = ("blocks", blocks)
                elif name == "blocks.panels" and header.group(1) == "[[" and blocks >= 0:
                    panels += 1
                    table = ("blocks", blocks, "panels", panels)
                else:
                    table = tuple(name.split("."))
                self.lines.setdefault(table, number)
                continue
            if key := _KEY.match(stripped):
                self.lines.setdefault((*table, key.group(1).strip("\"'")), number)
                value = key.group(2)
                for quote in ('"""', "'''"):
                    if value.count(quote) % 2 == 1:
                        skipping = quote
                if not skipping:
                    depth = max(0, bracket_balance(value))

    def line(self, path: Path) -> int | None:
        """The line of `path`, else of its nearest known ancestor (None: nowhere)."""
        for i in range(len(path), 0, -1):
            found = self.lines.get(tuple(path[:i]))
            if found is not None:
                return found
        return None

