"""Views: reports and saved workspaces, as `wandb-workspaces` saves, loads and deletes them.

A view belongs to a project; `type` is `runs` (a report), `runs/draft` (a report's draft,
seen only by its author) or `project-view` (a saved workspace). The spec is stored as the
client sent it and answered unchanged. Who may do what follows W&B's team table
(`wandb-api.md` §4.3): anyone who may read the project reads its views; members create
them; a report is edited or deleted by its author or an admin, while a workspace is edited by
any member ("edit panels and workspaces"). A refused write is a GraphQL error, never a 5xx.

`upsertView` without an id updates the project's view of the same name and type when there
is one (so a name is a stable handle, as the library's generated names are), else creates
it. `deleteView` deletes a report's drafts with it when `deleteDrafts` is set; without it, a
report that still has drafts is left alone and answered `pendingDrafts: true`.
"""

from __future__ import annotations

from typing import Any

from ... import clock
from .. import ids
from ..auth import Identity
from .context import Context, GraphQLFault, NotFound, PermissionDenied
from .paging import connection, page_bounds
from .resolvers_projects import iso, project_node, user_ref, visible_project

DRAFT = "runs/draft"
REPORT_TYPES = ("runs", DRAFT)
SOURCES = ("WANDB_SDK", "WANDB_UI")


def _node(row: Any) -> dict[str, Any]:
    return {
        "_pk": row["id"],
        "_project_id": row["project_id"],
        "_created_by": row["created_by"],
        "id": ids.encode("View", row["id"]),
        "name": row["name"],
        "displayName": row["display_name"],
        "type": row["type"],
        "description": row["description"],
        "spec": row["spec"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }


def _may_read(ctx: Context, row: Any) -> bool:
    if ctx.project_role(row["project_id"]) is None:
        return False
    return row["type"] != DRAFT or row["created_by"] == ctx.viewer.id


def _may_write(ctx: Context, project_id: int, row: Any | None) -> bool:
    """Whether the viewer may create (row None) or change `row` in the project."""
    viewer: Identity = ctx.viewer
    if viewer.org_role == "viewer" and not viewer.is_service_account:
        return False  # org viewers are read-only everywhere
    role = ctx.project_role(project_id)
    if role == "admin":
        return True
    if role != "member":
        return False
    return row is None or row["type"] not in REPORT_TYPES or row["created_by"] == viewer.id


def _view_row(ctx: Context, gid: str | None) -> Any:
    pk = None if not gid else ids.decode(gid, "View")
    return None if pk is None else ctx.db.one("SELECT * FROM views WHERE id = ?", (pk,))


# ---- queries -------------------------------------------------------------------------------

def resolve_view(_root: Any, info: Any, id: str) -> dict[str, Any] | None:
    ctx: Context = info.context
    row = _view_row(ctx, id)
    return _node(row) if row is not None and _may_read(ctx, row) else None


def resolve_all_views(project: dict, info: Any, viewType: str | None = None,
                      viewName: str | None = None, userName: str | None = None,
                      after: str | None = None, first: int | None = None) -> dict[str, Any]:
    ctx: Context = info.context
    where, params = ["project_id = ?"], [project["_pk"]]
    if viewType:
        where.append("type = ?")
        params.append(viewType)
    if viewName:
        where.append("name = ?")
        params.append(viewName)
    if userName:
        where.append("created_by = (SELECT id FROM users WHERE username = ?)")
        params.append(userName)
    rows = [r for r in ctx.db.query(f"SELECT * FROM views WHERE {' AND '.join(where)} "
                                    "ORDER BY updated_at DESC, id DESC", tuple(params))
            if _may_read(ctx, r)]
    offset, limit = page_bounds(after, first)
    return connection(rows[offset:offset + limit], offset, len(rows), _node)


def resolve_view_project(view: dict, info: Any) -> dict[str, Any] | None:
    return project_node(info.context.db, view["_project_id"])


def resolve_view_entity_name(view: dict, info: Any) -> str | None:
    node = project_node(info.context.db, view["_project_id"])
    return None if node is None else node["entityName"]


def resolve_view_project_name(view: dict, info: Any) -> str | None:
    node = project_node(info.context.db, view["_project_id"])
    return None if node is None else node["name"]


def resolve_view_user(view: dict, info: Any) -> dict[str, Any] | None:
    return user_ref(info.context.db, view["_created_by"])


# ---- upsertView ----------------------------------------------------------------------------

def _target_project(ctx: Context, data: dict) -> int:
    entity, name = data.get("entityName"), data.get("projectName")
    row = visible_project(ctx.db, ctx.viewer, entity, name, ctx.project_role)
    if row is None:
        raise NotFound(f"project {entity}/{name} not found")
    return int(row["id"])


def _insert(conn: Any, ctx: Context, project_id: int, data: dict) -> int:
    if not data.get("name"):
        raise GraphQLFault("a new view needs a name")
    if data.get("spec") is None:
        raise GraphQLFault("a new view needs a spec")
    parent = None
    if data.get("parentId"):
        parent = ids.decode(data["parentId"], "View")
        if parent is None:
            raise GraphQLFault(f"invalid parentId {data['parentId']!r}")
    now = int(clock.now())
    cur = conn.execute(
        "INSERT INTO views (project_id, type, name, display_name, description, spec, parent_id,"
        " created_by, created_using, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (project_id, data.get("type") or "runs", data["name"], data.get("displayName"),
         data.get("description"), data["spec"], parent, ctx.viewer.id,
         data.get("createdUsing") or "WANDB_UI", now, now))
    return int(cur.lastrowid)


