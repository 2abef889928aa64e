"""Registry roles of users and teams, and team service accounts (GraphQL, as the SDK does).

- `SetRegistryRole`: add (`createProjectMembers`, then `updateProjectMember` /
  `updateProjectTeamMember` for the role: W&B adds with a default role), change the role, or
  remove (`deleteProjectMembers`) — the SDK's Registry.add_members / update_member /
  remove_members. `before`/`after` None mean "not a member". Its own inverse.
  A user's id comes from the registry's member list, else `user_ids.user_id` (the SDK's
  SearchUsers for org admins; team member lists for a registry admin who is not one).
- `CreateServiceAccount`: `createServiceAccount(entityName, description) { user { id } }`,
  then the team's member list for its username — the SDK's `Team.create_service_account`
  (CreateServiceAccount, then GetTeamEntity). Not reversible: W&B has no API to delete one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import errors as E
from ..changes import ApplyResult, Change, State, register_change
from ..changes_team import client_of
from ..client import Client
from .changes import team_people
from .user_ids import team_member_ids, user_id

REGISTRY_PREFIX = "wandb-registry-"

REGISTRY_MEMBERS = """
query WbadminRegistryAccess($name: String!, $entity: String!) {
  project(name: $name, entityName: $entity) {
    id
    members { id username role { name } }
    teamMembers { team { id name } role { name } }
  }
}
"""
TEAM_ID = "query WbadminTeamId($name: String!) { entity(name: $name) { id name isTeam } }"
CREATE_MEMBERS = """
mutation CreateRegistryMembers($input: CreateProjectMembersInput!) {
  result: createProjectMembers(input: $input) { success }
}
"""
DELETE_MEMBERS = """
mutation DeleteRegistryMembers($input: DeleteProjectMembersInput!) {
  result: deleteProjectMembers(input: $input) { success }
}
"""
UPDATE_USER_ROLE = """
mutation UpdateUserRegistryRole($input: UpdateProjectMemberInput!) {
  result: updateProjectMember(input: $input) { success }
}
"""
UPDATE_TEAM_ROLE = """
mutation UpdateTeamRegistryRole($input: UpdateProjectTeamMemberInput!) {
  result: updateProjectTeamMember(input: $input) { success }
}
"""
CREATE_SERVICE_ACCOUNT = """
mutation CreateServiceAccount($entity: String!, $description: String!) {
  result: createServiceAccount(input: {description: $description, entityName: $entity}) {
    user { id }
  }
}
"""


class _Registry(NamedTuple):
    project_id: str
    member_id: str | None  # of the user or team, when a member
    role: str | None
    teams: list[str]  # the member teams' names (where a user's id may be found)


def _ok(data: dict[str, Any], what: str) -> None:
    if not (data.get("result") or {}).get("success"):
        raise E.BadResponse(f"{what} did not succeed")


@register_change
@dataclass(kw_only=True)
class SetRegistryRole(Change):
    """A user's or a team's role in a registry (None: not a member)."""

    kind = "registry.set_role"
    via = "GraphQL registry members"

    registry: str          # short name, without the wandb-registry- prefix
    member_kind: str       # user | team
    name: str
    org_entity: str

    @classmethod
    def make(cls, registry: str, member_kind: str, name: str, role: str | None,
             current: str | None, org_entity: str) -> SetRegistryRole:
        label = name if member_kind == "user" else f"team:{name}"
        return cls(target=f"registry:{registry}/{label}",
                   before=None if current is None else {"role": current},
                   after=None if role is None else {"role": role}, registry=registry,
                   member_kind=member_kind, name=name, org_entity=org_entity)

    async def _read(self, client: Client) -> _Registry:
        data = await client.graphql(REGISTRY_MEMBERS, {
            "name": REGISTRY_PREFIX + self.registry, "entity": self.org_entity})
        project = data.get("project")
        if project is None:
            raise E.NotFound(f"registry {self.registry!r} not found")
        teams = [(m.get("team") or {}).get("name") for m in project.get("teamMembers") or []]
        teams = [t for t in teams if t]
        if self.member_kind == "user":
            for m in project.get("members") or []:
                if m.get("username") == self.name:
                    return _Registry(project["id"], m["id"], (m.get("role") or {}).get("name"),
                                     teams)
        else:
            for m in project.get("teamMembers") or []:
                team = m.get("team") or {}
                if team.get("name") == self.name:
                    return _Registry(project["id"], team["id"],
                                     (m.get("role") or {}).get("name"), teams)
        return _Registry(project["id"], None, None, teams)

    async def _member_id(self, client: Client, registry_teams: list[str]) -> str:
        if self.member_kind == "user":
            return await user_id(client, self.name, registry_teams)
        node = (await client.graphql(TEAM_ID, {"name": self.name})).get("entity")
        if not node or not node.get("id"):
            raise E.NotFound(f"team {self.name!r} not found")
        return node["id"]

    async def _set_role(self, client: Client, project_id: str, member_id: str,
                        role: str) -> None:
        if self.member_kind == "user":
            data = await client.graphql(UPDATE_USER_ROLE, {"input": {
                "projectId": project_id, "userId": member_id, "userProjectRole": role}})
        else:
            data = await client.graphql(UPDATE_TEAM_ROLE, {"input": {
                "projectId": project_id, "teamId": member_id, "teamProjectRole": role}})
        _ok(data, "updating the registry role")

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        project_id, member_id, current, teams = await self._read(client)
        role = (self.after or {}).get("role")
        ids_key = "userIds" if self.member_kind == "user" else "teamIds"
        who = self.name if self.member_kind == "user" else f"team {self.name}"
        if role is None:
            if member_id is None:
                return ApplyResult(None, f"{who} was not a member of {self.registry}")
            _ok(await client.graphql(DELETE_MEMBERS, {"input": {
                "projectId": project_id, ids_key: [member_id]}}), "deleteProjectMembers")
            return ApplyResult(None, f"{who} removed from registry {self.registry}")
        if member_id is None:
            member_id = await self._member_id(client, teams)
            _ok(await client.graphql(CREATE_MEMBERS, {"input": {
                "projectId": project_id, ids_key: [member_id]}}), "createProjectMembers")
            current = (await self._read(client)).role
        if current != role:
            await self._set_role(client, project_id, member_id, role)
        return ApplyResult(None, f"{who} is now {role} in registry {self.registry}")

    async def read_current(self, ctx: Any) -> State:
        role = (await self._read(client_of(ctx))).role
        return None if role is None else {"role": role}


@register_change
@dataclass(kw_only=True)
class CreateServiceAccount(Change):
    """A new team-scoped service account (its key is shown in the W&B App, never here)."""

    kind = "team.create_service_account"
    via = "GraphQL createServiceAccount"
    reversible = False
    documents = ("CREATE_SERVICE_ACCOUNT",)

    team: str
    description: str

    @classmethod
    def make(cls, team: str, description: str) -> CreateServiceAccount:
        return cls(target=f"{team}/{description}", before=None,
                   after={"service_account": description}, team=team,
                   description=description)

    def summary(self) -> str:
        return "create service account"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        data = await client.graphql(CREATE_SERVICE_ACCOUNT, {
            "entity": self.team, "description": self.description})
        user = (data.get("result") or {}).get("user")
        if not user or not user.get("id"):
            raise E.BadResponse("createServiceAccount returned no user")
        return ApplyResult(None, f"service account {await self._username(client, user['id'])} "
                                 f"created in {self.team}")

    async def _username(self, client: Client, account_id: str) -> str:
        """The new account's username, from the team's member list (as the SDK reloads the
        team); its id if that read fails — the account exists either way."""
        try:
            members = await team_member_ids(client, self.team)
        except E.WbError:
            return account_id
        return next((name for name, mid in members.items() if mid == account_id), account_id)

    async def read_current(self, ctx: Any) -> State:
        for m in await team_people(client_of(ctx), self.team):
            if (m.get("accountType") or "").upper() == "SERVICE" \
                    and m.get("name") == self.description:
                return {"service_account": self.description, "username": m.get("username")}
        return None
