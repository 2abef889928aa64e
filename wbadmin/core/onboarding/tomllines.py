"""Where each key of a TOML document is, by line (tomllib gives positions only for syntax
errors, and every org-file error must name its line).

`TomlLines(text).line(("teams", "nlp", "members", "bob"))` is the line defining that key, or
of the nearest enclosing table or key that is known (an inline table's keys share its line).
Handles `[a."b.c"]` headers, `[[array]]` headers, dotted keys and quoted keys; a multi-line
value is located at its first line.
"""

from __future__ import annotations

import re

Path = tuple[str, ...]

_KEY_PART = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+)\s*')
_HEADER = re.compile(r"^\s*(\[\[?)(.*?)(\]\]?)\s*(#.*)?$")


def split_key(text: str) -> Path | None:
    """`a."b.c".d` → ("a", "b.c", "d"); None when `text` is not a TOML key."""
    parts: list[str] = []
    pos = 0
    while True:
        m = _KEY_PART.match(text, pos)
        if not m:
            return None
        raw = m.group(1)
        if raw.startswith('"'):
            parts.append(bytes(raw[1:-1], "utf-8").decode("unicode_escape")
                         if "\\" in raw else raw[1:-1])
        elif raw.startswith("'"):
            parts.append(raw[1:-1])
        else:
            parts.append(raw)
        pos = m.end()
        if pos == len(text):
            return tuple(parts)
        if text[pos] != ".":
            return None
        pos += 1


def _key_before_equals(line: str) -> str | None:
    """The key part of `key = value` (an `=` inside a quoted key does not count)."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return line[:i]
        elif ch == "#":
            return None
    return None


class TomlLines:
    def __init__(self, text: str) -> None:
        self.lines: dict[Path, int] = {}
        table: Path = ()
        depth = 0  # open brackets of a multi-line array/inline table: skip its inner lines
        for number, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if depth > 0:
                depth += bracket_balance(stripped)
                continue
            if not stripped or stripped.startswith("#"):
                continue
            header = _HEADER.match(stripped)
            if header and header.group(1) == header.group(3)[::-1].replace("]", "["):
                path = split_key(header.group(2))
                if path is not None:
                    table = path
                    for i in range(1, len(path) + 1):  # `[a.b.c]` defines a and a.b too
                        self.lines.setdefault(path[:i], number)
                continue
            key = _key_before_equals(stripped)
            if key is None:
                continue
            path = split_key(key.strip())
            if path is None:
                continue
            for i in range(1, len(path) + 1):
                self.lines.setdefault(table + path[:i], number)
            value = stripped[len(key) + 1:]
            depth = max(0, bracket_balance(value))

    def line(self, path: Path) -> int | None:
        """The line of `path`, else of its nearest known ancestor (None: nowhere)."""
        for i in range(len(path), 0, -1):
            found = self.lines.get(tuple(path[:i]))
            if found is not None:
                return found
        return None


def bracket_balance(text: str) -> int:
    """Opening minus closing brackets outside strings and comments."""
    balance, quote = 0, None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            balance += 1
        elif ch in "]}":
            balance -= 1
    return balance
