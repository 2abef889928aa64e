"""Shared pieces of the SCIM area: the request context, errors, times, ETags, audit rows."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from ... import clock
from .. import ids
from ..audit import record
from ..auth import Identity
from ..db import Database

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
TEAMS_EXT_URN = "urn:ietf:params:scim:schemas:extension:teams:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"

SEATS = ("full", "viewer", "none")
PREDEFINED_ROLES = ("admin", "member", "viewer")
REGISTRY_PREFIX = "wandb-registry-"
MAX_PAGE = 9999  # W&B returns at most 9999 resources per request


@dataclass(frozen=True)
class Paging:
    """How this server pages SCIM lists: W&B's 9999 at most, or a smaller cap, and whether
    `startIndex` is honoured (W&B does not document it); sandbox settings, for tests."""

    cap: int = MAX_PAGE
    honours_start_index: bool = True


WANDB_PAGING = Paging()  # what W&B does


class ScimError(Exception):
    """Any failed request: raised inside a transaction it also rolls the writes back."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def bad_request(detail: str) -> ScimError:
    return ScimError(400, detail)


@dataclass(frozen=True)
class Ctx:
    """One authenticated SCIM request: who calls, in which org, in which deployment mode."""

    db: Database
    caller: Identity
    org_id: int
    org_entity_id: int
    deployment: str  # dedicated | multi_tenant (orgs.deployment)
    seats: int
    now: int
    paging: Paging = WANDB_PAGING

    @property
    def multi_tenant(self) -> bool:
        return self.deployment == "multi_tenant"


Response = tuple[int, dict[str, str], dict | None]


def now() -> int:
    return int(clock.now())


def iso(ts: int | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def etag(version: int) -> str:
    return f'W/"{version}"'


def _bare(tag: str) -> str:
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


def check_if_match(headers: dict[str, str], version: int) -> None:
    """`If-Match` (one or several comma-separated tags, or `*`) must name the current version."""
    wanted = headers.get("if-match")
    if wanted is None:
        return
    tags = [_bare(t) for t in wanted.split(",")]
    if "*" in tags or str(version) in tags:
        return
    raise ScimError(412, f"precondition failed: the resource version is {etag(version)}",
                    {"ETag": etag(version)})


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


# ---- modification times ------------------------------------------------------------------
# users and team entities have no updated_at column; SCIM's meta.lastModified is kept in the
# meta table under `scim_modified:<Type>:<pk>` (custom roles use custom_roles.updated_at).

def modified_at(db: Database, type_name: str, pk: int) -> int | None:
    value = db.scalar("SELECT value FROM meta WHERE key = ?", (f"scim_modified:{type_name}:{pk}",))
    return int(value) if value is not None else None


def set_modified(conn: sqlite3.Connection, type_name: str, pk: int, ts: int) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (f"scim_modified:{type_name}:{pk}", str(ts)))


def touch_user(conn: sqlite3.Connection, user_id: int, ts: int) -> None:
    """Every change to what a user's SCIM representation shows bumps its ETag version."""
    conn.execute("UPDATE users SET version = version + 1 WHERE id = ?", (user_id,))
    set_modified(conn, "User", user_id, ts)


def audit(conn: sqlite3.Connection, ctx: Ctx, action: str, ts: int, **detail: Any) -> None:
    """A W&B-style audit entry (`object:verb`); detail holds the entry's other fields."""
    record(conn, ts, action, ctx.caller.id, **detail)


def user_audit_fields(row: sqlite3.Row) -> dict[str, Any]:
    return {"user_asset": ids.encode("User", row["id"]), "user_email": row["email"]}


def next_member_seq(db: Database) -> int:
    return int(db.scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM "
                         "(SELECT seq FROM team_members UNION ALL SELECT seq FROM invites)"))
