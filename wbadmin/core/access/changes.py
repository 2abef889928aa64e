"""Access changes on people: org role, team membership, invites, activation.

Each is a `Change` (plan → confirm → apply → journal through the engine), registered so the
journal can rebuild it for undo and reconciliation. The team-role and team-removal kinds live
in `core/changes_team.py` (SetTeamRole, RemoveFromTeam); these extend that family:

- `SetOrgRole`: SCIM `PATCH /Users/{id}` replace `organizationRole`. Its own inverse.
- `AddToTeam`: SCIM Groups PATCH `add members` then Users PATCH `teamRoles` (any role, custom
  included); without SCIM, GraphQL `createInvite(username, admin)` (admin or member only; on
  Multi-tenant this is an invitation the user accepts). Inverse: RemoveFromTeam.
- `Invite` / `CancelInvite`: GraphQL `createInvite` / `deleteInvite(Invite id)`, as the SDK's
  `Team.invite` and `Member.delete`. Each other's inverse.
- `Deactivate` / `Reactivate`: SCIM replace `{"active": ...}`. On Dedicated/Self-Managed a
  deactivated user is kept (`active: false`) and can be reactivated; on Multi-tenant
  "deactivate" removes the user from the org and reactivation does not exist (W&B answers 400),
  so a Multi-tenant deactivation is planned as a removal and is not reversible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import errors as E
from ..changes import ApplyResult, Change, State, register_change
from ..changes_team import (
    PATCH_OP_URN,
    RemoveFromTeam,
    client_of,
    roles_match,
    scim_user,
    team_role_of,
)
from ..client import Client
from ..org_roles import effective_org_role

TEAM_PEOPLE = """
query WbadminTeamPeople($name: String!) {
  entity(name: $name) { id name members { id role pending username email name accountType } }
}
"""

# The SDK's CreateInvite (Team.invite), field for field.
CREATE_INVITE = """
mutation CreateInvite($entity: String!, $email: String, $username: String, $admin: Boolean) {
  result: createInvite(
    input: {entityName: $entity, email: $email, username: $username, admin: $admin}
  ) { invite { id name email createdAt toUser { name } } }
}
"""

DELETE_INVITE = """
mutation DeleteInvite($id: String, $entity: String) {
  result: deleteInvite(input: {id: $id, entityName: $entity}) { success }
}
"""


async def team_people(client: Client, team: str) -> list[dict[str, Any]]:
    """A team's members and pending invites as GraphQL lists them."""
    data = await client.graphql(TEAM_PEOPLE, {"name": team})
    entity = data.get("entity")
    if entity is None:
        raise E.NotFound(f"team {team!r} not found")
    return [m for m in entity.get("members") or [] if isinstance(m, dict)]


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.lower() == b.lower()  # type: ignore[union-attr]


async def scim_or_none(client: Client, username: str) -> dict[str, Any] | None:
    try:
        return await scim_user(client, username)
    except E.NotFound:
        return None


# ---- org role -------------------------------------------------------------------------------

@register_change
@dataclass(kw_only=True)
class SetOrgRole(Change):
    """A user's org role: admin | member | viewer (viewer is W&B's deprecated mapping)."""

    kind = "org.set_role"
    via = "SCIM organizationRole"
    uses_scim = True

    username: str

    @classmethod
    def make(cls, username: str, role: str, current: str | None) -> SetOrgRole:
        return cls(target=f"org/{username}", before={"role": current}, after={"role": role},
                   username=username)

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        role = (self.after or {}).get("role")
        user = await scim_user(client, self.username)
        body = {"schemas": [PATCH_OP_URN], "Operations": [
            {"op": "replace", "path": "organizationRole", "value": role}]}
        answer = await client.scim("PATCH", f"Users/{user['id']}", body=body)
        return ApplyResult(answer.request_id, f"{self.username} is now org {role}")

    async def read_current(self, ctx: Any) -> State:
        user = await scim_or_none(client_of(ctx), self.username)
        if user is None:
            return None
        # One representation (README, "Org roles and seats"): W&B turns the org viewer role
        # into a member with a viewer seat; that member *is* an org viewer.
        return {"role": effective_org_role(user.get("organizationRole"),
                                           user.get("modelsSeat"))}

    def matches(self, current: State, expected: State) -> bool:
        return roles_match(current, expected)


# ---- team membership ------------------------------------------------------------------------

