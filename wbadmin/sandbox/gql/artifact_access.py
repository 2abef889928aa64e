"""Who may read and change artifacts, collections and aliases (W&B's registry matrix).

Team projects follow the project role (admin | member | viewer); registries follow the
effective registry role, where protected aliases need `admin` and `restricted_viewer` and
`viewer` may only look.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from .. import auth
from .context import Context, NotFound, PermissionDenied

WRITE_ROLES = ("member", "admin")


def iso(ts: int | None) -> str | None:
    """W&B prints times as naive UTC ISO-8601."""
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


def _cache(ctx: Context) -> dict[Any, Any]:
    cache = ctx.__dict__.get("_artifact_roles")
    if cache is None:
        cache = ctx.__dict__["_artifact_roles"] = {}
    return cache


def project_row(ctx: Context, pid: int) -> sqlite3.Row | None:
    return ctx.db.one("SELECT * FROM projects WHERE id = ?", (pid,))


def role_in(ctx: Context, pid: int) -> str | None:
    """The caller's role where artifacts live: registry role for registries (including
    `restricted_viewer`), project role otherwise; None means the project is invisible."""
    cache = _cache(ctx)
    if pid not in cache:
        row = project_row(ctx, pid)
        if row is None:
            cache[pid] = None
        elif row["is_registry"]:
            cache[pid] = auth.registry_role(ctx.db, pid, ctx.viewer)
        else:
            cache[pid] = auth.project_role(ctx.db, pid, ctx.viewer)
    return cache[pid]


def can_read(ctx: Context, pid: int) -> bool:
    return role_in(ctx, pid) is not None


def forget_roles(ctx: Context) -> None:
    """Drop cached roles after a mutation changed memberships."""
    _cache(ctx).clear()


def require_write(ctx: Context, pid: int, what: str) -> None:
    role = role_in(ctx, pid)
    if role is None:
        raise NotFound("project not found")
    if role not in WRITE_ROLES:
        raise PermissionDenied(f"permission denied: {role} role cannot {what}")


def protected_aliases(ctx: Context, pid: int) -> set[str]:
    row = project_row(ctx, pid)
    if row is None or not row["is_registry"]:
        return set()
    return set(json.loads(row["protected_aliases"] or "[]"))


def require_alias_edit(ctx: Context, pid: int, alias: str, verb: str) -> None:
    """Members edit ordinary aliases; protected ones need an effective registry admin."""
    require_write(ctx, pid, f"{verb} aliases")
    if alias in protected_aliases(ctx, pid) and role_in(ctx, pid) != "admin":
        raise PermissionDenied(
            f"permission denied: only registry admins may {verb} the protected alias {alias!r}")


def require_registry_admin(ctx: Context, pid: int, what: str) -> sqlite3.Row:
    row = project_row(ctx, pid)
    if row is None or role_in(ctx, pid) is None:
        raise NotFound("registry not found")
    if role_in(ctx, pid) != "admin":
        raise PermissionDenied(f"permission denied: only registry admins may {what}")
    return row


def can_write_artifact(ctx: Context, artifact_id: int) -> bool:
    """Writers of the source project, or members of any registry the version is linked in."""
    pids = [r[0] for r in ctx.db.query(
        "SELECT DISTINCT c.project_id FROM memberships m JOIN artifact_collections c "
        "ON c.id = m.collection_id WHERE m.artifact_id = ?", (artifact_id,))]
    return any(role_in(ctx, pid) in WRITE_ROLES for pid in pids)


def can_read_artifact(ctx: Context, artifact_id: int) -> bool:
    pids = [r[0] for r in ctx.db.query(
        "SELECT DISTINCT c.project_id FROM memberships m JOIN artifact_collections c "
        "ON c.id = m.collection_id WHERE m.artifact_id = ?", (artifact_id,))]
    return any(can_read(ctx, pid) for pid in pids)
