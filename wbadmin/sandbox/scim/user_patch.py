"""PATCH /Users/{id}: W&B's attribute operations, including its deployment differences.

All operations of one request run in one transaction: any error rolls every one back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..auth import REGISTRY_ROLE_RANK
from .common import (
    PREDEFINED_ROLES,
    REGISTRY_PREFIX,
    SEATS,
    Ctx,
    Response,
    ScimError,
    audit,
    bad_request,
    check_if_match,
    etag,
    parse_body,
    touch_user,
    user_audit_fields,
)
from .patch import Op, expand, parse_patch
from .render import render_user
from .users import email_taken, find_user, primary_email, reload, remove_from_org, require_seat


@dataclass
class State:
    ctx: Ctx
    conn: sqlite3.Connection
    pk: int
    changed: bool = False
    removed: bool = False

    @property
    def row(self) -> sqlite3.Row:
        return reload(self.ctx, self.pk)

    def set(self, **values: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        self.conn.execute(f"UPDATE users SET {cols} WHERE id = ?", (*values.values(), self.pk))
        self.changed = True

    def audit(self, action: str, **extra: Any) -> None:
        audit(self.conn, self.ctx, action, self.ctx.now, **user_audit_fields(self.row), **extra)


def _string(op: Op, name: str) -> str:
    if not isinstance(op.value, str) or not op.value.strip():
        raise bad_request(f"{name} needs a non-empty string value")
    return op.value.strip()


def _replace_only(op: Op, name: str) -> None:
    if op.op == "remove":
        raise bad_request(f"{name} cannot be removed")


def _dedicated_only(st: State, what: str) -> None:
    if st.ctx.multi_tenant:
        raise bad_request(f"{what} operations are not supported in SaaS Cloud")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # some IdPs (Entra ID) send "False"
    raise bad_request(f"active must be a boolean, got {value!r}")


# ---- attributes ----------------------------------------------------------------------------

def _active(st: State, op: Op) -> None:
    _replace_only(op, "active")
    active, row = _bool(op.value), st.row
    if not active:
        if st.ctx.multi_tenant:
            # Multi-tenant "deactivation" removes the user from the org; re-add with POST.
            st.audit("user:deactivate")
            remove_from_org(st.conn, st.pk, deleted_at=None)
            st.changed = st.removed = True
        elif row["active"]:
            st.set(active=0)
            st.audit("user:deactivate")
        return
    if st.ctx.multi_tenant:
        raise bad_request("User reactivation operations are not supported in SaaS Cloud")
    if not row["active"]:
        require_seat(st.ctx, row, row["models_seat"])
        st.set(active=1)
        st.audit("user:reactivate")


def _organization_role(st: State, op: Op) -> None:
    _replace_only(op, "organizationRole")
    role, row = _string(op, "organizationRole").lower(), st.row
    if role not in PREDEFINED_ROLES:
        raise bad_request(f"organizationRole must be admin, member or viewer, got {op.value!r}")
    if role != "viewer":
        if row["org_role"] != role:
            st.set(org_role=role)
            st.audit("organization:update_member")
        return
    # The deprecated org viewer role: member + viewer seats + viewer everywhere.
    require_seat(st.ctx, row, "viewer")
    st.set(org_role="member", models_seat="viewer", weave_role="viewer")
    st.conn.execute("UPDATE team_members SET role = 'viewer', custom_role_id = NULL "
                    "WHERE user_id = ?", (st.pk,))
    st.conn.execute("UPDATE project_members SET role = 'viewer' WHERE user_id = ? AND project_id "
                    "IN (SELECT id FROM projects WHERE is_registry = 0)", (st.pk,))
    st.conn.execute(
        "INSERT INTO project_members (project_id, user_id, role) "
        "SELECT id, ?, 'viewer' FROM projects WHERE is_registry = 1 AND entity_id = ? "
        "AND access != 'RESTRICTED' "
        "ON CONFLICT(project_id, user_id) DO UPDATE SET role = 'viewer'",
        (st.pk, st.ctx.org_entity_id))
    st.audit("organization:update_member")


def _items(op: Op, name: str) -> list[dict[str, Any]]:
    items = op.value if isinstance(op.value, list) else [op.value]
    if not items or not all(isinstance(i, dict) for i in items):
        raise bad_request(f"{name} needs an array of objects")
    return items


def _team_roles(st: State, op: Op) -> None:
    if op.op == "remove":
        raise bad_request("teamRoles cannot be removed; remove the user from the team (Groups)")
    db, row = st.ctx.db, st.row
    for item in _items(op, "teamRoles"):
        team_name, role_name = item.get("teamName"), item.get("roleName")
        if not isinstance(team_name, str) or not isinstance(role_name, str):
            raise bad_request("each teamRoles entry needs teamName and roleName")
        team = db.one("SELECT id FROM entities WHERE kind = 'team' AND org_id = ? AND name = ?",
                      (st.ctx.org_id, team_name))
        if team is None:
            raise bad_request(f"team {team_name!r} not found")
        if db.one("SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ?",
                  (team["id"], st.pk)) is None:
            raise bad_request(f"user {row['username']!r} is not a member of team {team_name!r}")
        # Predefined names are case-insensitive; custom role names are case-sensitive.
        role, custom_id = role_name.lower(), None
        if role not in PREDEFINED_ROLES:
            custom = db.one("SELECT id FROM custom_roles WHERE org_id = ? AND name = ?",
                            (st.ctx.org_id, role_name))
            if custom is None:
                raise bad_request(f"role {role_name!r} not found")
            if row["org_role"] != "member":
                raise bad_request("custom roles can only be assigned to users whose "
                                  "organization role is member")
            role, custom_id = "custom", custom["id"]
        st.conn.execute("UPDATE team_members SET role = ?, custom_role_id = ? "
                        "WHERE team_id = ? AND user_id = ?", (role, custom_id, team["id"], st.pk))
        st.changed = True


def _registry(st: State, name: Any) -> int:
    if not isinstance(name, str) or not name:
        raise bad_request("registryName must be a non-empty string")
    pid = st.ctx.db.scalar("SELECT id FROM projects WHERE is_registry = 1 AND entity_id = ? "
                           "AND name = ?", (st.ctx.org_entity_id,
                                            REGISTRY_PREFIX + name.removeprefix(REGISTRY_PREFIX)))
    if pid is None:
        raise bad_request(f"registry {name!r} not found")
    return pid


def _registry_roles(st: State, op: Op) -> None:
    if op.filter is not None and op.filter[0] != "registryname":
        raise bad_request(f"unsupported filter in path {op.path!r}")
    if op.op == "remove" or (op.op == "replace" and not op.has_value):
        if op.filter is not None:
            pids = [_registry(st, op.filter[1])]
        else:
            pids = [r[0] for r in st.ctx.db.query(
                "SELECT id FROM projects WHERE is_registry = 1 AND entity_id = ?",
                (st.ctx.org_entity_id,))]
        for pid in pids:
            st.conn.execute("DELETE FROM project_members WHERE project_id = ? AND user_id = ?",
                            (pid, st.pk))
        st.changed = True
        return
    if op.filter is not None:
        raise bad_request("add registryRoles with the path registryRoles, not a filter")
    for item in _items(op, "registryRoles"):
        pid = _registry(st, item.get("registryName"))
        role = str(item.get("roleName", "")).lower().replace(" ", "_").replace("-", "_")
        if role not in REGISTRY_ROLE_RANK:
            raise bad_request(f"registry roleName must be admin, member, viewer or "
                              f"restricted_viewer, got {item.get('roleName')!r}")
        st.conn.execute("INSERT INTO project_members (project_id, user_id, role) VALUES (?, ?, ?) "
                        "ON CONFLICT(project_id, user_id) DO UPDATE SET role = excluded.role",
                        (pid, st.pk, role))
        st.changed = True


def _emails(st: State, op: Op) -> None:
    _dedicated_only(st, "User email update")
    _replace_only(op, "emails")
    if op.sub == "value" and isinstance(op.value, str):  # emails[type eq "work"].value
        email = primary_email([{"value": op.value}])
    else:
        email = primary_email(op.value)
    if email_taken(st.ctx, email, st.pk):
        raise ScimError(409, f"user with email {email!r} already exists")
    st.set(email=email)


def _display_name(st: State, op: Op) -> None:
    _dedicated_only(st, "User display name update")
    _replace_only(op, "displayName")
    st.set(name=_string(op, "displayName"))


def _seat(column: str, label: str) -> Callable[[State, Op], None]:
    def apply(st: State, op: Op) -> None:
        _dedicated_only(st, f"User {label} update")
        _replace_only(op, label)
        value = _string(op, label).lower()
        if value not in SEATS:
            raise bad_request(f"{label} must be one of full, viewer, none")
        row = st.row
        if row[column] == value:
            return
        if column == "models_seat":
            require_seat(st.ctx, row, value)
        st.set(**{column: value})
        st.audit("organization:update_member")
    return apply


ATTRIBUTES: dict[str, Callable[[State, Op], None]] = {
    "active": _active,
    "organizationrole": _organization_role,
    "teamroles": _team_roles,
    "registryroles": _registry_roles,
    "emails": _emails,
    "displayname": _display_name,
    "modelsseat": _seat("models_seat", "modelsSeat"),
    "weaverole": _seat("weave_role", "weaveRole"),
}


def patch_user(ctx: Ctx, user_id: str, headers: dict[str, str], raw: bytes) -> Response:
    ops = [sub for op in parse_patch(parse_body(raw)) for sub in expand(op)]
    with ctx.db.transaction() as conn:
        row = find_user(ctx, user_id)
        check_if_match(headers, row["version"])
        st = State(ctx, conn, row["id"])
        for op in ops:
            if st.removed:
                raise bad_request("the user was removed from the organization by an earlier "
                                  "operation of this request")
            apply = ATTRIBUTES.get(op.attr or "")
            if apply is None:
                raise bad_request(f"unsupported attribute {op.path!r}")
            apply(st, op)
        if st.changed:
            touch_user(conn, st.pk, ctx.now)
        row = st.row
    return 200, {"ETag": etag(row["version"])}, render_user(ctx, row)
