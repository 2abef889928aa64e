"""/Roles: the org's custom roles (a W&B extension of SCIM). Deleting a role gives its holders
the predefined role it inherits from."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .. import ids
from . import permissions
from .common import (
    PREDEFINED_ROLES,
    Ctx,
    Response,
    ScimError,
    bad_request,
    check_if_match,
    etag,
    parse_body,
    touch_user,
)
from .filters import list_response, page_params, parse_eq
from .patch import Op, expand, parse_patch
from .render import render_role


def find_role(ctx: Ctx, role_id: str) -> sqlite3.Row:
    pk = ids.decode(role_id, "Role")
    row = None if pk is None else ctx.db.one(
        "SELECT * FROM custom_roles WHERE id = ? AND org_id = ?", (pk, ctx.org_id))
    if row is None:
        raise ScimError(404, f"role {role_id} not found")
    return row


def get_role(ctx: Ctx, role_id: str) -> Response:
    row = find_role(ctx, role_id)
    return 200, {"ETag": etag(row["version"])}, render_role(ctx, row)


def list_roles(ctx: Ctx, query: dict[str, str]) -> Response:
    start, count = page_params(query, ctx.paging)
    where, params = "org_id = ?", [ctx.org_id]
    if query.get("filter"):
        _, value = parse_eq(query["filter"], ("name",))
        where += " AND name = ?"  # custom role names are case-sensitive
        params.append(value)
    total = ctx.db.scalar(f"SELECT COUNT(*) FROM custom_roles WHERE {where}", tuple(params))
    rows = ctx.db.query(f"SELECT * FROM custom_roles WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
                        (*params, count, start - 1))
    return 200, {}, list_response([render_role(ctx, r) for r in rows], total, start, count)


# ---- validation ----------------------------------------------------------------------------

def _name(ctx: Ctx, value: Any, except_id: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_request("name is required")
    name = value.strip()
    if name.lower() in PREDEFINED_ROLES:
        raise ScimError(409, f"{name!r} is a predefined role")
    if ctx.db.scalar("SELECT COUNT(*) FROM custom_roles WHERE org_id = ? AND name = ? AND id != ?",
                     (ctx.org_id, name, except_id or 0)):
        raise ScimError(409, f"a custom role named {name!r} already exists")
    return name


def _base(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in permissions.BASE:
        raise bad_request(f"inheritedFrom must be member or viewer, got {value!r}")
    return value.lower()


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request("description must be a string")
    return value


def _permission_names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise bad_request("permissions must be an array of {name} objects")
        if name not in permissions.CATALOGUE:
            raise bad_request(f"unknown permission {name!r}")
        names.append(name)
    return names


def _custom(names: list[str] | set[str], base: str) -> list[str]:
    """What is stored: the admin-added permissions (inherited ones are implied)."""
    return sorted(set(names) - set(permissions.inherited(base)))


# ---- endpoints -----------------------------------------------------------------------------

def create_role(ctx: Ctx, raw: bytes) -> Response:
    body = parse_body(raw)
    base = _base(body.get("inheritedFrom"))
    perms = _permission_names(body.get("permissions") or [])
    description = _description(body.get("description"))
    with ctx.db.transaction() as conn:
        name = _name(ctx, body.get("name"))
        pk = conn.execute(
            "INSERT INTO custom_roles (org_id, name, description, inherited_from, permissions, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ctx.org_id, name, description, base, json.dumps(_custom(perms, base)),
             ctx.now, ctx.now)).lastrowid
        assert pk is not None
        row = find_role(ctx, ids.encode("Role", pk))
    role = render_role(ctx, row)
    return 201, {"ETag": etag(row["version"]), "Location": role["meta"]["location"]}, role


def _save(conn: sqlite3.Connection, ctx: Ctx, pk: int, name: str, description: str, base: str,
          custom: list[str]) -> None:
    conn.execute("UPDATE custom_roles SET name = ?, description = ?, inherited_from = ?, "
                 "permissions = ?, updated_at = ?, version = version + 1 WHERE id = ?",
                 (name, description, base, json.dumps(custom), ctx.now, pk))
    # Holders' teamRoles show the role name: their representation changed too.
    for (user_id,) in ctx.db.query("SELECT DISTINCT user_id FROM team_members "
                                   "WHERE custom_role_id = ?", (pk,)):
        touch_user(conn, user_id, ctx.now)


def put_role(ctx: Ctx, role_id: str, headers: dict[str, str], raw: bytes) -> Response:
    """Replace the definition; without `permissions` the custom permissions are kept."""
    body = parse_body(raw)
    with ctx.db.transaction() as conn:
        row = find_role(ctx, role_id)
        check_if_match(headers, row["version"])
        base = _base(body.get("inheritedFrom", row["inherited_from"]))
        if "permissions" in body:
            perms: list[str] = _permission_names(body["permissions"] or [])
        else:
            perms = json.loads(row["permissions"])
        _save(conn, ctx, row["id"], _name(ctx, body.get("name"), row["id"]),
              _description(body.get("description")), base, _custom(perms, base))
        row = find_role(ctx, role_id)
    return 200, {"ETag": etag(row["version"])}, render_role(ctx, row)


def _apply(row: dict[str, Any], ctx: Ctx, op: Op) -> None:
    attr = op.attr
    if attr == "permissions":
        if op.filter is not None:  # permissions[name eq "x"]
            if op.op != "remove" or op.filter[0] != "name":
                raise bad_request(f"unsupported path {op.path!r}")
            names = _permission_names([{"name": op.filter[1]}])
        else:
            names = _permission_names(op.value) if op.has_value else []
        inherited = set(permissions.inherited(row["base"]))
        if op.op == "add":
            row["custom"] |= set(names) - inherited
        elif op.op == "remove":
            if not op.has_value and op.filter is None:
                row["custom"] = set()
            for name in names:
                if name in inherited:
                    raise bad_request(f"{name!r} is inherited from {row['base']} and cannot "
                                      "be removed")
                row["custom"].discard(name)
        else:
            row["custom"] = set(names) - inherited
    elif attr in ("name", "description", "inheritedfrom"):
        if op.op == "remove":
            raise bad_request(f"{op.path} cannot be removed")
        if attr == "name":
            row["name"] = _name(ctx, op.value, row["id"])
        elif attr == "description":
            row["description"] = _description(op.value)
        else:
            row["base"] = _base(op.value)
    else:
        raise bad_request(f"unsupported attribute {op.path!r}")


def patch_role(ctx: Ctx, role_id: str, headers: dict[str, str], raw: bytes) -> Response:
    ops = [sub for op in parse_patch(parse_body(raw)) for sub in expand(op)]
    with ctx.db.transaction() as conn:
        found = find_role(ctx, role_id)
        check_if_match(headers, found["version"])
        row = {"id": found["id"], "name": found["name"], "description": found["description"],
               "base": found["inherited_from"], "custom": set(json.loads(found["permissions"]))}
        for op in ops:
            _apply(row, ctx, op)
        _save(conn, ctx, row["id"], row["name"], row["description"], row["base"],
              _custom(row["custom"], row["base"]))
        found = find_role(ctx, role_id)
    return 200, {"ETag": etag(found["version"])}, render_role(ctx, found)


def delete_role(ctx: Ctx, role_id: str, headers: dict[str, str]) -> Response:
    with ctx.db.transaction() as conn:
        row = find_role(ctx, role_id)
        check_if_match(headers, row["version"])
        holders = [r[0] for r in ctx.db.query(
            "SELECT DISTINCT user_id FROM team_members WHERE custom_role_id = ?", (row["id"],))]
        # Holders fall back to the predefined role the custom role inherits from.
        conn.execute("UPDATE team_members SET role = ?, custom_role_id = NULL "
                     "WHERE custom_role_id = ?", (row["inherited_from"], row["id"]))
        for user_id in holders:
            touch_user(conn, user_id, ctx.now)
        conn.execute("DELETE FROM custom_roles WHERE id = ?", (row["id"],))
    return 204, {}, None
