"""/Users: get, list (filters + paging), create, delete. PATCH lives in user_patch.py.

Service accounts are invisible here, as on W&B: every lookup is limited to human users of
the caller's org.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .. import ids
from .common import (
    SEATS,
    TEAMS_EXT_URN,
    Ctx,
    Response,
    ScimError,
    audit,
    bad_request,
    check_if_match,
    etag,
    next_member_seq,
    parse_body,
    set_modified,
    user_audit_fields,
)
from .filters import list_response, page_params, parse_eq
from .render import render_user

VISIBLE = ("account_type = 'USER' AND org_id = ? AND deleted_at IS NULL")


def find_user(ctx: Ctx, user_id: str) -> sqlite3.Row:
    pk = ids.decode(user_id, "User")
    row = None if pk is None else ctx.db.one(
        f"SELECT * FROM users WHERE id = ? AND {VISIBLE}", (pk, ctx.org_id))
    if row is None:
        raise ScimError(404, f"user {user_id} not found")
    return row


def reload(ctx: Ctx, pk: int) -> sqlite3.Row:
    row = ctx.db.one("SELECT * FROM users WHERE id = ?", (pk,))
    assert row is not None
    return row


def get_user(ctx: Ctx, user_id: str) -> Response:
    row = find_user(ctx, user_id)
    return 200, {"ETag": etag(row["version"])}, render_user(ctx, row)


def list_users(ctx: Ctx, query: dict[str, str]) -> Response:
    start, count = page_params(query, ctx.paging)
    where, params = VISIBLE, [ctx.org_id]
    if query.get("filter"):
        attr, value = parse_eq(query["filter"], ("userName", "emails.value"))
        column = "username" if attr == "userName" else "email"
        where += f" AND lower({column}) = lower(?)"
        params.append(value)
    total = ctx.db.scalar(f"SELECT COUNT(*) FROM users WHERE {where}", tuple(params))
    rows = ctx.db.query(f"SELECT * FROM users WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
                        (*params, count, start - 1))
    return 200, {}, list_response([render_user(ctx, r) for r in rows], total, start, count)


# ---- seats ---------------------------------------------------------------------------------

def seats_used(ctx: Ctx) -> int:
    """Active org users holding a Models seat (full or viewer); service accounts use none."""
    return int(ctx.db.scalar(
        "SELECT COUNT(*) FROM users WHERE account_type = 'USER' AND org_id = ? "
        "AND deleted_at IS NULL AND active = 1 AND models_seat != 'none'", (ctx.org_id,)))


def holds_seat(row: sqlite3.Row | None) -> bool:
    return (row is not None and row["org_id"] is not None and row["deleted_at"] is None
            and bool(row["active"]) and row["models_seat"] != "none")


def require_seat(ctx: Ctx, row: sqlite3.Row | None, seat: str) -> None:
    """A user moving from no seat to a seat needs a free one (orgs.seats)."""
    if seat != "none" and not holds_seat(row) and seats_used(ctx) >= ctx.seats:
        raise bad_request("Seat limit reached")


def seat_value(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "full")
    if not isinstance(value, str) or value.lower() not in SEATS:
        raise bad_request(f"{key} must be one of full, viewer, none")
    return value.lower()


# ---- create / delete ---------------------------------------------------------------------

def primary_email(value: Any) -> str:
    """The primary (else first) address of a request's `emails` array."""
    entries = value if isinstance(value, list) else [value] if isinstance(value, dict) else None
    if not entries or not all(isinstance(e, dict) for e in entries):
        raise bad_request("emails must be an array of {value, primary} objects")
    chosen = next((e for e in entries if e.get("primary") in (True, "true", "True")), entries[0])
    email = chosen.get("value")
    if not isinstance(email, str) or "@" not in email.strip():
        raise bad_request(f"invalid email address {email!r}")
    return email.strip()


def email_taken(ctx: Ctx, email: str, except_id: int | None) -> bool:
    return ctx.db.scalar("SELECT COUNT(*) FROM users WHERE lower(email) = lower(?) AND id != ?",
                         (email, except_id or 0)) > 0


