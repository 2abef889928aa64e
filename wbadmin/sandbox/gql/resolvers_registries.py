"""Registries: their registry-only project fields, user and team members with registry roles,
and the membership, rename and delete mutations.

Member ids are W&B's `base64("User:<int>")` / `base64("Entity:<int>")` (the SDK decodes
them locally). Membership edits need an effective registry admin (org admins are admins of
every registry). Defaults on being added follow W&B Dedicated (Server >= 0.75): restricted
viewer, except org admins (admin) and service accounts (member).
"""

from __future__ import annotations

import json
from typing import Any

from .. import ids
from . import artifact_access as acc
from .artifact_nodes import project_pk, type_node
from .context import Context, GraphQLFault, NotFound, PermissionDenied
from .paging import connection, page_bounds

REGISTRY_PREFIX = "wandb-registry-"
REGISTRY_ROLES = ("admin", "member", "viewer", "restricted_viewer")


def _ctx(info: Any) -> Context:
    return info.context


# ---- Project fields ------------------------------------------------------------------------

def _project(ctx: Context, source: Any) -> Any:
    pid = project_pk(source)
    return None if pid is None else acc.project_row(ctx, pid)


def resolve_allow_all_types(source: Any, info: Any) -> bool:
    row = _project(_ctx(info), source)
    return True if row is None or not row["is_registry"] else bool(row["allow_all_types"])


def resolve_artifact_types(source: Any, info: Any, after: str | None = None,
                           first: int | None = None, includeAll: bool | None = None
                           ) -> dict[str, Any]:
    """Types in use; for registries (or with `includeAll`) also the allowed-types list."""
    ctx = _ctx(info)
    row = _project(ctx, source)
    names: list[str] = []
    if row is not None and acc.can_read(ctx, row["id"]):
        if row["is_registry"] or includeAll:
            names.extend(json.loads(row["artifact_types"] or "[]"))
        for (name,) in ctx.db.query("SELECT DISTINCT type_name FROM artifact_collections "
                                    "WHERE project_id = ? ORDER BY type_name", (row["id"],)):
            if name not in names:
                names.append(name)
    offset, limit = page_bounds(after, first)
    pid = row["id"] if row is not None else 0
    return connection(names[offset:offset + limit], offset, len(names),
                      lambda n: type_node(ctx, pid, n))


def _role(name: str) -> dict[str, Any]:
    return {"id": ids.encode("Role", REGISTRY_ROLES.index(name) + 1)
            if name in REGISTRY_ROLES else None, "name": name}


def resolve_members(source: Any, info: Any) -> list[dict[str, Any]]:
    ctx = _ctx(info)
    row = _project(ctx, source)
    if row is None or not acc.can_read(ctx, row["id"]):
        return []
    return [{"id": ids.encode("User", r["id"]), "name": r["name"], "username": r["username"],
             "email": r["email"], "photoUrl": None, "accountType": r["account_type"],
             "role": _role(r["role"])}
            for r in ctx.db.query(
                "SELECT u.*, pm.role FROM project_members pm JOIN users u ON u.id = pm.user_id "
                "WHERE pm.project_id = ? AND u.deleted_at IS NULL ORDER BY u.id", (row["id"],))]


def resolve_team_members(source: Any, info: Any) -> list[dict[str, Any]]:
    from .resolvers_users import entity_node

    ctx = _ctx(info)
    row = _project(ctx, source)
    if row is None or not acc.can_read(ctx, row["id"]):
        return []
    return [{"team": entity_node(ctx.db, r["team_id"]), "role": _role(r["role"])}
            for r in ctx.db.query("SELECT team_id, role FROM project_team_members "
                                  "WHERE project_id = ? ORDER BY team_id", (row["id"],))]


def resolve_advanced_features(_source: Any, _info: Any) -> dict[str, bool]:
    # The sandbox filters and orders versions with every field of W&B's advanced search.
    return {"advancedSearch": True}


# ---- membership mutations ----------------------------------------------------------------

def _registry(ctx: Context, project_id: str, what: str) -> Any:
    pid = ids.decode(project_id, "Project", "ProjectInternalId")
    if pid is None:
        raise NotFound(f"project {project_id!r} not found")
    return acc.require_registry_admin(ctx, pid, what)


def _user_ids(ctx: Context, gids: list[str] | None) -> list[Any]:
    out = []
    for gid in gids or []:
        pk = ids.decode(gid, "User")
        row = None if pk is None else ctx.db.one(
            "SELECT * FROM users WHERE id = ? AND org_id = ? AND deleted_at IS NULL",
            (pk, ctx.viewer.org_id))
        if row is None:
            raise NotFound(f"user {gid!r} not found")
        out.append(row)
    return out


def _team_ids(ctx: Context, gids: list[str] | None) -> list[int]:
    out = []
    for gid in gids or []:
        pk = ids.decode(gid, "Entity")
        if pk is None or ctx.db.scalar("SELECT 1 FROM entities WHERE id = ? AND kind = 'team' "
                                       "AND org_id = ?", (pk, ctx.viewer.org_id)) is None:
            raise NotFound(f"team {gid!r} not found")
        out.append(pk)
    return out


def _default_role(user: Any) -> str:
    if user["account_type"] == "SERVICE":
        return "admin" if user["sa_scope"] == "org" else "member"
    return "admin" if user["org_role"] == "admin" else "restricted_viewer"


