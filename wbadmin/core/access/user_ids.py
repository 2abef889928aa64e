"""A user's GraphQL id from their username, through documents W&B's SDK sends (issue 17).

W&B offers no "user by name" query that the SDK sends and every role may use: the SDK's
SearchUsers (`users(query:)`) "only works for local administrators". So an org admin asks
that; anyone else (a registry admin who is not an org admin) finds the id where the SDK reads
ids too — the member lists of teams (GetTeamEntity's `entity { members { id username } }`):
the caller's own teams, then the teams given (a registry's member teams).
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import errors as E
from ..client import Client

# The SDK's SearchUsers, narrowed to the fields used.
SEARCH_USERS = """
query WbadminSearchUsers($query: String) {
  users(query: $query) { edges { node { id username } } }
}
"""
# The SDK's GetViewer / GetTeamEntity, narrowed to the fields used.
VIEWER_TEAMS = """
query WbadminViewerTeams { viewer { id username teams { edges { node { name } } } } }
"""
TEAM_MEMBER_IDS = """
query WbadminTeamMemberIds($name: String!) {
  entity(name: $name) { members { id username pending } }
}
"""


async def team_member_ids(client: Client, team: str) -> dict[str, str]:
    """{username: User id} of a team's members (pending invites carry an Invite id: left out)."""
    entity = (await client.graphql(TEAM_MEMBER_IDS, {"name": team})).get("entity") or {}
    return {m["username"]: m["id"] for m in entity.get("members") or []
            if isinstance(m, dict) and m.get("username") and m.get("id") and not m.get("pending")}


async def _searched(client: Client, username: str) -> str | None:
    try:
        data = await client.graphql(SEARCH_USERS, {"query": username})
    except E.PermissionDenied:
        return None  # not an org admin: the team lists below
    edges = (data.get("users") or {}).get("edges") or []
    return next((e["node"]["id"] for e in edges if isinstance(e, dict)
                 and (e.get("node") or {}).get("username") == username), None)


async def user_id(client: Client, username: str, teams: Iterable[str] = ()) -> str:
    """The User id of `username`; `teams` are more teams to look in after the caller's own."""
    if found := await _searched(client, username):
        return found
    viewer = (await client.graphql(VIEWER_TEAMS)).get("viewer") or {}
    if viewer.get("username") == username and viewer.get("id"):
        return viewer["id"]
    own = [e["node"]["name"] for e in (viewer.get("teams") or {}).get("edges") or []
           if isinstance(e, dict) and (e.get("node") or {}).get("name")]
    for team in dict.fromkeys([*own, *teams]):  # each team once, own teams first
        try:
            members = await team_member_ids(client, team)
        except E.PermissionDenied:
            continue
        if username in members:
            return members[username]
    raise E.NotFound(f"user {username!r} not found",
                     hint="without org admin rights wbadmin finds people only in your teams "
                          "and the registry's teams: check the name, or ask an org admin")

