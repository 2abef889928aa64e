"""W&B's SCIM resource shapes, quirks included (capitalised `emails`/`members`, `schemas: [""]`)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .. import ids
from ..db import Database
from . import permissions
from .common import (
    GROUP_URN,
    REGISTRY_PREFIX,
    TEAMS_EXT_URN,
    USER_URN,
    Ctx,
    etag,
    iso,
    modified_at,
)


def registry_name(project_name: str) -> str:
    return project_name.removeprefix(REGISTRY_PREFIX)


def team_roles(db: Database, user_id: int) -> list[dict[str, str]]:
    rows = db.query(
        "SELECT e.name, m.role, r.name AS custom FROM team_members m "
        "JOIN entities e ON e.id = m.team_id LEFT JOIN custom_roles r ON r.id = m.custom_role_id "
        "WHERE m.user_id = ? ORDER BY e.name", (user_id,))
    return [{"teamName": r["name"], "roleName": r["custom"] if r["role"] == "custom" and r["custom"]
             else r["role"]} for r in rows]


def registry_roles(db: Database, ctx: Ctx, user_id: int) -> list[dict[str, str]]:
    rows = db.query(
        "SELECT p.name, m.role FROM project_members m JOIN projects p ON p.id = m.project_id "
        "WHERE m.user_id = ? AND p.is_registry = 1 AND p.entity_id = ? ORDER BY p.name",
        (user_id, ctx.org_entity_id))
    return [{"registryName": registry_name(r["name"]), "roleName": r["role"]} for r in rows]


def render_user(ctx: Ctx, row: sqlite3.Row, *, created: bool = False) -> dict[str, Any]:
    """A User as W&B returns it; `created=True` is the POST response (no lastModified)."""
    db, uid = ctx.db, ids.encode("User", row["id"])
    meta: dict[str, Any] = {"resourceType": "User", "created": iso(row["created_at"])}
    if not created:
        meta["lastModified"] = iso(modified_at(db, "User", row["id"]) or row["created_at"])
    meta["location"] = f"Users/{uid}"
    meta["version"] = etag(row["version"])
    schemas = [USER_URN, TEAMS_EXT_URN] if created and ctx.multi_tenant else [USER_URN]
    teams = db.query("SELECT team_id FROM team_members m JOIN entities e ON e.id = m.team_id "
                     "WHERE m.user_id = ? ORDER BY e.name", (row["id"],))
    user: dict[str, Any] = {
        "active": bool(row["active"]) and row["org_id"] is not None,
        "daysActive": row["days_active"],
        "displayName": row["name"],
        "emails": {"Value": row["email"] or "", "Display": "", "Type": "", "Primary": True},
        "groups": [{"value": ids.encode("Entity", t["team_id"])} for t in teams],
        "id": uid,
        "lastActiveAt": iso(row["last_active_at"]),
        "meta": meta,
        "organizationRole": row["org_role"],
        "registryRoles": registry_roles(db, ctx, row["id"]),
        "schemas": schemas,
        "teamRoles": team_roles(db, row["id"]),
        "userName": row["username"],
    }
    if not ctx.multi_tenant:  # seats are a Dedicated/Self-Managed concept in SCIM
        user["modelsSeat"] = row["models_seat"]
        user["weaveRole"] = row["weave_role"]
    return user


def render_group(ctx: Ctx, row: sqlite3.Row) -> dict[str, Any]:
    """A team as a Group. Members are users only (service accounts are managed in team
    settings, not SCIM); an empty member list is `null`, as W&B returns after remove-all."""
    db, gid = ctx.db, ids.encode("Entity", row["id"])
    members = db.query(
        "SELECT u.id, u.username FROM team_members m JOIN users u ON u.id = m.user_id "
        "WHERE m.team_id = ? AND u.account_type = 'USER' ORDER BY m.seq", (row["id"],))
    return {
        "displayName": row["name"],
        "id": gid,
        "members": [{"Value": ids.encode("User", m["id"]), "Ref": "", "Type": "",
                     "Display": m["username"]} for m in members] or None,
        "meta": {"resourceType": "Group", "created": iso(row["created_at"]),
                 "lastModified": iso(modified_at(db, "Group", row["id"]) or row["created_at"]),
                 "location": f"Groups/{gid}"},
        "schemas": [GROUP_URN],
    }


def render_role(ctx: Ctx, row: sqlite3.Row) -> dict[str, Any]:
    """A custom role; `schemas` is literally `[""]` in W&B's responses."""
    rid = ids.encode("Role", row["id"])
    base = permissions.inherited(row["inherited_from"])
    custom = [p for p in json.loads(row["permissions"]) if p not in base]
    return {
        "description": row["description"],
        "id": rid,
        "inheritedFrom": row["inherited_from"],
        "meta": {"resourceType": "Role", "created": iso(row["created_at"]),
                 "lastModified": iso(row["updated_at"]), "location": f"Roles/{rid}",
                 "version": etag(row["version"])},
        "name": row["name"],
        "organizationID": ids.encode("Organization", ctx.org_id),
        "permissions": [{"name": p, "isInherited": True} for p in base]
                       + [{"name": p, "isInherited": False} for p in sorted(custom)],
        "schemas": [""],
    }
