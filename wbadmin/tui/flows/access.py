"""Access changes from the Access screen: choose, plan (one person or every marked one),
guard (last admins, yourself: typed confirmation), confirm the plan, apply, report."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work

from ...core.access.bulk import BadCsv, decode_csv, plan_csv, plan_marked
from ...core.access.people import ORG_ROLES, TEAM_ROLES, AccessError, custom_roles, find_person
from ...core.access.plans import AccessService
from ...core.changes import Plan
from ..screens.plan import ChoiceScreen, InputScreen, PlanScreen, TypedConfirmScreen
from .apply import apply_plan

if TYPE_CHECKING:
    from ...core.access.findings import Finding
    from ..app import WbAdminApp


def _choices(values: list[str], labels: dict[str, str] | None = None
             ) -> list[tuple[str, str, bool]]:
    return [(v, (labels or {}).get(v, v), True) for v in values]


async def _choose(app: WbAdminApp, title: str, values: list[str],
                  labels: dict[str, str] | None = None, current: str | None = None
                  ) -> str | None:
    if not values:
        app.notify(f"{title}: nothing to choose from", severity="warning")
        return None
    return await app.push_screen_wait(ChoiceScreen(title, _choices(values, labels),
                                                   current=current))


def _all_teams(app: WbAdminApp) -> list[str]:
    return [r[0] for r in app.session.cache.query("SELECT name FROM teams ORDER BY name")]


def _team_roles(app: WbAdminApp) -> tuple[list[str], dict[str, str]]:
    custom = sorted(custom_roles(app.session.cache))
    return [*TEAM_ROLES, *custom], {c: f"{c} (custom; org members only)" for c in custom}


async def _plan_for(app: WbAdminApp, action: str, people: list[str]) -> Plan | None:
    """Ask what is needed for `action` and return its plan (None: the person cancelled)."""
    cache = app.session.cache
    service = AccessService(cache)
    one = find_person(cache, people[0]) if len(people) == 1 else None
    who = people[0] if one else f"{len(people)} people"
    if action in ("team_role", "remove_from_team", "add_to_team"):
        teams = sorted(one.teams) if one and action != "add_to_team" else _all_teams(app)
        verb = {"team_role": "Team role of", "remove_from_team": "Remove",
                "add_to_team": "Add"}[action]
        team = await _choose(app, f"{verb} {who}: which team?", teams)
        if team is None:
            return None
        role = ""
        if action != "remove_from_team":
            roles, labels = _team_roles(app)
            role = await _choose(app, f"Role of {who} in {team}", roles, labels,
                                 current=one.teams.get(team) if one else None)
            if role is None:
                return None
        name = {"team_role": "set_team_role"}.get(action, action)
        return _bulk(app, plan_marked(service, people, name, team=team, role=role))
    if action == "org_role":
        role = await _choose(app, f"Org role of {who}", list(ORG_ROLES),
                             current=one.org_role if one else None)
        if role is None:
            return None
        return _bulk(app, plan_marked(service, people, "set_org_role", role=role))
    if action == "toggle_active":
        if one is not None:
            name = "deactivate" if one.active else "reactivate"
        else:
            name = await _choose(app, f"{who}: deactivate or reactivate?",
                                 ["deactivate", "reactivate"])
            if name is None:
                return None
        return _bulk(app, plan_marked(service, people, name))
    raise ValueError(f"unknown access action {action!r}")


def _bulk(app: WbAdminApp, bulk) -> Plan | None:
    if not bulk.ok:  # one bad row and nothing is planned, as for a CSV
        app.notify("\n".join(bulk.error_lines()[:6]), markup=False,
                   title="Nothing planned", severity="error", timeout=10)
        return None
    return bulk.plan


async def confirm_and_apply(app: WbAdminApp, plan: Plan, scope: str = "org") -> bool:
    """Guard rails (typed phrase), then the plan with Cancel focused, then the engine.
    True when the plan was applied in full (or W&B already showed it)."""
    if plan.is_empty:
        app.notify("nothing to change: everyone already has that", timeout=4)
        return False
    service = AccessService(app.session.cache)
    try:
        review = service.review(plan)
    except AccessError as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return False
    if review.phrase and not await app.push_screen_wait(TypedConfirmScreen(
            "; ".join(c.message for c in review.concerns), review.phrase)):
        return False
    if not await app.push_screen_wait(PlanScreen(plan, note="\n".join(review.notes))):
        return False
    return await apply_plan(app, plan, scope)


def start_access_flow(app: WbAdminApp, action: str, people: list[str],
                      on_applied: Callable[[], None] | None = None) -> None:
    """`on_applied` runs once the plan applied in full (the screen clears its marks then;
    a cancelled or failed apply keeps them for another try)."""
    _access_flow(app, action, people, on_applied)


# `work` runs these as workers of their first argument, the app.
@work(exclusive=True, group="change")
async def _access_flow(app: WbAdminApp, action: str, people: list[str],
                       on_applied: Callable[[], None] | None) -> None:
    try:
        plan = await _plan_for(app, action, people)
    except AccessError as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return
    if plan is not None and await confirm_and_apply(app, plan) and on_applied is not None:
        on_applied()


def start_fix_flow(app: WbAdminApp, finding: Finding) -> None:
    _fix_flow(app, finding)


@work(exclusive=True, group="change")
async def _fix_flow(app: WbAdminApp, finding: Finding) -> None:
    if finding.make_fix is None:
        app.notify(f"{finding.title}: {finding.fix_note or 'no automatic fix'}", markup=False,
                   timeout=8)
        return
    try:
        plan = finding.fix()
    except AccessError as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return
    await confirm_and_apply(app, plan)


def start_csv_flow(app: WbAdminApp) -> None:
    _csv_flow(app)


@work(exclusive=True, group="change")
async def _csv_flow(app: WbAdminApp) -> None:
    """`email,team,role` rows from a file: one plan; any bad row (by line) applies nothing."""
    path = await app.push_screen_wait(InputScreen(
        "Load a CSV of email,team,role rows: the file's path", "~/new-hires.csv"))
    if path is None:
        return
    from pathlib import Path

    try:
        text = decode_csv(Path(path).expanduser().read_bytes())
    except OSError as exc:
        app.notify(f"cannot read {path}: {exc.strerror or exc}", markup=False,
                   severity="error", timeout=10)
        return
    except BadCsv as exc:
        where = f"{path}:{exc.line}" if exc.line else path
        app.notify(f"{where}: {exc.reason}", markup=False, severity="error", timeout=10)
        return
    try:
        plan = _bulk(app, plan_csv(AccessService(app.session.cache), text))
    except AccessError as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return
    if plan is not None:
        await confirm_and_apply(app, plan)
