"""The response keys a GraphQL document's operation asks for at its root, without a parser.

The client checks that a 200 answer carries every one of them: a proxy or an older server that
answers `{"data": {}}` must not read as "the org has no teams" (and be cached as such).
graphql-core would take 150 ms to import on every command, so this is a small scanner.
"""

from __future__ import annotations

import functools
import re

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_OPERATION = re.compile(r"(?:^|[\s}])(query|mutation)\b|^\s*\{")


@functools.lru_cache(maxsize=512)
def root_fields(query: str) -> tuple[str, ...] | None:
    """The aliases (or names) of the operation's root fields, in order; None when the root
    holds something this scanner does not follow (a fragment spread, a directive) or the
    document is not one it understands, so the caller checks nothing."""
    text = _without_comments_and_strings(query)
    found = _OPERATION.search(text)
    if found is None:
        return None
    # Variable definitions may hold object defaults: the root brace is the first outside ().
    depth = 0
    pos = found.start()
    while pos < len(text) and not (text[pos] == "{" and depth == 0):
        depth += {"(": 1, ")": -1}.get(text[pos], 0)
        pos += 1
    keys: list[str] = []
    depth = 0
    pos += 1
    while pos < len(text):
        ch = text[pos]
        if ch in "({":
            depth += 1
        elif ch in ")}":
            if depth == 0:
                return tuple(keys)
            depth -= 1
        elif depth == 0 and ch in ".@$":
            return None
        elif depth == 0 and (name := _NAME.match(text, pos)):
            pos = _skip_space(text, name.end())
            if pos < len(text) and text[pos] == ":":  # an alias: the answer's key
                field = _NAME.match(text, _skip_space(text, pos + 1))
                if field is None:
                    return None
                pos = field.end()
            keys.append(name.group(0))
            continue
        pos += 1
    return None


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and (text[pos].isspace() or text[pos] == ","):
        pos += 1
    return pos


def _without_comments_and_strings(query: str) -> str:
    """The document with `#` comments and string literals blanked (braces inside them do
    not count)."""
    out: list[str] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch == "#":
            end = query.find("\n", i)
            end = len(query) if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif ch == '"':
            block = query.startswith('"""', i)
            quote = '"""' if block else '"'
            j = i + len(quote)
            while j < len(query) and not query.startswith(quote, j):
                j += 2 if query[j] == "\\" and not block else 1
            end = min(len(query), j + len(quote))
            out.append('""' + " " * (end - i - 2))
            i = end
        else:
            out.append(ch)
            i += 1
    return "".join(out)
