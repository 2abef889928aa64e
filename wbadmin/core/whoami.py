"""Whose key this is, and their org role where SCIM says (it answers org admins only)."""

from __future__ import annotations

from typing import Any

from . import errors as E
from .identity import Identity


async def identify_with_role(client: Any, cache: Any) -> Identity:
    from .scim_list import list_response
    from .sync import Syncer

    me = await Syncer(client, cache).identify()
    client.scim_username = me.username
    try:
        found = await client.scim("GET", "Users",
                                  params={"filter": f'userName eq "{me.username}"'})
    except (E.PermissionDenied, E.AuthError, E.NotFound, E.Unsupported, E.BadRequest):
        return me  # SCIM is for org admins; others have no org role to show
    users = list_response(found, "Users").get("Resources") or []
    mine = next((u for u in users if u.get("userName") == me.username), None)
    me.scim = True
    me.org_role = (mine or {}).get("organizationRole")
    return me
