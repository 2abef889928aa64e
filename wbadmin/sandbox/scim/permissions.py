"""The permission catalogue of custom roles (`<object>:<operation>`).

W&B publishes no full catalogue [UNCERTAIN]; this one holds every name seen in W&B's docs
(`artifact:read`, `project:read`, `project:update`, `project:delete`, `run:read`, `run:stop`,
`run:delete`, `launchagent:read`) plus the names the demo seed uses. Unknown names are a 400.
"""

from __future__ import annotations

# What each predefined base role already grants (shown with isInherited: true).
VIEWER_BASE: tuple[str, ...] = (
    "artifact:read", "launchagent:read", "project:read", "report:read", "run:read",
)
MEMBER_BASE: tuple[str, ...] = (*VIEWER_BASE,
    "artifact:create", "artifact:update", "report:create", "report:update", "run:create",
    "run:update",
)
BASE = {"viewer": VIEWER_BASE, "member": MEMBER_BASE}

# Permissions an admin may add on top of a base role.
EXTRA: tuple[str, ...] = (
    "artifact:delete", "artifact:manage_aliases", "audit_log:read", "automation:manage",
    "launchagent:create", "project:delete", "project:update", "report:delete",
    "run:delete", "run:read_metadata", "run:stop", "team:manage_members",
)

CATALOGUE: frozenset[str] = frozenset((*MEMBER_BASE, *EXTRA))


def inherited(base: str) -> tuple[str, ...]:
    return BASE[base]
