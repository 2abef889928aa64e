"""The response keys a GraphQL document's operation asks for at its root, without a parser.

The client checks that a 200 answer carries every one of them: a proxy or an older server that
answers `{"data": {}}` must not read as "the org has no teams" (and be cached as such).
graphql-core would take 150 ms to import on every command, so this is a small scanner.
"""

from __future__ import annotations

import functools
import re

_OPERATION = re.compile(r"(?:^|[\s}])(?:query|mutation)\b|^\s*\{")
_TOKEN = re.compile(r"[(){}:.@$]|[_A-Za-z][_0-9A-Za-z]*")
# Block strings, strings and comments: their braces and words do not count.
_NOT_CODE = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*')


@functools.lru_cache(maxsize=128)
def root_fields(query: str) -> tuple[str, ...] | None:
    """The aliases (or names) of the operation's root fields, in order; None when the root
    holds something this scanner does not follow (a fragment spread, a directive) or the
    document is not one it understands, so the caller checks nothing."""
    text = _NOT_CODE.sub(lambda m: " " * len(m.group(0)), query)
    found = _OPERATION.search(text)
    if found is None:
        return None
    keys: list[str] = []
    depth = 0  # below the operation's selection set: 1 is its root
    parens = 0  # variable definitions may hold object defaults, in ()
    after_alias = False  # the next name is the field an alias names, not an answer key
    for token in _TOKEN.finditer(text, found.start()):
        tok = token.group(0)
        if depth == 0:  # the operation's header: its name and variables
            parens += {"(": 1, ")": -1}.get(tok, 0)
            depth = 1 if tok == "{" and parens == 0 else 0
        elif tok in "({":
            depth += 1
        elif tok in ")}":
            depth -= 1
            if depth == 0:
                return tuple(keys)
        elif depth > 1:
            continue
        elif tok in ".@$":
            return None
        elif tok == ":":
            after_alias = True
        elif after_alias:
            after_alias = False
        else:
            keys.append(tok)
    return None
