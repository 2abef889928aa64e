"""Projects ("models" in W&B's legacy GraphQL names): listing, lookup and `upsertModel`.

`project_node(db, id)` builds the source dict of a `Project`; it carries the row's key as
`_pk` (plus `_entity_id`, `_owner_id`, `_is_registry`) for the resolvers of other areas'
`extend type Project` fields. A project the caller may not see is null, as on W&B.
Registries are projects named `wandb-registry-<name>` under the org entity; `upsertModel`
creates them for org admins only.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from ... import clock
from .. import ids
from ..auth import Identity, project_role, team_role
from ..db import Database
from .context import Context, GraphQLFault, NotFound, PermissionDenied
from .mongo_filter import Column, compile_filter, compile_order, install_functions
from .paging import connection, page_bounds, selects

REGISTRY_PREFIX = "wandb-registry-"
PROJECT_ACCESS = {"PRIVATE", "RESTRICTED", "USER_READ", "USER_WRITE", "ENTITY_READ",
                  "ENTITY_WRITE", "OPEN"}
REGISTRY_ACCESS = {"PRIVATE", "RESTRICTED"}
_BAD_NAME = re.compile(r"[/\\#?%:\r\n]")  # the SDK's INVALID_URL_CHARS

# Filterable project fields (W&B's `projects(filters:)`, used by registry search).
PROJECT_FIELDS = {
    "id": Column("p.id"),
    "project_id": Column("p.id"),
    "name": Column("p.name"),
    "entity_id": Column("p.entity_id"),
    "description": Column("p.description"),
    "access": Column("p.access"),
    "created_at": Column("p.created_at", "time"),
    "createdAt": Column("p.created_at", "time"),
    "updated_at": Column("p.updated_at", "time"),
    "updatedAt": Column("p.updated_at", "time"),
}


def iso(ts: int | None) -> str | None:
    """W&B's DateTime format (UTC, no offset)."""
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


def user_ref(db: Database, user_id: int | None) -> dict[str, Any] | None:
    """A `User` source dict, from the users area when it is there."""
    if user_id is None:
        return None
    try:
        from .resolvers_users import user_node
    except ImportError:  # the users area is not built yet: the fields runs need
        row = db.one("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else {
            "_pk": row["id"], "id": ids.encode("User", row["id"]), "name": row["name"],
            "username": row["username"], "email": row["email"]}
    return user_node(db, user_id)


# ---- nodes ---------------------------------------------------------------------------------