@register_change
@dataclass(kw_only=True)
class AddToTeam(Change):
    """Add a user to a team with a role. `scim=False` uses GraphQL createInvite instead."""

    kind = "team.add_member"
    via = "SCIM Groups + teamRoles"
    resumable = True  # two writes (group, then role): a rerun skips the group if it is done

    team: str
    username: str
    email: str | None = None
    scim: bool = True

    def __post_init__(self) -> None:
        if not self.scim:
            self.via = "GraphQL createInvite"  # type: ignore[misc]

    @classmethod
    def make(cls, team: str, username: str, role: str, *, email: str | None = None,
             scim: bool = True) -> AddToTeam:
        return cls(target=f"{team}/{username}", before=None, after={"role": role},
                   team=team, username=username, email=email, scim=scim)

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        role = (self.after or {}).get("role") or "member"
        if not self.scim:
            if role not in ("admin", "member"):
                raise E.Unsupported(f"GraphQL can add {self.username} only as admin or member; "
                                    f"the {role} role needs SCIM (an org admin)")
            # Without SCIM an email the cache cannot map to a username is sent as is.
            who = {"email": self.username} if "@" in self.username \
                else {"username": self.username}
            data = await client.graphql(CREATE_INVITE, {
                "entity": self.team, **who, "admin": role == "admin"})
            invite = (data.get("result") or {}).get("invite")
            note = " (invited: pending acceptance)" if invite else ""
            return ApplyResult(None, f"{self.username} added to {self.team} as {role}{note}")
        user = await scim_user(client, self.username)
        steps = []
        if team_role_of(user, self.team) is None:  # step 1, unless an earlier try did it
            groups = await client.scim("GET", "Groups",
                                       params={"filter": f'displayName eq "{self.team}"'})
            found = [g for g in (groups.data or {}).get("Resources") or []
                     if g.get("displayName") == self.team]
            if not found:
                raise E.NotFound(f"team {self.team!r} not found (SCIM)")
            await client.scim("PATCH", f"Groups/{found[0]['id']}", body={
                "schemas": [PATCH_OP_URN], "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": user["id"]}]}]})
            steps.append("group")
        answer = await client.scim("PATCH", f"Users/{user['id']}", body={
            "schemas": [PATCH_OP_URN], "Operations": [
                {"op": "replace", "path": "teamRoles",
                 "value": [{"teamName": self.team, "roleName": role}]}]})
        done = "" if steps else " (already in the team: only the role was set)"
        return ApplyResult(answer.request_id,
                           f"{self.username} added to {self.team} as {role}{done}")

    async def read_current(self, ctx: Any) -> State:
        client = client_of(ctx)
        if self.scim:
            user = await scim_or_none(client, self.username)
            role = None if user is None else team_role_of(user, self.team)
            return None if role is None else {"role": role}
        for m in await team_people(client, self.team):
            if m.get("username") == self.username or _same(m.get("email"), self.username):
                state = {"role": m.get("role") or "member"}
                return {**state, "pending": True} if m.get("pending") else state
        return None

    def matches(self, current: State, expected: State) -> bool:
        return roles_match(current, expected)

    def inverse(self) -> Change:
        role = (self.after or {}).get("role") or "member"
        return RemoveFromTeam.make(self.team, self.username, role)


def _invite_state(members: list[dict[str, Any]], email: str | None,
                  username: str | None) -> State:
    for m in members:
        if (_same(m.get("email"), email) or (username and m.get("username") == username)):
            if m.get("pending"):
                return {"invited": True}
            return {"invited": True, "member": True}
    return None


@register_change
@dataclass(kw_only=True)
class Invite(Change):
    """Invite someone to a team by email (or an org user by username)."""

    kind = "team.invite"
    via = "GraphQL createInvite"
    documents = ("CREATE_INVITE",)

    team: str
    email: str | None = None
    username: str | None = None
    admin: bool = False

    @classmethod
    def make(cls, team: str, *, email: str | None = None, username: str | None = None,
             admin: bool = False) -> Invite:
        who = email or username or "?"
        return cls(target=f"{team}/{who}", before=None, after={"invited": True}, team=team,
                   email=email, username=username, admin=admin)

    def summary(self) -> str:
        return "invite as admin" if self.admin else "invite"

    async def apply(self, ctx: Any) -> ApplyResult:
        data = await client_of(ctx).graphql(CREATE_INVITE, {
            "entity": self.team, "email": self.email, "username": self.username,
            "admin": self.admin})
        invite = (data.get("result") or {}).get("invite")
        who = self.email or self.username
        if invite is None:
            return ApplyResult(None, f"{who} was added to {self.team} directly (an org user)")
        return ApplyResult(None, f"{who} invited to {self.team}")

    async def read_current(self, ctx: Any) -> State:
        return _invite_state(await team_people(client_of(ctx), self.team), self.email,
                             self.username)

    def inverse(self) -> Change:
        return CancelInvite.make(self.team, email=self.email, username=self.username)


