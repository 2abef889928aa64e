"""Runs ("buckets" in W&B's legacy names): `Project.runs/runCount/run` and the Run fields
(the mutations are `resolvers_run_mutations`).

`runs(filters:, order:)` takes W&B's Mongo-style JSON filters (compiled by `mongo_filter`)
and pages with per-edge cursors, since the SDK continues from `edges[-1].cursor`;
`runCount(filters:)` counts the same filtered set, which is what `len(api.runs(...))` shows.
Runs are visible to whoever may see their project (RESTRICTED projects: members only).
`run_node(db, id)` builds a `Run` source dict (key `_pk`) for other areas.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from typing import Any

import orjson

from .. import ids
from ..db import Database
from . import files
from .context import Context, source_only
from .mongo_filter import Column, compile_filter, compile_order, install_functions
from .paging import connection, page_bounds, selects
from .resolvers_projects import iso, project_node, user_ref

# Whether a run's metadata file was uploaded (see `files.system_metrics`), read with the page.
_HAS_METADATA = (f"EXISTS (SELECT 1 FROM run_files f WHERE f.run_id = r.id AND "
                 f"f.name = '{files.METADATA}') AS has_metadata")
_USERNAME = Column("(SELECT u.username FROM users u WHERE u.id = r.user_id)")

# Filterable and sortable run fields, under the names W&B's run filters use (both cases).
RUN_FIELDS: dict[str, Column] = {
    "state": Column("r.state"),
    "name": Column("r.name"),
    "id": Column("r.name"),
    "display_name": Column("r.display_name"),
    "displayName": Column("r.display_name"),
    "created_at": Column("r.created_at", "time"),
    "createdAt": Column("r.created_at", "time"),
    "heartbeat_at": Column("r.heartbeat_at", "time"),
    "heartbeatAt": Column("r.heartbeat_at", "time"),
    "tags": Column("r.tags", "list"),
    "config": Column("r.config", "json", strip_value=True),
    "summary_metrics": Column("r.summary", "json"),
    "summaryMetrics": Column("r.summary", "json"),
    "username": _USERNAME,
    "user": _USERNAME,
    "group": Column("r.group_name"),
    "group_name": Column("r.group_name"),
    "groupName": Column("r.group_name"),
    "job_type": Column("r.job_type"),
    "jobType": Column("r.job_type"),
    "notes": Column("r.notes"),
    "description": Column("r.notes"),
    "sweep": Column("NULL"),
    "sweepName": Column("NULL"),
    "runtime": Column("r.runtime_s"),
    "duration": Column("r.runtime_s"),
}


# ---- nodes ---------------------------------------------------------------------------------

def _history_keys(summary: dict[str, Any]) -> dict[str, Any]:
    keys = {k: {"typeCounts": [{"type": "number" if isinstance(v, (int, float)) else "string",
                                "count": 1}]}
            for k, v in summary.items() if not k.startswith("_")}
    return {"keys": keys, "lastStep": int(summary.get("_step", -1))}


def _node(row: Any) -> dict[str, Any]:
    """A run's source dict: plain columns only. Fields decoded from its JSON columns
    (config, summary, tags, history) have resolvers, so a list asking for names and
    states does not parse every run's config."""
    return {
        "_pk": row["id"],
        "_project_id": row["project_id"],
        "_user_id": row["user_id"],
        "_row": row,  # for fields computed from the whole row
        "id": ids.Deferred(ids.encode, "Run", row["id"]),
        "name": row["name"],
        "displayName": row["display_name"],
        "projectId": row["project_id"],
        "state": row["state"],
        "group": row["group_name"],
        "jobType": row["job_type"],
        "sweepName": None,
        "commit": None,
        "description": row["notes"],
        "notes": row["notes"],
        "stopped": row["state"] == "killed",
        "createdAt": iso(row["created_at"]),
        "heartbeatAt": iso(row["heartbeat_at"]),
        "computeSeconds": int(row["runtime_s"]),
    }


def _summary(run: dict) -> dict[str, Any]:
    return json.loads(run["_row"]["summary"])


@source_only
def resolve_run_config(run: dict, _info: Any, **_: Any) -> str:
    return _wrapped_config(run["_row"]["config"])


_LONG_NUMBER = re.compile(r"\d{19}")  # maybe past 64 bits, where orjson makes a float