def resolve_create_members(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx = _ctx(info)
    reg = _registry(ctx, input["projectId"], "add members")
    users, teams = _user_ids(ctx, input.get("userIds")), _team_ids(ctx, input.get("teamIds"))
    with ctx.db.transaction() as conn:
        for user in users:  # an existing member keeps their role
            conn.execute("INSERT OR IGNORE INTO project_members VALUES (?, ?, ?)",
                         (reg["id"], user["id"], _default_role(user)))
        for team in teams:
            conn.execute("INSERT OR IGNORE INTO project_team_members VALUES (?, ?, ?)",
                         (reg["id"], team, "restricted_viewer"))
    acc.forget_roles(ctx)
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


def resolve_delete_members(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx = _ctx(info)
    reg = _registry(ctx, input["projectId"], "remove members")
    users, teams = _user_ids(ctx, input.get("userIds")), _team_ids(ctx, input.get("teamIds"))
    with ctx.db.transaction() as conn:
        for user in users:
            conn.execute("DELETE FROM project_members WHERE project_id = ? AND user_id = ?",
                         (reg["id"], user["id"]))
        for team in teams:
            conn.execute("DELETE FROM project_team_members WHERE project_id = ? AND "
                         "team_id = ?", (reg["id"], team))
    acc.forget_roles(ctx)
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


def _check_role(role: str) -> str:
    if role not in REGISTRY_ROLES:
        raise GraphQLFault(f"invalid registry role {role!r}; expected one of "
                           f"{', '.join(REGISTRY_ROLES)}")
    return role


def resolve_update_member(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx = _ctx(info)
    reg = _registry(ctx, input["projectId"], "change member roles")
    role = _check_role(input["userProjectRole"])
    (user,) = _user_ids(ctx, [input["userId"]])
    if user["account_type"] == "SERVICE" and role in ("viewer", "restricted_viewer"):
        raise GraphQLFault("service accounts cannot be registry viewers")
    with ctx.db.transaction() as conn:
        done = conn.execute("UPDATE project_members SET role = ? WHERE project_id = ? AND "
                            "user_id = ?", (role, reg["id"], user["id"])).rowcount
    if not done:
        raise NotFound(f"user {user['username']!r} is not a member of this registry")
    acc.forget_roles(ctx)
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


def resolve_update_team_member(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx = _ctx(info)
    reg = _registry(ctx, input["projectId"], "change member roles")
    role = _check_role(input["teamProjectRole"])
    (team,) = _team_ids(ctx, [input["teamId"]])
    with ctx.db.transaction() as conn:
        done = conn.execute("UPDATE project_team_members SET role = ? WHERE project_id = ? "
                            "AND team_id = ?", (role, reg["id"], team)).rowcount
    if not done:
        raise NotFound("the team is not a member of this registry")
    acc.forget_roles(ctx)
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


# ---- rename and delete ----------------------------------------------------------------------

def _project_node(ctx: Context, pid: int) -> Any:
    from .resolvers_projects import project_node

    return project_node(ctx.db, pid)


def resolve_rename_project(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    """Registries: members may rename (W&B's matrix); other projects: project admins."""
    ctx = _ctx(info)
    old, new = input["oldProjectName"], input["newProjectName"].strip()
    row = ctx.db.one("SELECT p.* FROM projects p JOIN entities e ON e.id = p.entity_id "
                     "WHERE e.name = ? AND p.name = ?", (input["entityName"], old))
    if row is None or not acc.can_read(ctx, row["id"]):
        raise NotFound(f"project {old!r} not found")
    role = acc.role_in(ctx, row["id"])
    if role not in (("member", "admin") if row["is_registry"] else ("admin",)):
        raise PermissionDenied(f"permission denied: {role} role cannot rename {old!r}")
    if not new or any(ch in new for ch in "/\\#?%:"):
        raise GraphQLFault(f"invalid project name {new!r}")
    if row["is_registry"] and (not new.startswith(REGISTRY_PREFIX)
                               or new == REGISTRY_PREFIX):
        raise GraphQLFault(f"registry names must start with {REGISTRY_PREFIX!r}")
    if new != old and ctx.db.scalar("SELECT 1 FROM projects WHERE entity_id = ? AND name = ?",
                                    (row["entity_id"], new)):
        raise GraphQLFault(f"a project named {new!r} already exists")
    with ctx.db.transaction() as conn:
        conn.execute("UPDATE projects SET name = ?, updated_at = strftime('%s','now') "
                     "WHERE id = ?", (new, row["id"]))
    return {"project": _project_node(ctx, row["id"]), "inserted": False,
            "clientMutationId": input.get("clientMutationId")}


def resolve_delete_model(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    """Registries: registry admins (org admins included); other projects: project admins."""
    ctx = _ctx(info)
    pid = ids.decode(input["id"], "Project", "ProjectInternalId")
    row = None if pid is None else acc.project_row(ctx, pid)
    if row is None or not acc.can_read(ctx, row["id"]):
        raise NotFound(f"project {input['id']!r} not found")
    if acc.role_in(ctx, row["id"]) != "admin":
        raise PermissionDenied(f"permission denied: only admins may delete {row['name']!r}")
    with ctx.db.transaction() as conn:
        conn.execute("DELETE FROM projects WHERE id = ?", (row["id"],))
    acc.forget_roles(ctx)
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


RESOLVERS = {
    "Project": {
        "allowAllArtifactTypesInRegistry": resolve_allow_all_types,
        "artifactTypes": resolve_artifact_types,
        "members": resolve_members,
        "teamMembers": resolve_team_members,
    },
    "Organization": {"advancedRegistryFeatures": resolve_advanced_features},
    "Mutation": {
        "createProjectMembers": resolve_create_members,
        "deleteProjectMembers": resolve_delete_members,
        "updateProjectMember": resolve_update_member,
        "updateProjectTeamMember": resolve_update_team_member,
        "renameProject": resolve_rename_project,
        "deleteModel": resolve_delete_model,
    },
}
