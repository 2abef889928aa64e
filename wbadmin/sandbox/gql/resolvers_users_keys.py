"""API keys and user creation: generateApiKey, deleteApiKey, createUser.

`generateApiKey` runs as the caller (it takes no user) and is the one place a secret appears
on the wire: its `apiKey.name` is the new secret, which the SDK's `User.generate_api_key`
returns ("the full secret, not just the name"). Everywhere else `ApiKey.name` is the key's
stored identifier, so listing keys never reveals one.
"""

from __future__ import annotations

import re
from typing import Any

from ... import clock
from .. import ids
from ..auth import can_admin_team
from .context import Context, GraphQLFault, NotFound, PermissionDenied
from .resolvers_users import audit, iso, new_api_key, user_node


def resolve_generate_api_key(_root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    viewer = ctx.viewer
    description = input.get("description")
    with ctx.db.transaction() as conn:
        key_id, secret = new_api_key(conn, viewer.id, description)
        audit(conn, "user:create_api_key", viewer.id, user_asset=ids.encode("User", viewer.id),
              response_code=200)
    created = ctx.db.scalar("SELECT created_at FROM api_keys WHERE id = ?", (key_id,))
    return {"apiKey": {"id": ids.encode("ApiKey", key_id), "name": secret,
                       "description": description, "createdAt": iso(created)}}


def resolve_delete_api_key(_root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """Only the key's owner or an admin (org admin; team admin for the team's service
    accounts) may delete a key."""
    ctx: Context = info.context
    db, viewer = ctx.db, ctx.viewer
    pk = ids.decode(input.get("id") or "", "ApiKey")
    row = None if pk is None else db.one(
        "SELECT k.id, k.user_id, u.org_id, u.sa_team_id, u.email FROM api_keys k "
        "JOIN users u ON u.id = k.user_id WHERE k.id = ?", (pk,))
    if row is None or row["org_id"] not in (None, viewer.org_id):
        raise NotFound("api key not found")
    allowed = (row["user_id"] == viewer.id or viewer.is_org_admin
               or (row["sa_team_id"] is not None
                   and can_admin_team(db, viewer, row["sa_team_id"])))
    if not allowed:
        raise PermissionDenied()
    with db.transaction() as conn:
        conn.execute("DELETE FROM api_keys WHERE id = ?", (pk,))
        audit(conn, "user:delete_api_key", viewer.id,
              user_asset=ids.encode("User", row["user_id"]), user_email=row["email"],
              response_code=200)
    return {"success": True}


def resolve_create_user(_root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """Admins add a person to the org by email; `admin: true` makes a global instance admin."""
    ctx: Context = info.context
    db, viewer = ctx.db, ctx.viewer
    if not viewer.is_org_admin:
        raise PermissionDenied()
    email = (input.get("email") or "").strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        raise GraphQLFault(f"invalid email address {email!r}")
    if db.scalar("SELECT 1 FROM users WHERE LOWER(email) = LOWER(?)", (email,)):
        raise GraphQLFault(f"a user with email {email!r} already exists")
    admin = bool(input.get("admin"))
    local = re.sub(r"[^a-z0-9._-]+", "-", email.split("@")[0].lower()).strip("-.") or "user"
    now = int(clock.now())
    with db.transaction() as conn:
        username, n = local, 1
        while conn.execute("SELECT 1 FROM users WHERE username = ? UNION ALL "
                           "SELECT 1 FROM entities WHERE name = ?", (username, username)
                           ).fetchone():
            n += 1
            username = f"{local}{n}"
        cur = conn.execute("INSERT INTO entities (name, kind, org_id, created_at) "
                           "VALUES (?, 'user', ?, ?)", (username, viewer.org_id, now))
        cur = conn.execute(
            "INSERT INTO users (username, name, email, entity_id, org_id, org_role, "
            "account_type, instance_admin, created_at) VALUES (?, ?, ?, ?, ?, ?, 'USER', ?, ?)",
            (username, username, email, int(cur.lastrowid), viewer.org_id,
             "admin" if admin else "member", int(admin), now))
        user_id = int(cur.lastrowid)
        audit(conn, "user:create", viewer.id, user_asset=ids.encode("User", user_id),
              user_email=email, response_code=200)
    node = user_node(db, user_id)
    if node is None:  # pragma: no cover - just inserted
        raise NotFound("user not found")
    return {"user": node}


RESOLVERS = {
    "Mutation": {
        "generateApiKey": resolve_generate_api_key,
        "deleteApiKey": resolve_delete_api_key,
        "createUser": resolve_create_user,
    },
}