@functools.lru_cache(maxsize=4096)
def _wrapped_config(stored: str) -> str:
    # W&B stores config values wrapped; the SDK unwraps `.value`. Runs of one sweep or
    # script share their config text, so a page of runs mostly repeats a few of them; a
    # huge org's still holds some 200,000 distinct ones, so orjson (W&B's text is compact
    # too). `json` reads what orjson refuses (NaN, as the SDK may write) or would round (an
    # integer past 64 bits becomes a float there).
    if not _LONG_NUMBER.search(stored):
        with contextlib.suppress(orjson.JSONDecodeError):
            config = orjson.loads(stored)
            return orjson.dumps({k: {"value": v, "desc": None} for k, v in config.items()}
                                ).decode()
    config = json.loads(stored)
    return json.dumps({k: {"value": v, "desc": None} for k, v in config.items()})


@source_only
def resolve_run_summary(run: dict, _info: Any, **_: Any) -> str:
    return run["_row"]["summary"]


@source_only
def resolve_run_history_keys(run: dict, _info: Any, **_: Any) -> dict[str, Any]:
    return _history_keys(_summary(run))


@source_only
def resolve_run_history_line_count(run: dict, _info: Any, **_: Any) -> int:
    summary = _summary(run)
    return int(summary["_step"]) + 1 if "_step" in summary else 0


@source_only
def resolve_run_tags(run: dict, _info: Any, **_: Any) -> list[str]:
    # orjson: a refresh's answer holds hundreds of thousands of tag lists, most of them a
    # run's own (a ticket key), so a memo of parsed lists mostly missed.
    return orjson.loads(run["_row"]["tags"])


@source_only
def resolve_run_host(run: dict, _info: Any, **_: Any) -> str | None:
    return files.host_of(run["_row"])


def run_node(db: Database, run_id: int) -> dict[str, Any] | None:
    """Source dict for a `Run` (no permission check; callers decide visibility)."""
    row = db.one("SELECT * FROM runs WHERE id = ?", (run_id,))
    return None if row is None else _node(row)


# ---- Project.runs / runCount / run ---------------------------------------------------------

def _filtered(db: Database, project_pk: int, filters: Any) -> tuple[str, list[Any]]:
    where, params = compile_filter(filters, RUN_FIELDS)
    return f"r.project_id = ? AND {where}", [project_pk, *params]


def _can_see(ctx: Context, project: dict) -> bool:
    if ctx.viewer.is_org_admin and project.get("_is_registry") is False:
        return True  # org admins see every team project (as `auth.project_role` says)
    return ctx.project_role(project["_pk"]) is not None


def resolve_run_count(project: dict, info: Any, filters: Any = None) -> int:
    ctx: Context = info.context
    if not _can_see(ctx, project):
        return 0
    where, params = _filtered(ctx.db, project["_pk"], filters)
    with ctx.db.lock:
        install_functions(ctx.db.conn)
        return int(ctx.db.scalar(f"SELECT COUNT(*) FROM runs r WHERE {where}", tuple(params)))


def resolve_runs(project: dict, info: Any, filters: Any = None, order: str | None = None,
                 after: str | None = None, first: int | None = None, **_: Any
                 ) -> dict[str, Any]:
    ctx: Context = info.context
    offset, limit = page_bounds(after, first)
    if not _can_see(ctx, project):
        return connection([], offset, 0, _node)
    siblings = project.get("_page")
    if siblings and len(siblings) > 1 and ctx.memo is not None:
        # Every project of a listed page asks with the same arguments (one field node):
        # the page's runs, read once, are found without compiling the filter again.
        key = ("sibling_runs", siblings, id(info.field_nodes[0]), offset, limit)
        found = ctx.memo.get(key)
        if found is None and not selects(info, "totalCount"):
            order_sql, order_params = compile_order(order, RUN_FIELDS, "+created_at", "r.id")
            found = ctx.memo[key] = _page_runs(ctx, siblings, filters, order_sql,
                                               order_params, offset, limit)
        if found is not None:
            rows = found.get(project["_pk"], [])
            return connection(rows[:limit], offset, None, _node, has_next=len(rows) > limit)
    order_sql, order_params = compile_order(order, RUN_FIELDS, "+created_at", "r.id")
    counted = selects(info, "totalCount")
    where, params = _filtered(ctx.db, project["_pk"], filters)
    with ctx.db.lock:
        install_functions(ctx.db.conn)
        total = None
        if counted:
            total = int(ctx.db.scalar(f"SELECT COUNT(*) FROM runs r WHERE {where}",
                                      tuple(params)))
        # One row past the page tells whether another page follows.
        rows = ctx.db.query(
            f"SELECT r.*, {_HAS_METADATA} FROM runs r WHERE {where} ORDER BY {order_sql} "
            "LIMIT ? OFFSET ?", (*params, *order_params, limit + 1, offset))
    page = rows[:limit]
    _prefetch(ctx, page)
    return connection(page, offset, total, _node, has_next=len(rows) > limit)


