"""Users, entities, team members, the organization: node builders and read resolvers.

Node builders are shared with other areas (a run's `user`, a project's `entity`, a registry's
`organization`): `user_node`, `entity_node` and `org_node` return the source dict for a `User`,
`Entity` and `Organization`. Each dict carries the row's integer key as `_pk` (plus `_org_id`,
and `_kind` for entities) so resolvers of `extend type` fields can find their rows.

Visibility follows W&B: the caller sees entities and users of their own organization; API-key
names only for themselves (or, as an admin, for others); a service account's key in a team's
member list only when the caller can admin that team.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import Any

from ... import clock
from .. import ids
from ..audit import record
from ..auth import Identity, can_admin_team
from ..db import Database
from ..seed import key_name
from .context import Context, PermissionDenied
from .paging import connection, page_bounds


def iso(ts: int | None) -> str | None:
    """W&B's DateTime format (UTC, no offset)."""
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


# ---- node builders (imported by other areas) ----------------------------------------------

def default_entity_name(db: Database, user: Any) -> str | None:
    """A user's default entity: the personal entity; a service account's team (as on W&B).

    An org-scoped service account without a default team gets the org entity, so that
    registry calls (which resolve the org from the default entity) work for it.
    """
    if user["entity_id"] is not None:
        return db.scalar("SELECT name FROM entities WHERE id = ?", (user["entity_id"],))
    if user["sa_team_id"] is not None:
        return db.scalar("SELECT name FROM entities WHERE id = ?", (user["sa_team_id"],))
    if user["org_id"] is not None:
        return db.scalar("SELECT e.name FROM orgs o JOIN entities e ON e.id = o.entity_id "
                         "WHERE o.id = ?", (user["org_id"],))
    return None


def user_node(db: Database, user_id: int) -> dict[str, Any] | None:
    """Source dict for a `User` (or None when there is no such user)."""
    row = db.one("SELECT * FROM users WHERE id = ?", (user_id,))
    return None if row is None else user_node_of(row)


def prefetch_users(ctx: Any, user_ids: Iterable[int | None]) -> None:
    """Remember the `User` nodes of many users in one query (a page of runs' users)."""
    if ctx.memo is None:
        return
    wanted = list({u for u in user_ids if u is not None and ("user", u) not in ctx.memo})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = {r["id"]: r for r in ctx.db.query(
            f"SELECT * FROM users WHERE id IN ({', '.join('?' * len(chunk))})", chunk)}
        for user_id in chunk:
            row = rows.get(user_id)
            ctx.memo[("user", user_id)] = None if row is None else user_node_of(row)


def user_node_of(row: Any) -> dict[str, Any]:
    """Source dict for a `User` from its `users` row (`entity` has a resolver: it costs a
    query, and a page of runs asks for their users' names only)."""
    return {
        "_row": row,
        "_pk": row["id"],
        "_org_id": row["org_id"],
        "_entity_id": row["entity_id"] or row["sa_team_id"],
        "_sa_team_id": row["sa_team_id"],
        "id": ids.Deferred(ids.encode, "User", row["id"]),
        "name": row["name"],
        "username": row["username"],
        "email": row["email"],
        "photoUrl": None,
        "admin": bool(row["instance_admin"]),
        "flags": "{}",
        "accountType": row["account_type"],
        "deletedAt": ids.Deferred(iso, row["deleted_at"]),
        "createdAt": ids.Deferred(iso, row["created_at"]),
    }


def entity_node(db: Database, entity_id: int) -> dict[str, Any] | None:
    """Source dict for an `Entity` (personal, team or org entity), or None."""
    row = db.one("SELECT * FROM entities WHERE id = ?", (entity_id,))
    if row is None:
        return None
    return {
        "_pk": row["id"],
        "_kind": row["kind"],
        "_org_id": row["org_id"],
        "id": ids.encode("Entity", row["id"]),
        "name": row["name"],
        "available": False,  # the name is taken by this very entity
        "photoUrl": None,
        "readOnly": bool(row["read_only"]),
        "readOnlyAdmin": False,
        "isTeam": row["kind"] != "user",
        "entityType": row["kind"],  # W&B's lowercase: user | team | organization
        "privateOnly": bool(row["private_only"]),
        "storageBytes": int(row["storage_bytes"]),
        "codeSavingEnabled": bool(row["code_saving_enabled"]),
        "defaultAccess": row["default_access"],
        "isPaid": None,
        "limits": None,
        "createdAt": iso(row["created_at"]),
    }


