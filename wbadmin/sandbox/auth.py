"""Who is calling, and what W&B lets them do.

GraphQL takes Basic `api:<key>`; SCIM takes Basic `user:<key>`, Basic `:<key>` or
`Bearer <key>`. Roles follow W&B: org role (admin | member | viewer), team role (admin |
member | viewer | custom), registry role (admin | member | viewer | restricted_viewer), and
the effective registry role is the highest of org role, owning-team role and registry role.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from dataclasses import dataclass

from .db import Database

REGISTRY_ROLE_RANK = {"restricted_viewer": 1, "viewer": 2, "member": 3, "admin": 4}
TEAM_ROLE_RANK = {"viewer": 1, "member": 2, "custom": 2, "admin": 3}


@dataclass(frozen=True)
class Identity:
    """The authenticated caller: a user or a service account."""

    id: int
    username: str
    org_id: int | None
    org_role: str | None
    account_type: str  # USER | SERVICE
    sa_scope: str | None  # org | team (service accounts)
    sa_team_id: int | None
    instance_admin: bool

    @property
    def is_service_account(self) -> bool:
        return self.account_type == "SERVICE"

    @property
    def is_org_admin(self) -> bool:
        if self.is_service_account:
            return self.sa_scope == "org"
        return self.org_role == "admin" or self.instance_admin

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Identity:
        return cls(id=row["id"], username=row["username"], org_id=row["org_id"],
                   org_role=row["org_role"], account_type=row["account_type"],
                   sa_scope=row["sa_scope"], sa_team_id=row["sa_team_id"],
                   instance_admin=bool(row["instance_admin"]))


def _basic(header: str) -> tuple[str, str] | None:
    try:
        raw = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode()
    except (IndexError, binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, key = raw.partition(":")
    return (user, key) if sep else None


def graphql_key(header: str | None) -> str | None:
    """The key from `Authorization: Basic base64("api:<key>")` (what the SDK sends)."""
    if not header or not header.lower().startswith("basic "):
        return None
    parsed = _basic(header)
    return parsed[1] if parsed and parsed[1] else None


def scim_key(header: str | None) -> tuple[str | None, str | None]:
    """(username or None, key) from Basic `user:<key>`, Basic `:<key>` or `Bearer <key>`."""
    if not header:
        return None, None
    scheme = header.split(" ", 1)[0].lower()
    if scheme == "bearer":
        key = header.split(" ", 1)[1].strip() if " " in header else ""
        return None, key or None
    if scheme == "basic":
        parsed = _basic(header)
        if parsed and parsed[1]:
            return (parsed[0] or None), parsed[1]
    return None, None


def identity_for_key(db: Database, key: str | None) -> Identity | None:
    """The active, undeleted owner of an API key, or None."""
    if not key:
        return None
    row = db.one(
        "SELECT u.* FROM api_keys k JOIN users u ON u.id = k.user_id "
        "WHERE k.key = ? AND u.active = 1 AND u.deleted_at IS NULL AND u.org_id IS NOT NULL",
        (key,))
    return Identity.from_row(row) if row else None


# ---- roles ---------------------------------------------------------------------------------

def team_role(db: Database, team_id: int, user_id: int) -> str | None:
    """admin | member | viewer | custom, or None when not a member."""
    return db.scalar("SELECT role FROM team_members WHERE team_id = ? AND user_id = ?",
                     (team_id, user_id))


def team_permissions(db: Database, team_id: int, user_id: int) -> set[str]:
    """Permissions a custom role adds to its base role (empty for predefined roles)."""
    row = db.one(
        "SELECT r.permissions FROM team_members m JOIN custom_roles r ON r.id = m.custom_role_id "
        "WHERE m.team_id = ? AND m.user_id = ?", (team_id, user_id))
    return set(json.loads(row[0])) if row else set()


def can_admin_team(db: Database, ident: Identity, team_id: int) -> bool:
    """Org admins and team admins manage a team (invites, removals, service accounts)."""
    return ident.is_org_admin or team_role(db, team_id, ident.id) == "admin"


def registry_role(db: Database, project_id: int, ident: Identity) -> str | None:
    """Effective registry role: max(org-role grant, team grants, direct grant), or None."""
    candidates: list[str] = []
    if ident.is_org_admin:
        candidates.append("admin")
    direct = db.scalar("SELECT role FROM project_members WHERE project_id = ? AND user_id = ?",
                       (project_id, ident.id))
    if direct:
        candidates.append(direct)
    for (role,) in db.query(
            "SELECT p.role FROM project_team_members p JOIN team_members m "
            "ON m.team_id = p.team_id WHERE p.project_id = ? AND m.user_id = ?",
            (project_id, ident.id)):
        candidates.append(role)
    access = db.scalar("SELECT access FROM projects WHERE id = ?", (project_id,))
    if access != "RESTRICTED" and ident.org_id is not None:
        # Org-visible registries: every org member can view (viewers stay viewers).
        candidates.append("viewer")
    if not candidates:
        return None
    return max(candidates, key=lambda r: REGISTRY_ROLE_RANK.get(r, 0))


def project_role(db: Database, project_id: int, ident: Identity) -> str | None:
    """What the caller may do in a project: admin | member | viewer, or None (no access).

    Registries use registry roles; team projects follow the team role, narrowed for
    RESTRICTED projects to explicit project members.
    """
    row = db.one("SELECT p.entity_id, p.access, p.is_registry, e.kind FROM projects p "
                 "JOIN entities e ON e.id = p.entity_id WHERE p.id = ?", (project_id,))
    if row is None:
        return None
    if row["is_registry"]:
        role = registry_role(db, project_id, ident)
        return "viewer" if role == "restricted_viewer" else role
    if ident.is_org_admin:
        return "admin"
    if row["kind"] == "user":
        owner = db.scalar("SELECT id FROM users WHERE entity_id = ?", (row["entity_id"],))
        if owner == ident.id:
            return "admin"
        return "viewer" if row["access"] in ("USER_READ", "ENTITY_READ", "OPEN") else None
    role = team_role(db, row["entity_id"], ident.id)
    if row["access"] == "RESTRICTED":
        direct = db.scalar(
            "SELECT role FROM project_members WHERE project_id = ? AND user_id = ?",
            (project_id, ident.id))
        return direct or (role if role == "admin" else None)
    if role is None:
        return "viewer" if row["access"] in ("USER_READ", "ENTITY_READ", "OPEN") else None
    return "member" if role == "custom" else role