def _node(row: Any, entity_name: str) -> dict[str, Any]:
    return {
        "_pk": row["id"],
        "_entity_id": row["entity_id"],
        "_owner_id": row["owner_id"],
        "_is_registry": bool(row["is_registry"]),
        "id": ids.Deferred(ids.encode, "Project", row["id"]),
        "internalId": ids.Deferred(ids.encode, "ProjectInternalId", row["id"]),
        "name": row["name"],
        "entityName": entity_name,
        "description": row["description"],
        "access": row["access"],
        "views": "{}",
        "createdAt": ids.Deferred(iso, row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "isBenchmark": False,
        "isPublished": False,
    }


def project_node(db: Database, project_id: int) -> dict[str, Any] | None:
    """Source dict for a `Project` (no permission check; callers decide visibility)."""
    row = db.one("SELECT p.*, e.name AS entity_name FROM projects p "
                 "JOIN entities e ON e.id = p.entity_id WHERE p.id = ?", (project_id,))
    return None if row is None else _node(row, row["entity_name"])


def visible_project(db: Database, viewer: Identity, entity_name: str | None,
                    name: str | None,
                    role_of: Callable[[int], str | None] | None = None) -> Any:
    """The project row (with `entity_name`) if it exists and the caller may see it.
    `role_of` answers the caller's role in a project (default: `auth.project_role`)."""
    if not name or not entity_name:
        return None
    row = db.one("SELECT p.*, e.name AS entity_name, e.org_id AS org_id FROM projects p "
                 "JOIN entities e ON e.id = p.entity_id WHERE e.name = ? AND p.name = ?",
                 (entity_name, name))
    if row is None or row["org_id"] != viewer.org_id:
        return None
    role = role_of(row["id"]) if role_of else project_role(db, row["id"], viewer)
    return row if role else None


def list_projects(ctx: Context, entity_name: str | None, *, filters: Any = None,
                  order: str | None = None, after: str | None = None,
                  first: int | None = None, counted: bool = True) -> dict[str, Any]:
    """A `ProjectConnection` of an entity's projects the caller may see. `counted`: the
    caller asks for `totalCount`."""
    db, viewer = ctx.db, ctx.viewer
    entity = db.one("SELECT id, org_id FROM entities WHERE name = ?", (entity_name,))
    offset, limit = page_bounds(after, first)
    if entity is None or entity["org_id"] != viewer.org_id:
        return connection([], offset, 0, lambda r: r)
    where, params = compile_filter(filters, PROJECT_FIELDS)
    order_sql, order_params = compile_order(order, PROJECT_FIELDS, "-created_at", "p.id")
    sql = (f"SELECT p.*, ? AS entity_name FROM projects p WHERE p.entity_id = ? AND {where} "
           f"ORDER BY {order_sql}")
    args = (entity_name, entity["id"], *params, *order_params)
    total: int | None = None
    with db.lock:
        install_functions(db.conn)
        if viewer.is_org_admin:
            # Org admins see every project and registry: the page is cut in SQL (a team of
            # thousands of changed projects is otherwise read whole for each page).
            rows = db.query(sql + " LIMIT ? OFFSET ?", (*args, limit + 1, offset))
            if counted:
                total = int(db.scalar(f"SELECT COUNT(*) FROM projects p WHERE p.entity_id = ? "
                                      f"AND {where}", (entity["id"], *params)))
            page, has_next = rows[:limit], len(rows) > limit
        else:
            visible = [r for r in db.query(sql, args) if ctx.project_role(r["id"])]
            page, total = visible[offset:offset + limit], len(visible)
            has_next = offset + len(page) < total
    # Each node knows its page, so a field asked of every project on it (runs) can be read
    # for all of them at once (`resolvers_runs.resolve_runs`).
    siblings = tuple(r["id"] for r in page)

    def node(row: Any) -> dict[str, Any]:
        out = _node(row, row["entity_name"])
        out["_page"] = siblings
        return out

    return connection(page, offset, total, node, has_next=has_next)


def viewer_entity_name(ctx: Context) -> str | None:
    try:
        from .resolvers_users import default_entity_name
    except ImportError:
        default_entity_name = None
    user = ctx.db.one("SELECT * FROM users WHERE id = ?", (ctx.viewer.id,))
    if default_entity_name is not None:
        return default_entity_name(ctx.db, user)
    return ctx.db.scalar("SELECT name FROM entities WHERE id = ?", (user["entity_id"],))


# ---- queries -------------------------------------------------------------------------------

def resolve_models(_root: Any, info: Any, entityName: str | None = None,
                   after: str | None = None, first: int | None = None,
                   order: str | None = None, **_: Any) -> dict[str, Any]:
    ctx: Context = info.context
    return list_projects(ctx, entityName or viewer_entity_name(ctx), order=order, after=after,
                         first=first)


def resolve_project(_root: Any, info: Any, name: str | None = None,
                    entityName: str | None = None) -> dict[str, Any] | None:
    ctx: Context = info.context
    row = visible_project(ctx.db, ctx.viewer, entityName or viewer_entity_name(ctx), name,
                          ctx.project_role)
    return None if row is None else _node(row, row["entity_name"])


def resolve_entity_project(entity: dict, info: Any, name: str) -> dict[str, Any] | None:
    ctx: Context = info.context
    row = visible_project(ctx.db, ctx.viewer, entity.get("name"), name, ctx.project_role)
    return None if row is None else _node(row, row["entity_name"])


def resolve_entity_projects(entity: dict, info: Any, filters: Any = None,
                            order: str | None = None, after: str | None = None,
                            first: int | None = None, **_: Any) -> dict[str, Any]:
    return list_projects(info.context, entity.get("name"), filters=filters, order=order,
                         after=after, first=first, counted=selects(info, "totalCount"))


def resolve_project_user(project: dict, info: Any) -> dict[str, Any] | None:
    return user_ref(info.context.db, project.get("_owner_id"))


def resolve_project_entity(project: dict, info: Any) -> dict[str, Any] | None:
    db = info.context.db
    try:
        from .resolvers_users import entity_node
    except ImportError:
        row = db.one("SELECT * FROM entities WHERE id = ?", (project["_entity_id"],))
        return {"_pk": row["id"], "id": ids.encode("Entity", row["id"]), "name": row["name"]}
    return entity_node(db, project["_entity_id"])


def resolve_project_read_only(project: dict, info: Any) -> bool:
    ctx: Context = info.context
    return ctx.project_role(project["_pk"]) not in ("admin", "member")


# ---- upsertModel ---------------------------------------------------------------------------

def _may_create(db: Database, viewer: Identity, entity: Any) -> bool:
    """Who may create a project in an entity, as W&B decides it."""
    if entity["kind"] == "organization":
        return viewer.is_org_admin  # registries: org admins only
    if viewer.is_org_admin:
        return True
    if viewer.org_role == "viewer" and not viewer.is_service_account:
        return False  # org viewers are read-only everywhere
    if entity["kind"] == "user":
        return db.scalar("SELECT id FROM users WHERE entity_id = ?", (entity["id"],)) == viewer.id
    role = team_role(db, entity["id"], viewer.id)
    if role == "custom":
        role = db.scalar("SELECT r.inherited_from FROM team_members m JOIN custom_roles r "
                         "ON r.id = m.custom_role_id WHERE m.team_id = ? AND m.user_id = ?",
                         (entity["id"], viewer.id))
    return role in ("admin", "member")


def _check_name(name: str | None) -> str:
    if not name or len(name) > 128 or _BAD_NAME.search(name) or name.strip() != name:
        raise GraphQLFault(f"invalid project name {name!r}: at most 128 characters, "
                           "none of / \\ # ? % :")
    return name


def _type_names(types: list[dict] | None) -> list[str]:
    return [t["name"] for t in types or []]


def _insert(conn: Any, viewer: Identity, entity: Any, name: str, data: dict) -> int:
    registry = name.startswith(REGISTRY_PREFIX)
    if entity["kind"] == "organization" and not registry:
        raise GraphQLFault("only registries (wandb-registry-*) live under the organization "
                           "entity")
    access = data.get("access")
    if registry:
        access = access or "PRIVATE"
        if access not in REGISTRY_ACCESS:
            raise GraphQLFault(f"invalid registry access {access!r}")
    else:
        access = access or ("PRIVATE" if entity["private_only"] else entity["default_access"])
        if access not in PROJECT_ACCESS:
            raise GraphQLFault(f"invalid project access {access!r}")
    now = int(clock.now())
    allow_all = data.get("allowAllArtifactTypesInRegistry")
    cur = conn.execute(
        "INSERT INTO projects (entity_id, name, description, access, owner_id, is_registry,"
        " allow_all_types, artifact_types, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (entity["id"], name, data.get("description"), access, viewer.id, int(registry),
         1 if allow_all is None else int(allow_all),
         json.dumps(sorted(set(_type_names(data.get("artifactTypes"))))), now, now))
    return int(cur.lastrowid)