def org_node(db: Database, org_id: int) -> dict[str, Any] | None:
    """Source dict for an `Organization`, or None."""
    row = db.one("SELECT * FROM orgs WHERE id = ?", (org_id,))
    if row is None:
        return None
    return {
        "_pk": row["id"],
        "_org_id": row["id"],
        "_entity_id": row["entity_id"],
        "id": ids.encode("Organization", row["id"]),
        "name": row["name"],
        "orgType": row["deployment"],
        "createdAt": iso(row["created_at"]),
    }


def entity_by_name(db: Database, name: str | None) -> Any:
    return None if not name else db.one("SELECT * FROM entities WHERE name = ?", (name,))


def team_by_name(db: Database, name: str | None) -> Any:
    row = entity_by_name(db, name)
    return row if row is not None and row["kind"] == "team" else None


def can_see_user_keys(db: Database, viewer: Identity, user_id: int, sa_team_id: int | None
                      ) -> bool:
    """Own keys; org admins see all; team admins see their team's service-account keys."""
    if viewer.id == user_id or viewer.is_org_admin:
        return True
    return sa_team_id is not None and can_admin_team(db, viewer, sa_team_id)


# ---- queries --------------------------------------------------------------------------------

def resolve_viewer(_root: Any, info: Any, entityName: str | None = None) -> dict | None:
    ctx: Context = info.context
    return user_node(ctx.db, ctx.viewer.id)


def resolve_users(_root: Any, info: Any, query: str | None = None,
                  usernames: list[str] | None = None, first: int | None = None,
                  after: str | None = None) -> dict:
    """User search ("only works for local administrators", as the SDK says)."""
    ctx: Context = info.context
    if not ctx.viewer.is_org_admin:
        raise PermissionDenied()
    where = ["(org_id = ? OR org_id IS NULL)"]
    params: list[Any] = [ctx.viewer.org_id]
    if query:
        like = f"%{query.lower()}%"
        where.append("(LOWER(username) LIKE ? OR LOWER(COALESCE(email, '')) LIKE ? "
                     "OR LOWER(name) LIKE ?)")
        params += [like, like, like]
    if usernames:
        where.append(f"username IN ({', '.join('?' for _ in usernames)})")
        params += list(usernames)
    sql_where = " AND ".join(where)
    total = ctx.db.scalar(f"SELECT COUNT(*) FROM users WHERE {sql_where}", tuple(params))
    offset, limit = page_bounds(after, first, default=1000)
    rows = ctx.db.query(f"SELECT id FROM users WHERE {sql_where} ORDER BY id LIMIT ? OFFSET ?",
                        (*params, limit, offset))
    return connection(rows, offset, total, lambda r: user_node(ctx.db, r["id"]))


def resolve_user(_root: Any, info: Any, id: str | None = None,
                 userName: str | None = None) -> dict | None:
    ctx: Context = info.context
    if id is not None:
        pk = ids.decode(id, "User")
        row = None if pk is None else ctx.db.one("SELECT id, org_id FROM users WHERE id = ?",
                                                 (pk,))
    elif userName:
        row = ctx.db.one("SELECT id, org_id FROM users WHERE username = ?", (userName,))
    else:
        row = ctx.db.one("SELECT id, org_id FROM users WHERE id = ?", (ctx.viewer.id,))
    if row is None or row["org_id"] not in (None, ctx.viewer.org_id):
        return None
    return user_node(ctx.db, row["id"])


def resolve_entity(_root: Any, info: Any, name: str | None = None,
                   login: bool | None = None) -> dict | None:
    ctx: Context = info.context
    row = entity_by_name(ctx.db, name)
    if row is None or row["org_id"] != ctx.viewer.org_id:
        return None  # entities of other organizations are invisible, as if absent
    return entity_node(ctx.db, row["id"])


