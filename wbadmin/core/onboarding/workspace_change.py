"""A template project's saved workspace, as changes of the onboarding plan.

- `SaveWorkspace`: a workspace layout (`layouts.py`) saved in a project with
  `wandb_workspaces.workspaces` — through the library runner (`core/wandb_library.py`), so
  the library acts as the identity wbadmin's own client verified. The workspace is found by
  its name among the project's saved views (`project { allViews(viewType: "project-view") }`),
  so a project already holding it gets no second one: the change is dropped at plan time
  (`read_at_plan`, the cache holds no views) and refused at apply time. Inverse:
  `DeleteWorkspace`.
- `DeleteWorkspace`: GraphQL `deleteView(input: {id, deleteDrafts})`, as wandb-workspaces
  deletes a view, of the workspace of that name. Not reversible (the view's id is gone).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from .. import errors as E
from .. import wandb_library
from ..changes import ApplyResult, Change, State, register_change
from ..changes_team import client_of
from ..client import Client
from .layouts import load_layout

WORKSPACE_TYPE = "project-view"  # W&B's view type of a saved workspace
SAVE_OP = "wbadmin.core.wandb_views:save_workspace"

PROJECT_WORKSPACES = """
query WbadminProjectWorkspaces($entityName: String, $name: String, $viewType: String) {
  project(name: $name, entityName: $entityName) {
    allViews(viewType: $viewType, first: 100) { edges { node { id name displayName } } }
  }
}
"""
DELETE_VIEW = """
mutation deleteView($id: ID!, $deleteDrafts: Boolean) {
  deleteView(input: {id: $id, deleteDrafts: $deleteDrafts}) { success pendingDrafts }
}
"""


async def find_workspace(client: Client, entity: str, project: str,
                         display_name: str) -> dict[str, Any] | None:
    """The project's saved workspace of that name ({id, name, displayName}), or None (none
    such, or no such project yet)."""
    data = await client.graphql(PROJECT_WORKSPACES, {"entityName": entity, "name": project,
                                                     "viewType": WORKSPACE_TYPE})
    views = ((data.get("project") or {}).get("allViews") or {}).get("edges") or []
    return next((e["node"] for e in views
                 if e.get("node") and e["node"].get("displayName") == display_name), None)


def _state(view: dict[str, Any] | None) -> State:
    return None if view is None else {"workspace": view["displayName"]}


@register_change
@dataclass(kw_only=True)
class SaveWorkspace(Change):
    """A layout saved as a new workspace of entity/project, named as the layout says."""

    kind = "workspace.save"
    via = "wandb-workspaces Workspace.save"
    read_at_plan: ClassVar[bool] = True
    uses_library: ClassVar[bool] = True

    entity: str
    project: str
    layout: str

    @classmethod
    def make(cls, entity: str, project: str, layout: str) -> SaveWorkspace:
        return cls(target=f"{entity}/{project}", before=None,
                   after={"workspace": load_layout(layout)["name"]},
                   entity=entity, project=project, layout=layout)

    def summary(self) -> str:
        return f"save workspace “{(self.after or {}).get('workspace')}” ({self.layout})"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        layout = load_layout(self.layout)
        if await find_workspace(client, self.entity, self.project, layout["name"]):
            raise E.Taken(f"project {self.target} already has a workspace "
                             f"“{layout['name']}”")
        identity = await wandb_library.verify(client, client.library_key())
        saved = await asyncio.to_thread(wandb_library.run, identity, SAVE_OP, {
            "entity": self.entity, "project": self.project, "layout": layout})
        return ApplyResult(None, f"workspace “{layout['name']}” saved in {self.target}: "
                                 f"{saved.get('url')}")

    async def read_current(self, ctx: Any) -> State:
        name = (self.after or {}).get("workspace") or load_layout(self.layout)["name"]
        return _state(await find_workspace(client_of(ctx), self.entity, self.project, name))

    def inverse(self) -> Change:
        return DeleteWorkspace.make(self.entity, self.project, self.after)


@register_change
@dataclass(kw_only=True)
class DeleteWorkspace(Change):
    """Delete the project's saved workspace of the name in `before` (the undo of a save)."""

    kind = "workspace.delete"
    via = "GraphQL deleteView"
    reversible = False

    entity: str
    project: str

    @classmethod
    def make(cls, entity: str, project: str, current: State) -> DeleteWorkspace:
        return cls(target=f"{entity}/{project}", before=dict(current or {}), after=None,
                   entity=entity, project=project)

    def summary(self) -> str:
        return f"delete workspace “{(self.before or {}).get('workspace')}”"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        name = (self.before or {}).get("workspace", "")
        view = await find_workspace(client, self.entity, self.project, name)
        if view is None:
            raise E.NotFound(f"project {self.target} has no workspace “{name}”")
        data = await client.graphql(DELETE_VIEW, {"id": view["id"], "deleteDrafts": True})
        if not (data.get("deleteView") or {}).get("success"):
            raise E.BadResponse(f"deleteView did not succeed for workspace “{name}”")
        return ApplyResult(None, f"workspace “{name}” deleted from {self.target}")

    async def read_current(self, ctx: Any) -> State:
        name = (self.before or {}).get("workspace", "")
        return _state(await find_workspace(client_of(ctx), self.entity, self.project, name))
