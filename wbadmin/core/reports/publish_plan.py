"""The plan of `wbadmin report publish`, made from W&B's state of the target project: create
a report or update the one wbadmin published there before (found by its marker, not in the
cache), whether the project must be made, and who will be able to read the report.

Whether this identity may write the project is decided here, before anything is shown, from
its roles as W&B gave them (org admin; else its role in the project's team, re-read for
the plan): W&B lets a team's admins make and edit any report and its members make reports
and edit their own; viewers and people outside the team make none. A refusal is
`NotAllowed` (exit 4), with nothing made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import errors as E
from ..access.people import identity
from ..access.plans import Review
from ..cache import Cache
from ..changes import Plan
from ..client import Client
from .publish_changes import CreateReport, UpdateReport
from .published import ProjectReports, project_reports

# What W&B's project visibility means for who reads a report saved in it.
READERS = {
    "PRIVATE": "team {team}'s members{members} and the organization's admins",
    "RESTRICTED": "the project's own members and team {team}'s admins",
    "ENTITY_READ": "everyone in the organization (team {team}'s members{members} may edit)",
    "USER_READ": "everyone in the organization (team {team}'s members{members} may edit)",
    "ENTITY_WRITE": "everyone in the organization",
    "USER_WRITE": "everyone in the organization",
    "OPEN": "anyone, without signing in (an open project)",
}
WIDE = ("ENTITY_READ", "USER_READ", "ENTITY_WRITE", "USER_WRITE", "OPEN")


class NotAllowed(E.PermissionDenied):
    """This identity may not publish to that project (exit 4)."""

    hint = ""


@dataclass(frozen=True)
class PublishPlan:
    """What `plan_publish` decided, besides the review: for the command's JSON."""

    review: Review
    target: ProjectReports
    readers: str
    creates_project: bool


def _team_role(cache: Cache, team: str, username: str) -> str | None:
    return cache.scalar("SELECT role FROM team_members WHERE team = ? AND username = ?",
                        (team, username))


def check_may_publish(cache: Cache, target: ProjectReports, existing_author: str | None
                      ) -> None:
    """Raise NotAllowed unless this identity may save the report (a new one, or the one
    `existing_author` wrote) in the project."""
    me = identity(cache)
    where = f"{target.entity}/{target.project}"
    if me is None:
        raise NotAllowed(f"cannot tell who you are to publish to {where}; run `wbadmin sync`")
    org_role = (me.org_role or "").lower()
    if org_role == "admin" or target.entity == me.username:
        return
    if org_role == "viewer":
        raise NotAllowed(f"{me.username} is a viewer of the organization and may not publish "
                         f"reports to {where}; nothing made")
    role = _team_role(cache, target.entity, me.username)
    if role is None or role == "viewer":
        what = "a viewer of" if role == "viewer" else "not a member of"
        raise NotAllowed(f"{me.username} is {what} team {target.entity} and may not publish "
                         f"reports to {where}; nothing made")
    if role != "admin" and existing_author not in (None, me.username):
        raise NotAllowed(f"the report there was published by {existing_author}: only its "
                         f"author or a team admin of {target.entity} may update it; "
                         "nothing made")


def readers(cache: Cache, target: ProjectReports) -> str:
    """Who will be able to read a report saved in the project."""
    if not target.exists:
        return (f"as the new project's visibility decides (team {target.entity}'s default "
                "for new projects)")
    count = cache.scalar("SELECT COUNT(*) FROM team_members WHERE team = ?", (target.entity,))
    members = f" ({count})" if count else ""
    text = READERS.get(target.access or "", f"as W&B's visibility {target.access} decides")
    return text.format(team=target.entity, members=members)


def _notes(template: Any, target: ProjectReports, who: str, spec: dict[str, Any]) -> list[str]:
    notes = [f"who will be able to read it: {who}"]
    figures = [b for b in template.blocks if b.kind == "figures"]
    if figures:
        named = sorted({f for b in figures for f in b.figures})
        warn = " — and the project is readable beyond the team" \
            if target.access in WIDE else ""
        notes.append(f"it carries wbadmin's figures ({', '.join(named)}){warn}")
    if not target.exists:
        notes.append(f"project {target.entity}/{target.project} does not exist: saving the "
                     "report creates it (undo deletes the report, not the project)")
    grids = sum(1 for b in spec["blocks"] if b["kind"] == "panels")
    runsets = max((len(b["runsets"]) for b in spec["blocks"] if b["kind"] == "panels"),
                  default=0)
    if grids:
        total = spec.get("projects_total", runsets)
        shown = f"the first {runsets} of the teams' {total} projects" if total > runsets \
            else f"{runsets} project(s) of the teams"
        notes.append(f"{grids} panel grid(s), over {shown} (one run set each)")
    return notes


async def plan_publish(client: Client, cache: Cache, template: Any,
                       spec: dict[str, Any]) -> PublishPlan:
    """The plan from W&B's state now (no write)."""
    target = await project_reports(client, spec["entity"], spec["project"])
    existing = target.of_template(template.name)
    check_may_publish(cache, target, existing.author if existing else None)
    plan = Plan(title=f"Publish report “{spec['title']}” (template {template.name}) to "
                      f"{spec['entity']}/{spec['project']}")
    if existing is None:
        plan.add(CreateReport.make(spec, template.name, creates_project=not target.exists))
    else:
        plan.add(UpdateReport.make(spec, template.name, existing))
    who = readers(cache, target)
    review = Review(plan, notes=_notes(template, target, who, spec))
    return PublishPlan(review, target, who, not target.exists)
