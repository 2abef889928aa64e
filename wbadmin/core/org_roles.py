"""One representation of org role and seat, used by plans, applies, `export` and every view.

W&B deprecated the org `viewer` role: assigning it through SCIM makes the person an org
*member* with a *viewer* seat (models and Weave), lowers every team and project role they
hold to viewer, and grants them the viewer role in every registry the org can see
(`../shared/reference/wandb-api.md` §3.3). wbadmin therefore calls a member with a viewer
seat an org **viewer** — the role the person effectively has, and the only spelling under
which an org file that says "viewer" stops drifting — and shows the seat beside it.

Removals take more than they name, too: leaving a team takes the registry access the team
gave (§4), and a Multi-tenant deactivation takes the person out of the org, so out of every
team and registry. The knock-ons below say so in the plan before it is confirmed.
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


def removal_knock_ons(username: str, team: str, through_team: Iterable[tuple[str, str]],
                      kept: Iterable[str]) -> list[str]:
    """What W&B takes away besides the membership when `username` leaves `team`: the
    registry access they had through the team (`through_team`: (registry, role) where the
    team is a member), unless they keep access there otherwise (`kept`: a role of their own,
    or another of their teams)."""
    own = set(kept)
    lost = [f"{registry} ({role})" for registry, role in sorted(through_team)
            if registry not in own]
    if not lost:
        return []
    return [f"{username} loses the registry access they had through {team}: "
            + ", ".join(lost)]


def leaving_org_knock_ons(username: str, teams: Iterable[str],
                          registries: Iterable[str]) -> list[str]:
    """What W&B takes away when deactivating removes `username` from the org (Multi-tenant):
    every team membership and every registry role."""
    out = []
    if teams := sorted(teams):
        out.append(f"W&B takes {username} out of every team: " + ", ".join(teams))
    if registries := sorted(registries):
        out.append(f"{username} loses their registry roles: " + ", ".join(registries))
    return out
