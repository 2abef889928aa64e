"""The typed sections of wbadmin's config file: `[ui]`, `[access]` and `[network]`
(read, checked and defaulted by `settings.load_settings`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UISettings:
    theme: str = "textual-dark"
    refresh_interval_s: float = 60.0
    read_only: bool = False


@dataclass(frozen=True)
class AccessSettings:
    """Thresholds of the access-triage findings."""
    max_org_admins: int = 5
    invite_max_age_days: int = 30
    inactive_admin_days: int = 90
    many_teams_threshold: int = 10
    service_account_idle_days: int = 30
    key_max_age_days: int = 90


@dataclass(frozen=True)
class NetworkSettings:
    """How long wbadmin waits on W&B, and how it retries (`[network]`). No request waits
    forever: `connect_timeout_s` to connect, `read_timeout_s` without a byte of progress, and
    retries stop once `give_up_after_s` have gone by on one request, so a server that never
    answers fails a command in about a minute, naming its URL."""
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    give_up_after_s: float = 60.0
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 20.0

    def client_options(self) -> dict[str, float | int]:
        """The Client's constructor arguments for these settings."""
        return {"connect_timeout": self.connect_timeout_s, "timeout": self.read_timeout_s,
                "give_up_after": self.give_up_after_s, "max_retries": self.max_retries,
                "backoff_base": self.backoff_base_s, "backoff_cap": self.backoff_cap_s}