def _page_runs(ctx: Context, siblings: tuple[int, ...], filters: Any, order_sql: str,
               order_params: list[Any], offset: int, limit: int) -> dict[int, list[Any]]:
    """The same page of runs (and one row more) of every project on a listed page of
    projects, in one query, once per request: a nested `projects { runs }` otherwise costs
    a query per project. Callers still check that their own project may be seen."""
    where, params = compile_filter(filters, RUN_FIELDS)
    key = ("page_runs", siblings, where, tuple(params), order_sql, tuple(order_params),
           offset, limit)
    found = ctx.memo.get(key) if ctx.memo is not None else None
    if found is not None:
        return found
    marks = ", ".join("?" * len(siblings))
    with ctx.db.lock:
        install_functions(ctx.db.conn)
        rows = ctx.db.query(
            f"SELECT * FROM (SELECT r.*, {_HAS_METADATA}, ROW_NUMBER() OVER (PARTITION BY "
            f"r.project_id ORDER BY {order_sql}) AS page_row FROM runs r WHERE r.project_id "
            f"IN ({marks}) AND {where}) WHERE page_row > ? AND page_row <= ? "
            "ORDER BY project_id, page_row",
            (*order_params, *siblings, *params, offset, offset + limit + 1))
    _prefetch(ctx, rows)
    found = {}
    for row in rows:
        found.setdefault(row["project_id"], []).append(row)
    if ctx.memo is not None:
        ctx.memo[key] = found
    return found


def _prefetch(ctx: Context, rows: list[Any]) -> None:
    """What a page of runs is usually asked for next (users, metadata files), in one query
    each rather than one per run."""
    from .resolvers_users import prefetch_users

    prefetch_users(ctx, (r["user_id"] for r in rows))
    if ctx.memo is not None:
        for r in rows:
            ctx.memo[("stored_metadata", r["id"])] = bool(r["has_metadata"])


def resolve_project_run(project: dict, info: Any, name: str) -> dict[str, Any] | None:
    ctx: Context = info.context
    if not _can_see(ctx, project):
        return None
    row = ctx.db.one("SELECT * FROM runs WHERE project_id = ? AND name = ?",
                     (project["_pk"], name))
    return None if row is None else _node(row)


def resolve_run_user(run: dict, info: Any) -> dict[str, Any] | None:
    ctx: Context = info.context
    user_id = run.get("_user_id")
    return ctx.remember(("user", user_id), lambda: user_ref(ctx.db, user_id))


def resolve_run_project(run: dict, info: Any) -> dict[str, Any] | None:
    return project_node(info.context.db, run["_project_id"])


def resolve_run_read_only(run: dict, info: Any) -> bool:
    ctx: Context = info.context
    role = ctx.project_role(run["_project_id"])
    return not (role == "admin" or (role == "member" and run["_user_id"] == ctx.viewer.id))


RESOLVERS = {
    "Project": {
        "runCount": resolve_run_count,
        "runs": resolve_runs,
        "run": resolve_project_run,
    },
    "Run": {
        "user": resolve_run_user,
        "project": resolve_run_project,
        "readOnly": resolve_run_read_only,
        "systemMetrics": files.resolve_system_metrics,
        "config": resolve_run_config,
        "summaryMetrics": resolve_run_summary,
        "historyKeys": resolve_run_history_keys,
        "historyLineCount": resolve_run_history_line_count,
        "tags": resolve_run_tags,
        "host": resolve_run_host,
        "fileCount": files.resolve_file_count,
        "files": files.resolve_files,
    },
    "File": {"url": files.resolve_file_url},
}