def create_user(ctx: Ctx, raw: bytes) -> Response:
    body = parse_body(raw)
    username = body.get("userName")
    if not isinstance(username, str) or not username.strip():
        raise bad_request("userName is required")
    username = username.strip()
    if "emails" not in body:
        raise bad_request("emails is required")
    email = primary_email(body["emails"])
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        formatted = body.get("name", {}).get("formatted") if isinstance(body.get("name"), dict) \
            else None
        name = formatted if isinstance(formatted, str) and formatted.strip() else username
    teams: list[sqlite3.Row] = []
    if ctx.multi_tenant:
        # Multi-tenant: no seat fields; the teams extension names teams to join.
        models_seat = weave_role = "full"
        ext = body.get(TEAMS_EXT_URN) or {}
        names = ext.get("teams", []) if isinstance(ext, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise bad_request(f"{TEAMS_EXT_URN}.teams must be an array of team names")
        for team_name in names:
            team = ctx.db.one("SELECT * FROM entities WHERE kind = 'team' AND org_id = ? "
                              "AND name = ?", (ctx.org_id, team_name))
            if team is None:
                raise bad_request(f"team {team_name!r} not found")
            teams.append(team)
    else:
        # Dedicated/Self-Managed: seat fields apply; W&B documents no teams extension here,
        # so it is ignored (add memberships through /Groups).
        models_seat, weave_role = seat_value(body, "modelsSeat"), seat_value(body, "weaveRole")

    with ctx.db.transaction() as conn:
        existing = ctx.db.one("SELECT * FROM users WHERE lower(username) = lower(?)", (username,))
        if existing is not None and (existing["account_type"] != "USER" or (
                existing["org_id"] is not None and existing["deleted_at"] is None)):
            raise ScimError(409, f"user with userName {username!r} already exists")
        if email_taken(ctx, email, existing["id"] if existing else None):
            raise ScimError(409, f"user with email {email!r} already exists")
        if existing is None and ctx.db.scalar("SELECT COUNT(*) FROM entities WHERE name = ?",
                                              (username,)):
            raise ScimError(409, f"the name {username!r} is already taken")
        require_seat(ctx, None, models_seat)

        if existing is None:
            entity = conn.execute(
                "INSERT INTO entities (name, kind, org_id, created_at) VALUES (?, 'user', ?, ?)",
                (username, ctx.org_id, ctx.now)).lastrowid
            pk = conn.execute(
                "INSERT INTO users (username, name, email, entity_id, org_id, org_role, "
                "account_type, active, models_seat, weave_role, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'member', 'USER', 1, ?, ?, ?)",
                (username, name, email, entity, ctx.org_id, models_seat, weave_role, ctx.now),
            ).lastrowid
        else:
            # A user removed from the org (Multi-tenant deactivation, or deletion) is re-added.
            pk = existing["id"]
            conn.execute(
                "UPDATE users SET name = ?, email = ?, org_id = ?, org_role = 'member', "
                "active = 1, deleted_at = NULL, models_seat = ?, weave_role = ?, "
                "version = version + 1 WHERE id = ?",
                (name, email, ctx.org_id, models_seat, weave_role, pk))
        for team in teams:
            conn.execute("INSERT OR IGNORE INTO team_members (team_id, user_id, role, joined_at, "
                         "seq) VALUES (?, ?, 'member', ?, ?)",
                         (team["id"], pk, ctx.now, next_member_seq(ctx.db)))
        set_modified(conn, "User", pk, ctx.now)
        row = reload(ctx, pk)
        audit(conn, ctx, "user:create", ctx.now, **user_audit_fields(row))
    user = render_user(ctx, row, created=True)
    return 201, {"ETag": etag(row["version"]), "Location": user["meta"]["location"]}, user


def remove_from_org(conn: sqlite3.Connection, pk: int, *, deleted_at: int | None) -> None:
    """Take a user out of the org: memberships go, runs and other history stay."""
    conn.execute("DELETE FROM team_members WHERE user_id = ?", (pk,))
    conn.execute("DELETE FROM project_members WHERE user_id = ?", (pk,))
    conn.execute("DELETE FROM invites WHERE to_user_id = ?", (pk,))
    conn.execute("UPDATE users SET org_id = NULL, active = 0, deleted_at = ? WHERE id = ?",
                 (deleted_at, pk))


def delete_user(ctx: Ctx, user_id: str, headers: dict[str, str]) -> Response:
    with ctx.db.transaction() as conn:
        row = find_user(ctx, user_id)
        check_if_match(headers, row["version"])
        remove_from_org(conn, row["id"], deleted_at=ctx.now)
        conn.execute("UPDATE users SET version = version + 1 WHERE id = ?", (row["id"],))
        audit(conn, ctx, "user:permanently_delete", ctx.now, **user_audit_fields(row))
    return 204, {}, None
