"""Publishing a report template to W&B, as changes of a plan (`publish_plan.py` makes it).

- `CreateReport`: a new report saved with `wandb_workspaces.reports.v2` in the library worker
  (`core/wandb_library.py`, acting as the identity wbadmin's client verified); the project is
  made with it when missing, as `Report.save()` does. Its inverse deletes it.
- `UpdateReport`: the project's report of the same template (found by wbadmin's marker in
  its description) saved again under its id: same report, same URL. Not reversible (W&B
  keeps no earlier version wbadmin could restore).
- `DeleteReport`: GraphQL `deleteView` (wandb-workspaces' own document) of the project's
  report of that template (the undo of a create). Not reversible.

A change's state is `{"report": TEMPLATE, "id", "title", "content"}` as W&B shows the
project's report of that template (content: the marker's hash of what was saved, so a re-read
tells the new report from the old), or None when it has none.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .. import errors as E
from .. import wandb_library
from ..changes import ApplyResult, Change, State, register_change
from ..changes_team import client_of
from ..client import Client
from .published import PublishedReport, delete_view, project_reports

SAVE_OP = "wbadmin.core.reports.build_wandb:save_report"


async def current_report(client: Client, entity: str, project: str,
                         template: str) -> PublishedReport | None:
    return (await project_reports(client, entity, project)).of_template(template)


def report_state(report: PublishedReport | None) -> State:
    if report is None:
        return None
    return {"report": report.template, "id": report.id, "title": report.title,
            "content": report.content}


async def _save(client: Client, spec: dict[str, Any]) -> dict[str, Any]:
    identity = await wandb_library.verify(client, client.library_key())
    return await asyncio.to_thread(wandb_library.run, identity, SAVE_OP, {"spec": spec})


@dataclass(kw_only=True)
class _ReportChange(Change):
    entity: str
    project: str
    template: str

    async def read_current(self, ctx: Any) -> State:
        return report_state(await current_report(client_of(ctx), self.entity, self.project,
                                                 self.template))

    def matches(self, current: State, expected: State) -> bool:
        """The report of this template is there (with the id and title expected, when the
        state names them) or, for None, is not."""
        if current is None or expected is None:
            return current is None and expected is None
        return all(current.get(k) == v for k, v in expected.items() if v is not None)


@register_change
@dataclass(kw_only=True)
class CreateReport(_ReportChange):
    kind = "report.create"
    via = "wandb-workspaces Report.save"

    title: str
    spec: dict[str, Any] = field(default_factory=dict)
    creates_project: bool = False

    @classmethod
    def make(cls, spec: dict[str, Any], template: str, *, creates_project: bool
             ) -> CreateReport:
        entity, project = spec["entity"], spec["project"]
        return cls(target=f"{entity}/{project}", before=None,
                   after={"report": template, "title": spec["title"],
                          "content": spec["content"]}, entity=entity,
                   project=project, template=template, title=spec["title"], spec=spec,
                   creates_project=creates_project)

    def summary(self) -> str:
        made = " (and the project)" if self.creates_project else ""
        return f"create report “{self.title}” from template {self.template}{made}"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        if await current_report(client, self.entity, self.project, self.template):
            raise E.Taken(f"{self.target} already has a report from template "
                             f"{self.template} (published meanwhile); publish again to update it")
        saved = await _save(client, {**self.spec, "id": None})
        return ApplyResult(None, f"report saved: {saved.get('url')}")

    def inverse(self) -> Change:
        return DeleteReport(target=self.target, before=self.after, after=None,
                            entity=self.entity, project=self.project, template=self.template)


@register_change
@dataclass(kw_only=True)
class UpdateReport(_ReportChange):
    kind = "report.update"
    via = "wandb-workspaces Report.save"
    reversible = False

    report_id: str
    spec: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls, spec: dict[str, Any], template: str, current: PublishedReport
             ) -> UpdateReport:
        entity, project = spec["entity"], spec["project"]
        return cls(target=f"{entity}/{project}", before=report_state(current),
                   after={"report": template, "id": current.id, "title": spec["title"],
                          "content": spec["content"]},
                   entity=entity, project=project, template=template, report_id=current.id,
                   spec=spec)

    def summary(self) -> str:
        old, new = (self.before or {}).get("title"), (self.after or {}).get("title")
        renamed = f", “{old}” → “{new}”" if old != new else ""
        return f"update report “{new}” ({self.report_id}) from template {self.template}" \
               f"{renamed}"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        current = await current_report(client, self.entity, self.project, self.template)
        if current is None or current.id != self.report_id:
            raise E.Conflict(f"{self.target}'s report from template {self.template} is no "
                             f"longer {self.report_id}; publish again to plan from W&B")
        saved = await _save(client, {**self.spec, "id": self.report_id})
        return ApplyResult(None, f"report saved: {saved.get('url')}")


@register_change
@dataclass(kw_only=True)
class DeleteReport(_ReportChange):
    kind = "report.delete"
    via = "GraphQL deleteView"
    reversible = False

    def summary(self) -> str:
        return f"delete report “{(self.before or {}).get('title')}” (template {self.template})"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        current = await current_report(client, self.entity, self.project, self.template)
        if current is None:
            raise E.NotFound(f"{self.target} has no report from template {self.template}")
        if not await delete_view(client, current.id):
            raise E.Conflict(f"W&B did not delete report {current.id}")
        return ApplyResult(None, f"report {current.id} deleted")
