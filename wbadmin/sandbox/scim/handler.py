"""Entry point of the SCIM area: authentication, routing, and W&B's error shape.

Auth (W&B docs, "Authentication"): Basic `username:<key>` (a user), Basic `:<key>` (an
org-scoped service account; an empty username is accepted for any key) or `Bearer <key>`.
When a Basic username is given it must name the key's owner (username or email,
case-insensitive), else 401. Only org admins and org-scoped service accounts may use SCIM:
other users and team-scoped service accounts get 403.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from .. import auth
from ..db import Database
from . import groups, roles, user_patch, users
from .common import ERROR_URN, WANDB_PAGING, Ctx, Paging, Response, ScimError, now

log = logging.getLogger("wbadmin.sandbox.scim")


def error_payload(status: int, detail: str) -> dict:
    """W&B's SCIM error body; `status` is a string."""
    return {"schemas": [ERROR_URN], "detail": detail, "status": str(status)}


def authenticate(db: Database, headers: dict[str, str], paging: Paging = WANDB_PAGING) -> Ctx:
    username, key = auth.scim_key(headers.get("authorization"))
    challenge = {"WWW-Authenticate": 'Basic realm="SCIM"'}
    if key is None:
        raise ScimError(401, "authentication required: use Basic username:API-KEY, "
                             "Basic :API-KEY or Bearer API-KEY", challenge)
    ident = auth.identity_for_key(db, key)
    if ident is None:
        raise ScimError(401, "invalid API key", challenge)
    if username is not None:
        email = db.scalar("SELECT email FROM users WHERE id = ?", (ident.id,)) or ""
        if username.lower() not in (ident.username.lower(), email.lower()):
            raise ScimError(401, "the username does not match the API key", challenge)
    if ident.is_service_account and ident.sa_scope != "org":
        raise ScimError(403, "team-scoped service accounts cannot use the SCIM API; use an "
                             "organization admin or an organization-scoped service account")
    if not ident.is_org_admin:
        raise ScimError(403, "only organization admins and organization-scoped service "
                             "accounts can use the SCIM API")
    org = db.one("SELECT * FROM orgs WHERE id = ?", (ident.org_id,))
    if org is None:
        raise ScimError(403, "the API key belongs to no organization")
    return Ctx(db=db, caller=ident, org_id=org["id"], org_entity_id=org["entity_id"],
               deployment=org["deployment"], seats=org["seats"], now=now(), paging=paging)


Route = Callable[[], Response]


def _routes(ctx: Ctx, resource: str, item: str | None, query: dict[str, str],
            headers: dict[str, str], raw: bytes) -> dict[str, Route]:
    """The methods a path supports, each bound to its handler."""
    if resource == "users":
        if item is None:
            return {"GET": lambda: users.list_users(ctx, query),
                    "POST": lambda: users.create_user(ctx, raw)}
        return {"GET": lambda: users.get_user(ctx, item),
                "PATCH": lambda: user_patch.patch_user(ctx, item, headers, raw),
                "DELETE": lambda: users.delete_user(ctx, item, headers)}
    if resource == "groups":
        if item is None:
            return {"GET": lambda: groups.list_groups(ctx, query),
                    "POST": lambda: groups.create_group(ctx, raw)}
        return {"GET": lambda: groups.get_group(ctx, item),
                "PATCH": lambda: groups.patch_group(ctx, item, raw),
                "PUT": lambda: groups.put_group(ctx, item, raw),
                "DELETE": lambda: groups.delete_group(ctx, item)}
    if resource == "roles":
        if item is None:
            return {"GET": lambda: roles.list_roles(ctx, query),
                    "POST": lambda: roles.create_role(ctx, raw)}
        return {"GET": lambda: roles.get_role(ctx, item),
                "PATCH": lambda: roles.patch_role(ctx, item, headers, raw),
                "PUT": lambda: roles.put_role(ctx, item, headers, raw),
                "DELETE": lambda: roles.delete_role(ctx, item, headers)}
    return {}


def _dispatch(db: Database, method: str, rest: str, query: dict[str, str],
              headers: dict[str, str], raw: bytes, paging: Paging) -> Response:
    ctx = authenticate(db, headers, paging)
    parts = [p for p in rest.split("/") if p]
    if not parts or len(parts) > 2:
        raise ScimError(404, f"no SCIM resource at /{rest}")
    routes = _routes(ctx, parts[0].lower(), parts[1] if len(parts) == 2 else None, query,
                     headers, raw)
    if not routes:
        raise ScimError(404, f"no SCIM resource at /{rest}")
    handler = routes.get(method.upper())
    if handler is None:
        raise ScimError(405, f"{method.upper()} is not supported on /{rest}",
                        {"Allow": ", ".join(routes)})
    return handler()


def handle(db: Database, method: str, rest: str, query: dict[str, str],
           headers: dict[str, str], raw_body: bytes, paging: Paging = WANDB_PAGING
           ) -> tuple[int, dict[str, str], dict | None]:
    """(status, extra headers, JSON payload or None) for one SCIM request; `paging`: how
    lists are paged (the sandbox's settings)."""
    headers = {k.lower(): v for k, v in headers.items()}
    try:
        return _dispatch(db, method, rest, query, headers, raw_body, paging)
    except ScimError as exc:
        return exc.status, exc.headers, error_payload(exc.status, exc.detail)
    except sqlite3.IntegrityError as exc:  # a uniqueness race the checks did not catch
        return 409, {}, error_payload(409, f"conflict: {exc}")
    except Exception:  # never leak a traceback; the transaction has rolled back
        log.exception("SCIM %s /%s failed", method, rest)
        return 500, {}, error_payload(500, "internal server error")
