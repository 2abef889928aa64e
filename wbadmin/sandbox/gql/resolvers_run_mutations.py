"""Run mutations: `stopRun`, `deleteRun`, `updateRunState` and `upsertBucket` (the SDK's
run upsert, which also creates a run and its project).

A viewer cannot change runs; a member changes their own; admins change any. Each change
is logged as W&B's audit log logs it (`run:stop`, `run:delete`, `run:update`).
"""

from __future__ import annotations

import json
from typing import Any

from ... import clock
from .. import ids
from ..audit import record
from ..auth import Identity, project_role
from ..db import Database
from .context import Context, GraphQLFault, NotFound, PermissionDenied
from .resolvers_projects import viewer_entity_name
from .resolvers_runs import run_node

STATES = {"running", "finished", "failed", "crashed", "killed", "preempting", "preempted",
          "pending"}
# updateRunState: target -> states it may come from (as the SDK documents them).
STATE_TRANSITIONS = {"pending": {"running", "failed", "crashed", "preempted"},
                     "failed": {"pending", "running"}}


def _writable_run(db: Database, viewer: Identity, gid: str | None) -> Any:
    """The run row behind a Run id if the caller may change it; raises otherwise."""
    pk = ids.decode(gid or "", "Run")
    row = None if pk is None else db.one("SELECT * FROM runs WHERE id = ?", (pk,))
    role = None if row is None else project_role(db, row["project_id"], viewer)
    if row is None or role is None:
        raise NotFound(f"run {gid!r} not found")
    if role == "admin" or (role == "member" and row["user_id"] == viewer.id):
        return row
    raise PermissionDenied(f"permission denied: {viewer.username} may not change run "
                           f"{row['name']!r}")


def _touch_project(conn: Any, project_id: int, now: int) -> None:
    """A project's updatedAt follows its runs' activity (as the seed's `touch_projects`)."""
    conn.execute("UPDATE projects SET updated_at = MAX(updated_at, ?) WHERE id = ?",
                 (now, project_id))


def _audit(conn: Any, action: str, actor_id: int, run: Any) -> None:
    """W&B's run entries name the run's project and team (the reference lists no run field)."""
    _touch_project(conn, run["project_id"], int(clock.now()))
    project = conn.execute("SELECT p.name, p.entity_id, e.name FROM projects p JOIN entities e "
                           "ON e.id = p.entity_id WHERE p.id = ?", (run["project_id"],)).fetchone()
    record(conn, int(clock.now()), action, actor_id, response_code=200,
           project_asset=ids.encode("Project", run["project_id"]), project_name=project[0],
           entity_asset=ids.encode("Entity", project[1]), entity_name=project[2])