def _update(conn: Any, db: Database, viewer: Identity, row: Any, data: dict) -> bool:
    """Apply the input's changes to an existing project; False when nothing changed."""
    role = project_role(db, row["id"], viewer)
    if role is None:
        raise NotFound(f"project {row['name']!r} not found")
    changes: dict[str, Any] = {}
    if data.get("description") is not None and data["description"] != row["description"]:
        changes["description"] = data["description"]
    if data.get("access") is not None and data["access"] != row["access"]:
        allowed = REGISTRY_ACCESS if row["is_registry"] else PROJECT_ACCESS
        if data["access"] not in allowed:
            raise GraphQLFault(f"invalid access {data['access']!r}")
        changes["access"] = data["access"]
    if row["is_registry"]:
        allow_all = data.get("allowAllArtifactTypesInRegistry")
        if allow_all is not None and int(allow_all) != row["allow_all_types"]:
            changes["allow_all_types"] = int(allow_all)
        new_types = set(_type_names(data.get("artifactTypes")))
        old_types = set(json.loads(row["artifact_types"]))
        if new_types - old_types:  # W&B only adds types to a registry, never removes
            changes["artifact_types"] = json.dumps(sorted(old_types | new_types))
    may = role == "admin" or (role == "member" and not row["is_registry"]
                              and (row["owner_id"] == viewer.id or not changes))
    if not may:
        raise PermissionDenied(f"permission denied: {viewer.username} may not update "
                               f"project {row['name']!r}")
    if changes:
        sets = ", ".join(f"{k} = ?" for k in changes)
        conn.execute(f"UPDATE projects SET {sets}, updated_at = ? WHERE id = ?",
                     (*changes.values(), int(clock.now()), row["id"]))
    return bool(changes)


