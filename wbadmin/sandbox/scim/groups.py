"""/Groups: W&B teams. List/filter, get, create (org-scoped service accounts join), PATCH and
PUT membership. Teams cannot be deleted through SCIM (they own data; W&B deletes them in the UI).

Members are users only: a member `value` is a W&B user id or an email address, and service
accounts are neither listed nor touched (W&B manages them in team settings).
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from .. import ids
from .common import (
    Ctx,
    Response,
    ScimError,
    audit,
    bad_request,
    next_member_seq,
    parse_body,
    set_modified,
    touch_user,
)
from .filters import list_response, page_params, parse_eq
from .patch import Op, expand, parse_patch
from .render import render_group

BUCKET_PROVIDERS = ("COREWEAVE", "AWS", "AZURE", "GCP", "MINIO")
TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def find_group(ctx: Ctx, group_id: str) -> sqlite3.Row:
    pk = ids.decode(group_id, "Entity")
    row = None if pk is None else ctx.db.one(
        "SELECT * FROM entities WHERE id = ? AND kind = 'team' AND org_id = ?", (pk, ctx.org_id))
    if row is None:
        raise ScimError(404, f"group {group_id} not found")
    return row


def get_group(ctx: Ctx, group_id: str) -> Response:
    return 200, {}, render_group(ctx, find_group(ctx, group_id))


def list_groups(ctx: Ctx, query: dict[str, str]) -> Response:
    start, count = page_params(query, ctx.paging)
    where, params = "kind = 'team' AND org_id = ?", [ctx.org_id]
    if query.get("filter"):
        _, value = parse_eq(query["filter"], ("displayName",))
        where += " AND lower(name) = lower(?)"
        params.append(value)
    total = ctx.db.scalar(f"SELECT COUNT(*) FROM entities WHERE {where}", tuple(params))
    rows = ctx.db.query(f"SELECT * FROM entities WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
                        (*params, count, start - 1))
    return 200, {}, list_response([render_group(ctx, r) for r in rows], total, start, count)


# ---- members -------------------------------------------------------------------------------

def resolve_member(ctx: Ctx, value: Any) -> int:
    """A user of the org from a member `value`: a user id or an email address."""
    if not isinstance(value, str) or not value.strip():
        raise bad_request("each member needs a string value (a user id or an email)")
    value = value.strip()
    if "@" in value:
        pk = ctx.db.scalar("SELECT id FROM users WHERE lower(email) = lower(?)", (value,))
    else:
        pk = ids.decode(value, "User")
    found = pk is not None and ctx.db.one(
        "SELECT 1 FROM users WHERE id = ? AND account_type = 'USER' AND org_id = ? "
        "AND deleted_at IS NULL", (pk, ctx.org_id))
    if not found:
        raise bad_request(f"user {value!r} not found in the organization")
    return int(pk)  # type: ignore[arg-type]


def member_values(ctx: Ctx, value: Any) -> list[int]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, dict) for i in items):
        raise bad_request("members must be an array of {value} objects")
    return list(dict.fromkeys(resolve_member(ctx, i.get("value")) for i in items))


def human_members(ctx: Ctx, team_id: int) -> list[int]:
    return [r[0] for r in ctx.db.query(
        "SELECT m.user_id FROM team_members m JOIN users u ON u.id = m.user_id "
        "WHERE m.team_id = ? AND u.account_type = 'USER'", (team_id,))]


def add_member(conn: sqlite3.Connection, ctx: Ctx, team_id: int, user_id: int) -> None:
    cur = conn.execute("INSERT OR IGNORE INTO team_members (team_id, user_id, role, joined_at, "
                       "seq) VALUES (?, ?, 'member', ?, ?)",
                       (team_id, user_id, ctx.now, next_member_seq(ctx.db)))
    if cur.rowcount:
        touch_user(conn, user_id, ctx.now)


def remove_member(conn: sqlite3.Connection, ctx: Ctx, team_id: int, user_id: int) -> None:
    cur = conn.execute("DELETE FROM team_members WHERE team_id = ? AND user_id = ?",
                       (team_id, user_id))
    if cur.rowcount:
        touch_user(conn, user_id, ctx.now)


def replace_members(conn: sqlite3.Connection, ctx: Ctx, team_id: int, users: list[int]) -> None:
    """Exactly these users (service accounts stay); remaining members keep their roles."""
    for pk in human_members(ctx, team_id):
        if pk not in users:
            remove_member(conn, ctx, team_id, pk)
    for pk in users:
        add_member(conn, ctx, team_id, pk)


def _check_name(team: sqlite3.Row, value: Any) -> None:
    if value is not None and value != team["name"]:
        raise bad_request("team names cannot be changed through SCIM")


def _apply(conn: sqlite3.Connection, ctx: Ctx, team: sqlite3.Row, op: Op) -> None:
    if op.attr == "displayname":
        if op.op == "remove":
            raise bad_request("displayName cannot be removed")
        _check_name(team, op.value)
        return
    if op.attr != "members":
        raise bad_request(f"unsupported attribute {op.path!r}")
    if op.filter is not None and op.filter[0] != "value":
        raise bad_request(f"unsupported filter in path {op.path!r}")
    if op.op == "add":
        if op.filter is not None:
            raise bad_request("add members with the path members, not a filter")
        for pk in member_values(ctx, op.value):
            add_member(conn, ctx, team["id"], pk)
    elif op.op == "remove":
        if op.filter is not None:
            targets = [resolve_member(ctx, op.filter[1])]
        elif op.has_value:
            targets = member_values(ctx, op.value)
        else:
            targets = human_members(ctx, team["id"])  # remove all (users only)
        for pk in targets:
            remove_member(conn, ctx, team["id"], pk)
    else:
        if op.filter is not None:
            raise bad_request("replace members with the path members, not a filter")
        replace_members(conn, ctx, team["id"], member_values(ctx, op.value or []))


# ---- endpoints -----------------------------------------------------------------------------

def _validate_bucket(bucket: Any) -> None:
    """W&B validates a BYOB bucket before creating the team (the sandbox stores none)."""
    if bucket is None:
        return
    if not isinstance(bucket, dict):
        raise bad_request("storageBucket must be an object")
    if not isinstance(bucket.get("name"), str) or not bucket["name"]:
        raise bad_request("storageBucket.name is required")
    if bucket.get("provider") not in BUCKET_PROVIDERS:
        raise bad_request(f"invalid storageBucket.provider {bucket.get('provider')!r}; "
                          f"allowed values: {', '.join(BUCKET_PROVIDERS)}")


def create_group(ctx: Ctx, raw: bytes) -> Response:
    body = parse_body(raw)
    name = body.get("displayName")
    if not isinstance(name, str) or not TEAM_NAME.match(name.strip()):
        raise bad_request("displayName is required: letters, digits, '-', '_' or '.'")
    name = name.strip()
    _validate_bucket(body.get("storageBucket"))
    with ctx.db.transaction() as conn:
        if ctx.db.scalar("SELECT COUNT(*) FROM entities WHERE lower(name) = lower(?)", (name,)):
            raise ScimError(409, f"a team or user named {name!r} already exists")
        users = member_values(ctx, body.get("members") or [])
        team_id = conn.execute(
            "INSERT INTO entities (name, kind, org_id, created_at) VALUES (?, 'team', ?, ?)",
            (name, ctx.org_id, ctx.now)).lastrowid
        assert team_id is not None
        for pk in users:
            add_member(conn, ctx, team_id, pk)
        # Every org-scoped service account joins a team created through SCIM.
        for (sa,) in ctx.db.query("SELECT id FROM users WHERE account_type = 'SERVICE' AND "
                                  "sa_scope = 'org' AND org_id = ? AND deleted_at IS NULL",
                                  (ctx.org_id,)):
            add_member(conn, ctx, team_id, sa)
        set_modified(conn, "Group", team_id, ctx.now)
        audit(conn, ctx, "team:create", ctx.now, entity_asset=ids.encode("Entity", team_id),
              entity_name=name)
        team = find_group(ctx, ids.encode("Entity", team_id))
    group = render_group(ctx, team)
    return 201, {"Location": group["meta"]["location"]}, group


def patch_group(ctx: Ctx, group_id: str, raw: bytes) -> Response:
    ops = [sub for op in parse_patch(parse_body(raw)) for sub in expand(op)]
    with ctx.db.transaction() as conn:
        team = find_group(ctx, group_id)
        for op in ops:
            _apply(conn, ctx, team, op)
        set_modified(conn, "Group", team["id"], ctx.now)
    return 200, {}, render_group(ctx, team)


def put_group(ctx: Ctx, group_id: str, raw: bytes) -> Response:
    body = parse_body(raw)
    with ctx.db.transaction() as conn:
        team = find_group(ctx, group_id)
        _check_name(team, body.get("displayName"))
        replace_members(conn, ctx, team["id"], member_values(ctx, body.get("members") or []))
        set_modified(conn, "Group", team["id"], ctx.now)
    return 200, {}, render_group(ctx, team)


def delete_group(ctx: Ctx, group_id: str) -> Response:
    find_group(ctx, group_id)
    raise ScimError(405, "deleting teams is not supported by the SCIM API because teams own "
                         "data; delete the team in the W&B App", {"Allow": "GET, PUT, PATCH"})