def resolve_stop_run(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    """Flag a run to stop. The sandbox has no process to signal, so a running run ends
    at once as W&B eventually shows it: `killed`, its heartbeat and runtime closed now."""
    ctx: Context = info.context
    row = _writable_run(ctx.db, ctx.viewer, input.get("id"))
    if row["state"] == "running":
        now = int(clock.now())
        with ctx.db.transaction() as conn:
            conn.execute("UPDATE runs SET state = 'killed', heartbeat_at = ?, runtime_s = ? "
                         "WHERE id = ?", (now, max(0, now - row["created_at"]), row["id"]))
            _audit(conn, "run:stop", ctx.viewer.id, row)
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


def resolve_delete_run(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx: Context = info.context
    row = _writable_run(ctx.db, ctx.viewer, input.get("id"))
    with ctx.db.transaction() as conn:
        conn.execute("UPDATE artifacts SET created_by_run_id = NULL WHERE created_by_run_id = ?",
                     (row["id"],))
        conn.execute("DELETE FROM runs WHERE id = ?", (row["id"],))
        _audit(conn, "run:delete", ctx.viewer.id, row)
    return {"clientMutationId": input.get("clientMutationId")}


def resolve_update_run_state(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx: Context = info.context
    row = _writable_run(ctx.db, ctx.viewer, input.get("id"))
    target = input["state"]
    if row["state"] not in STATE_TRANSITIONS.get(target, set()):
        raise GraphQLFault(f"cannot change run state from {row['state']!r} to {target!r}")
    with ctx.db.transaction() as conn:
        conn.execute("UPDATE runs SET state = ? WHERE id = ?", (target, row["id"]))
        _audit(conn, "run:update", ctx.viewer.id, row)
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


def _json_arg(value: Any) -> Any:
    """A JSONString input value: variables inside input objects may arrive still encoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise GraphQLFault(f"invalid JSONString: {exc.msg}") from exc
    return value


def _unwrap_config(config: Any) -> dict[str, Any]:
    """W&B's `{"k": {"value": v, "desc": ...}}` to the stored `{"k": v}`."""
    config = _json_arg(config)
    if not isinstance(config, dict):
        raise GraphQLFault("config must be a JSON object")
    return {k: v["value"] if isinstance(v, dict) and "value" in v else v
            for k, v in config.items()}


def _bucket_changes(data: dict) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, col in [("displayName", "display_name"), ("groupName", "group_name"),
                     ("jobType", "job_type")]:
        if data.get(key) is not None:
            changes[col] = data[key]
    notes = data.get("notes") if data.get("notes") is not None else data.get("description")
    if notes is not None:
        changes["notes"] = notes
    if data.get("tags") is not None:
        changes["tags"] = json.dumps(list(dict.fromkeys(data["tags"])))
    if data.get("config") is not None:
        changes["config"] = json.dumps(_unwrap_config(data["config"]))
    if data.get("summaryMetrics") is not None:
        summary = _json_arg(data["summaryMetrics"])
        if not isinstance(summary, dict):
            raise GraphQLFault("summaryMetrics must be a JSON object")
        changes["summary"] = json.dumps(summary)
    if data.get("state") is not None:
        if data["state"] not in STATES:
            raise GraphQLFault(f"invalid run state {data['state']!r}")
        changes["state"] = data["state"]
    return changes


def _new_run(ctx: Context, data: dict) -> int:
    """upsertBucket without an id: find or create the project, then the run."""
    from .resolvers_projects import resolve_upsert_model

    name = data.get("name")
    if not name:
        raise GraphQLFault("a run needs a name")
    entity_name = data.get("entityName") or viewer_entity_name(ctx)
    project_name = data.get("modelName") or "uncategorized"
    project = ctx.db.one("SELECT p.id FROM projects p JOIN entities e ON e.id = p.entity_id "
                         "WHERE e.name = ? AND p.name = ?", (entity_name, project_name))
    if project is None:  # W&B creates the project on a run's first upsert
        created = resolve_upsert_model(None, _Info(ctx), {"name": project_name,
                                                          "entityName": entity_name})
        project_pk = created["project"]["_pk"]
    else:
        project_pk = project["id"]
    role = project_role(ctx.db, project_pk, ctx.viewer)
    if role is None:
        raise NotFound(f"project {project_name!r} not found")
    existing = ctx.db.one("SELECT id FROM runs WHERE project_id = ? AND name = ?",
                          (project_pk, name))
    if existing is not None:
        return int(existing["id"])
    if role not in ("admin", "member"):
        raise PermissionDenied(f"permission denied: {ctx.viewer.username} may not create "
                               f"runs in {project_name!r}")
    now = int(clock.now())
    with ctx.db.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO runs (project_id, name, display_name, state, user_id, created_at,"
            " heartbeat_at) VALUES (?, ?, ?, 'running', ?, ?, ?)",
            (project_pk, name, data.get("displayName") or name, ctx.viewer.id, now, now))
        _touch_project(conn, project_pk, now)
        return -int(cur.lastrowid)  # negative: inserted just now


class _Info:
    """The slice of GraphQL `info` that resolvers read, for calling one from another."""

    def __init__(self, context: Context) -> None:
        self.context = context


def resolve_upsert_bucket(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx: Context = info.context
    inserted = False
    if input.get("id"):
        row = _writable_run(ctx.db, ctx.viewer, input["id"])
        pk = row["id"]
    else:
        pk = _new_run(ctx, input)
        inserted = pk < 0
        pk = abs(pk)
        row = _writable_run(ctx.db, ctx.viewer, ids.encode("Run", pk))
    changes = _bucket_changes(input)
    if row["state"] == "running" and changes.get("state", "running") != "running":
        # The run's last heartbeat is when it ended, as W&B records a finishing run.
        now = int(clock.now())
        changes["heartbeat_at"] = max(now, row["created_at"])
        changes["runtime_s"] = max(0, now - row["created_at"])
    if changes:
        sets = ", ".join(f"{k} = ?" for k in changes)
        with ctx.db.transaction() as conn:
            conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*changes.values(), pk))
            if not inserted:
                _audit(conn, "run:update", ctx.viewer.id, row)
    return {"bucket": run_node(ctx.db, pk), "inserted": inserted, "updateAvailable": False,
            "clientMutationId": input.get("clientMutationId")}


RESOLVERS = {
    "Mutation": {
        "stopRun": resolve_stop_run,
        "deleteRun": resolve_delete_run,
        "updateRunState": resolve_update_run_state,
        "upsertBucket": resolve_upsert_bucket,
    },
}
