"""Changes started from the Explorer: a member's team role, removing a member, inviting,
cancelling an invite, creating a service account, and registry roles. Each builds its plan
with the Access service (which checks names, roles and W&B's rules) and goes through the
shared confirm-and-apply path (guard rails, plan with Cancel focused, engine, journal)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from ...core import explorer as X
from ...core.access.people import REGISTRY_ROLES, AccessError
from ...core.access.plans import AccessService
from ..screens.plan import ChoiceScreen, InputScreen
from .access import _team_roles, confirm_and_apply

if TYPE_CHECKING:
    from ...core.changes import Plan
    from ..app import WbAdminApp


def start_team_role_flow(app: WbAdminApp, team: str, username: str) -> None:
    _team_flow(app, "role", team, username)


def start_team_flow(app: WbAdminApp, action: str, team: str, username: str | None) -> None:
    _team_flow(app, action, team, username)


def start_registry_role_flow(app: WbAdminApp, registry: str, kind: str, name: str) -> None:
    _registry_flow(app, registry, kind, name)


# `work` runs these as workers of their first argument, the app (push_screen_wait needs one).
@work(exclusive=True, group="change")
async def _team_flow(app: WbAdminApp, action: str, team: str, username: str | None) -> None:
    service = AccessService(app.session.cache)
    try:
        plan = await _team_plan(app, service, action, team, username)
    except AccessError as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return
    if plan is not None:
        await confirm_and_apply(app, plan, f"team:{team}")


async def _team_plan(app: WbAdminApp, service: AccessService, action: str, team: str,
                     username: str | None) -> Plan | None:
    members = {m.username: m for m in X.members(app.session.cache, team)}
    member = members.get(username or "")
    if action in ("role", "remove") and member is None:
        app.notify("pick a member in the team's list first", severity="warning")
        return None
    if action == "role":
        if member.service_account:
            app.notify("service accounts have no team role to set", severity="warning")
            return None
        roles, labels = _team_roles(app)
        options = [(r, labels.get(r, r), True) for r in roles]
        role = await app.push_screen_wait(ChoiceScreen(
            f"Role of {username} in {team} (now {member.role})", options, current=member.role))
        if role is None or role == member.role:
            return None
        return service.set_team_role(team, username, role)
    if action == "remove":
        return service.remove_from_team(team, username)
    if action == "invite":
        who = await app.push_screen_wait(InputScreen(
            f"Invite to {team}: an email address or a username", "dave@example.com"))
        if who is None:
            return None
        role = await app.push_screen_wait(ChoiceScreen(
            f"Invite {who} as", [("member", "member", True), ("admin", "admin", True)]))
        return None if role is None else service.invite(team, who, admin=role == "admin")
    if action == "cancel_invite":
        invites = X.team_detail(app.session.cache, team)
        options = [(i.id, i.email or i.username or i.id, True)
                   for i in (invites.invites if invites else [])]
        if not options:
            app.notify(f"{team} has no pending invites", timeout=4)
            return None
        invite = await app.push_screen_wait(ChoiceScreen("Cancel which invite?", options))
        return None if invite is None else service.cancel_invite(team, invite)
    if action == "service_account":
        description = await app.push_screen_wait(InputScreen(
            f"New service account in {team}: what is it for?", "nightly evaluation runner"))
        return None if description is None else service.create_service_account(team,
                                                                                description)
    raise ValueError(f"unknown team action {action!r}")


@work(exclusive=True, group="change")
async def _registry_flow(app: WbAdminApp, registry: str, kind: str, name: str) -> None:
    current = next((role for k, who, role in X.registry_members(app.session.cache, registry)
                    if k == kind and who == name), None)
    options = [(r, r.replace("_", " "), True) for r in REGISTRY_ROLES]
    options.append(("none", "remove from the registry", True))
    role = await app.push_screen_wait(ChoiceScreen(
        f"Role of {kind} {name} in registry {registry} (now {current or 'none'})", options,
        current=current))
    if role is None or role == current:
        return
    try:
        plan = AccessService(app.session.cache).set_registry_role(
            registry, name, None if role == "none" else role, team=kind == "team")
    except AccessError as exc:
        app.notify(str(exc), markup=False, severity="error", timeout=10)
        return
    await confirm_and_apply(app, plan, "org")