def resolve_organization(_root: Any, info: Any, name: str | None = None,
                         id: str | None = None) -> dict | None:
    ctx: Context = info.context
    if id is not None:
        org_id = ids.decode(id, "Organization")
    elif name:
        # The org's display name, or its org entity's name (the same in the sandbox).
        org_id = ctx.db.scalar("SELECT o.id FROM orgs o JOIN entities e ON e.id = o.entity_id "
                               "WHERE o.name = ? OR e.name = ?", (name, name))
    else:
        org_id = ctx.viewer.org_id
    if org_id is None or org_id != ctx.viewer.org_id:
        return None
    return org_node(ctx.db, org_id)


# ---- User fields ----------------------------------------------------------------------------

def _api_key_node(row: Any) -> dict[str, Any]:
    return {"id": ids.encode("ApiKey", row["id"]), "name": row["name"],
            "description": row["description"], "createdAt": iso(row["created_at"])}


def resolve_user_api_keys(user: dict, info: Any, first: int | None = None,
                          after: str | None = None) -> dict | None:
    ctx: Context = info.context
    if not can_see_user_keys(ctx.db, ctx.viewer, user["_pk"], user.get("_sa_team_id")):
        return None
    total = ctx.db.scalar("SELECT COUNT(*) FROM api_keys WHERE user_id = ?", (user["_pk"],))
    offset, limit = page_bounds(after, first, default=100)
    rows = ctx.db.query("SELECT * FROM api_keys WHERE user_id = ? ORDER BY id LIMIT ? OFFSET ?",
                        (user["_pk"], limit, offset))
    return connection(rows, offset, total, _api_key_node)


def resolve_user_teams(user: dict, info: Any, first: int | None = None,
                       after: str | None = None) -> dict:
    ctx: Context = info.context
    base = ("FROM team_members m JOIN entities e ON e.id = m.team_id "
            "WHERE m.user_id = ? AND e.kind = 'team'")
    total = ctx.db.scalar(f"SELECT COUNT(*) {base}", (user["_pk"],))
    offset, limit = page_bounds(after, first, default=1000)
    rows = ctx.db.query(f"SELECT e.id {base} ORDER BY e.name LIMIT ? OFFSET ?",
                        (user["_pk"], limit, offset))
    return connection(rows, offset, total, lambda r: entity_node(ctx.db, r["id"]))


def resolve_user_organizations(user: dict, info: Any) -> list[dict]:
    org = None if user["_org_id"] is None else org_node(info.context.db, user["_org_id"])
    return [org] if org else []


def resolve_user_entity(user: dict, info: Any) -> dict | None:
    pk = info.context.db.scalar("SELECT entity_id FROM users WHERE id = ?", (user["_pk"],))
    return None if pk is None else entity_node(info.context.db, pk)


def resolve_user_entity_name(user: dict, info: Any) -> str | None:
    row = user.get("_row")
    return user.get("entity") if row is None else default_entity_name(info.context.db, row)


def resolve_default_entity(user: dict, info: Any) -> dict | None:
    row = entity_by_name(info.context.db, resolve_user_entity_name(user, info))
    return None if row is None else entity_node(info.context.db, row["id"])


# ---- Entity fields --------------------------------------------------------------------------

def resolve_entity_organization(entity: dict, info: Any) -> dict | None:
    if entity["_kind"] == "user" or entity["_org_id"] is None:
        return None  # personal entities reach their orgs through `user.organizations`
    return org_node(info.context.db, entity["_org_id"])


def resolve_entity_user(entity: dict, info: Any) -> dict | None:
    if entity["_kind"] != "user":
        return None
    pk = info.context.db.scalar("SELECT id FROM users WHERE entity_id = ?", (entity["_pk"],))
    return None if pk is None else user_node(info.context.db, pk)


