"""Who wbadmin is signed in as (kept apart from the client so reading it costs no imports)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Identity:
    """Who wbadmin is signed in as, and what that lets it see."""

    username: str
    name: str | None
    email: str | None
    entity: str | None
    org: str | None
    org_entity: str | None
    org_role: str | None = None  # from SCIM; None when SCIM is not available to us
    is_service_account: bool = False
    teams: list[str] = field(default_factory=list)
    scim: bool = False  # whether SCIM answered (org admin or org service account)
