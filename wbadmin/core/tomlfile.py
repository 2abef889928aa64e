"""TOML files whose errors name their line: every config, policy, template and org file.

tomllib reports a position only for syntax errors, and only inside its message; the checks
that come after parsing find a key's line with `line_of`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

_AT_LINE = re.compile(r"at line (\d+)")
_POSITION = re.compile(r"\s*\((at line .*|at end of document)\)\s*$")
_HEADER = re.compile(r"\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?")


class TomlSyntaxError(ValueError):
    """Not TOML: `reason` ("invalid TOML: ...") and its `line` (None: at the end)."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason, self.line = reason, line


def loads(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _AT_LINE.search(message)
        raise TomlSyntaxError(f"invalid TOML: {_POSITION.sub('', message)}",
                              int(found.group(1)) if found else None) from None


def line_of(lines: list[str], table: str | None, key: str | None, *,
            sub_tables: bool = False) -> int | None:
    """Best effort: the line of `key` in `[table]`, else the line of the table's header (or,
    with `sub_tables`, of the first `[table.*]` header)."""
    current, header = None, None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if head := _HEADER.fullmatch(line):
            current = re.sub(r"\s*\.\s*", ".", head.group(1)).replace('"', "")
            if table and (current == table
                          or (sub_tables and current.startswith(table + "."))):
                header = header or number
            continue
        if key and current == table and re.match(rf'"?{re.escape(key)}"?\s*=', line):
            return number
    return header


def named_files(shipped: Path, user: Path) -> dict[str, Path]:
    """The `*.toml` files of a shipped folder and a user's, by name (the stem): a user's file
    takes the place of a shipped one of the same name."""
    found = {p.stem: p for p in sorted(shipped.glob("*.toml"))}
    if user.is_dir():
        found.update({p.stem: p for p in sorted(user.glob("*.toml"))})
    return found
