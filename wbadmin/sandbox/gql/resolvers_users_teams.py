"""Team mutations: createInvite, deleteInvite, createServiceAccount, createTeam.

Permissions follow W&B: org admins and team admins manage a team's members and service
accounts; only org admins create teams. Refusals are `PermissionDenied` (HTTP 200 with an
`errors` entry whose message is "permission denied"), which the SDK turns into `False`/`None`.

Decisions where W&B's behaviour depends on the deployment:
- Inviting an existing, active org user (by username, or by the email of such a user) on a
  Dedicated sandbox adds them to the team at once, as W&B Dedicated does; the payload's
  `invite` is then null. On Multi-tenant, and for people without an active org account, a
  pending invite is recorded and listed among the team's members with `pending: true`.
- Removing the last admin of a team is allowed: W&B's own rule is not documented, and guarding
  against it is the client's job.
"""

from __future__ import annotations

import re
from typing import Any

from ... import clock
from .. import ids
from ..auth import can_admin_team
from ..db import Database
from .context import Context, GraphQLFault, NotFound, PermissionDenied
from .resolvers_users import (
    audit,
    entity_by_name,
    entity_node,
    iso,
    new_api_key,
    team_by_name,
    user_node,
)

TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _next_seq(conn: Any) -> int:
    """The next listing position: members and invites share one ordering."""
    row = conn.execute("SELECT MAX(s) FROM (SELECT MAX(seq) AS s FROM team_members "
                       "UNION ALL SELECT MAX(seq) FROM invites)").fetchone()
    return (row[0] or 0) + 1


def _team_for(ctx: Context, name: str | None) -> Any:
    team = team_by_name(ctx.db, name)
    if team is None or team["org_id"] != ctx.viewer.org_id:
        raise NotFound(f"entity {name!r} not found")
    return team


def invite_node(db: Database, invite_id: int) -> dict[str, Any] | None:
    """Source dict for an `Invite`."""
    row = db.one("SELECT * FROM invites WHERE id = ?", (invite_id,))
    if row is None:
        return None
    to_user = user_node(db, row["to_user_id"]) if row["to_user_id"] else None
    return {
        "id": ids.encode("Invite", row["id"]),
        "name": row["email"] or (to_user or {}).get("username") or "",
        "email": row["email"],
        "createdAt": iso(row["created_at"]),
        "admin": bool(row["admin"]),
        "toUser": to_user,
        "fromUser": user_node(db, row["from_user_id"]) if row["from_user_id"] else None,
        "entity": entity_node(db, row["team_id"]),
    }


# ---- createInvite ---------------------------------------------------------------------------

def _invite_target(db: Database, email: str | None, username: str | None) -> Any:
    """The existing user an invite names (None for an email nobody has yet)."""
    if bool(email) == bool(username):
        raise GraphQLFault("provide exactly one of email or username")
    if username:
        row = db.one("SELECT * FROM users WHERE username = ?", (username,))
        if row is None:
            raise NotFound(f"user {username!r} not found")
        return row
    if "@" not in email:  # type: ignore[operator]
        raise GraphQLFault(f"invalid email address {email!r}")
    return db.one("SELECT * FROM users WHERE LOWER(email) = LOWER(?)", (email,))