def resolve_upsert_model(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx: Context = info.context
    db, viewer = ctx.db, ctx.viewer
    with db.transaction() as conn:
        row = None
        if input.get("id"):
            pk = ids.decode(input["id"], "Project")
            row = None if pk is None else conn.execute(
                "SELECT p.*, e.org_id FROM projects p JOIN entities e ON e.id = p.entity_id "
                "WHERE p.id = ?", (pk,)).fetchone()
            if row is None or row["org_id"] != viewer.org_id:
                raise NotFound(f"project {input['id']!r} not found")
        else:
            name = _check_name(input.get("name"))
            entity_name = input.get("entityName") or viewer_entity_name(ctx)
            entity = conn.execute("SELECT * FROM entities WHERE name = ?",
                                  (entity_name,)).fetchone()
            if entity is None or entity["org_id"] != viewer.org_id:
                raise NotFound(f"entity {entity_name!r} not found")
            row = conn.execute("SELECT * FROM projects WHERE entity_id = ? AND name = ?",
                               (entity["id"], name)).fetchone()
            if row is None:
                if not _may_create(db, viewer, entity):
                    what = "registries" if name.startswith(REGISTRY_PREFIX) else "projects"
                    raise PermissionDenied(f"permission denied: {viewer.username} may not "
                                           f"create {what} in {entity_name!r}")
                # W&B logs no project:create (`wandb-api.md` §7.5), so neither does this.
                pk = _insert(conn, viewer, entity, name, input)
                node = project_node(db, pk)
                return {"project": node, "model": node, "inserted": True,
                        "clientMutationId": input.get("clientMutationId")}
        _update(conn, db, viewer, row, input)  # no audit entry: W&B logs no project:update
    node = project_node(db, row["id"])
    return {"project": node, "model": node, "inserted": False,
            "clientMutationId": input.get("clientMutationId")}


RESOLVERS = {
    "Query": {"models": resolve_models, "project": resolve_project},
    "Mutation": {"upsertModel": resolve_upsert_model},
    "Entity": {"project": resolve_entity_project, "projects": resolve_entity_projects},
    "Project": {
        "user": resolve_project_user,
        "entity": resolve_project_entity,
        "readOnly": resolve_project_read_only,
    },
}