def _update(conn: Any, row: Any, data: dict) -> None:
    columns = {"name": "name", "displayName": "display_name", "description": "description",
               "spec": "spec", "type": "type"}
    changes = {col: data[key] for key, col in columns.items() if data.get(key) is not None}
    sets = "".join(f"{col} = ?, " for col in changes)
    conn.execute(f"UPDATE views SET {sets}updated_at = ? WHERE id = ?",
                 (*changes.values(), int(clock.now()), row["id"]))


def _refuse(ctx: Context, what: str, project_id: int) -> PermissionDenied:
    node = project_node(ctx.db, project_id) or {}
    return PermissionDenied(f"permission denied: {ctx.viewer.username} may not {what} in "
                            f"{node.get('entityName')}/{node.get('name')}")


def resolve_upsert_view(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx: Context = info.context
    if input.get("createdUsing") not in (None, *SOURCES):
        raise GraphQLFault(f"invalid createdUsing {input['createdUsing']!r}")
    with ctx.db.transaction() as conn:
        if input.get("id"):
            row = _view_row(ctx, input["id"])
            if row is None or not _may_read(ctx, row):
                raise NotFound(f"view {input['id']!r} not found")
            project_id = row["project_id"]
        else:
            project_id = _target_project(ctx, input)
            row = conn.execute("SELECT * FROM views WHERE project_id = ? AND name = ? AND "
                               "type = ? ORDER BY id LIMIT 1",
                               (project_id, input.get("name"),
                                input.get("type") or "runs")).fetchone()
        if not _may_write(ctx, project_id, row):
            raise _refuse(ctx, "create views" if row is None else "edit this view", project_id)
        if row is None:
            pk, inserted = _insert(conn, ctx, project_id, input), True
        else:
            _update(conn, row, input)
            pk, inserted = row["id"], False
    saved = ctx.db.one("SELECT * FROM views WHERE id = ?", (pk,))
    return {"view": _node(saved), "inserted": inserted,
            "clientMutationId": input.get("clientMutationId")}


# ---- deleteView ----------------------------------------------------------------------------

def resolve_delete_view(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx: Context = info.context
    out = {"clientMutationId": input.get("clientMutationId")}
    with ctx.db.transaction() as conn:
        row = _view_row(ctx, input.get("id"))
        if row is None or not _may_read(ctx, row):
            raise NotFound(f"view {input.get('id')!r} not found")
        if not _may_write(ctx, row["project_id"], row):
            raise _refuse(ctx, "delete this view", row["project_id"])
        drafts = conn.execute("SELECT COUNT(*) FROM views WHERE parent_id = ?",
                              (row["id"],)).fetchone()[0]
        if drafts and not input.get("deleteDrafts"):
            return {**out, "success": False, "pendingDrafts": True}
        conn.execute("DELETE FROM views WHERE id = ?", (row["id"],))  # drafts cascade
    return {**out, "success": True, "pendingDrafts": False}


RESOLVERS = {
    "Query": {"view": resolve_view},
    "Mutation": {"upsertView": resolve_upsert_view, "deleteView": resolve_delete_view},
    "Project": {"allViews": resolve_all_views},
    "View": {
        "project": resolve_view_project,
        "entityName": resolve_view_entity_name,
        "projectName": resolve_view_project_name,
        "user": resolve_view_user,
    },
}
