"""Reports wbadmin published, as W&B holds them: a project's reports (`allViews`, the SDK's
ProjectViews selection) whose description carries wbadmin's marker (`publish_spec.marker`).
W&B is the record, not the cache: a report published from another machine, or before the
cache was deleted, is found all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..client import Client
from .publish_spec import read_marker

REPORT_TYPE = "runs"  # W&B's view type of a report (drafts are `runs/draft`, never listed)
PAGE = 100
MAX_PAGES = 50

# The SDK's ProjectViews selection (wandb/apis/public/reports.py) less the spec, with the
# project's own id and visibility.
REPORT_VIEWS = """
query WbadminReportViews($project: String!, $entity: String!, $reportCursor: String,
    $reportLimit: Int!, $viewType: String = "runs") {
  project(name: $project, entityName: $entity) {
    id
    name
    entityName
    access
    allViews(viewType: $viewType, first: $reportLimit, after: $reportCursor) {
      edges {
        node { id name displayName description user { username } updatedAt createdAt }
        cursor
      }
      pageInfo { endCursor hasNextPage }
    }
  }
}
"""
# wandb-workspaces' own deleteView document (reports/v2/gql.py).
DELETE_VIEW = """
mutation deleteView($id: ID!, $deleteDrafts: Boolean) {
  deleteView(input: { id: $id, deleteDrafts: $deleteDrafts }) {
    success
    pendingDrafts
    __typename
  }
}
"""


@dataclass(frozen=True)
class PublishedReport:
    id: str
    title: str
    template: str
    entity: str
    project: str
    author: str | None
    updated: str | None
    content: str | None = None  # the marker's hash of what was saved

    def url(self, app_url: str | None) -> str | None:
        """Where W&B shows it (as `Report.url` builds it; only what would end the path or
        start a query is escaped)."""
        if not app_url:
            return None
        slug = quote(self.title.replace(" ", "-"), safe="-:()!*',;=@&$+")
        return f"{app_url.rstrip('/')}/{quote(self.entity)}/{quote(self.project)}/reports/" \
               f"{slug}--{self.id}"

    def to_json(self, app_url: str | None) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "template": self.template,
                "project": f"{self.entity}/{self.project}", "updated": self.updated,
                "author": self.author, "url": self.url(app_url)}


@dataclass(frozen=True)
class ProjectReports:
    """A project as a publish plans from it: whether it exists, who may read it, and the
    reports wbadmin published there."""

    entity: str
    project: str
    exists: bool
    access: str | None
    reports: tuple[PublishedReport, ...] = ()

    def of_template(self, template: str) -> PublishedReport | None:
        return next((r for r in self.reports if r.template == template), None)


async def project_reports(client: Client, entity: str, project: str) -> ProjectReports:
    """The project's wbadmin reports, every page of its reports read (a missing project, or
    one this identity cannot see, is `exists=False`)."""
    found: list[PublishedReport] = []
    cursor: str | None = None
    access, exists = None, False
    for _ in range(MAX_PAGES):
        data = await client.graphql(REPORT_VIEWS, {
            "project": project, "entity": entity, "reportCursor": cursor,
            "reportLimit": PAGE, "viewType": REPORT_TYPE})
        node = data.get("project")
        if not node:
            break
        exists, access = True, node.get("access")
        views = node.get("allViews") or {}
        for edge in views.get("edges") or []:
            view = edge.get("node") or {}
            template, content = read_marker(view.get("description"))
            if template is None or not view.get("id"):
                continue
            found.append(PublishedReport(
                str(view["id"]), str(view.get("displayName") or ""), template, entity,
                project, (view.get("user") or {}).get("username"), view.get("updatedAt"),
                content))
        page = views.get("pageInfo") or {}
        cursor = page.get("endCursor")
        if not page.get("hasNextPage") or not cursor:
            break
    return ProjectReports(entity, project, exists, access, tuple(found))


async def delete_view(client: Client, view_id: str) -> bool:
    data = await client.graphql(DELETE_VIEW, {"id": view_id, "deleteDrafts": True})
    return bool((data.get("deleteView") or {}).get("success"))
