"""What the signed-in identity may do, as far as the cached data tells.

The server remains the judge (a refused change is reported, never hidden); this decides
which actions are offered at all, so a viewer is not shown buttons that cannot work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .cache import Cache
from .identity import Identity


@dataclass(frozen=True)
class Capabilities:
    username: str | None
    org_role: str | None
    team_roles: dict[str, str]
    read_only: bool
    offline: bool

    registry_roles: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, cache: Cache, identity: Identity | None, *, read_only: bool,
           offline: bool) -> Capabilities:
        username = identity.username if identity else None
        roles = {r["team"]: r["role"] for r in cache.query(
            "SELECT team, role FROM team_members WHERE username = ?", (username,))}
        registries = {r["registry"]: r["role"] for r in cache.query(
            "SELECT registry, role FROM registry_members WHERE kind = 'user' AND name = ?",
            (username,))}
        org_role = identity.org_role if identity else None
        return cls(username=username, org_role=org_role, team_roles=roles,
                   read_only=read_only, offline=offline, registry_roles=registries)

    @property
    def can_change(self) -> bool:
        """False in read-only and offline modes: nothing may be changed at all."""
        return not (self.read_only or self.offline)

    @property
    def is_org_admin(self) -> bool:
        return self.org_role == "admin"

    def can_admin_team(self, team: str) -> bool:
        return self.can_change and (self.is_org_admin or self.team_roles.get(team) == "admin")

    def can_admin_registry(self, registry: str) -> bool:
        """Registry members and roles are managed by its admins (org admins included)."""
        return self.can_change and (self.is_org_admin
                                    or self.registry_roles.get(registry) == "admin")

    def can_set_roles(self, team: str) -> bool:
        """Role changes go through SCIM, which W&B opens to org admins only."""
        return self.can_change and self.is_org_admin
