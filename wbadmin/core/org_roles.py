"""One representation of org role and seat, used by plans, applies, `export` and every view.

W&B deprecated the org `viewer` role: assigning it through SCIM makes the person an org
*member* with a *viewer* seat (models and Weave), lowers every team and project role they
hold to viewer, and grants them the viewer role in every registry the org can see
(`../shared/reference/wandb-api.md` §3.3). wbadmin therefore calls a member with a viewer
seat an org **viewer** — the role the person effectively has, and the only spelling under
which an org file that says "viewer" stops drifting — and shows the seat beside it.
"""

from __future__ import annotations

from collections.abc import Iterable


def effective_org_role(org_role: str | None, seat: str | None) -> str | None:
    """`viewer` for a member with a viewer seat; the org role W&B reports otherwise."""
    if org_role == "member" and seat == "viewer":
        return "viewer"
    return org_role


def viewer_knock_ons(username: str, seat: str | None, team_roles: Iterable[tuple[str, str]],
                     registries: Iterable[str]) -> list[str]:
    """What W&B changes besides the org role when `username` becomes an org viewer, in words
    for the plan: the seat, each team role that is lowered, each registry role granted.
    `team_roles` are (team, role) now; `registries` the org-visible registries where the
    person holds no role yet."""
    out = []
    if seat != "viewer":
        out.append(f"{username}'s seat becomes viewer (now {seat or 'full'})")
    lowered = [f"{team} {role} → viewer" for team, role in sorted(team_roles)
               if role != "viewer"]
    if lowered:
        out.append(f"W&B lowers {username}'s team roles: " + ", ".join(lowered))
    granted = sorted(registries)
    if granted:
        out.append(f"W&B grants {username} the viewer role in registr"
                   f"{'y' if len(granted) == 1 else 'ies'} " + ", ".join(granted))
    return out
