"""Change kinds onboarding needs beyond the access ones: teams and projects.

- `CreateTeam`: GraphQL `createTeam(input: {teamName, teamAdminUserName})`, as the SDK's
  `api.create_team`. Only org admins may create teams. Not reversible: W&B has no API that
  deletes a team (SCIM `DELETE /Groups` is not supported; the SDK has no call; teams own data
  and are deleted in the W&B App).
- `CreateProject`: GraphQL `upsertModel(input: {name, entityName, description, access})`, the
  SDK's project upsert. Refuses to touch a project that already exists (upsert would silently
  edit it). Inverse: `DeleteProject`.
- `UpdateProject`: `upsertModel` on an existing project with only the fields that drifted
  (description, `access` = visibility). Its own inverse (before/after swap).
- `DeleteProject`: GraphQL `deleteModel(input: {id})` (the SDK's registry delete). Only used as
  the undo of `CreateProject`, and it refuses a project that has runs: deleting runs loses
  data, so an undo never does. Not reversible (the project's id and history are gone).

Project visibility is W&B's GraphQL `access` value; `visibility_to_access` accepts the friendly
names the org file uses ("team" for PRIVATE, "restricted" for RESTRICTED).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import errors as E
from ..changes import ApplyResult, Change, State, format_value, register_change
from ..changes_team import client_of
from ..client import Client

# GraphQL `access` values of team projects (registries use PRIVATE/RESTRICTED only).
PROJECT_ACCESS = ("PRIVATE", "RESTRICTED", "ENTITY_READ", "ENTITY_WRITE", "USER_READ",
                  "USER_WRITE", "OPEN")
# What the W&B App calls the two common settings; other values are written as W&B spells them.
VISIBILITY_ALIASES = {"team": "PRIVATE", "private": "PRIVATE", "restricted": "RESTRICTED"}
ACCESS_TO_VISIBILITY = {"PRIVATE": "team", "RESTRICTED": "restricted"}

ENTITY = """
query WbadminEntityKind($name: String!) {
  entity(name: $name) { id name isTeam members { username role pending } }
}
"""
CREATE_TEAM = """
mutation CreateTeam($teamName: String!, $teamAdminUserName: String) {
  createTeam(input: {teamName: $teamName, teamAdminUserName: $teamAdminUserName}) {
    entity { id name }
  }
}
"""
PROJECT = """
query WbadminProject($name: String!, $entity: String!) {
  project(name: $name, entityName: $entity) { id name description access runCount }
}
"""
UPSERT_PROJECT = """
mutation UpsertModel($name: String, $entity: String, $description: String, $access: String) {
  upsertModel(input: {name: $name, entityName: $entity, description: $description,
                      access: $access}) {
    project { id name description access }
    inserted
  }
}
"""
DELETE_PROJECT = """
mutation DeleteModel($id: String!) { deleteModel(input: {id: $id}) { success } }
"""


def visibility_to_access(visibility: str) -> str:
    """The GraphQL `access` value of a visibility ("team", "restricted" or a raw value)."""
    value = VISIBILITY_ALIASES.get(visibility.lower(), visibility.upper())
    if value not in PROJECT_ACCESS:
        names = ", ".join([*VISIBILITY_ALIASES, *(a.lower() for a in PROJECT_ACCESS[2:])])
        raise ValueError(f"unknown visibility {visibility!r} (one of: {names})")
    return value


def access_to_visibility(access: str | None) -> str | None:
    if access is None:
        return None
    return ACCESS_TO_VISIBILITY.get(access, access.lower())


# ---- teams --------------------------------------------------------------------------------

@register_change
@dataclass(kw_only=True)
class CreateTeam(Change):
    """A new team; `admin` (a username) becomes its admin, else the caller does. `ticket`:
    the ticket it is created under (journaled with it; W&B's createTeam has no field for it)."""

    kind = "team.create"
    via = "GraphQL createTeam"
    reversible = False

    team: str
    admin: str | None = None
    ticket: str | None = None

    @classmethod
    def make(cls, team: str, admin: str | None = None, *, ticket: str | None = None
             ) -> CreateTeam:
        return cls(target=team, before=None, after={"team": team}, team=team, admin=admin,
                   ticket=ticket)

    def params(self) -> dict[str, Any]:
        params = super().params()
        if params.get("ticket") is None:  # entries without one stay as they always were
            params.pop("ticket", None)
        return params

    def summary(self) -> str:
        parts = [f"admin: {self.admin}"] if self.admin else []
        parts += [f"ticket {self.ticket}"] if self.ticket else []
        return f"create team ({', '.join(parts)})" if parts else "create team"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        if await self.read_current(ctx) is not None:
            raise E.Conflict(f"the name {self.team!r} is already taken in W&B")
        data = await client.graphql(CREATE_TEAM, {"teamName": self.team,
                                                  "teamAdminUserName": self.admin})
        entity = (data.get("createTeam") or {}).get("entity")
        if not entity:
            raise E.BadResponse(f"createTeam returned no team for {self.team!r}")
        who = f" with {self.admin} as admin" if self.admin else ""
        return ApplyResult(None, f"team {self.team} created{who}")

    async def read_current(self, ctx: Any) -> State:
        entity = (await client_of(ctx).graphql(ENTITY, {"name": self.team})).get("entity")
        if entity is None:
            return None
        # A personal entity holds the name: not a team, and the name cannot be used.
        return {"team": entity["name"]} if entity.get("isTeam") else {"user": entity["name"]}


# ---- projects -----------------------------------------------------------------------------

def _project_state(project: dict[str, Any] | None) -> State:
    if project is None:
        return None
    return {"description": project.get("description") or "", "access": project.get("access")}


async def read_project(client: Client, entity: str, name: str) -> dict[str, Any] | None:
    """The project as GraphQL shows it to the caller (None: absent or not visible)."""
    return (await client.graphql(PROJECT, {"name": name, "entity": entity})).get("project")


def _project_delta(state: State) -> str:
    state = state or {}
    parts = []
    if state.get("description"):
        parts.append(f"“{state['description']}”")
    if state.get("access"):
        parts.append(f"visibility {access_to_visibility(state['access'])}")
    return ", ".join(parts)


@register_change
@dataclass(kw_only=True)
class CreateProject(Change):
    """A new project in a team with a description and a visibility (`access`)."""

    kind = "project.create"
    via = "GraphQL upsertModel"

    entity: str
    project: str

    @classmethod
    def make(cls, entity: str, project: str, *, description: str = "",
             access: str | None = "PRIVATE") -> CreateProject:
        """`access=None` leaves the visibility to W&B (the team's default access)."""
        after: dict[str, Any] = {"description": description}
        if access is not None:
            after["access"] = access
        return cls(target=f"{entity}/{project}", before=None, after=after,
                   entity=entity, project=project)

    def summary(self) -> str:
        detail = _project_delta(self.after)
        return f"create project ({detail})" if detail else "create project"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        if await read_project(client, self.entity, self.project) is not None:
            raise E.Taken(f"project {self.entity}/{self.project} already exists")
        after = self.after or {}
        data = await client.graphql(UPSERT_PROJECT, {
            "name": self.project, "entity": self.entity,
            "description": after.get("description") or None, "access": after.get("access")})
        payload = data.get("upsertModel") or {}
        if not payload.get("project"):
            raise E.BadResponse(f"upsertModel returned no project for {self.target}")
        return ApplyResult(None, f"project {self.target} created")

    async def read_current(self, ctx: Any) -> State:
        return _project_state(await read_project(client_of(ctx), self.entity, self.project))

    def inverse(self) -> Change:
        return DeleteProject.make(self.entity, self.project, self.after)


@register_change
@dataclass(kw_only=True)
class UpdateProject(Change):
    """A project's description and/or visibility; `after` holds only the fields to set."""

    kind = "project.update"
    via = "GraphQL upsertModel"

    entity: str
    project: str

    @classmethod
    def make(cls, entity: str, project: str, *, current: dict[str, Any],
             description: str | None = None, access: str | None = None) -> UpdateProject:
        after: dict[str, Any] = {}
        if description is not None:
            after["description"] = description
        if access is not None:
            after["access"] = access
        before = {k: current.get(k) for k in after}
        return cls(target=f"{entity}/{project}", before=before, after=after,
                   entity=entity, project=project)

    def summary(self) -> str:
        before, after = dict(self.before or {}), dict(self.after or {})
        for state in (before, after):
            if "access" in state:
                state["visibility"] = access_to_visibility(state.pop("access"))
        # Always name the field: "description: old → new" (format_delta drops a lone key).
        return ", ".join(f"{k}: {format_value(before.get(k))} → {format_value(v)}"
                         for k, v in after.items() if before.get(k) != v) or "no change"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        # upsertModel by name creates a missing project: check first, never create here.
        if await read_project(client, self.entity, self.project) is None:
            raise E.NotFound(f"project {self.entity}/{self.project} not found")
        after = self.after or {}
        data = await client.graphql(UPSERT_PROJECT, {
            "name": self.project, "entity": self.entity,
            "description": after.get("description"), "access": after.get("access")})
        if not (data.get("upsertModel") or {}).get("project"):
            raise E.BadResponse(f"upsertModel returned no project for {self.target}")
        return ApplyResult(None, f"project {self.target} updated")

    async def read_current(self, ctx: Any) -> State:
        return _project_state(await read_project(client_of(ctx), self.entity, self.project))


@register_change
@dataclass(kw_only=True)
class DeleteProject(Change):
    """Delete a project that has no runs (the undo of CreateProject)."""

    kind = "project.delete"
    via = "GraphQL deleteModel"
    reversible = False

    entity: str
    project: str

    @classmethod
    def make(cls, entity: str, project: str, current: State = None) -> DeleteProject:
        return cls(target=f"{entity}/{project}", before=current or {}, after=None,
                   entity=entity, project=project)

    def summary(self) -> str:
        return "delete project (only while it has no runs)"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        project = await read_project(client, self.entity, self.project)
        if project is None:
            raise E.NotFound(f"project {self.target} not found")
        if "runCount" not in project:  # a server without it (left out): it may have runs
            raise E.Conflict(f"project {self.target}: this server does not say how many runs "
                             "it has, and wbadmin never deletes runs — delete it in the W&B "
                             "App if you mean to")
        if project.get("runCount"):
            raise E.Conflict(f"project {self.target} has {project['runCount']} runs; wbadmin "
                             "never deletes runs — delete it in the W&B App if you mean to")
        data = await client.graphql(DELETE_PROJECT, {"id": project["id"]})
        if not (data.get("deleteModel") or {}).get("success"):
            raise E.BadResponse(f"deleteModel did not succeed for {self.target}")
        return ApplyResult(None, f"project {self.target} deleted")

    async def read_current(self, ctx: Any) -> State:
        return _project_state(await read_project(client_of(ctx), self.entity, self.project))
