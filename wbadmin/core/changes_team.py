"""The first concrete W&B changes: a member's team role, and removing a member from a team.

- `SetTeamRole`: SCIM `PATCH /Users/{id}` replacing `teamRoles` (the only API that sets a
  team role by name, custom roles included; the SDK can only invite as admin or not). Its
  own inverse. Re-read through SCIM `GET /Users/{id}` `teamRoles`.
- `RemoveFromTeam`: GraphQL `deleteInvite(input: {id: <User id>, entityName})`, as the SDK's
  `Member.delete()`. Not reversible: re-adding goes through `createInvite`, which on W&B SaaS
  sends an invitation the user must accept, so the membership (and any custom role) cannot be
  restored faithfully by wbadmin alone. Re-read through GraphQL team members.

The `ctx` the engine passes is a `Client`, or anything with a `.client` (a Session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import errors as E
from .changes import ApplyResult, Change, State, register_change, states_match
from .client import Client
from .scim_list import list_response

PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PREDEFINED_ROLES = ("admin", "member", "viewer")

TEAM_MEMBERS = """
query WbadminTeamMembers($name: String!) {
  entity(name: $name) { id name members { id role pending username } }
}
"""

# The SDK's DeleteInvite (Member.delete()), field for field.
DELETE_INVITE = """
mutation DeleteInvite($id: String, $entity: String) {
  result: deleteInvite(input: {id: $id, entityName: $entity}) { success }
}
"""


def client_of(ctx: Any) -> Client:
    client = ctx if isinstance(ctx, Client) else getattr(ctx, "client", None)
    if client is None:
        raise TypeError("a W&B change needs a Client (or a connected Session) as its ctx")
    return client


def normalize_role(role: str | None) -> str | None:
    """Predefined role names are case-insensitive in W&B; custom role names are not."""
    if role is None:
        return None
    return role.lower() if role.lower() in PREDEFINED_ROLES else role


def _normalized(state: State) -> State:
    if state is None or "role" not in state:
        return state
    return {**state, "role": normalize_role(state["role"])}


def roles_match(current: State, expected: State) -> bool:
    """States compared with predefined role names case-insensitive, as W&B treats them."""
    return states_match(_normalized(current), _normalized(expected))


async def scim_user(client: Client, username: str, user_id: str | None = None
                    ) -> dict[str, Any]:
    """The SCIM User resource of `username` (by id when known, else by a userName filter)."""
    if user_id:
        try:
            found = await client.scim("GET", f"Users/{user_id}")
        except E.NotFound:
            found = None
        if found is not None and isinstance(found.data, dict) \
                and found.data.get("userName") == username:
            return found.data
    listing = await client.scim("GET", "Users", params={"filter": f'userName eq "{username}"'})
    for user in list_response(listing, "Users").get("Resources") or []:
        if isinstance(user, dict) and user.get("userName") == username:
            return user
    raise E.NotFound(f"no user {username!r} in the organization (SCIM)")


def team_role_of(user: dict[str, Any], team: str) -> str | None:
    roles = user.get("teamRoles") or []
    if not isinstance(roles, list):
        raise E.BadResponse("SCIM User: teamRoles is not an array")
    for item in roles:
        if isinstance(item, dict) and item.get("teamName") == team:
            return item.get("roleName")
    return None


@register_change
@dataclass(kw_only=True)
class SetTeamRole(Change):
    """A member's role in a team: admin | member | viewer | a custom role's name."""

    kind = "team.set_role"
    via = "SCIM teamRoles"
    uses_scim = True

    team: str
    username: str
    user_id: str | None = None  # SCIM id, when known (saves a lookup)

    @classmethod
    def make(cls, team: str, username: str, role: str, current: str | None,
             user_id: str | None = None) -> SetTeamRole:
        return cls(target=f"{team}/{username}", before={"role": current},
                   after={"role": role}, team=team, username=username, user_id=user_id)

    async def apply(self, ctx: Any) -> ApplyResult:
        role = (self.after or {}).get("role")
        if not role:
            raise ValueError("SetTeamRole needs a role to set (after={'role': ...})")
        client = client_of(ctx)
        user = await scim_user(client, self.username, self.user_id)
        body = {"schemas": [PATCH_OP_URN],
                "Operations": [{"op": "replace", "path": "teamRoles",
                                "value": [{"teamName": self.team, "roleName": role}]}]}
        answer = await client.scim("PATCH", f"Users/{user['id']}", body=body)
        return ApplyResult(answer.request_id, f"{self.username} is now {role} in {self.team}")

    async def read_current(self, ctx: Any) -> State:
        user = await scim_user(client_of(ctx), self.username, self.user_id)
        role = team_role_of(user, self.team)
        return None if role is None else {"role": role}

    def matches(self, current: State, expected: State) -> bool:
        return roles_match(current, expected)


@register_change
@dataclass(kw_only=True)
class RemoveFromTeam(Change):
    """Take a member out of a team (their explicit project grants in it go too)."""

    kind = "team.remove_member"
    via = "GraphQL deleteInvite"
    documents = ("DELETE_INVITE",)
    reversible = False

    team: str
    username: str

    @classmethod
    def make(cls, team: str, username: str, current_role: str) -> RemoveFromTeam:
        return cls(target=f"{team}/{username}", before={"role": current_role}, after=None,
                   team=team, username=username)

    async def _member(self, client: Client) -> dict[str, Any] | None:
        data = await client.graphql(TEAM_MEMBERS, {"name": self.team})
        entity = data.get("entity")
        if entity is None:
            raise E.NotFound(f"team {self.team!r} not found")
        for member in entity.get("members") or []:
            if member.get("username") == self.username and not member.get("pending"):
                return member
        return None

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        member = await self._member(client)
        if member is None:
            raise E.NotFound(f"{self.username} is not a member of {self.team}")
        data = await client.graphql(DELETE_INVITE, {"id": member["id"], "entity": self.team})
        if not (data.get("result") or {}).get("success"):
            raise E.BadResponse(f"deleteInvite did not succeed for {self.username} in "
                                f"{self.team}")
        return ApplyResult(None, f"{self.username} removed from {self.team}")

    async def read_current(self, ctx: Any) -> State:
        member = await self._member(client_of(ctx))
        return None if member is None else {"role": member.get("role")}

    def matches(self, current: State, expected: State) -> bool:
        return roles_match(current, expected)