def resolve_create_invite(_root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    db, viewer = ctx.db, ctx.viewer
    team = _team_for(ctx, input.get("entityName"))
    if not can_admin_team(db, viewer, team["id"]):
        raise PermissionDenied()
    email = (input.get("email") or "").strip() or None
    target = _invite_target(db, email, (input.get("username") or "").strip() or None)
    admin = bool(input.get("admin"))
    who = target["username"] if target is not None else email
    if target is not None:
        if target["account_type"] == "SERVICE":
            raise GraphQLFault("service accounts cannot be invited to a team")
        if db.scalar("SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ?",
                     (team["id"], target["id"])):
            raise GraphQLFault(f"{who} is already a member of {team['name']}")
        email = email or target["email"]
    if db.scalar("SELECT 1 FROM invites WHERE team_id = ? AND (to_user_id = ? "
                 "OR LOWER(email) = LOWER(?))",
                 (team["id"], target["id"] if target is not None else -1, email or "")):
        raise GraphQLFault(f"{who} has already been invited to {team['name']}")
    deployment = db.scalar("SELECT deployment FROM orgs WHERE id = ?", (team["org_id"],))
    direct = (target is not None and deployment == "dedicated"
              and target["org_id"] == team["org_id"] and target["active"]
              and target["deleted_at"] is None)
    now = int(clock.now())
    detail = {"entity_name": team["name"], "entity_asset": ids.encode("Entity", team["id"]),
              "user_email": email, "response_code": 200,
              "user_asset": ids.encode("User", target["id"]) if target is not None else None}
    with db.transaction() as conn:
        seq = _next_seq(conn)
        if direct:
            conn.execute("INSERT INTO team_members (team_id, user_id, role, joined_at, seq) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (team["id"], target["id"], "admin" if admin else "member", now, seq))
            invite_id = None
        else:
            cur = conn.execute(
                "INSERT INTO invites (team_id, email, to_user_id, from_user_id, admin, "
                "created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (team["id"], email, target["id"] if target is not None else None, viewer.id,
                 int(admin), now, seq))
            invite_id = int(cur.lastrowid)
        audit(conn, "team:invite_user", viewer.id, **detail)
    return {"invite": None if invite_id is None else invite_node(db, invite_id),
            "success": True}


# ---- deleteInvite ---------------------------------------------------------------------------

def resolve_delete_invite(_root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """Cancel a pending invite (Invite id) or remove a member (User id) from a team."""
    ctx: Context = info.context
    db, viewer = ctx.db, ctx.viewer
    gid, entity_name = input.get("id") or "", input.get("entityName")
    invite_pk, user_pk = ids.decode(gid, "Invite"), ids.decode(gid, "User")
    if invite_pk is None and user_pk is None:
        raise GraphQLFault(f"invalid id {gid!r}")
    if invite_pk is not None:
        invite = db.one("SELECT * FROM invites WHERE id = ?", (invite_pk,))
        team = None if invite is None else db.one("SELECT * FROM entities WHERE id = ?",
                                                  (invite["team_id"],))
        if (invite is None or team["org_id"] != viewer.org_id
                or (entity_name and entity_name != team["name"])):
            raise NotFound("invite not found")
    else:
        if not entity_name:
            raise GraphQLFault("entityName is required to remove a member")
        team = _team_for(ctx, entity_name)
        invite = db.one("SELECT * FROM invites WHERE team_id = ? AND to_user_id = ?",
                        (team["id"], user_pk))
        is_member = db.scalar("SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ?",
                              (team["id"], user_pk))
        if not is_member and invite is None:
            raise NotFound("member not found")
        if is_member:
            invite = None
    if not can_admin_team(db, viewer, team["id"]):
        raise PermissionDenied()
    with db.transaction() as conn:
        if invite is not None:
            conn.execute("DELETE FROM invites WHERE id = ?", (invite["id"],))
            email, asset = invite["email"], None
        else:
            conn.execute("DELETE FROM team_members WHERE team_id = ? AND user_id = ?",
                         (team["id"], user_pk))
            # Explicit grants in the team's (restricted) projects go with the membership.
            conn.execute("DELETE FROM project_members WHERE user_id = ? AND project_id IN "
                         "(SELECT id FROM projects WHERE entity_id = ?)", (user_pk, team["id"]))
            email = conn.execute("SELECT email FROM users WHERE id = ?",
                                 (user_pk,)).fetchone()[0]
            asset = ids.encode("User", user_pk)
        audit(conn, "team:uninvite", viewer.id, entity_name=team["name"],
              entity_asset=ids.encode("Entity", team["id"]), user_email=email,
              user_asset=asset, response_code=200)
    return {"success": True}


# ---- createServiceAccount -------------------------------------------------------------------

def _free_username(conn: Any, base: str) -> str:
    candidate, n = base, 1
    while conn.execute("SELECT 1 FROM users WHERE username = ? UNION ALL "
                       "SELECT 1 FROM entities WHERE name = ?", (candidate, candidate)).fetchone():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def resolve_create_service_account(_root: Any, info: Any, input: dict[str, Any]
                                   ) -> dict[str, Any]:
    """A team-scoped service account with its own key, added as the team's newest member."""
    ctx: Context = info.context
    db, viewer = ctx.db, ctx.viewer
    team = _team_for(ctx, input.get("entityName"))
    if not can_admin_team(db, viewer, team["id"]):
        raise PermissionDenied()
    description = (input.get("description") or "").strip()
    if not description:
        raise GraphQLFault("description must not be empty")
    base = re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-")[:32].strip("-")
    now = int(clock.now())
    with db.transaction() as conn:
        username = _free_username(conn, base or "service-account")
        cur = conn.execute(
            "INSERT INTO users (username, name, email, entity_id, org_id, org_role, account_type,"
            " sa_scope, sa_team_id, created_at) VALUES (?, ?, NULL, NULL, ?, 'member', 'SERVICE',"
            " 'team', ?, ?)", (username, description, team["org_id"], team["id"], now))
        sa_id = int(cur.lastrowid)
        new_api_key(conn, sa_id, "default")
        conn.execute("INSERT INTO team_members (team_id, user_id, role, joined_at, seq) "
                     "VALUES (?, ?, 'member', ?, ?)", (team["id"], sa_id, now, _next_seq(conn)))
        audit(conn, "team:create_service_account", viewer.id, entity_name=team["name"],
              entity_asset=ids.encode("Entity", team["id"]),
              user_asset=ids.encode("User", sa_id), response_code=200)
        # The account's first key is made here: a key creation like generateApiKey's.
        audit(conn, "user:create_api_key", viewer.id, user_asset=ids.encode("User", sa_id),
              response_code=200)
    return {"user": user_node(db, sa_id)}


# ---- createTeam -----------------------------------------------------------------------------

def resolve_create_team(_root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """Org admins create teams; the named admin (default: the caller) becomes team admin."""
    ctx: Context = info.context
    db, viewer = ctx.db, ctx.viewer
    if not viewer.is_org_admin:
        raise PermissionDenied()
    org_gid = input.get("organizationId")
    if org_gid and ids.decode(org_gid, "Organization") != viewer.org_id:
        raise NotFound(f"organization {org_gid!r} not found")
    name = (input.get("teamName") or "").strip()
    if not TEAM_NAME.match(name):
        raise GraphQLFault(f"invalid team name {name!r}: use lowercase letters, digits, "
                           "'-' and '_' (at most 64 characters)")
    if entity_by_name(db, name) is not None or db.scalar(
            "SELECT 1 FROM users WHERE username = ?", (name,)):
        raise GraphQLFault(f"entity name {name!r} is already taken")
    admin_name = input.get("teamAdminUserName")
    if admin_name:
        admin = db.one("SELECT * FROM users WHERE username = ?", (admin_name,))
        if (admin is None or admin["org_id"] != viewer.org_id or not admin["active"]
                or admin["account_type"] != "USER"):
            raise NotFound(f"user {admin_name!r} not found")
        admin_id: int | None = admin["id"]
    else:
        admin_id = None if viewer.is_service_account else viewer.id
    now = int(clock.now())
    with db.transaction() as conn:
        cur = conn.execute("INSERT INTO entities (name, kind, org_id, created_at) "
                           "VALUES (?, 'team', ?, ?)", (name, viewer.org_id, now))
        team_id = int(cur.lastrowid)
        if admin_id is not None:
            conn.execute("INSERT INTO team_members (team_id, user_id, role, joined_at, seq) "
                         "VALUES (?, ?, 'admin', ?, ?)", (team_id, admin_id, now, _next_seq(conn)))
        audit(conn, "team:create", viewer.id, entity_name=name,
              entity_asset=ids.encode("Entity", team_id), response_code=200)
    return {"entity": entity_node(db, team_id)}


RESOLVERS = {
    "Mutation": {
        "createInvite": resolve_create_invite,
        "deleteInvite": resolve_delete_invite,
        "createServiceAccount": resolve_create_service_account,
        "createTeam": resolve_create_team,
    },
}