def team_members(db: Database, viewer: Identity, team_id: int) -> list[dict[str, Any]]:
    """Members then pending invites, merged in `seq` order (so a new member sorts last)."""
    show_keys = can_admin_team(db, viewer, team_id)
    out: list[tuple[int, dict[str, Any]]] = []
    for r in db.query(
            "SELECT m.seq, m.role, u.id, u.username, u.name, u.email, u.account_type, "
            "r.name AS custom_name, (SELECT key FROM api_keys k WHERE k.user_id = u.id "
            "ORDER BY k.id LIMIT 1) AS key FROM team_members m JOIN users u ON u.id = m.user_id "
            "LEFT JOIN custom_roles r ON r.id = m.custom_role_id WHERE m.team_id = ?",
            (team_id,)):
        service = r["account_type"] == "SERVICE"
        out.append((r["seq"], {
            "id": ids.encode("User", r["id"]), "admin": r["role"] == "admin",
            "role": r["custom_name"] if r["role"] == "custom" else r["role"],
            "pending": False, "email": r["email"], "username": r["username"],
            "name": r["name"], "photoUrl": None, "accountType": r["account_type"],
            "apiKey": r["key"] if service and show_keys else None,
        }))
    for r in db.query(
            "SELECT i.*, u.username, u.name AS user_name FROM invites i "
            "LEFT JOIN users u ON u.id = i.to_user_id WHERE i.team_id = ?", (team_id,)):
        email = r["email"]
        out.append((r["seq"], {
            "id": ids.encode("Invite", r["id"]), "admin": bool(r["admin"]),
            "role": "admin" if r["admin"] else "member", "pending": True,
            "email": email, "username": r["username"],
            "name": r["user_name"] or email or r["username"] or "", "photoUrl": None,
            "accountType": "USER", "apiKey": None,
        }))
    out.sort(key=lambda pair: pair[0])
    return [member for _, member in out]


def resolve_entity_members(entity: dict, info: Any) -> list[dict]:
    if entity["_kind"] == "user":
        return []
    return team_members(info.context.db, info.context.viewer, entity["_pk"])


def resolve_entity_member_count(entity: dict, info: Any) -> int:
    return info.context.db.scalar("SELECT COUNT(*) FROM team_members WHERE team_id = ?",
                                  (entity["_pk"],))


# ---- Organization fields --------------------------------------------------------------------

def resolve_org_entity(org: dict, info: Any) -> dict | None:
    return entity_node(info.context.db, org["_entity_id"])


def resolve_org_teams(org: dict, info: Any) -> list[dict]:
    db = info.context.db
    rows = db.query("SELECT id FROM entities WHERE org_id = ? AND kind = 'team' ORDER BY name",
                    (org["_pk"],))
    return [node for r in rows if (node := entity_node(db, r["id"])) is not None]


# ---- helpers for this area's mutations ------------------------------------------------------

def audit(conn: Any, action: str, actor_id: int, **detail: Any) -> None:
    """One W&B-style audit entry (`detail` uses W&B's entry field names)."""
    record(conn, int(clock.now()), action, actor_id, **detail)


def new_api_key(conn: Any, user_id: int, description: str | None) -> tuple[int, str]:
    """Issue a fresh key (>= 40 characters, as the SDK requires): (row id, secret)."""
    secret = "sbx-" + secrets.token_hex(20)
    cur = conn.execute(
        "INSERT INTO api_keys (user_id, key, name, description, created_at) VALUES (?, ?, ?, ?, ?)",
        (user_id, secret, key_name(secret), description, int(clock.now())))
    return int(cur.lastrowid), secret


RESOLVERS = {
    "Query": {
        "viewer": resolve_viewer,
        "users": resolve_users,
        "user": resolve_user,
        "entity": resolve_entity,
        "organization": resolve_organization,
    },
    "User": {
        "apiKeys": resolve_user_api_keys,
        "teams": resolve_user_teams,
        "organizations": resolve_user_organizations,
        "userEntity": resolve_user_entity,
        "defaultEntity": resolve_default_entity,
        "entity": resolve_user_entity_name,
    },
    "Entity": {
        "organization": resolve_entity_organization,
        "user": resolve_entity_user,
        "members": resolve_entity_members,
        "memberCount": resolve_entity_member_count,
    },
    "Organization": {
        "orgEntity": resolve_org_entity,
        "teams": resolve_org_teams,
    },
}

