"""The worker `core/wandb_library.py` starts: one operation with W&B's libraries, as one
identity. Read `{base_url, api_key, username, op, args}` on stdin; answer `{"result": ...}`
or `{"error": kind, "message": ...}` on the stdout it was started with. Everything the
libraries print (theirs and wandb-core's) goes to stderr, which the parent captures.

Imports `wandb` only inside `main`, so importing this module (as the layer tests do) loads
nothing.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from typing import Any

# What a GraphQL refusal says, as W&B and the sandbox word it.
_PERMISSION = re.compile(r"permission|not allowed|forbidden|PERMISSION_ERROR|\b403\b", re.I)
_NOT_FOUND = re.compile(r"not found|does not exist|NOT_FOUND|\b404\b", re.I)
_AUTH = re.compile(r"\b401\b|unauthori[sz]ed|not logged in|api key", re.I)


def classify(exc: BaseException) -> str:
    """The error kind the parent maps to wbadmin's errors, from the library's exception."""
    text = f"{type(exc).__name__}: {exc}"
    for kind, pattern in (("permission", _PERMISSION), ("not_found", _NOT_FOUND),
                          ("auth", _AUTH)):
        if pattern.search(text):
            return kind
    return "failed"


def _one_line(exc: BaseException, key: str) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.replace(key, "[redacted]")[:500] if key else text[:500]


def resolve_op(name: str) -> Any:
    """`wbadmin.x.y:function` — only wbadmin's own operations run here."""
    module_name, _, function = name.partition(":")
    if not module_name.startswith("wbadmin.") or not function.isidentifier():
        raise ValueError(f"not a wbadmin operation: {name!r}")
    return getattr(importlib.import_module(module_name), function)


def whoami() -> str | None:
    """An operation: whom the SDK is signed in as (the runner's own check, made visible)."""
    import wandb

    return getattr(wandb.Api().viewer, "username", None)


def act(request: dict[str, Any]) -> dict[str, Any]:
    key = str(request.get("api_key") or "")
    os.environ["WANDB_API_KEY"] = key
    os.environ["WANDB_BASE_URL"] = str(request["base_url"])
    for module in ("wandb", "wandb_workspaces"):
        try:
            importlib.import_module(module)
        except Exception as exc:  # ImportError, or a broken install failing otherwise
            return {"error": "missing", "module": module,
                    "message": f"{module} cannot be imported ({_one_line(exc, key)})"}
    import wandb

    try:
        viewer = wandb.Api(timeout=60).viewer
        username = getattr(viewer, "username", None)
    except Exception as exc:
        return {"error": classify(exc), "message": f"signing in to W&B failed: "
                                                   f"{_one_line(exc, key)}"}
    if username != request.get("username"):
        return {"error": "identity",
                "message": f"the W&B library signed in as {username!r}, not as "
                           f"{request.get('username')!r} whom wbadmin verified; nothing done"}
    try:
        result = resolve_op(str(request.get("op")))(**(request.get("args") or {}))
    except Exception as exc:
        return {"error": classify(exc), "message": _one_line(exc, key),
                "type": type(exc).__name__}
    return {"result": result}


def main() -> int:
    answer_fd = os.dup(1)  # not inheritable: wandb-core never holds the answer channel
    os.dup2(2, 1)  # whatever writes to fd 1 now lands in the captured console
    sys.stdout = sys.stderr
    try:
        answer = act(json.loads(sys.stdin.read()))
    except Exception as exc:  # a bug in wbadmin: the parent reports it
        answer = {"error": "failed", "message": f"wbadmin's worker failed: {exc!r}"[:500]}
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        json.dump(answer, out, default=str)
    try:
        import wandb

        wandb.teardown()  # stop wandb-core before the interpreter goes
    except Exception:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
