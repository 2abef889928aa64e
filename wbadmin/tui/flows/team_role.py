"""Set a member's team role: choose the role, guard the last admin and yourself, show the
plan, apply it through the change engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from ...core import explorer as X
from ...core.changes import Plan
from ...core.changes_team import SetTeamRole
from ..screens.plan import ChoiceScreen, PlanScreen, TypedConfirmScreen
from .apply import apply_plan

if TYPE_CHECKING:
    from ..app import WbAdminApp

PREDEFINED = ("admin", "member", "viewer")


def role_options(app: WbAdminApp, username: str) -> list[tuple[str, str, bool]]:
    cache = app.session.cache
    org_role = cache.scalar("SELECT org_role FROM users WHERE username = ?", (username,))
    options = [(r, r, True) for r in PREDEFINED]
    for (name,) in cache.query("SELECT name FROM custom_roles ORDER BY name"):
        allowed = org_role == "member"
        label = f"{name} (custom)" + ("" if allowed else " — only for org members")
        options.append((name, label, allowed))
    return options


def guard_warning(app: WbAdminApp, team: str, username: str, current: str | None,
                  role: str) -> str | None:
    """Why this change needs a typed confirmation, or None."""
    if current == "admin" and role != "admin":
        admins = [m.username for m in X.members(app.session.cache, team)
                  if m.role == "admin" and not m.service_account]
        if admins == [username]:
            return f"{username} is the last admin of {team}: nobody could manage it after this"
        if username == app.capabilities.username:
            return f"you are demoting yourself in {team}"
    return None


def start_team_role_flow(app: WbAdminApp, team: str, username: str) -> None:
    _flow(app, team, username)


# `work` runs this as a worker of its first argument, the app (push_screen_wait needs one).
@work(exclusive=True, group="change")
async def _flow(app: WbAdminApp, team: str, username: str) -> None:
    if not app.capabilities.can_set_roles(team):
        app.notify("you may not change roles here (read-only, offline, or not an org admin)",
                   severity="warning")
        return
    member = next((m for m in X.members(app.session.cache, team) if m.username == username),
                  None)
    if member is None or member.service_account:
        app.notify("pick a person (service accounts have no team role to set)",
                   severity="warning")
        return
    role = await app.push_screen_wait(
        ChoiceScreen(f"Role of {username} in {team} (now {member.role})",
                     role_options(app, username), current=member.role))
    if role is None or role == member.role:
        return
    warning = guard_warning(app, team, username, member.role, role)
    if warning and not await app.push_screen_wait(TypedConfirmScreen(warning, team)):
        return
    plan = Plan(title=f"Set {username}'s role in {team}",
                changes=[SetTeamRole.make(team, username, role, member.role)])
    if not await app.push_screen_wait(PlanScreen(plan)):
        return
    await apply_plan(app, plan, f"team:{team}")