@register_change
@dataclass(kw_only=True)
class CancelInvite(Change):
    """Cancel a pending invite (the member list shows it with `pending: true`)."""

    kind = "team.cancel_invite"
    via = "GraphQL deleteInvite"
    documents = ("DELETE_INVITE",)

    team: str
    email: str | None = None
    username: str | None = None
    invite_id: str | None = None

    @classmethod
    def make(cls, team: str, *, email: str | None = None, username: str | None = None,
             invite_id: str | None = None) -> CancelInvite:
        who = email or username or invite_id or "?"
        return cls(target=f"{team}/{who}", before={"invited": True}, after=None, team=team,
                   email=email, username=username, invite_id=invite_id)

    def summary(self) -> str:
        return "cancel invite"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        members = await team_people(client, self.team)
        pending = [m for m in members if m.get("pending") and (
            m.get("id") == self.invite_id or _same(m.get("email"), self.email)
            or (self.username and m.get("username") == self.username))]
        if not pending:
            who = self.email or self.username
            if _invite_state(members, self.email, self.username):
                raise E.Conflict(f"{who} already joined {self.team}; remove the member instead")
            raise E.NotFound(f"no pending invite for {who} in {self.team}")
        data = await client.graphql(DELETE_INVITE, {"id": pending[0]["id"],
                                                    "entity": self.team})
        if not (data.get("result") or {}).get("success"):
            raise E.BadResponse("deleteInvite did not succeed")
        return ApplyResult(None, f"invite to {self.team} cancelled")

    async def read_current(self, ctx: Any) -> State:
        state = _invite_state(await team_people(client_of(ctx), self.team), self.email,
                              self.username)
        return None if state is None or state.get("member") else {"invited": True}

    def inverse(self) -> Change:
        return Invite.make(self.team, email=self.email, username=self.username)


# ---- activation -----------------------------------------------------------------------------

@register_change
@dataclass(kw_only=True)
class Deactivate(Change):
    """Deactivate a user. `multi_tenant`: W&B removes them from the org (after = absent)."""

    kind = "user.deactivate"
    via = "SCIM active"
    uses_scim = True

    username: str
    multi_tenant: bool = False

    def __post_init__(self) -> None:
        # A Multi-tenant deactivation removes the user from the org: nothing can restore it.
        self.reversible = not self.multi_tenant  # type: ignore[misc]

    @classmethod
    def make(cls, username: str, *, multi_tenant: bool = False) -> Deactivate:
        return cls(target=f"org/{username}", before={"active": True},
                   after=None if multi_tenant else {"active": False},
                   username=username, multi_tenant=multi_tenant)

    def summary(self) -> str:
        return "deactivate (removes from the org: Multi-tenant)" if self.multi_tenant \
            else "deactivate"

    async def apply(self, ctx: Any) -> ApplyResult:
        return await _set_active(ctx, self.username, False)

    async def read_current(self, ctx: Any) -> State:
        return await _active_state(ctx, self.username)

    def inverse(self) -> Change:
        if self.multi_tenant:
            return super().inverse()  # raises NotReversible
        return Reactivate.make(self.username)


@register_change
@dataclass(kw_only=True)
class Reactivate(Change):
    """Reactivate a deactivated user (Dedicated/Self-Managed only)."""

    kind = "user.reactivate"
    via = "SCIM active"
    uses_scim = True

    username: str

    @classmethod
    def make(cls, username: str) -> Reactivate:
        return cls(target=f"org/{username}", before={"active": False},
                   after={"active": True}, username=username)

    def summary(self) -> str:
        return "reactivate"

    async def apply(self, ctx: Any) -> ApplyResult:
        return await _set_active(ctx, self.username, True)

    async def read_current(self, ctx: Any) -> State:
        return await _active_state(ctx, self.username)

    def inverse(self) -> Change:
        return Deactivate.make(self.username)


async def _set_active(ctx: Any, username: str, active: bool) -> ApplyResult:
    """SCIM PatchOp `active` (W&B's deactivate and reactivate)."""
    client = client_of(ctx)
    user = await scim_user(client, username)
    answer = await client.scim("PATCH", f"Users/{user['id']}", body={
        "schemas": [PATCH_OP_URN],
        "Operations": [{"op": "replace", "value": {"active": active}}]})
    return ApplyResult(answer.request_id,
                       f"{username} {'reactivated' if active else 'deactivated'}")


async def _active_state(ctx: Any, username: str) -> State:
    user = await scim_or_none(client_of(ctx), username)
    return None if user is None else {"active": bool(user.get("active", True))}
